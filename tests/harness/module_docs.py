#!/usr/bin/env python3
"""Generate docs/modules/<module>.md from each module's DOCUMENTATION, EXAMPLES and RETURN.

    python3 tests/harness/module_docs.py          # rewrite the pages
    python3 tests/harness/module_docs.py --check  # exit 1 when a page is out of date (the unit tests do this)

Uses `ansible-doc --json`, so doc fragments are resolved exactly as users see them. A hand-written
introduction can precede the generated part: everything above the marker line is kept.
"""

import json
import os
import subprocess
import sys

from docpages import sync_pages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "<!-- generated from the module's DOCUMENTATION by tests/harness/module_docs.py: do not edit below -->"


def _text(value):
    if isinstance(value, list):
        value = " ".join(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _options(options, prefix=""):
    rows = []
    for name in sorted(options):
        spec = options[name]
        kind = spec.get("type", "str")
        if spec.get("elements"):
            kind += f" of {spec['elements']}"
        extra = []
        if spec.get("required"):
            extra.append("required")
        if spec.get("default") is not None:
            extra.append(f"default `{json.dumps(spec['default'])}`")
        if spec.get("choices"):
            extra.append("choices " + ", ".join(f"`{c}`" for c in spec["choices"]))
        rows.append(f"| `{prefix}{name}` | {kind} | {'; '.join(extra)} | {_text(spec.get('description', ''))} |")
        if spec.get("suboptions"):
            rows.extend(_options(spec["suboptions"], prefix=f"{prefix}{name}."))
    return rows


def _returns(returns, prefix=""):
    rows = []
    for name in sorted(returns or {}):
        spec = returns[name]
        rows.append(f"| `{prefix}{name}` | {spec.get('type', '')} | {_text(spec.get('returned', ''))} | "
                    f"{_text(spec.get('description', ''))} |")
        if spec.get("contains"):
            rows.extend(_returns(spec["contains"], prefix=f"{prefix}{name}."))
    return rows


def render(module, data):
    doc = data["doc"]
    lines = [MARKER, "", f"## `homeserver.synapse.{module}`: {_text(doc['short_description'])}", ""]
    lines += [_text(doc.get("description", "")), ""]
    lines += ["### Options", "", "| option | type | | description |", "|---|---|---|---|"]
    lines += _options(doc.get("options", {}))
    if doc.get("attributes"):
        lines += ["", "### Attributes", "", "| attribute | support | description |", "|---|---|---|"]
        for name in sorted(doc["attributes"]):
            attr = doc["attributes"][name]
            lines.append(f"| {name} | {attr.get('support', '')} | {_text(attr.get('description', ''))} |")
    if doc.get("notes"):
        lines += ["", "### Notes", ""] + [f"- {_text(note)}" for note in doc["notes"]]
    lines += ["", "### Examples", "", "```yaml", (data.get("examples") or "").strip(), "```"]
    lines += ["", "### Return values", "", "| key | type | returned | description |", "|---|---|---|---|"]
    lines += _returns(data.get("return"))
    return "\n".join(lines) + "\n"


def modules():
    directory = os.path.join(ROOT, "plugins", "modules")
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py") and name != "__init__.py")


def main(argv):
    names = modules()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"))
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    out = subprocess.run([ansible_doc, "--json", "-t", "module"] + [f"homeserver.synapse.{n}" for n in names],
                         env=env, capture_output=True, text=True, check=True).stdout
    docs = json.loads(out)
    pages = [(os.path.join(ROOT, "docs", "modules", f"{name}.md"), f"# Module `homeserver.synapse.{name}`\n\n",
              render(name, docs[f"homeserver.synapse.{name}"])) for name in names]
    return sync_pages(pages, MARKER, argv, "tests/harness/module_docs.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
