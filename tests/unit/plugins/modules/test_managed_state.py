# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.managed_state on this machine's files and dpkg, and the file_matches filter, alone and
against what ansible's template and copy actions really write."""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys
import textwrap

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homeserver.synapse.plugins.filter.file_matches import file_matches
from ansible_collections.homeserver.synapse.plugins.modules import managed_state

from synapse_fake import run_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def run(capsys, check_mode=False, **args):
    failed, result = run_module(managed_state.main, args, capsys, check_mode=check_mode)
    assert "Traceback" not in json.dumps(result)
    return failed, result


def test_a_file_is_read_with_its_checksum_owner_group_and_mode(capsys, tmp_path):
    path = tmp_path / "homeserver.yaml"
    path.write_text("server_name: example.org\n")
    path.chmod(0o640)
    missing, directory = tmp_path / "missing.yaml", tmp_path
    for check_mode in (False, True):
        failed, result = run(capsys, check_mode=check_mode, paths=[str(path), str(missing), str(directory)])
        assert not failed and not result["changed"]
        assert result["files"] == {
            str(path): {"exists": True, "sha1": hashlib.sha1(b"server_name: example.org\n").hexdigest(),
                        "owner": ME, "group": MY_GROUP, "mode": "0640"},
            str(missing): {"exists": False},
            str(directory): {"exists": False},
        }
        assert result["missing_packages"] == []


def test_packages_dpkg_does_not_show_installed_are_missing(capsys):
    failed, result = run(capsys, packages=["dpkg", "no-such-package-homeserver-synapse", "dpkg:amd64"])
    assert not failed
    assert result["missing_packages"] == ["no-such-package-homeserver-synapse"]
    assert result["files"] == {}


def test_a_relative_path_is_refused(capsys):
    failed, result = run(capsys, paths=["etc/matrix-synapse/homeserver.yaml", "/etc/hosts"])
    assert failed
    assert result["msg"] == "paths must be absolute: etc/matrix-synapse/homeserver.yaml"


STATE = {"exists": True, "sha1": hashlib.sha1("ünïcode\n".encode()).hexdigest(), "owner": "root",
         "group": "matrix-synapse", "mode": "0640"}


@pytest.mark.parametrize("state, content, owner, group, mode, expected", [
    (STATE, "ünïcode\n", "root", "matrix-synapse", "0640", True),
    (STATE, "ünïcode\n", "root", "matrix-synapse", 0o640, False),  # an int is read as octal digits: 416
    (STATE, "ünïcode", "root", "matrix-synapse", "0640", False),
    (STATE, "ünïcode\n", "matrix-synapse", "matrix-synapse", "0640", False),
    (STATE, "ünïcode\n", "root", "root", "0640", False),
    (STATE, "ünïcode\n", "root", "matrix-synapse", "0644", False),
    (STATE, "ünïcode\n", "root", "matrix-synapse", "640", True),
    ({"exists": False}, "ünïcode\n", "root", "matrix-synapse", "0640", False),
    ({}, "", "root", "root", "0644", False),
])
def test_file_matches_only_the_same_content_owner_group_and_mode(state, content, owner, group, mode, expected):
    assert file_matches(state, content, owner, group, mode) is expected


@pytest.mark.parametrize("state, content, mode, message", [
    ("not a dict", "x", "0644", "must be one entry of managed_state's files"),
    (STATE, {"not": "text"}, "0644", "content must be the text the task would write"),
    (STATE, "x", "rw-r--r--", "mode must be octal digits"),
])
def test_file_matches_refuses_what_it_cannot_compare(state, content, mode, message):
    with pytest.raises(AnsibleFilterError, match=message):
        file_matches(state, content, "root", "root", mode)


# The guard is worth something only if the controller's rendering is byte for byte what the template action
# writes (a YAML-looking template, Jinja blocks, trailing newlines) and the file lookup is what copy writes.
PLAYBOOK = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: false
      vars:
        names: [a, b]
        dest: "{{ lookup('ansible.builtin.env', 'DEST') }}"
      tasks:
        - ansible.builtin.template: {src: t.yaml.j2, dest: "{{ dest }}/t.yaml", mode: "0640"}
        - ansible.builtin.copy: {src: script, dest: "{{ dest }}/script", mode: "0755"}
        - homeserver.synapse.managed_state:
            paths: ["{{ dest }}/t.yaml", "{{ dest }}/script"]
          register: state
        - ansible.builtin.assert:
            that:
              - state.files[dest ~ '/t.yaml'] | homeserver.synapse.file_matches(
                  lookup('ansible.builtin.template', 't.yaml.j2'), me, my_group, '0640')
              - state.files[dest ~ '/script'] | homeserver.synapse.file_matches(
                  lookup('ansible.builtin.file', 'script', rstrip=false), me, my_group, '0755')
              - not state.files[dest ~ '/t.yaml'] | homeserver.synapse.file_matches(
                  lookup('ansible.builtin.template', 't.yaml.j2') ~ ' ', me, my_group, '0640')
""")
TEMPLATE = textwrap.dedent("""\
    # {{ names | length }} names
    server_name: "example.org"
    listeners:
    {% for name in names %}
      - name: {{ name }}
        port: {{ 8008 + loop.index0 }}
    {% endfor %}
    empty: ""


    """)


def test_the_lookups_render_what_the_template_and_copy_actions_write(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "files").mkdir()
    (tmp_path / "templates" / "t.yaml.j2").write_text(TEMPLATE)
    (tmp_path / "files" / "script").write_text("#!/bin/sh\nexit 0\n\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    dest = tmp_path / "out"
    dest.mkdir()
    env = dict(os.environ, DEST=str(dest), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"))
    bin_dir = os.path.dirname(sys.executable)
    done = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "play.yml", "-e", f"me={ME}",
                           "-e", f"my_group={MY_GROUP}"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "t.yaml").read_text().endswith("empty: \"\"\n\n\n")
