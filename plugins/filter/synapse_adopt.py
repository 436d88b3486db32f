# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory a Synapse installed by hand implies (playbooks/adopt.yml, docs/adopt.md).

``synapse_adopt_inventory`` maps the configuration Synapse's own loader read on the host (the merged dict of
its config files) to the collection's variables: every setting the synapse role models becomes its variable,
every setting the role writes itself from its own layout (paths, pid file, log config, the secrets' files) is
listed as replaced with the reason, and everything else goes into ``synapse_extra_config`` unchanged and is
listed too. Nothing is dropped silently. Secret values (database password, TURN secret, secrets of settings the
role does not model) go into a separate dict meant for an Ansible Vault file; the variables refer to them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.errors import AnsibleFilterError

# Synapse's defaults where the role's differ: kept explicit so that the adopted server behaves as before.
SYNAPSE_DEFAULT_BIND = ["::", "0.0.0.0"]
ANY_ADDRESS = ("0.0.0.0", "::", "*", "")
SYNAPSE_DEFAULT_KEY_SERVERS = [{"server_name": "matrix.org"}]

# Settings the synapse role writes from its own layout: replaced, with the reason shown to the admin.
REPLACED = {
    "pid_file": "the role's unit runs Synapse with /run/matrix-synapse/homeserver.pid",
    "log_config": "the role writes /etc/matrix-synapse/log.yaml (synapse_log_level, synapse_log_file)",
    "media_store_path": "the media store moves to /var/lib/matrix-synapse/media (copied, checked by file count and size)",
    "signing_key_path": "the signing key file is copied unchanged to /etc/matrix-synapse/homeserver.signing.key",
    "signing_key": "the inline signing key is written unchanged to /etc/matrix-synapse/homeserver.signing.key",
    "macaroon_secret_key": "copied unchanged to /etc/matrix-synapse/macaroon_secret_key",
    "macaroon_secret_key_path": "copied unchanged to /etc/matrix-synapse/macaroon_secret_key",
    "form_secret": "copied unchanged to /etc/matrix-synapse/form_secret",
    "form_secret_path": "copied unchanged to /etc/matrix-synapse/form_secret",
    "registration_shared_secret": "copied unchanged to /etc/matrix-synapse/registration_shared_secret",
    "registration_shared_secret_path": "copied unchanged to /etc/matrix-synapse/registration_shared_secret",
    "turn_shared_secret_path": "the role writes the TURN secret from synapse_turn_shared_secret (read from the file into the vault)",
    "no_redirect_stdio": "the role's unit sends Synapse's stderr to the journal",
    "suppress_key_server_warning": "set by the role",
    "listeners": "the HTTP listener becomes synapse_listener_port / synapse_listener_bind_addresses, "
                 "the metrics listener synapse_metrics_*",
    "database": "synapse_database_* (the SQLite file is copied to synapse_sqlite_path)",
    "federation_custom_ca_list": "synapse_federation_custom_ca_list holds the certificates' PEM text (read from the files)",
}

# Settings that map one to one onto a role variable.
DIRECT = {
    "server_name": "synapse_server_name",
    "public_baseurl": "synapse_public_baseurl",
    "admin_contact": "synapse_admin_contact",
    "enable_registration": "synapse_enable_registration",
    "registration_requires_token": "synapse_registration_requires_token",
    "report_stats": "synapse_report_stats",
    "ip_range_blacklist": "synapse_ip_range_blacklist",
    "ip_range_whitelist": "synapse_ip_range_whitelist",
    "url_preview_enabled": "synapse_url_preview_enabled",
    "url_preview_ip_range_blacklist": "synapse_url_preview_ip_range_blacklist",
    "trusted_key_servers": "synapse_trusted_key_servers",
    "rc_message": "synapse_rc_message",
    "rc_registration": "synapse_rc_registration",
    "rc_login": "synapse_rc_login",
    "rc_joins": "synapse_rc_joins",
    "allow_public_rooms_over_federation": "synapse_allow_public_rooms_over_federation",
    "allow_public_rooms_without_auth": "synapse_allow_public_rooms_without_auth",
    "enable_room_list_search": "synapse_enable_room_list_search",
    "room_list_publication_rules": "synapse_room_list_publication_rules",
    "turn_uris": "synapse_turn_uris",
    "turn_user_lifetime": "synapse_turn_user_lifetime",
    "turn_allow_guests": "synapse_turn_allow_guests",
    "forgotten_room_retention_period": "synapse_forgotten_room_retention_period",
}
# Vault-bound settings the role models: variable, vault variable.
SECRET_DIRECT = {"turn_shared_secret": "synapse_turn_shared_secret"}
# Keys of unmodelled settings whose values are secrets: moved into the vault, referred to by Jinja.
SECRET_KEY_RE = re.compile(r"(secret|password|passwd|_pass$|token|private_key|api_key)", re.IGNORECASE)
# Database arguments the role models (psycopg2); the rest of `args` stays in synapse_extra_config.
DB_ARGS = {"user": "synapse_database_user", "host": "synapse_database_host", "port": "synapse_database_port",
           "cp_min": "synapse_database_cp_min", "cp_max": "synapse_database_cp_max",
           "sslmode": "synapse_database_sslmode"}
ROLE_TXN_LIMIT = 10000


def _vault_name(path):
    return "vault_synapse_" + re.sub(r"[^a-z0-9]+", "_", "_".join(str(p) for p in path).lower()).strip("_")


def _extract_secrets(value, path, vault):
    """Replace secret-looking leaves of an unmodelled setting by a reference to a vault variable."""
    if isinstance(value, dict):
        return {key: (_vault_ref(item, path + [key], vault) if SECRET_KEY_RE.search(str(key))
                      and not isinstance(item, (dict, list)) and item not in (None, "", True, False)
                      else _extract_secrets(item, path + [key], vault))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_extract_secrets(item, path + [index], vault) for index, item in enumerate(value)]
    return value


def _vault_ref(value, path, vault):
    name = _vault_name(path)
    vault[name] = value
    return "{{ %s }}" % name


def _http_listener(listeners):
    for listener in listeners or []:
        if listener.get("type", "http") == "http" and "port" in listener:
            names = [n for res in listener.get("resources", []) for n in res.get("names", [])]
            if "client" in names:
                return listener
    return None


def synapse_adopt_inventory(config, database=None, installed_version="", role_version="", ca_files=None):
    """Map a hand-made Synapse's configuration to the collection's inventory.

    config: the merged configuration dict (Synapse's read_config_files). database: the loader's database
    report (engine, path). installed_version: the old install's Synapse version; role_version: the synapse
    role's default. ca_files: {path: PEM text} of federation_custom_ca_list's files, read on the host.

    Returns {vars, vault, extra, modelled, replaced, unmodelled, notes}: vars for host_vars (with
    synapse_extra_config when there is any), vault the secrets (vault_* names the vars refer to), extra the
    unmodelled settings, modelled {setting: variable}, replaced {setting: reason}, unmodelled the setting
    names put into synapse_extra_config, notes what the admin should know.
    """
    if not isinstance(config, dict) or not config.get("server_name"):
        raise AnsibleFilterError("synapse_adopt_inventory: the configuration has no server_name")
    config = copy.deepcopy(config)
    database = database or {}
    out_vars, vault, extra, modelled, replaced, notes = {}, {}, {}, {}, {}, []

    for key, value in config.items():
        if key in DIRECT:
            out_vars[DIRECT[key]] = value
            modelled[key] = DIRECT[key]
        elif key in SECRET_DIRECT:
            vault["vault_" + SECRET_DIRECT[key]] = value
            out_vars[SECRET_DIRECT[key]] = "{{ vault_%s }}" % SECRET_DIRECT[key]
            modelled[key] = SECRET_DIRECT[key]
        elif key in REPLACED:
            replaced[key] = REPLACED[key]
        elif key in ("enable_metrics", "max_upload_size", "federation_domain_whitelist", "retention",
                     "media_retention", "event_cache_size", "caches"):
            continue  # handled below
        else:
            extra[key] = value

    # Upload size: Synapse accepts a number of bytes or a size string; the role takes the string.
    if "max_upload_size" in config:
        out_vars["synapse_max_upload_size"] = str(config["max_upload_size"])
        modelled["max_upload_size"] = "synapse_max_upload_size"
    else:
        out_vars["synapse_max_upload_size"] = "50M"  # Synapse's default, also the role's
    # Key servers: Synapse's default is matrix.org when neither setting is given.
    if "trusted_key_servers" not in config and "perspectives" not in config:
        out_vars["synapse_trusted_key_servers"] = copy.deepcopy(SYNAPSE_DEFAULT_KEY_SERVERS)
    # Registration, report_stats: Synapse's defaults are false, as the role's.

    # Federation: an empty whitelist closes federation (the role's synapse_federation_enabled: false).
    if "federation_domain_whitelist" in config:
        whitelist = config["federation_domain_whitelist"]
        modelled["federation_domain_whitelist"] = "synapse_federation_domain_whitelist"
        if whitelist is not None and len(whitelist) == 0:
            out_vars["synapse_federation_enabled"] = False
        elif whitelist:
            out_vars["synapse_federation_domain_whitelist"] = whitelist

    # Listeners: the HTTP listener with the client API becomes the role's; the metrics listener its own;
    # any other listener stays as it was (synapse_extra_config cannot add list items: listed in the notes).
    listeners = config.get("listeners") or []
    http = _http_listener(listeners)
    if http is None:
        raise AnsibleFilterError("synapse_adopt_inventory: no HTTP listener serves the client API")
    out_vars["synapse_listener_port"] = int(http["port"])
    bind = list(http.get("bind_addresses") or ([http["bind_address"]] if http.get("bind_address") else []))
    bind = bind or list(SYNAPSE_DEFAULT_BIND)
    if any(str(address) in ANY_ADDRESS for address in bind):
        # The collection binds every address only on purpose (homeserver_allow_public_bind, with the firewall
        # on; playbooks/tasks/wiring.yml): the listener goes to loopback, behind the reverse proxy.
        notes.append("the client listener bound %s (every address); the collection's listens on loopback behind "
                     "its reverse proxy: to keep it reachable from other hosts, set synapse_listener_bind_addresses "
                     "with homeserver_allow_public_bind: true and the firewall on" % (bind,))
    else:
        out_vars["synapse_listener_bind_addresses"] = bind
    names = [n for res in http.get("resources", []) for n in res.get("names", [])]
    if "federation" not in names and config.get("federation_domain_whitelist") != []:
        # The listener does not serve federation: the role then drops it from its resources too.
        out_vars["synapse_federation_enabled"] = False
        notes.append("the client listener served no federation resource: synapse_federation_enabled is false")
    if http.get("tls"):
        notes.append("the client listener served TLS itself; the role's listener is plain HTTP behind the reverse proxy")
    metrics = [item for item in listeners if item.get("type") == "metrics"]
    if config.get("enable_metrics") and metrics:
        out_vars["synapse_metrics_enabled"] = True
        out_vars["synapse_metrics_port"] = int(metrics[0]["port"])
        out_vars["synapse_metrics_bind_address"] = (metrics[0].get("bind_addresses") or ["0.0.0.0"])[0]
        modelled["enable_metrics"] = "synapse_metrics_enabled"
    elif config.get("enable_metrics"):
        notes.append("enable_metrics was on without a metrics listener: synapse_metrics_enabled adds one")
        out_vars["synapse_metrics_enabled"] = True
    others = [item for item in listeners if item is not http and item not in metrics[:1]]
    for item in others:
        notes.append("listener not carried over (the role writes the listeners): %s" % (item,))

    # Database.
    db = config.get("database") or {"name": "sqlite3", "args": {"database": "homeserver.db"}}
    engine = db.get("name")
    if engine in ("psycopg2", "psycopg"):
        args = dict(db.get("args") or {})
        out_vars["synapse_database_engine"] = "psycopg2"
        name = args.pop("database", None) or args.pop("dbname", None) or "synapse"
        out_vars["synapse_database_name"] = name
        for arg, var in DB_ARGS.items():
            if arg in args:
                out_vars[var] = args.pop(arg)
        if "password" in args:
            vault["vault_synapse_database_password"] = args.pop("password")
            out_vars["synapse_database_password"] = "{{ vault_synapse_database_password }}"
            out_vars["postgres_synapse_password"] = "{{ vault_synapse_database_password }}"
        out_vars.setdefault("synapse_database_host", "localhost")
        extra_db = {}
        if args:
            extra_db["args"] = _extract_secrets(args, ["database", "args"], vault)
        for key, value in db.items():
            if key not in ("name", "args") and not (key == "txn_limit" and value == ROLE_TXN_LIMIT):
                extra_db[key] = value
        if "txn_limit" not in db:
            notes.append("database txn_limit: the role recycles each connection after %d transactions "
                         "(Synapse's default: never)" % ROLE_TXN_LIMIT)
        if extra_db:
            extra["database"] = extra_db
    elif engine == "sqlite3":
        out_vars["synapse_database_engine"] = "sqlite3"
        notes.append("SQLite %s is copied to synapse_sqlite_path; playbooks/migrate_sqlite_to_postgres.yml moves it "
                     "to PostgreSQL afterwards" % (database.get("path") or db.get("args", {}).get("database")))
    else:
        raise AnsibleFilterError("synapse_adopt_inventory: unknown database engine %r" % (engine,))

    # Federation CAs: the role takes the certificates' text.
    if config.get("federation_custom_ca_list"):
        ca_files = ca_files or {}
        missing = [p for p in config["federation_custom_ca_list"] if p not in ca_files]
        if missing:
            raise AnsibleFilterError("synapse_adopt_inventory: federation_custom_ca_list files not read: %s" % missing)
        out_vars["synapse_federation_custom_ca_list"] = [ca_files[p] for p in config["federation_custom_ca_list"]]
        modelled["federation_custom_ca_list"] = "synapse_federation_custom_ca_list"

    # Caches and retention are modelled in a shape of their own: kept as they were through synapse_extra_config,
    # which the role merges over its own values.
    for key in ("retention", "media_retention", "event_cache_size", "caches"):
        if key in config:
            extra[key] = config[key]

    # The version: never older than the one the database was last run with (Synapse refuses a schema newer
    # than its code).
    if installed_version and role_version and _version(installed_version) > _version(role_version):
        out_vars["synapse_version"] = installed_version
        notes.append("synapse_version %s: the installed release is newer than the role's %s"
                     % (installed_version, role_version))

    extra = {key: _extract_secrets(value, [key], vault) for key, value in extra.items()}
    if extra:
        out_vars["synapse_extra_config"] = extra
    return {
        "vars": out_vars,
        "vault": vault,
        "extra": extra,
        "modelled": modelled,
        "replaced": replaced,
        "unmodelled": sorted(extra),
        "notes": notes,
    }


def _version(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text))[:3])


class FilterModule(object):
    def filters(self):
        return {"synapse_adopt_inventory": synapse_adopt_inventory}
