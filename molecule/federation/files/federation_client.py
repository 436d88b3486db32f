#!/usr/bin/env python3
"""A Matrix client for the federation scenario, one step per run (Python's standard library only).

Each run logs in to its own homeserver over HTTPS (through the reverse proxy, trusting the private CA), does
one step and prints one JSON line; it exits non-zero with the server's answer on any failure or when a
bounded wait runs out:

  create-invite  create a private room and invite a user of the other server (the invite goes over federation)
  accept         wait in /sync for the invite, then join the room through the inviting server
  send           wait until the invited user is a member, then send a message
  expect         wait until the message is in the room's timeline
"""

import argparse
import json
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class Client:
    def __init__(self, base, cafile):
        self.base = base.rstrip("/")
        self.context = ssl.create_default_context(cafile=cafile)
        self.token = None

    def call(self, method, path, body=None, query=None):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=60) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path} failed: HTTP {error.code} {error.read().decode(errors='replace')}")

    def login(self, user, password):
        answer = self.call("POST", "/_matrix/client/v3/login", {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": "molecule federation",
        })
        self.token = answer["access_token"]
        return answer["user_id"]

    def logout(self):
        self.call("POST", "/_matrix/client/v3/logout", {})


def room_path(room_id, suffix=""):
    return "/_matrix/client/v3/rooms/" + urllib.parse.quote(room_id, safe="") + suffix


def wait(what, timeout, probe):
    """Call probe() until it returns something true, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout} s waiting for {what}")
        time.sleep(1)


def create_invite(client, args, result):
    room = client.call("POST", "/_matrix/client/v3/createRoom", {
        "preset": "private_chat", "name": "federation-" + uuid.uuid4().hex[:8],
    })
    result["room_id"] = room["room_id"]
    client.call("POST", room_path(room["room_id"], "/invite"), {"user_id": args.invitee})
    result["invited"] = args.invitee


def accept(client, args, result):
    since = {"token": None}

    def invited():
        query = {"timeout": "5000"}
        if since["token"]:
            query["since"] = since["token"]
        answer = client.call("GET", "/_matrix/client/v3/sync", query=query)
        since["token"] = answer["next_batch"]
        invite = answer.get("rooms", {}).get("invite", {}).get(args.room)
        if not invite:
            return None
        events = invite.get("invite_state", {}).get("events", [])
        return [e["sender"] for e in events if e.get("type") == "m.room.member"] or ["?"]

    result["invite_from"] = wait("the invite in /sync", args.timeout, invited)[0]
    joined = client.call("POST", "/_matrix/client/v3/join/" + urllib.parse.quote(args.room, safe=""),
                         {}, query={"server_name": args.via})
    result["joined"] = joined["room_id"]


def send(client, args, result):
    def member():
        members = client.call("GET", room_path(args.room, "/joined_members"))["joined"]
        return args.member in members

    wait(f"{args.member} to join", args.timeout, member)
    sent = client.call("PUT", room_path(args.room, "/send/m.room.message/" + uuid.uuid4().hex),
                       {"msgtype": "m.text", "body": args.body})
    result["event_id"] = sent["event_id"]


def expect(client, args, result):
    def received():
        chunk = client.call("GET", room_path(args.room, "/messages"),
                            query={"dir": "b", "limit": "50"})["chunk"]
        return [e for e in chunk if e.get("type") == "m.room.message"
                and e.get("content", {}).get("body") == args.body]

    event = wait("the message in the timeline", args.timeout, received)[0]
    result["received_event_id"] = event["event_id"]
    result["sender"] = event["sender"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the homeserver's client URL (https://matrix.a.test)")
    parser.add_argument("--cafile", required=True, help="the private CA the certificates come from")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--timeout", type=int, default=90, help="seconds for each bounded wait")
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("create-invite")
    step.add_argument("--invitee", required=True)
    step = steps.add_parser("accept")
    step.add_argument("--room", required=True)
    step.add_argument("--via", required=True, help="server name to join through")
    step = steps.add_parser("send")
    step.add_argument("--room", required=True)
    step.add_argument("--member", required=True, help="user that must have joined first")
    step.add_argument("--body", required=True)
    step = steps.add_parser("expect")
    step.add_argument("--room", required=True)
    step.add_argument("--body", required=True)
    args = parser.parse_args()

    client = Client(args.base, args.cafile)
    result = {"step": args.step, "user_id": client.login(args.user, args.password)}
    try:
        {"create-invite": create_invite, "accept": accept, "send": send, "expect": expect}[args.step](
            client, args, result)
    finally:
        client.logout()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
