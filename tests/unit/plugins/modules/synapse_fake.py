# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small stand-in for Synapse's HTTP API (127.0.0.1, random port) and a helper to run modules in-process.

It answers like Synapse 1.163 for the endpoints the admin modules use (status codes, errcodes and error texts
from synapse/rest/admin/users.py, registration_tokens.py and the client login/register servlets). The HMAC is
checked with its own implementation of the documented message layout, not with the module's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from ansible.module_utils import _internal as _module_internal
from ansible.module_utils.common import warnings as _warnings
from ansible.module_utils.testing import patch_module_args

LOCALPART_OK = re.compile(r"^[a-z0-9=_\-./+]+$")
TOKEN_CHARS = set(string.ascii_letters + string.digits + "._~-")


class SynapseError(Exception):
    def __init__(self, status, error, errcode="M_UNKNOWN", **extra):
        super().__init__(error)
        self.status = status
        self.body = {"errcode": errcode, "error": error}
        self.body.update(extra)


class FakeSynapse:
    """State and behaviour of the fake homeserver. Tests poke the attributes directly."""

    def __init__(self, server_name="test.local", shared_secret="s3cret-shared"):
        self.server_name = server_name
        self.shared_secret = shared_secret  # None: shared-secret registration disabled
        self.enable_registration = True
        self.html = False  # answer every request with an HTML page
        self.key_endpoint = True  # serve /_matrix/key/v2/server
        self.login_ratelimited = False
        self.profile_lookups_allowed = None  # rc_profile's burst: after this many profile look-ups, 429s
        self.users = {}  # user_id -> dict(password, admin, displayname, user_type, deactivated, erased)
        self.tokens = {}  # access token -> user_id
        self.token_devices = {}  # access token -> device_id, for tokens that belong to a device
        self.devices = {}  # user_id -> {device_id: device object as the admin API lists it}
        self.rooms = {}  # room_id -> dict(name, alias, members, public, levels)
        self.aliases = {}  # alias -> room_id
        self.blocked = set()
        self.deletes = {}  # delete_id -> task; a task completes after delete_polls status reads
        self.delete_polls = 1
        self.delete_error = None  # a delete fails with this error when set
        self.media = {}  # (origin, media_id) -> dict(user_id, quarantined_by, last_access_ts, length, rooms, safe)
        self.purgeable_remote = 0  # what the next purge_media_cache reports as deleted
        self.reg_tokens = {}  # token -> token object
        self.nonces = set()
        self.requests = []  # (method, path) of every request
        # Wrong-shaped answers for the "trusts no answer" tests: (method, path) -> (status, JSON body), and one
        # answer for every request when answer_all is set.
        self.answers = {}
        self.answer_all = None
        self.lock = threading.Lock()

    # -- helpers for tests ------------------------------------------------------------------------------------

    def add_user(self, localpart, password, admin=False, displayname=..., user_type=None, deactivated=False):
        user_id = "@%s:%s" % (localpart, self.server_name)
        self.users[user_id] = dict(password=password, admin=admin, user_type=user_type, deactivated=deactivated,
                                   displayname=localpart if displayname is ... else displayname, erased=False)
        return user_id

    def issue_token(self, user_id):
        token = "syt_" + secrets.token_hex(8)
        self.tokens[token] = user_id
        return token

    def add_device(self, user_id, device_id=None, display_name=None, last_seen_ts=None):
        """A device with an access token, as a client login makes; returns ``(device_id, token)``."""
        device_id = device_id or "DEV" + secrets.token_hex(4).upper()
        token = self.issue_token(user_id)
        self.token_devices[token] = device_id
        device = {"device_id": device_id, "user_id": user_id, "last_seen_ip": "127.0.0.1",
                  "last_seen_ts": last_seen_ts, "last_seen_user_agent": "pytest", "dehydrated": False}
        if display_name is not None:
            device["display_name"] = display_name
        self.devices.setdefault(user_id, {})[device_id] = device
        return device_id, token

    def add_room(self, localpart, members=(), alias=None, public=False, name=None, levels=None):
        room_id = "!%s:%s" % (localpart, self.server_name)
        self.rooms[room_id] = dict(name=name, alias=alias, members=list(members), public=public,
                                   levels=dict(levels or {}))
        if alias:
            self.aliases[alias] = room_id
        return room_id

    def add_media(self, origin, media_id, user_id=None, rooms=(), last_access_ts=None, length=100, safe=False):
        self.media[(origin, media_id)] = dict(
            user_id=user_id, quarantined_by=None, rooms=list(rooms), length=length,
            last_access_ts=last_access_ts or int(time.time() * 1000), safe=safe)
        return "mxc://%s/%s" % (origin, media_id)

    def _media(self, method, path, query, headers, body):
        """The media admin API as media_admin_api.md and user_admin_api.md document it."""
        admin = self._auth(headers)
        match = re.match(r"^/_synapse/admin/v1/media/(quarantine|unquarantine)/([^/]+)/([^/]+)$", path)
        if match and method == "POST":
            key = (unquote(match.group(2)), unquote(match.group(3)))
            if key in self.media:
                self.media[key]["quarantined_by"] = admin if match.group(1) == "quarantine" else None
            return 200, {}
        match = re.match(r"^/_synapse/admin/v1/(user|room)/([^/]+)/media/quarantine$", path)
        if match and method == "POST":
            owner = unquote(match.group(2))
            hits = [m for m in self.media.values() if not m["safe"] and
                    (m["user_id"] == owner if match.group(1) == "user" else owner in m["rooms"])]
            for item in hits:
                item["quarantined_by"] = admin
            return 200, {"num_quarantined": len(hits)}
        match = re.match(r"^/_synapse/admin/v1/room/([^/]+)/media$", path)
        if match and method == "GET":
            room_id = unquote(match.group(1))
            uris = ["mxc://%s/%s" % key for key, m in sorted(self.media.items()) if room_id in m["rooms"]]
            return 200, {"local": [u for u in uris if u.startswith("mxc://%s/" % self.server_name)],
                         "remote": [u for u in uris if not u.startswith("mxc://%s/" % self.server_name)]}
        match = re.match(r"^/_synapse/admin/v1/users/([^/]+)/media$", path)
        if match and method == "GET":
            user_id = unquote(match.group(1))
            items = [{"media_id": key[1], "media_length": m["length"], "quarantined_by": m["quarantined_by"],
                      "safe_from_quarantine": m["safe"], "last_access_ts": m["last_access_ts"]}
                     for key, m in sorted(self.media.items()) if m["user_id"] == user_id]
            start, limit = int(query.get("from", ["0"])[0]), int(query.get("limit", ["100"])[0])
            result = {"media": items[start:start + limit], "total": len(items)}
            if start + limit < len(items):
                result["next_token"] = start + limit
            return 200, result
        if path == "/_synapse/admin/v1/purge_media_cache" and method == "POST":
            deleted, self.purgeable_remote = self.purgeable_remote, 0
            return 200, {"deleted": deleted}
        if path == "/_synapse/admin/v1/media/delete" and method == "POST":
            before, size_gt = int(query["before_ts"][0]), int(query.get("size_gt", ["0"])[0])
            gone = [key for key, m in sorted(self.media.items()) if key[0] == self.server_name
                    and m["last_access_ts"] < before and m["length"] > size_gt]
            for key in gone:
                del self.media[key]
            return 200, {"deleted_media": [key[1] for key in gone], "total": len(gone)}
        match = re.match(r"^/_synapse/admin/v1/media/([^/]+)/([^/]+)$", path)
        if match:
            key = (unquote(match.group(1)), unquote(match.group(2)))
            if key not in self.media:
                raise SynapseError(404, "Unknown media", "M_NOT_FOUND")
            item = self.media[key]
            if method == "GET":
                return 200, {"media_info": {"media_origin": key[0], "media_id": key[1], "user_id": item["user_id"],
                                            "quarantined_by": item["quarantined_by"], "media_length": item["length"],
                                            "last_access_ts": item["last_access_ts"],
                                            "safe_from_quarantine": item["safe"]}}
            if method == "DELETE":
                if key[0] != self.server_name:
                    raise SynapseError(400, "Can only delete local media", "M_UNKNOWN")
                del self.media[key]
                return 200, {"deleted_media": [key[1]], "total": 1}
        raise SynapseError(404, "Unrecognized request", "M_UNRECOGNIZED")

    def _room_json(self, room_id):
        room = self.rooms[room_id]
        local = [m for m in room["members"] if m.endswith(":" + self.server_name)]
        return {"room_id": room_id, "name": room["name"], "canonical_alias": room["alias"],
                "joined_members": len(room["members"]), "joined_local_members": len(local), "version": "10",
                "creator": (room["members"] or [None])[0], "encryption": None, "federatable": True,
                "public": room["public"], "join_rules": "public" if room["public"] else "invite",
                "guest_access": None, "history_visibility": "shared", "state_events": 6, "room_type": None}

    def _rooms(self, method, path, query, headers, body):
        """The rooms admin API and alias resolution, as rooms.md documents them."""
        match = re.match(r"^/_matrix/client/v3/directory/room/([^/]+)$", path)
        if match and method == "GET":
            alias = unquote(match.group(1))
            if alias not in self.aliases:
                raise SynapseError(404, "Room alias %s not found" % alias, "M_NOT_FOUND")
            return 200, {"room_id": self.aliases[alias], "servers": [self.server_name]}
        self._auth(headers)
        if path == "/_synapse/admin/v1/rooms" and method == "GET":
            rooms = [self._room_json(r) for r in sorted(self.rooms)]
            term = query.get("search_term", [None])[0]
            if term:
                rooms = [r for r in rooms if term in (r["name"] or "") or term in r["room_id"]
                         or term in (r["canonical_alias"] or "").split(":")[0]]
            if "public_rooms" in query:
                rooms = [r for r in rooms if r["public"] == (query["public_rooms"][0] == "true")]
            if "empty_rooms" in query:
                rooms = [r for r in rooms if (r["joined_members"] == 0) == (query["empty_rooms"][0] == "true")]
            order = query.get("order_by", ["name"])[0]
            rooms.sort(key=lambda r: (r.get(order) is None, r.get(order) or 0, r["room_id"]),
                       reverse=query.get("dir", ["f"])[0] == "b")
            start, limit = int(query.get("from", ["0"])[0]), int(query.get("limit", ["100"])[0])
            result = {"rooms": rooms[start:start + limit], "offset": start, "total_rooms": len(rooms)}
            if start + limit < len(rooms):
                result["next_batch"] = start + limit
            return 200, result
        match = re.match(r"^/_synapse/admin/v2/rooms/delete_status/([^/]+)$", path)
        if match and method == "GET":
            task = self.deletes.get(unquote(match.group(1)))
            if task is None:
                raise SynapseError(404, "delete id '%s' not found" % match.group(1), "M_NOT_FOUND")
            return 200, self._poll(task)
        match = re.match(r"^/_synapse/admin/v(1|2)/rooms/([^/]+)(?:/(members|state|block|make_room_admin|"
                         r"delete_status))?$", path)
        if not match:
            raise SynapseError(404, "Unrecognized request", "M_UNRECOGNIZED")
        version, room_id, sub = match.group(1), unquote(match.group(2)), match.group(3)
        room = self.rooms.get(room_id)
        if sub == "block":
            if method == "PUT":
                (self.blocked.add if body["block"] else self.blocked.discard)(room_id)
                return 200, {"block": body["block"]}
            return 200, {"block": room_id in self.blocked}
        if sub == "delete_status":
            tasks = [dict(t) for t in self.deletes.values() if t["room_id"] == room_id]
            if not tasks:
                raise SynapseError(404, "No delete task for room_id '%s' found" % room_id, "M_NOT_FOUND")
            return 200, {"results": tasks}
        if version == "2" and sub is None and method == "DELETE":
            if room is None and not body.get("block"):
                raise SynapseError(400, "Room not found", "M_NOT_FOUND")
            delete_id = "del" + secrets.token_hex(4)
            kicked = [m for m in (room or {}).get("members", []) if m.endswith(":" + self.server_name)]
            self.deletes[delete_id] = {"delete_id": delete_id, "room_id": room_id, "status": "active", "polls": 0,
                                       "body": dict(body), "shutdown_room": {
                                           "kicked_users": kicked, "failed_to_kick_users": [],
                                           "local_aliases": [a for a, r in self.aliases.items() if r == room_id],
                                           "new_room_id": None}}
            return 200, {"delete_id": delete_id}
        if room is None:
            raise SynapseError(404, "Room not found", "M_NOT_FOUND")
        if sub is None and method == "GET":
            return 200, dict(self._room_json(room_id), topic=None, forgotten=False, joined_local_devices=0)
        if sub == "members":
            return 200, {"members": list(room["members"]), "total": len(room["members"])}
        if sub == "state":
            return 200, {"state": [{"type": "m.room.power_levels", "state_key": "", "content": room["levels"]}]}
        if sub == "make_room_admin" and method == "POST":
            users = room["levels"].setdefault("users", {})
            users[body["user_id"]] = max(list(users.values()) + [100])
            return 200, {}
        raise SynapseError(405, "Unsupported method")

    def _poll(self, task):
        task["polls"] += 1
        if task["status"] == "active" and task["polls"] >= self.delete_polls:
            if self.delete_error:
                task.update(status="failed", error=self.delete_error)
            else:
                task["status"] = "complete"
                room_id = task["room_id"]
                room = self.rooms.get(room_id)
                if room is not None:
                    room["members"] = [m for m in room["members"] if not m.endswith(":" + self.server_name)]
                    for alias in [a for a, r in self.aliases.items() if r == room_id]:
                        del self.aliases[alias]
                    if task["body"].get("purge", True):
                        del self.rooms[room_id]
                if task["body"].get("block"):
                    self.blocked.add(room_id)
        return {k: v for k, v in task.items() if k not in ("polls", "body")}

    def _delete_device(self, user_id, device_id):
        self.devices.get(user_id, {}).pop(device_id, None)
        for token, dev in list(self.token_devices.items()):
            if dev == device_id and self.tokens.get(token) == user_id:
                del self.tokens[token]
                del self.token_devices[token]

    def writes(self):
        return [(m, p) for m, p in self.requests
                if m in ("POST", "PUT", "DELETE") and p not in ("/_matrix/client/v3/login", "/_matrix/client/v3/logout")]

    def count(self, method, prefix):
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    # -- request dispatch ---------------------------------------------------------------------------------------

    def handle(self, method, path, query, headers, body):
        with self.lock:
            self.requests.append((method, path))
            if self.answer_all is not None:
                return self.answer_all
            if (method, path) in self.answers:
                return self.answers[(method, path)]
            return self._route(method, path, query, headers, body)

    def _auth(self, headers, admin=True):
        value = headers.get("Authorization", "")
        if not value.startswith("Bearer "):
            raise SynapseError(401, "Missing access token.", "M_MISSING_TOKEN")
        user_id = self.tokens.get(value[len("Bearer "):])
        if user_id is None:
            raise SynapseError(401, "Invalid access token passed.", "M_UNKNOWN_TOKEN", soft_logout=False)
        if admin and not self.users[user_id]["admin"]:
            raise SynapseError(403, "You are not a server admin", "M_FORBIDDEN")
        return user_id

    def _route(self, method, path, query, headers, body):
        if path == "/_matrix/key/v2/server" and method == "GET":
            if not self.key_endpoint:
                raise SynapseError(404, "Unrecognized request", "M_UNRECOGNIZED")
            return 200, {"server_name": self.server_name, "verify_keys": {}}
        if path == "/_synapse/admin/v1/register":
            return self._register(method, body)
        if path == "/_matrix/client/v3/account/whoami":
            return 200, {"user_id": self._auth(headers, admin=False)}
        if path == "/_matrix/client/v3/login" and method == "POST":
            return self._login(body)
        if path == "/_matrix/client/v3/logout" and method == "POST":
            user_id = self._auth(headers, admin=False)
            token = headers["Authorization"][len("Bearer "):]
            if token in self.token_devices:
                self._delete_device(user_id, self.token_devices[token])
            self.tokens.pop(token, None)
            return 200, {}
        if path == "/_matrix/client/v3/register/available":
            return self._available(query)
        match = re.match(r"^/_matrix/client/v3/profile/([^/]+)$", path)
        if match:
            if self.profile_lookups_allowed is not None:
                if self.count("GET", "/_matrix/client/v3/profile/") > self.profile_lookups_allowed:
                    raise SynapseError(429, "Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=1000)
            user = self.users.get(unquote(match.group(1)))
            if user is None or user["displayname"] is None:
                raise SynapseError(404, "Profile was not found", "M_NOT_FOUND")
            return 200, {"displayname": user["displayname"]}
        match = re.match(r"^/_synapse/admin/v2/users/([^/]+)$", path)
        if match:
            self._auth(headers)
            return self._user_v2(method, unquote(match.group(1)), body)
        match = re.match(r"^/_synapse/admin/v1/deactivate/([^/]+)$", path)
        if match and method == "POST":
            self._auth(headers)
            user = self.users.get(unquote(match.group(1)))
            if user is None:
                raise SynapseError(404, "User not found", "M_NOT_FOUND")
            user["deactivated"] = True
            if (body or {}).get("erase"):
                user["erased"] = True
                user["displayname"] = None
            return 200, {"id_server_unbind_result": "success"}
        if path == "/_synapse/admin/v3/users" and method == "GET":
            self._auth(headers)
            return self._list_users(query)
        match = re.match(r"^/_synapse/admin/v2/users/([^/]+)/(devices|delete_devices)$", path)
        if match:
            self._auth(headers)
            user_id = unquote(match.group(1))
            if user_id not in self.users:
                raise SynapseError(404, "Unknown user", "M_NOT_FOUND")
            if match.group(2) == "devices" and method == "GET":
                devices = list(self.devices.get(user_id, {}).values())
                return 200, {"devices": devices, "total": len(devices)}
            if match.group(2) == "delete_devices" and method == "POST":
                if not isinstance(body.get("devices"), list):
                    raise SynapseError(400, "Missing devices", "M_MISSING_PARAM")
                for device_id in body["devices"]:
                    self._delete_device(user_id, device_id)
                return 200, {}
            raise SynapseError(405, "Unsupported method")
        if (re.match(r"^/_synapse/admin/v1/(media|purge_media_cache)", path)
                or re.match(r"^/_synapse/admin/v1/(user|room)/[^/]+/media", path)
                or re.match(r"^/_synapse/admin/v1/users/[^/]+/media$", path)):
            return self._media(method, path, query, headers, body)
        if path.startswith("/_matrix/client/v3/directory/room/") or re.match(r"^/_synapse/admin/v[12]/rooms", path):
            return self._rooms(method, path, query, headers, body)
        if path.startswith("/_synapse/admin/v1/registration_tokens"):
            self._auth(headers)
            return self._reg_tokens(method, path[len("/_synapse/admin/v1/registration_tokens"):], query, body)
        raise SynapseError(404, "Unrecognized request", "M_UNRECOGNIZED")

    def _register(self, method, body):
        if method == "GET":
            nonce = secrets.token_hex(64)
            self.nonces.add(nonce)
            return 200, {"nonce": nonce}
        if not self.shared_secret:
            raise SynapseError(400, "Shared secret registration is not enabled")
        if "nonce" not in body:
            raise SynapseError(400, "nonce must be specified", "M_BAD_JSON")
        if body["nonce"] not in self.nonces:
            raise SynapseError(400, "unrecognised nonce")
        self.nonces.discard(body["nonce"])
        username, password = body["username"], body["password"]
        user_type = body.get("user_type")
        if user_type is not None and user_type not in ("bot", "support"):
            raise SynapseError(400, "Invalid user type")
        message = b"\x00".join([body["nonce"].encode(), username.encode(), password.encode(),
                                b"admin" if body.get("admin") else b"notadmin"] + ([user_type.encode()] if user_type else []))
        want = hmac.new(self.shared_secret.encode(), message, hashlib.sha1).hexdigest()
        if not hmac.compare_digest(want, body.get("mac", "")):
            raise SynapseError(403, "HMAC incorrect")
        localpart = username.lower()
        self._check_username(localpart)
        user_id = "@%s:%s" % (localpart, self.server_name)
        self.users[user_id] = dict(password=password, admin=bool(body.get("admin")), user_type=user_type,
                                   displayname=body.get("displayname") or localpart, deactivated=False, erased=False)
        result = {"user_id": user_id, "home_server": self.server_name}
        if not body.get("inhibit_login"):
            result["access_token"] = self.issue_token(user_id)
            result["device_id"] = "DEV" + secrets.token_hex(3).upper()
        return 200, result

    def _check_username(self, localpart):
        if not LOCALPART_OK.match(localpart):
            raise SynapseError(400, "User ID can only contain characters a-z, 0-9, or '=_-./+'", "M_INVALID_USERNAME")
        if localpart.startswith("_"):
            raise SynapseError(400, "User ID may not begin with _", "M_INVALID_USERNAME")
        if "@%s:%s" % (localpart, self.server_name) in self.users:
            raise SynapseError(400, "User ID already taken.", "M_USER_IN_USE")

    def _available(self, query):
        if not self.enable_registration:
            raise SynapseError(403, "Registration has been disabled", "M_FORBIDDEN")
        self._check_username(query["username"][0])
        return 200, {"available": True}

    def _login(self, body):
        if self.login_ratelimited:
            raise SynapseError(429, "Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=266000)
        user = body["identifier"]["user"]
        user_id = user if user.startswith("@") else "@%s:%s" % (user.lower(), self.server_name)
        record = self.users.get(user_id)
        if record is None or record["password"] != body.get("password"):
            raise SynapseError(403, "Invalid username or password", "M_FORBIDDEN")
        if record["deactivated"]:
            raise SynapseError(403, "This account has been deactivated", "M_USER_DEACTIVATED")
        device_id, token = self.add_device(user_id, display_name=body.get("initial_device_display_name"))
        return 200, {"user_id": user_id, "access_token": token, "device_id": device_id}

    def _user_v2(self, method, user_id, body):
        if not user_id.endswith(":" + self.server_name):
            raise SynapseError(400, "Can only look up local users")
        user = self.users.get(user_id)
        if method == "GET":
            if user is None:
                raise SynapseError(404, "User not found", "M_NOT_FOUND")
            return 200, self._user_json(user_id)
        if method == "PUT":
            if user is None:
                raise SynapseError(500, "creating users through PUT is not used by the modules")
            for key in ("admin", "displayname", "user_type", "password"):
                if key in body:
                    user[key] = body[key]
            if "deactivated" in body:
                if body["deactivated"] is False and user["deactivated"] and "password" not in body:
                    raise SynapseError(400, "Must provide a password to re-activate an account.")
                user["deactivated"] = body["deactivated"]
            return 200, self._user_json(user_id)
        raise SynapseError(405, "Unsupported method")

    def _user_json(self, user_id):
        user = self.users[user_id]
        return {"name": user_id, "displayname": user["displayname"], "admin": user["admin"],
                "deactivated": user["deactivated"], "erased": user["erased"], "user_type": user["user_type"],
                "is_guest": user.get("is_guest", False), "shadow_banned": False, "locked": False,
                "threepids": user.get("threepids", []), "external_ids": user.get("external_ids", []),
                "avatar_url": None, "creation_ts": user.get("creation_ts", 1764547200000),
                "last_seen_ts": user.get("last_seen_ts"), "appservice_id": None}

    def _list_users(self, query):
        """``GET /_synapse/admin/v3/users``: filters, order and from/limit paging as Synapse documents them."""
        def flag(name):
            return query[name][0] == "true" if name in query else None

        users = [self._user_json(user_id) for user_id in self.users]
        name = query.get("name", [None])[0]
        if name:
            users = [u for u in users if name in u["name"].split(":")[0] or name in (u["displayname"] or "")]
        if flag("admins") is not None:
            users = [u for u in users if u["admin"] == flag("admins")]
        if flag("deactivated") is not None:
            users = [u for u in users if u["deactivated"] == flag("deactivated")]
        if flag("guests") is False:
            users = [u for u in users if not u["is_guest"]]
        order = query.get("order_by", ["name"])[0]
        users.sort(key=lambda u: (u.get(order) is not None, u.get(order) or 0, u["name"]) if order != "name"
                   else u["name"], reverse=query.get("dir", ["f"])[0] == "b")
        start = int(query.get("from", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        page = users[start:start + limit]
        for user in page:
            user.pop("threepids")
            user.pop("external_ids")
        result = {"users": page, "total": len(users)}
        if start + limit < len(users):
            result["next_token"] = str(start + limit)
        return 200, result

    def _reg_tokens(self, method, rest, query, body):
        if rest == "" and method == "GET":
            tokens = list(self.reg_tokens.values())
            if "valid" in query:
                now = int(time.time() * 1000)
                valid = [t for t in tokens if (t["uses_allowed"] is None or t["pending"] + t["completed"] < t["uses_allowed"])
                         and (t["expiry_time"] is None or t["expiry_time"] > now)]
                tokens = valid if query["valid"][0] == "true" else [t for t in tokens if t not in valid]
            return 200, {"registration_tokens": tokens}
        if rest == "/new" and method == "POST":
            token = body.get("token")
            if token is None:
                token = "".join(secrets.choice(string.ascii_letters) for _unused in range(body.get("length", 16)))
            if not token or len(token) > 64 or set(token) - TOKEN_CHARS:
                raise SynapseError(400, "token must consist only of characters matched by the regex [A-Za-z0-9-_]",
                                   "M_INVALID_PARAM")
            self._check_token_fields(body)
            if token in self.reg_tokens:
                raise SynapseError(400, "Token already exists: %s" % token, "M_INVALID_PARAM")
            self.reg_tokens[token] = {"token": token, "uses_allowed": body.get("uses_allowed"), "pending": 0,
                                      "completed": 0, "expiry_time": body.get("expiry_time")}
            return 200, self.reg_tokens[token]
        name = unquote(rest.lstrip("/"))
        if name not in self.reg_tokens:
            raise SynapseError(404, "No such registration token: %s" % name, "M_NOT_FOUND")
        if method == "GET":
            return 200, self.reg_tokens[name]
        if method == "PUT":
            self._check_token_fields(body)
            for key in ("uses_allowed", "expiry_time"):
                if key in body:
                    self.reg_tokens[name][key] = body[key]
            return 200, self.reg_tokens[name]
        if method == "DELETE":
            del self.reg_tokens[name]
            return 200, {}
        raise SynapseError(405, "Unsupported method")

    @staticmethod
    def _check_token_fields(body):
        uses = body.get("uses_allowed")
        if uses is not None and (not isinstance(uses, int) or uses < 0):
            raise SynapseError(400, "uses_allowed must be a non-negative integer or null", "M_INVALID_PARAM")
        expiry = body.get("expiry_time")
        if expiry is not None and expiry < int(time.time() * 1000):
            raise SynapseError(400, "expiry_time must not be in the past", "M_INVALID_PARAM")


def _handler_for(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _dispatch(self):
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if fake.html:
                return self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
            try:
                body = json.loads(raw) if raw else {}
                status, payload = fake.handle(self.command, split.path, parse_qs(split.query), self.headers, body)
            except SynapseError as exc:
                status, payload = exc.status, exc.body
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status, data, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    return Handler


@contextlib.contextmanager
def serve(fake):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    httpd.daemon_threads = True
    # shutdown() waits for serve_forever to look at its flag, every poll_interval (0.5 s by default, per test).
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def synapse():
    """A running fake Synapse; ``synapse.url`` is its base URL."""
    fake = FakeSynapse()
    with serve(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture
def free_port_url():
    """A loopback URL where nothing listens (connection refused)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


def run_module(main, args, capsys, check_mode=False, diff=False, no_log=False):
    """Run a module's ``main()`` with ``args``; return ``(failed, result dict)`` read from stdout."""
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check_mode
    module_args["_ansible_diff"] = diff
    module_args["_ansible_no_log"] = no_log
    capsys.readouterr()
    # Warnings are collected per process; start each in-process module run with none.
    _warnings._global_warnings.clear()  # pylint: disable=protected-access
    _warnings._global_deprecations.clear()  # pylint: disable=protected-access
    # A module runs in a process of its own. Once a test has imported controller code (a filter plugin imports
    # ansible.errors), ansible-core flags the whole process as the controller, and module warnings then go to
    # the controller's display instead of the module's result: run main() as a module process would.
    is_controller = _module_internal.is_controller
    _module_internal.is_controller = False
    try:
        with patch_module_args(module_args):
            with pytest.raises(SystemExit) as exit_info:
                main()
    finally:
        _module_internal.is_controller = is_controller
    out = capsys.readouterr().out
    result = json.loads(out)
    # ansible-core 2.19 returns warnings as WarningSummary dicts, older releases as strings.
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    failed = bool(result.get("failed"))
    assert (exit_info.value.code != 0) == failed
    return failed, result
