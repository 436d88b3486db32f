# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.registration_token and registration_token_info against the fake Synapse."""

from __future__ import annotations

import time

import pytest

from ansible_collections.homeserver.synapse.plugins.modules import registration_token, registration_token_info

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import

DAY_MS = 86400 * 1000


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


def tok(capsys, fake, check_mode=False, diff=False, **args):
    args.setdefault("server_url", fake.url)
    return run_module(registration_token.main, args, capsys, check_mode=check_mode, diff=diff)


def info(capsys, fake, check_mode=False, **args):
    args.setdefault("server_url", fake.url)
    return run_module(registration_token_info.main, args, capsys, check_mode=check_mode)


def now_ms():
    return int(time.time() * 1000)


# -- registration_token ------------------------------------------------------------------------------------------

def test_create_check_mode_then_real_then_unchanged(synapse, capsys, admin_token):  # noqa: F811
    args = dict(token="welcome", uses_allowed=10, expires_in="7d", access_token=admin_token)
    failed, result = tok(capsys, synapse, check_mode=True, diff=True, **args)
    assert not failed, result
    assert result["changed"] is True
    assert result["token"]["token"] == "welcome" and result["token"]["uses_allowed"] == 10
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["token"] == "welcome"
    assert synapse.reg_tokens == {} and synapse.writes() == []

    failed, result = tok(capsys, synapse, diff=True, **args)
    assert not failed and result["changed"] is True
    created = synapse.reg_tokens["welcome"]
    assert created["uses_allowed"] == 10
    assert abs(created["expiry_time"] - (now_ms() + 7 * DAY_MS)) < 60000
    assert result["token"] == created

    time.sleep(0.01)  # expires_in now yields another absolute time: it must not count as a change
    failed, result = tok(capsys, synapse, diff=True, **args)
    assert not failed and result["changed"] is False
    assert synapse.count("PUT", "/_synapse/admin/v1/registration_tokens") == 0
    assert synapse.reg_tokens["welcome"]["expiry_time"] == created["expiry_time"]


def test_update_only_differing_fields(synapse, capsys, admin_token):  # noqa: F811
    expiry = now_ms() + DAY_MS
    synapse.reg_tokens["t1"] = {"token": "t1", "uses_allowed": 5, "pending": 1, "completed": 2, "expiry_time": expiry}
    failed, result = tok(capsys, synapse, diff=True, token="t1", uses_allowed=7, expiry_time=expiry,
                         access_token=admin_token)
    assert not failed and result["changed"] is True
    assert result["diff"]["before"]["uses_allowed"] == 5 and result["diff"]["after"]["uses_allowed"] == 7
    assert result["token"]["completed"] == 2
    assert synapse.reg_tokens["t1"]["uses_allowed"] == 7

    failed, result = tok(capsys, synapse, token="t1", uses_allowed="7", expiry_time=str(expiry),
                         access_token=admin_token)
    assert not failed and result["changed"] is False


def test_omitted_fields_are_kept_and_unlimited_never(synapse, capsys, admin_token):  # noqa: F811
    expiry = now_ms() + DAY_MS
    synapse.reg_tokens["t1"] = {"token": "t1", "uses_allowed": 5, "pending": 0, "completed": 0, "expiry_time": expiry}
    failed, result = tok(capsys, synapse, token="t1", access_token=admin_token)
    assert not failed and result["changed"] is False
    failed, result = tok(capsys, synapse, token="t1", uses_allowed="unlimited", expiry_time="never",
                         access_token=admin_token)
    assert not failed and result["changed"] is True
    assert synapse.reg_tokens["t1"]["uses_allowed"] is None and synapse.reg_tokens["t1"]["expiry_time"] is None
    failed, result = tok(capsys, synapse, token="t1", uses_allowed="unlimited", expiry_time="never",
                         access_token=admin_token)
    assert not failed and result["changed"] is False


def test_expires_in_sets_expiry_of_token_without_one(synapse, capsys, admin_token):  # noqa: F811
    synapse.reg_tokens["t1"] = {"token": "t1", "uses_allowed": None, "pending": 0, "completed": 0,
                                "expiry_time": None}
    failed, result = tok(capsys, synapse, token="t1", expires_in="12h", access_token=admin_token)
    assert not failed and result["changed"] is True
    assert abs(synapse.reg_tokens["t1"]["expiry_time"] - (now_ms() + 12 * 3600000)) < 60000
    failed, result = tok(capsys, synapse, token="t1", expires_in="12h", access_token=admin_token)
    assert not failed and result["changed"] is False


def test_generated_token(synapse, capsys, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, check_mode=True, length=24, uses_allowed=1, access_token=admin_token)
    assert not failed and result["changed"] is True and result["token"]["token"] is None
    assert synapse.reg_tokens == {}
    failed, result = tok(capsys, synapse, length=24, uses_allowed=1, access_token=admin_token)
    assert not failed and result["changed"] is True
    name = result["token"]["token"]
    assert len(name) == 24 and synapse.reg_tokens[name]["uses_allowed"] == 1


def test_absent(synapse, capsys, admin_token):  # noqa: F811
    synapse.reg_tokens["gone"] = {"token": "gone", "uses_allowed": None, "pending": 0, "completed": 0,
                                  "expiry_time": None}
    failed, result = tok(capsys, synapse, check_mode=True, diff=True, token="gone", state="absent",
                         access_token=admin_token)
    assert not failed and result["changed"] is True and "gone" in synapse.reg_tokens
    assert result["diff"]["before"]["token"] == "gone" and result["diff"]["after"] == {}
    failed, result = tok(capsys, synapse, token="gone", state="absent", access_token=admin_token)
    assert not failed and result["changed"] is True and "gone" not in synapse.reg_tokens
    failed, result = tok(capsys, synapse, token="gone", state="absent", access_token=admin_token)
    assert not failed and result["changed"] is False


def test_absent_needs_token_name(synapse, capsys, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, state="absent", access_token=admin_token)
    assert failed and "token" in result["msg"]


def test_admin_login_is_logged_out(synapse, capsys):  # noqa: F811
    synapse.add_user("root", "root-password-1", admin=True)
    failed, result = tok(capsys, synapse, token="t2", admin_user="root", admin_password="root-password-1")
    assert not failed and result["changed"] is True
    assert synapse.count("POST", "/_matrix/client/v3/login") == 1
    assert synapse.count("POST", "/_matrix/client/v3/logout") == 1
    assert synapse.tokens == {}


def test_admin_login_is_logged_out_on_failure(synapse, capsys):  # noqa: F811
    synapse.add_user("root", "root-password-1", admin=True)
    failed, result = tok(capsys, synapse, token="t3", expiry_time=1000, admin_user="@root:test.local",
                         admin_password="root-password-1")
    assert failed and "in the past" in result["msg"]
    assert synapse.count("POST", "/_matrix/client/v3/logout") == 1
    assert synapse.tokens == {} and synapse.reg_tokens == {}


def test_wrong_admin_password(synapse, capsys):  # noqa: F811
    synapse.add_user("root", "root-password-1", admin=True)
    failed, result = tok(capsys, synapse, token="t4", admin_user="root", admin_password="wrong-password")
    assert failed and "refused the login of admin_user root" in result["msg"]
    assert "wrong-password" not in str(result)


@pytest.mark.parametrize("name", ["has space", "slash/", "x" * 65, "ümlaut", ""])
def test_invalid_token_name_sends_nothing(synapse, capsys, admin_token, name):  # noqa: F811
    failed, result = tok(capsys, synapse, token=name, access_token=admin_token)
    assert failed and "nothing was sent" in result["msg"]
    assert synapse.requests == []


@pytest.mark.parametrize("args,text", [
    (dict(uses_allowed=-1), "must not be negative"),
    (dict(uses_allowed="many"), "non-negative integer"),
    (dict(expiry_time="tomorrow"), "milliseconds"),
    (dict(expires_in="soon"), "invalid duration"),
    (dict(length=65), "length"),
])
def test_invalid_values_send_nothing(synapse, capsys, admin_token, args, text):  # noqa: F811
    failed, result = tok(capsys, synapse, token="ok", access_token=admin_token, **args)
    assert failed and text in result["msg"]
    assert synapse.requests == []


def test_expiry_in_the_past(synapse, capsys, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, token="old", expiry_time=now_ms() - 1000, access_token=admin_token)
    assert failed and "in the past" in result["msg"]
    assert synapse.writes() == []


def test_expiry_options_exclusive(synapse, capsys, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, token="t", expiry_time=now_ms() + DAY_MS, expires_in="1d",
                         access_token=admin_token)
    assert failed and "mutually exclusive" in result["msg"]
    assert synapse.requests == []


def test_auth_options_required_and_exclusive(synapse, capsys, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, token="t")
    assert failed and "one of the following is required" in result["msg"]
    failed, result = tok(capsys, synapse, token="t", access_token=admin_token, admin_user="root",
                         admin_password="x-password")
    assert failed and "mutually exclusive" in result["msg"]


def test_non_admin_token(synapse, capsys):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("pleb", "pleb-password"))
    failed, result = tok(capsys, synapse, token="t", access_token=token)
    assert failed and "not belong to a server admin" in result["msg"] and "M_FORBIDDEN" in result["msg"]


@pytest.mark.parametrize("headers_token,errcode", [("syt_bogus", "M_UNKNOWN_TOKEN")])
def test_invalid_access_token(synapse, capsys, headers_token, errcode):  # noqa: F811
    failed, result = tok(capsys, synapse, token="t", access_token=headers_token)
    assert failed
    assert f"Synapse refused the access token ({errcode}: Invalid access token passed.)" in result["msg"], result
    assert "the token is missing, invalid or expired" in result["msg"], result


def test_unreachable_and_html(synapse, capsys, free_port_url, admin_token):  # noqa: F811
    failed, result = tok(capsys, synapse, server_url=free_port_url, token="t", access_token=admin_token)
    assert failed and "Cannot reach Synapse" in result["msg"]
    synapse.html = True
    failed, result = tok(capsys, synapse, token="t", access_token=admin_token)
    assert failed and "non-JSON" in result["msg"]


# -- registration_token_info --------------------------------------------------------------------------------------

def seed(fake):
    fake.reg_tokens["valid1"] = {"token": "valid1", "uses_allowed": None, "pending": 0, "completed": 3,
                                 "expiry_time": None}
    fake.reg_tokens["usedup"] = {"token": "usedup", "uses_allowed": 1, "pending": 0, "completed": 1,
                                 "expiry_time": None}


def test_info_lists_and_filters(synapse, capsys, admin_token):  # noqa: F811
    seed(synapse)
    failed, result = info(capsys, synapse, access_token=admin_token)
    assert not failed and result["changed"] is False
    assert sorted(t["token"] for t in result["registration_tokens"]) == ["usedup", "valid1"]
    failed, result = info(capsys, synapse, check_mode=True, valid=True, access_token=admin_token)
    assert not failed and [t["token"] for t in result["registration_tokens"]] == ["valid1"]
    failed, result = info(capsys, synapse, valid=False, access_token=admin_token)
    assert [t["token"] for t in result["registration_tokens"]] == ["usedup"]
    assert synapse.writes() == []


def test_info_single_and_missing(synapse, capsys, admin_token):  # noqa: F811
    seed(synapse)
    failed, result = info(capsys, synapse, token="valid1", access_token=admin_token)
    assert not failed and result["registration_tokens"][0]["completed"] == 3
    failed, result = info(capsys, synapse, token="nope", access_token=admin_token)
    assert not failed and result["registration_tokens"] == []


def test_info_admin_login_and_errors(synapse, capsys):  # noqa: F811
    seed(synapse)
    synapse.add_user("root", "root-password-1", admin=True)
    failed, result = info(capsys, synapse, admin_user="root", admin_password="root-password-1")
    assert not failed and len(result["registration_tokens"]) == 2
    assert synapse.tokens == {}
    failed, result = info(capsys, synapse, access_token="syt_bogus")
    assert failed and "refused the access token" in result["msg"]
    failed, result = info(capsys, synapse, token="bad token", access_token="syt_bogus")
    assert failed and "nothing was sent" in result["msg"]
    failed, result = info(capsys, synapse, token="x", valid=True, access_token="syt_bogus")
    assert failed and "mutually exclusive" in result["msg"]
