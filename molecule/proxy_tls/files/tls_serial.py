#!/usr/bin/env python3
"""TLS handshake to <name>:443 validating the chain against a CA file and the host name; prints the serial.

Usage: tls_serial.py <ca file> <name>...  (one line per name: "<name> <serial hex>"; exits non-zero on any
validation error)
"""
import socket
import ssl
import sys

cafile, names = sys.argv[1], sys.argv[2:]
context = ssl.create_default_context(cafile=cafile)
for name in names:
    with socket.create_connection((name, 443), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=name) as tls:
            print(name, tls.getpeercert()["serialNumber"], tls.version())
