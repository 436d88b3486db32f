#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: room
short_description: Delete, block and unblock Synapse rooms, and make a local user room admin
version_added: 0.1.0
description:
  - "With O(state=absent), shuts a room down through Synapse's asynchronous delete API
    (C(DELETE /_synapse/admin/v2/rooms/<room_id>)): local members are removed, local aliases are removed (or moved
    to a replacement room), and with O(purge) every trace of the room leaves the database. The module waits on
    C(GET /_synapse/admin/v2/rooms/delete_status/<delete_id>) until Synapse reports the delete complete or failed,
    or O(wait_timeout) runs out."
  - With O(block), blocks or unblocks the room (C(PUT /_synapse/admin/v1/rooms/<room_id>/block)); a blocked room
    cannot be joined by local users. A room can be blocked before the server knows it.
  - With O(make_admin), gives a local user the highest power level a local member of the room has
    (C(POST /_synapse/admin/v1/rooms/<room_id>/make_room_admin)), inviting the user when the room is not public.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  room:
    description:
      - The room, as a room ID (V(!opaque:example.org), or V(!hash) from room version 12 on) or an alias
        (V(#name:example.org)).
      - An alias is resolved through C(GET /_matrix/client/v3/directory/room/<alias>); an alias that does not resolve
        fails, also with O(state=absent), because the module cannot tell which room was meant. After a delete, use
        the room ID (RV(room_id)) for re-runs, as the delete removes the room's local aliases.
    type: str
    required: true
  state:
    description:
      - V(present) leaves the room in place (only O(block) and O(make_admin) act).
      - V(absent) deletes the room. A room the server no longer knows is already deleted (C(changed=false)); with
        O(purge=false) a room without local members counts as deleted.
    type: str
    choices: [present, absent]
    default: present
  block:
    description:
      - V(true) blocks the room, V(false) unblocks it; unset leaves the block as it is.
      - With O(state=absent), V(true) blocks the room as part of the delete, so it cannot be joined again.
    type: bool
  purge:
    description:
      - With O(state=absent), remove every trace of the room from the database after removing the local members.
    type: bool
    default: true
  force_purge:
    description:
      - With O(state=absent) and O(purge), purge even if local users are still in the room. Only when a regular
        purge failed; it can leave those users' clients confused.
    type: bool
    default: false
  new_room_user_id:
    description:
      - With O(state=absent), a local user ID that creates a replacement room, moves the local members and aliases
        there and posts O(new_room_message). Without it the members just leave.
    type: str
  new_room_name:
    description:
      - Name of the replacement room (Synapse's C(room_name); its default is C(Content Violation Notification)).
    type: str
  new_room_message:
    description:
      - First message in the replacement room, telling the members why the room was shut down (Synapse's
        C(message)).
    type: str
  make_admin:
    description:
      - A local user (localpart or full Matrix ID) to make room admin. Unchanged when the user already has the highest
        power level of the room's users (Synapse also invites or joins the user when it grants it).
      - Needs O(state=present).
    type: str
  server_name:
    description:
      - The homeserver's C(server_name), to make a full Matrix ID from a localpart in O(make_admin). When not set it
        is learnt from the admin token.
    type: str
  wait_timeout:
    description:
      - Seconds to wait for an asynchronous delete to finish. When it runs out the module fails and says the delete
        goes on in Synapse (re-run to wait again; a running delete is not started twice).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details:
      - Reads the room, its block state and power levels, and reports what would change without writing.
  diff_mode:
    support: full
    details:
      - Shows whether the room exists, its block state and local member count before and after.
  platform:
    platforms: posix
notes:
  - Synapse keeps the status of a delete for 24 hours or until it restarts; a re-run while a delete still runs waits
    for that delete instead of starting another one.
  - Deleting a room cannot be undone; see Synapse's "Undoing room deletions" for what can be recovered.
seealso:
  - module: homeserver.synapse.room_info
  - name: Synapse rooms admin API
    description: Delete, block and make-room-admin endpoints.
    link: https://element-hq.github.io/synapse/latest/admin_api/rooms.html
"""

EXAMPLES = r"""
- name: Shut down an abusive room, block it and tell the local members why
  homeserver.synapse.room:
    room: "#spam:example.org"
    state: absent
    block: true
    new_room_user_id: "@abuse:example.org"
    new_room_name: Room closed
    new_room_message: This room was closed for breaking the terms of service.
    access_token: "{{ synapse_admin_token }}"
  register: closed

- name: Block a room the server does not know yet
  homeserver.synapse.room:
    room: "!badroom:elsewhere.example"
    block: true
    access_token: "{{ synapse_admin_token }}"

- name: Give alice admin power in a room whose admins left
  homeserver.synapse.room:
    room: "#team:example.org"
    make_admin: alice
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
"""

RETURN = r"""
room_id:
  description: The room ID (the alias resolved).
  returned: always
  type: str
  sample: "!OGEhHVWSdvArJzumhm:example.org"
deleted:
  description: Whether the run deleted the room (or would, in check mode).
  returned: always
  type: bool
  sample: true
delete:
  description:
    - Synapse's final status of the delete (C(delete_id), C(status), C(shutdown_room) with C(kicked_users),
      C(failed_to_kick_users), C(local_aliases) and C(new_room_id)).
  returned: when a delete ran
  type: dict
  sample: {"delete_id": "bHkCNQpHqOaFhPtK", "status": "complete", "shutdown_room": {"kicked_users": ["@bob:example.org"],
           "failed_to_kick_users": [], "local_aliases": ["#spam:example.org"], "new_room_id": null}}
blocked:
  description: Whether the room is blocked after the run (or would be, in check mode).
  returned: always
  type: bool
  sample: true
made_admin:
  description: The user made room admin by the run, null when none.
  returned: always
  type: str
  sample: "@alice:example.org"
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    AdminSession,
    SynapseAdminClient,
    SynapseAdminError,
    check_room,
    make_user_id,
    parse_user,
    synapse_admin_argument_spec,
)

RUNNING = ("scheduled", "active", "purging", "shutting_down")
MAX_WAIT = 86400


def user_power(levels, user_id):
    users = levels.get("users") if isinstance(levels.get("users"), dict) else {}
    default = levels.get("users_default", 0)
    value = users.get(user_id, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def is_room_admin(levels, user_id):
    """At the highest power level any user of the room has (what make_room_admin grants)."""
    users = levels.get("users") if isinstance(levels.get("users"), dict) else {}
    values = [v for v in users.values() if isinstance(v, int) and not isinstance(v, bool)]
    top = max(values) if values else 100
    return user_power(levels, user_id) >= top


class RoomManager:
    def __init__(self, module, client, sleep=time.sleep, clock=time.monotonic):
        self.module = module
        self.client = client
        self.params = module.params
        self._sleep = sleep
        self._clock = clock

    def room_id(self):
        room = self.params["room"]
        if check_room(room) == "id":
            return room
        room_id = self.client.resolve_alias(room)
        if room_id is None:
            raise SynapseAdminError("The room alias %s does not resolve to a room on this server; nothing was "
                                    "changed. Give the room ID instead." % room)
        return room_id

    def user_id(self, user):
        localpart, server_name = parse_user(user)
        return make_user_id(localpart, server_name or self.params["server_name"] or self.client.server_name())

    def wait(self, delete_id, room_id):
        deadline = self._clock() + self.params["wait_timeout"]
        delay = 0.5
        while True:
            task = self.client.delete_status(delete_id=delete_id)
            if task["status"] == "complete":
                return task
            if task["status"] == "failed":
                error = task.get("error") if isinstance(task.get("error"), str) else "no error text"
                raise SynapseAdminError("Synapse reports the delete of %s (delete_id %s) as failed: %s"
                                        % (room_id, delete_id, error))
            if self._clock() >= deadline:
                raise SynapseAdminError(
                    "The delete of %s (delete_id %s) is still %s after %d s (wait_timeout). It goes on in Synapse; "
                    "re-run the task to wait for it." % (room_id, delete_id, task["status"], self.params["wait_timeout"]))
            self._sleep(delay)
            delay = min(delay * 2, 5)

    def absent(self, room_id, result):
        params = self.params
        details = self.client.get_room(room_id)
        blocked = self.client.get_block(room_id)
        gone = details is None or (not params["purge"] and details["joined_local_members"] == 0)
        want_block = params["block"]
        before = {"exists": details is not None, "blocked": blocked,
                  "joined_local_members": details["joined_local_members"] if details else 0}
        after = dict(before)
        running = [t for t in self.client.delete_status(room_id=room_id) if t["status"] in RUNNING] if details else []
        if running:
            result["changed"] = True
            result["deleted"] = True
            if not self.module.check_mode:
                result["delete"] = self.wait(running[0]["delete_id"], room_id)
            after.update(exists=not params["purge"], joined_local_members=0)
        elif not gone:
            result["changed"] = True
            result["deleted"] = True
            if want_block:
                after["blocked"] = True
            after.update(exists=not params["purge"], joined_local_members=0)
            if not self.module.check_mode:
                body = {"block": bool(want_block), "purge": params["purge"], "force_purge": params["force_purge"]}
                for key, name in (("new_room_user_id", "new_room_user_id"), ("new_room_name", "room_name"),
                                  ("new_room_message", "message")):
                    if params[key] is not None:
                        body[name] = params[key]
                delete_id = self.client.delete_room(room_id, body)
                result["delete"] = self.wait(delete_id, room_id)
        if want_block is not None and after["blocked"] != want_block:
            result["changed"] = True
            after["blocked"] = want_block
            if not self.module.check_mode:
                self.client.set_block(room_id, want_block)
        result["blocked"] = after["blocked"]
        result["diff"] = {"before": before, "after": after}

    def present(self, room_id, result):
        params = self.params
        blocked = self.client.get_block(room_id)
        before = {"blocked": blocked}
        after = dict(before)
        if params["block"] is not None and blocked != params["block"]:
            result["changed"] = True
            after["blocked"] = params["block"]
            if not self.module.check_mode:
                self.client.set_block(room_id, params["block"])
        if params["make_admin"]:
            user_id = self.user_id(params["make_admin"])
            if self.client.get_room(room_id) is None:
                raise SynapseAdminError("This server does not know the room %s; cannot make %s its admin."
                                        % (room_id, user_id))
            levels = self.client.room_power_levels(room_id)
            before["room_admin"] = is_room_admin(levels, user_id)
            after["room_admin"] = True
            if not before["room_admin"]:
                result["changed"] = True
                result["made_admin"] = user_id
                if not self.module.check_mode:
                    self.client.make_room_admin(room_id, user_id)
        result["blocked"] = after["blocked"]
        result["diff"] = {"before": before, "after": after}

    def run(self):
        result = dict(changed=False, deleted=False, made_admin=None)
        room_id = self.room_id()
        result["room_id"] = room_id
        if self.params["state"] == "absent":
            self.absent(room_id, result)
        else:
            self.present(room_id, result)
        return result


def validate(params):
    check_room(params["room"])
    if not 1 <= params["wait_timeout"] <= MAX_WAIT:
        raise ValueError("wait_timeout must be between 1 and %d seconds, not %d" % (MAX_WAIT, params["wait_timeout"]))
    if params["make_admin"]:
        parse_user(params["make_admin"])
        if params["state"] == "absent":
            raise ValueError("make_admin needs state=present")
    if params["state"] == "present":
        for key in ("new_room_user_id", "new_room_name", "new_room_message"):
            if params[key] is not None:
                raise ValueError("%s is only used with state=absent" % key)
    if params["new_room_user_id"] is not None:
        if not parse_user(params["new_room_user_id"])[1]:
            raise ValueError("new_room_user_id must be a full Matrix ID (@user:server)")
    if params["state"] == "present" and params["block"] is None and not params["make_admin"]:
        raise ValueError("with state=present, give block or make_admin (room_info reads a room)")


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        room=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        block=dict(type="bool"),
        purge=dict(type="bool", default=True),
        force_purge=dict(type="bool", default=False),
        new_room_user_id=dict(type="str"),
        new_room_name=dict(type="str"),
        new_room_message=dict(type="str"),
        make_admin=dict(type="str"),
        server_name=dict(type="str"),
        wait_timeout=dict(type="int", default=300),
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
        try:
            validate(module.params)
        except ValueError as exc:
            raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)
        with AdminSession(module, client):
            result = RoomManager(module, client).run()
    except SynapseAdminError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
