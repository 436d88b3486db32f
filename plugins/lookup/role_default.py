# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_default
author: homeserver.synapse maintainers (!UNKNOWN)
version_added: "0.1.0"
short_description: A role's default value, read from the role
description:
  - Returns the default of each named variable from the collection role that defines it
    (C(roles/<role>/defaults/main.yml)), so a playbook that needs a role's default outside the role does not copy
    it. Only literal defaults; a default that is a template is refused.
options:
  _terms:
    description: Variable names.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Synapse's client listener on this host
  ansible.builtin.debug:
    msg: "http://127.0.0.1:{{ synapse_listener_port | default(lookup('homeserver.synapse.role_default', 'synapse_listener_port')) }}"
"""

RETURN = r"""
_raw:
  description: The default of each variable, in order.
  type: list
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.homeserver.synapse.plugins.plugin_utils.role_defaults import RoleDefaultError, role_default


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        try:
            return [role_default(str(term)) for term in terms]
        except RoleDefaultError as exc:
            raise AnsibleLookupError("role_default: %s" % exc)
