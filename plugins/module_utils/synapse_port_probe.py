# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The port_db module's database probe: a program run with the Synapse virtualenv's own interpreter.

That interpreter has psycopg2 and PyYAML (Synapse needs them); the Ansible interpreter on the target may not,
so the module never imports this file's database code itself: it runs the file's source (synapse_port.py's
PROBE_SOURCE) with the virtualenv's Python, which reads one JSON request on stdin ({"action": "inspect" |
"count" | "unportable" | "mark", ...}) and writes one JSON answer on stdout ({"fatal": ...} on an error).
It reads the PostgreSQL password from the homeserver config itself, so the password is never on a command
line, in the module's arguments or in its result.
"""

import json
import os
import sqlite3
import sys
from urllib.parse import quote

# Our own bookkeeping table in the target database; synapse_port_db's own progress table.
MARKER_TABLE = "homeserver_synapse_port"
PORT_TABLE = "port_from_sqlite3"
REDACTED = "********"


def qi(name):
    return '"%s"' % name.replace('"', '""')


def error_text(exc):
    text = str(exc).strip() or exc.__class__.__name__
    return text


def load_config(path):
    import yaml
    with open(path) as handle:
        config = yaml.safe_load(handle)
    if not isinstance(config, dict):
        raise ValueError("%s is not a YAML mapping" % path)
    return config


def redact(database):
    if not isinstance(database, dict):
        return database
    out = dict(database)
    args = out.get("args")
    if isinstance(args, dict):
        out["args"] = dict((k, REDACTED if k == "password" else v) for k, v in args.items())
    return out


def pg_connect(database):
    import psycopg2
    # Synapse hands every non-cp_ argument to psycopg2.connect (synapse.storage.database.make_conn).
    args = dict((k, v) for k, v in (database.get("args") or {}).items() if not str(k).startswith("cp_"))
    args.setdefault("connect_timeout", 10)
    conn = psycopg2.connect(**args)
    conn.autocommit = True
    return conn


def sqlite_open(path):
    return sqlite3.connect("file:%s?mode=ro" % quote(os.path.abspath(path)), uri=True)


def pg_tables(cur):
    cur.execute(
        "SELECT n.nspname, c.relname, n.nspname = current_schema() FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
    )
    qualified, current = [], []
    for schema, name, is_current in cur.fetchall():
        qualified.append("%s.%s" % (schema, name))
        if is_current:
            current.append(name)
    return sorted(qualified), sorted(current)


def sqlite_tables(conn):
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = sorted(row[0] for row in rows)
    virtual = sorted(name for name, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL TABLE"))
    return tables, virtual


def inspect(req):
    out = {"config": {}, "sqlite": {}, "postgres": {}}
    try:
        from importlib.metadata import version
        out["synapse_version"] = version("matrix-synapse")
    except Exception:
        out["synapse_version"] = None

    database = None
    try:
        config = load_config(req["config"])
        database = config.get("database")
        out["config"]["database"] = redact(database)
        out["config"]["server_name"] = config.get("server_name")
    except Exception as exc:
        out["config"]["error"] = error_text(exc)

    lite = None
    try:
        lite = sqlite_open(req["sqlite"])
        tables, virtual = sqlite_tables(lite)
        out["sqlite"]["tables"] = tables
        out["sqlite"]["virtual"] = virtual
        out["sqlite"]["auto_vacuum"] = lite.execute("PRAGMA auto_vacuum").fetchone()[0]
        if "background_updates" in tables:
            out["sqlite"]["pending_updates"] = [
                r[0] for r in lite.execute("SELECT update_name FROM background_updates LIMIT 10").fetchall()
            ]
    except Exception as exc:
        out["sqlite"]["error"] = error_text(exc)
        lite = None

    if not isinstance(database, dict) or database.get("name") != "psycopg2":
        return out
    pg = out["postgres"]
    try:
        conn = pg_connect(database)
    except ImportError as exc:
        pg["error"] = "psycopg2 is not installed in the Synapse virtualenv (%s)" % error_text(exc)
        return out
    except Exception as exc:
        pg["error"] = error_text(exc)
        return out
    try:
        cur = conn.cursor()
        pg["server_version"] = conn.server_version
        cur.execute("SHOW SERVER_ENCODING")
        pg["encoding"] = cur.fetchone()[0]
        cur.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()")
        pg["collate"], pg["ctype"] = cur.fetchone()
        pg["tables"], current = pg_tables(cur)
        pg["current_tables"] = current
        pg["marker"] = None
        if MARKER_TABLE in current:
            cur.execute("SELECT status, sqlite_path, sqlite_identity, tables, synapse_version, updated_at"
                        " FROM " + MARKER_TABLE + " WHERE id = 1")
            row = cur.fetchone()
            if row:
                pg["marker"] = {
                    "status": row[0], "sqlite_path": row[1], "sqlite_identity": json.loads(row[2] or "{}"),
                    "tables": json.loads(row[3] or "{}"), "synapse_version": row[4], "updated_at": str(row[5]),
                }
        # Rows PostgreSQL has that SQLite lacks mean another lineage, or a database Synapse has run on since.
        samples = []
        if "events" in current:
            for order in ("ASC", "DESC"):
                cur.execute("SELECT event_id FROM events ORDER BY stream_ordering %s LIMIT 1" % order)
                samples.extend(("event", r[0]) for r in cur.fetchall())
        if "users" in current:
            for order in ("ASC", "DESC"):
                cur.execute("SELECT name FROM users ORDER BY name %s LIMIT 1" % order)
                samples.extend(("user", r[0]) for r in cur.fetchall())
        missing = []
        if lite is not None:
            for kind, value in sorted(set(samples)):
                sql = "SELECT 1 FROM events WHERE event_id = ?" if kind == "event" else \
                    "SELECT 1 FROM users WHERE name = ?"
                try:
                    found = lite.execute(sql, (value,)).fetchone()
                except sqlite3.Error:
                    found = None
                if not found:
                    missing.append([kind, value])
        pg["sampled"] = len(set(samples))
        pg["missing_in_sqlite"] = missing
    except Exception as exc:
        pg["error"] = error_text(exc)
    finally:
        conn.close()
    return out


def count(req):
    skip = set(req.get("skip") or [])
    out = {"sqlite": {}, "postgres": {}}
    lite = sqlite_open(req["sqlite"])
    tables, virtual = sqlite_tables(lite)
    out["sqlite_tables"], out["virtual"] = tables, virtual
    wanted = [t for t in tables if t not in skip and not t.startswith("sqlite_")]
    for table in wanted:
        out["sqlite"][table] = lite.execute("SELECT count(*) FROM " + qi(table)).fetchone()[0]
    lite.close()
    config = load_config(req["config"])
    conn = pg_connect(config["database"])
    try:
        cur = conn.cursor()
        out["postgres_tables"], current = pg_tables(cur)
        for table in wanted:
            if table in current:
                cur.execute("SELECT count(*) FROM " + qi(table))
                out["postgres"][table] = cur.fetchone()[0]
    finally:
        conn.close()
    return out


def unportable(req):
    """Rows synapse_port_db cannot copy, counted from the data: strings with a NUL character (PostgreSQL cannot
    store them) and, for event_search, rows without their event (the script copies it through a join)."""
    lite = sqlite_open(req["sqlite"])
    out = {}
    for table in req["tables"]:
        if table == "event_search":
            sql = ("SELECT count(*) FROM event_search AS es LEFT JOIN events AS e USING (event_id, room_id)"
                   " WHERE e.event_id IS NULL OR instr(CAST(es.value AS BLOB), x'00') > 0")
        else:
            columns = [r[1] for r in lite.execute("PRAGMA table_info(%s)" % qi(table)).fetchall()]
            if not columns:
                continue
            sql = "SELECT count(*) FROM %s WHERE %s" % (qi(table), " OR ".join(
                "(typeof(%s) = 'text' AND instr(CAST(%s AS BLOB), x'00') > 0)" % (qi(c), qi(c)) for c in columns))
        out[table] = lite.execute(sql).fetchone()[0]
    lite.close()
    return {"unportable": out}


def mark(req):
    config = load_config(req["config"])
    marker = req["marker"]
    conn = pg_connect(config["database"])
    try:
        cur = conn.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS " + MARKER_TABLE + " ("
            " id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),"
            " status text NOT NULL,"
            " sqlite_path text NOT NULL,"
            " sqlite_identity text NOT NULL,"
            " tables text,"
            " synapse_version text,"
            " updated_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute(
            "COMMENT ON TABLE " + MARKER_TABLE + " IS 'Written by the homeserver.synapse.port_db Ansible module:"
            " state of the SQLite port into this database. Keep it: without it the module treats the database"
            " as an unfinished port.'"
        )
        cur.execute(
            "INSERT INTO " + MARKER_TABLE + " (id, status, sqlite_path, sqlite_identity, tables, synapse_version,"
            " updated_at) VALUES (1, %s, %s, %s, %s, %s, now())"
            " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, sqlite_path = EXCLUDED.sqlite_path,"
            " sqlite_identity = EXCLUDED.sqlite_identity, tables = EXCLUDED.tables,"
            " synapse_version = EXCLUDED.synapse_version, updated_at = now()",
            (marker["status"], marker["sqlite_path"], json.dumps(marker.get("sqlite_identity") or {}),
             json.dumps(marker.get("tables") or {}), marker.get("synapse_version")),
        )
        dequeue = list(req.get("dequeue_updates") or [])
        if dequeue:
            cur.execute("SELECT to_regclass('background_updates') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("DELETE FROM background_updates WHERE update_name = ANY(%s)", (dequeue,))
        queued = []
        for name, progress, depends_on in req.get("queue_updates") or []:
            cur.execute(
                "INSERT INTO background_updates (update_name, progress_json, depends_on)"
                " SELECT %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM background_updates WHERE update_name = %s)",
                (name, progress, depends_on or None, name),
            )
            if cur.rowcount:
                queued.append(name)
    finally:
        conn.close()
    return {"written": marker["status"], "queued": queued}


def main():
    req = json.load(sys.stdin)
    try:
        actions = {"inspect": inspect, "count": count, "unportable": unportable, "mark": mark}
        result = actions[req["action"]](req)
    except Exception as exc:
        result = {"fatal": error_text(exc), "type": exc.__class__.__name__}
    sys.stdout.write(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
