"""Per-host transcripts of an ansible-playbook run, for the unit tests that run many cases in one playbook.

tests/unit/playbook_cases.py runs each case on an inventory host of its own and enables this callback
(ANSIBLE_CALLBACKS_ENABLED=host_transcripts, with HOST_TRANSCRIPTS naming the JSON file to write). At the end
of the run the file maps each host to {"failed": ..., "unreachable": ..., "output": ..., "facts": ...}: facts
holds what the host's set_fact tasks set, output what ansible-playbook would have printed for that host alone,
in the lines the tests read:

    TASK [homeserver.synapse.synapse : Require synapse_server_name] ***
    [ERROR]: Task failed: Action failed: Set synapse_server_name ...
    Origin: .../roles/synapse/tasks/preflight.yml:2:3
    ...
    fatal: [case3]: FAILED! => {...}

A task's banner is written for each host the task reported on (ok, skipped or failed), as the default callback
prints it for a single host. The [ERROR] text is formatted from the result's exception the way ansible-core
displays it; unlike the JSON result, the exception is not censored by no_log, so a no_log task's message is
there as the user reads it. Each host's errors are its own: ansible-core shows an error once per run, so two
hosts failing with the same message would hide the second one in the shared output, not here.
"""

import collections
import json
import os

# How ansible-core formats the error of a failed task for display (its default callback goes through it).
from ansible._internal._display_utils import format_message  # pylint: disable=import-error
from ansible.plugins.callback import CallbackBase

SET_FACT = ("set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact")


class CallbackModule(CallbackBase):
    """Collects each host's task banners, results, error messages and facts; writes them out when the run ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "host_transcripts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lines = collections.defaultdict(list)
        self._facts = collections.defaultdict(dict)
        self._banner = {}  # host: the task whose banner it got last

    def _write(self, result, line):
        host = result.host.get_name()
        if self._banner.get(host) != result.task._uuid:  # pylint: disable=protected-access
            self._banner[host] = result.task._uuid  # pylint: disable=protected-access
            self._lines[host].append("TASK [%s] ***" % result.task.get_name().strip())
        if result.exception:
            self._lines[host].append("[ERROR]: " + format_message(result.exception, False).rstrip("\n"))
        self._lines[host].append(line)

    def _item(self, result):
        return "[%s] (item=%s)" % (result.host.get_name(), self._get_item_label(result.result))

    def v2_runner_on_ok(self, result):
        self._write(result, "ok: [%s]" % result.host.get_name())
        if result.task.action in SET_FACT:
            self._facts[result.host.get_name()].update(result.result.get("ansible_facts", {}))

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipping: [%s]" % result.host.get_name())

    def v2_runner_on_failed(self, result, ignore_errors=False):
        ignoring = "\n...ignoring" if ignore_errors else ""
        dump = self._dump_results(result.result)
        self._write(result, "fatal: [%s]: FAILED! => %s%s" % (result.host.get_name(), dump, ignoring))

    def v2_runner_on_unreachable(self, result):
        self._write(result, "fatal: [%s]: UNREACHABLE! => %s" % (result.host.get_name(),
                                                                 self._dump_results(result.result)))

    def v2_runner_item_on_ok(self, result):
        self._write(result, "ok: " + self._item(result))

    def v2_runner_item_on_skipped(self, result):
        self._write(result, "skipping: " + self._item(result))

    def v2_runner_item_on_failed(self, result):
        self._write(result, "failed: %s => %s" % (self._item(result), self._dump_results(result.result)))

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            hosts[host] = {"failed": summary["failures"], "unreachable": summary["unreachable"],
                           "output": "\n".join(self._lines[host]) + "\n", "facts": self._facts[host]}
        with open(os.environ["HOST_TRANSCRIPTS"], "w", encoding="utf-8") as handle:
            json.dump(hosts, handle)
