#!/usr/bin/env python3
"""Generate docs/roles/<role>.md from each role's meta/argument_specs.yml.

    python3 tests/harness/role_docs.py          # rewrite the pages
    python3 tests/harness/role_docs.py --check  # exit 1 when a page is out of date (the unit tests do this)

A hand-written introduction can precede the generated part: everything above the marker line is kept.
"""

import os
import sys

import yaml

from docpages import sync_pages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "<!-- generated from meta/argument_specs.yml by tests/harness/role_docs.py: do not edit below -->"


def _value(value):
    if value in ("", None):
        return "`\"\"`" if value == "" else "-"
    text = yaml.safe_dump(value, default_flow_style=True, width=10000).strip()
    if text.endswith("..."):
        text = text[:-3].strip()
    return "`" + text.replace("|", "\\|") + "`"


def render(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]
    lines = [MARKER, "", f"## Variables of `homeserver.synapse.{role}`", ""]
    lines.append(spec["short_description"] + ".")
    lines.append("")
    lines.append("| variable | type | default | description |")
    lines.append("|---|---|---|---|")
    for name, option in spec["options"].items():
        kind = option["type"]
        if option.get("elements"):
            kind += f" of {option['elements']}"
        description = option["description"]
        if isinstance(description, list):
            description = " ".join(description)
        if option.get("choices"):
            description += " Choices: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
        lines.append(f"| `{name}` | {kind} | {_value(option.get('default'))} | {description} |")
    return "\n".join(lines) + "\n"


def main(argv):
    roles = sorted(d for d in os.listdir(os.path.join(ROOT, "roles"))
                   if os.path.exists(os.path.join(ROOT, "roles", d, "meta", "argument_specs.yml")))
    pages = [(os.path.join(ROOT, "docs", "roles", f"{role}.md"), f"# Role `homeserver.synapse.{role}`\n\n",
              render(role)) for role in roles]
    return sync_pages(pages, MARKER, argv, "tests/harness/role_docs.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
