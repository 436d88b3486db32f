# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared client trusts no answer: wrong-shaped answers, bad server_url, timeouts and expiry ranges.

Each case feeds a module (or the client) an answer Synapse would never send and expects a clear failure that
names the endpoint, never a traceback and never a success built on the bad answer.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import (
    MAX_EXPIRY_MS,
    SynapseAdminClient,
    SynapseAdminError,
    answer_field,
    parse_duration,
    validate_expiry_ms,
    validate_server_url,
    validate_timeout,
)
from ansible_collections.homeserver.synapse.plugins.modules import (
    register_user,
    registration_token,
    registration_token_info,
)

from synapse_fake import run_module, synapse  # noqa: F401  pylint: disable=unused-import

SECRET = "s3cret-shared"
ALICE_PATH = "/_synapse/admin/v2/users/%40alice%3Atest.local"  # as the request line carries it


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


def run(main, capsys, fake, check_mode=False, **args):
    args.setdefault("server_url", fake.url)
    if main is register_user.main:
        args.setdefault("config_paths", [])
    failed, result = run_module(main, args, capsys, check_mode=check_mode)
    assert "Traceback" not in json.dumps(result)
    assert "exception" not in result, result.get("exception")
    return failed, result


# -- server_url, timeout, expiry: checked before anything is sent ---------------------------------------------

@pytest.mark.parametrize("url, needle", [
    ("file:///etc/matrix-synapse/homeserver.yaml", "must start with http:// or https:// (not file:)"),
    ("ftp://127.0.0.1:8008", "(not ftp:)"),
    ("127.0.0.1:8008", "must start with http:// or https://"),
    ("/_synapse/admin", "(not a bare host or path)"),
    ("http://", "has no host name"),
    ("http://127.0.0.1:99999", "is not a valid URL"),
    ("http://admin:pw@127.0.0.1:8008", "without user, query or fragment"),
    ("", "server_url is empty"),
])
def test_server_url_only_http_and_https(url, needle):
    with pytest.raises(ValueError) as err:
        validate_server_url(url)
    assert needle in str(err.value)


def test_server_url_accepted_forms():
    assert validate_server_url("http://127.0.0.1:8008/") == "http://127.0.0.1:8008"
    assert validate_server_url("HTTPS://matrix.example.org") == "HTTPS://matrix.example.org"
    assert validate_server_url("http://[::1]:8008") == "http://[::1]:8008"


@pytest.mark.parametrize("module", [register_user, registration_token, registration_token_info])
def test_file_url_is_refused_by_every_module(module, capsys, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("not to be read as a server\n")
    args = {"server_url": "file://%s" % secret, "access_token": "syt_not_used_anywhere"}
    if module is register_user:
        args.update(user="alice", password="pw-alice-1", shared_secret=SECRET)
    failed, result = run_module(module.main, args, capsys)
    assert failed
    assert result["msg"].startswith("Invalid input, nothing was sent to Synapse: server_url")
    assert "not to be read" not in json.dumps(result)


@pytest.mark.parametrize("timeout", [0, -5, 3601, 10 ** 9])
def test_timeout_range(synapse, capsys, timeout):  # noqa: F811
    with pytest.raises(ValueError):
        validate_timeout(timeout)
    failed, result = run(registration_token_info.main, capsys, synapse, timeout=timeout, access_token="syt_not_used_anywhere")
    assert failed and "timeout must be between 1 and 3600 seconds, not %d" % timeout in result["msg"]
    assert synapse.requests == []


def test_timeout_bounds_accepted():
    assert validate_timeout(1) == 1 and validate_timeout(3600) == 3600


@pytest.mark.parametrize("value", [0, -1, MAX_EXPIRY_MS + 1, 10 ** 19, True, "1"])
def test_expiry_range(value):
    with pytest.raises(ValueError):
        validate_expiry_ms(value)


def test_expiry_limits_accepted():
    assert validate_expiry_ms(None) is None
    assert validate_expiry_ms(MAX_EXPIRY_MS) == MAX_EXPIRY_MS


@pytest.mark.parametrize("args, needle", [
    ({"expiry_time": 1767225600000000}, "end of the year 9999"),  # microseconds given for milliseconds
    ({"expiry_time": 1.5}, "whole number of milliseconds"),
    ({"uses_allowed": 2 ** 31}, "at most 2147483647"),
    ({"expires_in": "99999w"}, "longer than 100 years"),
])
def test_token_ranges_fail_before_sending(synapse, capsys, admin_token, args, needle):  # noqa: F811
    failed, result = run(registration_token.main, capsys, synapse, token="t1", access_token=admin_token, **args)
    assert failed and needle in result["msg"], result["msg"]
    assert "nothing was sent" in result["msg"]
    assert synapse.requests == []


def test_duration_cap():
    assert parse_duration("5200w") == 5200 * 604800
    with pytest.raises(ValueError):
        parse_duration(10 ** 12)


# -- answer_field -----------------------------------------------------------------------------------------------

def test_answer_field_types():
    where = "GET /x"
    assert answer_field({"a": 1}, "a", (int,), where) == 1
    with pytest.raises(SynapseAdminError) as err:
        answer_field({"a": True}, "a", (int,), where)
    assert "GET /x" in str(err.value) and "'a' must be an integer" in str(err.value)
    with pytest.raises(SynapseAdminError):
        answer_field(["a"], "a", (int,), where)
    with pytest.raises(SynapseAdminError) as err:
        answer_field({}, "a", (int,), where)
    assert "'a' is missing" in str(err.value)


# -- wrong-shaped answers to the modules ------------------------------------------------------------------------

def test_empty_object_for_everything_register_user(synapse, capsys):  # noqa: F811
    synapse.answer_all = (200, {})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET)
    assert failed
    assert "GET /_matrix/key/v2/server" in result["msg"] and "'server_name' is missing" in result["msg"]


def test_empty_object_for_everything_token_info(synapse, capsys):  # noqa: F811
    synapse.answer_all = (200, {})
    failed, result = run(registration_token_info.main, capsys, synapse, access_token="syt_not_used_anywhere")
    assert failed and "GET /_synapse/admin/v1/registration_tokens" in result["msg"]
    assert "'registration_tokens' is missing" in result["msg"]


def test_empty_object_for_everything_token_is_not_assumed_to_exist(synapse, capsys):  # noqa: F811
    synapse.answer_all = (200, {})
    failed, result = run(registration_token.main, capsys, synapse, token="t1", access_token="syt_not_used_anywhere")
    assert failed and "GET /_synapse/admin/v1/registration_tokens/t1" in result["msg"]
    assert "'token' is missing" in result["msg"]


def test_empty_user_object_is_not_an_existing_account(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("GET", ALICE_PATH)] = (200, {})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET, access_token=admin_token)
    assert failed and "GET /_synapse/admin/v2/users/%40alice%3Atest.local" in result["msg"]
    assert "'name' is missing" in result["msg"]
    assert synapse.writes() == []


def test_user_object_of_another_user(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("GET", ALICE_PATH)] = (
        200, {"name": "@bob:test.local", "admin": False, "deactivated": False})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET, access_token=admin_token)
    assert failed and "'name' should be @alice:test.local" in result["msg"]


def test_user_object_admin_of_wrong_type(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", "pw-alice-1")
    synapse.answers[("GET", ALICE_PATH)] = (
        200, {"name": "@alice:test.local", "admin": "yes", "deactivated": False})
    failed, result = run(register_user.main, capsys, synapse, user="alice", admin=True, access_token=admin_token)
    assert failed and "'admin' must be a boolean or an integer" in result["msg"]
    assert synapse.writes() == []


def test_register_answer_with_numeric_user_id(synapse, capsys):  # noqa: F811
    synapse.answers[("POST", "/_synapse/admin/v1/register")] = (200, {"user_id": 42, "home_server": "test.local"})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET)
    assert failed and "POST /_synapse/admin/v1/register" in result["msg"]
    assert "'user_id' must be a string" in result["msg"]


def test_whoami_numeric_user_id(synapse, capsys, admin_token):  # noqa: F811
    synapse.key_endpoint = False
    synapse.answers[("GET", "/_matrix/client/v3/account/whoami")] = (200, {"user_id": 12345})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET, access_token=admin_token)
    assert failed and "GET /_matrix/client/v3/account/whoami" in result["msg"]


def test_key_endpoint_server_name_not_a_name(synapse, capsys):  # noqa: F811
    synapse.answers[("GET", "/_matrix/key/v2/server")] = (200, {"server_name": "not a name/../"})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET)
    assert failed and "'server_name' is not a server name" in result["msg"]


def test_nonce_of_wrong_type(synapse, capsys):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/register")] = (200, {"nonce": 1234})
    failed, result = run(register_user.main, capsys, synapse, user="alice", password="pw-alice-1",
                         shared_secret=SECRET)
    assert failed and "GET /_synapse/admin/v1/register" in result["msg"] and "'nonce' must be a string" in result["msg"]


def test_available_not_a_boolean(synapse, capsys):  # noqa: F811
    synapse.answers[("GET", "/_matrix/client/v3/register/available")] = (200, {"available": "maybe"})
    failed, result = run(register_user.main, capsys, synapse, check_mode=True, user="alice",
                         password="pw-alice-1", shared_secret=SECRET)
    assert failed and "'available' must be a boolean" in result["msg"]


def test_token_list_with_non_objects(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/registration_tokens")] = (200, {"registration_tokens": ["abc", 1]})
    failed, result = run(registration_token_info.main, capsys, synapse, access_token=admin_token)
    assert failed and "a registration token object was expected" in result["msg"]


def test_token_list_with_wrong_field_types(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/registration_tokens")] = (200, {"registration_tokens": [
        {"token": "abc", "uses_allowed": "10", "pending": 0, "completed": 0, "expiry_time": None}]})
    failed, result = run(registration_token_info.main, capsys, synapse, access_token=admin_token)
    assert failed and "'uses_allowed' must be an integer or null" in result["msg"]


def test_created_token_with_null_fields_is_not_a_success(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("POST", "/_synapse/admin/v1/registration_tokens/new")] = (
        200, {"token": None, "uses_allowed": None, "pending": None, "completed": None, "expiry_time": None})
    failed, result = run(registration_token.main, capsys, synapse, token="t1", access_token=admin_token)
    assert failed and "POST /_synapse/admin/v1/registration_tokens/new" in result["msg"]
    assert "'token' must be a string" in result["msg"]


def test_created_token_with_another_name(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("POST", "/_synapse/admin/v1/registration_tokens/new")] = (
        200, {"token": "other", "uses_allowed": None, "pending": 0, "completed": 0, "expiry_time": None})
    failed, result = run(registration_token.main, capsys, synapse, token="t1", access_token=admin_token)
    assert failed and "the token should be 't1'" in result["msg"]


def test_login_answer_without_token(synapse, capsys):  # noqa: F811
    synapse.answers[("POST", "/_matrix/client/v3/login")] = (200, {"user_id": "@root:test.local"})
    failed, result = run(registration_token_info.main, capsys, synapse, admin_user="root",
                         admin_password="root-password-1")
    assert failed and "POST /_matrix/client/v3/login" in result["msg"] and "'access_token' is missing" in result["msg"]


@pytest.mark.parametrize("body", [
    {"errcode": "M_LIMIT_EXCEEDED", "error": ["not", "text"], "retry_after_ms": "soon"},
    {"errcode": 429, "error": {"nested": True}, "retry_after_ms": [1]},
    {"errcode": None, "error": None, "retry_after_ms": -5},
    {},
])
def test_error_bodies_of_the_wrong_shape(synapse, body):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/register")] = (429, body)
    sleeps = []
    client = SynapseAdminClient(synapse.url, sleep=sleeps.append)
    with pytest.raises(SynapseAdminError) as err:
        client.get_nonce()
    assert err.value.status == 429 and "rate-limited GET /_synapse/admin/v1/register" in str(err.value)
    assert err.value.retry_after_ms is None
    # A retry_after_ms that is not a number counts as absent: the short default pause, never its value.
    assert sleeps == [0.1, 0.1, 0.1]


def test_error_body_of_the_wrong_shape_through_a_module(synapse, capsys, admin_token):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/registration_tokens/t1")] = (
        500, {"errcode": 7, "error": {"x": 1}, "retry_after_ms": "x"})
    failed, result = run(registration_token.main, capsys, synapse, token="t1", access_token=admin_token)
    assert failed and "GET /_synapse/admin/v1/registration_tokens/t1 with HTTP 500" in result["msg"]


def test_json_that_is_not_an_object(synapse):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/register")] = (200, ["nonce"])
    with pytest.raises(SynapseAdminError) as err:
        SynapseAdminClient(synapse.url).get_nonce()
    assert "GET /_synapse/admin/v1/register" in str(err.value) and "non-JSON" in str(err.value)
