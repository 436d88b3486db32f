# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of plugins/module_utils/synapse_admin.py: HMAC, payloads, names, durations, token comparison."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ansible_collections.homeserver.synapse.plugins.module_utils import synapse_admin as sa


# -- HMAC ------------------------------------------------------------------------------------------------------

def independent_mac(secret, nonce, user, password, admin, user_type=None):
    """The documented layout nonce\\0user\\0password\\0admin|notadmin[\\0user_type], built separately."""
    parts = [nonce, user, password, "admin" if admin else "notadmin"]
    if user_type:
        parts.append(user_type)
    return hmac.new(secret.encode("utf-8"), "\x00".join(parts).encode("utf-8"), hashlib.sha1).hexdigest()


def test_mac_matches_openssl_vector():
    # printf '%s\0%s\0%s\0%s' abc123 alice wonderland notadmin | openssl sha1 -hmac s3cret
    assert sa.registration_mac("s3cret", "abc123", "alice", "wonderland", False) == \
        "ee801c5d148ae1bcbd99ddb68ecbfa1cbb98c541"


def test_mac_with_user_type_matches_openssl_vector():
    # printf '%s\0%s\0%s\0%s\0%s' abc123 bot1 pw admin bot | openssl sha1 -hmac s3cret
    assert sa.registration_mac("s3cret", "abc123", "bot1", "pw", True, "bot") == \
        "911addf48a7c0118a4183999e9627258a12c31f9"


@pytest.mark.parametrize("admin", [True, False])
@pytest.mark.parametrize("user_type", [None, "", "bot", "support"])
def test_mac_matches_independent_computation(admin, user_type):
    args = ("sécret;with=symbols", "f" * 128, "alice", "pässwörd with spaces", admin, user_type)
    assert sa.registration_mac(*args) == independent_mac(*args)


def test_mac_differs_for_admin_flag_and_user_type():
    base = sa.registration_mac("k", "n", "u", "p", False)
    assert base != sa.registration_mac("k", "n", "u", "p", True)
    assert base != sa.registration_mac("k", "n", "u", "p", False, "bot")
    assert base == sa.registration_mac("k", "n", "u", "p", False, "")


# -- payload ---------------------------------------------------------------------------------------------------

def test_register_payload_minimal():
    payload = sa.build_register_payload("k", "n1", "alice", "pw")
    assert payload == {
        "nonce": "n1", "username": "alice", "password": "pw", "admin": False,
        "mac": independent_mac("k", "n1", "alice", "pw", False), "inhibit_login": True,
    }


def test_register_payload_full():
    payload = sa.build_register_payload("k", "n1", "bot1", "pw", admin=True, user_type="bot", displayname="Bot",
                                        inhibit_login=False)
    assert payload["admin"] is True
    assert payload["user_type"] == "bot"
    assert payload["displayname"] == "Bot"
    assert "inhibit_login" not in payload
    assert payload["mac"] == independent_mac("k", "n1", "bot1", "pw", True, "bot")


# -- user names ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user,expected", [
    ("alice", ("alice", None)),
    ("Alice", ("alice", None)),
    ("a.b-c_d=e/f+g", ("a.b-c_d=e/f+g", None)),
    ("@bob:example.org", ("bob", "example.org")),
    ("@bob:matrix.example.org:8448", ("bob", "matrix.example.org:8448")),
    ("@bob:[::1]:8448", ("bob", "[::1]:8448")),
])
def test_parse_user_valid(user, expected):
    assert sa.parse_user(user) == expected


@pytest.mark.parametrize("user", ["", "  ", "al ice", "alice!", "al@ice", "ålice", "@bob", "@:example.org",
                                  "@bob:", "@bob:exa mple.org", "bob:example.org"])
def test_parse_user_invalid(user):
    with pytest.raises(ValueError):
        sa.parse_user(user)


def test_make_user_id_length_limit():
    assert sa.make_user_id("alice", "example.org") == "@alice:example.org"
    with pytest.raises(ValueError, match="longer than 255"):
        sa.make_user_id("a" * 250, "example.org")


def test_validate_password():
    sa.validate_password("x" * 512)
    sa.validate_password(None)
    with pytest.raises(ValueError):
        sa.validate_password("x" * 513)
    with pytest.raises(ValueError):
        sa.validate_password("a\x00b")


# -- registration tokens ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["a", "A-z_0.9~", "x" * 64])
def test_token_name_valid(token):
    assert sa.validate_token_name(token) == token


@pytest.mark.parametrize("token", ["", "x" * 65, "with space", "slash/", "plus+", "ümlaut", None, 5])
def test_token_name_invalid(token):
    with pytest.raises(ValueError):
        sa.validate_token_name(token)


def test_normalize_token_keeps_documented_fields():
    assert sa.normalize_token({"token": "t", "uses_allowed": 1, "pending": 0, "completed": 2, "expiry_time": None,
                               "extra": 1}) == {"token": "t", "uses_allowed": 1, "pending": 0, "completed": 2,
                                                "expiry_time": None}
    assert sa.normalize_token(None) is None


def test_token_changes_only_requested_and_different():
    current = {"token": "t", "uses_allowed": 5, "expiry_time": 1000}
    assert sa.token_changes(current) == {}
    assert sa.token_changes(current, uses_allowed=5, set_uses_allowed=True) == {}
    assert sa.token_changes(current, uses_allowed=None, set_uses_allowed=True) == {"uses_allowed": None}
    assert sa.token_changes(current, expiry_time=2000, set_expiry_time=True) == {"expiry_time": 2000}
    assert sa.token_changes(current, uses_allowed=0, set_uses_allowed=True, expiry_time=1000,
                            set_expiry_time=True) == {"uses_allowed": 0}


# -- durations -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [
    ("45s", 45), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("1d12h", 129600),
    ("1w 2d", 777600), ("90", 90), (90, 90), ("10M", 600),
])
def test_parse_duration(text, seconds):
    assert sa.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7x", "d7", "1.5h", "-1h", "0s", "0", "7 days", True, "h"])
def test_parse_duration_invalid(text):
    with pytest.raises(ValueError):
        sa.parse_duration(text)


# -- secret file and argument spec -----------------------------------------------------------------------------

def test_read_secret_file_strips(tmp_path):
    path = tmp_path / "secret"
    path.write_text("  s3cret\n")
    assert sa.read_secret_file(str(path)) == "s3cret"


def test_read_secret_file_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        sa.read_secret_file(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        sa.read_secret_file(str(empty))


def test_argument_spec_matches_doc_fragment():
    import yaml

    from ansible_collections.homeserver.synapse.plugins.doc_fragments.synapse_admin import ModuleDocFragment

    base = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    auth = yaml.safe_load(ModuleDocFragment.ADMIN_AUTH)["options"]
    assert set(sa.synapse_admin_argument_spec()) == set(base)
    assert set(sa.synapse_admin_argument_spec(admin_auth=True)) == set(base) | set(auth)
    for name, spec in sa.synapse_admin_argument_spec(admin_auth=True).items():
        doc = base.get(name) or auth[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
    assert sa.synapse_admin_argument_spec(admin_auth=True)["access_token"]["no_log"] is True
    assert sa.synapse_admin_argument_spec(admin_auth=True)["admin_password"]["no_log"] is True
