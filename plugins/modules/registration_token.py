#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: registration_token
short_description: Create, update and delete Synapse registration tokens
version_added: 0.1.0
description:
  - Manages registration tokens (invites that let people register while C(registration_requires_token) is on)
    through Synapse's admin API C(/_synapse/admin/v1/registration_tokens).
  - Idempotent by token name; only fields that differ are updated.
  - The API works whatever the configuration; to make registration require a token set C(enable_registration) and
    C(registration_requires_token) in C(homeserver.yaml).
author:
  - homeserver.synapse maintainers (!UNKNOWN)
extends_documentation_fragment:
  - homeserver.synapse.synapse_admin
  - homeserver.synapse.synapse_admin.admin_auth
options:
  token:
    description:
      - The token string, 1 to 64 characters from C(A-Z a-z 0-9 . _ ~ -); other values fail before the server is called.
      - Omitted with O(state=present), Synapse generates a new random token of O(length) characters on every run
        (always C(changed)); read it from RV(token.token).
      - Required with O(state=absent).
    type: str
  length:
    description:
      - Length of a generated token (when O(token) is omitted), 1 to 64.
    type: int
    default: 16
  uses_allowed:
    description:
      - How many registrations the token allows, from V(0) (unusable) to V(2147483647).
      - V(unlimited) (or leaving it out when the token is created) means no limit.
      - Left out, an existing token keeps its current limit.
    type: raw
  expiry_time:
    description:
      - When the token expires, in milliseconds since the Unix epoch. V(never) removes the expiry.
      - Left out, an existing token keeps its expiry. A time in the past fails when it would have to be written.
      - Values after the end of the year 9999 (V(253402300799999), usually microseconds given for milliseconds) fail before
        anything is sent.
      - Mutually exclusive with O(expires_in).
    type: raw
  expires_in:
    description:
      - Expiry relative to now, such as V(30m), V(12h), V(7d), V(2w) or V(1d12h) (units w, d, h, m, s; a bare number
        is seconds).
      - The relative time gives a new absolute time on every run, so it is applied only when the token is created or
        has no expiry yet. A token that already expires keeps its expiry (C(changed=false)); to move an existing
        token's expiry use O(expiry_time).
    type: str
  state:
    description:
      - V(present) creates or updates the token, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: homeserver.synapse.registration_token_info
  - module: homeserver.synapse.register_user
  - name: Synapse registration tokens API
    description: The admin API this module uses.
    link: https://element-hq.github.io/synapse/latest/usage/administration/admin_api/registration_tokens.html
"""

EXAMPLES = r"""
- name: An invite for the onboarding week, ten registrations
  homeserver.synapse.registration_token:
    token: welcome-2026
    uses_allowed: 10
    expires_in: 7d
    access_token: "{{ synapse_admin_token }}"

- name: Generate a single-use token, logging in as an admin
  homeserver.synapse.registration_token:
    uses_allowed: 1
    expires_in: 2d
    admin_user: admin
    admin_password: "{{ synapse_admin_password }}"
  register: invite

- name: Show the generated token
  ansible.builtin.debug:
    msg: "Register with token {{ invite.token.token }}"

- name: Lift the limit and the expiry of an existing token
  homeserver.synapse.registration_token:
    token: welcome-2026
    uses_allowed: unlimited
    expiry_time: never
    access_token: "{{ synapse_admin_token }}"

- name: Revoke the token
  homeserver.synapse.registration_token:
    token: welcome-2026
    state: absent
    access_token: "{{ synapse_admin_token }}"
"""

RETURN = r"""
token:
  description:
    - The registration token as Synapse holds it after the run (in check mode, as it would be).
    - An empty dict with O(state=absent).
  returned: always
  type: dict
  contains:
    token:
      description: The token string (null in check mode when Synapse would generate it).
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
    MAX_USES_ALLOWED,
    now_ms,
    parse_duration,
    synapse_admin_argument_spec,
    token_changes,
    validate_expiry_ms,
    validate_token_name,
)

UNSET = object()


def parse_count(value):
    """``uses_allowed``: UNSET when not given, None for unlimited, else an int >= 0."""
    if value is None:
        return UNSET
    if isinstance(value, str) and value.strip().lower() in ("unlimited", "null", "none"):
        return None
    if isinstance(value, bool):
        raise ValueError("uses_allowed must be a non-negative integer or 'unlimited', not %r" % (value,))
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ValueError("uses_allowed must be a non-negative integer or 'unlimited', not %r" % (value,))
    if isinstance(value, float) and value != count:
        raise ValueError("uses_allowed must be a whole number, not %r" % (value,))
    if count < 0:
        raise ValueError("uses_allowed must not be negative (%d)" % count)
    if count > MAX_USES_ALLOWED:
        raise ValueError("uses_allowed must be at most %d (Synapse stores it as a 32-bit integer), not %d"
                         % (MAX_USES_ALLOWED, count))
    return count


def parse_expiry(value):
    """``expiry_time``: UNSET when not given, None for 'never', else an int (ms since the epoch)."""
    if value is None:
        return UNSET
    if isinstance(value, str) and value.strip().lower() in ("never", "null", "none"):
        return None
    if isinstance(value, bool):
        raise ValueError("expiry_time must be milliseconds since the epoch or 'never', not %r" % (value,))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("expiry_time must be milliseconds since the epoch or 'never', not %r" % (value,))
    if isinstance(value, float) and value != number:
        raise ValueError("expiry_time must be a whole number of milliseconds, not %r" % (value,))
    return validate_expiry_ms(number)


def check_future(expiry, now):
    if expiry is not None and expiry <= now:
        raise ValueError("expiry_time %d is in the past (now is %d ms since the epoch); Synapse refuses it"
                         % (expiry, now))


def desired_state(params, current, now):
    """``(wanted token object, body to send)``; body is None when nothing has to change."""
    uses_allowed = parse_count(params["uses_allowed"])
    expiry = parse_expiry(params["expiry_time"])
    if params["expires_in"]:
        relative = now + parse_duration(params["expires_in"]) * 1000
    else:
        relative = UNSET

    if current is None:
        body = {}
        if params["token"]:
            body["token"] = params["token"]
        else:
            body["length"] = params["length"]
        body["uses_allowed"] = None if uses_allowed is UNSET else uses_allowed
        if expiry is not UNSET:
            check_future(expiry, now)
            body["expiry_time"] = expiry
        elif relative is not UNSET:
            body["expiry_time"] = relative
        else:
            body["expiry_time"] = None
        wanted = {
            "token": params["token"],
            "uses_allowed": body["uses_allowed"],
            "pending": 0,
            "completed": 0,
            "expiry_time": body["expiry_time"],
        }
        return wanted, body

    set_expiry = False
    wanted_expiry = current.get("expiry_time")
    if expiry is not UNSET:
        set_expiry, wanted_expiry = True, expiry
    elif relative is not UNSET and current.get("expiry_time") is None:
        set_expiry, wanted_expiry = True, relative
    changes = token_changes(
        current,
        uses_allowed=None if uses_allowed is UNSET else uses_allowed, set_uses_allowed=uses_allowed is not UNSET,
        expiry_time=wanted_expiry, set_expiry_time=set_expiry,
    )
    if "expiry_time" in changes:
        check_future(changes["expiry_time"], now)
    wanted = dict(current)
    wanted.update(changes)
    return wanted, (changes or None)


def run(module, client):
    params = module.params
    try:
        if params["token"] is not None:
            validate_token_name(params["token"])
        if not 1 <= params["length"] <= 64:
            raise ValueError("length must be between 1 and 64, not %d" % params["length"])
        parse_count(params["uses_allowed"])
        parse_expiry(params["expiry_time"])
        if params["expires_in"]:
            parse_duration(params["expires_in"])
    except ValueError as exc:
        raise SynapseAdminError("Invalid input, nothing was sent to Synapse: %s" % exc)

    with AdminSession(module, client):
        current = client.get_token(params["token"]) if params["token"] else None
        if params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                client.delete_token(params["token"])
            return dict(changed=changed, token={}, diff=dict(before=current or {}, after={}))

        try:
            wanted, body = desired_state(params, current, now_ms())
        except ValueError as exc:
            raise SynapseAdminError("Invalid input, nothing was changed: %s" % exc)
        changed = body is not None
        if changed and not module.check_mode:
            if current is None:
                wanted = client.create_token(body)
            else:
                wanted = client.update_token(params["token"], body)
        return dict(changed=changed, token=wanted, diff=dict(before=current or {}, after=wanted))


def main():
    argument_spec = synapse_admin_argument_spec(admin_auth=True)
    argument_spec.update(
        token=dict(type="str", no_log=False),
        length=dict(type="int", default=16),
        uses_allowed=dict(type="raw"),
        expiry_time=dict(type="raw"),
        expires_in=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("expiry_time", "expires_in")] + ADMIN_AUTH_MUTUALLY_EXCLUSIVE,
        required_together=ADMIN_AUTH_REQUIRED_TOGETHER,
        required_one_of=ADMIN_AUTH_REQUIRED_ONE_OF,
        required_if=[("state", "absent", ("token",))],
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
