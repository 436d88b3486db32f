#!/usr/bin/env bash
# Build (once) a Debian systemd image the molecule scenarios and the demo run in, for one release:
#   tests/harness/build_image.sh [trixie|bookworm]   (default: $HS_DEBIAN_RELEASE, else trixie)
# No registry is reachable, so the root filesystem comes from debootstrap and is loaded with `docker import`.
# The host's extra CA certificates (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's CA) are
# trusted inside the image, for apt and pip alike.
# The tag carries a hash of this script and of those certificates: a cached image is reused until either
# changes. Prints the image reference on stdout.
set -euo pipefail

release="${1:-${HS_DEBIAN_RELEASE:-trixie}}"
case "$release" in
  trixie | bookworm) ;;
  *) echo "build_image.sh: release '$release' is not supported: trixie (Debian 13) or bookworm (Debian 12)" >&2; exit 2 ;;
esac
repo="${HS_IMAGE_REPO:-homeserver-synapse/debian-$release-systemd}"
mirror="${HS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
extra_ca_dir="${HS_EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"
# sudo: playbooks use `become`, as on any Ansible-managed Debian host.
packages="python3,python3-apt,systemd,systemd-sysv,dbus,ca-certificates,iproute2,procps,curl,gnupg,sudo"

hash=$( {
  cat "${BASH_SOURCE[0]}"
  echo "$release $mirror $packages"
  find "$extra_ca_dir" -type f -name '*.crt' -print0 2>/dev/null | sort -z | xargs -0 -r cat
} | sha256sum | cut -c1-12)
tag="${repo}:${hash}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

# One build at a time: a second caller waits for the first and then finds the image.
mkdir -p /var/lock
exec 9>"/var/lock/hs-build-image-$release.lock"
flock 9
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

# Every apt call of the harness on this machine takes /var/lock/hs-host-apt.lock (and waits for dpkg's own lock):
# images.sh builds both releases at once while `make test` runs sanity and the unit tests, which install tools too.
command -v debootstrap >/dev/null 2>&1 || {
  echo ">> installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 install -y -qq debootstrap >/dev/null
}

work=$(mktemp -d /var/tmp/hs-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
cache="${HS_CACHE_DIR:-/var/cache/homeserver-synapse}/debootstrap/$release"
mkdir -p "$cache"

echo ">> debootstrap $release into $root (a few minutes the first time)" >&2
debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" "$release" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# Trust the host's extra CAs.
if compgen -G "$extra_ca_dir/*.crt" >/dev/null; then
  cp "$extra_ca_dir"/*.crt "$root/usr/local/share/ca-certificates/"
fi
chroot "$root" update-ca-certificates >/dev/null 2>&1
# pip in a virtualenv bundles its own CA list on some releases: point it at the system store. find-links:
# the test wheelhouse on the pip cache mount (tests/harness/wheelhouse.sh); pip skips it when absent.
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\nfind-links = /root/.cache/pip/wheelhouse\n' >"$root/etc/pip.conf"

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $release main
deb $mirror $release-updates main
deb ${mirror%/debian}/debian-security $release-security main
SOURCES
# Keep downloaded .deb files: the scenarios mount a shared cache on /var/cache/apt/archives.
cat >"$root/etc/apt/apt.conf.d/90homeserver-synapse" <<'APT'
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Keep-Downloaded-Packages "true";
APT::Install-Recommends "false";
APT

# Boot cleanly as PID 1 in a container: no consoles, no hardware units, a fresh machine-id per container.
for unit in getty.target console-getty.service systemd-firstboot.service systemd-udevd.service \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount systemd-remount-fs.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
chroot "$root" apt-get clean >&2

echo ">> importing as $tag" >&2
tar -C "$root" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  - "$tag" >&2
docker tag "$tag" "${repo}:latest"
echo "$tag"
