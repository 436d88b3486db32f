#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: register_user
short_description: Register, reconcile and deactivate Synapse user accounts
version_added: 0.1.0
description:
  - Registers Matrix accounts on a Synapse homeserver through its shared-secret registration API
    (C(/_synapse/admin/v1/register)), the same API C(register_new_matrix_user) uses, so it works while public
    registration is closed.
  - With an admin O(access_token) it also reconciles existing accounts (admin flag, display name, user type,
    password with O(update_password=always)) through C(/_synapse/admin/v2/users/<user_id>) and deactivates
    accounts with O(state=absent).
  - O(users) handles a whole list in one module run (bulk onboarding) with one Python start, one server name
    look-up, and a few HTTP requests per user, O(concurrency) users at a time.
  - "Learning the server name: a full Matrix ID (C(@alice:example.org)) carries it; for a bare localpart the module
    uses O(server_name) when set, else reads it from Synapse's configuration on the host (O(config_paths)) when
    O(server_url) points at this host, else asks C(GET /_matrix/key/v2/server) (needs the C(federation) resource
    on the listener), else C(GET /_matrix/client/v3/account/whoami) with O(access_token). So check mode works on
    the default deployment of the C(homeserver.synapse.synapse) role, whose loopback listener serves only the
    client API."
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
options:
  user:
    description:
      - The account, as a localpart (V(alice)) or a full Matrix ID (V(@alice:example.org)) of this server.
      - Localparts may contain C(a-z), C(0-9) and C(= _ - . / +); upper-case letters are lower-cased, as Synapse does.
        Anything else fails before the server is called.
      - Exactly one of O(user) and O(users) is required.
    type: str
  password:
    description:
      - Password of the account. Required to create an account, to reactivate one, and with O(update_password=always).
    type: str
  admin:
    description:
      - Whether the account is a server admin.
      - When not set, new accounts are not admins and existing accounts keep their flag.
    type: bool
  user_type:
    description:
      - Synapse user type of a new account, V(bot), V(support) or one listed in Synapse's C(user_types) setting.
      - With O(access_token), an existing account is changed to it; V("") makes it a regular account.
    type: str
  displayname:
    description:
      - Display name. New accounts default to their localpart; with O(access_token) existing accounts are updated.
    type: str
  update_password:
    description:
      - V(on_create) sets the password only when the account is created.
      - V(always) also enforces it on existing accounts (needs O(access_token)). A password cannot be read back, so
        the module checks it by logging in with C(m.login.password) and logging that device out again; only when the
        login fails is the password set (which, as Synapse does by default, logs out the account's devices).
        The check login also happens in check mode.
      - Synapse rate-limits logins per client address (C(rc_login.address), burst 5 by default); for more accounts in
        one run raise that limit for the host, or the module fails with a rate-limit message.
    type: str
    choices: [on_create, always]
    default: on_create
  state:
    description:
      - V(present) makes sure the account exists (with O(access_token), a deactivated account is reactivated, which
        needs O(password)).
      - V(absent) deactivates the account (C(POST /_synapse/admin/v1/deactivate/<user_id>)); needs O(access_token).
        Matrix user IDs cannot be reused, so the account is deactivated, not deleted.
    type: str
    choices: [present, absent]
    default: present
  erase:
    description:
      - With O(state=absent), also erase the account (GDPR erasure of its messages for future joiners).
    type: bool
    default: false
  users:
    description:
      - A list of accounts handled in one run. Each entry takes the per-user options below; O(admin), O(user_type),
        O(update_password), O(state) and O(erase) given at the top level are the defaults for entries that do not set
        them.
      - All entries are validated before the server is called; on a server error the module stops starting new
        work and reports what was done in RV(results).
    type: list
    elements: dict
    suboptions:
      user:
        description: Localpart or full Matrix ID, as O(user).
        type: str
        required: true
      password:
        description: As O(password).
        type: str
      admin:
        description: As O(admin).
        type: bool
      user_type:
        description: As O(user_type).
        type: str
      displayname:
        description: As O(displayname).
        type: str
      update_password:
        description: As O(update_password).
        type: str
        choices: [on_create, always]
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
      erase:
        description: As O(erase).
        type: bool
  shared_secret:
    description:
      - Synapse's C(registration_shared_secret). Needed to create accounts.
      - Mutually exclusive with O(shared_secret_file).
    type: str
  shared_secret_file:
    description:
      - Path on the target of a file holding the shared secret, such as the C(registration_shared_secret_path) file
        the C(homeserver.synapse.synapse) role keeps (C(/etc/matrix-synapse/registration_shared_secret)).
        Surrounding whitespace is stripped.
    type: path
  access_token:
    description:
      - Access token of a server admin. Needed to reconcile existing accounts and for O(state=absent); it also lets
        the module see existing accounts without registering (faster re-runs, exact check mode).
      - Without it an existing account is left as it is (C(changed=false)), and a warning says which attributes were
        not checked.
    type: str
  server_name:
    description:
      - The homeserver's C(server_name). When not set it is read from O(config_paths) or asked from the server
        (see the description).
    type: str
  config_paths:
    description:
      - Synapse's configuration on the target, in the order Synapse reads it (its C(--config-path) arguments), files
        and directories whose C(*.yaml) files are read in name order. The last top-level C(server_name) wins.
      - Read only when O(server_name) is not set and O(server_url) is a loopback address or C(localhost), so that
        the configuration belongs to the Synapse the module talks to. Files that are missing or unreadable (the
        configuration is readable by root and the C(matrix-synapse) group) are skipped, and the module falls back to
        asking the server.
      - The default is the layout of the C(homeserver.synapse.synapse) role and of Debian's C(matrix-synapse)
        package. V([]) turns the look-up off.
    type: list
    elements: path
    default: [/etc/matrix-synapse/homeserver.yaml, /etc/matrix-synapse/conf.d]
  return_access_token:
    description:
      - Return an access token (and device ID) for each account the run creates. Without it registration does not
        create a device at all (C(inhibit_login)).
      - "The tokens are secrets; set C(no_log: true) on the task (the module warns when it is not)."
    type: bool
    default: false
  concurrency:
    description:
      - How many accounts are handled at the same time with O(users). Synapse hashes passwords (bcrypt) in a thread
        pool, so a few parallel requests use the server's cores; V(1) handles one account after the other.
    type: int
    default: 4
attributes:
  check_mode:
    support: full
    details:
      - Without O(access_token) the prediction uses public endpoints (profile look-up, C(/register/available));
        when they cannot tell (registration closed), the account is predicted as created and a warning says so.
  diff_mode:
    support: full
    details:
      - Shows existence, admin flag, display name, user type and deactivation before and after; never passwords.
  platform:
    platforms: posix
notes:
  - "Synapse answers a registration of an existing name with C(400 M_USER_IN_USE); the module treats that as
    'account exists', not as an error."
  - Without O(access_token), whether an account exists is read from its public profile. Synapse rate-limits
    those look-ups per client address (C(rc_profile), a burst of 500, then 1 a second). After the first refusal
    the remaining accounts are registered without looking (the result is the same; an existing name costs one
    password hash on the server) and a warning names them. With O(access_token) the admin API is used instead.
  - The device the password check creates is logged out at once; registrations without
    O(return_access_token) create no device at all.
seealso:
  - module: homeserver.synapse.registration_token
  - name: Synapse shared-secret registration API
    description: How the HMAC and the nonce work.
    link: https://element-hq.github.io/synapse/latest/admin_api/register_api.html
"""

EXAMPLES = r"""
- name: Register alice (unchanged when she exists)
  homeserver.synapse.register_user:
    user: alice
    password: "{{ alice_password }}"
    shared_secret_file: /etc/matrix-synapse/registration_shared_secret

- name: Make sure bob is an admin with this password and display name
  homeserver.synapse.register_user:
    user: "@bob:example.org"
    password: "{{ bob_password }}"
    admin: true
    displayname: Bob the Builder
    update_password: always
    shared_secret_file: /etc/matrix-synapse/registration_shared_secret
    access_token: "{{ synapse_admin_token }}"

- name: Onboard a team in one call
  homeserver.synapse.register_user:
    shared_secret_file: /etc/matrix-synapse/registration_shared_secret
    users:
      - user: carol
        password: "{{ carol_password }}"
      - user: dave
        password: "{{ dave_password }}"
        displayname: Dave
      - user: build-bot
        password: "{{ bot_password }}"
        user_type: bot
  register: onboarding

- name: Create a bot account and keep its access token
  homeserver.synapse.register_user:
    user: notifier
    password: "{{ notifier_password }}"
    user_type: bot
    shared_secret_file: /etc/matrix-synapse/registration_shared_secret
    return_access_token: true
  register: notifier
  no_log: true

- name: Deactivate and erase mallory
  homeserver.synapse.register_user:
    user: mallory
    state: absent
    erase: true
    access_token: "{{ synapse_admin_token }}"
"""

RETURN = r"""
user_id:
  description: Full Matrix ID of the account (O(user) form).
  returned: when O(user) is used
  type: str
  sample: "@alice:example.org"
created:
  description: Whether the account was created (or would be, in check mode). O(user) form.
  returned: when O(user) is used
  type: bool
  sample: true
updated:
  description: Attributes of an existing account that were changed (O(user) form).
  returned: when O(user) is used
  type: list
  elements: str
  sample: [admin, displayname]
deactivated:
  description: Whether the account was deactivated by this run (O(user) form).
  returned: when O(user) is used
  type: bool
  sample: false
access_token:
  description:
    - "Access token of the new account. A secret; run the task with C(no_log: true)."
  returned: when O(return_access_token=true), the account was created and not in check mode
  type: str
  sample: syt_YWxpY2U_lLmNmSkPObMLBKdwaBzi_2KOQ3B
device_id:
  description: Device ID that goes with RV(access_token).
  returned: when RV(access_token) is returned
  type: str
  sample: QWERTYUIOP
results:
  description: One entry per element of O(users), in the same order.
  returned: when O(users) is used
  type: list
  elements: dict
  contains:
    user:
      description: The user name as given.
      type: str
      sample: carol
    user_id:
      description: Full Matrix ID, when known.
      type: str
      sample: "@carol:example.org"
    state:
      description: The state asked for.
      type: str
      sample: present
    changed:
      description: Whether this account changed.
      type: bool
      sample: true
    created:
      description: Whether this account was created.
      type: bool
      sample: true
    updated:
      description: Attributes of an existing account that were changed.
      type: list
      elements: str
      sample: []
    deactivated:
      description: Whether this account was deactivated by this run.
      type: bool
      sample: false
    skipped:
      description: True when the entry was not handled because another entry failed first.
      type: bool
      returned: when the module failed
      sample: true
    failed:
      description: True for the entry whose server call failed.
      type: bool
      returned: when the module failed
      sample: false
    access_token:
      description: Access token of the new account (secret), as RV(access_token).
      type: str
      returned: when O(return_access_token=true) and the account was created
      sample: syt_Y2Fyb2w_lLmNmSkPObMLBKdwaBzi_2KOQ3B
    device_id:
      description: Device ID that goes with the access token.
      type: str
      returned: when the access token is returned
      sample: ASDFGHJKL
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    DEFAULT_CONFIG_PATHS,
    SynapseAdminClient,
    SynapseAdminError,
    is_local_url,
    make_user_id,
    parse_user,
    read_secret_file,
    server_name_from_config,
    synapse_admin_argument_spec,
    validate_password,
)

ENTRY_DEFAULTS = ("admin", "user_type", "update_password", "state", "erase")
ENTRY_KEYS = ("user", "password", "admin", "user_type", "displayname", "update_password", "state", "erase")
DIFF_FIELDS = ("admin", "displayname", "user_type", "deactivated")


class ModuleError(Exception):
    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


class Skipped(Exception):
    """An entry not started because another one failed."""


def build_entries(params):
    """Per-user dicts from O(user) or O(users), top-level values filling the gaps; validated, nothing sent."""
    raw = params["users"] if params["users"] is not None else [{key: params[key] for key in ENTRY_KEYS}]
    entries = []
    errors = []
    for index, item in enumerate(raw):
        entry = dict(item)
        for key in ENTRY_DEFAULTS:
            if entry.get(key) is None:
                entry[key] = params[key]
        label = entry["user"] if params["users"] is None else "users[%d] (%s)" % (index, entry.get("user"))
        entry["label"] = label
        try:
            entry["localpart"], entry["mxid_server"] = parse_user(entry["user"])
            validate_password(entry.get("password"))
        except ValueError as exc:
            errors.append("%s: %s" % (label, exc))
            continue
        if entry["state"] == "present" and entry["update_password"] == "always" and not entry.get("password"):
            errors.append("%s: update_password=always needs a password" % label)
        if entry["state"] == "absent" and not params["access_token"]:
            errors.append("%s: state=absent (deactivation) needs an admin access_token" % label)
        entries.append(entry)
    if errors:
        raise ModuleError("Invalid input, nothing was sent to Synapse: " + "; ".join(errors))
    return entries


def run_parallel(func, items, workers):
    """``func(item)`` for every item, ``workers`` at a time, results in order; after an error nothing new starts."""
    failed = threading.Event()

    def guarded(item):
        if failed.is_set():
            return Skipped()
        try:
            return func(item)
        except Exception as exc:  # pylint: disable=broad-except
            failed.set()
            return exc

    if workers <= 1 or len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(guarded, items))


def raise_first_error(outcomes, entries, results):
    for outcome, entry in zip(outcomes, entries):
        if isinstance(outcome, Exception) and not isinstance(outcome, Skipped):
            if isinstance(outcome, (SynapseAdminError, ModuleError, ValueError)):
                raise ModuleError("%s: %s" % (entry["label"], outcome), results=results)
            raise ModuleError("%s: unexpected error %s: %s" % (entry["label"], type(outcome).__name__, outcome),
                              results=results)


def snapshot(current):
    """The user attributes shown in the diff."""
    if current is None:
        return {"exists": False}
    state = {"exists": True}
    for key in DIFF_FIELDS:
        if key in current:
            state[key] = bool(current[key]) if key in ("admin", "deactivated") else current[key]
    return state


class UserManager:
    def __init__(self, module, client, secret):
        self.module = module
        self.client = client
        self.secret = secret
        self.params = module.params
        self.token = module.params["access_token"]
        self.warnings = []
        self.profile_limited = threading.Event()

    # -- probe (read-only) --------------------------------------------------------------------------------------

    def probe(self, entry):
        """Fill ``entry['current']`` (v2 user object, ``None`` absent, ``'unknown'``) and the password check."""
        user_id = entry.get("user_id")
        if self.token:
            current = self.client.get_user(user_id)
            entry["current"] = current
            if (current is not None and entry["state"] == "present" and entry["update_password"] == "always"
                    and not current.get("deactivated")):
                entry["password_ok"] = self.client.check_password(user_id, entry["password"])
            return
        if entry["state"] == "absent":
            return
        exists = self.profile_exists(entry) if user_id else None
        if exists is None and self.module.check_mode:
            available = self.client.username_available(entry["localpart"])
            exists = None if available is None else not available
        entry["current"] = {} if exists else (None if exists is False else "unknown")

    def profile_exists(self, entry):
        """The public profile probe, until Synapse rate-limits it (``rc_profile``: per IP without a token).

        Each refused look-up costs half a second (Synapse pauses before a 429), so after the first one the
        remaining accounts are not looked up: they count as unknown and are registered, which Synapse refuses
        for a name in use (the result is the same, at the price of a password hash on the server).
        """
        if self.profile_limited.is_set():
            entry["probe_skipped"] = True
            return None
        try:
            return self.client.profile_exists(entry["user_id"])
        except SynapseAdminError as exc:
            if exc.status != 429:
                raise
            self.profile_limited.set()
            entry["probe_skipped"] = True
            return None

    # -- plan -------------------------------------------------------------------------------------------------

    def plan(self, entry):
        current = entry.get("current")
        entry["action"] = "none"
        entry["updates"] = {}
        if entry["state"] == "absent":
            if current and (not current.get("deactivated") or (entry["erase"] and not current.get("erased"))):
                entry["action"] = "deactivate"
            return
        if current is None or current == "unknown":
            entry["action"] = "create" if current is None else "register"
            return
        if not self.token:
            return
        updates = {}
        if current.get("deactivated"):
            updates["deactivated"] = False
            updates["password"] = entry.get("password")
        elif entry["update_password"] == "always" and not entry.get("password_ok"):
            updates["password"] = entry["password"]
        if entry["admin"] is not None and bool(current.get("admin")) != entry["admin"]:
            updates["admin"] = entry["admin"]
        if entry.get("displayname") is not None and current.get("displayname") != entry["displayname"]:
            updates["displayname"] = entry["displayname"]
        if entry["user_type"] is not None:
            wanted_type = entry["user_type"] or None
            if current.get("user_type") != wanted_type:
                updates["user_type"] = wanted_type
        if updates:
            entry["action"] = "update"
            entry["updates"] = updates

    def check_requirements(self, entries):
        errors = []
        for entry in entries:
            action = entry["action"]
            if action in ("create", "register"):
                if not entry.get("password"):
                    errors.append("%s: a password is needed to create the account" % entry["label"])
                if not self.secret:
                    errors.append("%s: shared_secret or shared_secret_file is needed to create the account"
                                  % entry["label"])
            elif action == "update" and "deactivated" in entry["updates"] and not entry.get("password"):
                errors.append("%s: the account is deactivated; a password is needed to reactivate it" % entry["label"])
        if errors:
            raise ModuleError("Cannot apply, nothing was changed: " + "; ".join(errors))

    # -- apply ------------------------------------------------------------------------------------------------

    def apply(self, entry):
        action = entry["action"]
        if action in ("create", "register"):
            data = self.client.register(
                self.secret, entry["localpart"], entry["password"], admin=bool(entry["admin"]),
                user_type=entry["user_type"] or None, displayname=entry.get("displayname"),
                inhibit_login=not self.params["return_access_token"],
            )
            if data is None:
                entry["action"] = "none"
                entry["current"] = {}
                return
            entry["register_response"] = data
            if data.get("user_id"):
                if entry.get("user_id") and data["user_id"] != entry["user_id"]:
                    self.warnings.append("%s was registered as %s" % (entry["label"], data["user_id"]))
                entry["user_id"] = data["user_id"]
        elif action == "update":
            self.client.put_user(entry["user_id"], entry["updates"])
        elif action == "deactivate":
            self.client.deactivate(entry["user_id"], entry["erase"])

    # -- results ----------------------------------------------------------------------------------------------

    def result(self, entry):
        action = entry.get("action", "none")
        res = {
            "user": entry["user"],
            "user_id": entry.get("user_id"),
            "state": entry["state"],
            "changed": action != "none",
            "created": action in ("create", "register"),
            "updated": sorted(key for key in entry.get("updates", {}) if key != "deactivated")
            if action == "update" else [],
            "deactivated": action == "deactivate",
        }
        if action == "update" and "deactivated" in entry["updates"]:
            res["updated"].append("reactivated")
        response = entry.get("register_response") or {}
        if response.get("access_token"):
            res["access_token"] = response["access_token"]
            res["device_id"] = response.get("device_id")
        return res

    def diff(self, entry):
        current = entry.get("current")
        before = {"exists": None} if current == "unknown" else snapshot(current)
        after = dict(before)
        action = entry.get("action", "none")
        if action in ("create", "register"):
            after = {"exists": True, "admin": bool(entry["admin"]), "deactivated": False}
            after["displayname"] = entry.get("displayname") if entry.get("displayname") is not None else entry["localpart"]
            after["user_type"] = entry["user_type"] or None
        elif action == "update":
            after.update({k: v for k, v in entry["updates"].items() if k in DIFF_FIELDS})
        elif action == "deactivate":
            after["deactivated"] = True
        return before, after


def resolve_user_ids(module, client, entries):
    """Give every entry a full ``user_id`` (learning the server name once); fail on foreign server names."""
    params = module.params
    needs_name = bool(params["access_token"]) or module.check_mode
    configured, notes = params["server_name"], []
    if not configured and params["config_paths"] and is_local_url(client.server_url):
        configured, dummy, notes = server_name_from_config(params["config_paths"])
    try:
        server_name = client.server_name(configured)
    except SynapseAdminError as exc:
        if needs_name or exc.status is None:
            hint = " Synapse's configuration did not tell either (%s)." % "; ".join(notes) if notes else ""
            raise ModuleError(str(exc) + hint)
        server_name = None
    errors = []
    for entry in entries:
        own = server_name or entry["mxid_server"]
        if entry["mxid_server"] and server_name and entry["mxid_server"] != server_name:
            errors.append("%s: %s is not a user of this server (server_name %s)"
                          % (entry["label"], entry["user"], server_name))
            continue
        if own:
            try:
                entry["user_id"] = make_user_id(entry["localpart"], own)
            except ValueError as exc:
                errors.append("%s: %s" % (entry["label"], exc))
    seen = {}
    for entry in entries:
        key = entry.get("user_id") or entry["localpart"]
        if key in seen:
            errors.append("%s: the same account as %s" % (entry["label"], seen[key]))
        seen[key] = entry["label"]
    if errors:
        raise ModuleError("Invalid input, nothing was changed: " + "; ".join(errors))


def load_secret(params):
    if params["shared_secret"]:
        return params["shared_secret"]
    if params["shared_secret_file"]:
        try:
            return read_secret_file(params["shared_secret_file"])
        except ValueError as exc:
            raise ModuleError(str(exc))
    return None


def run(module):
    params = module.params
    if params["concurrency"] < 1:
        raise ModuleError("concurrency must be at least 1")
    entries = build_entries(params)
    secret = load_secret(params)
    if secret:
        module.no_log_values.add(secret)
    client = SynapseAdminClient.from_module(module)
    resolve_user_ids(module, client, entries)
    manager = UserManager(module, client, secret)
    workers = params["concurrency"]

    outcomes = run_parallel(manager.probe, entries, workers)
    raise_first_error(outcomes, entries, [])
    for entry in entries:
        manager.plan(entry)
    manager.check_requirements(entries)

    if not module.check_mode:
        todo = [entry for entry in entries if entry["action"] != "none"]
        outcomes = run_parallel(manager.apply, todo, workers)
        for outcome, entry in zip(outcomes, todo):
            if isinstance(outcome, Skipped):
                entry["skipped"] = True
            elif isinstance(outcome, Exception):
                entry["failed"] = True
        results = []
        for entry in entries:
            if entry.get("skipped") or entry.get("failed"):
                results.append({"user": entry["user"], "user_id": entry.get("user_id"), "state": entry["state"],
                                "changed": False, "skipped": bool(entry.get("skipped")), "failed": bool(entry.get("failed"))})
            else:
                results.append(manager.result(entry))
        raise_first_error(outcomes, todo, results)

    results = [manager.result(entry) for entry in entries]
    unknown = [entry["label"] for entry in entries if entry.get("current") == "unknown" and module.check_mode]
    if unknown:
        manager.warnings.append("Could not tell whether these accounts exist without access_token (registration is "
                                "closed or rate-limited); predicted as created: %s" % ", ".join(unknown))
    limited = [entry["label"] for entry in entries if entry.get("probe_skipped")]
    if limited:
        manager.warnings.append("Synapse rate-limited the profile look-ups (rc_profile), so %d account(s) were sent "
                                "to registration without looking first; Synapse refuses a name in use, after hashing "
                                "its password. Give access_token to look accounts up through the admin API: %s%s"
                                % (len(limited), ", ".join(limited[:10]),
                                   " and %d more" % (len(limited) - 10) if len(limited) > 10 else ""))
    unchecked = [
        entry["label"] for entry in entries
        if not params["access_token"] and entry["state"] == "present" and entry.get("action") == "none"
        and (entry["admin"] is not None or entry.get("displayname") is not None or entry["update_password"] == "always")
    ]
    if unchecked:
        manager.warnings.append("These accounts exist; without access_token their admin flag, display name and "
                                "password were not checked: %s" % ", ".join(unchecked))
    if params["return_access_token"] and not module.no_log and any("access_token" in r for r in results):
        manager.warnings.append("The result holds access tokens; set no_log: true on this task.")

    diffs = [manager.diff(entry) for entry in entries]
    names = [entry.get("user_id") or entry["localpart"] for entry in entries]
    output = {
        "changed": any(r["changed"] for r in results),
        "diff": {
            "before": {name: d[0] for name, d in zip(names, diffs)},
            "after": {name: d[1] for name, d in zip(names, diffs)},
        },
    }
    if params["users"] is not None:
        output["results"] = results
    else:
        output.update(results[0])
        output.pop("user", None)
        output.pop("state", None)
    for warning in manager.warnings:
        module.warn(warning)
    return output


def main():
    argument_spec = synapse_admin_argument_spec()
    entry_options = dict(
        user=dict(type="str", required=True),
        password=dict(type="str", no_log=True),
        admin=dict(type="bool"),
        user_type=dict(type="str"),
        displayname=dict(type="str"),
        update_password=dict(type="str", choices=["on_create", "always"], no_log=False),
        state=dict(type="str", choices=["present", "absent"]),
        erase=dict(type="bool"),
    )
    argument_spec.update(
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        admin=dict(type="bool"),
        user_type=dict(type="str"),
        displayname=dict(type="str"),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        erase=dict(type="bool", default=False),
        users=dict(type="list", elements="dict", options=entry_options),
        shared_secret=dict(type="str", no_log=True),
        shared_secret_file=dict(type="path"),
        access_token=dict(type="str", no_log=True),
        server_name=dict(type="str"),
        config_paths=dict(type="list", elements="path", default=list(DEFAULT_CONFIG_PATHS)),
        return_access_token=dict(type="bool", default=False),
        concurrency=dict(type="int", default=4),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("user", "users"), ("shared_secret", "shared_secret_file")],
        required_one_of=[("user", "users")],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except ModuleError as exc:
        module.fail_json(msg=exc.msg, **exc.extra)
    except SynapseAdminError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
