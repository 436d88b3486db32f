"""Unit-test cases that run a playbook, many in one ansible-playbook: each case on an inventory host of its own.

Starting ansible-playbook and loading a role costs about two seconds of CPU, more than checking one case
does. So the tests that run a playbook (a role's preflight on some input, a role's templates rendered with
some variables) declare their case with a marker, and the cases of many tests run as the hosts of one
inventory, in one ansible-playbook:

    @pytest.mark.parametrize("variables, expected", [...])
    @pytest.mark.ansible_case(lambda variables: Preflight("synapse", dict(GOOD_SYNAPSE, **variables)))
    def test_bad_synapse_input_fails_clearly(ansible_result, variables, expected):
        assert_fails_with(*ansible_result, expected)

The marker takes the test's case, a list of cases (ansible_result is then the list of their results, in
order), or a function of test parameters (by name) that returns them: a lambda, or a named function given
with pytest.mark.ansible_case.with_args(function) (pytest would take it for the test to mark). How the batches
form (conftest.py):

- When pytest has collected the tests, plan() evaluates every test's marker. A test's group is the Case.group
  of its first case (cases that can run together: same playbook, role and entry point), split into groups
  of at most MAX_CASES cases.
- A group runs the cases of every selected test of the group: one ansible-playbook per batch (Case.batch),
  each case on a host of its own (ansible_connection=local) that holds the case's variables, with up to 8
  forks. A host that fails leaves the play; the others go on. The groups run in a thread from the start of the
  session (Batches.prefetch), or when a test asks for a result of a group that has not run (Batches.results).
  With pytest-xdist, a group runs once: the results go to a directory the workers share, under a lock that a
  worker needing the group meanwhile waits for.
- The callback callback_plugins/host_transcripts.py writes each host's task banners, results, error messages
  and facts apart. Each test reads its own host's output and status (Case.result), as if its case had run
  alone: another host's failure cannot make it pass or fail, and a host missing from the run fails the test.
"""

import collections
import fcntl
import inspect
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(ROOT, "tests", "unit", "files")
BIN = os.path.dirname(sys.executable)
# Cases per group: many, so that starting ansible-playbook is paid rarely; not too many, so that the groups
# spread over the pytest-xdist workers (and the inventory, which every task's variables are computed from,
# stays small).
MAX_CASES = 24
PLANNED = pytest.StashKey()  # item -> (group, [cases], whether the marker gave a list)


class Case:
    """A run of a playbook on one host; subclasses say which playbook, with what, and what a test gets back."""

    playbook = None
    host = None  # the name the case's inventory host must have, if any

    def identity(self):
        """What makes the case (JSON data): a case two tests share runs once."""
        raise NotImplementedError

    def batch(self):
        """Cases with equal batches (tuples of strings) can run as hosts of one ansible-playbook."""
        raise NotImplementedError

    def group(self):
        """The group of a test whose (first) case this is: a name for the cases that had better run together."""
        return "-".join(self.batch())

    def arguments(self):
        """The ansible-playbook arguments of the batch, besides the playbook and the inventory."""
        return []

    def inventory(self, hostdir):
        """(hostvars, groups, peers) of the case's host: its variables, its groups besides 'cases', and other hosts
        the batch's inventory must hold ({group: {host: variables}}). hostdir is a directory of the host's own."""
        raise NotImplementedError

    def result(self, code, output, facts):
        """What the test gets, from the host's exit code (0, 2 failed, 4 unreachable), output and the facts it
        set (set_fact)."""
        raise NotImplementedError

    def key(self):
        return json.dumps([type(self).__name__, self.batch(), self.host, self.identity()], sort_keys=True)

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, json.dumps(self.identity(), sort_keys=True)[1:-1])


class Preflight(Case):
    """A role's argument specs and preflight checks (tests/unit/files/preflight.yml) on some input.

    variables become the host's inventory variables (preflight_facts among them: the system the play pretends
    to be); entry_point is the tasks_from, e.g. monitoring's grafana. host names the inventory host, for a check
    that reads inventory_hostname; groups and peers (an inventory mapping {group: {host: variables}}) place it
    in an inventory, as site.yml's plays would. The result is (exit code, output) of this host alone.
    """

    playbook = os.path.join(FILES, "preflight.yml")

    def __init__(self, role, variables, entry_point="main", host=None, groups=(), peers=None):
        self.role, self.variables, self.entry_point = role, dict(variables), entry_point
        self.host, self.groups, self.peers = host, sorted(groups), peers or {}

    def identity(self):
        return [self.role, self.entry_point, self.variables, self.groups, self.peers]

    def batch(self):
        return ("preflight", self.role, self.entry_point, json.dumps(self.peers, sort_keys=True))

    def group(self):
        return "preflight-%s-%s" % (self.role, self.entry_point)

    def arguments(self):
        return ["--check", "--tags", "preflight",
                "-e", json.dumps({"preflight_role": self.role, "preflight_entry_point": self.entry_point})]

    def inventory(self, hostdir):
        return self.variables, self.groups, self.peers

    def result(self, code, output, facts):
        return code, output


class Render(Case):
    """Templates of a role rendered with its defaults and constants (tests/unit/files/role_render.yml).

    templates are file names under the role's templates/; variables win over the role's own, as extra
    variables would; names are variables whose values the test reads. The result is ({template: text},
    {name: value}).
    """

    playbook = os.path.join(FILES, "role_render.yml")

    def __init__(self, role, templates, variables=None, names=()):
        self.role, self.templates, self.variables, self.names = role, list(templates), variables or {}, list(names)

    def identity(self):
        return [self.role, self.templates, self.variables, self.names]

    def batch(self):
        return ("render",)

    def inventory(self, hostdir):
        (hostdir / "variables.json").write_text(json.dumps(self.variables))
        return {"render_role": self.role, "render_templates": self.templates, "render_vars": self.names,
                "render_variables_file": str(hostdir / "variables.json")}, [], {}

    def result(self, code, output, facts):
        if code != 0:
            raise CaseFailed("%r failed:\n%s" % (self, output))
        return facts["render_files"], facts["render_values"]


class CaseFailed(Exception):
    """A case without a result for its test: the test fails with this message."""


def environment(transcripts, forks=5):
    """The environment of an ansible-playbook run of the unit tests, with the host_transcripts callback writing
    to transcripts."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "unit", "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="host_transcripts",
        HOST_TRANSCRIPTS=str(transcripts),
        ANSIBLE_FORKS=str(forks),
    )
    return env


def run_batch(cases, workdir):
    """Run cases of one batch in one ansible-playbook, one inventory host each; return their results in order
    (a CaseFailed for a case without one)."""
    names = [case.host or "case%d" % number for number, case in enumerate(cases, 1)]
    assert len(set(names)) == len(names), names
    children = {"cases": {"hosts": {}}}
    for name, case in zip(names, cases):
        (workdir / name).mkdir()
        hostvars, groups, peers = case.inventory(workdir / name)
        children["cases"]["hosts"][name] = hostvars
        for group in groups:
            children.setdefault(group, {"hosts": {}})["hosts"][name] = {}
        for group, hosts in peers.items():
            children.setdefault(group, {"hosts": {}})["hosts"].update(hosts)
    inventory = workdir / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": children}}))
    transcripts = workdir / "transcripts.json"
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), cases[0].playbook, "-i", str(inventory), *cases[0].arguments()],
        env=environment(transcripts, min(len(cases), 8)), capture_output=True, text=True, timeout=600, check=False,
    )
    hosts = json.loads(transcripts.read_text()) if transcripts.exists() else {}
    results = []
    for name, case in zip(names, cases):
        try:
            if name not in hosts:
                raise CaseFailed("%r did not run on host %s (exit code %d):\n%s%s"
                                 % (case, name, proc.returncode, proc.stdout, proc.stderr))
            host = hosts[name]
            code = 4 if host["unreachable"] else 2 if host["failed"] else 0
            results.append(case.result(code, host["output"], host["facts"]))
        except CaseFailed as failure:
            results.append(failure)
    return results


def _cases(item):
    """The cases an item's ansible_case marker names, and whether it named a list of them."""
    marker = item.get_closest_marker("ansible_case")
    if marker is None:
        return None, False
    made = marker.args[0]
    if callable(made):  # a function of the test's parameters (those it names)
        params = item.callspec.params if hasattr(item, "callspec") else {}
        made = made(**{name: params[name] for name in inspect.signature(made).parameters if name in params})
    return (list(made), True) if isinstance(made, (list, tuple)) else ([made], False)


def _groups(items):
    """{group: [its cases]} of the planned items."""
    groups = collections.defaultdict(list)
    for item in items:
        if PLANNED in item.stash:
            group, cases, _several = item.stash[PLANNED]
            groups[group].extend(cases)
    return groups


def plan(items):
    """Evaluate the ansible_case markers of items: each such item gets its cases and a group, the Case.group of
    its first case, split into groups of at most MAX_CASES cases, of even sizes."""
    planned = []
    for item in items:
        cases, several = _cases(item)
        if cases is not None:
            planned.append((item, re.sub(r"[^\w.-]+", "_", cases[0].group()), cases, several))
    totals = collections.Counter()
    for _item, name, cases, _several in planned:
        totals[name] += len(cases)
    seen = collections.Counter()
    for item, name, cases, several in planned:
        parts = -(-totals[name] // MAX_CASES)
        item.stash[PLANNED] = ("%s-%d" % (name, seen[name] * parts // totals[name]), cases, several)
        seen[name] += len(cases)


class Batches:
    """The results of the session's cases, by case key, shared by the pytest-xdist workers.

    A group runs once: the worker that runs it holds the group's lock (a file in a directory all workers of the
    session share) meanwhile, and writes the results there as JSON; a worker that needs the group then waits for
    the lock and reads them. Each worker runs groups ahead of its tests, in a thread (prefetch): the largest
    first, every worker starting with a share of its own, then helping with the others'. A test whose group has
    not run yet runs it when it asks for a result.
    """

    def __init__(self, workdir, shared):
        self._workdir = workdir  # this worker's
        self._shared = shared  # every worker's
        self._results = {}
        self._prefetching = None
        self._stop = threading.Event()

    def results(self, item):
        """The result of item's planned case (or the list of them, when its marker gave a list)."""
        if PLANNED not in item.stash:
            pytest.fail("%s uses ansible_result but has no ansible_case marker" % item.nodeid, pytrace=False)
        group, cases, several = item.stash[PLANNED]
        if any(case.key() not in self._results for case in cases):
            self._share(group, _groups(item.session.items)[group])
        results = self._get(cases)
        return results if several else results[0]

    def prefetch(self, items, worker=0, workers=1):
        """Run the groups of items in a thread, largest first, this worker's share (worker of workers) first; skip a
        group another worker is running. stop() ends it."""
        groups = sorted(_groups(items).items(), key=lambda group: -len(group[1]))
        others = [group for number, group in enumerate(groups) if number % workers != worker]
        order = groups[worker::workers] + others

        def run():
            for name, cases in order:
                if self._stop.is_set():
                    break
                self._share(name, cases, wait=False)

        self._prefetching = threading.Thread(target=run, name="prefetch", daemon=True)
        self._prefetching.start()

    def stop(self):
        """Let the prefetching thread finish the group it runs (when the session ends early), and run no other."""
        self._stop.set()
        if self._prefetching:
            self._prefetching.join()

    def run(self, cases, name):
        """The results of cases, run at once (in as few ansible-playbooks as their batches allow), under name."""
        self._share(name, cases)
        return self._get(cases)

    def _get(self, cases):
        results = [self._results[case.key()] for case in cases]
        for result in results:
            if "failure" in result:
                pytest.fail(result["failure"], pytrace=False)
        return [result["result"] for result in results]

    def _share(self, name, cases, wait=True):
        """Read the results of cases from the shared file of name; run those it lacks and add them first. Without
        wait, do nothing while another thread or worker holds the lock of name."""
        done = self._shared / (name + ".json")
        with open(self._shared / (name + ".lock"), "w", encoding="utf-8") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at close
            except BlockingIOError:
                return
            results = json.loads(done.read_text()) if done.exists() else {}
            missing = [case for case in cases if case.key() not in results]
            if missing:
                results.update(self._run(name, missing))
                (self._shared / (name + ".tmp")).write_text(json.dumps(results))
                (self._shared / (name + ".tmp")).replace(done)
            self._results.update(results)

    def _run(self, name, cases):
        """Run cases, one ansible-playbook per batch; return {case key: {"result": ...} or {"failure": message}}."""
        unique = {}
        for case in cases:
            unique.setdefault(case.key(), case)
        runs = collections.defaultdict(list)
        for case in unique.values():
            # Two cases that need the same host name go to different runs of their batch.
            number = 0
            while case.host and case.host in [c.host for c in runs[(case.batch(), number)]]:
                number += 1
            runs[(case.batch(), number)].append(case)
        done = {}
        for batch in runs.values():
            workdir = pathlib.Path(tempfile.mkdtemp(prefix=name + ".", dir=self._workdir))
            try:
                results = run_batch(batch, workdir)
            except (OSError, subprocess.SubprocessError) as error:  # e.g. a timeout: each test of the batch says so
                results = [CaseFailed("%r: ansible-playbook did not finish: %s" % (case, error)) for case in batch]
            for case, result in zip(batch, results):
                done[case.key()] = {"failure": str(result)} if isinstance(result, CaseFailed) else {"result": result}
        return done
