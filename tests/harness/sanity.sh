#!/usr/bin/env bash
# ansible-test sanity on the collection, as Galaxy collections run it (tests/sanity/ignore-2.19.txt lists the
# few exceptions, each with its reason). ansible-test needs the collection under
# ansible_collections/homeserver/synapse, so the tracked files are copied to .cache/sanity first; the tools
# each test needs go into ansible-test's own virtual environments (--venv), installed from PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dest=.cache/sanity/ansible_collections/homeserver/synapse

# Its shellcheck test is skipped (a warning, not a failure) without shellcheck: install Debian's.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo ">> installing Debian's shellcheck (for ansible-test's shellcheck test)"
  export DEBIAN_FRONTEND=noninteractive
  flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 update -qq
  flock /var/lock/hs-host-apt.lock apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends shellcheck >/dev/null
fi

tests/harness/copy_collection.sh "$dest"
git -C "$dest" init -q
git -C "$dest" add -A

# ansible-test bootstraps pip in each new environment with a get-pip script from ci-files.testing.ansible.com,
# which is not reachable here: ours (ensurepip, then pip from PyPI) goes where it looks for its cached copy.
pip_version=$("$root/.venv/bin/python" - <<'PY'
import re, ansible_test, os
source = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
mkdir -p ~/.ansible/test/cache
cp tests/harness/get_pip.py ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"

python=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$dest"
exec "$root/.venv/bin/ansible-test" sanity --venv --python "$python" --color "$@"
