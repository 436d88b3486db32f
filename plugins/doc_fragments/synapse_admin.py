# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the Synapse admin modules (see plugins/module_utils/synapse_admin.py)."""

    # Connection to the Synapse HTTP API; matches synapse_admin_argument_spec().
    DOCUMENTATION = r"""
options:
  server_url:
    description:
      - Base URL of a Synapse HTTP listener that serves the C(client) resource (and so the admin API).
      - The modules run on the Synapse host by default, so the loopback listener is the right choice.
      - Only C(http://) and C(https://) URLs with a host are accepted; anything else fails before a request is sent.
    type: str
    default: http://127.0.0.1:8008
  timeout:
    description:
      - Timeout of each HTTP request, in seconds, from V(1) to V(3600).
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate when O(server_url) is C(https).
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check mode and return a prediction of the changed status without modifying the server.
  diff_mode:
    description: Returns details on what changed (or would change in check mode) when run with C(--diff).
  platform:
    description: Target OS families the module can run on.
    support: full
    platforms: posix
notes:
  - The modules talk to Synapse over HTTP with Ansible's own URL code; the target needs no extra Python packages.
  - Every answer the modules use is checked for the shape Synapse gives it; anything else (HTML, fields of the
    wrong type, missing fields) fails with a message naming the endpoint, and nothing further is sent.
  - Synapse documents that C(/_synapse/admin) should not be exposed publicly; run the modules on the Synapse
    host (the default) or point O(server_url) at a private listener.
"""

    # Admin authentication for the admin API; matches synapse_admin_argument_spec(admin_auth=True).
    ADMIN_AUTH = r"""
options:
  access_token:
    description:
      - "Access token of a Synapse server admin, sent as C(Authorization: Bearer)."
      - Mutually exclusive with O(admin_user). One of the two is required.
    type: str
  admin_user:
    description:
      - Localpart or full Matrix ID of a server admin. The module logs in with C(m.login.password),
        uses the session for its calls and logs that device out at the end, also when the task fails.
      - Logins are rate-limited by Synapse (C(rc_login), five in a burst per client address by default);
        prefer O(access_token) when many tasks run in a row.
    type: str
  admin_password:
    description:
      - Password of O(admin_user).
    type: str
"""
