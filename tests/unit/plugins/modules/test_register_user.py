# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.register_user end to end against the fake Synapse on 127.0.0.1."""

from __future__ import annotations

import pytest

from ansible_collections.homeserver.synapse.plugins.modules import register_user

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import

ALICE_PW = "correct-horse-battery"
SECRET = "s3cret-shared"


def run(capsys, fake, check_mode=False, diff=False, no_log=False, **args):
    args.setdefault("server_url", fake.url)
    # The fake listens on 127.0.0.1, so the module would read this machine's /etc/matrix-synapse: not in tests.
    args.setdefault("config_paths", [])
    return run_module(register_user.main, args, capsys, check_mode=check_mode, diff=diff, no_log=no_log)


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    user_id = synapse.add_user("root", "root-password-1", admin=True)
    return synapse.issue_token(user_id)


# -- creation and idempotence ------------------------------------------------------------------------------------

def test_create_then_unchanged(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET)
    assert not failed, result
    assert result["changed"] is True
    assert result["created"] is True
    assert result["user_id"] == "@alice:test.local"
    user = synapse.users["@alice:test.local"]
    assert user["password"] == ALICE_PW and user["admin"] is False and user["displayname"] == "alice"
    assert synapse.tokens == {}, "inhibit_login: registration must not leave a device behind"
    assert "access_token" not in result

    registers = synapse.count("POST", "/_synapse/admin/v1/register")
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET)
    assert not failed
    assert result["changed"] is False and result["created"] is False
    assert synapse.count("POST", "/_synapse/admin/v1/register") == registers, "the profile probe saw alice"


def test_existing_user_in_use_is_not_an_error(synapse, capsys):  # noqa: F811
    synapse.add_user("bob", "bob-password", displayname=None)  # no profile: the probe cannot tell
    failed, result = run(capsys, synapse, user="bob", password="another-password", shared_secret=SECRET)
    assert not failed, result
    assert result["changed"] is False and result["created"] is False
    assert synapse.count("POST", "/_synapse/admin/v1/register") == 1
    assert synapse.users["@bob:test.local"]["password"] == "bob-password"


def test_full_mxid_upper_case_and_attributes(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="@Carol:test.local", password=ALICE_PW, shared_secret=SECRET,
                         admin=True, user_type="bot", displayname="Carol C")
    assert not failed, result
    assert result["user_id"] == "@carol:test.local"
    assert synapse.users["@carol:test.local"] == dict(password=ALICE_PW, admin=True, user_type="bot",
                                                      displayname="Carol C", deactivated=False, erased=False)


def test_shared_secret_file_is_stripped(synapse, capsys, tmp_path):  # noqa: F811
    secret_file = tmp_path / "registration_shared_secret"
    secret_file.write_text(SECRET + "\n")
    failed, result = run(capsys, synapse, user="dave", password=ALICE_PW, shared_secret_file=str(secret_file))
    assert not failed, result
    assert result["created"] is True


def test_server_name_option_and_whoami_fallback(synapse, capsys, admin_token):  # noqa: F811
    synapse.key_endpoint = False
    failed, result = run(capsys, synapse, user="erin", password=ALICE_PW, shared_secret=SECRET,
                         access_token=admin_token)
    assert not failed, result
    assert result["user_id"] == "@erin:test.local"
    assert synapse.count("GET", "/_matrix/client/v3/account/whoami") == 1
    failed, result = run(capsys, synapse, user="frank", password=ALICE_PW, shared_secret=SECRET,
                         server_name="test.local")
    assert not failed, result
    assert result["user_id"] == "@frank:test.local"


def test_no_server_name_without_token_still_registers(synapse, capsys):  # noqa: F811
    synapse.key_endpoint = False
    failed, result = run(capsys, synapse, user="gina", password=ALICE_PW, shared_secret=SECRET)
    assert not failed, result
    assert result["user_id"] == "@gina:test.local" and result["created"] is True


def write_config(tmp_path, text, name="homeserver.yaml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_check_mode_reads_server_name_from_the_config(synapse, capsys, tmp_path):  # noqa: F811
    # The issue: the default listener serves no federation API, so the key endpoint cannot tell the name.
    synapse.key_endpoint = False
    config = write_config(tmp_path, "# managed\nlisteners: []\nserver_name: test.local\nreport_stats: false\n")
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET,
                         config_paths=[config, str(tmp_path / "conf.d")])
    assert not failed, result
    assert result["changed"] is True and result["user_id"] == "@alice:test.local"
    assert synapse.count("GET", "/_matrix/key/v2/server") == 0
    assert synapse.writes() == []


def test_check_mode_without_config_or_key_endpoint_fails_naming_both(synapse, capsys, tmp_path):  # noqa: F811
    synapse.key_endpoint = False
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET,
                         config_paths=[str(tmp_path / "missing.yaml")])
    assert failed
    assert "Set the server_name option" in result["msg"]
    assert "cannot read %s: No such file or directory" % (tmp_path / "missing.yaml") in result["msg"]


def test_conf_d_overrides_in_name_order(synapse, capsys, tmp_path):  # noqa: F811
    synapse.key_endpoint = False
    synapse.server_name = "last.example"
    main = write_config(tmp_path, "server_name: first.example\n")
    write_config(tmp_path, "server_name: 'middle.example'\n", "conf.d/10-name.yaml")
    write_config(tmp_path, 'server_name: "last.example"  # the one Synapse uses\n', "conf.d/20-name.yaml")
    write_config(tmp_path, "server_name: ignored.example\n", "conf.d/30-name.yaml.disabled")
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET,
                         config_paths=[main, str(tmp_path / "conf.d")])
    assert not failed, result
    assert result["user_id"] == "@alice:last.example"


def test_config_is_not_read_for_a_remote_server_url(synapse, capsys, tmp_path):  # noqa: F811
    config = write_config(tmp_path, "server_name: other.example\n")
    url = synapse.url.replace("127.0.0.1", "127.0.0.1.nip.invalid")
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET,
                         config_paths=[config], server_url=url)
    assert failed and "Cannot reach Synapse" in result["msg"]
    assert "other.example" not in result["msg"]


@pytest.mark.parametrize("text, expected, note", [
    ("server_name: example.org\n", "example.org", None),
    ("server_name:   'example.org:8448'   # port\n", "example.org:8448", None),
    ("---\nserver_name: \"[::1]:8448\"\n", "[::1]:8448", None),
    ("  server_name: nested.example\n", None, None),
    ("server_name: |\n  block.example\n", None, "is not a plain server name"),
    ("server_name: *anchor\n", None, "is not a plain server name"),
    ("server_name: has space.example\n", None, "is not a plain server name"),
    ("public_baseurl: https://example.org/\n", None, None),
])
def test_server_name_from_config_forms(tmp_path, text, expected, note):
    from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import server_name_from_config
    path = write_config(tmp_path, text)
    name, source, notes = server_name_from_config([path])
    assert name == expected
    assert source == (path if expected else None)
    if note:
        assert any(note in n for n in notes), notes
    else:
        assert notes == []


# -- check mode and diff -----------------------------------------------------------------------------------------

def test_check_mode_predicts_creation_without_writing(synapse, capsys, admin_token):  # noqa: F811
    for extra in ({}, {"access_token": admin_token}):
        failed, result = run(capsys, synapse, check_mode=True, diff=True, user="alice", password=ALICE_PW,
                             shared_secret=SECRET, **extra)
        assert not failed, result
        assert result["changed"] is True and result["created"] is True
        assert result["diff"]["before"] == {"@alice:test.local": {"exists": False}}
        assert result["diff"]["after"]["@alice:test.local"]["exists"] is True
    assert synapse.writes() == []
    assert "@alice:test.local" not in synapse.users


def test_check_mode_existing_user_unchanged(synapse, capsys):  # noqa: F811
    synapse.add_user("alice", ALICE_PW, displayname=None)
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET)
    assert not failed, result
    assert result["changed"] is False
    assert synapse.count("GET", "/_matrix/client/v3/register/available") == 1
    assert synapse.writes() == []


def test_check_mode_cannot_tell_warns(synapse, capsys):  # noqa: F811
    synapse.enable_registration = False
    failed, result = run(capsys, synapse, check_mode=True, user="alice", password=ALICE_PW, shared_secret=SECRET)
    assert not failed, result
    assert result["changed"] is True
    assert any("Could not tell" in w for w in result["warnings"])
    assert synapse.writes() == []


# -- reconciliation with an admin token ----------------------------------------------------------------------------

def test_reconcile_admin_and_displayname_with_diff(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", ALICE_PW, displayname="Alice")
    args = dict(user="alice", admin=True, displayname="Alice A.", access_token=admin_token)
    failed, result = run(capsys, synapse, check_mode=True, diff=True, **args)
    assert not failed, result
    assert result["changed"] is True and result["updated"] == ["admin", "displayname"]
    assert synapse.writes() == []
    assert result["diff"]["before"]["@alice:test.local"]["admin"] is False
    assert result["diff"]["after"]["@alice:test.local"]["admin"] is True
    assert result["diff"]["after"]["@alice:test.local"]["displayname"] == "Alice A."

    failed, result = run(capsys, synapse, diff=True, **args)
    assert not failed and result["changed"] is True
    assert synapse.users["@alice:test.local"]["admin"] is True
    assert synapse.users["@alice:test.local"]["displayname"] == "Alice A."

    failed, result = run(capsys, synapse, **args)
    assert not failed and result["changed"] is False and result["updated"] == []


def test_admin_unset_keeps_existing_flag(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("boss", ALICE_PW, admin=True)
    failed, result = run(capsys, synapse, user="boss", password=ALICE_PW, shared_secret=SECRET,
                         access_token=admin_token)
    assert not failed and result["changed"] is False
    assert synapse.users["@boss:test.local"]["admin"] is True


def test_update_password_always(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", ALICE_PW)
    same = dict(user="alice", password=ALICE_PW, update_password="always", access_token=admin_token)
    failed, result = run(capsys, synapse, **same)
    assert not failed, result
    assert result["changed"] is False
    assert synapse.count("POST", "/_matrix/client/v3/login") == 1
    assert synapse.count("POST", "/_matrix/client/v3/logout") == 1
    assert list(synapse.tokens) == [admin_token], "the check login's device must be logged out"
    assert synapse.count("PUT", "/_synapse/admin/v2/users/") == 0

    new = {**same, "password": "a-new-password-2"}
    failed, result = run(capsys, synapse, check_mode=True, **new)
    assert not failed and result["changed"] is True and result["updated"] == ["password"]
    assert synapse.users["@alice:test.local"]["password"] == ALICE_PW

    failed, result = run(capsys, synapse, diff=True, **new)
    assert not failed and result["changed"] is True
    assert synapse.users["@alice:test.local"]["password"] == "a-new-password-2"
    assert "a-new-password-2" not in str(result["diff"])

    failed, result = run(capsys, synapse, **new)
    assert not failed and result["changed"] is False


def test_update_password_on_create_does_not_log_in(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", ALICE_PW)
    failed, result = run(capsys, synapse, user="alice", password="other-password", access_token=admin_token)
    assert not failed and result["changed"] is False
    assert synapse.count("POST", "/_matrix/client/v3/login") == 0


def test_reconcile_without_token_warns(synapse, capsys):  # noqa: F811
    synapse.add_user("alice", ALICE_PW)
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, admin=True, shared_secret=SECRET)
    assert not failed and result["changed"] is False
    assert any("were not checked" in w for w in result["warnings"])


# -- deactivation ----------------------------------------------------------------------------------------------

def test_absent_deactivates_once(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("mallory", ALICE_PW)
    args = dict(user="mallory", state="absent", access_token=admin_token)
    failed, result = run(capsys, synapse, check_mode=True, diff=True, **args)
    assert not failed and result["changed"] is True and result["deactivated"] is True
    assert synapse.users["@mallory:test.local"]["deactivated"] is False
    assert result["diff"]["after"]["@mallory:test.local"]["deactivated"] is True

    failed, result = run(capsys, synapse, **args)
    assert not failed and result["changed"] is True
    assert synapse.users["@mallory:test.local"]["deactivated"] is True

    failed, result = run(capsys, synapse, **args)
    assert not failed and result["changed"] is False

    failed, result = run(capsys, synapse, erase=True, **args)
    assert not failed and result["changed"] is True
    assert synapse.users["@mallory:test.local"]["erased"] is True
    failed, result = run(capsys, synapse, erase=True, **args)
    assert not failed and result["changed"] is False


def test_absent_missing_user_unchanged(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, user="nobody", state="absent", access_token=admin_token)
    assert not failed and result["changed"] is False


def test_absent_needs_token_and_sends_nothing(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="mallory", state="absent")
    assert failed
    assert "needs an admin access_token" in result["msg"]
    assert synapse.requests == []


def test_present_reactivates(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", ALICE_PW, deactivated=True)
    failed, result = run(capsys, synapse, user="alice", password="fresh-password", access_token=admin_token)
    assert not failed, result
    assert result["changed"] is True and "reactivated" in result["updated"]
    assert synapse.users["@alice:test.local"]["deactivated"] is False


# -- bulk ------------------------------------------------------------------------------------------------------

def test_bulk_users(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("existing", ALICE_PW)
    users = [{"user": "u%02d" % i, "password": "password-%02d" % i} for i in range(12)]
    users.append({"user": "existing", "password": ALICE_PW})
    users.append({"user": "boss", "password": "boss-password", "admin": False, "displayname": "Boss"})
    args = dict(users=users, admin=True, shared_secret=SECRET, concurrency=3)

    failed, result = run(capsys, synapse, check_mode=True, **args)
    assert not failed, result
    assert [r["created"] for r in result["results"]] == [True] * 12 + [False, True]
    assert synapse.writes() == []

    failed, result = run(capsys, synapse, **args)
    assert not failed, result
    assert result["changed"] is True
    assert [r["user"] for r in result["results"]] == [u["user"] for u in users]
    assert [r["created"] for r in result["results"]] == [True] * 12 + [False, True]
    assert synapse.users["@u05:test.local"]["admin"] is True, "top-level admin is the entry default"
    assert synapse.users["@boss:test.local"]["admin"] is False
    assert synapse.users["@boss:test.local"]["displayname"] == "Boss"
    assert "user_id" not in result and "results" in result

    failed, result = run(capsys, synapse, access_token=admin_token, **args)
    assert not failed, result
    # existing was no admin: with a token the top-level default admin=true is reconciled
    assert [r["changed"] for r in result["results"]] == [False] * 12 + [True, False]
    failed, result = run(capsys, synapse, access_token=admin_token, **args)
    assert not failed and result["changed"] is False


def test_bulk_stops_probing_when_profiles_are_rate_limited(synapse, capsys):  # noqa: F811
    for name in ("old1", "old2", "old3"):
        synapse.add_user(name, "old-password")
    synapse.profile_lookups_allowed = 2  # rc_profile's burst, used up after two look-ups
    users = [{"user": name, "password": "new-password"} for name in ("old1", "new1", "old2", "new2", "old3", "new3")]
    failed, result = run(capsys, synapse, users=users, shared_secret=SECRET, concurrency=1)
    assert not failed, result
    assert synapse.count("GET", "/_matrix/client/v3/profile/") == 3, "no look-up after the first 429"
    assert [r["created"] for r in result["results"]] == [False, True, False, True, False, True]
    assert [r["changed"] for r in result["results"]] == [False, True, False, True, False, True]
    assert synapse.users["@old3:test.local"]["password"] == "old-password", "a name in use is refused, not reset"
    # old1 and new1 were looked up; from old2 on the accounts went to registration unasked
    assert synapse.count("POST", "/_synapse/admin/v1/register") == 5
    assert any("rc_profile" in w and "old2" in w and "new1" not in w for w in result.get("warnings", [])), result


def test_bulk_invalid_entry_sends_nothing(synapse, capsys):  # noqa: F811
    users = [{"user": "ok1", "password": "password-1"}, {"user": "bad name", "password": "password-2"},
             {"user": "@x:elsewhere.org", "password": "password-3", "state": "absent"}]
    failed, result = run(capsys, synapse, users=users, shared_secret=SECRET)
    assert failed
    assert "users[1] (bad name)" in result["msg"] and "users[2]" in result["msg"]
    assert synapse.requests == []


def test_bulk_duplicate_and_foreign_users(synapse, capsys):  # noqa: F811
    users = [{"user": "ok1", "password": "password-1"}, {"user": "@OK1:test.local", "password": "password-1"},
             {"user": "@x:elsewhere.org", "password": "password-3"}]
    failed, result = run(capsys, synapse, users=users, shared_secret=SECRET)
    assert failed
    assert "same account" in result["msg"] and "not a user of this server" in result["msg"]
    assert synapse.writes() == []


def test_bulk_server_error_reports_progress(synapse, capsys):  # noqa: F811
    users = [{"user": "first", "password": "password-1"}, {"user": "_underscore", "password": "password-2"},
             {"user": "third", "password": "password-3"}]
    failed, result = run(capsys, synapse, users=users, shared_secret=SECRET, concurrency=1)
    assert failed
    assert "users[1] (_underscore)" in result["msg"] and "may not begin with _" in result["msg"]
    assert result["results"][0]["created"] is True
    assert result["results"][1]["failed"] is True
    assert result["results"][2]["skipped"] is True
    assert "@third:test.local" not in synapse.users


def test_bulk_missing_password_fails_before_writing(synapse, capsys):  # noqa: F811
    users = [{"user": "first", "password": "password-1"}, {"user": "second"}]
    failed, result = run(capsys, synapse, users=users, shared_secret=SECRET)
    assert failed and "a password is needed" in result["msg"]
    assert synapse.writes() == []


# -- access tokens in results --------------------------------------------------------------------------------------

def test_return_access_token(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="bot", password=ALICE_PW, shared_secret=SECRET,
                         return_access_token=True)
    assert not failed
    assert result["access_token"] in synapse.tokens and result["device_id"]
    assert any("no_log" in w for w in result["warnings"])

    failed, result = run(capsys, synapse, no_log=True, user="bot2", password=ALICE_PW, shared_secret=SECRET,
                         return_access_token=True)
    assert not failed and result["access_token"] in synapse.tokens
    assert not any("no_log" in w for w in result.get("warnings", []))


def test_no_secrets_in_output(synapse, capsys, admin_token):  # noqa: F811
    args = dict(users=[{"user": "u1", "password": "very-secret-password-1"}], shared_secret=SECRET,
                access_token=admin_token)
    run_module(register_user.main, dict(args, server_url=synapse.url), capsys)
    capsys.readouterr()
    from synapse_fake import patch_module_args  # noqa: F401  pylint: disable=import-outside-toplevel

    with patch_module_args(dict(args, server_url=synapse.url, _ansible_diff=True)):
        with pytest.raises(SystemExit):
            register_user.main()
    out = capsys.readouterr().out
    for secret in ("very-secret-password-1", SECRET, admin_token):
        assert secret not in out


# -- errors ------------------------------------------------------------------------------------------------------

def test_wrong_shared_secret(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret="not-the-secret")
    assert failed
    assert "HMAC incorrect" in result["msg"] and "does not match" in result["msg"]
    assert synapse.users == {}


def test_registration_disabled(synapse, capsys):  # noqa: F811
    synapse.shared_secret = None
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET)
    assert failed
    assert "Shared-secret registration is not enabled" in result["msg"]


def test_connection_refused(capsys, free_port_url):  # noqa: F811
    failed, result = run_module(register_user.main, dict(server_url=free_port_url, user="alice", password=ALICE_PW,
                                                         shared_secret=SECRET), capsys)
    assert failed
    assert "Cannot reach Synapse" in result["msg"] and "refused" in result["msg"].lower()


def test_html_answer(synapse, capsys):  # noqa: F811
    synapse.html = True
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET,
                         server_name="test.local")
    assert failed
    assert "non-JSON" in result["msg"] and "text/html" in result["msg"]


@pytest.mark.parametrize("user", ["alice!", "al ice", "@alice", "ålice"])
def test_invalid_username_sends_nothing(synapse, capsys, user):  # noqa: F811
    failed, result = run(capsys, synapse, user=user, password=ALICE_PW, shared_secret=SECRET)
    assert failed
    assert "nothing was sent" in result["msg"]
    assert synapse.requests == []


def test_server_refuses_username(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="_hidden", password=ALICE_PW, shared_secret=SECRET)
    assert failed and "refused the user name" in result["msg"]


def test_invalid_user_type(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET, user_type="robot")
    assert failed and "user_type" in result["msg"]


def test_non_admin_token(synapse, capsys):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("pleb", "pleb-password"))
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET, access_token=token)
    assert failed and "not belong to a server admin" in result["msg"]
    assert synapse.writes() == []


@pytest.mark.parametrize("token", ["syt_unknown"])
def test_invalid_token(synapse, capsys, token):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, shared_secret=SECRET, access_token=token)
    assert failed and "refused the access token" in result["msg"] and "M_UNKNOWN_TOKEN" in result["msg"]


def test_login_rate_limited(synapse, capsys, admin_token):  # noqa: F811
    synapse.add_user("alice", ALICE_PW)
    synapse.login_ratelimited = True
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, update_password="always",
                         access_token=admin_token)
    assert failed and "rate-limited" in result["msg"] and "rc_login" in result["msg"]


def test_create_needs_secret(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW, access_token=admin_token)
    assert failed and "shared_secret" in result["msg"]
    assert synapse.writes() == []


def test_missing_secret_file(synapse, capsys, tmp_path):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", password=ALICE_PW,
                         shared_secret_file=str(tmp_path / "nope"))
    assert failed and "cannot read shared_secret_file" in result["msg"]
    assert synapse.requests == []


def test_user_and_users_exclusive(synapse, capsys):  # noqa: F811
    failed, result = run(capsys, synapse, user="alice", users=[{"user": "bob"}], shared_secret=SECRET)
    assert failed and "mutually exclusive" in result["msg"]
