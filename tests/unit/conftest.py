"""Make the collection importable as ``ansible_collections.homeserver.synapse`` for the unit tests.

The Makefile links the checkout into ``.cache/collections/ansible_collections/homeserver/synapse``; this file
does the same when pytest is started directly, so ``pytest tests/unit`` works from a bare clone.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "homeserver", "synapse")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:  # another pytest-xdist worker made it first
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
