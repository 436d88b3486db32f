# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Client for the Synapse admin and client-server APIs, shared by the homeserver.synapse modules.

HTTP goes through Ansible's own ``open_url`` machinery (``ansible.module_utils.urls.Request``) so the target needs no extra Python packages.
Pure helpers (HMAC, payloads, name validation, duration parsing) live here too so the unit tests
can exercise them without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.urls import Request, make_context

DEFAULT_SERVER_URL = "http://127.0.0.1:8008"
# Where the homeserver.synapse.synapse role (like Debian's matrix-synapse package) keeps Synapse's config,
# in the order Synapse reads it (--config-path homeserver.yaml --config-path conf.d/).
DEFAULT_CONFIG_PATHS = ["/etc/matrix-synapse/homeserver.yaml", "/etc/matrix-synapse/conf.d"]
DEFAULT_TIMEOUT = 30
USER_AGENT = "ansible-homeserver.synapse"
DEVICE_DISPLAY_NAME = "Ansible homeserver.synapse"

# Longest wait for a 429 M_LIMIT_EXCEEDED the client sits out before giving up, in seconds.
MAX_RATELIMIT_WAIT = 15.0
MAX_RATELIMIT_RETRIES = 3

# Synapse: "User ID can only contain characters a-z, 0-9, or '=_-./+'".
LOCALPART_RE = re.compile(r"^[a-z0-9=_\-./+]+$")
# A server name is a DNS name or an IP literal with an optional port (Matrix spec, "Server name").
SERVER_NAME_RE = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
MAX_USER_ID_LENGTH = 255
MAX_PASSWORD_LENGTH = 512
# synapse/rest/admin/registration_tokens.py: string.ascii_letters + string.digits + "._~-", 1..64 chars.
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
DURATION_RE = re.compile(r"(\d+)\s*([wdhms])", re.IGNORECASE)
DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
TOKEN_FIELDS = ("token", "uses_allowed", "pending", "completed", "expiry_time")
# Sane ranges checked before anything is sent.
MIN_TIMEOUT = 1
MAX_TIMEOUT = 3600
# Synapse keeps expiry_time in a BIGINT, but anything after 9999-12-31 is a unit mistake (seconds vs ms, or
# microseconds); uses_allowed is an INT column.
MAX_EXPIRY_MS = 253402300799999
MAX_USES_ALLOWED = 2 ** 31 - 1
# Longest duration accepted (100 years): beyond it the number is a typo, not a policy.
MAX_DURATION = 100 * 365 * 86400


class SynapseAdminError(Exception):
    """An API call failed; ``str(exc)`` is a message fit for ``fail_json``."""

    def __init__(self, msg, status=None, errcode=None, error=None, retry_after_ms=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.errcode = errcode
        self.error = error
        self.retry_after_ms = retry_after_ms

    def __str__(self):
        return self.msg


# ---------------------------------------------------------------------------------------------------------
# Argument spec factory (matches plugins/doc_fragments/synapse_admin.py)
# ---------------------------------------------------------------------------------------------------------

def synapse_admin_argument_spec(admin_auth=False):
    """Options every module of the collection shares; with ``admin_auth`` also the admin credentials.

    The keys match the ``homeserver.synapse.synapse_admin`` doc fragment (and its ``admin_auth`` part).
    """
    spec = dict(
        server_url=dict(type="str", default=DEFAULT_SERVER_URL),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
        validate_certs=dict(type="bool", default=True),
    )
    if admin_auth:
        spec.update(
            access_token=dict(type="str", no_log=True),
            admin_user=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
        )
    return spec


# AnsibleModule keyword arguments that go with ``synapse_admin_argument_spec(admin_auth=True)``.
ADMIN_AUTH_MUTUALLY_EXCLUSIVE = [("access_token", "admin_user")]
ADMIN_AUTH_REQUIRED_TOGETHER = [("admin_user", "admin_password")]
ADMIN_AUTH_REQUIRED_ONE_OF = [("access_token", "admin_user")]


# ---------------------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------------------

def registration_mac(shared_secret, nonce, username, password, admin, user_type=None):
    """HMAC-SHA1 of ``nonce\\0username\\0password\\0admin|notadmin[\\0user_type]``, as Synapse checks it."""
    mac = hmac.new(key=to_bytes(shared_secret, errors="surrogate_or_strict"), digestmod=hashlib.sha1)
    mac.update(to_bytes(nonce))
    mac.update(b"\x00")
    mac.update(to_bytes(username, errors="surrogate_or_strict"))
    mac.update(b"\x00")
    mac.update(to_bytes(password, errors="surrogate_or_strict"))
    mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    if user_type:
        mac.update(b"\x00")
        mac.update(to_bytes(user_type, errors="surrogate_or_strict"))
    return mac.hexdigest()


def build_register_payload(shared_secret, nonce, username, password, admin=False, user_type=None,
                           displayname=None, inhibit_login=True):
    """The JSON body of ``POST /_synapse/admin/v1/register``."""
    payload = {
        "nonce": nonce,
        "username": username,
        "password": password,
        "admin": bool(admin),
        "mac": registration_mac(shared_secret, nonce, username, password, admin, user_type),
    }
    if user_type:
        payload["user_type"] = user_type
    if displayname is not None:
        payload["displayname"] = displayname
    if inhibit_login:
        # Do not create a device and access token for the new account unless the caller wants it.
        payload["inhibit_login"] = True
    return payload


def parse_user(user):
    """Split ``alice`` or ``@alice:example.org`` into ``(localpart, server_name or None)``.

    The localpart is lower-cased, as Synapse does on registration. Raises ``ValueError`` with a message
    naming the problem when the name cannot be a Synapse user.
    """
    if user is None or not to_text(user).strip():
        raise ValueError("the user name is empty")
    user = to_text(user).strip()
    server_name = None
    if user.startswith("@"):
        if ":" not in user:
            raise ValueError("invalid user ID %r: a full Matrix ID is @localpart:server_name" % user)
        localpart, server_name = user[1:].split(":", 1)
        if not SERVER_NAME_RE.match(server_name):
            raise ValueError("invalid user ID %r: %r is not a valid server name" % (user, server_name))
    else:
        localpart = user
    if not localpart:
        raise ValueError("invalid user name %r: the localpart is empty" % user)
    localpart = localpart.lower()
    if not LOCALPART_RE.match(localpart):
        raise ValueError(
            "invalid user name %r: Synapse localparts may only contain a-z, 0-9 and the characters = _ - . / +"
            % user
        )
    return localpart, server_name


def make_user_id(localpart, server_name):
    user_id = "@%s:%s" % (localpart, server_name)
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise ValueError("user ID %s is longer than %d characters" % (user_id, MAX_USER_ID_LENGTH))
    return user_id


def validate_password(password):
    """Synapse refuses passwords over 512 characters or with NUL bytes (``Invalid password``)."""
    if password is None:
        return
    if len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
        raise ValueError("the password must be at most %d characters and contain no NUL byte" % MAX_PASSWORD_LENGTH)


def validate_token_name(token):
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise ValueError(
            "invalid registration token %r: Synapse accepts 1 to 64 characters from A-Z a-z 0-9 . _ ~ -" % (token,)
        )
    return token


def parse_duration(value):
    """Seconds in a duration such as ``7d``, ``12h``, ``30m``, ``45s``, ``2w`` or ``1d12h``; a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError("invalid duration %r" % (value,))
    if isinstance(value, int):
        seconds = value
    else:
        text = to_text(value).strip()
        if text.isdigit():
            seconds = int(text)
        else:
            compact = re.sub(r"\s+", "", text)
            if not compact or DURATION_RE.sub("", compact):
                raise ValueError(
                    "invalid duration %r: use a number followed by w, d, h, m or s, for example 7d, 12h or 1d12h"
                    % (value,)
                )
            seconds = sum(int(n) * DURATION_UNITS[u.lower()] for n, u in DURATION_RE.findall(compact))
    if seconds <= 0:
        raise ValueError("invalid duration %r: it must be longer than zero" % (value,))
    if seconds > MAX_DURATION:
        raise ValueError("invalid duration %r: it is longer than 100 years" % (value,))
    return seconds


def now_ms():
    return int(time.time() * 1000)


def normalize_token(obj):
    """The documented fields of a registration token object, nothing else."""
    if obj is None:
        return None
    return {key: obj.get(key) for key in TOKEN_FIELDS}


def token_changes(current, uses_allowed=None, set_uses_allowed=False, expiry_time=None, set_expiry_time=False):
    """Fields of an existing token to PUT: only those requested and different from ``current``."""
    changes = {}
    if set_uses_allowed and current.get("uses_allowed") != uses_allowed:
        changes["uses_allowed"] = uses_allowed
    if set_expiry_time and current.get("expiry_time") != expiry_time:
        changes["expiry_time"] = expiry_time
    return changes


def read_secret_file(path):
    """Content of a secret file, stripped, as Synapse reads ``registration_shared_secret_path``."""
    try:
        with open(path, "rb") as handle:
            secret = to_text(handle.read(), errors="surrogate_or_strict").strip()
    except (IOError, OSError) as exc:
        raise ValueError("cannot read shared_secret_file %s: %s" % (path, exc.strerror or exc))
    if not secret:
        raise ValueError("shared_secret_file %s is empty" % path)
    return secret


def validate_server_url(url):
    """``url`` stripped of a trailing slash; ``ValueError`` unless it is an http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("server_url is empty; give the URL of a Synapse listener, such as %s" % DEFAULT_SERVER_URL)
    try:
        parts = urlsplit(url.strip())
        parts.port  # pylint: disable=pointless-statement  # raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError("server_url %r is not a valid URL: %s" % (url, exc))
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("server_url %r must start with http:// or https:// (not %s)"
                         % (url, parts.scheme + ":" if parts.scheme else "a bare host or path"))
    if not parts.hostname:
        raise ValueError("server_url %r has no host name" % (url,))
    if parts.query or parts.fragment or parts.username is not None:
        raise ValueError("server_url %r must be a base URL without user, query or fragment" % (url,))
    return url.strip().rstrip("/")


def validate_timeout(timeout):
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise ValueError("timeout must be between %d and %d seconds, not %r" % (MIN_TIMEOUT, MAX_TIMEOUT, timeout))
    return timeout


def validate_expiry_ms(value, name="expiry_time"):
    """An expiry in milliseconds since the epoch within 1970..9999 (catches seconds-for-ms and overflow)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_EXPIRY_MS:
        raise ValueError("%s must be milliseconds since the epoch between 1 and %d (the end of the year 9999), "
                         "not %r" % (name, MAX_EXPIRY_MS, value))
    return value


def is_local_url(url):
    """Whether ``url`` points at this host (localhost or a loopback address)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_files(paths):
    """Synapse's config files for ``--config-path`` arguments: a file as is, a directory's ``*.yaml`` sorted."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(os.path.join(path, name) for name in sorted(os.listdir(path))
                         if name.endswith(".yaml") and os.path.isfile(os.path.join(path, name)))
        else:
            files.append(path)
    return files


SERVER_NAME_LINE_RE = re.compile(r"^server_name[ \t]*:(.*)$", re.MULTILINE)


def _yaml_scalar(text):
    """A plain or quoted one-line YAML scalar, or None when it is anything else (block, flow, alias, tag)."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        close = text.find(text[0], 1)
        rest = text[close + 1:].strip() if close > 0 else "x"
        if rest and not rest.startswith("#"):
            return None
        return text[1:close]
    text = re.sub(r"\s+#.*$", "", text).strip()
    if not text or text[0] in "|>[{&*!%@`#":
        return None
    return text


def server_name_from_config(paths):
    """``(server_name, file, notes)`` from Synapse's config files, read as Synapse merges them (the last wins).

    Only a top-level ``server_name: <name>`` line (plain or quoted) is read, without a YAML library (targets
    need none); ``notes`` says why nothing was found (missing or unreadable files, a value that is not a name).
    """
    found, source, notes = None, None, []
    for path in config_files(paths):
        try:
            with open(path, "rb") as handle:
                text = to_text(handle.read(), errors="surrogate_or_replace")
        except (IOError, OSError) as exc:
            notes.append("cannot read %s: %s" % (path, exc.strerror or exc))
            continue
        for match in SERVER_NAME_LINE_RE.finditer(text):
            value = _yaml_scalar(match.group(1))
            if value is None or not SERVER_NAME_RE.match(value):
                notes.append("%s: server_name %s is not a plain server name" % (path, match.group(1).strip()))
                continue
            found, source = value, path
    return found, source, notes


def _short(text, limit=120):
    text = " ".join(to_text(text, errors="surrogate_or_replace").split())
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------------------
# Shape checks of answers: an answer the modules cannot trust is a failure that names the endpoint
# ---------------------------------------------------------------------------------------------------------

class _Absent:
    def __repr__(self):
        return "nothing"


ABSENT = _Absent()
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list",
               type(None): "null", float: "a number"}


def _type_text(types):
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def unexpected(where, what, value):
    return SynapseAdminError("Synapse's answer to %s is not what Synapse sends: %s, got %s. Is server_url a "
                             "Synapse homeserver of a supported release?" % (where, what, _short(repr(value), 80)))


def answer_field(data, key, types, where, required=True):
    """``data[key]`` when its type is one of ``types`` (``bool`` never counts as ``int``); else SynapseAdminError.

    A missing key gives ``ABSENT`` when not ``required``.
    """
    if not isinstance(data, dict):
        raise unexpected(where, "an object was expected", data)
    if key not in data:
        if required:
            raise unexpected(where, "%r is missing" % key, data)
        return ABSENT
    value = data[key]
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, tuple(types))
    if not ok:
        raise unexpected(where, "%r must be %s" % (key, _type_text(types)), value)
    return value


def check_token_object(obj, where):
    """A registration token object with the documented field types; ``SynapseAdminError`` otherwise."""
    if not isinstance(obj, dict):
        raise unexpected(where, "a registration token object was expected", obj)
    token = answer_field(obj, "token", (str,), where)
    if not token:
        raise unexpected(where, "'token' is empty", obj)
    answer_field(obj, "uses_allowed", (int, type(None)), where)
    answer_field(obj, "pending", (int,), where)
    answer_field(obj, "completed", (int,), where)
    answer_field(obj, "expiry_time", (int, type(None)), where)
    return normalize_token(obj)


def check_user_object(obj, user_id, where):
    """The v2 user object of ``user_id``: ``name`` must be that user, the fields the modules read well typed."""
    name = answer_field(obj, "name", (str,), where)
    if name != user_id:
        raise unexpected(where, "'name' should be %s" % user_id, name)
    for key, types in (("admin", (bool, int)), ("deactivated", (bool, int)), ("erased", (bool, int)),
                       ("displayname", (str, type(None))), ("user_type", (str, type(None)))):
        answer_field(obj, key, types, where, required=key in ("admin", "deactivated"))
    return obj


# Room versions up to 11 have !opaque:server IDs; version 12 (the default of recent Synapse) has !hash, no server.
ROOM_ID_RE = re.compile(r"^![^:\s]+(?::(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?)?$")
ROOM_ALIAS_RE = re.compile(r"^#[^:\s]+:(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def check_room(room):
    """``'id'`` or ``'alias'`` for a room ID (``!x:server``) or alias (``#x:server``); ``ValueError`` otherwise."""
    if isinstance(room, str) and ROOM_ID_RE.match(room):
        return "id"
    if isinstance(room, str) and ROOM_ALIAS_RE.match(room):
        return "alias"
    raise ValueError("invalid room %r: give a room ID (!opaque:server, or !hash in room version 12) or an alias "
                     "(#name:server)" % (room,))


# ---------------------------------------------------------------------------------------------------------
# HTTP client
# ---------------------------------------------------------------------------------------------------------

class SynapseAdminClient:
    """Small client over Ansible's ``Request`` (``open_url``). Thread-safe: it keeps no per-request state."""

    def __init__(self, server_url=DEFAULT_SERVER_URL, timeout=DEFAULT_TIMEOUT, validate_certs=True,
                 access_token=None, max_ratelimit_wait=MAX_RATELIMIT_WAIT, sleep=time.sleep):
        self.server_url = validate_server_url(DEFAULT_SERVER_URL if server_url is None else server_url)
        self.timeout = validate_timeout(timeout)
        self.validate_certs = validate_certs
        self.access_token = access_token
        self.max_ratelimit_wait = max_ratelimit_wait
        self._sleep = sleep
        self._server_name = None
        self._context = None
        self._context_lock = threading.Lock()

    def _ssl_context(self):
        """One SSL context for all requests of the run (building one per request costs ~25 ms of CPU)."""
        with self._context_lock:
            if self._context is None:
                if self.server_url.lower().startswith("https:"):
                    self._context = make_context(validate_certs=self.validate_certs)
                else:
                    self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            return self._context

    @classmethod
    def from_module(cls, module):
        """A client from the module's connection options; a bad server_url or timeout fails the module."""
        params = module.params
        try:
            return cls(
                server_url=params["server_url"],
                timeout=params["timeout"],
                validate_certs=params["validate_certs"],
                access_token=params.get("access_token"),
            )
        except ValueError as exc:
            module.fail_json(msg="Invalid input, nothing was sent to Synapse: %s" % exc)
        return None  # not reached: fail_json exits

    # -- transport ------------------------------------------------------------------------------------------

    def request(self, method, path, body=None, query=None, auth=True, token=None, wait_ratelimit=True):
        """Send one request; return ``(status, decoded JSON)``. Raises ``SynapseAdminError``.

        ``auth``: send the client's access token (or ``token``) as a bearer token.
        429 answers with a short ``retry_after_ms`` are waited out a few times, unless ``wait_ratelimit`` is false.
        """
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, body, query, auth, token)
            except SynapseAdminError as exc:
                wait = (exc.retry_after_ms or 0) / 1000.0
                if (exc.status != 429 or not wait_ratelimit or attempt >= MAX_RATELIMIT_RETRIES
                        or wait > self.max_ratelimit_wait):
                    raise
                attempt += 1
                self._sleep(max(wait, 0.1))

    def _request_once(self, method, path, body, query, auth, token):
        url = self.server_url + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Accept": "application/json"}
        bearer = token if token is not None else (self.access_token if auth else None)
        if bearer:
            headers["Authorization"] = "Bearer %s" % bearer
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        where = "%s %s" % (method, path)
        try:
            response = Request().open(
                method, url, data=data, headers=headers, timeout=self.timeout,
                validate_certs=self.validate_certs, http_agent=USER_AGENT, follow_redirects="none",
                context=self._ssl_context(),
            )
            status = response.getcode()
            raw = response.read()
            content_type = response.headers.get("Content-Type", "")
        except HTTPError as exc:
            status = exc.code
            try:
                raw = exc.read()
            except Exception:  # pylint: disable=broad-except
                raw = b""
            content_type = exc.headers.get("Content-Type", "") if exc.headers else ""
            payload = _decode_json(raw)
            if not isinstance(payload, dict):
                raise SynapseAdminError(
                    "%s at %s answered HTTP %s with non-JSON content (%s): %r. Is server_url the Synapse "
                    "client listener?" % (where, self.server_url, status, content_type or "no content type",
                                          _short(raw)),
                    status=status,
                )
            raise self._api_error(where, status, payload, exc.headers)
        except (URLError, socket.timeout, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SynapseAdminError(
                "Cannot reach Synapse at %s (%s): %s. Is Synapse running and server_url right?"
                % (self.server_url, where, reason)
            )
        except Exception as exc:  # pylint: disable=broad-except
            # ansible.module_utils.urls raises its own ConnectionError / SSLValidationError.
            raise SynapseAdminError(
                "Cannot reach Synapse at %s (%s): %s. Is Synapse running and server_url right?"
                % (self.server_url, where, exc)
            )
        payload = _decode_json(raw)
        if not isinstance(payload, dict):
            raise SynapseAdminError(
                "%s at %s answered HTTP %s with non-JSON content (%s): %r. Is server_url the Synapse client "
                "listener?" % (where, self.server_url, status, content_type or "no content type", _short(raw)),
                status=status,
            )
        return status, payload

    def _api_error(self, where, status, payload, headers=None):
        # Error bodies are only read for their text; fields of the wrong type are ignored, not trusted.
        errcode = payload.get("errcode")
        if not isinstance(errcode, str):
            errcode = None
        error = payload.get("error")
        error = _short(error, 300) if isinstance(error, str) else ""
        retry_after_ms = payload.get("retry_after_ms")
        if isinstance(retry_after_ms, bool) or not isinstance(retry_after_ms, (int, float)) or retry_after_ms < 0:
            retry_after_ms = None
        retry_after = headers.get("Retry-After", "") if headers is not None else ""
        if retry_after_ms is None and isinstance(retry_after, str) and retry_after.isdigit():
            retry_after_ms = int(retry_after) * 1000
        detail = "%s: %s" % (errcode, error) if errcode else error
        if status == 401:
            msg = ("Synapse refused the access token (%s) for %s: the token is missing, invalid or expired. "
                   "Give the access token of a server admin." % (detail, where))
        elif status == 403 and "not a server admin" in error:
            msg = ("The access token does not belong to a server admin (%s, %s). Use an admin account's token, "
                   "or make the account an admin." % (detail, where))
        elif status == 429:
            wait = " (retry after %.0f s)" % (retry_after_ms / 1000.0) if retry_after_ms else ""
            msg = ("Synapse rate-limited %s%s: %s. Wait, or raise the rate limits (rc_login, rc_registration) "
                   "for the host running the module." % (where, wait, detail))
        elif status == 404 and errcode == "M_UNRECOGNIZED":
            msg = ("Synapse does not serve %s on %s (%s). Is the admin API enabled on this listener, and is the "
                   "server not delegating auth to MAS?" % (where, self.server_url, detail))
        else:
            msg = "Synapse answered %s with HTTP %s (%s)" % (where, status, detail or "no error text")
        return SynapseAdminError(msg, status=status, errcode=errcode, error=error, retry_after_ms=retry_after_ms)

    # -- discovery ------------------------------------------------------------------------------------------

    def server_name(self, configured=None):
        """The server_name: ``configured`` if given, else ``GET /_matrix/key/v2/server``, else whoami."""
        if configured:
            self._server_name = configured
        if self._server_name:
            return self._server_name
        try:
            dummy, data = self.request("GET", "/_matrix/key/v2/server", auth=False)
            name = answer_field(data, "server_name", (str,), "GET /_matrix/key/v2/server")
            if not SERVER_NAME_RE.match(name):
                raise unexpected("GET /_matrix/key/v2/server", "'server_name' is not a server name", name)
        except SynapseAdminError as exc:
            if exc.status is None:
                raise
            if not self.access_token:
                raise SynapseAdminError(
                    "Cannot learn the server name from %s/_matrix/key/v2/server (%s). Set the server_name option."
                    % (self.server_url, exc), status=exc.status, errcode=exc.errcode, error=exc.error
                )
            name = None
        if not name and self.access_token:
            dummy, data = self.request("GET", "/_matrix/client/v3/account/whoami")
            user_id = answer_field(data, "user_id", (str,), "GET /_matrix/client/v3/account/whoami")
            name = user_id.split(":", 1)[1] if user_id.startswith("@") and ":" in user_id else None
            if not name or not SERVER_NAME_RE.match(name):
                raise unexpected("GET /_matrix/client/v3/account/whoami", "'user_id' is not a Matrix user ID",
                                 user_id)
        if not name:
            raise SynapseAdminError("Cannot learn the server name from Synapse; set the server_name option.")
        self._server_name = name
        return name

    # -- shared-secret registration -------------------------------------------------------------------------

    def get_nonce(self):
        dummy, data = self.request("GET", "/_synapse/admin/v1/register", auth=False)
        nonce = answer_field(data, "nonce", (str,), "GET /_synapse/admin/v1/register")
        if not nonce:
            raise unexpected("GET /_synapse/admin/v1/register", "'nonce' is empty", nonce)
        return nonce

    def register(self, shared_secret, username, password, admin=False, user_type=None, displayname=None,
                 inhibit_login=True):
        """Register through the shared-secret API. Returns the response, or ``None`` if the user exists."""
        nonce = self.get_nonce()
        payload = build_register_payload(shared_secret, nonce, username, password, admin, user_type,
                                         displayname, inhibit_login)
        try:
            dummy, data = self.request("POST", "/_synapse/admin/v1/register", body=payload, auth=False)
        except SynapseAdminError as exc:
            if exc.errcode == "M_USER_IN_USE":
                return None
            error = exc.error or ""
            if exc.status == 403 and "HMAC incorrect" in error:
                raise SynapseAdminError(
                    "Synapse rejected the shared secret (403 HMAC incorrect): shared_secret / shared_secret_file "
                    "does not match the server's registration_shared_secret.", exc.status, exc.errcode, error)
            if "Shared secret registration is not enabled" in error:
                raise SynapseAdminError(
                    "Shared-secret registration is not enabled on this server (400). Set "
                    "registration_shared_secret_path (or registration_shared_secret) in homeserver.yaml.",
                    exc.status, exc.errcode, error)
            if exc.errcode == "M_INVALID_USERNAME" or error in ("Invalid username",):
                raise SynapseAdminError("Synapse refused the user name %r: %s" % (username, error),
                                        exc.status, exc.errcode, error)
            if error == "Invalid user type":
                raise SynapseAdminError("Synapse does not know user_type %r (built in: bot, support; others come "
                                        "from the user_types setting)" % user_type, exc.status, exc.errcode, error)
            raise
        where = "POST /_synapse/admin/v1/register"
        user_id = answer_field(data, "user_id", (str,), where)
        if not user_id.startswith("@") or ":" not in user_id:
            raise unexpected(where, "'user_id' is not a Matrix user ID", user_id)
        if not inhibit_login:
            answer_field(data, "access_token", (str,), where)
            answer_field(data, "device_id", (str,), where)
        return data

    # -- users ----------------------------------------------------------------------------------------------

    def get_user(self, user_id):
        """``GET /_synapse/admin/v2/users/<user_id>``; ``None`` when the account does not exist."""
        path = "/_synapse/admin/v2/users/%s" % quote(user_id, safe="")
        try:
            dummy, data = self.request("GET", path)
        except SynapseAdminError as exc:
            if exc.status == 404 and exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return check_user_object(data, user_id, "GET " + path)

    def put_user(self, user_id, body):
        path = "/_synapse/admin/v2/users/%s" % quote(user_id, safe="")
        dummy, data = self.request("PUT", path, body=body)
        return check_user_object(data, user_id, "PUT " + path)

    def deactivate(self, user_id, erase=False):
        dummy, data = self.request("POST", "/_synapse/admin/v1/deactivate/%s" % quote(user_id, safe=""),
                                   body={"erase": bool(erase)})
        return data

    def profile_exists(self, user_id):
        """True if the public profile exists, ``None`` when the server cannot tell (auth required, empty profile).

        A rate-limited look-up (429, Synapse's ``rc_profile``) raises, so a caller can stop asking.
        """
        try:
            self.request("GET", "/_matrix/client/v3/profile/%s" % quote(user_id, safe=""), auth=False,
                         wait_ratelimit=False)
        except SynapseAdminError as exc:
            if exc.status is not None and exc.status < 500 and exc.status != 429:
                return None
            raise
        return True

    def username_available(self, localpart):
        """Public ``/register/available``: True/False, or ``None`` when the server will not say."""
        try:
            dummy, data = self.request("GET", "/_matrix/client/v3/register/available", query={"username": localpart},
                                       auth=False)
        except SynapseAdminError as exc:
            if exc.errcode == "M_USER_IN_USE":
                return False
            if exc.errcode == "M_INVALID_USERNAME":
                raise SynapseAdminError("Synapse refused the user name %r: %s" % (localpart, exc.error),
                                        exc.status, exc.errcode, exc.error)
            if exc.status in (403, 429):
                return None
            raise
        return answer_field(data, "available", (bool,), "GET /_matrix/client/v3/register/available")

    # -- login / logout -------------------------------------------------------------------------------------

    def login(self, user, password):
        """``m.login.password``; the login response, or ``None`` when the password is wrong."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": DEVICE_DISPLAY_NAME,
        }
        try:
            dummy, data = self.request("POST", "/_matrix/client/v3/login", body=body, auth=False)
        except SynapseAdminError as exc:
            if exc.status == 403 and exc.errcode in ("M_FORBIDDEN", "M_USER_DEACTIVATED"):
                return None
            raise
        token = answer_field(data, "access_token", (str,), "POST /_matrix/client/v3/login")
        if not token:
            raise unexpected("POST /_matrix/client/v3/login", "'access_token' is empty", token)
        answer_field(data, "user_id", (str,), "POST /_matrix/client/v3/login")
        return data

    def logout(self, token):
        self.request("POST", "/_matrix/client/v3/logout", body={}, token=token)

    def check_password(self, user_id, password):
        """Whether ``password`` logs ``user_id`` in; the device the check created is logged out again."""
        data = self.login(user_id, password)
        if data is None:
            return False
        token = data.get("access_token")
        if token:
            self.logout(token)
        return True

    # -- user listing and devices -------------------------------------------------------------------------------

    def list_users(self, query, limit, page_size=100):
        """``GET /_synapse/admin/v3/users`` page after page until ``limit`` accounts or the end; ``(users, total)``."""
        where = "GET /_synapse/admin/v3/users"
        users, total, start = [], None, None
        while len(users) < limit:
            page = dict(query, limit=str(min(page_size, limit - len(users))))
            if start is not None:
                page["from"] = start
            dummy, data = self.request("GET", "/_synapse/admin/v3/users", query=page)
            items = answer_field(data, "users", (list,), where)
            total = answer_field(data, "total", (int,), where)
            for item in items:
                answer_field(item, "name", (str,), where)
                users.append(item)
            next_token = answer_field(data, "next_token", (str, int), where, required=False)
            if next_token is ABSENT or not items:
                break
            if str(next_token) == str(start):
                raise unexpected(where, "'next_token' repeats the page asked for", next_token)
            start = str(next_token)
        return users[:limit], total

    def get_devices(self, user_id):
        """The devices of ``user_id`` (``GET /_synapse/admin/v2/users/<user_id>/devices``)."""
        path = "/_synapse/admin/v2/users/%s/devices" % quote(user_id, safe="")
        dummy, data = self.request("GET", path)
        devices = answer_field(data, "devices", (list,), "GET " + path)
        for device in devices:
            answer_field(device, "device_id", (str,), "GET " + path)
        return devices

    def delete_devices(self, user_id, device_ids):
        """Delete devices and their access tokens (``POST .../delete_devices``)."""
        path = "/_synapse/admin/v2/users/%s/delete_devices" % quote(user_id, safe="")
        self.request("POST", path, body={"devices": list(device_ids)})

    # -- rooms ----------------------------------------------------------------------------------------------------

    def resolve_alias(self, alias):
        """The room ID an alias points to, or None when it does not resolve (404)."""
        path = "/_matrix/client/v3/directory/room/%s" % quote(alias, safe="")
        try:
            dummy, data = self.request("GET", path)
        except SynapseAdminError as exc:
            if exc.status == 404:
                return None
            raise
        room_id = answer_field(data, "room_id", (str,), "GET " + path)
        if not ROOM_ID_RE.match(room_id):
            raise unexpected("GET " + path, "'room_id' is not a room ID", room_id)
        return room_id

    def get_room(self, room_id):
        """Room details (``GET /_synapse/admin/v1/rooms/<room_id>``), None when the server does not know the room."""
        path = "/_synapse/admin/v1/rooms/%s" % quote(room_id, safe="")
        try:
            dummy, data = self.request("GET", path)
        except SynapseAdminError as exc:
            if exc.status == 404 and exc.errcode == "M_NOT_FOUND":
                return None
            raise
        if answer_field(data, "room_id", (str,), "GET " + path) != room_id:
            raise unexpected("GET " + path, "'room_id' should be %s" % room_id, data.get("room_id"))
        for key in ("joined_members", "joined_local_members"):
            answer_field(data, key, (int,), "GET " + path)
        return data

    def room_members(self, room_id):
        path = "/_synapse/admin/v1/rooms/%s/members" % quote(room_id, safe="")
        dummy, data = self.request("GET", path)
        members = answer_field(data, "members", (list,), "GET " + path)
        if any(not isinstance(m, str) for m in members):
            raise unexpected("GET " + path, "'members' must be a list of user IDs", members)
        return members

    def room_power_levels(self, room_id):
        """The content of the room's m.room.power_levels state event ({} when there is none)."""
        path = "/_synapse/admin/v1/rooms/%s/state" % quote(room_id, safe="")
        dummy, data = self.request("GET", path, query={"type": "m.room.power_levels"})
        state = answer_field(data, "state", (list,), "GET " + path)
        for event in state:
            if isinstance(event, dict) and event.get("type") == "m.room.power_levels" and event.get("state_key") == "":
                content = answer_field(event, "content", (dict,), "GET " + path)
                return content
        return {}

    def get_block(self, room_id):
        path = "/_synapse/admin/v1/rooms/%s/block" % quote(room_id, safe="")
        dummy, data = self.request("GET", path)
        return answer_field(data, "block", (bool,), "GET " + path)

    def set_block(self, room_id, block):
        path = "/_synapse/admin/v1/rooms/%s/block" % quote(room_id, safe="")
        dummy, data = self.request("PUT", path, body={"block": bool(block)})
        if answer_field(data, "block", (bool,), "PUT " + path) != bool(block):
            raise unexpected("PUT " + path, "'block' should be %s" % bool(block), data.get("block"))

    def make_room_admin(self, room_id, user_id):
        path = "/_synapse/admin/v1/rooms/%s/make_room_admin" % quote(room_id, safe="")
        self.request("POST", path, body={"user_id": user_id})

    def delete_room(self, room_id, body):
        """Start an asynchronous delete (``DELETE /_synapse/admin/v2/rooms/<room_id>``); returns its delete_id."""
        path = "/_synapse/admin/v2/rooms/%s" % quote(room_id, safe="")
        dummy, data = self.request("DELETE", path, body=body)
        delete_id = answer_field(data, "delete_id", (str,), "DELETE " + path)
        if not delete_id:
            raise unexpected("DELETE " + path, "'delete_id' is empty", delete_id)
        return delete_id

    def delete_status(self, delete_id=None, room_id=None):
        """One delete task by ``delete_id``, or the list of a room's recent tasks by ``room_id``."""
        if delete_id is not None:
            path = "/_synapse/admin/v2/rooms/delete_status/%s" % quote(delete_id, safe="")
            dummy, data = self.request("GET", path)
            tasks = [data]
        else:
            path = "/_synapse/admin/v2/rooms/%s/delete_status" % quote(room_id, safe="")
            try:
                dummy, data = self.request("GET", path)
            except SynapseAdminError as exc:
                if exc.status == 404:
                    return []
                raise
            tasks = answer_field(data, "results", (list,), "GET " + path)
        for task in tasks:
            status = answer_field(task, "status", (str,), "GET " + path)
            if status not in ("scheduled", "active", "complete", "failed", "purging", "shutting_down"):
                raise unexpected("GET " + path, "'status' is not a delete status", status)
            answer_field(task, "delete_id", (str,), "GET " + path)
        return tasks[0] if delete_id is not None else tasks

    def list_rooms(self, query, limit, page_size=100):
        """``GET /_synapse/admin/v1/rooms`` page after page until ``limit`` rooms or the end; ``(rooms, total)``."""
        where = "GET /_synapse/admin/v1/rooms"
        rooms, total, start = [], None, None
        while len(rooms) < limit:
            page = dict(query, limit=str(min(page_size, limit - len(rooms))))
            if start is not None:
                page["from"] = start
            dummy, data = self.request("GET", "/_synapse/admin/v1/rooms", query=page)
            items = answer_field(data, "rooms", (list,), where)
            total = answer_field(data, "total_rooms", (int,), where)
            for item in items:
                answer_field(item, "room_id", (str,), where)
                rooms.append(item)
            next_batch = answer_field(data, "next_batch", (str, int), where, required=False)
            if next_batch is ABSENT:
                next_batch = answer_field(data, "next_token", (str, int), where, required=False)
            if next_batch is ABSENT or not items:
                break
            if str(next_batch) == str(start):
                raise unexpected(where, "'next_batch' repeats the page asked for", next_batch)
            start = str(next_batch)
        return rooms[:limit], total

    # -- media ----------------------------------------------------------------------------------------------------

    def media_info(self, server_name, media_id):
        """``GET /_synapse/admin/v1/media/<origin>/<media_id>``'s media_info; None when Synapse does not have it."""
        path = "/_synapse/admin/v1/media/%s/%s" % (quote(server_name, safe=""), quote(media_id, safe=""))
        try:
            dummy, data = self.request("GET", path)
        except SynapseAdminError as exc:
            if exc.status == 404:
                return None
            raise
        info = answer_field(data, "media_info", (dict,), "GET " + path)
        answer_field(info, "quarantined_by", (str, type(None)), "GET " + path)
        return info

    def quarantine_media(self, server_name, media_id):
        self.request("POST", "/_synapse/admin/v1/media/quarantine/%s/%s"
                     % (quote(server_name, safe=""), quote(media_id, safe="")), body={})

    def unquarantine_media(self, server_name, media_id):
        self.request("POST", "/_synapse/admin/v1/media/unquarantine/%s/%s"
                     % (quote(server_name, safe=""), quote(media_id, safe="")), body={})

    def delete_media(self, server_name, media_id):
        path = "/_synapse/admin/v1/media/%s/%s" % (quote(server_name, safe=""), quote(media_id, safe=""))
        dummy, data = self.request("DELETE", path, body={})
        answer_field(data, "total", (int,), "DELETE " + path)

    def user_media(self, user_id, page_size=100):
        """Every local media item ``user_id`` uploaded (``GET /_synapse/admin/v1/users/<user_id>/media``)."""
        path = "/_synapse/admin/v1/users/%s/media" % quote(user_id, safe="")
        media, start = [], None
        while True:
            query = {"limit": str(page_size)}
            if start is not None:
                query["from"] = start
            dummy, data = self.request("GET", path, query=query)
            items = answer_field(data, "media", (list,), "GET " + path)
            for item in items:
                answer_field(item, "media_id", (str,), "GET " + path)
                answer_field(item, "quarantined_by", (str, type(None)), "GET " + path, required=False)
                media.append(item)
            next_token = answer_field(data, "next_token", (str, int), "GET " + path, required=False)
            if next_token is ABSENT or not items:
                return media
            if str(next_token) == str(start):
                raise unexpected("GET " + path, "'next_token' repeats the page asked for", next_token)
            start = str(next_token)

    def quarantine_user_media(self, user_id):
        path = "/_synapse/admin/v1/user/%s/media/quarantine" % quote(user_id, safe="")
        dummy, data = self.request("POST", path, body={})
        return answer_field(data, "num_quarantined", (int,), "POST " + path)

    def room_media(self, room_id):
        """The mxc URIs of a room's media, local and remote (``GET /_synapse/admin/v1/room/<room_id>/media``)."""
        path = "/_synapse/admin/v1/room/%s/media" % quote(room_id, safe="")
        dummy, data = self.request("GET", path)
        uris = []
        for key in ("local", "remote"):
            items = answer_field(data, key, (list,), "GET " + path)
            if any(not isinstance(uri, str) or not uri.startswith("mxc://") for uri in items):
                raise unexpected("GET " + path, "%r must be a list of mxc:// URIs" % key, items)
            uris.extend(items)
        return uris

    def quarantine_room_media(self, room_id):
        path = "/_synapse/admin/v1/room/%s/media/quarantine" % quote(room_id, safe="")
        dummy, data = self.request("POST", path, body={})
        return answer_field(data, "num_quarantined", (int,), "POST " + path)

    def purge_media_cache(self, before_ts):
        dummy, data = self.request("POST", "/_synapse/admin/v1/purge_media_cache", query={"before_ts": str(before_ts)},
                                   body={})
        return answer_field(data, "deleted", (int,), "POST /_synapse/admin/v1/purge_media_cache")

    def delete_local_media(self, before_ts, size_gt=0, keep_profiles=True):
        where = "POST /_synapse/admin/v1/media/delete"
        query = {"before_ts": str(before_ts), "size_gt": str(size_gt), "keep_profiles": "true" if keep_profiles else "false"}
        dummy, data = self.request("POST", "/_synapse/admin/v1/media/delete", query=query, body={})
        deleted = answer_field(data, "deleted_media", (list,), where)
        if any(not isinstance(item, str) for item in deleted):
            raise unexpected(where, "'deleted_media' must be a list of media IDs", deleted)
        return deleted

    # -- registration tokens --------------------------------------------------------------------------------

    def list_tokens(self, valid=None):
        query = None if valid is None else {"valid": "true" if valid else "false"}
        where = "GET /_synapse/admin/v1/registration_tokens"
        dummy, data = self.request("GET", "/_synapse/admin/v1/registration_tokens", query=query)
        items = answer_field(data, "registration_tokens", (list,), where)
        return [check_token_object(item, where) for item in items]

    def get_token(self, token):
        path = "/_synapse/admin/v1/registration_tokens/%s" % quote(token, safe="")
        try:
            dummy, data = self.request("GET", path)
        except SynapseAdminError as exc:
            if exc.status == 404 and exc.errcode == "M_NOT_FOUND":
                return None
            raise
        found = check_token_object(data, "GET " + path)
        if found["token"] != token:
            raise unexpected("GET " + path, "the token should be %r" % token, found["token"])
        return found

    def create_token(self, body):
        where = "POST /_synapse/admin/v1/registration_tokens/new"
        dummy, data = self.request("POST", "/_synapse/admin/v1/registration_tokens/new", body=body)
        created = check_token_object(data, where)
        if body.get("token") and created["token"] != body["token"]:
            raise unexpected(where, "the token should be %r" % body["token"], created["token"])
        return created

    def update_token(self, token, body):
        path = "/_synapse/admin/v1/registration_tokens/%s" % quote(token, safe="")
        dummy, data = self.request("PUT", path, body=body)
        return check_token_object(data, "PUT " + path)

    def delete_token(self, token):
        self.request("DELETE", "/_synapse/admin/v1/registration_tokens/%s" % quote(token, safe=""))


def _decode_json(raw):
    try:
        return json.loads(to_text(raw, errors="surrogate_or_strict"))
    except (ValueError, TypeError):
        return None


class AdminSession:
    """Admin credentials for a run: an access token, or a password login logged out again at the end.

    Use as a context manager around the work; the login's device is logged out even when the work fails.
    """

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self._login_token = None
        # The account and device of the module's own login (admin_user), None with access_token.
        self.user_id = None
        self.device_id = None

    def __enter__(self):
        params = self.module.params
        if params.get("access_token"):
            self.client.access_token = params["access_token"]
            return self
        data = self.client.login(params["admin_user"], params["admin_password"])
        if data is None:
            raise SynapseAdminError(
                "Synapse refused the login of admin_user %s (403 Invalid username or password)." % params["admin_user"]
            )
        self._login_token = data.get("access_token")
        if not self._login_token:
            raise SynapseAdminError("The login of admin_user %s returned no access token." % params["admin_user"])
        self.user_id = data.get("user_id")
        self.device_id = data.get("device_id") if isinstance(data.get("device_id"), str) else None
        self.module.no_log_values.add(self._login_token)
        self.client.access_token = self._login_token
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self._login_token:
            try:
                self.client.logout(self._login_token)
            except SynapseAdminError as exc:
                self.module.warn("Could not log out the device of admin_user: %s" % exc)
            self._login_token = None
            self.client.access_token = None
        return False
