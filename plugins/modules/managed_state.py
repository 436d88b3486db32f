#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_state
short_description: Read the state of a role's managed files and packages in one call
version_added: 0.1.0
description:
  - Read-only. Reports, for each path in O(paths), whether it is a regular file, its SHA-1 checksum, owner, group and
    mode; and which of the Debian packages in O(packages) are not installed (C(dpkg-query)).
  - A role calls it once, before its package and template tasks; each of those tasks then runs only when the host
    differs from what it would write (the P(homeserver.synapse.file_matches#filter) filter compares a file with the
    controller's rendering of its template). An unchanged host then costs one module call instead of two for each
    template (the template action's stat and file attributes) and one for each apt task.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
options:
  paths:
    description:
      - Absolute paths of the files to read. A path that does not exist, or is not a regular file, is reported
        without a checksum.
    type: list
    elements: path
    default: []
  packages:
    description:
      - Debian package names. Those C(dpkg-query) does not show as installed are returned in RV(missing_packages);
        a virtual or unknown name counts as missing (the apt task then runs and decides).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check mode and return a prediction of the changed status without modifying the host.
    support: full
    details:
      - Reads only, in check mode too, so that the tasks that use its answer see the host as it is.
  diff_mode:
    description: Returns details on what changed when run with C(--diff).
    support: none
  platform:
    description: Target OS families the module can run on.
    support: full
    platforms: debian
"""

EXAMPLES = r"""
- name: Read the managed files and packages
  homeserver.synapse.managed_state:
    paths: [/etc/matrix-synapse/homeserver.yaml]
    packages: [libpq5, libjemalloc2]
  register: __synapse_state

- name: Install the packages
  ansible.builtin.apt:
    name: [libpq5, libjemalloc2]
  when: __synapse_state.missing_packages | length > 0

- name: Write homeserver.yaml
  ansible.builtin.template:
    src: homeserver.yaml.j2
    dest: /etc/matrix-synapse/homeserver.yaml
    owner: root
    group: matrix-synapse
    mode: "0640"
  when: >-
    not __synapse_state.files['/etc/matrix-synapse/homeserver.yaml'] | homeserver.synapse.file_matches(
    lookup('ansible.builtin.template', 'homeserver.yaml.j2'), 'root', 'matrix-synapse', '0640')
"""

RETURN = r"""
files:
  description: Each path of O(paths) with what the host has there.
  returned: always
  type: dict
  sample:
    /etc/matrix-synapse/homeserver.yaml:
      exists: true
      sha1: 0a4d55a8d778e5022fab701977c5d840bbc486d0
      owner: root
      group: matrix-synapse
      mode: "0640"
  contains:
    exists:
      description: Whether the path is a regular file (following symbolic links).
      type: bool
    sha1:
      description: The file's SHA-1 checksum, as the template and copy actions compute it; absent when not a file.
      type: str
    owner:
      description: The owner's name (its number when it has none).
      type: str
    group:
      description: The group's name (its number when it has none).
      type: str
    mode:
      description: The permission bits, four octal digits.
      type: str
missing_packages:
  description: The names of O(packages) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [libjemalloc2]
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def file_state(path):
    """What the host has at path: a regular file's checksum, owner, group and mode, or exists false."""
    try:
        info = os.stat(path)
    except OSError:
        return {"exists": False}
    if not stat.S_ISREG(info.st_mode):
        return {"exists": False}
    digest = hashlib.sha1()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except OSError:
        return {"exists": False}
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return {"exists": True, "sha1": digest.hexdigest(), "owner": owner, "group": group,
            "mode": "%04o" % stat.S_IMODE(info.st_mode)}


def missing_packages(module, packages):
    """The packages dpkg does not show as installed (all of them when dpkg-query is not there)."""
    if not packages:
        return []
    dpkg_query = module.get_bin_path("dpkg-query")
    if not dpkg_query:
        return list(packages)
    # Unknown names make dpkg-query exit 1 and print nothing for them: only the lines it prints count.
    _rc, out, _err = module.run_command([dpkg_query, "-W", "-f", "${Package} ${db:Status-Abbrev}\n"] + list(packages))
    installed = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].startswith("ii"):
            installed.add(fields[0].split(":")[0])
    return [name for name in packages if name.split(":")[0] not in installed]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            packages=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    bad = [path for path in module.params["paths"] if not os.path.isabs(path)]
    if bad:
        module.fail_json(msg="paths must be absolute: %s" % ", ".join(bad))
    module.exit_json(changed=False,
                     files={path: file_state(path) for path in module.params["paths"]},
                     missing_packages=missing_packages(module, module.params["packages"]))


if __name__ == "__main__":
    main()
