#!/usr/bin/env bash
# Download (once) the Python wheels the molecule containers pip-install into a wheelhouse on the host,
# $HS_CACHE_DIR/pip/wheelhouse, which every scenario mounts (the pip cache mount, /root/.cache/pip).
# The test image's /etc/pip.conf lists it as find-links. pip's resolver takes the index's copy over a
# find-links file of the same version, so each wheel is renamed with a build tag ("-1-", PEP 427): that one
# sorts higher, and a scenario downloads nothing the wheelhouse has (PyPI through the TLS-inspecting proxy
# answers without cache headers, so pip's own HTTP cache never keeps anything). Anything missing (another
# version, a new dependency) still comes from the index.
# The download runs in the test image itself, so the wheels match the containers' Python and platform.
# Usage: tests/harness/wheelhouse.sh <image>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
image="${1:?usage: wheelhouse.sh <image>}"
cache="${HS_CACHE_DIR:-/var/cache/homeserver-synapse}"
wheelhouse="$cache/pip/wheelhouse"

synapse_version=$(sed -n 's/^synapse_version: "\(.*\)"$/\1/p' roles/synapse/defaults/main.yml)
upgrade_from=$(sed -n 's/^ *synapse_version: "\(.*\)"$/\1/p' molecule/default/molecule.yml | head -n 1)
nio_version=$(sed -n 's/^matrix-nio==\(.*\)$/\1/p' requirements.txt)
requirements=(
  "matrix-synapse[redis]==$synapse_version" psycopg2-binary
  "matrix-synapse==${upgrade_from:-$synapse_version}"
  "matrix-nio==${nio_version:-0.26.0}"
)

stamp="$wheelhouse/.complete-$(printf '%s\n' "$image" "${requirements[@]}" | sha256sum | cut -c1-12)"
[ -e "$stamp" ] && exit 0
mkdir -p "$wheelhouse" "$cache/apt/partial"

echo ">> downloading wheels into $wheelhouse: ${requirements[*]}" >&2
docker run --rm \
  -v "$cache/apt:/var/cache/apt/archives:rw" -v "$wheelhouse:/root/.cache/pip/wheelhouse:rw" "$image" \
  bash -euo pipefail -c '
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv /tmp/venv
    for requirement in "$@"; do
      /tmp/venv/bin/pip download --quiet --disable-pip-version-check --dest /root/.cache/pip/wheelhouse "$requirement"
    done' wheelhouse "${requirements[@]}" >&2
# name-version-python-abi-platform.whl -> name-version-1-python-abi-platform.whl (already tagged: kept).
for wheel in "$wheelhouse"/*.whl; do
  base=$(basename "$wheel" .whl)
  IFS=- read -r -a parts <<<"$base"
  if [ "${#parts[@]}" -eq 5 ]; then
    mv -f "$wheel" "$wheelhouse/${parts[0]}-${parts[1]}-1-${parts[2]}-${parts[3]}-${parts[4]}.whl"
  fi
done
touch "$stamp"
