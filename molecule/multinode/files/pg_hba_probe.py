#!/usr/bin/env python3
"""Ask a PostgreSQL server whether pg_hba.conf lets this host in, without logging in.

Sends the protocol 3.0 StartupMessage for a user and database and reads the server's first answer: an
authentication request (pg_hba.conf matched a line: the method is named) or an ErrorResponse (e.g. "no
pg_hba.conf entry for host ..."). Prints one JSON line; the exit code is 0 in both cases and 2 when the
server cannot be reached. Standard library only, so it runs on any host.
"""

import argparse
import json
import socket
import struct
import sys

AUTH_METHODS = {0: "ok (trust)", 3: "password", 5: "md5", 10: "scram-sha-256"}


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def probe(host, port, user, database, timeout):
    params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
    startup = struct.pack("!II", 8 + len(params), 196608) + params
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(startup)
        kind = read_exact(sock, 1)
        length = struct.unpack("!I", read_exact(sock, 4))[0]
        body = read_exact(sock, length - 4)
    if kind == b"R":
        code = struct.unpack("!I", body[:4])[0]
        return {"accepted": True, "auth": AUTH_METHODS.get(code, str(code))}
    if kind == b"E":
        fields = {}
        for part in body.split(b"\0"):
            if part:
                fields[chr(part[0])] = part[1:].decode(errors="replace")
        return {"accepted": False, "code": fields.get("C"), "message": fields.get("M")}
    return {"accepted": False, "message": f"unexpected message type {kind!r}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="synapse")
    parser.add_argument("--database", default="synapse")
    parser.add_argument("--timeout", type=float, default=5)
    args = parser.parse_args()
    try:
        result = probe(args.host, args.port, args.user, args.database, args.timeout)
    except OSError as exc:
        print(json.dumps({"reachable": False, "error": str(exc)}))
        return 2
    print(json.dumps(dict(result, reachable=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
