"""The Synapse fail2ban filter against log lines captured from a real Synapse 1.163.2 (molecule/fail2ban).

Uses fail2ban-regex when the host has it, and otherwise the filter's failregex in Python's re with <HOST>
translated, after cutting the timestamp the way fail2ban's datepattern does.
"""

import configparser
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
HOST = r"(?P<host>(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}")


def _failregexes():
    parser = configparser.RawConfigParser()
    parser.read(FILTER, encoding="utf-8")
    lines = [line for line in parser.get("Definition", "failregex").splitlines() if line.strip()]
    return [re.compile(line.replace("<HOST>", HOST)) for line in lines]


def _lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]


def _match(line):
    rest = DATE.sub("", line, count=1)
    for regex in _failregexes():
        found = regex.search(rest)
        if found:
            return found.group("host")
    return None


def test_fixtures_are_real_synapse_lines():
    for line in _lines(FAILED) + _lines(OTHER):
        assert DATE.match(line), line
        assert " - synapse." in line, line


@pytest.mark.parametrize("line", _lines(FAILED))
def test_failed_logins_match_with_the_client_address(line):
    host = _match(line)
    assert host is not None, line
    assert f" - {host} - " in line


@pytest.mark.parametrize("line", _lines(OTHER))
def test_other_requests_do_not_match(line):
    assert _match(line) is None, line


@pytest.mark.skipif(shutil.which("fail2ban-regex") is None, reason="fail2ban-regex is not installed here")
def test_fail2ban_regex_counts_the_failed_logins():
    for path, expected in ((FAILED, len(_lines(FAILED))), (OTHER, 0)):
        proc = subprocess.run(["fail2ban-regex", path, FILTER], capture_output=True, text=True, check=True)
        found = re.search(r"Failregex: (\d+) total", proc.stdout)
        assert found and int(found.group(1)) == expected, proc.stdout
