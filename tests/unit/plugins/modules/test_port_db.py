# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the port_db module: preflight decisions, output parsing, count comparison, the probe's SQLite
side, and the module up to the point where it would need a PostgreSQL server."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.homeserver.synapse.plugins.module_utils import synapse_port as sp
from ansible_collections.homeserver.synapse.plugins.modules import port_db

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures_port_db")


def fixture_lines(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


CONSTANTS = {"ignored_tables": sp.DEFAULT_IGNORED_TABLES, "append_only_tables": sp.DEFAULT_APPEND_ONLY_TABLES}


# --------------------------------------------------------------------------------------------- script constants


def test_constants_are_read_from_the_script_source():
    source = textwrap.dedent("""
        APPEND_ONLY_TABLES = ["events", "users"]
        IGNORED_TABLES = {
            # a comment
            "user_directory",
            "brand_new_table",
        }
        IGNORED_BACKGROUND_UPDATES = {"something"}
    """)
    constants = sp.parse_port_script_constants(source)
    assert constants["ignored_tables"] == frozenset(("user_directory", "brand_new_table"))
    assert constants["append_only_tables"] == frozenset(("events", "users"))
    assert constants["from_script"] == ["APPEND_ONLY_TABLES", "IGNORED_TABLES"]


def test_constants_annotated_assignment():
    constants = sp.parse_port_script_constants('IGNORED_TABLES: set[str] = {"a", "b"}\n')
    assert constants["ignored_tables"] == frozenset(("a", "b"))
    assert constants["append_only_tables"] == sp.DEFAULT_APPEND_ONLY_TABLES


@pytest.mark.parametrize("source", [None, "", "this is not python(", "IGNORED_TABLES = compute()\n"])
def test_constants_fall_back_to_builtin_lists(source):
    constants = sp.parse_port_script_constants(source)
    assert constants["ignored_tables"] == sp.DEFAULT_IGNORED_TABLES
    assert constants["from_script"] == []


def test_builtin_lists_match_synapse_1_163():
    assert "user_directory_search" in sp.DEFAULT_IGNORED_TABLES
    assert "worker_read_write_locks" in sp.DEFAULT_IGNORED_TABLES
    assert len(sp.DEFAULT_IGNORED_TABLES) == 15
    assert len(sp.DEFAULT_APPEND_ONLY_TABLES) == 32


def test_find_port_script_source(tmp_path):
    assert sp.find_port_script_source(str(tmp_path)) is None
    scripts = tmp_path / "lib" / "python3.11" / "site-packages" / "synapse" / "_scripts"
    scripts.mkdir(parents=True)
    (scripts / "synapse_port_db.py").write_text("IGNORED_TABLES = {'x'}\n")
    assert sp.find_port_script_source(str(tmp_path)) == str(scripts / "synapse_port_db.py")


# --------------------------------------------------------------------------------------------- configuration


def test_database_section_ok():
    assert sp.check_database_section({"name": "psycopg2", "args": {"user": "synapse"}}, "c.yaml") is None
    assert sp.check_database_section({"name": "psycopg2"}, "c.yaml") is None


@pytest.mark.parametrize("database, needle", [
    (None, "no 'database' section"),
    ({"args": {}}, "has no 'name'"),
    ({"name": "sqlite3", "args": {"database": "/x.db"}}, "'sqlite3'"),
    ({"name": "psycopg2", "args": ["host"]}, "must be a mapping"),
    ("psycopg2", "must be a mapping"),
    ({"name": "psycopg2", "args": {"port": "fivefourthreetwo"}}, "'fivefourthreetwo'; it must be a TCP port"),
    ({"name": "psycopg2", "args": {"port": 70000}}, "70000; it must be a TCP port"),
    ({"name": "psycopg2", "args": {"port": True}}, "True; it must be a TCP port"),
    ({"name": "psycopg2", "args": {"port": [5432]}}, "[5432]; it must be a TCP port"),
])
def test_database_section_errors(database, needle):
    message = sp.check_database_section(database, "/etc/matrix-synapse/pg.yaml")
    assert needle in message
    assert "/etc/matrix-synapse/pg.yaml" in message


def test_database_section_errors_name_the_script_exit_codes():
    assert "exit code 4" in sp.check_database_section(None, "c")
    assert "exit code 2" in sp.check_database_section({}, "c")
    assert "exit code 3" in sp.check_database_section({"name": "sqlite3"}, "c")


def test_connection_summary_defaults_and_aliases():
    assert sp.connection_summary({"name": "psycopg2"}) == {
        "host": "local socket", "port": 5432, "user": None, "dbname": None}
    summary = sp.connection_summary({"name": "psycopg2", "args": {
        "host": "db.example", "port": "6432", "user": "synapse", "password": "s3cret", "database": "matrix"}})
    assert summary == {"host": "db.example", "port": 6432, "user": "synapse", "dbname": "matrix"}
    assert "s3cret" not in json.dumps(summary)
    assert sp.describe_target(summary) == "matrix on db.example:6432"


# --------------------------------------------------------------------------------------------- preflight checks


GOOD_PG = {"server_version": 150004, "encoding": "UTF8", "collate": "C", "ctype": "C"}


def test_postgres_facts_good():
    assert sp.check_postgres_facts(GOOD_PG) == []


@pytest.mark.parametrize("change, needle", [
    ({"server_version": 130011}, "PostgreSQL 14 or above; the server is 13.11"),
    ({"encoding": "SQL_ASCII"}, "encoding 'SQL_ASCII'"),
    ({"collate": "en_US.UTF-8"}, "COLLATE 'en_US.UTF-8'"),
    ({"ctype": "C.UTF-8"}, "CTYPE 'C.UTF-8'"),
])
def test_postgres_facts_bad(change, needle):
    facts = dict(GOOD_PG, **change)
    errors = sp.check_postgres_facts(facts)
    assert len(errors) == 1
    assert needle in errors[0]


def test_postgres_facts_unsafe_locale_allowed_like_synapse():
    facts = dict(GOOD_PG, collate="en_US.UTF-8", ctype="en_US.UTF-8")
    assert len(sp.check_postgres_facts(facts)) == 2
    assert sp.check_postgres_facts(facts, allow_unsafe_locale=True) == []
    # The encoding is checked regardless, as Synapse does.
    assert sp.check_postgres_facts(dict(facts, encoding="LATIN1"), allow_unsafe_locale=True)


def test_pg_version_text():
    assert sp.pg_version_text(150018) == "15.18"
    assert sp.pg_version_text(None) == "unknown"


@pytest.mark.parametrize("tables, marker, expected", [
    ([], None, sp.TARGET_EMPTY),
    (["public.homeserver_synapse_port"], {"status": "running"}, sp.TARGET_PARTIAL),
    (["public.events", "public.users", "public.port_from_sqlite3"], None, sp.TARGET_PARTIAL),
    (["public.events", "public.port_from_sqlite3", "public.homeserver_synapse_port"], {"status": "running"},
     sp.TARGET_PARTIAL),
    (["public.events", "public.port_from_sqlite3", "public.homeserver_synapse_port"], {"status": "complete"},
     sp.TARGET_COMPLETE),
    # our marker survived, the port table was dropped by hand: not trusted as complete
    (["public.events", "public.homeserver_synapse_port"], {"status": "complete"}, sp.TARGET_PARTIAL),
    # interrupted during the schema setup, before the script created its progress table
    (["public.events", "public.homeserver_synapse_port"], {"status": "running"}, sp.TARGET_PARTIAL),
    (["public.events", "public.users", "public.schema_version"], None, sp.TARGET_FOREIGN),
    (["other.something"], None, sp.TARGET_FOREIGN),
    (["events", "port_from_sqlite3"], None, sp.TARGET_PARTIAL),
])
def test_classify_target(tables, marker, expected):
    assert sp.classify_target(tables, marker) == expected


def test_foreign_message_names_tables_and_the_fix():
    names = ("events", "users", "rooms", "devices", "profiles", "receipts", "homeserver_synapse_port")
    tables = ["public.%s" % n for n in names]
    message = sp.foreign_message(tables, {"dbname": "synapse", "host": "127.0.0.1", "port": 5432})
    assert "6 tables" in message
    assert "public.devices" in message and ", ..." in message
    assert "homeserver_synapse_port" not in message
    assert "createdb --encoding=UTF8 --locale=C" in message


def test_lineage_message():
    summary = {"dbname": "synapse", "host": "h", "port": 5432}
    assert sp.lineage_message([], summary) is None
    assert sp.lineage_message(None, summary) is None
    message = sp.lineage_message([["event", "$abc"], ["user", "@zed:example.org"]], summary)
    assert "event $abc" in message and "user @zed:example.org" in message
    assert "nothing was written" in message


@pytest.mark.parametrize("facts, needle", [
    ({"error": "unable to open database file"}, "unable to open database file"),
    ({"tables": ["foo"]}, "not a Synapse database"),
    ({"tables": ["schema_version", "events"], "auto_vacuum": 1}, "auto_vacuum is enabled"),
    ({"tables": ["schema_version", "events"], "auto_vacuum": 0, "pending_updates": ["a", "b"]},
     "Pending background updates exist in the SQLite3 database (a, b)"),
])
def test_sqlite_problem(facts, needle):
    assert needle in sp.sqlite_problem(facts)


def test_sqlite_ok():
    assert sp.sqlite_problem({"tables": ["schema_version", "events"], "auto_vacuum": 0, "pending_updates": []}) is None


# --------------------------------------------------------------------------------------------- identity


def identity(**kw):
    base = {"size": 100, "mtime_ns": 5, "wal_size": 0, "wal_mtime_ns": 0}
    base.update(kw)
    return base


@pytest.mark.parametrize("recorded, current, expected", [
    (None, identity(), "changed"),
    ({}, identity(), "changed"),
    (identity(), identity(), "same"),
    (identity(), identity(size=200), "changed"),
    (identity(), identity(mtime_ns=6), "unknown"),
    (identity(sha256="aa"), identity(mtime_ns=6, sha256="aa"), "same"),
    (identity(sha256="aa"), identity(mtime_ns=6, sha256="bb"), "changed"),
    (identity(sha256="aa", wal_sha256=""), identity(mtime_ns=6, sha256="aa", wal_sha256="cc"), "changed"),
    (identity(sha256="aa"), identity(wal_size=4096, wal_mtime_ns=9), "unknown"),
])
def test_compare_identity(recorded, current, expected):
    assert sp.compare_identity(recorded, current) == expected


def test_stat_identity_ignores_an_empty_wal(tmp_path):
    db = tmp_path / "homeserver.db"
    db.write_bytes(b"x" * 10)
    (tmp_path / "homeserver.db-wal").write_bytes(b"")
    ident = sp.stat_identity(str(db))
    assert ident["size"] == 10 and ident["wal_size"] == 0 and ident["wal_mtime_ns"] == 0
    (tmp_path / "homeserver.db-wal").write_bytes(b"y" * 7)
    ident = sp.stat_identity(str(db))
    assert ident["wal_size"] == 7 and ident["wal_mtime_ns"] > 0
    assert ident["path"] == str(db)


# --------------------------------------------------------------------------------------------- tables and counts


SQLITE_TABLES = ["events", "users", "sqlite_sequence", "schema_version", "applied_schema_deltas", "user_directory",
                 "event_search", "event_search_content", "event_search_segdir", "sent_transactions",
                 "legacy_only_table", "ui_auth_sessions"]


def test_tables_to_compare_after_port():
    pg = ["public.events", "public.users", "public.event_search", "public.sent_transactions",
          "public.user_directory", "public.schema_version", "public.port_from_sqlite3"]
    compare, skipped = sp.tables_to_compare(SQLITE_TABLES, ["event_search"], pg, CONSTANTS)
    assert compare == ["event_search", "events", "users"]
    assert skipped["sqlite_sequence"] == "SQLite internal table"
    assert "bookkeeping" in skipped["schema_version"] and "bookkeeping" in skipped["applied_schema_deltas"]
    assert "not ported" in skipped["user_directory"] and "not ported" in skipped["ui_auth_sessions"]
    assert "full-text" in skipped["event_search_content"] and "full-text" in skipped["event_search_segdir"]
    assert "partially" in skipped["sent_transactions"]
    assert skipped["legacy_only_table"] == "not part of the PostgreSQL schema"
    assert set(compare) | set(skipped) == set(SQLITE_TABLES)


def test_tables_to_compare_before_the_schema_exists():
    compare, skipped = sp.tables_to_compare(SQLITE_TABLES, ["event_search"], None, CONSTANTS)
    # Without a PostgreSQL schema, a table is assumed to be ported unless skipped for a known reason.
    assert compare == ["event_search", "events", "legacy_only_table", "users"]
    assert "full-text" in skipped["event_search_content"]


def test_tables_to_compare_uses_the_scripts_own_ignore_list():
    constants = {"ignored_tables": frozenset(("users",)), "append_only_tables": frozenset()}
    compare, skipped = sp.tables_to_compare(["users", "events", "user_directory"], [], None, constants)
    assert compare == ["events", "user_directory"]
    assert "not ported" in skipped["users"]


def test_compare_counts_equal():
    tables, mismatches = sp.compare_counts(["events", "users"], {"events": 10, "users": 2},
                                           {"events": 10, "users": 2})
    assert mismatches == []
    assert tables == {"events": {"sqlite": 10, "postgres": 10}, "users": {"sqlite": 2, "postgres": 2}}


def test_compare_counts_differ_and_missing():
    tables, mismatches = sp.compare_counts(["events", "users", "rooms"], {"events": 10, "users": 2, "rooms": 1},
                                           {"events": 9, "users": 2})
    assert mismatches == ["events", "rooms"]
    assert tables["rooms"] == {"sqlite": 1, "postgres": None}
    message = sp.mismatch_message(tables, mismatches)
    assert "2 tables" in message and "events: sqlite 10, postgres 9" in message and "resumes" in message


def test_compare_counts_accounts_for_dropped_rows():
    counts = ({"profiles": 5}, {"profiles": 4})
    assert sp.compare_counts(["profiles"], *counts)[1] == ["profiles"]
    assert sp.compare_counts(["profiles"], *counts, dropped={"profiles": 1})[1] == []
    # A drop does not excuse a different shortfall.
    assert sp.compare_counts(["profiles"], {"profiles": 5}, {"profiles": 2}, {"profiles": 1})[1] == ["profiles"]
    tables, mismatches = sp.compare_counts(["profiles"], {"profiles": 5}, {"profiles": 2}, {"profiles": 1})
    assert "(1 dropped)" in sp.mismatch_message(tables, mismatches, {"profiles": 1})


def test_merge_dropped_takes_the_larger_count():
    assert sp.merge_dropped({"profiles": 1}, {"profiles": 3, "events": 0, "event_search": 2}) == {
        "profiles": 3, "event_search": 2}
    assert sp.merge_dropped({"profiles": 2}, {"profiles": 1}) == {"profiles": 2}
    assert sp.merge_dropped(None, None) == {}


def test_mismatch_message_is_bounded():
    names = ["t%02d" % i for i in range(15)]
    tables, mismatches = sp.compare_counts(names, dict((n, 1) for n in names), {})
    assert "and 5 more" in sp.mismatch_message(tables, mismatches)


# --------------------------------------------------------------------------------------------- output parsing


@pytest.mark.parametrize("line, expected", [
    ("events: 45% (450/1000)", {"kind": "table", "table": "events", "percent": 45, "done": 450, "total": 1000}),
    ("event_push_summary: 100% (6/6)\n", {"kind": "table", "table": "event_push_summary", "percent": 100,
                                          "done": 6, "total": 6}),
    ("Copying to postgres...", {"kind": "state", "state": "Copying to postgres"}),
    ("Preparing psycopg2...", {"kind": "state", "state": "Preparing psycopg2"}),
    ("Running background updates on PostgreSQL...",
     {"kind": "state", "state": "Running background updates on PostgreSQL"}),
    ("2026-11-23 21:54:44,198 - synapse_port_db - 441 - INFO - Table events: 436/436 (rows 1-437) already ported",
     {"kind": "resume", "table": "events", "done": 436, "total": 436}),
    ("2026-11-23 21:54:44,198 - synapse_port_db - 441 - INFO - Table events: 10/436 (rows -3-7) already ported",
     {"kind": "resume", "table": "events", "done": 10, "total": 436}),
    ("2026-11-23 21:54:44,198 - synapse_port_db - 1035 - WARNING - DROPPING ROW: NUL value in table profiles col "
     "displayname: 'a\\x00b'", {"kind": "dropped", "table": "profiles"}),
    ("2026-11-23 21:54:44,198 - synapse_port_db - 560 - WARNING - dropping search row {'event_id': '$x'}",
     {"kind": "dropped", "table": "event_search"}),
    ("2026-11-23 21:49:46,514 - synapse.config.server - 459 - INFO - Using default public_baseurl https://x/",
     {"kind": "log", "level": "INFO"}),
    ("Traceback (most recent call last):", {"kind": "text"}),
    ("Pending background updates exist in the SQLite3 database. Please start Synapse again and wait until every "
     "update has finished before running this script.", {"kind": "text"}),
])
def test_parse_progress_line(line, expected):
    assert sp.parse_progress_line(line) == expected


def test_tracker_on_real_output():
    tracker = sp.ProgressTracker()
    for line in fixture_lines("port_ok.txt"):
        tracker.feed(line)
    assert tracker.states[:2] == ["Preparing sqlite3", "Running background updates on PostgreSQL"]
    assert tracker.state == "Copying to postgres"
    assert tracker.tables["event_edges"] == {"done": 432, "total": 432, "percent": 100}
    assert tracker.tables["event_push_summary"]["done"] == 6
    assert tracker.resumed["events"] == {"done": 436, "total": 436}
    assert tracker.resumed_rows() == 436 + 36 + 36
    assert tracker.dropped == {}
    assert tracker.lines == len(fixture_lines("port_ok.txt"))


def test_tracker_keeps_a_bounded_tail_and_counts_drops():
    tracker = sp.ProgressTracker(tail=3)
    for i in range(10):
        tracker.feed("events: %d%% (%d/10)" % (i * 10, i))
    tracker.feed("x - synapse_port_db - 1 - WARNING - DROPPING ROW: NUL value in table profiles col displayname: ''")
    tracker.feed("x - synapse_port_db - 1 - WARNING - DROPPING ROW: NUL value in table profiles col displayname: ''")
    assert list(tracker.tail)[0] == "events: 90% (9/10)"
    assert len(tracker.tail) == 3
    assert tracker.dropped == {"profiles": 2}
    assert tracker.tables["events"]["done"] == 9


# --------------------------------------------------------------------------------------------- exit codes


def test_exit_success():
    assert sp.explain_exit(0, ["anything"]) is None


def test_exit_1_sqlite_missing():
    line = ("The sqlite database you specified does not exist, please check that you have thecorrect path.")
    message = sp.explain_exit(1, [line], "/var/lib/matrix-synapse/homeserver.db")
    assert "cannot find the SQLite database /var/lib/matrix-synapse/homeserver.db" in message


def test_exit_1_other_crash_names_the_error():
    lines = ["Traceback (most recent call last):", '  File "x.py", line 1, in <module>',
             "synapse.config._base.ConfigError: You must specify a server_name"]
    message = sp.explain_exit(1, lines)
    assert "failed before porting (exit code 1)" in message
    assert "You must specify a server_name" in message


def test_exit_2_usage_and_config():
    usage = ["usage: synapse_port_db [-h] [-v] --sqlite-database SQLITE_DATABASE",
             "synapse_port_db: error: the following arguments are required: --postgres-config"]
    assert "rejected its arguments" in sp.explain_exit(2, usage)
    assert "--postgres-config" in sp.explain_exit(2, usage)
    assert "has no 'name'" in sp.explain_exit(2, ["Malformed database config: no 'name'"], "db", "/etc/pg.yaml")


def test_exit_3_and_4():
    explained = sp.explain_exit(3, ["Database must use the 'psycopg2' connector."], "db", "/etc/pg.yaml")
    assert "database.name: psycopg2" in explained
    assert "/etc/pg.yaml has no 'database' section" in sp.explain_exit(4, [], "db", "/etc/pg.yaml")


def test_exit_5_pending_background_updates():
    message = sp.explain_exit(5, fixture_lines("port_pending.txt"))
    assert "Pending background updates exist" in message
    assert "wait until every background update has finished" in message


def test_exit_5_auto_vacuum():
    lines = ["auto_vacuum is enabled in the SQLite database. (This is not the default configuration.)"]
    assert "PRAGMA auto_vacuum=off" in sp.explain_exit(5, lines)


def test_exit_5_error_with_traceback_gives_the_cause():
    message = sp.explain_exit(5, fixture_lines("port_error.txt"))
    assert message.startswith("synapse_port_db failed while porting (exit code 5): connection to server at")
    assert 'database "nosuchdb" does not exist' in message
    assert "re-run to resume" in message


def test_exit_signal_and_unknown():
    assert "signal 9" in sp.explain_exit(-9, ["events: 10% (1/10)"])
    assert "exited with code 7: boom" in sp.explain_exit(7, ["boom", "events: 10% (1/10)"])
    assert "no output" in sp.explain_exit(7, [])


@pytest.mark.parametrize("error, needle", [
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed for user '
     '"synapse"', "rejected the credentials of user 'synapse'"),
    ('connection to server at "127.0.0.1", port 5432 failed: Connection refused\n\tIs the server running on that '
     'host and accepting TCP/IP connections?', "not reachable"),
    ('connection to server at "10.0.0.9", port 5432 failed: timeout expired', "not reachable"),
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "synapse" does not exist',
     "the database does not exist"),
    ('connection to server at "127.0.0.1", port 5432 failed: FATAL:  role "synapse" does not exist',
     "the role 'synapse' does not exist"),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "synapse", database "synapse", no encryption',
     "pg_hba.conf"),
    ("psycopg2 is not installed in the Synapse virtualenv (No module named 'psycopg2')", "psycopg2 is not installed"),
    ("something else", "connecting failed"),
])
def test_explain_connect_error(error, needle):
    message = sp.explain_connect_error(error, {"dbname": "synapse", "host": "127.0.0.1", "port": 5432,
                                               "user": "synapse"})
    assert needle in message
    assert message.startswith("Cannot use PostgreSQL synapse on 127.0.0.1:5432")
    assert "\n" not in message


# --------------------------------------------------------------------------------------------- the probe


def make_sqlite(path, pending=(), auto_vacuum=False):
    conn = sqlite3.connect(str(path))
    if auto_vacuum:
        conn.execute("PRAGMA auto_vacuum = FULL")
    conn.execute("CREATE TABLE schema_version (version INTEGER)")
    conn.execute("CREATE TABLE events (event_id TEXT, stream_ordering INTEGER)")
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.execute("CREATE TABLE background_updates (update_name TEXT)")
    conn.execute("CREATE VIRTUAL TABLE event_search USING fts4 (event_id, value)")
    conn.executemany("INSERT INTO events VALUES (?, ?)", [("$e%d" % i, i) for i in range(5)])
    conn.executemany("INSERT INTO users VALUES (?)", [("@a:test",), ("@b:test",)])
    conn.executemany("INSERT INTO background_updates VALUES (?)", [(p,) for p in pending])
    conn.execute("INSERT INTO event_search VALUES ('$e1', 'hello')")
    conn.commit()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def write_config(path, database):
    import yaml
    path.write_text(yaml.safe_dump({"server_name": "test.local", "database": database}))


def run_probe(request):
    proc = subprocess.run([sys.executable, "-c", sp.PROBE_SOURCE], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


needs_probe_deps = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import yaml, psycopg2"], capture_output=True, check=False).returncode != 0,
    reason="the probe needs PyYAML and psycopg2 in the test interpreter")


@needs_probe_deps
def test_probe_inspect_sqlite_and_unreachable_postgres(tmp_path):
    db = tmp_path / "homeserver.db"
    make_sqlite(db, pending=["fake_update"])
    config = tmp_path / "pg.yaml"
    write_config(config, {"name": "psycopg2", "args": {
        "host": "127.0.0.1", "port": closed_port(), "user": "synapse", "password": "hunter2-secret",
        "dbname": "synapse", "cp_min": 1, "cp_max": 2}})
    out = run_probe({"action": "inspect", "config": str(config), "sqlite": str(db)})
    assert out["config"]["server_name"] == "test.local"
    assert out["config"]["database"]["args"]["password"] == "********"
    assert "hunter2-secret" not in json.dumps(out)
    lite = out["sqlite"]
    assert {"events", "users", "schema_version", "event_search", "event_search_content"} <= set(lite["tables"])
    assert lite["virtual"] == ["event_search"]
    assert lite["auto_vacuum"] == 0
    assert lite["pending_updates"] == ["fake_update"]
    assert "refused" in out["postgres"]["error"].lower()
    message = sp.explain_connect_error(out["postgres"]["error"], sp.connection_summary(out["config"]["database"]))
    assert "not reachable" in message


@needs_probe_deps
def test_probe_reports_sqlite_problems(tmp_path):
    db = tmp_path / "homeserver.db"
    make_sqlite(db, auto_vacuum=True)
    config = tmp_path / "sqlite.yaml"
    write_config(config, {"name": "sqlite3", "args": {"database": str(db)}})
    out = run_probe({"action": "inspect", "config": str(config), "sqlite": str(db)})
    assert out["sqlite"]["auto_vacuum"] == 1
    assert "auto_vacuum is enabled" in sp.sqlite_problem(out["sqlite"])
    # Not a PostgreSQL config: nothing is tried.
    assert out["postgres"] == {}
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    out = run_probe({"action": "inspect", "config": str(config), "sqlite": str(broken)})
    assert "not a database" in out["sqlite"]["error"]


@needs_probe_deps
def test_probe_counts_rows_the_script_cannot_copy(tmp_path):
    db = tmp_path / "homeserver.db"
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE TABLE profiles (user_id TEXT, displayname TEXT, avatar BLOB)")
    conn.executemany("INSERT INTO profiles VALUES (?, ?, ?)", [
        ("alice", "Alice", None), ("bob", "bo\x00b", None), ("carol", "Carol", b"\x00binary is fine")])
    conn.execute("CREATE TABLE events (event_id TEXT, room_id TEXT)")
    conn.execute("INSERT INTO events VALUES ('$1', '!r')")
    conn.execute("CREATE VIRTUAL TABLE event_search USING fts4 (event_id, room_id, sender, key, value)")
    conn.executemany("INSERT INTO event_search VALUES (?, ?, 's', 'content.body', ?)", [
        ("$1", "!r", "hello"), ("$gone", "!r", "orphan"), ("$1", "!r", "nul\x00here")])
    conn.commit()
    conn.close()
    tables = ["profiles", "event_search", "events", "no_such_table"]
    out = run_probe({"action": "unportable", "sqlite": str(db), "tables": tables})
    assert out["unportable"] == {"profiles": 1, "event_search": 2, "events": 0}


@needs_probe_deps
def test_probe_bad_config_and_fatal(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("- just\n- a list\n")
    out = run_probe({"action": "inspect", "config": str(config), "sqlite": str(tmp_path / "x.db")})
    assert "not a YAML mapping" in out["config"]["error"]
    out = run_probe({"action": "count", "config": str(config), "sqlite": str(tmp_path / "missing.db")})
    assert out["fatal"]


# --------------------------------------------------------------------------------------------- the module


class ModuleExit(Exception):
    def __init__(self, kwargs, failed):
        super().__init__(kwargs.get("msg"))
        self.result = kwargs
        self.failed = failed


@pytest.fixture
def exits(monkeypatch):
    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(port_db.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(port_db.AnsibleModule, "fail_json", fail_json)


def fake_venv(tmp_path, script_body=None):
    """A virtualenv whose python is the test interpreter and whose synapse_port_db is a stand-in script."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    # A wrapper, not a symlink: a symlinked virtualenv interpreter would lose its site-packages.
    python = venv / "bin" / "python"
    python.write_text('#!/bin/sh\nexec %s "$@"\n' % sys.executable)
    python.chmod(0o755)
    script = venv / "bin" / "synapse_port_db"
    script.write_text("#!%s\n%s" % (sys.executable, script_body or "import sys\nsys.exit(0)\n"))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return venv


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as info:
            port_db.main()
    return info.value


def test_module_missing_venv(tmp_path, exits):
    err = run_module({"sqlite_database": str(tmp_path / "h.db"), "postgres_config": str(tmp_path / "pg.yaml"),
                      "synapse_venv": str(tmp_path / "nowhere")})
    assert err.failed and "is Synapse installed in the virtualenv" in err.result["msg"]


def test_module_missing_sqlite(tmp_path, exits):
    venv = fake_venv(tmp_path)
    err = run_module({"sqlite_database": str(tmp_path / "h.db"), "postgres_config": str(tmp_path / "pg.yaml"),
                      "synapse_venv": str(venv)})
    assert err.failed and err.result["msg"] == "The SQLite database %s does not exist." % (tmp_path / "h.db")


def test_argument_spec_matches_documentation():
    import yaml
    documented = yaml.safe_load(port_db.DOCUMENTATION)["options"]
    spec = port_db.argument_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert bool(documented[name].get("required")) == bool(option.get("required")), name


def test_regenerate_directory_updates_form_a_chain():
    names = [u[0] for u in sp.REGENERATE_DIRECTORY_UPDATES]
    assert names[0] == "populate_user_directory_createtables" and sp.REGENERATE_DIRECTORY_UPDATES[0][2] == ""
    for (_unused, _unused, depends_on), previous in zip(sp.REGENERATE_DIRECTORY_UPDATES[1:], names):
        assert depends_on == previous


def test_module_rejects_bad_numbers(tmp_path, exits):
    args = {"sqlite_database": "/x", "postgres_config": "/y"}
    assert "batch_size" in run_module(dict(args, batch_size=0)).result["msg"]
    assert "timeout" in run_module(dict(args, timeout=-1)).result["msg"]


@needs_probe_deps
def test_module_config_not_postgres(tmp_path, exits):
    venv = fake_venv(tmp_path)
    db = tmp_path / "homeserver.db"
    make_sqlite(db)
    config = tmp_path / "pg.yaml"
    write_config(config, {"name": "sqlite3", "args": {"database": str(db)}})
    err = run_module({"sqlite_database": str(db), "postgres_config": str(config), "synapse_venv": str(venv)},
                     check_mode=True)
    assert err.failed and "name: psycopg2" in err.result["msg"]


@needs_probe_deps
@pytest.mark.parametrize("check_mode", [True, False])
def test_module_unreachable_postgres_fails_in_preflight(tmp_path, exits, check_mode):
    # The stand-in synapse_port_db would leave a trace if the module ran it.
    trace = tmp_path / "ran"
    venv = fake_venv(tmp_path, "open(%r, 'w').close()\n" % str(trace))
    db = tmp_path / "homeserver.db"
    make_sqlite(db)
    config = tmp_path / "pg.yaml"
    write_config(config, {"name": "psycopg2", "args": {
        "host": "127.0.0.1", "port": closed_port(), "user": "synapse", "password": "hunter2-secret",
        "dbname": "synapse"}})
    err = run_module({"sqlite_database": str(db), "postgres_config": str(config), "synapse_venv": str(venv)},
                     check_mode=check_mode)
    assert err.failed
    assert "PostgreSQL is not reachable" in err.result["msg"]
    assert "hunter2-secret" not in json.dumps(err.result)
    assert err.result["synapse_version"] is None or isinstance(err.result["synapse_version"], str)
    assert not trace.exists()


@needs_probe_deps
@pytest.mark.parametrize("port", ["fivefourthreetwo", "54 32", 0])
def test_module_non_numeric_port_is_a_clear_failure(tmp_path, exits, port):
    venv = fake_venv(tmp_path)
    db = tmp_path / "homeserver.db"
    make_sqlite(db)
    config = tmp_path / "pg.yaml"
    write_config(config, {"name": "psycopg2", "args": {"host": "127.0.0.1", "port": port, "dbname": "synapse"}})
    err = run_module({"sqlite_database": str(db), "postgres_config": str(config), "synapse_venv": str(venv)},
                     check_mode=True)
    assert err.failed
    assert err.result["msg"] == ("database.args.port in %s is %r; it must be a TCP port number from 1 to 65535."
                                 % (config, port))
    assert "Traceback" not in json.dumps(err.result)


@needs_probe_deps
def test_module_pending_updates_fail_before_postgres(tmp_path, exits):
    venv = fake_venv(tmp_path)
    db = tmp_path / "homeserver.db"
    make_sqlite(db, pending=["populate_stats_process_rooms"])
    config = tmp_path / "pg.yaml"
    write_config(config, {"name": "psycopg2", "args": {"host": "127.0.0.1", "port": closed_port()}})
    err = run_module({"sqlite_database": str(db), "postgres_config": str(config), "synapse_venv": str(venv)})
    assert err.failed and "populate_stats_process_rooms" in err.result["msg"]


# The stand-in for synapse_port_db: prints a few real-looking lines and exits with the code given in the
# environment, or sleeps to exercise the timeout.
STAND_IN = textwrap.dedent("""
    import os, sys, time
    print("Preparing sqlite3...")
    print("Copying to postgres...")
    print("events: 50% (5/10)")
    sys.stdout.flush()
    if os.environ.get("STAND_IN_SLEEP"):
        time.sleep(float(os.environ["STAND_IN_SLEEP"]))
    print("events: 100% (10/10)")
    sys.stderr.write(os.environ.get("STAND_IN_STDERR", ""))
    sys.exit(int(os.environ.get("STAND_IN_RC", "0")))
""")


def port_db_object(tmp_path, monkeypatch, **params):
    venv = fake_venv(tmp_path, STAND_IN)
    args = {"sqlite_database": str(tmp_path / "h.db"), "postgres_config": str(tmp_path / "pg.yaml"),
            "synapse_venv": str(venv)}
    args.update(params)
    with patch_module_args(args):
        module = port_db.AnsibleModule(argument_spec=port_db.argument_spec(), supports_check_mode=True)
    monkeypatch.setattr(module, "log", lambda msg: None)
    return port_db.PortDb(module)


def test_run_port_script_streams_to_the_log_file(tmp_path, monkeypatch, exits):
    log_file = tmp_path / "port.log"
    runner = port_db_object(tmp_path, monkeypatch, log_file=str(log_file))
    tracker = runner.run_port_script({"dbname": "synapse", "host": "h", "port": 5432})
    assert tracker.states == ["Preparing sqlite3", "Copying to postgres"]
    assert tracker.tables["events"] == {"done": 10, "total": 10, "percent": 100}
    assert runner.result["rc"] == 0
    assert runner.result["stdout_lines"][-1] == "events: 100% (10/10)"
    text = log_file.read_text()
    assert "events: 50% (5/10)\nevents: 100% (10/10)\n" in text
    assert "port_db: starting synapse_port_db" in text and "exited with 0" in text
    assert stat.S_IMODE(os.stat(str(log_file)).st_mode) == 0o640


@pytest.mark.parametrize("rc, stderr, needle", [
    (5, "Pending background updates exist in the SQLite3 database. Please start Synapse again.",
     "Start Synapse on SQLite again"),
    (5, "Traceback (most recent call last):\nKeyError: 'boom'\nsomething broke", "exit code 5): something broke"),
    (3, "Database must use the 'psycopg2' connector.\n", "exit code 3"),
])
def test_run_port_script_maps_exit_codes(tmp_path, monkeypatch, exits, rc, stderr, needle):
    monkeypatch.setenv("STAND_IN_RC", str(rc))
    monkeypatch.setenv("STAND_IN_STDERR", stderr)
    runner = port_db_object(tmp_path, monkeypatch)
    with pytest.raises(ModuleExit) as info:
        runner.run_port_script({"dbname": "synapse", "host": "h", "port": 5432})
    assert info.value.failed
    assert needle in info.value.result["msg"]
    assert info.value.result["rc"] == rc
    assert info.value.result["state"] == "Copying to postgres"


def test_run_port_script_timeout(tmp_path, monkeypatch, exits):
    monkeypatch.setenv("STAND_IN_SLEEP", "30")
    runner = port_db_object(tmp_path, monkeypatch, timeout=1)
    with pytest.raises(ModuleExit) as info:
        runner.run_port_script({"dbname": "synapse", "host": "h", "port": 5432})
    result = info.value.result
    assert "did not finish within timeout=1 seconds" in result["msg"]
    assert "re-run to resume" in result["msg"]
    assert result["rc"] < 0
    assert result["duration"] < 20
    assert "events: 50% (5/10)" in result["stdout_lines"]
