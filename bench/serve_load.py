"""Workload of bench/serve, run inside each benchmark container (standard library only).

    serve_load.py setup SECRET_FILE SESSIONS USERS ROOMS LARGE_ROOMS STATE_EVENTS
        Registers USERS accounts through Synapse's shared-secret admin API on http://127.0.0.1:8008 (the secret
        read from SECRET_FILE; a login each), creates ROOMS small rooms (each user joins three of them) and LARGE_ROOMS rooms every user joins,
        with STATE_EVENTS extra state events each, and writes the sessions (user, token, rooms, sync token) to
        SESSIONS.
    serve_load.py run SESSIONS CLIENTS DURATION PID
        CLIENTS of those sessions, through nginx on https://127.0.0.1 (CA /root/bench-ca.pem), each loop for
        DURATION seconds: send a message to one of its rooms, then an incremental /sync?timeout=0 from its last
        token. Samples Synapse's process PID (VmRSS every half second, CPU time from /proc/PID/stat) and prints
        one JSON object: latencies per request type (ms), requests, errors, peak RSS, Synapse's CPU seconds.

Figures only; nothing is asserted.
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

CA = "/root/bench-ca.pem"
PASSWORD = "bench-password-1"


class Client:
    def __init__(self, tls):
        self.tls = tls
        self.conn = self._connect()

    def _connect(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", 443, context=ssl.create_default_context(cafile=CA),
                                               timeout=120)
        return http.client.HTTPConnection("127.0.0.1", 8008, timeout=120)

    def request(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = self._connect()
                if attempt == 2:
                    raise
        if response.status == 429:
            time.sleep(json.loads(payload).get("retry_after_ms", 500) / 1000)
            return self.request(method, path, token, body)
        if response.status != 200:
            raise RuntimeError(f"{method} {path} -> {response.status} {payload[:200]!r}")
        return json.loads(payload)


def quote(room):
    return urllib.parse.quote(room, safe="")


def register(secret, user):
    client = Client(tls=False)
    nonce = client.request("GET", "/_synapse/admin/v1/register")["nonce"]
    mac = hmac.new(secret.encode(), b"\x00".join([nonce.encode(), user.encode(), PASSWORD.encode(), b"notadmin"]),
                   hashlib.sha1).hexdigest()
    result = client.request("POST", "/_synapse/admin/v1/register", body={
        "nonce": nonce, "username": user, "password": PASSWORD, "admin": False, "mac": mac})
    return {"user": user, "token": result["access_token"], "rooms": []}


def setup(secret_file, sessions_file, users, rooms, large_rooms, state_events):
    with open(secret_file) as handle:
        secret = handle.read().strip()
    rng = random.Random(42)
    with ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(lambda n: register(secret, f"bench-{n}"), range(1, users + 1)))
    owner = sessions[0]
    client = Client(tls=False)
    small = [client.request("POST", "/_matrix/client/v3/createRoom", owner["token"],
                            {"preset": "public_chat", "name": f"small {n}"})["room_id"] for n in range(rooms)]
    large = []
    for n in range(large_rooms):
        room = client.request("POST", "/_matrix/client/v3/createRoom", owner["token"],
                              {"preset": "public_chat", "name": f"large {n}"})["room_id"]
        for key in range(state_events):
            client.request("PUT", f"/_matrix/client/v3/rooms/{quote(room)}/state/org.example.bench/{key}",
                           owner["token"], {"n": key, "text": "state " * 8})
        large.append(room)
    owner["rooms"] = list(small) + list(large)
    for session in sessions[1:]:
        session["rooms"] = rng.sample(small, min(3, len(small))) + large

    def join(session):
        joiner = Client(tls=False)
        for room in session["rooms"]:
            joiner.request("POST", f"/_matrix/client/v3/join/{quote(room)}", session["token"], {})
        session["since"] = joiner.request("GET", "/_matrix/client/v3/sync?timeout=0", session["token"])["next_batch"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(join, sessions[1:]))
    owner["since"] = client.request("GET", "/_matrix/client/v3/sync?timeout=0", owner["token"])["next_batch"]
    with open(sessions_file, "w") as handle:
        json.dump(sessions, handle)


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as handle:
        rss_kb = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss_kb * 1024, cpu


def run(sessions_file, clients, duration, pid):
    with open(sessions_file) as handle:
        sessions = json.load(handle)[:clients]
    deadline = time.monotonic() + duration
    results = []
    lock = threading.Lock()

    def loop(session, seed):
        rng = random.Random(seed)
        client = Client(tls=True)
        latencies = {"send": [], "sync": []}
        errors = 0
        since = session["since"]
        while time.monotonic() < deadline:
            for kind in ("send", "sync"):
                start = time.monotonic()
                try:
                    if kind == "send":
                        room = rng.choice(session["rooms"])
                        client.request("PUT", f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room.message/"
                                       f"{uuid.uuid4().hex}", session["token"], {"msgtype": "m.text", "body": "bench"})
                    else:
                        since = client.request("GET", f"/_matrix/client/v3/sync?timeout=0&since={since}",
                                               session["token"])["next_batch"]
                except (RuntimeError, OSError, http.client.HTTPException, ValueError):
                    errors += 1
                    continue
                latencies[kind].append((time.monotonic() - start) * 1000)
        session["since"] = since
        with lock:
            results.append((latencies, errors))

    peak = [0]
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], proc_sample(pid)[0])
            stop.wait(0.5)

    _rss, cpu_before = proc_sample(pid)
    watcher = threading.Thread(target=sampler)
    watcher.start()
    threads = [threading.Thread(target=loop, args=(s, n)) for n, s in enumerate(sessions)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stop.set()
    watcher.join()
    rss, cpu_after = proc_sample(pid)
    # The next round goes on from where these clients stopped.
    with open(sessions_file) as handle:
        everyone = json.load(handle)
    everyone[:clients] = sessions
    with open(sessions_file, "w") as handle:
        json.dump(everyone, handle)
    merged = {"send": [], "sync": []}
    errors = 0
    for latencies, errs in results:
        errors += errs
        for kind in merged:
            merged[kind] += latencies[kind]
    print(json.dumps({"elapsed_s": elapsed, "errors": errors, "latencies_ms": merged,
                      "peak_rss_bytes": max(peak[0], rss), "rss_bytes": rss, "cpu_s": cpu_after - cpu_before}))


def main():
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:8]))
    elif sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "rss":
        print(proc_sample(int(sys.argv[2]))[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
