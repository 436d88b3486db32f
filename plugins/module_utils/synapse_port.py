# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the port_db module: preflight decisions, output parsing and the database probe.

Everything that decides something is a pure function here so the unit tests can exercise it without
PostgreSQL. Everything that reads a database happens in the probe (synapse_port_probe.py, PROBE_SOURCE
here), a small Python program that the module runs with the Synapse virtualenv's own interpreter: that
interpreter is guaranteed to have psycopg2 and PyYAML (Synapse needs them), the Ansible interpreter on the
target is not. The probe reads the PostgreSQL password from the homeserver config itself, so it never
appears on a command line, in the module's arguments or in its result.
"""

from __future__ import annotations

import ast
import collections
import glob
import inspect
import json
import os
import re
import subprocess
import threading

from ansible_collections.homeserver.synapse.plugins.module_utils import synapse_port_probe

# Our own bookkeeping table in the target database (see docs/modules/port_db.md, "Idempotence"), and
# synapse_port_db's own progress table, whose presence means an earlier port wrote into the database: named
# once, in the probe, which runs on its own and cannot import them from here.
MARKER_TABLE = synapse_port_probe.MARKER_TABLE
PORT_TABLE = synapse_port_probe.PORT_TABLE

# Copied from synapse/_scripts/synapse_port_db.py of matrix-synapse 1.163.2. The module reads the
# installed script's own lists (parse_port_script_constants) and only falls back to these.
DEFAULT_IGNORED_TABLES = frozenset((
    "user_directory",
    "user_directory_search",
    "user_directory_search_content",
    "user_directory_search_docsize",
    "user_directory_search_segdir",
    "user_directory_search_segments",
    "user_directory_search_stat",
    "user_directory_search_pos",
    "users_who_share_private_rooms",
    "users_in_public_rooms",
    "ui_auth_sessions",
    "ui_auth_sessions_credentials",
    "ui_auth_sessions_ips",
    "worker_read_write_locks_mode",
    "worker_read_write_locks",
))
DEFAULT_APPEND_ONLY_TABLES = frozenset((
    "cache_invalidation_stream_by_instance", "event_auth", "event_edges", "event_json",
    "event_reference_hashes", "event_search", "event_to_state_groups", "events", "ex_outlier_stream",
    "local_media_repository", "local_media_repository_thumbnails", "presence_stream",
    "public_room_list_stream", "push_rules_stream", "received_transactions", "redactions", "rejections",
    "remote_media_cache", "remote_media_cache_thumbnails", "room_memberships", "room_names", "rooms",
    "sent_transactions", "state_events", "state_group_edges", "state_groups", "state_groups_state",
    "stream_ordering_to_exterm", "topics", "transaction_id_to_pdu", "un_partial_stated_event_stream", "users",
))
# The script skips these outright (Porter.run, step 4).
SCHEMA_BOOKKEEPING_TABLES = frozenset(("schema_version", "applied_schema_deltas"))
# The script copies only recent rows of these, so their counts differ legitimately.
PARTIALLY_COPIED_TABLES = {
    "sent_transactions": "copied partially: only the last row per destination and the last day",
}

# synapse_port_db leaves the user directory empty (its tables are in IGNORED_TABLES) with its stream position
# NULL, and nothing queues a rebuild: user search finds nobody until the directory is regenerated. These are
# the background updates of the admin API's "regenerate_directory" job (synapse/rest/admin/background_updates.py),
# as (update_name, progress_json, depends_on); Synapse runs them when it starts on PostgreSQL.
REGENERATE_DIRECTORY_UPDATES = (
    ("populate_user_directory_createtables", "{}", ""),
    ("populate_user_directory_process_rooms", "{}", "populate_user_directory_createtables"),
    ("populate_user_directory_process_users", "{}", "populate_user_directory_process_rooms"),
    ("populate_user_directory_cleanup", "{}", "populate_user_directory_process_users"),
)

EXIT_SQLITE_MISSING = 1
EXIT_NO_DB_NAME = 2
EXIT_WRONG_ENGINE = 3
EXIT_NO_DB_SECTION = 4
EXIT_PORT_ERROR = 5

PENDING_UPDATES_MSG = "Pending background updates exist in the SQLite3 database"
AUTO_VACUUM_MSG = "auto_vacuum is enabled in the SQLite database"

TAIL_LINES = 100

_TABLE_PROGRESS_RE = re.compile(r"^(?P<table>[A-Za-z0-9_]+): (?P<perc>\d+)% \((?P<done>\d+)/(?P<total>\d+)\)$")
_STATE_RE = re.compile(r"^(?P<state>[A-Z][A-Za-z0-9 ]*[A-Za-z0-9])\.\.\.$")
_ALREADY_RE = re.compile(
    r" - INFO - Table (?P<table>[A-Za-z0-9_]+): (?P<done>\d+)/(?P<total>\d+) \(rows -?\d+--?\d+\) already ported$")
_DROPPED_ROW_RE = re.compile(r"DROPPING ROW: NUL value in table (?P<table>[A-Za-z0-9_]+) col ")
_DROPPED_SEARCH_RE = re.compile(r" - WARNING - dropping search row ")
_LOG_LINE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - \S+ - \d+ - (?P<level>[A-Z]+) - ")


# ---------------------------------------------------------------------------------------------------------
# The installed synapse_port_db


def find_port_script_source(venv):
    """Path of synapse/_scripts/synapse_port_db.py inside the virtualenv, or None."""
    pattern = os.path.join(venv, "lib", "python3*", "site-packages", "synapse", "_scripts", "synapse_port_db.py")
    found = sorted(glob.glob(pattern))
    return found[-1] if found else None


def parse_port_script_constants(source):
    """Read IGNORED_TABLES and APPEND_ONLY_TABLES from synapse_port_db's source without importing it.

    Importing the script would pull in all of Synapse's storage layer; the literals are enough. Returns
    the built-in copies for a name the source does not define as a literal (an unexpected Synapse).
    """
    found = {}
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        tree = None
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            name = getattr(target, "id", None)
            if name not in ("IGNORED_TABLES", "APPEND_ONLY_TABLES"):
                continue
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                continue
            if isinstance(literal, (list, set, tuple, frozenset)) and all(isinstance(x, str) for x in literal):
                found[name] = frozenset(literal)
    return {
        "ignored_tables": found.get("IGNORED_TABLES", DEFAULT_IGNORED_TABLES),
        "append_only_tables": found.get("APPEND_ONLY_TABLES", DEFAULT_APPEND_ONLY_TABLES),
        "from_script": sorted(found),
    }


# ---------------------------------------------------------------------------------------------------------
# Configuration


def check_database_section(database, config_path):
    """Validate the ``database`` section of the PostgreSQL homeserver config like synapse_port_db does.

    Returns None when it is usable, else an error message (the same cases as the script's exit codes 4, 2, 3).
    """
    if database is None:
        return ("%s has no 'database' section; synapse_port_db needs a homeserver config whose database is "
                "PostgreSQL (its exit code %d)." % (config_path, EXIT_NO_DB_SECTION))
    if not isinstance(database, dict):
        return "The 'database' section of %s must be a mapping." % config_path
    if "name" not in database:
        return ("The 'database' section of %s has no 'name'; set name: psycopg2 (synapse_port_db's exit code %d)."
                % (config_path, EXIT_NO_DB_NAME))
    if database["name"] != "psycopg2":
        return ("database.name in %s is %r; porting needs the PostgreSQL connector, name: psycopg2 "
                "(synapse_port_db's exit code %d)." % (config_path, database["name"], EXIT_WRONG_ENGINE))
    args = database.get("args")
    if args is not None and not isinstance(args, dict):
        return "database.args in %s must be a mapping of psycopg2 connection parameters." % config_path
    port = (args or {}).get("port")
    if port is not None and parse_port(port) is None:
        return ("database.args.port in %s is %r; it must be a TCP port number from 1 to 65535."
                % (config_path, port))
    return None


def parse_port(value):
    """A TCP port from an int or a string of digits (libpq takes both); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= 65535 else None


def connection_summary(database):
    """Where the config points to, without secrets: host, port, user, dbname (libpq defaults when unset)."""
    args = (database or {}).get("args") or {}
    host = args.get("host") or "local socket"
    return {
        "host": str(host),
        "port": parse_port(args.get("port") or 5432),
        "user": args.get("user"),
        "dbname": args.get("dbname") or args.get("database"),
    }


def describe_target(summary):
    return "%s on %s:%s" % (summary.get("dbname") or "the default database", summary.get("host"), summary.get("port"))


# ---------------------------------------------------------------------------------------------------------
# Preflight decisions


def explain_connect_error(error, summary):
    """Turn psycopg2's connection error into a message that names the cause."""
    text = (error or "").strip()
    target = describe_target(summary)
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered \
            or "authentication failed" in lowered:
        cause = "PostgreSQL rejected the credentials of user %r" % summary.get("user")
    elif "does not exist" in lowered and "database" in lowered:
        cause = "the database does not exist"
    elif "does not exist" in lowered and "role" in lowered:
        cause = "the role %r does not exist" % summary.get("user")
    elif "no pg_hba.conf entry" in lowered:
        cause = "pg_hba.conf does not allow this connection"
    elif "connection refused" in lowered or "could not connect" in lowered or "timeout expired" in lowered \
            or "could not translate host name" in lowered or "no route to host" in lowered:
        cause = "PostgreSQL is not reachable"
    elif "psycopg2" in lowered and ("no module" in lowered or "not installed" in lowered):
        return "Cannot use PostgreSQL %s: %s." % (target, text.splitlines()[0])
    else:
        cause = "connecting failed"
    return "Cannot use PostgreSQL %s: %s (%s)." % (target, cause, text.splitlines()[0] if text else "no details")


def check_postgres_facts(facts, allow_unsafe_locale=False):
    """The checks Synapse's PostgreSQL engine makes, done before anything is written. Returns messages."""
    errors = []
    version = facts.get("server_version") or 0
    if version < 140000:
        errors.append("Synapse requires PostgreSQL 14 or above; the server is %s." % pg_version_text(version))
    encoding = facts.get("encoding")
    if encoding != "UTF8":
        errors.append("The database has encoding %r instead of 'UTF8'." % encoding)
    if not allow_unsafe_locale:
        for what in ("collate", "ctype"):
            if facts.get(what) != "C":
                errors.append("The database has %s %r instead of 'C'." % (what.upper(), facts.get(what)))
    return errors


def pg_version_text(version):
    """psycopg2's server_version (150004) as PostgreSQL writes it (15.4)."""
    if not version:
        return "unknown"
    return "%d.%d" % (version // 10000, version % 10000)


TARGET_EMPTY = "empty"
TARGET_PARTIAL = "partial"
TARGET_COMPLETE = "complete"
TARGET_FOREIGN = "foreign"


def classify_target(tables, marker):
    """Classify the target database from its tables (bare or schema-qualified names) and our marker row.

    - ``empty``: no tables except possibly our own marker table;
    - ``partial``: an earlier port that has not finished (synapse_port_db's progress table, or our marker
      saying a port started), to be resumed;
    - ``complete``: our marker says an earlier port finished and was verified;
    - ``foreign``: tables but no trace of a port, e.g. a database Synapse already runs on.
    """
    names = set(t.rsplit(".", 1)[-1] for t in tables)
    others = names - {MARKER_TABLE}
    if not others:
        return TARGET_EMPTY if not marker else TARGET_PARTIAL
    if PORT_TABLE in names or marker:
        if marker and marker.get("status") == "complete" and PORT_TABLE in names:
            return TARGET_COMPLETE
        return TARGET_PARTIAL
    return TARGET_FOREIGN


def foreign_message(tables, summary):
    names = sorted(t for t in tables if t.rsplit(".", 1)[-1] != MARKER_TABLE)
    sample = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return ("PostgreSQL %s already holds %d tables (%s) but no trace of a SQLite port (no %s table): it looks like a "
            "database Synapse already uses. Porting would overwrite it, so nothing was written. Port into a new empty "
            "database (createdb --encoding=UTF8 --locale=C --template=template0 --owner=<user> <name>)."
            % (describe_target(summary), len(names), sample, PORT_TABLE))


def lineage_message(missing, summary):
    """Message for rows in PostgreSQL that the SQLite file does not have, or None when there are none."""
    if not missing:
        return None
    sample = ", ".join("%s %s" % (kind, value) for kind, value in missing[:4])
    return ("PostgreSQL %s holds rows that are not in the SQLite file (%s): it holds a port of another database, or "
            "Synapse has already run on PostgreSQL since the port. Porting again would truncate that data, so nothing "
            "was written." % (describe_target(summary), sample))


def sqlite_problem(facts):
    """Preconditions synapse_port_db checks on the SQLite side, checked before anything is written."""
    if facts.get("error"):
        return "Cannot read the SQLite database: %s" % facts["error"]
    tables = set(facts.get("tables") or [])
    if "schema_version" not in tables or "events" not in tables:
        return "The SQLite file is not a Synapse database (it has no schema_version or events table)."
    if facts.get("auto_vacuum"):
        return ("%s; synapse_port_db relies on stable rowids and refuses it. Stop Synapse and run "
                "'PRAGMA auto_vacuum=off; VACUUM;' on the file first." % AUTO_VACUUM_MSG)
    pending = facts.get("pending_updates") or []
    if pending:
        return ("%s (%s). Start Synapse on SQLite again and wait until every background update has finished, "
                "then stop it and re-run." % (PENDING_UPDATES_MSG, ", ".join(pending[:5])))
    return None


# ---------------------------------------------------------------------------------------------------------
# Identity of the SQLite file


def stat_identity(path):
    """Cheap identity of the SQLite file and its write-ahead log: sizes and modification times."""
    identity = {"path": os.path.abspath(path)}
    st = os.stat(path)
    identity["size"] = st.st_size
    identity["mtime_ns"] = st.st_mtime_ns
    wal = path + "-wal"
    try:
        wst = os.stat(wal)
    except OSError:
        wst = None
    # An empty log holds nothing: SQLite leaves one behind after read-only opens.
    identity["wal_size"] = wst.st_size if wst is not None and wst.st_size else 0
    identity["wal_mtime_ns"] = wst.st_mtime_ns if wst is not None and wst.st_size else 0
    return identity


_QUICK_KEYS = ("size", "mtime_ns", "wal_size", "wal_mtime_ns")


def compare_identity(recorded, current):
    """``same``, ``changed`` or ``unknown`` (the cheap identity differs and a content hash must decide).

    Sizes and times equal: unchanged (SQLite rewrites the file on every committed change). Otherwise the
    sha256 of the file (and of a non-empty WAL) decides, so a copy with a new mtime (cp, restore from backup,
    or synapse_port_db itself, which touches the file when it closes it) is not mistaken for new data.
    """
    if not recorded:
        return "changed"
    if all(recorded.get(k) == current.get(k) for k in _QUICK_KEYS):
        return "same"
    if recorded.get("size") != current.get("size") and recorded.get("wal_size") == current.get("wal_size"):
        return "changed"
    if not recorded.get("sha256") or not current.get("sha256"):
        return "unknown"
    same = recorded.get("sha256") == current.get("sha256") and \
        (recorded.get("wal_sha256") or "") == (current.get("wal_sha256") or "")
    return "same" if same else "changed"


# ---------------------------------------------------------------------------------------------------------
# Tables and counts


def tables_to_compare(sqlite_tables, virtual_tables, postgres_tables, constants):
    """Split the SQLite tables into those synapse_port_db copies in full and the rest, with a reason.

    ``postgres_tables`` is None when the PostgreSQL schema does not exist yet (check mode on an empty database):
    then every table that is not skipped for another reason is assumed to exist there.
    """
    compare = []
    skipped = {}
    shadow_prefixes = tuple(v + "_" for v in virtual_tables or ())
    pg = None if postgres_tables is None else set(t.rsplit(".", 1)[-1] for t in postgres_tables)
    for table in sorted(set(sqlite_tables)):
        if table.startswith("sqlite_"):
            skipped[table] = "SQLite internal table"
        elif table in SCHEMA_BOOKKEEPING_TABLES:
            skipped[table] = "schema bookkeeping, recreated by Synapse's schema setup"
        elif table in constants["ignored_tables"]:
            skipped[table] = "not ported by synapse_port_db (Synapse rebuilds it)"
        elif shadow_prefixes and table.startswith(shadow_prefixes) and table not in (pg or ()):
            skipped[table] = "SQLite full-text index internals"
        elif pg is not None and table not in pg:
            skipped[table] = "not part of the PostgreSQL schema"
        elif table in PARTIALLY_COPIED_TABLES:
            skipped[table] = PARTIALLY_COPIED_TABLES[table]
        else:
            compare.append(table)
    return compare, skipped


def compare_counts(tables, sqlite_counts, postgres_counts, dropped=None):
    """Per-table counts and the tables whose PostgreSQL count is not what the port should have produced.

    A row synapse_port_db reported as dropped (a string with a NUL character, which PostgreSQL cannot store)
    is expected to be missing.
    """
    dropped = dropped or {}
    result = {}
    mismatches = []
    for table in tables:
        sqlite_n = sqlite_counts.get(table)
        pg_n = postgres_counts.get(table)
        result[table] = {"sqlite": sqlite_n, "postgres": pg_n}
        expected = None if sqlite_n is None else sqlite_n - dropped.get(table, 0)
        if pg_n is None or expected is None or pg_n != expected:
            mismatches.append(table)
    return result, mismatches


def merge_dropped(seen, unportable):
    """Rows expected to be missing per table: the larger of what the script reported in this run and what the
    data says it cannot copy (an earlier, resumed run may have dropped rows this run did not see again)."""
    merged = dict(seen or {})
    for table, count in (unportable or {}).items():
        if count:
            merged[table] = max(merged.get(table, 0), count)
    return merged


def mismatch_message(result, mismatches, dropped=None):
    dropped = dropped or {}
    parts = []
    for table in mismatches[:10]:
        counts = result[table]
        extra = " (%d dropped)" % dropped[table] if dropped.get(table) else ""
        parts.append("%s: sqlite %s, postgres %s%s" % (table, counts["sqlite"], counts["postgres"], extra))
    more = " and %d more" % (len(mismatches) - 10) if len(mismatches) > 10 else ""
    return ("synapse_port_db finished but row counts differ in %d tables: %s%s. Was Synapse still writing to the "
            "SQLite file? Stop it and re-run; the port resumes." % (len(mismatches), "; ".join(parts), more))


# ---------------------------------------------------------------------------------------------------------
# synapse_port_db output


def parse_progress_line(line):
    """Classify one line of synapse_port_db output.

    Returns a dict with ``kind`` in ``table`` (per-table progress), ``state`` (a phase such as "Copying to
    postgres"), ``resume`` (a table's count already in PostgreSQL at the start), ``dropped`` (a row the script
    left out), ``log`` (any other log record, with its level) or ``text``.
    """
    line = line.rstrip("\r\n")
    m = _TABLE_PROGRESS_RE.match(line)
    if m:
        return {"kind": "table", "table": m.group("table"), "percent": int(m.group("perc")),
                "done": int(m.group("done")), "total": int(m.group("total"))}
    m = _STATE_RE.match(line)
    if m:
        return {"kind": "state", "state": m.group("state")}
    m = _ALREADY_RE.search(line)
    if m:
        return {"kind": "resume", "table": m.group("table"), "done": int(m.group("done")),
                "total": int(m.group("total"))}
    m = _DROPPED_ROW_RE.search(line)
    if m:
        return {"kind": "dropped", "table": m.group("table")}
    if _DROPPED_SEARCH_RE.search(line):
        return {"kind": "dropped", "table": "event_search"}
    m = _LOG_LINE_RE.match(line)
    if m:
        return {"kind": "log", "level": m.group("level")}
    return {"kind": "text"}


class ProgressTracker:
    """Follows synapse_port_db's output: phases, per-table progress, dropped rows, and the last lines."""

    def __init__(self, tail=TAIL_LINES):
        self.tail = collections.deque(maxlen=tail)
        self.states = []
        self.tables = {}
        self.resumed = {}
        self.dropped = {}
        self.lines = 0

    def feed(self, line):
        line = line.rstrip("\r\n")
        self.lines += 1
        self.tail.append(line)
        parsed = parse_progress_line(line)
        kind = parsed["kind"]
        if kind == "table":
            self.tables[parsed["table"]] = {k: parsed[k] for k in ("done", "total", "percent")}
        elif kind == "state":
            self.states.append(parsed["state"])
        elif kind == "resume":
            self.resumed[parsed["table"]] = {"done": parsed["done"], "total": parsed["total"]}
        elif kind == "dropped":
            self.dropped[parsed["table"]] = self.dropped.get(parsed["table"], 0) + 1
        return parsed

    @property
    def state(self):
        return self.states[-1] if self.states else None

    def resumed_rows(self):
        """Rows already in PostgreSQL from an earlier run, over the tables the script resumed."""
        return sum(v["done"] for v in self.resumed.values())


def _last_message(lines):
    """The last line that says something: not a progress line, not empty, not a traceback frame."""
    for line in reversed(list(lines)):
        text = line.strip()
        if not text:
            continue
        kind = parse_progress_line(text)["kind"]
        if kind in ("table", "state", "resume"):
            continue
        if text.startswith(("File \"", "Traceback", "^")):
            continue
        return text
    return "no output"


def explain_exit(rc, lines, sqlite_database=None, postgres_config=None):
    """Message for synapse_port_db's exit code, or None for success. ``lines`` is the tail of its output."""
    if rc == 0:
        return None
    lines = list(lines)
    text = "\n".join(lines)
    last = _last_message(lines)
    resume = " What was copied so far is kept; fix the cause and re-run to resume."
    if rc < 0:
        return "synapse_port_db was stopped by signal %d. What was copied so far is kept; re-run to resume." % -rc
    if rc == EXIT_SQLITE_MISSING:
        if "sqlite database you specified does not exist" in text:
            return "synapse_port_db cannot find the SQLite database %s (exit code 1)." % (sqlite_database or "")
        return "synapse_port_db failed before porting (exit code 1): %s" % last
    if rc == EXIT_NO_DB_NAME:
        if "usage:" in text or "error: argument" in text:
            return "synapse_port_db rejected its arguments (exit code 2): %s" % last
        return "The 'database' section of %s has no 'name' (synapse_port_db exit code 2)." % (postgres_config or "")
    if rc == EXIT_WRONG_ENGINE:
        return ("%s must use the PostgreSQL connector, database.name: psycopg2 (synapse_port_db exit code 3)."
                % (postgres_config or "The PostgreSQL config"))
    if rc == EXIT_NO_DB_SECTION:
        return "%s has no 'database' section (synapse_port_db exit code 4)." % (postgres_config or "The config")
    if rc == EXIT_PORT_ERROR:
        if PENDING_UPDATES_MSG in text:
            return ("synapse_port_db refused to port (exit code 5): %s. Start Synapse on SQLite again, wait until "
                    "every background update has finished, stop it and re-run." % PENDING_UPDATES_MSG)
        if AUTO_VACUUM_MSG in text:
            return ("synapse_port_db refused to port (exit code 5): %s. Stop Synapse and run "
                    "'PRAGMA auto_vacuum=off; VACUUM;' on the file first." % AUTO_VACUUM_MSG)
        return "synapse_port_db failed while porting (exit code 5): %s." % last.rstrip(".") + resume
    return "synapse_port_db exited with code %d: %s" % (rc, last)


# ---------------------------------------------------------------------------------------------------------
# The probe (synapse_port_probe.py), run with the Synapse virtualenv's interpreter: reads JSON on stdin,
# writes JSON on stdout. Imported here only so that its source travels with the module (AnsiballZ packs the
# module_utils a module imports); the module writes that source to a file and runs it.
PROBE_SOURCE = inspect.getsource(synapse_port_probe)


def probe_request(action, **kwargs):
    """The JSON document the probe reads on stdin (no secrets: the probe reads the password from the config)."""
    req = {"action": action}
    req.update(kwargs)
    return json.dumps(req)


def run_streaming(cmd, env, cwd, on_line, timeout=None):
    """Run cmd and hand each line of its output (stdout and stderr together) to on_line as it comes.

    synapse_port_db runs for minutes to hours: its progress must reach the log file while it runs, which
    AnsibleModule.run_command (output only at the end) cannot do. A run longer than timeout seconds is stopped
    (SIGTERM, SIGKILL 15 s later). Returns (exit code, whether it timed out).
    """
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, close_fds=True)

    def follow():
        for raw in iter(proc.stdout.readline, b""):
            on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    reader = threading.Thread(target=follow)
    reader.daemon = True
    reader.start()
    timed_out = False
    try:
        rc = proc.wait(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.terminate()
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    reader.join(30)
    return rc, timed_out
