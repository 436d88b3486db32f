#!/usr/bin/env python3
"""Which TLS versions a server accepts: one handshake per version, TLS 1.0 to 1.3, each offering that version
only. The client side is opened up for the old versions (security level 0, every cipher) so that a refusal is
the server's, not this client's policy.

Usage: tls_versions.py <ca file> <name>[:<port>]
Prints a JSON object {"TLSv1": false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true}: true when the
handshake completed with a chain valid for the name.
"""
import json
import warnings
import socket
import ssl
import sys

warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 and 1.1 are offered on purpose
cafile, target = sys.argv[1], sys.argv[2]
name, _sep, port = target.partition(":")
VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
            "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
accepted = {}
for label, version in VERSIONS.items():
    context = ssl.create_default_context(cafile=cafile)
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    try:
        with socket.create_connection((name, int(port or 443)), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname=name) as tls:
                accepted[label] = tls.version() == label
    except (ssl.SSLError, ConnectionError):
        accepted[label] = False
print(json.dumps(accepted, sort_keys=True))
