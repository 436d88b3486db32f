# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's role defaults, read from roles/<role>/defaults/main.yml on the controller.

For the plugins that need a role's default outside the role (the wiring, playbooks through the role_default
lookup): a default is read where it is defined, never copied. Only literal values are handed out: a default
that is a template depends on the role's other variables and has no meaning outside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")

_CACHE = {}


class RoleDefaultError(Exception):
    """A default that does not exist, is not literal, or a defaults file that cannot be read."""


def all_defaults(roles_dir=ROLES_DIR):
    """{variable: (role, value)} for every role's defaults/main.yml."""
    if roles_dir not in _CACHE:
        found = {}
        for role in sorted(os.listdir(roles_dir)):
            path = os.path.join(roles_dir, role, "defaults", "main.yml")
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    data = yaml.safe_load(handle) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise RoleDefaultError("cannot read %s: %s" % (path, exc))
            for name, value in data.items():
                found[name] = (role, value)
        _CACHE[roles_dir] = found
    return _CACHE[roles_dir]


def role_default(name, roles_dir=ROLES_DIR):
    """The literal default of one role variable."""
    defaults = all_defaults(roles_dir)
    if name not in defaults:
        raise RoleDefaultError("no role of the collection has a default for %s" % name)
    role, value = defaults[name]
    if "{{" in str(value) or "{%" in str(value):
        raise RoleDefaultError("roles/%s/defaults/main.yml has no literal default for %s" % (role, name))
    return value
