#!/usr/bin/env python3
"""Load generator for bench/workers, run inside the container against nginx on 127.0.0.1:443.

USERS clients (threads spread over PROCESSES processes), each logged in as its own user and joined to one
shared room, loop for DURATION seconds: send a message (PUT /rooms/<room>/send), then an incremental
/sync?timeout=0 from its last batch token (so every sync returns the other clients' new messages). Prints one
JSON object: requests/s and p50/p99 latency per request type. Figures only; nothing is asserted.
"""

import http.client
import json
import multiprocessing
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

CA = "/etc/ssl/homeserver/ca.pem"


def connect():
    return http.client.HTTPSConnection("127.0.0.1", 443, context=ssl.create_default_context(cafile=CA), timeout=120)


def request(conn, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} -> {response.status} {payload[:200]!r}")
    return json.loads(payload)


def client(user, token, room, since, deadline, out):
    conn = connect()
    room_path = urllib.parse.quote(room, safe="")
    latencies = {"send": [], "sync": []}
    errors = 0
    while time.monotonic() < deadline:
        for kind in ("send", "sync"):
            start = time.monotonic()
            try:
                if kind == "send":
                    request(conn, "PUT", f"/_matrix/client/v3/rooms/{room_path}/send/m.room.message/{uuid.uuid4().hex}",
                            token, {"msgtype": "m.text", "body": "bench " + user})
                else:
                    since = request(conn, "GET", f"/_matrix/client/v3/sync?timeout=0&since={since}", token)["next_batch"]
            except (RuntimeError, OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = connect()
                continue
            latencies[kind].append(time.monotonic() - start)
    out.append((latencies, errors))


def worker_process(sessions, duration, queue):
    deadline = time.monotonic() + duration
    out = []
    threads = [threading.Thread(target=client, args=(*s, deadline, out)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000 if values else float("nan")


def main():
    users, password, duration, processes = sys.argv[1].split(","), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    conn = connect()
    sessions = []
    for user in users:
        login = request(conn, "POST", "/_matrix/client/v3/login", body={
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password})
        sessions.append([user, login["access_token"]])
    owner = sessions[0][1]
    room = request(conn, "POST", "/_matrix/client/v3/createRoom", owner, {"preset": "public_chat"})["room_id"]
    for user, token in sessions:
        request(conn, "POST", f"/_matrix/client/v3/join/{urllib.parse.quote(room, safe='')}", token, {})
    # Initial sync (not measured) for each client's starting token.
    for session in sessions:
        session += [room, request(conn, "GET", "/_matrix/client/v3/sync?timeout=0", session[1])["next_batch"]]
    queue = multiprocessing.Queue()
    chunks = [sessions[i::processes] for i in range(processes)]
    procs = [multiprocessing.Process(target=worker_process, args=(chunk, duration, queue)) for chunk in chunks if chunk]
    for p in procs:
        p.start()
    results = [r for _unused in procs for r in queue.get()]
    for p in procs:
        p.join()
    merged = {"send": [], "sync": []}
    errors = 0
    for latencies, errs in results:
        errors += errs
        for kind in merged:
            merged[kind] += latencies[kind]
    for session in sessions:
        request(conn, "POST", "/_matrix/client/v3/logout", session[1], {})
    total = len(merged["send"]) + len(merged["sync"])
    print(json.dumps({
        "requests_per_s": total / duration,
        "errors": errors,
        **{f"{kind}_{stat}": value for kind in merged for stat, value in
           (("count", len(merged[kind])), ("p50_ms", percentile(merged[kind], 50)), ("p99_ms", percentile(merged[kind], 99)))},
    }))


if __name__ == "__main__":
    main()
