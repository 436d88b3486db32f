#!/usr/bin/env bash
# Make sure fail2ban-regex is on the PATH: the unit tests run the Synapse filter through it. Installs Debian's
# fail2ban (the version the role deploys on Debian hosts) when it is missing. Idempotent: does nothing when
# fail2ban-regex is found.
set -euo pipefail

if command -v fail2ban-regex >/dev/null 2>&1; then
  exit 0
fi

echo ">> installing Debian's fail2ban (for fail2ban-regex)"
export DEBIAN_FRONTEND=noninteractive
flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 update -qq
flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends fail2ban >/dev/null
command -v fail2ban-regex >/dev/null
