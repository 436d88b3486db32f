#!/usr/bin/env python3
"""Run molecule scenarios, a few at once, and print each run's result and time.

Usage: tests/harness/run_scenarios.py [scenario ...]   (default: every molecule/*/molecule.yml)

The release: a scenario's `# release:` line in its molecule.yml names one release or two (`# release:
trixie bookworm`; trixie when it has no such line). The scenario runs once per release, its platforms taking
`${HS_TEST_IMAGE}`, set here to that release's image; a platform that names HS_TEST_IMAGE_BOOKWORM or
HS_TEST_IMAGE_TRIXIE itself runs that release whatever the line says. A run is called <scenario>@<release>.

Each run's output goes to .cache/molecule-logs/<scenario>@<release>.log, printed whole when it ends (two runs
never interleave), followed by `=== scenario <scenario>@<release> passed in N s ===`. HS_PARALLEL runs go on at
once (default 2): the containers wait on the network, on systemd and on Synapse's start much of the time, so
two keep both cores busier than one. Two runs of one scenario never overlap (they share container names and
molecule's state). The longest runs start first (the times of the last run, kept in .cache, else the
figures below), so the slots end close together.

Each slot has its own apt archive (HS_APT_CACHE=$HS_CACHE_DIR/apt/slot<N>, plus -2 and -3 for a scenario's
second and third hosts): two containers that share one archive wait on its lock or fail. A slot is held with
a lock file for as long as its thread runs, so two runners started at once (two shells, CI and a developer)
take different slots.

After the first failure no new run starts (unless HS_KEEP_GOING=1); the exit is non-zero once the running
ones are done. A table of every run's release, result and seconds closes the output.
"""

import fcntl
import json
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(ROOT, ".cache", "molecule-logs")
TIMES = os.path.join(ROOT, ".cache", "scenario-times.json")
RELEASES = ("trixie", "bookworm")
# Seconds of the clean-clone run of 2026-12-07 (docs/testing.md, Time), for the order of a first run: only their
# ratios matter.
ESTIMATES = {
    "multinode": 760, "upgrade_debian": 654, "monitoring": 599, "workers": 597, "migrate": 576, "edge": 568,
    "company": 483, "adopt": 478, "backup_restore": 477, "federation": 433, "default": 415, "admin_modules": 262,
}
# molecule's "<scenario> ➜ <step>: Executing" line, its colours taken off: the start of each step.
STEP_LINE = re.compile(r"\u279c (\w+): Executing")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RELEASE_LINE = re.compile(r"^# release: ([a-z ]+?)(?:\s+\(.*\))?\s*$", re.MULTILINE)


def releases_of(scenario):
    """The releases a scenario runs on, from its molecule.yml's `# release:` line."""
    with open(os.path.join(ROOT, "molecule", scenario, "molecule.yml"), encoding="utf-8") as handle:
        match = RELEASE_LINE.search(handle.read())
    names = match.group(1).split() if match else ["trixie"]
    unknown = [name for name in names if name not in RELEASES]
    if unknown or not names:
        raise SystemExit(f"molecule/{scenario}/molecule.yml: '# release:' names {unknown or names}; "
                         f"use {' and/or '.join(RELEASES)}")
    return names


def run_molecule(scenario, env, out):
    """`molecule test -s scenario` with its output into out; its exit code and the seconds of each step."""
    starts = []  # (step, when it started), in order
    with subprocess.Popen(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace") as proc:
        for line in proc.stdout:
            out.write(line)
            out.flush()  # the log can be followed while the run goes on
            step = STEP_LINE.search(ANSI.sub("", line))
            if step:
                starts.append((step.group(1), time.monotonic()))
        code = proc.wait()
    starts.append((None, time.monotonic()))
    phases = {}
    for (step, began), (_next, ended) in zip(starts, starts[1:]):
        phases[step] = phases.get(step, 0) + ended - began
    return code, {step: round(seconds) for step, seconds in phases.items()}


class Runner:
    def __init__(self, runs, parallel, keep_going):
        self.pending = list(runs)           # (scenario, release), longest first
        self.running = set()                # scenarios running now
        self.results = {}                   # run name -> (state, seconds)
        self.phases = {}                    # run name -> {molecule step: seconds}
        self.failed = False
        self.keep_going = keep_going
        self.cond = threading.Condition()
        self.images = {release: os.environ[f"HS_TEST_IMAGE_{release.upper()}"] for release in RELEASES}
        self.cache = os.environ.get("HS_CACHE_DIR", "/var/cache/homeserver-synapse")
        self.parallel = parallel

    def next_run(self):
        """The next run whose scenario is not running, waiting while only such runs are left; None at the end."""
        with self.cond:
            while True:
                if self.failed and not self.keep_going:
                    for scenario, release in self.pending:
                        self.results[f"{scenario}@{release}"] = ("not run", 0)
                    self.pending = []
                if not self.pending:
                    return None
                for index, (scenario, release) in enumerate(self.pending):
                    if scenario not in self.running:
                        del self.pending[index]
                        self.running.add(scenario)
                        return scenario, release
                self.cond.wait()

    def take_slot(self):
        """The lowest slot number no other thread or process holds, and its open lock file (kept open)."""
        slot = 0
        while True:
            slot += 1
            os.makedirs(os.path.join(self.cache, "apt"), exist_ok=True)
            handle = open(os.path.join(self.cache, "apt", f"slot{slot}.lock"), "w", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            return slot, handle

    def worker(self):
        slot, _lock = self.take_slot()
        for suffix in ("", "-2", "-3"):
            os.makedirs(os.path.join(self.cache, "apt", f"slot{slot}{suffix}", "partial"), exist_ok=True)
        while True:
            picked = self.next_run()
            if picked is None:
                return
            scenario, release = picked
            name = f"{scenario}@{release}"
            env = dict(os.environ, HS_TEST_IMAGE=self.images[release],
                       HS_APT_CACHE=os.path.join(self.cache, "apt", f"slot{slot}"))
            log = os.path.join(LOGS, f"{name}.log")
            with self.cond:
                print(f"=== molecule scenario {name} started in slot {slot} ===", flush=True)
            start = time.monotonic()
            with open(log, "w", encoding="utf-8") as out:
                code, phases = run_molecule(scenario, env, out)
            seconds = round(time.monotonic() - start)
            with self.cond:
                state = "passed" if code == 0 else "FAILED"
                self.results[name] = (state, seconds)
                self.phases[name] = phases
                self.failed = self.failed or code != 0
                self.running.discard(scenario)
                with open(log, encoding="utf-8", errors="replace") as out:
                    sys.stdout.write(out.read())
                print(f"=== scenario {name} {state} in {seconds} s ===", flush=True)
                self.cond.notify_all()


def main(argv):
    scenarios = argv or sorted(
        name for name in os.listdir(os.path.join(ROOT, "molecule"))
        if os.path.exists(os.path.join(ROOT, "molecule", name, "molecule.yml")))
    parallel = max(1, int(os.environ.get("HS_PARALLEL", "2")))
    keep_going = os.environ.get("HS_KEEP_GOING", "") not in ("", "0")
    os.makedirs(LOGS, exist_ok=True)
    try:
        with open(TIMES, encoding="utf-8") as handle:
            known = json.load(handle)
    except (OSError, ValueError):
        known = {}

    def expected(run):
        scenario, release = run
        return known.get(f"{scenario}@{release}", ESTIMATES.get(scenario, 600))

    runs = sorted(((s, r) for s in scenarios for r in releases_of(s)), key=lambda run: -expected(run))
    runner = Runner(runs, parallel, keep_going)
    wall = time.monotonic()
    threads = [threading.Thread(target=runner.worker) for _unused in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = round(time.monotonic() - wall)

    for name, (state, seconds) in runner.results.items():
        if state == "passed":
            known[name] = seconds
    with open(TIMES, "w", encoding="utf-8") as handle:
        json.dump(known, handle, indent=1, sort_keys=True)
    print(f"\n{'scenario':<16} {'release':<9} {'result':<8} {'seconds':<8} steps (s)")
    for scenario, release in runs:
        state, seconds = runner.results.get(f"{scenario}@{release}", ("not run", 0))
        steps = " ".join(f"{step} {sec}" for step, sec in runner.phases.get(f"{scenario}@{release}", {}).items())
        print(f"{scenario:<16} {release:<9} {state:<8} {seconds:<8} {steps}")
    print(f"{len(runs)} scenario runs, {parallel} at a time: {wall} s of wall time, "
          f"{sum(seconds for _unused, seconds in runner.results.values())} s of scenario time")
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
