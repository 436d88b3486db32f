#!/usr/bin/env python3
"""SIGKILL a systemd unit and measure how long it takes to come back by itself.

Back means: systemd restarted it (NRestarts went up), the unit is active again and, when given, the service
answers (--url: an HTTP 200; --tcp host:port: a connection). Prints one JSON line with the seconds from the
kill to that moment; exits 1 after --timeout seconds with the unit's last journal lines.
"""

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request


def show(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit],
                          capture_output=True, text=True, check=True).stdout.strip()


def answers(args):
    try:
        if args.url:
            with urllib.request.urlopen(args.url, timeout=2) as resp:
                return resp.status == 200
        if args.tcp:
            host, port = args.tcp.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=2):
                return True
    except OSError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("unit")
    parser.add_argument("--url")
    parser.add_argument("--tcp")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    before = int(show(args.unit, "NRestarts") or 0)
    pid = show(args.unit, "MainPID")
    start = time.monotonic()
    subprocess.run(["systemctl", "kill", "-s", "SIGKILL", args.unit], check=True)
    seen_down = False
    while time.monotonic() - start < args.timeout:
        state = show(args.unit, "ActiveState")
        seen_down = seen_down or state != "active"
        restarts = int(show(args.unit, "NRestarts") or 0)
        if restarts > before and state == "active" and answers(args):
            print(json.dumps({"unit": args.unit, "seconds": round(time.monotonic() - start, 1),
                              "restarts": restarts, "old_pid": pid, "new_pid": show(args.unit, "MainPID")}))
            return
        time.sleep(0.2)
    journal = subprocess.run(["journalctl", "-u", args.unit, "-n", "30", "--no-pager"],
                             capture_output=True, text=True, check=False).stdout
    print(json.dumps({"unit": args.unit, "error": f"not back after {args.timeout} s", "seen_down": seen_down,
                      "state": show(args.unit, "ActiveState"), "journal": journal}))
    sys.exit(1)


if __name__ == "__main__":
    main()
