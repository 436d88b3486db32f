# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.user_sessions against the fake Synapse."""

from __future__ import annotations

import json

import pytest

from ansible_collections.homeserver.synapse.plugins.modules import user_sessions

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import

DELETE = "/_synapse/admin/v2/users/%40mallory%3Atest.local/delete_devices"


def run(capsys, fake, check_mode=False, diff=False, **args):
    args.setdefault("server_url", fake.url)
    failed, result = run_module(user_sessions.main, args, capsys, check_mode=check_mode, diff=diff)
    assert "Traceback" not in json.dumps(result)
    return failed, result


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


@pytest.fixture
def mallory(synapse):  # noqa: F811
    user_id = synapse.add_user("mallory", "pw-mallory")
    tokens = [synapse.add_device(user_id, device_id=name, display_name=name.lower(), last_seen_ts=1000)[1]
              for name in ("PHONE", "LAPTOP", "TABLET")]
    return user_id, tokens


def test_list_changes_nothing(synapse, capsys, admin_token, mallory):  # noqa: F811
    failed, result = run(capsys, synapse, user="mallory", access_token=admin_token)
    assert not failed, result
    assert result["changed"] is False and result["removed"] == []
    assert [d["device_id"] for d in result["devices"]] == ["PHONE", "LAPTOP", "TABLET"]
    assert result["devices"][0] == {"device_id": "PHONE", "display_name": "phone", "last_seen_ip": "127.0.0.1",
                                    "last_seen_ts": 1000, "last_seen_user_agent": "pytest"}
    assert synapse.writes() == []


def test_log_out_everywhere_check_mode_then_real_then_unchanged(synapse, capsys, admin_token, mallory):  # noqa: F811
    user_id, tokens = mallory
    failed, result = run(capsys, synapse, check_mode=True, diff=True, user="mallory", state="absent",
                         access_token=admin_token)
    assert not failed, result
    assert result["changed"] is True and result["removed"] == ["PHONE", "LAPTOP", "TABLET"]
    assert result["diff"] == {"before": {"devices": ["PHONE", "LAPTOP", "TABLET"]}, "after": {"devices": []}}
    assert synapse.writes() == [] and len(synapse.devices[user_id]) == 3

    failed, result = run(capsys, synapse, user="mallory", state="absent", access_token=admin_token)
    assert not failed and result["changed"] is True
    assert synapse.devices[user_id] == {}
    assert not any(token in synapse.tokens for token in tokens), "the old access tokens are gone"

    failed, result = run(capsys, synapse, user="@mallory:test.local", state="absent", access_token=admin_token)
    assert not failed and result["changed"] is False and result["removed"] == []
    assert synapse.count("POST", DELETE) == 1


def test_log_out_named_devices(synapse, capsys, admin_token, mallory):  # noqa: F811
    user_id, dummy = mallory
    failed, result = run(capsys, synapse, user="mallory", state="absent", devices=["LAPTOP", "GONE"],
                         access_token=admin_token)
    assert not failed and result["removed"] == ["LAPTOP"]
    assert sorted(synapse.devices[user_id]) == ["PHONE", "TABLET"]
    failed, result = run(capsys, synapse, user="mallory", state="absent", devices=["LAPTOP"], access_token=admin_token)
    assert not failed and result["changed"] is False


def test_missing_user(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, user="ghost", state="absent", access_token=admin_token)
    assert failed and result["msg"] == "There is no account @ghost:test.local on this server; nothing was logged out."
    failed, result = run(capsys, synapse, user="ghost", access_token=admin_token)
    assert not failed and result["devices"] == []


def test_own_login_device_is_left_alone(synapse, capsys):  # noqa: F811
    user_id = synapse.add_user("root", "root-password-1", admin=True)
    synapse.add_device(user_id, device_id="OLDPHONE")
    failed, result = run(capsys, synapse, user="root", state="absent", admin_user="root",
                         admin_password="root-password-1")
    assert not failed, result
    assert result["removed"] == ["OLDPHONE"] and [d["device_id"] for d in result["devices"]] == ["OLDPHONE"]
    assert result["warnings"] == []
    assert synapse.devices[user_id] == {} and synapse.tokens == {}


def test_bad_input_and_errors(synapse, capsys, admin_token, free_port_url):  # noqa: F811
    failed, result = run(capsys, synapse, user="not valid!", access_token=admin_token)
    assert failed and "nothing was sent" in result["msg"]
    failed, result = run(capsys, synapse, user="a", state="absent", devices=[""], access_token=admin_token)
    assert failed and "empty device IDs" in result["msg"]
    assert synapse.requests == []
    failed, result = run(capsys, synapse, user="@a:other.example", state="absent", access_token=admin_token)
    assert failed and "Can only look up local users" in result["msg"]
    token = synapse.issue_token(synapse.add_user("eve", "pw-eve"))
    failed, result = run(capsys, synapse, user="root", access_token=token)
    assert failed and "does not belong to a server admin" in result["msg"]
    failed, result = run(capsys, synapse, user="root", access_token=admin_token, server_url=free_port_url)
    assert failed and "Cannot reach Synapse" in result["msg"]


def test_delete_refused_is_a_failure(synapse, capsys, admin_token, mallory):  # noqa: F811
    synapse.answers[("POST", DELETE)] = (500, {"errcode": "M_UNKNOWN", "error": "Internal server error"})
    failed, result = run(capsys, synapse, user="mallory", state="absent", access_token=admin_token)
    assert failed and "POST %s with HTTP 500" % DELETE in result["msg"]


def test_devices_of_the_wrong_shape(synapse, capsys, admin_token, mallory):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v2/users/%40mallory%3Atest.local/devices")] = (
        200, {"devices": [{"device_id": None}]})
    failed, result = run(capsys, synapse, user="mallory", state="absent", access_token=admin_token)
    assert failed and "'device_id' must be a string" in result["msg"]
    assert synapse.count("POST", DELETE) == 0
