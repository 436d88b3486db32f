"""Which of Synapse's managed paths differ from what the synapse role wants (read-only).

Run on the host with the system's python3 and one argument, the JSON list of wanted paths: each
{"path", "state": "directory"|"file"|"absent", "owner", "group", "mode"}. Prints a JSON object
{path: "missing" | "differs"} of the paths not as wanted (empty when all are).
"""

import grp
import json
import os
import pwd
import stat
import sys


def drift(want):
    """None when the path is as wanted, else "missing" or "differs"."""
    if want["state"] == "absent":
        return "differs" if os.path.lexists(want["path"]) else None
    try:
        st = os.stat(want["path"])
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "differs"
    try:
        owner, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return "differs"
    kind = stat.S_ISDIR if want["state"] == "directory" else stat.S_ISREG
    same = (kind(st.st_mode) and owner == want["owner"] and group == want["group"]
            and stat.S_IMODE(st.st_mode) == int(want["mode"], 8))
    return None if same else "differs"


def main(argv):
    states = {want["path"]: drift(want) for want in json.loads(argv[1])}
    print(json.dumps({path: state for path, state in states.items() if state}))


if __name__ == "__main__":
    main(sys.argv)
