#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: user_info
short_description: Find Synapse user accounts and read their details
version_added: 0.1.0
description:
  - "With O(user), reads one account through C(GET /_synapse/admin/v2/users/<user_id>) and its devices through
    C(GET /_synapse/admin/v2/users/<user_id>/devices): admin flag, deactivation, creation and last-seen times, the
    number of devices, third-party IDs and SSO external IDs."
  - Without O(user), lists accounts through C(GET /_synapse/admin/v3/users), filtered by O(name), O(admins),
    O(deactivated) and O(guests), ordered by O(order_by); the module follows Synapse's pages itself and returns at
    most O(limit) accounts.
  - An account that does not exist gives an empty RV(users) list, not a failure.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  user:
    description:
      - One account, as a localpart (V(alice)) or a full Matrix ID (V(@alice:example.org)) of this server.
      - Mutually exclusive with the list filters O(name), O(admins), O(deactivated) and O(guests).
    type: str
  server_name:
    description:
      - The homeserver's C(server_name), to make a full Matrix ID from a localpart in O(user). When not set it is
        learnt from the admin token (C(GET /_matrix/client/v3/account/whoami)).
    type: str
  name:
    description:
      - Only accounts whose localpart or display name contains this text (Synapse's C(name) filter).
    type: str
  admins:
    description:
      - V(true) lists only server admins, V(false) only accounts that are not admins; unset lists both.
    type: bool
  deactivated:
    description:
      - V(true) lists only deactivated accounts, V(false) only active ones; unset lists both.
    type: bool
  guests:
    description:
      - V(false) leaves guest accounts out.
    type: bool
    default: true
  order_by:
    description:
      - Sort order of the list, one of the fields Synapse sorts by. Synapse indexes only C(name) and C(creation_ts);
        the others sort in the database without an index, which is slow on a large server.
    type: str
    choices: [name, is_guest, admin, user_type, deactivated, shadow_banned, displayname, avatar_url, creation_ts,
              last_seen_ts]
    default: name
  descending:
    description:
      - Reverse the order.
    type: bool
    default: false
  limit:
    description:
      - The most accounts returned; the module asks Synapse page by page (100 at a time) until it has them.
    type: int
    default: 100
attributes:
  check_mode:
    support: full
    details:
      - The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Locked accounts are listed too (Synapse leaves them out unless asked).
  - C(creation_ts) and C(last_seen_ts) are milliseconds since the Unix epoch, as Synapse returns them;
    C(last_seen_ts) is null for an account never seen, and may be a few minutes old (Synapse batches it).
seealso:
  - module: homeserver.synapse.user_sessions
  - module: homeserver.synapse.register_user
  - name: Synapse user admin API
    description: The endpoints and fields the module reads.
    link: https://element-hq.github.io/synapse/latest/admin_api/user_admin_api.html
"""

EXAMPLES = r"""
- name: Read alice's account
  homeserver.synapse.user_info:
    user: alice
    access_token: "{{ synapse_admin_token }}"
  register: alice

- name: Show when she was last seen and on how many devices
  ansible.builtin.debug:
    msg: "{{ alice.users[0].last_seen_ts }} / {{ alice.users[0].devices_count }} devices"
  when: alice.users | length == 1

- name: List the server admins
  homeserver.synapse.user_info:
    admins: true
    access_token: "{{ synapse_admin_token }}"
  register: admins

- name: Find accounts whose name or display name contains "smith", most recent first
  homeserver.synapse.user_info:
    name: smith
    order_by: creation_ts
    descending: true
    limit: 20
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
"""

RETURN = r"""
users:
  description:
    - The accounts found, in the order asked for. With O(user), one entry or none.
  returned: always
  type: list
  elements: dict
  contains:
    user_id:
      description: Full Matrix ID.
      type: str
      sample: "@alice:example.org"
    displayname:
      description: Display name, null when not set.
      type: str
      sample: Alice
    admin:
      description: Whether the account is a server admin.
      type: bool
      sample: false
    deactivated:
      description: Whether the account is deactivated.
      type: bool
      sample: false
    erased:
      description: Whether the account was erased (GDPR) at deactivation.
      type: bool
      sample: false
    guest:
      description: Whether it is a guest account.
      type: bool
      sample: false
    locked:
      description: Whether the account is locked.
      type: bool
      sample: false
    shadow_banned:
      description: Whether the account is shadow-banned.
      type: bool
      sample: false
    user_type:
      description: Synapse user type (V(bot), V(support), ...), null for a regular account.
      type: str
      sample: null
    creation_ts:
      description: Creation time as Synapse returns it (milliseconds since the epoch).
      type: int
      sample: 1764547200000
    last_seen_ts:
      description: Last activity in milliseconds since the epoch, null when never seen.
      type: int
      sample: 1764633600000
    devices_count:
      description: Number of devices (sessions) of the account.
      type: int
      returned: with O(user)
      sample: 2
    threepids:
      description: Third-party IDs (C(medium), C(address), C(added_at), C(validated_at)).
      type: list
      elements: dict
      returned: with O(user)
      sample: [{"medium": "email", "address": "alice@example.org", "added_at": 1764547200000, "validated_at": 1764547200000}]
    external_ids:
      description: SSO identities (C(auth_provider), C(external_id)).
      type: list
      elements: dict
      returned: with O(user)
      sample: [{"auth_provider": "oidc-keycloak", "external_id": "2f0c9d"}]
total:
  description: How many accounts match the filters on the server (can be more than RV(users) holds, see O(limit)).
  returned: without O(user)
  type: int
  sample: 42
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ABSENT,
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    AdminSession,
    SynapseAdminClient,
    SynapseAdminError,
    answer_field,
    make_user_id,
    parse_user,
    synapse_admin_argument_spec,
)

ORDER_BY = ["name", "is_guest", "admin", "user_type", "deactivated", "shadow_banned", "displayname", "avatar_url",
            "creation_ts", "last_seen_ts"]
MAX_LIMIT = 100000
LIST_FILTERS = ("name", "admins", "deactivated")


def summarize(obj, where):
    """The documented fields of a user object, typed; anything else in Synapse's answer is left out."""
    def field(key, types, default=None):
        value = answer_field(obj, key, types + (type(None),), where, required=False)
        return default if value is None or value is ABSENT else value

    return {
        "user_id": answer_field(obj, "name", (str,), where),
        "displayname": field("displayname", (str,)),
        "admin": bool(field("admin", (bool, int), False)),
        "deactivated": bool(field("deactivated", (bool, int), False)),
        "erased": bool(field("erased", (bool, int), False)),
        "guest": bool(field("is_guest", (bool, int), False)),
        "locked": bool(field("locked", (bool, int), False)),
        "shadow_banned": bool(field("shadow_banned", (bool, int), False)),
        "user_type": field("user_type", (str,)),
        "creation_ts": field("creation_ts", (int,)),
        "last_seen_ts": field("last_seen_ts", (int,)),
    }


def resolve_user_id(client, params):
    localpart, server_name = parse_user(params["user"])
    if not server_name:
        server_name = params["server_name"] or client.server_name()
    return make_user_id(localpart, server_name)


def one_user(client, params):
    try:
        user_id = resolve_user_id(client, params)
    except ValueError as exc:
        raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
    where = "GET /_synapse/admin/v2/users/%s" % user_id
    obj = client.get_user(user_id)
    if obj is None:
        return dict(changed=False, users=[])
    user = summarize(obj, where)
    for key in ("threepids", "external_ids"):
        value = answer_field(obj, key, (list,), where, required=False)
        user[key] = [] if value is ABSENT else value
        if any(not isinstance(item, dict) for item in user[key]):
            raise SynapseAdminError("Synapse's answer to %s is not what Synapse sends: %r must be a list of objects"
                                    % (where, key))
    devices = client.get_devices(user_id)
    user["devices_count"] = len(devices)
    if user["last_seen_ts"] is None:
        seen = [d.get("last_seen_ts") for d in devices if isinstance(d.get("last_seen_ts"), int)
                and not isinstance(d.get("last_seen_ts"), bool)]
        user["last_seen_ts"] = max(seen) if seen else None
    return dict(changed=False, users=[user])


def list_users(client, params):
    if not 1 <= params["limit"] <= MAX_LIMIT:
        raise SynapseAdminError("Invalid input, nothing was sent to Synapse: limit must be between 1 and %d, not %d"
                                % (MAX_LIMIT, params["limit"]))
    query = {"order_by": params["order_by"], "dir": "b" if params["descending"] else "f", "locked": "true",
             "guests": "true" if params["guests"] else "false"}
    if params["name"]:
        query["name"] = params["name"]
    for key in ("admins", "deactivated"):
        if params[key] is not None:
            query[key] = "true" if params[key] else "false"
    users, total = client.list_users(query, params["limit"])
    where = "GET /_synapse/admin/v3/users"
    return dict(changed=False, users=[summarize(obj, where) for obj in users], total=total)


def run(module, client):
    params = module.params
    if params["user"] is not None:
        try:
            parse_user(params["user"])
        except ValueError as exc:
            raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
    with AdminSession(module, client):
        if params["user"] is not None:
            return one_user(client, params)
        return list_users(client, params)


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        user=dict(type="str"),
        server_name=dict(type="str"),
        name=dict(type="str"),
        admins=dict(type="bool"),
        deactivated=dict(type="bool"),
        guests=dict(type="bool", default=True),
        order_by=dict(type="str", default="name", choices=ORDER_BY),
        descending=dict(type="bool", default=False),
        limit=dict(type="int", default=100),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("user", key) for key in LIST_FILTERS] + ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
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
