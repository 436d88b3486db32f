#!/usr/bin/env python3
"""Create Matrix data with a real client, and check it is all there later (backup/restore, upgrades).

    matrix_data.py create --homeserver URL --user @u:server --password P --server-name S --tag T
    matrix_data.py check  --homeserver URL --user @u:server --password P --server-name S --tag T

`create` (which checks instead when the data set already exists) makes a room with the alias #data-<tag>:<server>, a name, a few messages and an uploaded file
whose content is derived from the tag (so `check` can regenerate it on another host without sharing
state). `check` logs in (the password hash came back too), resolves the alias, finds the room's name and
every message in the timeline, downloads the file and compares it byte for byte. Both print one JSON line
and exit non-zero on any failure. With --access-token-file, `create` keeps its session and writes it to the
file, and `check` uses that old access token instead of logging in (a session that must survive an upgrade).
"""

import argparse
import asyncio
import hashlib
import io
import json
import os
import sys

from nio import (
    AsyncClient,
    DownloadResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    UploadResponse,
)

MESSAGES = 5
FILE_SIZE = 256 * 1024


def file_content(tag):
    """Deterministic, incompressible bytes for the uploaded file."""
    out = bytearray()
    block = hashlib.sha256(("matrix-data-" + tag).encode()).digest()
    while len(out) < FILE_SIZE:
        block = hashlib.sha256(block).digest()
        out.extend(block)
    return bytes(out[:FILE_SIZE])


def messages(tag):
    return [f"message {i} of data set {tag}" for i in range(MESSAGES)]


def expect(response, kind, what):
    if not isinstance(response, kind):
        raise SystemExit(f"{what} failed: {response}")
    return response


async def create(client, args, result):
    existing = await client.room_resolve_alias(f"#data-{args.tag}:{args.server_name}")
    if isinstance(existing, RoomResolveAliasResponse):
        # a re-run (molecule verify twice): the data set is there, check it instead
        result["existing"] = True
        await check(client, args, result)
        return
    room = expect(
        await client.room_create(alias=f"data-{args.tag}", name=f"Data {args.tag}"),
        RoomCreateResponse, "creating the room")
    result["room_id"] = room.room_id
    for body in messages(args.tag):
        expect(await client.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": body}),
               RoomSendResponse, "sending a message")
    content = file_content(args.tag)
    upload, _unused = await client.upload(io.BytesIO(content), content_type="application/octet-stream",
                                          filename=f"data-{args.tag}.bin", filesize=len(content))
    expect(upload, UploadResponse, "uploading the file")
    expect(await client.room_send(room.room_id, "m.room.message", {
        "msgtype": "m.file", "body": f"data-{args.tag}.bin", "url": upload.content_uri,
        "info": {"size": len(content), "mimetype": "application/octet-stream"},
    }), RoomSendResponse, "sending the file")
    result["content_uri"] = upload.content_uri
    result["file_sha256"] = hashlib.sha256(content).hexdigest()


async def check(client, args, result):
    alias = f"#data-{args.tag}:{args.server_name}"
    room_id = expect(await client.room_resolve_alias(alias), RoomResolveAliasResponse,
                     f"resolving {alias}").room_id
    result["room_id"] = room_id
    name = expect(await client.room_get_state_event(room_id, "m.room.name"), RoomGetStateEventResponse,
                  "reading the room name")
    if name.content.get("name") != f"Data {args.tag}":
        raise SystemExit(f"wrong room name: {name.content}")
    timeline = expect(await client.room_messages(room_id, start="", limit=50), RoomMessagesResponse,
                      "reading the timeline")
    sources = [event.source.get("content", {}) for event in timeline.chunk]
    bodies = [content.get("body") for content in sources]
    missing = [body for body in messages(args.tag) if body not in bodies]
    if missing:
        raise SystemExit(f"messages missing from the timeline: {missing}")
    files = [content for content in sources if content.get("msgtype") == "m.file"]
    if not files:
        raise SystemExit(f"no file message in the timeline: {bodies}")
    download = expect(await client.download(mxc=files[0]["url"]), DownloadResponse, "downloading the file")
    expected = file_content(args.tag)
    if download.body != expected:
        raise SystemExit(f"the downloaded file differs: {len(download.body)} bytes, "
                         f"sha256 {hashlib.sha256(download.body).hexdigest()}")
    result["messages"] = len(messages(args.tag))
    result["file_sha256"] = hashlib.sha256(download.body).hexdigest()


async def run(args):
    client = AsyncClient(args.homeserver, args.user)
    result = {"action": args.action, "user": args.user, "tag": args.tag}
    try:
        if args.action == "check" and args.access_token_file:
            # the session kept by `create --access-token-file`: it must still be valid (no new login)
            with open(args.access_token_file, encoding="utf-8") as handle:
                session = json.load(handle)
            client.restore_login(session["user_id"], session["device_id"], session["access_token"])
            result["user_id"], result["old_access_token"] = session["user_id"], True
        else:
            login = expect(await client.login(args.password, device_name="matrix-data"), LoginResponse, "login")
            result["user_id"] = login.user_id
        await (create if args.action == "create" else check)(client, args, result)
        if args.access_token_file and args.action == "create":
            with open(os.open(args.access_token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                      encoding="utf-8") as handle:
                json.dump({"user_id": client.user_id, "device_id": client.device_id,
                           "access_token": client.access_token}, handle)
        elif not args.access_token_file:
            await client.logout()
    finally:
        await client.close()
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["create", "check"])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True, help="full user ID")
    parser.add_argument("--password", required=True)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--tag", required=True, help="names the data set (room alias, messages, file)")
    parser.add_argument("--access-token-file",
                        help="create: keep the session (no logout) and write it here; check: use it instead of a login")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
