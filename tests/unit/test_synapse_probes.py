"""The synapse role's read-only probes (roles/synapse/files), run as the role runs them: a script with one JSON
argument, its answer on stdout."""

import grp
import json
import os
import pwd
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(ROOT, "roles", "synapse", "files")


def run(script, argument):
    proc = subprocess.run([sys.executable, os.path.join(FILES, script), json.dumps(argument)],
                          capture_output=True, text=True, check=True, timeout=60)
    return proc.stdout.strip()


def test_paths_drift_names_what_differs(tmp_path):
    me, my_group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    directory, secret, leftover = tmp_path / "d", tmp_path / "secret", tmp_path / "old"
    directory.mkdir(mode=0o750)
    directory.chmod(0o750)
    secret.write_text("x")
    secret.chmod(0o600)
    leftover.write_text("x")
    wanted = [
        {"path": str(directory), "state": "directory", "owner": me, "group": my_group, "mode": "0750"},
        {"path": str(secret), "state": "file", "owner": me, "group": my_group, "mode": "0640"},
        {"path": str(tmp_path / "missing"), "state": "file", "owner": me, "group": my_group, "mode": "0640"},
        {"path": str(leftover), "state": "absent"},
        {"path": str(tmp_path / "gone"), "state": "absent"},
        {"path": str(secret), "state": "directory", "owner": me, "group": my_group, "mode": "0600"},
    ]
    assert json.loads(run("paths_drift.py", wanted)) == {
        str(secret): "differs", str(tmp_path / "missing"): "missing", str(leftover): "differs"}
    # The secret's mode is the one wanted, and the directory was a file in the last entry: only that differs.
    secret.chmod(0o640)
    assert json.loads(run("paths_drift.py", wanted[:2] + wanted[4:])) == {str(secret): "differs"}
    assert json.loads(run("paths_drift.py", wanted[:2])) == {}


def test_requirements_met_only_when_every_one_is_installed():
    installed = "pytest==" + subprocess.run([sys.executable, "-m", "pytest", "--version"], capture_output=True,
                                            text=True, check=True).stdout.split()[-1]
    assert run("requirements_met.py", [installed, "PyYAML>=3"]) == "ok"
    unmet = ["pytest==0.0.1", "no-such-distribution-here", "pytest @ https://example.invalid/pytest.whl", "!!"]
    assert json.loads(run("requirements_met.py", [installed] + unmet)) == unmet
