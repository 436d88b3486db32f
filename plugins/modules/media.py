#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: media
short_description: Quarantine, delete and purge media on Synapse
version_added: 0.1.0
description:
  - "One job per task, chosen by the option given:"
  - O(media) with O(state) quarantines one piece of media (V(quarantined)), lifts its quarantine (V(present)) or
    deletes a local one (V(absent)).
  - O(user) quarantines all local media a local user uploaded; O(room) quarantines all media of a room
    (C(POST /_synapse/admin/v1/user/<user_id>/media/quarantine), C(.../room/<room_id>/media/quarantine)).
  - O(purge_remote_older_than) removes cached remote media last accessed longer ago than the duration
    (C(POST /_synapse/admin/v1/purge_media_cache)); Synapse fetches it again when someone asks for it.
  - O(delete_local_older_than) deletes local media last accessed longer ago than the duration, optionally only
    files larger than O(larger_than) (C(POST /_synapse/admin/v1/media/delete)). This cannot be undone.
  - Quarantined media answers 404 to downloads but stays on disk; since Synapse 1.128 media with the same hash is
    quarantined too.
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  media:
    description:
      - One piece of media, as an C(mxc://server/media_id) URI or C(server/media_id).
    type: str
  state:
    description:
      - With O(media), V(quarantined), V(present) (not quarantined) or V(absent) (deleted; local media only).
      - With O(user) or O(room), only V(quarantined) is possible (Synapse has no bulk unquarantine).
    type: str
    choices: [quarantined, present, absent]
    default: quarantined
  user:
    description:
      - A local user (localpart or full Matrix ID) whose uploaded local media is quarantined.
    type: str
  room:
    description:
      - A room (ID or alias) whose media is quarantined. Synapse only knows the media of unencrypted events.
    type: str
  server_name:
    description:
      - The homeserver's C(server_name), to make a full Matrix ID from a localpart in O(user). When not set it is
        learnt from the admin token.
    type: str
  purge_remote_older_than:
    description:
      - Purge cached remote media last accessed longer ago than this duration (V(30d), V(12h), V(2w), ...).
    type: str
  delete_local_older_than:
    description:
      - Delete local media last accessed longer ago than this duration (V(365d), ...).
    type: str
  larger_than:
    description:
      - With O(delete_local_older_than), only files larger than this many bytes.
    type: int
    default: 0
  keep_profiles:
    description:
      - With O(delete_local_older_than), keep media still used as a user or room avatar.
    type: bool
    default: true
attributes:
  check_mode:
    support: partial
    details:
      - For O(media), O(user) and O(room) the module reads which media are not quarantined (or exist) yet and reports
        exactly those in RV(media_ids), without writing.
      - Synapse has no dry run for O(purge_remote_older_than) and O(delete_local_older_than); in check mode the
        module reports C(changed=true) with a warning saying it cannot tell how many files would go.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - A re-run is unchanged once the media is quarantined or deleted; a purge or delete that removed nothing is
    C(changed=false).
seealso:
  - module: homeserver.synapse.room
  - name: Synapse media admin API
    description: The endpoints the module calls.
    link: https://element-hq.github.io/synapse/latest/admin_api/media_admin_api.html
"""

EXAMPLES = r"""
- name: Quarantine one file
  homeserver.synapse.media:
    media: mxc://example.org/abcdefghijklmnopqrstuvwx
    access_token: "{{ synapse_admin_token }}"

- name: Quarantine everything a spammer uploaded
  homeserver.synapse.media:
    user: spammer
    access_token: "{{ synapse_admin_token }}"

- name: Free disk space, cached remote media not used for 30 days
  homeserver.synapse.media:
    purge_remote_older_than: 30d
    access_token: "{{ synapse_admin_token }}"

- name: Delete local uploads over 50 MB not looked at for a year, keeping avatars
  homeserver.synapse.media:
    delete_local_older_than: 365d
    larger_than: 52428800
    access_token: "{{ synapse_admin_token }}"
"""

RETURN = r"""
media_ids:
  description:
    - The media quarantined, unquarantined or deleted by the run (or that would be, in check mode), as
      C(mxc://) URIs. For O(purge_remote_older_than), always empty (Synapse only gives the count).
  returned: always
  type: list
  elements: str
  sample: ["mxc://example.org/abcdefghijklmnopqrstuvwx"]
count:
  description: How many media items the run changed; null in check mode when Synapse cannot tell.
  returned: always
  type: int
  sample: 1
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
    ADMIN_AUTH_REQUIRED_ONE_OF,
    ADMIN_AUTH_REQUIRED_TOGETHER,
    SERVER_NAME_RE,
    AdminSession,
    SynapseAdminError,
    SynapseAdminClient,
    check_room,
    make_user_id,
    now_ms,
    parse_duration,
    parse_user,
    synapse_admin_argument_spec,
)

JOBS = ("media", "user", "room", "purge_remote_older_than", "delete_local_older_than")
MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


def parse_media(value):
    """``(server_name, media_id)`` from ``mxc://server/id`` or ``server/id``."""
    text = value[len("mxc://"):] if value.startswith("mxc://") else value
    server, _sep, media_id = text.partition("/")
    if not SERVER_NAME_RE.match(server) or not MEDIA_ID_RE.match(media_id):
        raise ValueError("invalid media %r: give mxc://server/media_id" % (value,))
    return server, media_id


def quarantined(info):
    return bool(info.get("quarantined_by"))


class MediaManager:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.warnings = []

    def one(self):
        server, media_id = parse_media(self.params["media"])
        uri = "mxc://%s/%s" % (server, media_id)
        info = self.client.media_info(server, media_id)
        state = self.params["state"]
        if info is None:
            if state == "absent":
                return []
            raise SynapseAdminError("Synapse does not have the media %s (not uploaded here, or remote and not "
                                    "cached); nothing was changed." % uri)
        if state == "quarantined" and not quarantined(info):
            todo = self.client.quarantine_media
        elif state == "present" and quarantined(info):
            todo = self.client.unquarantine_media
        elif state == "absent":
            if server != self.client.server_name():
                raise SynapseAdminError("Only local media can be deleted; %s is cached remote media (purge it with "
                                        "purge_remote_older_than)." % uri)
            todo = self.client.delete_media
        else:
            return []
        if not self.module.check_mode:
            todo(server, media_id)
        return [uri]

    def user(self):
        localpart, server_name = parse_user(self.params["user"])
        user_id = make_user_id(localpart, server_name or self.params["server_name"] or self.client.server_name())
        if self.client.get_user(user_id) is None:
            raise SynapseAdminError("There is no account %s on this server; nothing was quarantined." % user_id)
        own = self.client.server_name()
        todo = ["mxc://%s/%s" % (own, m["media_id"]) for m in self.client.user_media(user_id)
                if not quarantined(m) and not m.get("safe_from_quarantine")]
        if todo and not self.module.check_mode:
            self.client.quarantine_user_media(user_id)
        return todo

    def room(self):
        room = self.params["room"]
        room_id = room if check_room(room) == "id" else self.client.resolve_alias(room)
        if room_id is None:
            raise SynapseAdminError("The room alias %s does not resolve; nothing was quarantined." % room)
        if self.client.get_room(room_id) is None:
            raise SynapseAdminError("This server does not know the room %s; nothing was quarantined." % room_id)
        todo = []
        for uri in self.client.room_media(room_id):
            server, media_id = parse_media(uri)
            info = self.client.media_info(server, media_id)
            if info is not None and not quarantined(info) and not info.get("safe_from_quarantine"):
                todo.append(uri)
        if todo and not self.module.check_mode:
            self.client.quarantine_room_media(room_id)
        return todo

    def purge_remote(self):
        before = now_ms() - parse_duration(self.params["purge_remote_older_than"]) * 1000
        if self.module.check_mode:
            self.warnings.append("Synapse has no dry run for purging remote media: check mode cannot tell how many "
                                 "cached files would go (possibly none).")
            return None
        return self.client.purge_media_cache(before)

    def delete_local(self):
        before = now_ms() - parse_duration(self.params["delete_local_older_than"]) * 1000
        if self.module.check_mode:
            self.warnings.append("Synapse has no dry run for deleting local media by age or size: check mode cannot "
                                 "tell how many files would go (possibly none).")
            return None
        own = self.client.server_name()
        deleted = self.client.delete_local_media(before, self.params["larger_than"], self.params["keep_profiles"])
        return ["mxc://%s/%s" % (own, media_id) for media_id in deleted]

    def run(self):
        params = self.params
        if params["media"]:
            ids = self.one()
        elif params["user"]:
            ids = self.user()
        elif params["room"]:
            ids = self.room()
        elif params["purge_remote_older_than"]:
            count = self.purge_remote()
            return dict(changed=count is None or count > 0, media_ids=[], count=count)
        else:
            ids = self.delete_local()
            if ids is None:
                return dict(changed=True, media_ids=[], count=None)
        return dict(changed=bool(ids), media_ids=ids, count=len(ids))


def validate(params):
    given = [job for job in JOBS if params[job]]
    if len(given) != 1:
        raise ValueError("give exactly one of %s (got %s)" % (", ".join(JOBS), ", ".join(given) or "none"))
    if params["media"]:
        parse_media(params["media"])
    elif params["state"] != "quarantined":
        raise ValueError("state=%s is only possible with media; user and room can only be quarantined"
                         % params["state"])
    if params["user"]:
        parse_user(params["user"])
    if params["room"]:
        check_room(params["room"])
    for key in ("purge_remote_older_than", "delete_local_older_than"):
        if params[key]:
            parse_duration(params[key])
    if params["larger_than"] < 0:
        raise ValueError("larger_than must not be negative (%d)" % params["larger_than"])


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        media=dict(type="str"),
        state=dict(type="str", default="quarantined", choices=["quarantined", "present", "absent"]),
        user=dict(type="str"),
        room=dict(type="str"),
        server_name=dict(type="str"),
        purge_remote_older_than=dict(type="str"),
        delete_local_older_than=dict(type="str"),
        larger_than=dict(type="int", default=0),
        keep_profiles=dict(type="bool", default=True),
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
        manager = MediaManager(module, client)
        with AdminSession(module, client):
            result = manager.run()
    except SynapseAdminError as exc:
        module.fail_json(msg=str(exc))
    for warning in manager.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
