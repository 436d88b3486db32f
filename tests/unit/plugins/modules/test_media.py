# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.media against the fake Synapse."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.homeserver.synapse.plugins.modules import media

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import

ALICE = "@alice:test.local"
DAY_MS = 86400 * 1000


def run(capsys, fake, check_mode=False, **args):
    args.setdefault("server_url", fake.url)
    failed, result = run_module(media.main, args, capsys, check_mode=check_mode)
    assert "Traceback" not in json.dumps(result)
    return failed, result


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


@pytest.fixture
def files(synapse):  # noqa: F811
    synapse.add_user("alice", "pw")
    room_id = synapse.add_room("pics", members=[ALICE], alias="#pics:test.local")
    return {
        "a": synapse.add_media("test.local", "aaaa", user_id=ALICE, rooms=[room_id]),
        "b": synapse.add_media("test.local", "bbbb", user_id=ALICE),
        "safe": synapse.add_media("test.local", "safe", user_id=ALICE, safe=True),
        "remote": synapse.add_media("remote.example", "rrrr", rooms=[room_id]),
        "room": room_id,
    }


def quarantined(fake):
    return sorted("%s/%s" % key for key, m in fake.media.items() if m["quarantined_by"])


def test_parse_media():
    assert media.parse_media("mxc://test.local/abc_D-1") == ("test.local", "abc_D-1")
    assert media.parse_media("test.local:8448/abc") == ("test.local:8448", "abc")
    for bad in ("mxc://test.local", "abc", "mxc://bad host/abc", "mxc://test.local/a/b"):
        with pytest.raises(ValueError):
            media.parse_media(bad)


def test_one_media_quarantine_lift_delete(synapse, capsys, admin_token, files):  # noqa: F811
    failed, result = run(capsys, synapse, check_mode=True, media=files["a"], access_token=admin_token)
    assert not failed and result["changed"] and result["media_ids"] == [files["a"]] and quarantined(synapse) == []
    failed, result = run(capsys, synapse, media=files["a"], access_token=admin_token)
    assert result["changed"] and quarantined(synapse) == ["test.local/aaaa"]
    failed, result = run(capsys, synapse, media=files["a"], access_token=admin_token)
    assert not result["changed"] and result["media_ids"] == [] and result["count"] == 0
    failed, result = run(capsys, synapse, media=files["a"], state="present", access_token=admin_token)
    assert result["changed"] and quarantined(synapse) == []
    failed, result = run(capsys, synapse, check_mode=True, media=files["a"], state="absent", access_token=admin_token)
    assert result["changed"] and ("test.local", "aaaa") in synapse.media
    failed, result = run(capsys, synapse, media=files["a"], state="absent", access_token=admin_token)
    assert result["changed"] and ("test.local", "aaaa") not in synapse.media
    failed, result = run(capsys, synapse, media=files["a"], state="absent", access_token=admin_token)
    assert not failed and not result["changed"]


def test_unknown_media_and_remote_delete(synapse, capsys, admin_token, files):  # noqa: F811
    failed, result = run(capsys, synapse, media="mxc://test.local/nothing", access_token=admin_token)
    assert failed and "does not have the media mxc://test.local/nothing" in result["msg"]
    failed, result = run(capsys, synapse, media=files["remote"], state="absent", access_token=admin_token)
    assert failed and "Only local media can be deleted" in result["msg"]
    assert ("remote.example", "rrrr") in synapse.media


def test_user_quarantine_is_exact_and_idempotent(synapse, capsys, admin_token, files):  # noqa: F811
    failed, result = run(capsys, synapse, check_mode=True, user="alice", access_token=admin_token)
    assert not failed and result["changed"] and result["media_ids"] == [files["a"], files["b"]]
    assert quarantined(synapse) == [] and synapse.writes() == []
    failed, result = run(capsys, synapse, user="alice", access_token=admin_token)
    assert result["changed"] and quarantined(synapse) == ["test.local/aaaa", "test.local/bbbb"]
    failed, result = run(capsys, synapse, user="alice", access_token=admin_token)
    assert not result["changed"] and synapse.count("POST", "/_synapse/admin/v1/user/") == 1
    failed, result = run(capsys, synapse, user="ghost", access_token=admin_token)
    assert failed and "There is no account @ghost:test.local" in result["msg"]


def test_room_quarantine(synapse, capsys, admin_token, files):  # noqa: F811
    failed, result = run(capsys, synapse, check_mode=True, room="#pics:test.local", access_token=admin_token)
    assert not failed and result["media_ids"] == [files["a"], files["remote"]], "local first, then remote"
    failed, result = run(capsys, synapse, room="#pics:test.local", access_token=admin_token)
    assert result["changed"] and quarantined(synapse) == ["remote.example/rrrr", "test.local/aaaa"]
    failed, result = run(capsys, synapse, room=files["room"], access_token=admin_token)
    assert not result["changed"]
    failed, result = run(capsys, synapse, room="#nope:test.local", access_token=admin_token)
    assert failed and "#nope:test.local does not resolve" in result["msg"]


def test_purge_remote(synapse, capsys, admin_token):  # noqa: F811
    synapse.purgeable_remote = 3
    failed, result = run(capsys, synapse, check_mode=True, purge_remote_older_than="30d", access_token=admin_token)
    assert not failed and result["changed"] is True and result["count"] is None
    assert any("no dry run" in w for w in result["warnings"]) and synapse.writes() == []
    failed, result = run(capsys, synapse, purge_remote_older_than="30d", access_token=admin_token)
    assert result["changed"] and result["count"] == 3
    failed, result = run(capsys, synapse, purge_remote_older_than="30d", access_token=admin_token)
    assert not result["changed"] and result["count"] == 0


def test_delete_local_by_age_and_size(synapse, capsys, admin_token):  # noqa: F811
    old = int(time.time() * 1000) - 400 * DAY_MS
    synapse.add_media("test.local", "oldbig", last_access_ts=old, length=10 ** 8)
    synapse.add_media("test.local", "oldsmall", last_access_ts=old, length=10)
    synapse.add_media("test.local", "newbig", length=10 ** 8)
    failed, result = run(capsys, synapse, delete_local_older_than="365d", larger_than=10 ** 6, access_token=admin_token)
    assert not failed and result["media_ids"] == ["mxc://test.local/oldbig"] and result["count"] == 1
    assert sorted(k[1] for k in synapse.media) == ["newbig", "oldsmall"]
    failed, result = run(capsys, synapse, delete_local_older_than="365d", larger_than=10 ** 6, access_token=admin_token)
    assert not result["changed"]


@pytest.mark.parametrize("args, needle", [
    ({}, "give exactly one of media, user, room"),
    ({"user": "alice", "room": "#r:test.local"}, "(got user, room)"),
    ({"user": "alice", "state": "present"}, "state=present is only possible with media"),
    ({"media": "nonsense"}, "invalid media 'nonsense'"),
    ({"purge_remote_older_than": "soon"}, "invalid duration 'soon'"),
    ({"delete_local_older_than": "1d", "larger_than": -1}, "larger_than must not be negative"),
    ({"room": "pics"}, "invalid room 'pics'"),
])
def test_bad_input_sends_nothing(synapse, capsys, admin_token, args, needle):  # noqa: F811
    failed, result = run(capsys, synapse, access_token=admin_token, **args)
    assert failed and needle in result["msg"] and "nothing was sent" in result["msg"], result["msg"]
    assert synapse.requests == []


def test_errors_and_wrong_shapes(synapse, capsys, admin_token, files, free_port_url):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("eve", "pw-eve"))
    failed, result = run(capsys, synapse, user="alice", access_token=token)
    assert failed and "does not belong to a server admin" in result["msg"]
    failed, result = run(capsys, synapse, user="alice", access_token=admin_token, server_url=free_port_url)
    assert failed and "Cannot reach Synapse" in result["msg"]
    synapse.answers[("POST", "/_synapse/admin/v1/purge_media_cache")] = (200, {"deleted": "ten"})
    failed, result = run(capsys, synapse, purge_remote_older_than="1d", access_token=admin_token)
    assert failed and "'deleted' must be an integer" in result["msg"]
    synapse.answers[("GET", "/_synapse/admin/v1/users/%40alice%3Atest.local/media")] = (200, {"media": [{}]})
    failed, result = run(capsys, synapse, user="alice", access_token=admin_token)
    assert failed and "'media_id' is missing" in result["msg"]
    assert quarantined(synapse) == []
