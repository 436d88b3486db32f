# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.user_info against the fake Synapse."""

from __future__ import annotations

import json

import pytest

from ansible_collections.homeserver.synapse.plugins.modules import user_info

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import


def run(capsys, fake, check_mode=False, **args):
    args.setdefault("server_url", fake.url)
    failed, result = run_module(user_info.main, args, capsys, check_mode=check_mode)
    assert "Traceback" not in json.dumps(result)
    return failed, result


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


def test_one_user_with_details(synapse, capsys, admin_token):  # noqa: F811
    user_id = synapse.add_user("alice", "pw-alice-1", displayname="Alice")
    synapse.users[user_id]["threepids"] = [{"medium": "email", "address": "alice@test.local", "added_at": 1,
                                           "validated_at": 2}]
    synapse.users[user_id]["external_ids"] = [{"auth_provider": "oidc", "external_id": "abc"}]
    synapse.add_device(user_id, last_seen_ts=1000)
    synapse.add_device(user_id, last_seen_ts=3000)
    for check_mode in (False, True):
        failed, result = run(capsys, synapse, check_mode=check_mode, user="alice", access_token=admin_token)
        assert not failed, result
        assert result["changed"] is False
        (alice,) = result["users"]
        assert alice["user_id"] == user_id and alice["displayname"] == "Alice"
        assert alice["admin"] is False and alice["deactivated"] is False
        assert alice["devices_count"] == 2
        assert alice["last_seen_ts"] == 3000, "last seen from the devices when the account object has none"
        assert alice["threepids"][0]["address"] == "alice@test.local"
        assert alice["external_ids"] == [{"auth_provider": "oidc", "external_id": "abc"}]
    assert synapse.writes() == []


def test_missing_user_is_an_empty_result(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, user="@nobody:test.local", access_token=admin_token)
    assert not failed and result["users"] == []


def test_invalid_user_name_sends_nothing(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, user="Bad Name!", access_token=admin_token)
    assert failed and "nothing was sent" in result["msg"] and "'Bad Name!'" in result["msg"]
    assert synapse.requests == []


def test_list_filters_and_paging(synapse, capsys, admin_token):  # noqa: F811
    for index in range(250):
        synapse.add_user("user%03d" % index, "pw", displayname="Team %d" % index)
    synapse.add_user("smith", "pw", displayname="Agent Smith", deactivated=True)
    failed, result = run(capsys, synapse, access_token=admin_token, limit=1000)
    assert not failed, result
    assert len(result["users"]) == 252 and result["total"] == 252
    assert synapse.count("GET", "/_synapse/admin/v3/users") == 3, "100 per page"
    names = [u["user_id"] for u in result["users"]]
    assert names == sorted(names)

    failed, result = run(capsys, synapse, access_token=admin_token, limit=5, order_by="name", descending=True)
    assert [u["user_id"] for u in result["users"]][0] == "@user249:test.local" and len(result["users"]) == 5

    failed, result = run(capsys, synapse, access_token=admin_token, admins=True)
    assert [u["user_id"] for u in result["users"]] == ["@root:test.local"]

    failed, result = run(capsys, synapse, access_token=admin_token, deactivated=True)
    assert [u["user_id"] for u in result["users"]] == ["@smith:test.local"]
    assert result["users"][0]["deactivated"] is True

    failed, result = run(capsys, synapse, access_token=admin_token, name="Smith")
    assert [u["user_id"] for u in result["users"]] == ["@smith:test.local"]


def test_list_limit_range(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, access_token=admin_token, limit=0)
    assert failed and "limit must be between 1 and 100000" in result["msg"]


def test_user_and_filters_are_exclusive(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, access_token=admin_token, user="alice", admins=True)
    assert failed and "mutually exclusive" in result["msg"]


def test_not_an_admin(synapse, capsys):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("eve", "pw-eve"))
    failed, result = run(capsys, synapse, access_token=token)
    assert failed and "does not belong to a server admin" in result["msg"]


def test_unreachable_and_html(synapse, capsys, admin_token, free_port_url):  # noqa: F811
    failed, result = run(capsys, synapse, access_token=admin_token, server_url=free_port_url)
    assert failed and "Cannot reach Synapse" in result["msg"]
    synapse.html = True
    failed, result = run(capsys, synapse, access_token=admin_token)
    assert failed and "non-JSON" in result["msg"]


@pytest.mark.parametrize("answer, needle", [
    ({}, "'users' is missing"),
    ({"users": [1], "total": 1}, "an object was expected"),
    ({"users": [{"name": 5}], "total": 1}, "'name' must be a string"),
    ({"users": [], "total": "many"}, "'total' must be an integer"),
    ({"users": [{"name": "@a:test.local", "admin": "no"}], "total": 1}, "'admin' must be a boolean"),
    ({"users": [{"name": "@a:test.local"}], "total": 5, "next_token": "0"}, "'next_token' repeats"),
])
def test_list_answers_of_the_wrong_shape(synapse, capsys, admin_token, answer, needle):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v3/users")] = (200, answer)
    failed, result = run(capsys, synapse, access_token=admin_token)
    assert failed and "GET /_synapse/admin/v3/users" in result["msg"] and needle in result["msg"], result["msg"]


def test_devices_answer_of_the_wrong_shape(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", "pw-alice-1")
    synapse.answers[("GET", "/_synapse/admin/v2/users/%40alice%3Atest.local/devices")] = (200, {"devices": "none"})
    failed, result = run(capsys, synapse, user="alice", access_token=admin_token)
    assert failed and "'devices' must be a list" in result["msg"]


def test_admin_login_is_logged_out(synapse, capsys):  # noqa: F811
    synapse.add_user("root", "root-password-1", admin=True)
    failed, result = run(capsys, synapse, admin_user="root", admin_password="root-password-1", user="root")
    assert not failed, result
    assert result["users"][0]["admin"] is True
    assert synapse.tokens == {} and synapse.devices.get("@root:test.local") == {}
