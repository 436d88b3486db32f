#!/usr/bin/env python3
"""A Matrix client through the reverse proxy that tags each request with a unique marker.

Logs in, creates a room, sends messages, syncs, uploads and downloads media, and makes a federation request;
every request carries ``verify=<marker>`` in its query string (Synapse ignores the parameter and logs the
URI), so the verify step can tell which Synapse process served it from the per-process logs; each message's
body carries its send request's marker, so the stored event can be found in the database. Prints one JSON
object {step: marker}; exits non-zero on any failure.
"""

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--only-sync", action="store_true", help="log in and sync once")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    markers = {}
    token = None

    def new_marker(step):
        markers[step] = step + "-" + uuid.uuid4().hex
        return markers[step]

    def call(step, method, path, body=None, raw=None, content_type="application/json", expect_json=True):
        marker = markers[step] if step in markers else new_marker(step)
        sep = "&" if "?" in path else "?"
        url = args.base + path + sep + "verify=" + marker
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, context=context, timeout=60) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            sys.exit(f"{step}: {method} {path} -> {error.code} {error.read()[:300]!r}")
        return json.loads(payload) if expect_json else payload

    login = call("login", "POST", "/_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": args.user},
        "password": args.password})
    token = login["access_token"]
    sync = call("sync", "GET", "/_matrix/client/v3/sync?timeout=0")
    if "next_batch" not in sync:
        sys.exit(f"sync: no next_batch in {sync}")
    if args.only_sync:
        print(json.dumps(markers))
        return
    room = call("create_room", "POST", "/_matrix/client/v3/createRoom", {"name": "workers-" + uuid.uuid4().hex[:8]})
    room_id = urllib.parse.quote(room["room_id"], safe="")
    bodies = []
    for n in range(3):
        # the message carries its request's marker too, so the verify step can find the stored event
        body = f"message {n} " + new_marker(f"send_{n}")
        bodies.append(body)
        call(f"send_{n}", "PUT", f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}",
             {"msgtype": "m.text", "body": body})
    sync = call("sync_after_send", "GET", "/_matrix/client/v3/sync?timeout=0&since=" + sync["next_batch"])
    events = sync.get("rooms", {}).get("join", {}).get(room["room_id"], {}).get("timeline", {}).get("events", [])
    seen = [e.get("content", {}).get("body") for e in events]
    if not all(b in seen for b in bodies):
        sys.exit(f"sync: messages missing from the timeline: {seen}")
    content = b"worker media " + uuid.uuid4().hex.encode()
    upload = call("upload", "POST", "/_matrix/media/v3/upload?filename=probe.txt", raw=content,
                  content_type="text/plain")
    server, media_id = upload["content_uri"][len("mxc://"):].split("/", 1)
    downloaded = call("download", "GET", f"/_matrix/client/v1/media/download/{server}/{media_id}", expect_json=False)
    if downloaded != content:
        sys.exit("download: the content differs from the upload")
    version = call("federation_version", "GET", "/_matrix/federation/v1/version")
    if version.get("server", {}).get("name") != "Synapse":
        sys.exit(f"federation version: {version}")
    print(json.dumps(markers))


if __name__ == "__main__":
    main()
