"""A release's changelog step (docs/releasing.md) on a copy of the tree: antsibull-changelog turns every
fragment into CHANGELOG.md for galaxy.yml's version, lists the plugins that version adds and consumes the
fragments."""

import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_the_fragments_become_the_changelog_of_a_release(tmp_path):
    dest = tmp_path / "ansible_collections" / "homeserver" / "synapse"
    subprocess.run([os.path.join(ROOT, "tests", "harness", "copy_collection.sh"), str(dest)], check=True)
    version = yaml.safe_load((dest / "galaxy.yml").read_text())["version"]
    released = yaml.safe_load((dest / "changelogs" / "changelog.yaml").read_text()).get("releases") or {}
    if version in released:  # right after a release: the next patch release
        major, minor, patch = version.split(".")
        version = "%s.%s.%d" % (major, minor, int(patch) + 1)
    (dest / "changelogs" / "fragments" / "zz-release-test.yml").write_text(
        "---\nbugfixes:\n  - release test - a fragment written by tests/unit/test_release.py.\n")

    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    proc = subprocess.run([os.path.join(BIN, "antsibull-changelog"), "release", "--version", version,
                           "--date", "2026-12-01"], cwd=dest, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    changelog = (dest / "CHANGELOG.md").read_text()
    assert "## v%s" % version.replace(".", "\\.") in changelog, changelog[:500]
    assert "release test \\- a fragment written by tests/unit/test\\_release\\.py\\." in changelog, changelog[-800:]
    # What the release adds: every module and plugin whose version_added is this version, in its section.
    for section, kind, pattern in (("New Modules", "modules", "*.py"), ("New Plugins", "filter", "*.yml")):
        added = [p.stem for p in (dest / "plugins" / kind).glob(pattern)
                 if re.search(r"^ *version_added: \"?%s\"?$" % re.escape(version), p.read_text(), re.MULTILINE)]
        for name in added:
            assert name.replace("_", "\\_") in changelog.split("### " + section)[1], (section, name)
    assert os.listdir(dest / "changelogs" / "fragments") == [], "the fragments are consumed"
    releases = yaml.safe_load((dest / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert releases[version]["release_date"] == "2026-12-01"
