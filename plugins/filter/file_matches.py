# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a file on a host, as the managed_state module read it, is what a template or copy task would write.

A role reads its managed files once (homeserver.synapse.managed_state) and runs each template task only when
this filter says the host differs, so that an unchanged host costs no module call per template.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes


def file_matches(state, content, owner, group, mode):
    """True when state (one entry of managed_state's files) holds exactly content with owner, group and mode."""
    if not isinstance(state, dict):
        raise AnsibleFilterError("file_matches: the input must be one entry of managed_state's files, not %r"
                                 % type(state).__name__)
    if not isinstance(content, str):
        raise AnsibleFilterError("file_matches: content must be the text the task would write, not %r"
                                 % type(content).__name__)
    try:
        wanted_mode = int(str(mode), 8)
        host_mode = int(str(state.get("mode", "")), 8) if state.get("exists") else None
    except ValueError:
        raise AnsibleFilterError("file_matches: mode must be octal digits such as '0640', not %r" % (mode,))
    return bool(
        state.get("exists")
        and state.get("sha1") == hashlib.sha1(to_bytes(content, errors="surrogate_or_strict")).hexdigest()
        and state.get("owner") == owner
        and state.get("group") == group
        and host_mode == wanted_mode
    )


class FilterModule(object):
    def filters(self):
        return {"file_matches": file_matches}
