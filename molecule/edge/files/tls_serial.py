#!/usr/bin/env python3
"""TLS handshake to <name>[:port] (port 443 by default) validating the chain against a CA file and the host
name; prints the serial.

Usage: tls_serial.py <ca file> <name>[:<port>]...  (one line per target: "<name>[:<port>] <serial hex> <TLS
version>"; exits non-zero on any validation error)
"""
import socket
import ssl
import sys

cafile, targets = sys.argv[1], sys.argv[2:]
context = ssl.create_default_context(cafile=cafile)
for target in targets:
    name, _sep, port = target.partition(":")
    with socket.create_connection((name, int(port or 443)), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=name) as tls:
            print(target, tls.getpeercert()["serialNumber"], tls.version())
