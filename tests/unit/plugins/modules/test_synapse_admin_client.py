# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SynapseAdminClient against the fake Synapse: transport errors, rate limits, registration."""

from __future__ import annotations

import pytest

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    SynapseAdminClient,
    SynapseAdminError,
)

from synapse_fake import free_port_url, synapse  # noqa: F401  pylint: disable=unused-import


def test_register_and_user_in_use(synapse):  # noqa: F811
    client = SynapseAdminClient(synapse.url)
    data = client.register("s3cret-shared", "alice", "password-1", displayname="Alice")
    assert data == {"user_id": "@alice:test.local", "home_server": "test.local"}
    assert client.register("s3cret-shared", "alice", "password-1") is None
    assert len(synapse.nonces) == 0, "every nonce is used once"


def test_server_name_is_cached(synapse):  # noqa: F811
    client = SynapseAdminClient(synapse.url)
    assert client.server_name() == "test.local"
    assert client.server_name() == "test.local"
    assert synapse.count("GET", "/_matrix/key/v2/server") == 1
    assert SynapseAdminClient(synapse.url).server_name("configured.example") == "configured.example"


def test_check_password_logs_out(synapse):  # noqa: F811
    synapse.add_user("alice", "password-1")
    client = SynapseAdminClient(synapse.url)
    assert client.check_password("@alice:test.local", "password-1") is True
    assert client.check_password("@alice:test.local", "wrong") is False
    assert synapse.tokens == {}


def test_rate_limit_short_wait_is_retried(synapse):  # noqa: F811
    calls = []
    client = SynapseAdminClient(synapse.url, sleep=calls.append)
    original = synapse._login  # pylint: disable=protected-access
    answers = iter([True])

    def flaky(body):
        if next(answers, False):
            from synapse_fake import SynapseError  # pylint: disable=import-outside-toplevel
            raise SynapseError(429, "Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=1500)
        return original(body)

    synapse._login = flaky  # pylint: disable=protected-access
    synapse.add_user("alice", "password-1")
    assert client.login("alice", "password-1")["user_id"] == "@alice:test.local"
    assert calls == [1.5]


def test_rate_limit_long_wait_fails(synapse):  # noqa: F811
    synapse.login_ratelimited = True
    client = SynapseAdminClient(synapse.url, sleep=lambda s: pytest.fail("must not sleep %s s" % s))
    with pytest.raises(SynapseAdminError) as err:
        client.login("alice", "password-1")
    assert err.value.status == 429 and "rate-limited" in str(err.value)


def test_connection_refused(free_port_url):  # noqa: F811
    with pytest.raises(SynapseAdminError) as err:
        SynapseAdminClient(free_port_url).get_nonce()
    assert "Cannot reach Synapse" in str(err.value) and err.value.status is None


def test_html_and_not_found(synapse):  # noqa: F811
    client = SynapseAdminClient(synapse.url)
    with pytest.raises(SynapseAdminError) as err:
        client.request("GET", "/_synapse/admin/v1/nonexistent")
    assert err.value.status == 404 and "Is the admin API enabled" in str(err.value)
    synapse.html = True
    with pytest.raises(SynapseAdminError) as err:
        client.get_nonce()
    assert "non-JSON" in str(err.value) and "Welcome to nginx" in str(err.value)


def test_get_user_and_token_missing_is_none(synapse):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("root", "pw-root-1", admin=True))
    client = SynapseAdminClient(synapse.url, access_token=token)
    assert client.get_user("@nobody:test.local") is None
    assert client.get_token("nothing") is None
    assert client.get_user("@root:test.local")["admin"] is True
