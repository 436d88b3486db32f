#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: port_db
short_description: Port a Synapse SQLite database to PostgreSQL with Synapse's own synapse_port_db
version_added: 0.1.0
description:
  - Copies a Synapse SQLite database into PostgreSQL by running C(synapse_port_db) from the Synapse virtualenv
    (the copy is Synapse's own; this module adds the checks, the bookkeeping and the verification around it).
  - "Before anything is written it checks: the SQLite file exists, is readable, is a Synapse database without pending
    background updates or C(auto_vacuum); PostgreSQL is reachable with the credentials of O(postgres_config), is 14 or
    newer, and its database has encoding C(UTF8) and collation and ctype C(C) (unless the config sets
    C(allow_unsafe_locale)); the database is empty or holds an earlier unfinished port of this same SQLite database,
    which is then resumed. A database with tables but no trace of a port (one Synapse already runs on) is refused,
    and so is one holding events or users the SQLite file does not have."
  - The PostgreSQL probing runs with the virtualenv's own Python and psycopg2, so the target's system Python needs
    neither. The password is read from O(postgres_config) by that probe and is never put on a command line or in the
    result.
  - After the port it counts the rows of every table C(synapse_port_db) copies, in SQLite and in PostgreSQL, and fails
    when they differ. It then records the port as finished in a table of its own, C(homeserver_synapse_port), in the
    target database, with the identity of the SQLite file (sizes, modification times and sha256 of the file and its
    write-ahead log) and the counts. A later run whose SQLite file is unchanged does nothing (C(changed=false)); a
    changed file (a newer snapshot, or the live file after Synapse was stopped) is ported again, as Synapse's
    documentation recommends.
  - Progress lines of C(synapse_port_db) go to O(log_file) as they come (follow them with C(tail -f)), the phases also
    to syslog; the last lines are returned in RV(stdout_lines). Long ports are meant to run with C(async) and C(poll).
  - Synapse must not be writing to O(sqlite_database) during the port; port a snapshot while it runs, then stop it and
    port the live file (see the operations documentation).
author:
  - homeserver.synapse maintainers (!UNKNOWN)
options:
  sqlite_database:
    description:
      - The SQLite database to port, for example C(/var/lib/matrix-synapse/homeserver.db) or a snapshot of it.
      - Run the task as the user that owns it (C(become_user=matrix-synapse)); SQLite needs to create its C(-shm) and
        C(-wal) files next to it even to read a database in WAL mode.
    type: path
    required: true
  postgres_config:
    description:
      - A complete homeserver config file (C(server_name) and the rest) whose C(database) section is the PostgreSQL
        target (C(name=psycopg2)). C(synapse_port_db) parses it as Synapse does.
      - The connection parameters come from C(database.args) (C(host), C(port), C(user), C(password), C(dbname) and
        any other psycopg2 parameter); C(database.allow_unsafe_locale) relaxes the collation and ctype check as it
        does in Synapse.
    type: path
    required: true
  batch_size:
    description:
      - Rows C(synapse_port_db) reads from SQLite per batch (its C(--batch-size)).
    type: int
    default: 1000
  synapse_venv:
    description:
      - The virtualenv Synapse is installed in; C(bin/synapse_port_db) and C(bin/python) (with psycopg2) are used from it.
    type: path
    default: /opt/venvs/matrix-synapse
  timeout:
    description:
      - Stop C(synapse_port_db) after this many seconds and fail. What was copied is kept, and the next run resumes.
      - Omit for no limit. For long ports prefer C(async) with a generous limit.
    type: int
  log_file:
    description:
      - Append everything C(synapse_port_db) prints to this file while it runs, line by line, framed by a start and an
        end line with a timestamp. Created with mode C(0640) when missing.
    type: path
  rebuild_user_directory:
    description:
      - C(synapse_port_db) does not copy the user directory (Synapse can rebuild it) but leaves it empty with its
        stream position unset and queues no rebuild, so user search finds nobody after the migration.
      - When V(true), after a verified port the module queues in PostgreSQL the background updates of Synapse's
        C(regenerate_directory) admin job (C(populate_user_directory_*)), which Synapse runs when it starts on
        PostgreSQL. Set V(false) to start that job yourself later through the admin API.
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Runs every preflight check and reports the tables and row counts that would be ported, without writing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Tables C(synapse_port_db) does not copy are left out of the comparison and listed in RV(skipped_tables) with the
    reason; C(sent_transactions) is copied only partially by design. Rows the script drops (strings containing NUL,
    which PostgreSQL cannot store) are reported in RV(dropped_rows) and expected to be missing.
  - Removing the C(homeserver_synapse_port) table makes the module treat the database as an unfinished port.
seealso:
  - name: Synapse, Porting from SQLite
    description: Synapse's documentation of synapse_port_db.
    link: https://element-hq.github.io/synapse/latest/postgres.html#porting-from-sqlite
"""

EXAMPLES = r"""
- name: Show what would be ported
  homeserver.synapse.port_db:
    sqlite_database: /var/lib/matrix-synapse/homeserver.db
    postgres_config: /etc/matrix-synapse/homeserver-postgres.yaml
  check_mode: true
  become: true
  become_user: matrix-synapse

- name: Port a snapshot while Synapse keeps running on SQLite
  homeserver.synapse.port_db:
    sqlite_database: /var/lib/matrix-synapse/homeserver.db.snapshot
    postgres_config: /etc/matrix-synapse/homeserver-postgres.yaml
    log_file: /var/log/matrix-synapse/port_db.log
  become: true
  become_user: matrix-synapse
  async: 86400
  poll: 30
  register: __port_snapshot

- name: Stop Synapse and port what changed since the snapshot
  homeserver.synapse.port_db:
    sqlite_database: /var/lib/matrix-synapse/homeserver.db
    postgres_config: /etc/matrix-synapse/homeserver-postgres.yaml
    batch_size: 5000
    timeout: 7200
    log_file: /var/log/matrix-synapse/port_db.log
  become: true
  become_user: matrix-synapse
  register: __port_final

- name: Show the row counts
  ansible.builtin.debug:
    var: __port_final.tables
"""

RETURN = r"""
tables:
  description:
    - Row counts of every table C(synapse_port_db) copies, in SQLite and in PostgreSQL.
    - After a port, counted after it finished (the module fails when they differ). When nothing had to be done, the
      counts recorded when the port finished. In check mode, the current counts (PostgreSQL V(0) for tables that do
      not exist there yet).
  returned: success and when the counts differ
  type: dict
  sample: {"events": {"sqlite": 52013, "postgres": 52013}, "users": {"sqlite": 20, "postgres": 20}}
skipped_tables:
  description: SQLite tables left out of the comparison, with the reason.
  returned: after a port and in check mode
  type: dict
  sample: {"schema_version": "schema bookkeeping, recreated by Synapse's schema setup",
           "user_directory": "not ported by synapse_port_db (Synapse rebuilds it)"}
target_state:
  description:
    - What the PostgreSQL database held before this run. V(empty); V(partial), an unfinished earlier port that is
      resumed; V(complete), a finished port (redone when the SQLite file changed since).
  returned: when PostgreSQL was inspected
  type: str
  sample: empty
resumed:
  description: Whether the run continued an earlier port instead of starting on an empty database.
  returned: success
  type: bool
  sample: false
dropped_rows:
  description:
    - Rows C(synapse_port_db) cannot copy, per table, expected to be missing in PostgreSQL. Strings containing a NUL
      character (PostgreSQL cannot store them), and C(event_search) rows without their event.
    - Taken from the script's warnings, and when counts differ, counted in the SQLite data, so rows dropped by an
      earlier run that this one resumed are accounted for too.
  returned: after a port
  type: dict
  sample: {}
rows:
  description: Total of the SQLite counts in RV(tables).
  returned: success
  type: int
  sample: 180231
postgres:
  description: The target, without credentials.
  returned: when the config was read
  type: dict
  sample: {"host": "127.0.0.1", "port": 5432, "user": "synapse", "dbname": "synapse", "server_version": "15.14"}
sqlite:
  description: The SQLite file's identity as recorded in the target (C(sha256) only when it had to be computed).
  returned: success
  type: dict
  sample: {"path": "/var/lib/matrix-synapse/homeserver.db", "size": 73400320, "mtime_ns": 1795470645000000000,
           "wal_size": 0, "wal_mtime_ns": 0, "sha256": "6b977c60026bf6865fae6e00309658a125d44342fff8a3cdf8a85a818afab65e"}
synapse_version:
  description: Version of the matrix-synapse package in O(synapse_venv).
  returned: when the virtualenv was inspected
  type: str
  sample: 1.163.2
queued_updates:
  description: Background updates queued in PostgreSQL to rebuild the user directory (see O(rebuild_user_directory)).
  returned: after a port
  type: list
  elements: str
  sample: ["populate_user_directory_createtables", "populate_user_directory_process_rooms",
           "populate_user_directory_process_users", "populate_user_directory_cleanup"]
rc:
  description: Exit code of C(synapse_port_db).
  returned: when it ran
  type: int
  sample: 0
duration:
  description: Seconds C(synapse_port_db) ran.
  returned: when it ran
  type: float
  sample: 73.4
state:
  description: The last phase C(synapse_port_db) reported (for example V(Copying to postgres)).
  returned: when it ran
  type: str
  sample: Copying to postgres
stdout_lines:
  description: The last 100 lines C(synapse_port_db) printed (stdout and stderr in order).
  returned: when it ran
  type: list
  elements: str
  sample: ["events: 100% (52013/52013)", "room_memberships: 100% (60/60)"]
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homeserver.synapse.plugins.module_utils.synapse_port import (
    PROBE_SOURCE,
    REGENERATE_DIRECTORY_UPDATES,
    SCHEMA_BOOKKEEPING_TABLES,
    TARGET_COMPLETE,
    TARGET_FOREIGN,
    TARGET_PARTIAL,
    ProgressTracker,
    check_database_section,
    check_postgres_facts,
    classify_target,
    compare_counts,
    compare_identity,
    connection_summary,
    describe_target,
    explain_connect_error,
    explain_exit,
    find_port_script_source,
    foreign_message,
    lineage_message,
    merge_dropped,
    mismatch_message,
    parse_port_script_constants,
    run_streaming,
    pg_version_text,
    probe_request,
    sqlite_problem,
    stat_identity,
    tables_to_compare,
)


class PortDb:
    def __init__(self, module):
        self.module = module
        params = module.params
        self.sqlite = params["sqlite_database"]
        self.config = params["postgres_config"]
        self.venv = params["synapse_venv"]
        self.python = os.path.join(self.venv, "bin", "python")
        self.script = os.path.join(self.venv, "bin", "synapse_port_db")
        self.result = {"changed": False}
        self._probe_path = None

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    # -- local checks ---------------------------------------------------------------------------------------

    def check_paths(self):
        for path, what in ((self.python, "python"), (self.script, "synapse_port_db")):
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                self.fail("No executable %s at %s: is Synapse installed in the virtualenv %s? Set synapse_venv."
                          % (what, path, self.venv))
        if not os.path.exists(self.sqlite):
            self.fail("The SQLite database %s does not exist." % self.sqlite)
        if not os.path.isfile(self.sqlite):
            self.fail("The SQLite database %s is not a regular file." % self.sqlite)
        if not os.access(self.sqlite, os.R_OK):
            self.fail("The SQLite database %s is not readable by this user; run the task as its owner "
                      "(become_user: matrix-synapse)." % self.sqlite)
        if not os.path.isfile(self.config) or not os.access(self.config, os.R_OK):
            self.fail("The PostgreSQL homeserver config %s does not exist or is not readable." % self.config)

    # -- probe ------------------------------------------------------------------------------------------------

    def probe(self, action, **kwargs):
        if self._probe_path is None:
            self._probe_path = os.path.join(self.module.tmpdir, "port_db_probe.py")
            with open(self._probe_path, "w") as handle:
                handle.write(PROBE_SOURCE)
        rc, out, err = self.module.run_command(
            [self.python, self._probe_path], data=probe_request(action, **kwargs), check_rc=False)
        try:
            answer = json.loads(out)
        except ValueError:
            last = ((err or out or "").strip().splitlines() or ["no output"])[-1]
            self.fail("The database probe (%s, %s) failed with exit code %d: %s" % (self.python, action, rc, last))
        if answer.get("fatal"):
            self.fail("The database probe (%s) failed: %s: %s" % (action, answer.get("type"), answer["fatal"]))
        return answer

    # -- the run -----------------------------------------------------------------------------------------------

    def run(self):
        """Preflight, then nothing to do, a prediction (check mode) or the port; one exit with the result."""
        self.check_paths()
        facts, summary, pg, state = self.preflight()
        identity = stat_identity(self.sqlite)
        if identity["wal_size"]:
            self.module.warn("%s has a non-empty write-ahead log (%s-wal): if Synapse is still running on it, stop it "
                             "or port a snapshot." % (self.sqlite, self.sqlite))
        if not self.unchanged_since_port(state, pg.get("marker"), identity, summary):
            # Only now: after the cut-over Synapse writes to PostgreSQL, which is fine as long as nothing is ported
            # again.
            problem = lineage_message(pg.get("missing_in_sqlite"), summary)
            if problem:
                self.fail(problem)
            constants = parse_port_script_constants(self.read_port_script())
            skip = sorted(set(constants["ignored_tables"]) | SCHEMA_BOOKKEEPING_TABLES)
            resumed = state in (TARGET_PARTIAL, TARGET_COMPLETE)
            self.result["resumed"] = resumed
            if self.module.check_mode:
                self.predict(summary, identity, constants, skip, resumed)
            else:
                self.port(facts, summary, identity, constants, skip, resumed)
        self.module.exit_json(**self.result)

    def preflight(self):
        """What the probe finds, checked: (facts, connection summary, PostgreSQL facts, target state)."""
        facts = self.probe("inspect", config=self.config, sqlite=self.sqlite)
        self.result["synapse_version"] = facts.get("synapse_version")

        config = facts["config"]
        if config.get("error"):
            self.fail("Cannot read %s: %s" % (self.config, config["error"]))
        database = config.get("database")
        problem = check_database_section(database, self.config)
        if problem:
            self.fail(problem)
        summary = connection_summary(database)
        self.result["postgres"] = dict(summary)

        problem = sqlite_problem(facts["sqlite"])
        if problem:
            self.fail(problem)

        pg = facts["postgres"]
        if pg.get("error"):
            self.fail(explain_connect_error(pg["error"], summary))
        self.result["postgres"]["server_version"] = pg_version_text(pg.get("server_version"))
        errors = check_postgres_facts(pg, bool(database.get("allow_unsafe_locale")))
        if errors:
            self.fail("PostgreSQL %s is not set up for Synapse: %s Create the database with createdb "
                      "--encoding=UTF8 --locale=C --template=template0 --owner=<user> <name>."
                      % (describe_target(summary), " ".join(errors)))

        state = classify_target(pg.get("tables") or [], pg.get("marker"))
        self.result["target_state"] = state
        if state == TARGET_FOREIGN:
            self.fail(foreign_message(pg["tables"], summary))
        return facts, summary, pg, state

    def unchanged_since_port(self, state, marker, identity, summary):
        """True (with the result filled in) when a finished port recorded this very SQLite file."""
        if state != TARGET_COMPLETE:
            return False
        recorded = marker.get("sqlite_identity") or {}
        verdict = compare_identity(recorded, identity)
        if verdict == "unknown":
            self.add_hashes(identity)
            verdict = compare_identity(recorded, identity)
        if verdict != "same":
            return False
        tables = marker.get("tables") or {}
        self.result.update(
            msg="%s is unchanged since its port into %s finished on %s; nothing to do."
                % (self.sqlite, describe_target(summary), marker.get("updated_at")),
            tables=tables, rows=sum((v.get("sqlite") or 0) for v in tables.values()),
            sqlite=recorded, resumed=False)
        return True

    def predict(self, summary, identity, constants, skip, resumed):
        """Check mode: the tables and rows a port would copy, nothing written."""
        counts = self.probe("count", config=self.config, sqlite=self.sqlite, skip=skip)
        schema_exists = "events" in counts["postgres_tables"] or any(
            t.endswith(".events") for t in counts["postgres_tables"])
        compare, skipped = tables_to_compare(counts["sqlite_tables"], counts["virtual"],
                                             counts["postgres_tables"] if schema_exists else None, constants)
        tables = dict((t, {"sqlite": counts["sqlite"].get(t, 0), "postgres": counts["postgres"].get(t, 0)})
                      for t in compare)
        rows = sum(v["sqlite"] for v in tables.values())
        self.result.update(
            changed=True, tables=tables, skipped_tables=skipped, rows=rows, sqlite=identity,
            msg="Would %s %d rows in %d tables from %s into %s."
                % ("resume the port of" if resumed else "port", rows, len(tables), self.sqlite,
                   describe_target(summary)))

    def port(self, facts, summary, identity, constants, skip, resumed):
        """Run synapse_port_db, verify the row counts and record the finished port."""
        self.result["changed"] = True
        # A user directory rebuild queued by an earlier completed port must not run inside synapse_port_db (its
        # limited store cannot run it and the port fails): take it off the queue; it is queued again at the end.
        self.probe("mark", config=self.config, dequeue_updates=[u[0] for u in REGENERATE_DIRECTORY_UPDATES],
                   marker={"status": "running", "sqlite_path": identity["path"], "sqlite_identity": identity,
                           "synapse_version": facts.get("synapse_version")})
        tracker = self.run_port_script(summary)

        # synapse_port_db touches the file when it closes it: the identity to record is the one after the port,
        # and it must not move while the counts are taken (it would if Synapse were writing to the file).
        identity = stat_identity(self.sqlite)
        counts = self.probe("count", config=self.config, sqlite=self.sqlite, skip=skip)
        if stat_identity(self.sqlite) != identity:
            self.fail("%s changed while the port was verified: is Synapse still running on it? Stop it (or port a "
                      "snapshot) and re-run; the port resumes." % self.sqlite)
        compare, skipped = tables_to_compare(counts["sqlite_tables"], counts["virtual"], counts["postgres_tables"],
                                             constants)
        dropped = dict(tracker.dropped)
        tables, mismatches = compare_counts(compare, counts["sqlite"], counts["postgres"], dropped)
        if mismatches:
            # Rows the script cannot copy, possibly dropped by an earlier run this one resumed: count them in the data.
            unportable = self.probe("unportable", sqlite=self.sqlite, tables=mismatches)["unportable"]
            dropped = merge_dropped(dropped, unportable)
            tables, mismatches = compare_counts(compare, counts["sqlite"], counts["postgres"], dropped)
        self.result.update(tables=tables, skipped_tables=skipped, dropped_rows=dropped,
                           rows=sum((v["sqlite"] or 0) for v in tables.values()))
        if mismatches:
            self.fail(mismatch_message(tables, mismatches, dropped))

        self.add_hashes(identity)
        self.result["sqlite"] = identity
        updates = REGENERATE_DIRECTORY_UPDATES if self.module.params["rebuild_user_directory"] else ()
        marked = self.probe("mark", config=self.config, queue_updates=updates, marker={
            "status": "complete", "sqlite_path": identity["path"], "sqlite_identity": identity, "tables": tables,
            "synapse_version": facts.get("synapse_version")})
        self.result["queued_updates"] = marked.get("queued", [])
        self.result["msg"] = "Ported %d rows in %d tables from %s into %s%s." % (
            self.result["rows"], len(tables), self.sqlite, describe_target(summary),
            " (resumed an earlier port)" if resumed else "")
        self.module.log("port_db: %s" % self.result["msg"])

    def read_port_script(self):
        path = find_port_script_source(self.venv)
        if not path:
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()

    def add_hashes(self, identity):
        identity["sha256"] = self.module.sha256(self.sqlite)
        identity["wal_sha256"] = self.module.sha256(self.sqlite + "-wal") if identity["wal_size"] else ""

    def run_port_script(self, summary):
        params = self.module.params
        cmd = [self.script, "--sqlite-database", self.sqlite, "--postgres-config", self.config,
               "--batch-size", str(params["batch_size"])]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        tracker = ProgressTracker()
        log = None
        if params["log_file"]:
            try:
                fd = os.open(params["log_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                log = os.fdopen(fd, "w", encoding="utf-8")
            except OSError as exc:
                self.fail("Cannot open log_file %s: %s" % (params["log_file"], exc))
            log.write("%s port_db: starting synapse_port_db, %s -> %s\n"
                      % (time.strftime("%Y-%m-%d %H:%M:%S"), self.sqlite, describe_target(summary)))
            log.flush()
        self.module.log("port_db: porting %s into %s" % (self.sqlite, describe_target(summary)))

        def follow(line):
            parsed = tracker.feed(line)
            if log is not None:
                log.write(line + "\n")
                log.flush()
            if parsed["kind"] == "state":
                self.module.log("port_db: synapse_port_db: %s" % parsed["state"])

        started = time.time()
        rc, timed_out = run_streaming(cmd, env, self.module.tmpdir, follow, params["timeout"])
        duration = round(time.time() - started, 1)
        if log is not None:
            log.write("%s port_db: synapse_port_db exited with %d after %.1f s\n"
                      % (time.strftime("%Y-%m-%d %H:%M:%S"), rc, duration))
            log.close()

        self.result.update(rc=rc, duration=duration, state=tracker.state, stdout_lines=list(tracker.tail),
                           dropped_rows=dict(tracker.dropped))
        if timed_out:
            self.fail("synapse_port_db did not finish within timeout=%d seconds (last phase: %s). What was copied "
                      "is kept; re-run to resume." % (params["timeout"], tracker.state or "starting"))
        message = explain_exit(rc, tracker.tail, self.sqlite, self.config)
        if message:
            self.fail(message)
        return tracker


def argument_spec():
    return dict(
        sqlite_database=dict(type="path", required=True),
        postgres_config=dict(type="path", required=True),
        batch_size=dict(type="int", default=1000),
        synapse_venv=dict(type="path", default="/opt/venvs/matrix-synapse"),
        timeout=dict(type="int"),
        log_file=dict(type="path"),
        rebuild_user_directory=dict(type="bool", default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if module.params["batch_size"] < 1:
        module.fail_json(msg="batch_size must be a positive number of rows.")
    if module.params["timeout"] is not None and module.params["timeout"] < 1:
        module.fail_json(msg="timeout must be a positive number of seconds; omit it for no limit.")
    PortDb(module).run()


if __name__ == "__main__":
    main()
