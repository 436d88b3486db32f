#!/usr/bin/env python3
"""A real Matrix client session against a deployed homeserver (used by the molecule verify steps).

Logs in with a password, creates a room, sends a message, reads the room's timeline back and checks the
message is there; also checks that a wrong password is refused. Prints one JSON line; exits non-zero on
any failure.
"""

import argparse
import asyncio
import json
import sys
import uuid

from nio import (
    AsyncClient,
    LoginError,
    LoginResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
)


async def run(args):
    client = AsyncClient(args.homeserver, args.user, ssl=args.ssl_verify)
    result = {"homeserver": args.homeserver, "user": args.user}
    try:
        wrong = await client.login(args.password + "-wrong", device_name="verify-wrong")
        if not isinstance(wrong, LoginError):
            raise SystemExit(f"a wrong password was accepted: {wrong}")
        result["wrong_password"] = wrong.status_code

        login = await client.login(args.password, device_name="molecule-verify")
        if not isinstance(login, LoginResponse):
            raise SystemExit(f"login failed: {login}")
        result["user_id"] = login.user_id

        room = await client.room_create(name="verify-" + uuid.uuid4().hex[:8])
        if not isinstance(room, RoomCreateResponse):
            raise SystemExit(f"room creation failed: {room}")
        result["room_id"] = room.room_id

        body = "hello from the verify step " + uuid.uuid4().hex
        sent = await client.room_send(
            room.room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        if not isinstance(sent, RoomSendResponse):
            raise SystemExit(f"sending failed: {sent}")
        result["event_id"] = sent.event_id

        messages = await client.room_messages(room.room_id, start="", limit=20)
        if not isinstance(messages, RoomMessagesResponse):
            raise SystemExit(f"reading the timeline failed: {messages}")
        bodies = [getattr(event, "body", None) for event in messages.chunk]
        if body not in bodies:
            raise SystemExit(f"the message is not in the timeline: {bodies}")
        result["message_read_back"] = True
        await client.logout()
    finally:
        await client.close()
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True, help="full user ID")
    parser.add_argument("--password", required=True)
    parser.add_argument("--no-verify", dest="ssl_verify", action="store_false")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
