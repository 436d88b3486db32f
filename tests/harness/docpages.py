"""Shared by role_docs.py and module_docs.py: keep a generated reference at the end of a docs page.

Everything above the marker line is hand-written and kept; a page without the marker keeps its whole text as
the introduction; a missing page starts with `title`.
"""

import os


def sync_pages(pages, marker, argv, script):
    """pages: (path, title, generated text) triples. Rewrites stale pages, or with --check in argv lists them
    and returns 1."""
    stale = []
    for path, title, generated in pages:
        current = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        intro = current.split(marker)[0] if current is not None else title
        wanted = intro + generated
        if current != wanted:
            stale.append(path)
            if "--check" not in argv:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(wanted)
    if "--check" in argv and stale:
        print(f"out of date (run python3 {script}):", *stale)
        return 1
    return 0
