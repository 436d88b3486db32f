"""playbooks/files/upgrade-debian-sources: which APT sources the release upgrade recognises, and how it rewrites them."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "files", "upgrade-debian-sources")

BOOKWORM_LIST = """\
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main  # point releases
# deb http://example.com/disabled bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main contrib
"""

DEBIAN_SOURCES = """\
# Debian's own deb822 file
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.debian.org/debian-security
Suites: bookworm-security
Components: main
"""


def run(root, action, *extra):
    result = subprocess.run(
        [sys.executable, SCRIPT, action, "--from", "bookworm", "--to", "trixie", "--root", str(root), *extra],
        capture_output=True, text=True, check=False)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def apt(tmp_path):
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text(BOOKWORM_LIST)
    (tmp_path / "etc/apt/sources.list.d/debian.sources").write_text(DEBIAN_SOURCES)
    return tmp_path


def test_debian_sources_are_recognised_and_switched(apt, tmp_path):
    rc, report = run(apt, "check")
    assert rc == 0
    assert report["unrecognised"] == []
    assert report["entries"] == 5
    assert len(report["to_switch"]) == 2

    rc, switched = run(apt, "switch", "--backup-dir", str(tmp_path / "backup"))
    assert rc == 0 and len(switched["switched"]) == 2
    assert (apt / "etc/apt/sources.list").read_text() == BOOKWORM_LIST.replace("bookworm", "trixie").replace(
        "# deb http://example.com/disabled trixie", "# deb http://example.com/disabled bookworm")
    assert "Suites: trixie trixie-updates\n" in (apt / "etc/apt/sources.list.d/debian.sources").read_text()
    assert "Suites: trixie-security\n" in (apt / "etc/apt/sources.list.d/debian.sources").read_text()
    assert (tmp_path / "backup/etc/apt/sources.list").read_text() == BOOKWORM_LIST

    # a second run has nothing left to switch and keeps the first copy of the originals
    rc, report = run(apt, "check")
    assert report == {"entries": 5, "unrecognised": [], "to_switch": []}
    rc, switched = run(apt, "switch", "--backup-dir", str(tmp_path / "backup"))
    assert switched["switched"] == []
    assert (tmp_path / "backup/etc/apt/sources.list").read_text() == BOOKWORM_LIST


@pytest.mark.parametrize("line, why", [
    ("deb https://packages.example.com/debian bookworm main", "not a Debian archive"),
    ("deb http://deb.debian.org/debian stable main", "suite 'stable' cannot be mapped"),
    ("deb http://deb.debian.org/debian sid main", "suite 'sid' cannot be mapped"),
    ("deb cdrom:[Debian GNU/Linux 12]/ bookworm main", "not a Debian archive"),
])
def test_unrecognised_sources_are_refused_before_anything_changes(apt, tmp_path, line, why):
    (apt / "etc/apt/sources.list.d/extra.list").write_text(line + "\n")
    rc, report = run(apt, "check")
    assert rc == 0
    assert len(report["unrecognised"]) == 1
    assert "extra.list:1: " in report["unrecognised"][0] and why in report["unrecognised"][0]

    rc, switched = run(apt, "switch", "--backup-dir", str(tmp_path / "backup"))
    assert rc == 2 and switched["switched"] == []
    assert (apt / "etc/apt/sources.list").read_text() == BOOKWORM_LIST


def test_a_mirror_named_by_the_admin_is_recognised(apt):
    (apt / "etc/apt/sources.list.d/mirror.sources").write_text(
        "Types: deb\nURIs: http://mirror.internal/debian/\nSuites: bookworm\nComponents: main\n")
    assert run(apt, "check")[1]["unrecognised"] != []
    rc, report = run(apt, "check", "--mirror", "http://mirror.internal/debian")
    assert report["unrecognised"] == [] and report["entries"] == 6


def test_disabled_deb822_stanzas_are_ignored(apt):
    (apt / "etc/apt/sources.list.d/vendor.sources").write_text(
        "Enabled: no\nTypes: deb\nURIs: https://vendor.example.com/apt\nSuites: stable\nComponents: main\n")
    assert run(apt, "check")[1]["unrecognised"] == []


def test_no_sources_at_all_is_refused(tmp_path):
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    assert run(tmp_path, "check")[1]["unrecognised"] == [
        f"no enabled APT source in {tmp_path}/etc/apt/sources.list or {tmp_path}/etc/apt/sources.list.d"
        .replace(str(tmp_path), "")]
