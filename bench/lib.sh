# shellcheck shell=bash
# Shared by the bench scripts (sourced): a fresh systemd container from the test image, as molecule runs them.
# bench_container NAME IMAGE [docker run options...]
bench_container() {
  local name=$1 image=$2 cache="${HS_CACHE_DIR:-/var/cache/homeserver-synapse}"
  shift 2
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -v "$cache/apt:/var/cache/apt/archives:rw" -v "$cache/pip:/root/.cache/pip:rw" \
    "$@" "$image" /lib/systemd/systemd >/dev/null
  sleep 3
}
