#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: user_sessions
short_description: List a Synapse user's devices and log them out
version_added: 0.1.0
description:
  - Lists the devices (sessions) of a local account through C(GET /_synapse/admin/v2/users/<user_id>/devices).
  - With O(state=absent), logs the account out of all its devices, or of the ones named in O(devices), through
    C(POST /_synapse/admin/v2/users/<user_id>/delete_devices). Deleting a device invalidates its access token, so
    clients on it are logged out; the device's end-to-end encryption keys are deleted with it.
  - This is the incident-response call for a compromised account. To also stop new logins, change the password
    (M(homeserver.synapse.register_user) with O(homeserver.synapse.register_user#module:update_password=always)) or
    deactivate the account.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  user:
    description:
      - The account, as a localpart (V(alice)) or a full Matrix ID (V(@alice:example.org)) of this server.
    type: str
    required: true
  server_name:
    description:
      - The homeserver's C(server_name), to make a full Matrix ID from a localpart in O(user). When not set it is
        learnt from the admin token (C(GET /_matrix/client/v3/account/whoami)).
    type: str
  state:
    description:
      - V(present) only lists the devices (nothing changes).
      - V(absent) logs out the devices in O(devices), or all of them when O(devices) is not given. Devices that do not
        exist (any more) are not an error, so a second run is unchanged.
    type: str
    choices: [present, absent]
    default: present
  devices:
    description:
      - Device IDs to log out with O(state=absent). Not given means every device of the account.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details:
      - Lists the devices and reports those that would be logged out in RV(removed), without deleting them.
  diff_mode:
    support: full
    details:
      - Shows the account's device IDs before and after.
  platform:
    platforms: posix
notes:
  - When O(admin_user) is the account being logged out, the module's own login device is left alone (it is logged
    out at the end of the run anyway) and not counted.
  - An account that does not exist fails with O(state=absent) and gives an empty RV(devices) list with
    O(state=present).
seealso:
  - module: homeserver.synapse.user_info
  - module: homeserver.synapse.register_user
  - name: Synapse user admin API, user devices
    description: The endpoints the module calls.
    link: https://element-hq.github.io/synapse/latest/admin_api/user_admin_api.html#user-devices
"""

EXAMPLES = r"""
- name: List mallory's sessions
  homeserver.synapse.user_sessions:
    user: mallory
    access_token: "{{ synapse_admin_token }}"
  register: sessions

- name: Log mallory out everywhere
  homeserver.synapse.user_sessions:
    user: mallory
    state: absent
    access_token: "{{ synapse_admin_token }}"

- name: Log out one lost phone
  homeserver.synapse.user_sessions:
    user: "@alice:example.org"
    state: absent
    devices: [QBUAZIFURK]
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
"""

RETURN = r"""
user_id:
  description: Full Matrix ID of the account.
  returned: always
  type: str
  sample: "@mallory:example.org"
devices:
  description: The account's devices before the run.
  returned: always
  type: list
  elements: dict
  contains:
    device_id:
      description: Device ID.
      type: str
      sample: QBUAZIFURK
    display_name:
      description: Name the client gave the device, null when none.
      type: str
      sample: Element on Android
    last_seen_ip:
      description: Address the device was last seen from (may be a few minutes old).
      type: str
      sample: 203.0.113.5
    last_seen_ts:
      description: When the device was last seen, in milliseconds since the epoch, null when never.
      type: int
      sample: 1764633600000
    last_seen_user_agent:
      description: User agent the device was last seen with.
      type: str
      sample: Mozilla/5.0
removed:
  description: Device IDs logged out by the run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [QBUAZIFURK, AUIECTSRND]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    AdminSession,
    SynapseAdminClient,
    SynapseAdminError,
    make_user_id,
    parse_user,
    synapse_admin_argument_spec,
)

DEVICE_FIELDS = ("display_name", "last_seen_ip", "last_seen_user_agent")


def summarize(device):
    out = {"device_id": device["device_id"]}
    for key in DEVICE_FIELDS:
        value = device.get(key)
        out[key] = value if isinstance(value, str) else None
    seen = device.get("last_seen_ts")
    out["last_seen_ts"] = seen if isinstance(seen, int) and not isinstance(seen, bool) else None
    return out


def plan_removal(device_ids, wanted, keep=None):
    """Device IDs to delete: the ``wanted`` ones that exist (all when ``wanted`` is None), never ``keep``."""
    existing = [d for d in device_ids if d != keep]
    if wanted is None:
        return existing
    return [d for d in existing if d in set(wanted)]


def run(module, client):
    params = module.params
    try:
        localpart, server_name = parse_user(params["user"])
        wanted = params["devices"]
        if wanted is not None and any(not d or not d.strip() for d in wanted):
            raise ValueError("devices must not contain empty device IDs")
    except ValueError as exc:
        raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
    if wanted is not None and params["state"] == "present":
        module.warn("devices is only used with state=absent; nothing is logged out with state=present")

    with AdminSession(module, client) as session:
        try:
            user_id = make_user_id(localpart, server_name or params["server_name"] or client.server_name())
        except ValueError as exc:
            raise SynapseAdminError("Invalid input, nothing was changed: %s" % exc)
        if client.get_user(user_id) is None:
            if params["state"] == "absent":
                raise SynapseAdminError("There is no account %s on this server; nothing was logged out." % user_id)
            return dict(changed=False, user_id=user_id, devices=[], removed=[])
        devices = [summarize(d) for d in client.get_devices(user_id)]
        ids = [d["device_id"] for d in devices]
        own = session.device_id if session.user_id == user_id else None
        removed = plan_removal(ids, wanted, keep=own) if params["state"] == "absent" else []
        if removed and not module.check_mode:
            client.delete_devices(user_id, removed)
        shown = [d for d in devices if d["device_id"] != own]
        after = [d for d in ids if d not in removed and d != own]
        return dict(changed=bool(removed), user_id=user_id, devices=shown, removed=removed,
                    diff=dict(before={"devices": [d for d in ids if d != own]}, after={"devices": after}))


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        user=dict(type="str", required=True),
        server_name=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        devices=dict(type="list", elements="str"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
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
