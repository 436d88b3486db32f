"""The Synapse fail2ban filter against log lines captured from a real Synapse 1.163.2 (the fail2ban scenario,
now in molecule/edge), run through Debian's fail2ban-regex: every failed login bans its client's address, no
other line matches.

`make unit` installs fail2ban-regex (tests/harness/ensure_fail2ban.sh). Without it the tests skip, and under CI
(CI set) they fail, so CI never passes without running the real filter.
"""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER = os.path.join(ROOT, "roles", "fail2ban", "files", "matrix-synapse.conf")
FIXTURES = os.path.join(ROOT, "tests", "unit", "files", "fail2ban")
FAILED = os.path.join(FIXTURES, "synapse-failed-logins.log")
OTHER = os.path.join(FIXTURES, "synapse-other-requests.log")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}")
FAIL2BAN_REGEX = shutil.which("fail2ban-regex")


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]


def _client(line):
    """The client address Synapse logged: the sixth ' - ' field (date, logger, pid, level, request, client)."""
    return line.split(" - ")[5]


def _banned(line):
    """The address fail2ban-regex reports for ``line`` with the filter, or '' when the filter does not match."""
    if FAIL2BAN_REGEX is None:
        message = "fail2ban-regex is not installed (tests/harness/ensure_fail2ban.sh installs it; make unit runs it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run([FAIL2BAN_REGEX, "--out", "ip", line, FILTER], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_fixtures_are_real_synapse_lines():
    for line in _lines(FAILED) + _lines(OTHER):
        assert DATE.match(line), line
        assert " - synapse." in line, line


@pytest.mark.parametrize("line", _lines(FAILED))
def test_failed_logins_ban_the_client_address(line):
    assert _banned(line) == _client(line), line


@pytest.mark.parametrize("line", _lines(OTHER))
def test_other_requests_do_not_match(line):
    assert _banned(line) == "", line
