"""Whether Synapse's virtualenv already satisfies the role's pip requirements (read-only).

Run with the virtualenv's Python and one argument, the JSON list of requirement strings. Prints "ok" when
every one is installed at a matching version (and so are the distributions its extras pull in), else the JSON
list of the unmet ones. Anything it cannot judge (a URL, a path, a name it cannot parse) counts as unmet, so
pip decides.
"""

import importlib.metadata as md
import json
import sys

from packaging.requirements import InvalidRequirement, Requirement


def met(text):
    """True when the requirement (and its extras' requirements) is installed at a matching version."""
    try:
        req = Requirement(text)
        if req.url or not req.specifier.contains(md.version(req.name), prereleases=True):
            return False
        for extra in req.extras:
            for dep in map(Requirement, md.requires(req.name) or []):
                if not dep.marker or not dep.marker.evaluate({"extra": extra}) or dep.marker.evaluate({"extra": ""}):
                    continue
                if not dep.specifier.contains(md.version(dep.name), prereleases=True):
                    return False
        return True
    except (InvalidRequirement, md.PackageNotFoundError, ValueError):
        return False


def main(argv):
    unmet = [text for text in json.loads(argv[1]) if not met(text)]
    print(json.dumps(unmet) if unmet else "ok")


if __name__ == "__main__":
    main(sys.argv)
