# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/security.md: no task that handles a secret's value runs without no_log.

Every task of the roles (tasks and handlers) and of the playbooks (their own task files included) is read; a task
whose arguments, vars or environment use a variable that holds a password or a secret (its name says so, and it
is not the path of a file) must have ``no_log`` set, on itself or on the block around it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A name that holds a secret's value: ..._password, ..._secret, macaroon..., not the path of a file holding one.
SECRET_NAME = re.compile(r"(password|secret|macaroon)(?!s$)", re.I)
NOT_A_VALUE = re.compile(r"(_file|_files|_path|_paths|_dir|_mode|_length|_enabled|_required)$")
# Keys of a task that are not its arguments (what Ansible prints of a task is its arguments and results).
NOT_ARGUMENTS = ("name", "when", "tags", "notify", "listen", "no_log", "register", "changed_when", "failed_when",
                 "loop_control", "until", "retries", "delay", "ignore_errors", "check_mode", "run_once", "become",
                 "become_user", "delegate_to", "block", "rescue", "always")


def _secret_names(value):
    text = json.dumps(value, default=str)
    names = set()
    for match in JINJA.finditer(text):
        expression = match.group(1) or match.group(2) or ""
        # Quoted strings inside the expression are literals (messages, dictionary keys), not variables.
        expression = re.sub(r"'[^']*'|\\\"[^\"]*?\\\"", "", expression)
        for name in IDENTIFIER.findall(expression):
            if SECRET_NAME.search(name) and not NOT_A_VALUE.search(name):
                names.add(name)
    return names


# no_log: true, or a role's switch (`"{{ synapse_no_log }}"`, true by default: test_the_no_log_switches_default_to_true).
NO_LOG_SWITCH = re.compile(r"^\{\{\s*[a-z_]+_no_log\s*\}\}$")


def _hides(value):
    return value in (True, "true", "yes") or bool(NO_LOG_SWITCH.match(str(value)))


def _tasks(tasks, where, hidden=False):
    """(where, task name, secret names used, hidden by no_log) for every task, blocks walked."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        no_log = hidden or _hides(task.get("no_log"))
        if any(key in task for key in ("block", "rescue", "always")):
            for key in ("block", "rescue", "always"):
                yield from _tasks(task.get(key), where, no_log)
            continue
        arguments = dict((key, value) for key, value in task.items() if key not in NOT_ARGUMENTS)
        yield where, task.get("name", "?"), _secret_names(arguments), no_log


def _every_task():
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))
                       + glob.glob(os.path.join(ROOT, "roles", "*", "handlers", "*.yml"))
                       + glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))
                       + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or []
        where = os.path.relpath(path, ROOT)
        if data and isinstance(data[0], dict) and ("hosts" in data[0] or "ansible.builtin.import_playbook" in data[0]):
            for play in data:
                for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                    yield from _tasks(play.get(key), where, _hides(play.get("no_log")))
        else:
            yield from _tasks(data, where)


def test_every_task_that_handles_a_secret_has_no_log():
    exposed = ["%s: %s uses %s" % (where, name, ", ".join(sorted(names)))
               for where, name, names, hidden in _every_task() if names and not hidden]
    assert exposed == [], "set no_log on these tasks:\n" + "\n".join(exposed)


def test_the_no_log_switches_default_to_true():
    """The roles' <role>_no_log and the playbooks' own switches hide secrets unless the admin turns them off."""
    switches = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml")):
        with open(path, encoding="utf-8") as handle:
            switches.update((k, v) for k, v in (yaml.safe_load(handle) or {}).items() if k.endswith("_no_log"))
    for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            for play in yaml.safe_load(handle) or []:
                switches.update((k, v) for k, v in (play.get("vars") or {}).items() if k.endswith("_no_log"))
    assert len(switches) >= 8, switches
    # A playbook's switch may follow a role's (a lookup of its default, which is true above).
    assert [k for k, v in switches.items() if v is not True and "_no_log" not in str(v)] == [], switches


def test_the_check_sees_the_tasks_that_handle_secrets():
    """The check is not empty: the tasks it finds include the ones known to handle passwords and secrets."""
    found = [(where, sorted(names)) for where, _name, names, _hidden in _every_task() if names]
    assert len(found) >= 10, found
    everything = set(name for _where, names in found for name in names)
    assert {"synapse_database_password", "postgres_synapse_password"} <= everything, everything


def test_a_task_without_no_log_is_caught():
    task = [{"name": "Set the password", "ansible.builtin.command": "set-password {{ synapse_database_password }}"},
            {"name": "Read a file", "ansible.builtin.slurp": {"src": "{{ synapse_signing_key_path }}"}},
            {"block": [{"name": "Hidden", "ansible.builtin.debug": {"msg": "{{ redis_password }}"}}], "no_log": True},
            {"name": "A message that names it", "ansible.builtin.debug": {"msg": "{{ 'set the password' }}"}}]
    found = [(name, sorted(names), hidden) for _where, name, names, hidden in _tasks(task, "x")]
    assert found == [("Set the password", ["synapse_database_password"], False), ("Read a file", [], False),
                     ("Hidden", ["redis_password"], True), ("A message that names it", [], False)]
