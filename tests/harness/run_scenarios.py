#!/usr/bin/env python3
"""Run molecule scenarios, a few at once, and print each one's result and time.

Usage: tests/harness/run_scenarios.py [scenario ...]   (default: every molecule/*/molecule.yml)

Each scenario runs `molecule test -s <name>` with its output in .cache/molecule-logs/<name>.log, printed
whole when it ends (so two scenarios never interleave). HS_PARALLEL scenarios run at once (default 2): the
containers wait on the network, on systemd and on Synapse's start much of the time, so two keep both cores
busier than one. The longest scenarios start first (the times of the last run, kept in .cache, else the
figures below), so the two slots end close together.

Each slot has its own apt archive (HS_APT_CACHE=$HS_CACHE_DIR/apt/slot<N>, plus -2 and -3 for the
scenarios' second and third hosts): two containers that share one archive wait on its lock or fail.

The release: a scenario's platforms take `${HS_TEST_IMAGE}`, set here from the `# release:` line of its
molecule.yml (trixie when it has none); a platform that names HS_TEST_IMAGE_BOOKWORM or HS_TEST_IMAGE_TRIXIE
runs that release whatever the line says. After the first failure no new scenario starts (unless
HS_KEEP_GOING=1); the run ends non-zero once the running ones are done.
"""

import concurrent.futures
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(ROOT, ".cache", "molecule-logs")
TIMES = os.path.join(ROOT, ".cache", "scenario-times.json")
# Seconds measured on the 2-core development machine, for the order of a first run.
ESTIMATES = {
    "upgrade_debian": 700, "workers": 450, "backup_restore": 420, "federation": 400, "multinode": 380,
    "migrate": 330, "fail2ban": 320, "proxy_tls": 300, "monitoring": 280, "upgrade": 260, "turn": 230,
    "admin_modules": 220, "default": 150, "synapse_sqlite": 130,
}
RELEASE_LINE = re.compile(r"^# release: (bookworm|trixie)\s*$", re.MULTILINE)


def release_of(scenario):
    with open(os.path.join(ROOT, "molecule", scenario, "molecule.yml"), encoding="utf-8") as handle:
        match = RELEASE_LINE.search(handle.read())
    return match.group(1) if match else "trixie"


def main(argv):
    scenarios = argv or sorted(
        name for name in os.listdir(os.path.join(ROOT, "molecule"))
        if os.path.exists(os.path.join(ROOT, "molecule", name, "molecule.yml")))
    images = {"trixie": os.environ["HS_TEST_IMAGE_TRIXIE"], "bookworm": os.environ["HS_TEST_IMAGE_BOOKWORM"]}
    cache = os.environ.get("HS_CACHE_DIR", "/var/cache/homeserver-synapse")
    parallel = max(1, int(os.environ.get("HS_PARALLEL", "2")))
    keep_going = os.environ.get("HS_KEEP_GOING", "") not in ("", "0")
    os.makedirs(LOGS, exist_ok=True)
    try:
        with open(TIMES, encoding="utf-8") as handle:
            known = json.load(handle)
    except (OSError, ValueError):
        known = {}
    order = sorted(scenarios, key=lambda s: -known.get(s, ESTIMATES.get(s, 600)))

    slots = queue.Queue()
    for slot in range(1, parallel + 1):
        for suffix in ("", "-2", "-3"):
            os.makedirs(os.path.join(cache, "apt", f"slot{slot}{suffix}", "partial"), exist_ok=True)
        slots.put(slot)
    lock = threading.Lock()
    failed = threading.Event()
    results = {}

    def run(scenario):
        if failed.is_set() and not keep_going:
            results[scenario] = ("not run", 0, release_of(scenario))
            return
        slot = slots.get()
        release = release_of(scenario)
        env = dict(os.environ, HS_TEST_IMAGE=images[release],
                   HS_APT_CACHE=os.path.join(cache, "apt", f"slot{slot}"))
        log = os.path.join(LOGS, f"{scenario}.log")
        with lock:
            print(f"=== molecule scenario {scenario} ({release}) started in slot {slot} ===", flush=True)
        start = time.monotonic()
        try:
            with open(log, "w", encoding="utf-8") as out:
                code = subprocess.call(["molecule", "test", "-s", scenario], cwd=ROOT, env=env,
                                       stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            slots.put(slot)
        seconds = round(time.monotonic() - start)
        results[scenario] = ("passed" if code == 0 else "FAILED", seconds, release)
        if code != 0:
            failed.set()
        with lock, open(log, encoding="utf-8", errors="replace") as out:
            sys.stdout.write(out.read())
            print(f"=== scenario {scenario} ({release}) {results[scenario][0]} in {seconds} s ===", flush=True)

    wall = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(run, order))
    wall = round(time.monotonic() - wall)

    for scenario, (state, seconds, _) in results.items():
        if state == "passed":
            known[scenario] = seconds
    with open(TIMES, "w", encoding="utf-8") as handle:
        json.dump(known, handle, indent=1, sort_keys=True)
    print(f"\n{'scenario':<16} {'release':<9} {'result':<8} seconds")
    for scenario in order:
        state, seconds, release = results[scenario]
        print(f"{scenario:<16} {release:<9} {state:<8} {seconds}")
    print(f"{len(order)} scenarios, {parallel} at a time: {wall} s of wall time, "
          f"{sum(r[1] for r in results.values())} s of scenario time")
    return 1 if failed.is_set() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
