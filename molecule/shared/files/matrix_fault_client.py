#!/usr/bin/env python3
"""A Matrix client that keeps sending while the verify step breaks things (standard library only).

  send    log in, create the room (or reuse the one in STATE/room), then send messages until STATE/stop
          exists: every message the server acknowledged (200 with an event id) is appended to STATE/acked
          and fsynced. A 429 waits retry_after_ms; a connection error or a 5xx retries the same transaction
          id (Synapse answers a repeated transaction with the same event, so nothing is sent twice). A lost
          token logs in again. Counters go to STATE/stats.json.
  check   log in as a new device, read the room back through /messages and check every acknowledged event
          is there, then send one message and read it back. Prints one JSON line; exits 1 on any loss.
  upload  log in and upload SIZE random bytes: --expect ok downloads them back and compares, --expect error
          wants the upload refused with an HTTP error (a full media store) and nothing else.
"""

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class Client:
    def __init__(self, homeserver, user, password, device):
        self.base = homeserver.rstrip("/")
        self.user, self.password, self.device = user, password, device
        self.token = None
        self.stats = {"rate_limited": 0, "errors": 0, "logins": 0}

    def request(self, method, path, body=None, raw=None, content_type="application/json", timeout=30):
        """(status, parsed JSON or bytes); status 0 when the server could not be reached."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                payload, status, kind = resp.read(), resp.status, resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            payload, status, kind = err.read(), err.code, err.headers.get("Content-Type", "")
        except (OSError, urllib.error.URLError):
            return 0, None
        if kind.startswith("application/json"):
            try:
                return status, json.loads(payload or b"{}")
            except ValueError:
                pass
        return status, payload

    def call(self, method, path, body=None, deadline=300, **kwargs):
        """Retries 429 (after retry_after_ms), unreachable and 5xx answers until deadline seconds passed."""
        end = time.monotonic() + deadline
        while True:
            status, payload = self.request(method, path, body, **kwargs)
            if status == 429:
                self.stats["rate_limited"] += 1
                wait = (payload or {}).get("retry_after_ms", 1000) / 1000 if isinstance(payload, dict) else 1
                time.sleep(min(max(wait, 0.1), 10))
            elif status == 0 or status >= 500:
                self.stats["errors"] += 1
                time.sleep(0.5)
            elif status == 401 and self.token and isinstance(payload, dict) \
                    and payload.get("errcode") == "M_UNKNOWN_TOKEN":
                self.login(deadline)
            else:
                return status, payload
            if time.monotonic() > end:
                return status, payload

    def login(self, deadline=300):
        self.token = None
        status, payload = self.call("POST", "/_matrix/client/v3/login", {
            "type": "m.login.password", "identifier": {"type": "m.id.user", "user": self.user},
            "password": self.password, "initial_device_display_name": self.device}, deadline=deadline)
        if status != 200:
            raise SystemExit(f"login failed: {status} {payload}")
        self.token = payload["access_token"]
        self.stats["logins"] += 1

    def send_text(self, room, body):
        txn = secrets.token_hex(12)
        path = (f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/{txn}")
        return self.call("PUT", path, {"msgtype": "m.text", "body": body})

    def room_event_ids(self, room):
        """Every event id of the room's timeline, paginated backwards from the newest."""
        seen, token = set(), None
        while True:
            query = {"dir": "b", "limit": "1000"}
            if token:
                query["from"] = token
            status, payload = self.call(
                "GET", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?{urllib.parse.urlencode(query)}")
            if status != 200:
                raise SystemExit(f"reading the room failed: {status} {payload}")
            seen.update(event["event_id"] for event in payload.get("chunk", []))
            if not payload.get("chunk") or not payload.get("end"):
                return seen
            token = payload["end"]


def acked_ids(state):
    path = os.path.join(state, "acked")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # A line cut short by a reboot was never acknowledged as far as this client knows.
    return [line for line in text.split("\n")[:-1] if line.startswith("$")]


def ensure_room(client, state):
    path = os.path.join(state, "room")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    status, payload = client.call("POST", "/_matrix/client/v3/createRoom", {"name": "faults", "preset": "private_chat"})
    if status != 200:
        raise SystemExit(f"creating the room failed: {status} {payload}")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(payload["room_id"] + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(path + ".tmp", path)
    return payload["room_id"]


def write_stats(state, client, acked):
    with open(os.path.join(state, "stats.json.tmp"), "w", encoding="utf-8") as handle:
        json.dump(dict(client.stats, acked=acked, time=time.time()), handle)
    os.rename(os.path.join(state, "stats.json.tmp"), os.path.join(state, "stats.json"))


def send(args, client):
    os.makedirs(args.state, exist_ok=True)
    client.login(deadline=3600)
    room = ensure_room(client, args.state)
    acked = len(acked_ids(args.state))
    with open(os.path.join(args.state, "acked"), "a", encoding="utf-8") as log:
        while not os.path.exists(os.path.join(args.state, "stop")):
            status, payload = client.send_text(room, f"fault-client message {acked + 1}")
            if status == 200 and isinstance(payload, dict) and payload.get("event_id"):
                log.write(payload["event_id"] + "\n")
                log.flush()
                os.fsync(log.fileno())
                acked += 1
            else:
                client.stats["errors"] += 1
                time.sleep(0.5)
            write_stats(args.state, client, acked)
            time.sleep(args.pause)


def check(args, client):
    client.login()
    with open(os.path.join(args.state, "room"), encoding="utf-8") as handle:
        room = handle.read().strip()
    acked = acked_ids(args.state)
    seen = client.room_event_ids(room)
    lost = sorted(set(acked) - seen)
    status, payload = client.send_text(room, "sent by check after logging in " + secrets.token_hex(4))
    sent = status == 200 and payload.get("event_id") in client.room_event_ids(room)
    client.request("POST", "/_matrix/client/v3/logout", {})
    result = {"room": room, "acked": len(acked), "found": len(set(acked) & seen), "lost": len(lost),
              "lost_ids": lost[:20], "sent_after_login": sent, "client": client.stats}
    print(json.dumps(result))
    if lost or not sent or len(acked) < args.min_acked:
        sys.exit(1)


def upload(args, client):
    client.login()
    data = secrets.token_bytes(args.size)
    # No retries on 5xx here: a refused upload is what --expect error looks for.
    status, payload = client.request("POST", "/_matrix/media/v3/upload?filename=fault.bin", raw=data,
                                     content_type="application/octet-stream", timeout=60)
    result = {"status": status, "answer": payload if isinstance(payload, dict) else str(payload)[:200]}
    if status == 200 and isinstance(payload, dict) and payload.get("content_uri"):
        server, media = payload["content_uri"][len("mxc://"):].split("/", 1)
        got_status, got = client.request("GET", f"/_matrix/client/v1/media/download/{server}/{media}")
        result["downloaded_equal"] = got_status == 200 and got == data
    client.request("POST", "/_matrix/client/v3/logout", {})
    print(json.dumps(result))
    if args.expect == "ok":
        ok = result.get("downloaded_equal", False)
    else:
        ok = status >= 400 and "content_uri" not in (payload if isinstance(payload, dict) else {})
    sys.exit(0 if ok else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["send", "check", "upload"])
    parser.add_argument("--homeserver", default="http://127.0.0.1:8008")
    parser.add_argument("--user", required=True, help="localpart or full user id")
    parser.add_argument("--password", required=True)
    parser.add_argument("--state", required=True, help="directory of the room id and the acknowledged events")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between two messages")
    parser.add_argument("--min-acked", type=int, default=1, help="check: fewer acknowledged events fail")
    parser.add_argument("--size", type=int, default=1 << 20, help="upload: bytes")
    parser.add_argument("--expect", choices=["ok", "error"], default="ok")
    args = parser.parse_args()
    client = Client(args.homeserver, args.user, args.password, "fault-client-" + args.action)
    {"send": send, "check": check, "upload": upload}[args.action](args, client)


if __name__ == "__main__":
    main()
