# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""homeserver.synapse.room and room_info against the fake Synapse."""

from __future__ import annotations

import json

import pytest

from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_admin import check_room
from ansible_collections.homeserver.synapse.plugins.modules import room, room_info

from synapse_fake import free_port_url, run_module, synapse  # noqa: F401  pylint: disable=unused-import

ALICE = "@alice:test.local"
BOB = "@bob:test.local"
REMOTE = "@carol:remote.example"


def run(main, capsys, fake, check_mode=False, diff=False, **args):
    args.setdefault("server_url", fake.url)
    failed, result = run_module(main, args, capsys, check_mode=check_mode, diff=diff)
    assert "Traceback" not in json.dumps(result)
    return failed, result


@pytest.fixture
def admin_token(synapse):  # noqa: F811
    return synapse.issue_token(synapse.add_user("root", "root-password-1", admin=True))


@pytest.fixture
def spam(synapse):  # noqa: F811
    synapse.add_user("alice", "pw")
    return synapse.add_room("spam", members=[ALICE, BOB, REMOTE], alias="#spam:test.local", name="Spam",
                            levels={"users": {ALICE: 100}})


@pytest.mark.parametrize("value, kind", [
    ("!abc:test.local", "id"), ("!UCeAwIWlEoalDk-lrweNY3128tXvScHqFGHE1WkA1ck", "id"),
    ("!abc:[::1]:8448", "id"), ("#spam:test.local", "alias"),
])
def test_check_room_forms(value, kind):
    assert check_room(value) == kind


@pytest.mark.parametrize("value", ["spam", "#spam", "!", "!a b:test.local", "@alice:test.local", ""])
def test_check_room_refuses(value):
    with pytest.raises(ValueError):
        check_room(value)


# -- room: delete -------------------------------------------------------------------------------------------------

def test_delete_check_mode_real_and_again(synapse, capsys, admin_token, spam):  # noqa: F811
    failed, result = run(room.main, capsys, synapse, check_mode=True, diff=True, room="#spam:test.local",
                         state="absent", block=True, access_token=admin_token)
    assert not failed, result
    assert result["changed"] is True and result["deleted"] is True and result["blocked"] is True
    assert result["diff"]["before"] == {"exists": True, "blocked": False, "joined_local_members": 2}
    assert result["diff"]["after"] == {"exists": False, "blocked": True, "joined_local_members": 0}
    assert synapse.writes() == [] and spam in synapse.rooms

    failed, result = run(room.main, capsys, synapse, room="#spam:test.local", state="absent", block=True,
                         access_token=admin_token)
    assert not failed, result
    assert result["changed"] is True and result["room_id"] == spam
    assert result["delete"]["status"] == "complete"
    assert result["delete"]["shutdown_room"]["kicked_users"] == [ALICE, BOB]
    assert spam not in synapse.rooms and "#spam:test.local" not in synapse.aliases and spam in synapse.blocked
    (task,) = synapse.deletes.values()
    assert task["body"] == {"block": True, "purge": True, "force_purge": False}

    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", block=True, access_token=admin_token)
    assert not failed and result["changed"] is False and result["deleted"] is False and result["blocked"] is True
    assert synapse.count("DELETE", "/_synapse/admin/v2/rooms/") == 1

    failed, result = run(room.main, capsys, synapse, room="#spam:test.local", state="absent", access_token=admin_token)
    assert failed and "#spam:test.local does not resolve" in result["msg"]


def test_delete_with_replacement_room_and_no_purge(synapse, capsys, admin_token, spam):  # noqa: F811
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", purge=False,
                         new_room_user_id="@abuse:test.local", new_room_name="Closed",
                         new_room_message="Closed for spam.",
                         access_token=admin_token)
    assert not failed, result
    (task,) = synapse.deletes.values()
    assert task["body"] == {"block": False, "purge": False, "force_purge": False, "new_room_user_id": "@abuse:test.local",
                            "room_name": "Closed", "message": "Closed for spam."}
    assert synapse.rooms[spam]["members"] == [REMOTE]
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", purge=False, access_token=admin_token)
    assert not failed and result["changed"] is False, "no local members left: already shut down"


def test_delete_failed_is_a_failure(synapse, capsys, admin_token, spam):  # noqa: F811
    synapse.delete_error = "Users are still joined to this room"
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", access_token=admin_token)
    assert failed
    assert "reports the delete of %s" % spam in result["msg"] and "as failed: Users are still joined" in result["msg"]


def test_delete_timeout_then_rerun_waits_for_the_same_delete(synapse, capsys, admin_token, spam):  # noqa: F811
    synapse.delete_polls = 10 ** 6
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", wait_timeout=1,
                         access_token=admin_token)
    assert failed and "is still active after 1 s (wait_timeout)" in result["msg"]
    synapse.delete_polls = 0
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", access_token=admin_token)
    assert not failed and result["changed"] is True and result["delete"]["status"] == "complete"
    assert len(synapse.deletes) == 1, "the running delete was waited for, not started again"


# -- room: block and make_admin ----------------------------------------------------------------------------------

def test_block_unblock_with_diff(synapse, capsys, admin_token):  # noqa: F811
    unknown = "!unknown:elsewhere.example"
    failed, result = run(room.main, capsys, synapse, check_mode=True, diff=True, room=unknown, block=True,
                         access_token=admin_token)
    assert not failed and result["changed"] is True
    assert result["diff"] == {"before": {"blocked": False}, "after": {"blocked": True}}
    assert synapse.blocked == set()
    failed, result = run(room.main, capsys, synapse, room=unknown, block=True, access_token=admin_token)
    assert not failed and result["changed"] and synapse.blocked == {unknown}
    failed, result = run(room.main, capsys, synapse, room=unknown, block=True, access_token=admin_token)
    assert not failed and not result["changed"]
    failed, result = run(room.main, capsys, synapse, room=unknown, block=False, access_token=admin_token)
    assert not failed and result["changed"] and synapse.blocked == set()


def test_make_admin(synapse, capsys, admin_token, spam):  # noqa: F811
    synapse.add_user("bob", "pw")
    failed, result = run(room.main, capsys, synapse, check_mode=True, room="#spam:test.local", make_admin="bob",
                         access_token=admin_token)
    assert not failed and result["changed"] and result["made_admin"] == BOB
    assert BOB not in synapse.rooms[spam]["levels"]["users"]
    failed, result = run(room.main, capsys, synapse, room="#spam:test.local", make_admin="bob", access_token=admin_token)
    assert not failed and result["changed"] and synapse.rooms[spam]["levels"]["users"][BOB] == 100
    failed, result = run(room.main, capsys, synapse, room="#spam:test.local", make_admin="bob", access_token=admin_token)
    assert not failed and not result["changed"] and result["made_admin"] is None


@pytest.mark.parametrize("args, needle", [
    ({"room": "spam"}, "invalid room 'spam'"),
    ({"room": "!a:test.local"}, "give block or make_admin"),
    ({"room": "!a:test.local", "make_admin": "x", "state": "absent"}, "make_admin needs state=present"),
    ({"room": "!a:test.local", "block": True, "new_room_message": "m"}, "new_room_message is only used with state=absent"),
    ({"room": "!a:test.local", "state": "absent", "new_room_user_id": "abuse"}, "must be a full Matrix ID"),
    ({"room": "!a:test.local", "state": "absent", "wait_timeout": 0}, "wait_timeout must be between"),
])
def test_bad_input_sends_nothing(synapse, capsys, admin_token, args, needle):  # noqa: F811
    failed, result = run(room.main, capsys, synapse, access_token=admin_token, **args)
    assert failed and needle in result["msg"] and "nothing was sent" in result["msg"]
    assert synapse.requests == []


def test_make_admin_in_unknown_room(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(room.main, capsys, synapse, room="!nowhere:test.local", make_admin="root",
                         access_token=admin_token)
    assert failed and "does not know the room !nowhere:test.local" in result["msg"]


def test_errors(synapse, capsys, admin_token, spam, free_port_url):  # noqa: F811
    token = synapse.issue_token(synapse.add_user("eve", "pw-eve"))
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", access_token=token)
    assert failed and "does not belong to a server admin" in result["msg"]
    failed, result = run(room.main, capsys, synapse, room=spam, block=True, access_token=admin_token,
                         server_url=free_port_url)
    assert failed and "Cannot reach Synapse" in result["msg"]
    synapse.answers[("DELETE", "/_synapse/admin/v2/rooms/%s" % spam.replace("!", "%21").replace(":", "%3A"))] = (
        200, {"delete_id": 7})
    failed, result = run(room.main, capsys, synapse, room=spam, state="absent", access_token=admin_token)
    assert failed and "'delete_id' must be a string" in result["msg"]


# -- room_info ---------------------------------------------------------------------------------------------------

def test_room_info_one_room(synapse, capsys, admin_token, spam):  # noqa: F811
    failed, result = run(room_info.main, capsys, synapse, room="#spam:test.local", access_token=admin_token)
    assert not failed, result
    (info,) = result["rooms"]
    assert info["room_id"] == spam and info["name"] == "Spam" and info["canonical_alias"] == "#spam:test.local"
    assert info["local_members"] == [ALICE, BOB] and info["joined_members"] == 3 and info["blocked"] is False
    failed, result = run(room_info.main, capsys, synapse, room="#nothing:test.local", access_token=admin_token)
    assert not failed and result["rooms"] == []
    failed, result = run(room_info.main, capsys, synapse, room="!nothing:test.local", access_token=admin_token)
    assert not failed and result["rooms"] == []


def test_room_info_list(synapse, capsys, admin_token, spam):  # noqa: F811
    for index in range(120):
        synapse.add_room("r%03d" % index, members=[ALICE] * (index % 3), name="Room %03d" % index,
                         public=index % 2 == 0)
    failed, result = run(room_info.main, capsys, synapse, limit=500, access_token=admin_token)
    assert not failed and len(result["rooms"]) == 121 and result["total"] == 121
    assert synapse.count("GET", "/_synapse/admin/v1/rooms") == 2
    failed, result = run(room_info.main, capsys, synapse, search="Spam", access_token=admin_token)
    assert [r["room_id"] for r in result["rooms"]] == [spam]
    failed, result = run(room_info.main, capsys, synapse, public=True, empty=True, access_token=admin_token)
    assert result["rooms"] and all(r["public"] and r["joined_members"] == 0 for r in result["rooms"])
    failed, result = run(room_info.main, capsys, synapse, order_by="joined_members", descending=True, limit=1,
                         access_token=admin_token)
    assert result["rooms"][0]["room_id"] == spam and len(result["rooms"]) == 1


@pytest.mark.parametrize("answer, needle", [
    ({}, "'rooms' is missing"),
    ({"rooms": [{"room_id": 1}], "total_rooms": 1}, "'room_id' must be a string"),
    ({"rooms": [{"room_id": "!a:test.local", "joined_members": "3"}], "total_rooms": 1}, "'joined_members' of room"),
    ({"rooms": [], "total_rooms": None}, "'total_rooms' must be an integer"),
])
def test_room_info_wrong_shapes(synapse, capsys, admin_token, answer, needle):  # noqa: F811
    synapse.answers[("GET", "/_synapse/admin/v1/rooms")] = (200, answer)
    failed, result = run(room_info.main, capsys, synapse, access_token=admin_token)
    assert failed and needle in result["msg"] and "GET /_synapse/admin/v1/rooms" in result["msg"], result["msg"]


def test_room_info_invalid_room(synapse, capsys, admin_token):  # noqa: F811
    failed, result = run(room_info.main, capsys, synapse, room="spam", access_token=admin_token)
    assert failed and "invalid room 'spam'" in result["msg"] and synapse.requests == []
