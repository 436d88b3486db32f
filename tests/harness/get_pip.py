"""Stand-in for pip's get-pip.py, which ansible-test downloads from ci-files.testing.ansible.com (not reachable
here): ansible-test runs it in a new virtual environment without pip, with pip install's arguments.

This installs pip from the Python's own ensurepip, then runs pip install with those arguments (PyPI is
reachable). tests/harness/sanity.sh puts it where ansible-test looks for its cached copy.
"""

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)


if __name__ == "__main__":
    main()
