# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' vars files: a folded Jinja expression (`>-`) must not swallow the YAML that follows it.

A variable inserted with `>-` in the middle of a mapping turns the mapping's next keys into text of its
expression (the synapse role's `__synapse_database` lost its `sqlite3` entry that way once, and homeserver.yaml
no longer rendered). YAML still parses, so the check is on the values: no expression is followed by `key:`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SWALLOWED = re.compile(r"\}\}\s+[A-Za-z_][A-Za-z0-9_]*:(\s|$)")
VARS_FILES = sorted(glob.glob(os.path.join(ROOT, "roles", "*", "vars", "*.yml"))
                    + glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml")))


def _strings(value, path):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, "%s.%s" % (path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, "%s[%d]" % (path, index))
    elif isinstance(value, str):
        yield path, value


@pytest.mark.parametrize("path", VARS_FILES, ids=[os.path.relpath(p, ROOT) for p in VARS_FILES])
def test_no_expression_swallows_the_keys_after_it(path):
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    swallowed = [name for name, text in _strings(data, "") if SWALLOWED.search(text)]
    assert swallowed == [], "%s: a folded expression took in the YAML after it: %s" % (path, swallowed)


def test_the_check_catches_a_swallowed_mapping():
    text = "a:\n  one: 1\nb: >-\n  {{ x }}\n  two:\n    name: two\n"
    assert [n for n, t in _strings(yaml.safe_load(text), "") if SWALLOWED.search(t)] == [".b"]


def test_the_synapse_database_has_both_engines():
    with open(os.path.join(ROOT, "roles", "synapse", "vars", "main.yml"), encoding="utf-8") as handle:
        assert sorted(yaml.safe_load(handle)["__synapse_database"]) == ["psycopg2", "sqlite3"]
