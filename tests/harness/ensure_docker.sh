#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io and starts dockerd in the background when
# none runs (machines without an init system, CI runners). Idempotent: does nothing when `docker info` works.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo ">> installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 update -qq
  flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    echo ">> starting dockerd in the background (log: /var/log/dockerd.log)"
    # --ip6tables=false: the hosts we run on have no IPv6.
    setsid nohup dockerd --ip6tables=false >/var/log/dockerd.log 2>&1 </dev/null &
  fi
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "dockerd did not come up within 60 s; see /var/log/dockerd.log" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
