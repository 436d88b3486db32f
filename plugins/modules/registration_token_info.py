#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: registration_token_info
short_description: List Synapse registration tokens or read one
version_added: 0.1.0
description:
  - Reads registration tokens through Synapse's admin API C(/_synapse/admin/v1/registration_tokens).
  - Read-only; never reports a change.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  token:
    description:
      - Read only this token. A token that does not exist gives an empty RV(registration_tokens) list, not an error.
      - Mutually exclusive with O(valid).
    type: str
  valid:
    description:
      - V(true) lists only tokens that can still be used (not expired, uses left); V(false) only those that cannot.
      - Left out, all tokens are listed.
    type: bool
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: homeserver.synapse.registration_token
"""

EXAMPLES = r"""
- name: List the tokens that can still be used
  homeserver.synapse.registration_token_info:
    valid: true
    access_token: "{{ synapse_admin_token }}"
  register: valid_tokens

- name: Show how often each token was used
  ansible.builtin.debug:
    msg: "{{ item.token }}: {{ item.completed }} of {{ item.uses_allowed | default('unlimited', true) }}"
  loop: "{{ valid_tokens.registration_tokens }}"

- name: Read one token
  homeserver.synapse.registration_token_info:
    token: welcome-2026
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
  register: welcome
"""

RETURN = r"""
registration_tokens:
  description: The tokens, as Synapse returns them; with O(token), a list of zero or one.
  returned: always
  type: list
  elements: dict
  contains:
    token:
      description: The token string.
      type: str
      sample: welcome-2026
    uses_allowed:
      description: Registrations allowed in total; null for no limit.
      type: int
      sample: 10
    pending:
      description: Registrations in progress with this token.
      type: int
      sample: 0
    completed:
      description: Registrations completed with this token.
      type: int
      sample: 3
    expiry_time:
      description: Expiry in milliseconds since the Unix epoch; null for none.
      type: int
      sample: 1790000000000
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    AdminSession,
    SynapseAdminClient,
    SynapseAdminError,
    synapse_admin_argument_spec,
    validate_token_name,
)


def run(module, client):
    params = module.params
    if params["token"] is not None:
        try:
            validate_token_name(params["token"])
        except ValueError as exc:
            raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
    with AdminSession(module, client):
        if params["token"] is not None:
            found = client.get_token(params["token"])
            tokens = [found] if found else []
        else:
            tokens = client.list_tokens(params["valid"])
    return dict(changed=False, registration_tokens=tokens)


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        token=dict(type="str", no_log=False),
        valid=dict(type="bool"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("token", "valid")] + ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
        required_together=ADMIN_AUTH_REQUIRED_TOGETHER,
        required_one_of=ADMIN_AUTH_REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    client = SynapseAdminClient.from_module(module)
    try:
        result = run(module, client)
    except SynapseAdminError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
