#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: room_info
short_description: List and search Synapse rooms, or read one room with its local members
version_added: 0.1.0
description:
  - Without O(room), lists the rooms the server knows through C(GET /_synapse/admin/v1/rooms), filtered by
    O(search) (room name, local part of the canonical alias, or room ID), O(public) and O(empty), ordered by
    O(order_by); the module follows Synapse's pages itself and returns at most O(limit) rooms.
  - With O(room), reads one room (C(GET /_synapse/admin/v1/rooms/<room_id>)), its members, of which it returns the
    local ones, and its block state. A room the server does not know, or an alias that does not resolve, gives an
    empty RV(rooms) list.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  room:
    description:
      - One room, as a room ID (V(!opaque:example.org), or V(!hash) from room version 12 on) or an alias
        (V(#name:example.org)).
      - Mutually exclusive with O(search), O(public) and O(empty).
    type: str
  search:
    description:
      - Only rooms whose name, canonical alias local part or room ID contains this text (Synapse's C(search_term)).
    type: str
  public:
    description:
      - V(true) lists only rooms published in the room directory, V(false) only the others; unset lists both.
    type: bool
  empty:
    description:
      - V(true) lists only rooms without joined members, V(false) only rooms with members; unset lists both.
    type: bool
  order_by:
    description:
      - Sort order of the list, one of the fields Synapse sorts by.
    type: str
    choices: [name, canonical_alias, joined_members, joined_local_members, version, creator, encryption, federatable,
              public, join_rules, guest_access, history_visibility, state_events]
    default: name
  descending:
    description:
      - Reverse the order.
    type: bool
    default: false
  limit:
    description:
      - The most rooms returned; the module asks Synapse page by page (100 at a time) until it has them.
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
seealso:
  - module: homeserver.synapse.room
  - name: Synapse rooms admin API
    description: List room, room details and room members endpoints.
    link: https://element-hq.github.io/synapse/latest/admin_api/rooms.html
"""

EXAMPLES = r"""
- name: The ten biggest rooms
  homeserver.synapse.room_info:
    order_by: joined_members
    limit: 10
    access_token: "{{ synapse_admin_token }}"

- name: Find rooms about "spam"
  homeserver.synapse.room_info:
    search: spam
    access_token: "{{ synapse_admin_token }}"
  register: found

- name: Read one room with its local members
  homeserver.synapse.room_info:
    room: "#team:example.org"
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
  register: team
"""

RETURN = r"""
rooms:
  description: The rooms found, in the order asked for. With O(room), one entry or none.
  returned: always
  type: list
  elements: dict
  contains:
    room_id:
      description: Room ID.
      type: str
      sample: "!OGEhHVWSdvArJzumhm:example.org"
    name:
      description: Room name, null when none.
      type: str
      sample: Team
    canonical_alias:
      description: Main alias, null when none.
      type: str
      sample: "#team:example.org"
    joined_members:
      description: Joined members, local and remote.
      type: int
      sample: 12
    joined_local_members:
      description: Joined members of this server.
      type: int
      sample: 10
    public:
      description: Whether the room is published in the room directory.
      type: bool
      sample: false
    encryption:
      description: End-to-end encryption algorithm, null when the room is not encrypted.
      type: str
      sample: m.megolm.v1.aes-sha2
    creator:
      description: User who created the room.
      type: str
      sample: "@alice:example.org"
    version:
      description: Room version.
      type: str
      sample: "10"
    join_rules:
      description: Join rule (V(public), V(invite), V(knock), ...).
      type: str
      sample: invite
    federatable:
      description: Whether users of other servers can join.
      type: bool
      sample: true
    room_type:
      description: Room type, such as V(m.space); null for a plain room.
      type: str
      sample: null
    local_members:
      description: User IDs of this server's joined members.
      type: list
      elements: str
      returned: with O(room)
      sample: ["@alice:example.org"]
    blocked:
      description: Whether the room is blocked.
      type: bool
      returned: with O(room)
      sample: false
    topic:
      description: Room topic.
      type: str
      returned: with O(room)
      sample: Our team room
total:
  description: How many rooms match the filters on the server.
  returned: without O(room)
  type: int
  sample: 42
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    AdminSession,
    SynapseAdminClient,
    SynapseAdminError,
    check_room,
    synapse_admin_argument_spec,
)

ORDER_BY = ["name", "canonical_alias", "joined_members", "joined_local_members", "version", "creator", "encryption",
            "federatable", "public", "join_rules", "guest_access", "history_visibility", "state_events"]
STR_FIELDS = ("name", "canonical_alias", "encryption", "creator", "version", "join_rules", "room_type", "topic",
              "guest_access", "history_visibility")
INT_FIELDS = ("joined_members", "joined_local_members", "state_events")
BOOL_FIELDS = ("public", "federatable")
MAX_LIMIT = 100000


def summarize(obj, where, detail=False):
    out = {"room_id": obj["room_id"]}
    for keys, types in ((STR_FIELDS, (str,)), (INT_FIELDS, (int,)), (BOOL_FIELDS, (bool, int))):
        for key in keys:
            value = obj.get(key)
            if value is not None and (not isinstance(value, types) or (bool not in types and isinstance(value, bool))):
                raise SynapseAdminError("Synapse's answer to %s is not what Synapse sends: %r of room %s has the "
                                        "wrong type (%r)" % (where, key, obj["room_id"], value))
            out[key] = bool(value) if key in BOOL_FIELDS and value is not None else value
    if not detail:
        out.pop("topic")
    return out


def one_room(client, params, server_name):
    room = params["room"]
    room_id = room if check_room(room) == "id" else client.resolve_alias(room)
    if room_id is None:
        return dict(changed=False, rooms=[])
    details = client.get_room(room_id)
    if details is None:
        return dict(changed=False, rooms=[])
    out = summarize(details, "GET /_synapse/admin/v1/rooms/%s" % room_id, detail=True)
    members = client.room_members(room_id)
    out["local_members"] = sorted(m for m in members if m.endswith(":" + server_name))
    out["blocked"] = client.get_block(room_id)
    return dict(changed=False, rooms=[out])


def list_rooms(client, params):
    if not 1 <= params["limit"] <= MAX_LIMIT:
        raise SynapseAdminError("Invalid input, nothing was sent to Synapse: limit must be between 1 and %d, not %d"
                                % (MAX_LIMIT, params["limit"]))
    query = {"order_by": params["order_by"], "dir": "b" if params["descending"] else "f"}
    if params["search"]:
        query["search_term"] = params["search"]
    if params["public"] is not None:
        query["public_rooms"] = "true" if params["public"] else "false"
    if params["empty"] is not None:
        query["empty_rooms"] = "true" if params["empty"] else "false"
    rooms, total = client.list_rooms(query, params["limit"])
    return dict(changed=False, rooms=[summarize(r, "GET /_synapse/admin/v1/rooms") for r in rooms], total=total)


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        room=dict(type="str"),
        search=dict(type="str"),
        public=dict(type="bool"),
        empty=dict(type="bool"),
        order_by=dict(type="str", default="name", choices=ORDER_BY),
        descending=dict(type="bool", default=False),
        limit=dict(type="int", default=100),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("room", "search"), ("room", "public"), ("room", "empty")] + ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
        required_together=ADMIN_AUTH_REQUIRED_TOGETHER,
        required_one_of=ADMIN_AUTH_REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    client = SynapseAdminClient.from_module(module)
    params = module.params
    try:
        if params["room"] is not None:
            try:
                check_room(params["room"])
            except ValueError as exc:
                raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
        with AdminSession(module, client):
            if params["room"] is not None:
                result = one_room(client, params, client.server_name())
            else:
                result = list_rooms(client, params)
    except SynapseAdminError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
