# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the hosts of one inventory are wired to each other: the one place that works it out.

``site_wiring`` takes the inventory (groups and each host's variables and facts) and returns, for every host,
the role inputs that connect it to its peers (database host, listener and bind addresses, the proxy's upstream
and workers, Redis, exporters and Prometheus' scrape targets, Grafana's location on the reverse proxy, firewall
peer rules, fail2ban's jails and log files, Synapse's metrics switch, the database and off-host copy of the backups) and
the reasons a layout cannot be wired.
``turn_uris`` gives Synapse the TURN URIs of the coturn hosts. Both are pure functions;
``playbooks/tasks/wiring.yml`` and ``playbooks/tasks/peer_secrets.yml`` apply them.

One rule everywhere: a variable the inventory (or ``-e``) sets for a host is never computed for it. The roles'
own defaults (ports, worker port bases) are read from ``roles/<role>/defaults/main.yml``, never copied here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # Python 2
    from urlparse import urlsplit

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean
from ansible_collections.homeserver.synapse.plugins.filter.synapse_workers import synapse_workers
from ansible_collections.homeserver.synapse.plugins.plugin_utils.role_defaults import (
    ROLES_DIR,
    RoleDefaultError,
    role_default,
)
LOOPBACK = ("localhost", "127.0.0.1", "::1")
IP_ADDRESS = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$")
# The role defaults the wiring needs, by role.
DEFAULTS_NEEDED = {
    "synapse": ("synapse_listener_port", "synapse_metrics_port", "synapse_metrics_bind_address",
                "synapse_database_engine", "synapse_workers", "synapse_workers_preset", "synapse_workers_http_port_base",
                "synapse_workers_metrics_port_base", "synapse_workers_replication_port_base"),
    "postgres": ("postgres_port",),
    "backup": ("backup_rsync_target_host",),
    "redis": ("redis_port", "redis_server"),
    "reverse_proxy": ("reverse_proxy_stub_status_port", "reverse_proxy_public_hostname"),
    "monitoring": ("monitoring_node_exporter_port", "monitoring_postgres_exporter_port",
                   "monitoring_nginx_exporter_port", "monitoring_exporter_listen_address",
                   "monitoring_postgres_exporter_enabled", "monitoring_nginx_exporter_enabled",
                   "monitoring_extra_scrape_hosts", "monitoring_grafana_enabled", "monitoring_grafana_http_addr",
                   "monitoring_grafana_http_port", "monitoring_grafana_root_url",
                   "monitoring_grafana_allowed_sources"),
    "firewall": ("firewall_enabled",),
    "coturn": ("coturn_listening_port", "coturn_tls_listening_port", "coturn_min_port", "coturn_max_port",
               "coturn_tls_mode"),
}
# What 0.0.0.0 / :: as a bind address means: every address of the host.
ANY_ADDRESS = ("0.0.0.0", "::", "")
# The private ranges a service may bind to beyond loopback, written out: Python's is_private also counts
# documentation and other reserved ranges (203.0.113.0/24...) that are public on a real host.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    u"10.0.0.0/8", u"172.16.0.0/12", u"192.168.0.0/16",  # RFC 1918
    u"100.64.0.0/10",  # RFC 6598, carrier-grade NAT (e.g. a VPN or a provider's private network)
    u"fc00::/7"))  # IPv6 unique local addresses
# The per-host opt-in for a bind to a public address (or to every address), with the firewall on.
ALLOW_PUBLIC = "homeserver_allow_public_bind"
# Where the reverse proxy serves Grafana when monitoring_grafana_root_url leaves it to the wiring (the first
# Grafana host; each further one at /grafana-<inventory_hostname>/).
GRAFANA_PATH = "/grafana/"
# Who the reverse proxy always serves Grafana's location to: its own host (e.g. through an SSH tunnel).
GRAFANA_ALWAYS_ALLOWED = ["127.0.0.1", "::1"]
# With workers, failed logins are logged by the worker that serves /login, in its own file.
ALL_SYNAPSE_LOGS = "/var/log/matrix-synapse/*.log"


def _ip(value):
    try:
        return ipaddress.ip_address(u"%s" % value)
    except ValueError:
        return None


def _flag(value):
    """A yes/no variable as Ansible reads it (a string from -e too); anything else is false (refused elsewhere)."""
    return boolean(value, strict=False) if value is not None else False


def is_private(value):
    """Whether value is an IP address in one of PRIVATE_NETWORKS."""
    ip = _ip(value)
    return ip is not None and any(ip.version == net.version and ip in net for net in PRIVATE_NETWORKS)


def is_loopback(value):
    ip = _ip(value)
    return value in LOOPBACK or (ip is not None and ip.is_loopback)


def role_defaults(roles_dir=ROLES_DIR):
    """The defaults the wiring needs, read from the roles' defaults/main.yml (literal values only)."""
    found = {}
    for role, names in DEFAULTS_NEEDED.items():
        for name in names:
            try:
                found[name] = role_default(name, roles_dir)
            except RoleDefaultError as exc:
                raise AnsibleFilterError("site_wiring: %s" % exc)
    return found


class _Host(object):
    """One host's variables: what the inventory sets, else the role default."""

    def __init__(self, name, hostvars, defaults):
        self.name = name
        self._vars = hostvars
        self._defaults = defaults

    def has(self, key):
        return key in self._vars

    def get(self, key, fallback=None):
        if key in self._vars:
            return self._vars[key]
        return self._defaults.get(key, fallback)

    def fact(self, *path):
        """A fact of this host (None when missing: no facts gathered, e.g. a run with --limit)."""
        value = self._vars.get("ansible_facts") or {}
        for key in path:
            value = value.get(key) if hasattr(value, "get") else None
            if value is None:
                return None
        return value

    @property
    def allows_public(self):
        """Whether the admin opted in to binds on a public address for this host."""
        return _flag(self._vars.get(ALLOW_PUBLIC))

    @property
    def private_address(self):
        """The address the inventory declares, else the first private one among the facts ('' for none)."""
        if self.has("homeserver_private_address"):
            return str(self._vars["homeserver_private_address"])
        for candidate in [self.fact("default_ipv4", "address")] + list(self.fact("all_ipv4_addresses") or []):
            if candidate and is_private(candidate):
                return str(candidate)
        return ""

    @property
    def public_address(self):
        """The default IPv4 address when the facts show no private one ('' when there is one, or no facts)."""
        if self.private_address:
            return ""
        return str(self.fact("default_ipv4", "address") or next(iter(self.fact("all_ipv4_addresses") or []), "") or "")

    @property
    def address(self):
        """The private address peers reach this host through: the public one only with the opt-in ('' else)."""
        return self.private_address or (self.public_address if self.allows_public else "")

    @property
    def known_as(self):
        """Every way an inventory value may name this host."""
        return [self.name, str(self._vars.get("homeserver_private_address", "") or ""), self.private_address,
                str(self.fact("default_ipv4", "address") or ""), str(self._vars.get("ansible_host", self.name))]

    @property
    def has_ipv6_loopback(self):
        return any(entry.get("address") == "::1" for entry in (self.fact("lo", "ipv6") or []))


def _match(wanted, me, candidates, hosts):
    """The candidate host an inventory value names (itself through a loopback name too), else ''."""
    for name in candidates:
        if wanted in hosts[name].known_as or (name == me and wanted in LOOPBACK):
            return name
    return ""


def _upstream_name(value):
    """host:port or [v6]:port -> host."""
    return re.sub(r"^\[(.*)\]$", r"\1", re.sub(r":[0-9]+$", "", str(value)))


def _ports(values):
    out = []
    for value in values:
        value = int(value)
        if value not in out:
            out.append(value)
    return out


def _workers_of(host):
    try:
        return synapse_workers(host.get("synapse_workers") or [], preset=host.get("synapse_workers_preset"),
                               http_port_base=host.get("synapse_workers_http_port_base"),
                               metrics_port_base=host.get("synapse_workers_metrics_port_base"),
                               replication_port_base=host.get("synapse_workers_replication_port_base"))
    except AnsibleFilterError as exc:
        raise AnsibleFilterError("site_wiring: the workers of %s: %s" % (host.name, exc))


class Layout(object):
    """The inventory's groups, seen as who serves whom."""

    def __init__(self, groups, hostvars, defaults):
        self.groups = dict((name, list(members or [])) for name, members in (groups or {}).items())
        names = set(self.groups.get("all", []))
        for members in self.groups.values():
            names.update(members)
        self.hosts = dict((name, _Host(name, hostvars[name] if name in hostvars else {}, defaults))
                          for name in names)
        # Every host, in the inventory's order (group all), then any other group member.
        self.all = [n for n in self.groups.get("all", []) if n in names]
        self.all += sorted(names - set(self.all))
        self.postgres = self.group("postgres")
        self.synapse = self.group("synapse")
        # Redis serves every Synapse host from the first host of group redis ('' without one).
        self.redis = (self.group("redis") or [""])[0]
        self.database_of = dict((s, self._database_of(s)) for s in self.synapse)
        self.upstream_of = dict((r, self._upstream_of(r)) for r in self.group("reverse_proxy"))
        self.workers_of = dict((s, _workers_of(self.hosts[s])) for s in self.synapse)

    def group(self, name):
        return self.groups.get(name, [])

    def _database_of(self, me):
        """The PostgreSQL host of the inventory a Synapse host uses ('' for none or ambiguous)."""
        host = self.hosts[me]
        if host.get("synapse_database_engine") != "psycopg2":
            # On SQLite only a PostgreSQL host the inventory names is wired (the one a migration moves it to);
            # another homeserver's PostgreSQL in the same inventory is not its database.
            if not host.has("synapse_database_host"):
                return ""
            return _match(str(host.get("synapse_database_host")), me, self.postgres, self.hosts)
        if host.has("synapse_database_host"):
            return _match(str(host.get("synapse_database_host")), me, self.postgres, self.hosts)
        if me in self.postgres:
            return me
        return self.postgres[0] if len(self.postgres) == 1 else ""

    def _upstream_of(self, me):
        """The Synapse host a reverse proxy forwards to ('' for none or ambiguous)."""
        host = self.hosts[me]
        if host.has("reverse_proxy_synapse_upstream"):
            return _match(_upstream_name(host.get("reverse_proxy_synapse_upstream")), me, self.synapse, self.hosts)
        if me in self.synapse:
            return me
        return self.synapse[0] if len(self.synapse) == 1 else ""

    def served_by(self, mapping, me):
        """The hosts elsewhere whose peer in mapping is me."""
        return [name for name, peer in mapping.items() if peer == me and name != me]

    def address(self, name):
        return self.hosts[name].address

    def group_names(self, name):
        return [group for group, members in self.groups.items() if name in members]


def _errors(layout, me, peers):
    host = layout.hosts[me]
    errors = []
    if host.has("homeserver_private_address") and not IP_ADDRESS.match(host.address):
        errors.append("homeserver_private_address for %s is '%s': set it to this host's IP address on the private "
                      "network its peers reach it through (no name, no prefix)." % (me, host.address))
    if host.has(ALLOW_PUBLIC) and host.get(ALLOW_PUBLIC) not in BOOLEANS:
        errors.append("%s for %s is '%s': set it to true or false." % (ALLOW_PUBLIC, me, host.get(ALLOW_PUBLIC)))
    postgres, synapse = layout.postgres, layout.synapse
    if (me in synapse and host.get("synapse_database_engine") == "psycopg2" and not host.has("synapse_database_host")
            and len(postgres) > 1 and not peers["database"]):
        errors.append("%s runs Synapse on PostgreSQL but is not itself in group postgres, and group postgres has %d "
                      "hosts (%s): set synapse_database_host for %s in the inventory to the one it uses."
                      % (me, len(postgres), ", ".join(postgres), me))
    if (me in layout.group("reverse_proxy") and not host.has("reverse_proxy_synapse_upstream") and len(synapse) > 1
            and not peers["upstream"]):
        errors.append("%s is a reverse proxy but not a Synapse host, and group synapse has %d hosts (%s): set "
                      "reverse_proxy_synapse_upstream for %s in the inventory (host:port of the Synapse listener "
                      "it serves)." % (me, len(synapse), ", ".join(synapse), me))
    needed = []
    if peers["database"] not in ("", me):
        needed.append((peers["database"], "Synapse on %s uses its PostgreSQL" % me))
    if peers["upstream"] not in ("", me):
        needed.append((peers["upstream"], "the reverse proxy on %s forwards to its Synapse" % me))
    for kind, theirs, mine in (
            ("database_clients", "its Synapse uses the PostgreSQL of %s", "Synapse on %s uses its PostgreSQL"),
            ("proxies", "its reverse proxy forwards to Synapse on %s", "the reverse proxy on %s forwards to its Synapse"),
            ("redis_clients", "its Synapse uses the Redis of %s", "Synapse on %s uses its Redis"),
            ("scrapers", "its Prometheus scrapes %s", "Prometheus on %s scrapes it")):
        for peer in peers[kind]:
            needed.append((peer, theirs % me))
            needed.append((me, mine % peer))
    seen = set()
    for name, why in needed:
        public = layout.hosts[name].public_address
        if (name, why) in seen or name in seen or layout.address(name):
            continue
        seen.add(name if public else (name, why))
        if public:
            errors.append(_public_only(name, public, why))
            continue
        errors.append("No private address is known for %s, and %s: set homeserver_private_address for %s in the "
                      "inventory, or run without --limit so that its facts are gathered." % (name, why, name))
    return errors


def _public_only(name, public, why):
    return ("The only address known for %s is %s, a public one (not in 10/8, 172.16/12, 192.168/16, 100.64/10 or "
            "fc00::/7), and %s: its services would listen on the Internet. Set homeserver_private_address for %s in "
            "the inventory to its address on a private network its peers share, or, to bind to the public address, "
            "set %s: true for %s (the firewall must then be on there)." % (name, public, why, name, ALLOW_PUBLIC, name))


def _bind_errors(layout, me, final):
    """Why the final bind addresses of the services on me are refused: each must be loopback or private; a public
    address, or every address (0.0.0.0, ::, *), only with the opt-in and the firewall on."""
    host = layout.hosts[me]
    errors = []
    firewall = "firewall" in layout.group_names(me) or _flag(final(me, "firewall_enabled"))
    declared = str(host.get("homeserver_private_address") or "") if host.has("homeserver_private_address") else ""
    binds = []
    if declared and _ip(declared) and not is_private(declared) and not is_loopback(declared):
        binds.append(("homeserver_private_address", declared))
    if me in layout.synapse:
        binds += [("synapse_listener_bind_addresses", a) for a in final(me, "synapse_listener_bind_addresses") or []]
        if final(me, "synapse_metrics_enabled"):
            binds.append(("synapse_metrics_bind_address", final(me, "synapse_metrics_bind_address")))
    if me in layout.postgres:
        binds += [("postgres_listen_addresses", a) for a in final(me, "postgres_listen_addresses") or []]
    if me in layout.group("redis"):
        binds += [("redis_bind_addresses", a) for a in final(me, "redis_bind_addresses") or []]
    if layout.group("monitoring"):
        binds.append(("monitoring_exporter_listen_address", final(me, "monitoring_exporter_listen_address") or "127.0.0.1"))
    if me in layout.group("monitoring") and final(me, "monitoring_grafana_enabled"):
        binds.append(("monitoring_grafana_http_addr", final(me, "monitoring_grafana_http_addr")))
    for variable, value in binds:
        value = "" if value is None else str(value).strip()
        if is_loopback(value) or is_private(value):
            continue
        if not value and not host.has(variable) and not host.address:
            continue  # the wiring's, for an address it does not know: that error is given already
        if value not in ANY_ADDRESS + ("*",) and not _ip(value):
            errors.append("%s for %s contains '%s', which is not an IP address: set it to loopback or to an IP address "
                          "of %s on a private network." % (variable, me, value, me))
            continue
        what = "every address of the host, the public ones too" if value in ANY_ADDRESS + ("*",) else "a public address"
        if not host.allows_public:
            errors.append("%s for %s is '%s', %s: set it to loopback or to an address of %s on a private network "
                          "(10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), or set %s: true for %s to bind "
                          "there on purpose (with the firewall on)." % (variable, me, value, what, me, ALLOW_PUBLIC, me))
        elif not firewall:
            errors.append("%s for %s is '%s', %s, and %s is true but the firewall is off there: set firewall_enabled: "
                          "true for %s (or put it in group firewall) so that only its peers reach that port."
                          % (variable, me, value, what, ALLOW_PUBLIC, me))
    return errors


def _firewall_default(layout, peers_of):
    """Multi-host layouts (a host has a peer on another host) turn the firewall on for every host; else nothing."""
    if not any(peers_of[me][kind] not in ("", me, []) for me in peers_of for kind in peers_of[me]):
        return {}
    return dict((me, True) for me in layout.all)


def _peers(layout, me):
    scrapers = [m for m in layout.group("monitoring") if m != me]
    return {
        "database": layout.database_of.get(me, ""),
        "upstream": layout.upstream_of.get(me, ""),
        "database_clients": layout.served_by(layout.database_of, me),
        "proxies": layout.served_by(layout.upstream_of, me),
        "scrapers": scrapers,
        "redis_clients": [s for s in layout.synapse if s != me] if me in layout.group("redis") else [],
    }


def _computed(layout, me, peers):
    """Every input this host gets from the layout, before the inventory's own values are taken out."""
    host = layout.hosts[me]
    address = host.address
    out = {}
    database, upstream = peers["database"], peers["upstream"]
    in_synapse = me in layout.synapse

    if in_synapse:
        out["synapse_metrics_enabled"] = bool(layout.group("monitoring"))
        if database not in ("", me) or peers["proxies"] or peers["scrapers"]:
            out["synapse_database_host"] = "localhost" if database in ("", me) else layout.address(database)
            out["synapse_listener_bind_addresses"] = (
                ["127.0.0.1"] + (["::1"] if host.has_ipv6_loopback else []) + [address] if peers["proxies"] else [])
            out["synapse_metrics_bind_address"] = address if peers["scrapers"] else "127.0.0.1"
        if layout.redis:
            cache = layout.hosts[layout.redis]
            out["synapse_redis_host"] = "127.0.0.1" if cache.name == me else (cache.address or cache.name)
            out["synapse_redis_port"] = int(cache.get("redis_port"))
        if layout.workers_of[me]:
            out["fail2ban_synapse_log_file"] = ALL_SYNAPSE_LOGS

    if peers["redis_clients"]:
        out["redis_bind_addresses"] = ["127.0.0.1", address]

    if me in layout.postgres:
        if peers["database_clients"]:
            out["postgres_listen_addresses"] = ["localhost", address]
            out["postgres_synapse_allowed_hosts"] = [layout.address(s) for s in peers["database_clients"]]
        users = [s for s, db in layout.database_of.items() if db == me]
        out["postgres_synapse_processes"] = max(sum(1 + len(layout.workers_of[s]) for s in users), 1)

    if me in layout.group("reverse_proxy"):
        if upstream not in ("", me):
            target = layout.address(upstream)
            target = "[%s]" % target if ":" in target else target
            out["reverse_proxy_synapse_upstream"] = "%s:%s" % (target, layout.hosts[upstream].get("synapse_listener_port"))
        out["reverse_proxy_synapse_workers"] = layout.workers_of.get(upstream or me, [])

    if peers["scrapers"]:
        out["monitoring_exporter_listen_address"] = address
    # The exporters read the local services' ports from their roles' settings on the same host (where the
    # service runs, or wherever the inventory sets that port: an nginx the collection does not manage).
    if me in layout.postgres:
        out["monitoring_postgres_exporter_enabled"] = True
    if me in layout.group("reverse_proxy"):
        out["monitoring_nginx_exporter_enabled"] = True
    if me in layout.postgres or host.has("postgres_port"):
        out["monitoring_postgres_port"] = int(host.get("postgres_port"))
    if me in layout.group("reverse_proxy") or host.has("reverse_proxy_stub_status_port"):
        out["monitoring_nginx_stub_status_port"] = int(host.get("reverse_proxy_stub_status_port"))

    # The backup role: where the database it dumps is, and the address its off-host copy connects to.
    if me in layout.group("backup"):
        out.update(_backup(layout, me, database))

    # The firewall opens coturn's ports where coturn runs.
    if me in layout.group("coturn"):
        out["firewall_turn_enabled"] = True
        out["firewall_turn_ports"] = _ports([host.get("coturn_listening_port"), host.get("coturn_tls_listening_port")])
        out["firewall_turn_relay_min_port"] = int(host.get("coturn_min_port"))
        out["firewall_turn_relay_max_port"] = int(host.get("coturn_max_port"))
    return out


def _backup(layout, me, database):
    """The backup role's inputs on backup host me (database: the PostgreSQL host its Synapse uses)."""
    host = layout.hosts[me]
    out = {"backup_database_local": me in layout.postgres}
    if me in layout.synapse:
        out["backup_database_engine"] = host.get("synapse_database_engine")
        if database not in ("", me) and out["backup_database_engine"] == "psycopg2":
            out["backup_database_host"] = (str(host.get("synapse_database_host")) if host.has("synapse_database_host")
                                           else layout.address(database))
            out["backup_database_port"] = int(host.get("synapse_database_port") if host.has("synapse_database_port")
                                              else layout.hosts[database].get("postgres_port"))
    target = str(host.get("backup_rsync_target_host") or "")
    if target in layout.hosts and target != me:
        # How Ansible reaches the target (ansible_host), else its inventory name.
        out["backup_rsync_address"] = str(layout.hosts[target].get("ansible_host") or target)
    return out


def _backup_errors(layout, me):
    target = str(layout.hosts[me].get("backup_rsync_target_host") or "")
    if not target or me not in layout.group("backup"):
        return []
    if target == me:
        return ["backup_rsync_target_host for %s names %s itself: an off-host copy needs another host. Set it to the "
                "inventory hostname of another host, or leave it empty for local backups only." % (me, me)]
    if target not in layout.hosts:
        return ["backup_rsync_target_host for %s is '%s', which is not a host of the inventory: set it to the inventory "
                "hostname of the host that keeps the copies (add that host to the inventory), or leave it empty for "
                "local backups only." % (me, target)]
    return []


def _firewall_rules(layout, me, peers, inputs):
    """Each port between hosts open only to the peers that use it (after the inputs' final values)."""
    host = layout.hosts[me]
    rules = []
    if peers["database_clients"]:
        allowed = (host.get("postgres_synapse_allowed_hosts") if host.has("postgres_synapse_allowed_hosts")
                   else inputs["postgres_synapse_allowed_hosts"])
        rules.append({"name": "postgres", "ports": [int(host.get("postgres_port"))], "sources": list(allowed or [])})
    if peers["redis_clients"]:
        rules.append({"name": "redis", "ports": [int(host.get("redis_port"))],
                      "sources": [layout.address(s) for s in peers["redis_clients"]]})
    workers = layout.workers_of.get(me, [])
    if peers["proxies"]:
        routed = [w["port"] for w in workers if w.get("routed")]
        rules.append({"name": "synapse", "ports": _ports([host.get("synapse_listener_port")] + routed),
                      "sources": [layout.address(r) for r in peers["proxies"]]})
    if peers["scrapers"]:
        ports = [host.get("monitoring_node_exporter_port")]
        if me in layout.postgres:
            ports.append(host.get("monitoring_postgres_exporter_port"))
        if me in layout.group("reverse_proxy"):
            ports.append(host.get("monitoring_nginx_exporter_port"))
        if me in layout.synapse:
            ports.append(host.get("synapse_metrics_port"))
            ports.extend(w["metrics_port"] for w in workers)
        rules.append({"name": "metrics", "ports": _ports(ports),
                      "sources": [layout.address(m) for m in peers["scrapers"]]})
    return rules


class _Final(object):
    """Every host's final value of an input: the inventory's, else the wiring's, else the role default."""

    def __init__(self, layout, computed):
        self.layout = layout
        self.computed = computed

    def __call__(self, name, key):
        host = self.layout.hosts[name]
        if host.has(key) or key not in self.computed.get(name, {}):
            return host.get(key)
        return self.computed[name][key]

    def exporter_address(self, name):
        """Where the exporters of a host listen: its monitoring_exporter_listen_address, else loopback."""
        return str(self(name, "monitoring_exporter_listen_address") or "127.0.0.1")


def _target(job, name, address, port, **extra):
    target = {"job": job, "host": name, "address": address, "port": int(port)}
    target.update(extra)
    return target


def _scrape_targets(layout, me, final):
    """What Prometheus on me scrapes (the role's monitoring_scrape_targets), and why it cannot be wired."""
    errors = []

    def reachable(name, address, what, fix):
        """The address of name as seen from me: checked to be reachable from another host."""
        if name != me and address in LOOPBACK + ("",):
            if address:
                errors.append("%s on %s listens on %s, which Prometheus on %s cannot reach: %s"
                              % (what, name, address, me, fix))
            return False
        return True

    targets = []
    exporter_fix = ("set monitoring_exporter_listen_address for %s in the inventory to its private address, or leave "
                    "it unset (the wiring then uses homeserver_private_address or its facts).")
    for name in layout.synapse:
        bind = str(final(name, "synapse_metrics_bind_address") or "")
        if bind in ANY_ADDRESS:
            address = "127.0.0.1" if name == me else layout.address(name)
        else:
            address = bind
        if not reachable(name, address, "Synapse's metrics listener",
                         "set synapse_metrics_bind_address for %s in the inventory to a private address of that "
                         "host." % name):
            continue
        targets.append(_target("synapse", name, address, final(name, "synapse_metrics_port"),
                               metrics_path="/_synapse/metrics", labels={"process": "main", "process_type": "main"}))
        for worker in layout.workers_of[name]:
            targets.append(_target("synapse", name, address, worker["metrics_port"], metrics_path="/_synapse/metrics",
                                   labels={"process": worker["name"], "process_type": worker["type"]}))
    exporters = (("postgres", "monitoring_postgres_exporter_enabled", "monitoring_postgres_exporter_port"),
                 ("nginx", "monitoring_nginx_exporter_enabled", "monitoring_nginx_exporter_port"),
                 ("node", None, "monitoring_node_exporter_port"))
    for job, enabled, port in exporters:
        for name in layout.all:
            if enabled and not final(name, enabled):
                continue
            address = final.exporter_address(name)
            if reachable(name, address, "The %s exporter" % job, exporter_fix % name):
                targets.append(_target(job, name, address, final(name, port)))
    for extra in layout.hosts[me].get("monitoring_extra_scrape_hosts") or []:
        name = str(extra.get("host", "")) if hasattr(extra, "get") else ""
        if name not in layout.hosts:
            errors.append("monitoring_extra_scrape_hosts of %s names '%s', which is not a host of the inventory: scrape "
                          "targets come from the inventory, so add the host to it or remove the entry." % (me, name))
            continue
        address = final.exporter_address(name)
        if reachable(name, address, "Job %s" % extra.get("job"), exporter_fix % name):
            targets.append(_target(str(extra.get("job", "")), name, address, extra.get("port") or 0,
                                   metrics_path=str(extra.get("metrics_path") or "/metrics")))
    return targets, errors


def _grafana(layout, final, computed, errors):
    """Every monitoring host that runs Grafana, served by every reverse proxy at its root URL's path: the first at
    /grafana/, each further one at /grafana-<its name>/ unless its monitoring_grafana_root_url says otherwise. Sets
    the proxies' locations, each Grafana's root URL, listener and firewall rule; adds the errors of each host."""
    runs = [m for m in layout.group("monitoring") if final(m, "monitoring_grafana_enabled")]
    served = {}  # path (without its trailing slash) -> the Grafana host served there
    for index, me in enumerate(runs):
        default_path = GRAFANA_PATH if index == 0 else "/grafana-%s/" % me
        path = _grafana_path(layout, me, default_path, computed)
        if not path:
            continue
        other = served.get(path.rstrip("/"))
        if other:
            errors[me].append("Grafana on %s and on %s would both be served at %s by the reverse proxy: set "
                              "monitoring_grafana_root_url for %s in the inventory to a URL with another path (e.g. "
                              "https://<public host>/grafana-%s/)." % (other, me, path, me, me))
            continue
        served[path.rstrip("/")] = me
        errors[me].extend(_grafana_served(layout, me, path, final, computed))


def _grafana_path(layout, me, default_path, computed):
    """The path the reverse proxies serve Grafana of me at ('' when it has a host name of its own)."""
    host = layout.hosts[me]
    root = str(host.get("monitoring_grafana_root_url") or "")
    if not root:
        proxies = layout.group("reverse_proxy")
        public = next((str(layout.hosts[r].get("reverse_proxy_public_hostname")) for r in proxies
                       if layout.hosts[r].get("reverse_proxy_public_hostname")), "")
        if public:
            root = computed[me]["monitoring_grafana_root_url"] = "https://%s%s" % (public, default_path)
    path = urlsplit(root).path if root else default_path
    # Grafana on a host name of its own: served by a server of the admin's, not the homeserver's.
    return "" if path in ("", "/") else path


def _grafana_served(layout, me, path, final, computed):
    """The proxies' location for Grafana of me at path, its listener and firewall rule; the errors."""
    host, proxies, errors = layout.hosts[me], layout.group("reverse_proxy"), []
    remote = [r for r in proxies if r != me]
    if remote:
        computed[me]["monitoring_grafana_http_addr"] = layout.address(me)
    listen = str(final(me, "monitoring_grafana_http_addr") or "")
    port = int(host.get("monitoring_grafana_http_port"))
    for proxy in proxies:
        if proxy == me:
            address = "127.0.0.1" if listen in ANY_ADDRESS + LOOPBACK else listen
        else:
            address = layout.address(me) if listen in ANY_ADDRESS else listen
            if not address:
                errors.append("No private address is known for %s, and the reverse proxy on %s serves its Grafana: set "
                              "homeserver_private_address for %s in the inventory, or run without --limit so that its "
                              "facts are gathered." % (me, proxy, me))
                continue
            if address in LOOPBACK:
                errors.append("Grafana on %s listens on %s, which the reverse proxy on %s cannot reach: set "
                              "monitoring_grafana_http_addr for %s in the inventory to its private address, or leave "
                              "it unset." % (me, address, proxy, me))
                continue
        target = "[%s]" % address if ":" in address else address
        computed[proxy].setdefault("reverse_proxy_wired_locations", []).append(
            {"path": path, "proxy_pass": "http://%s:%d" % (target, port), "websocket": True,
             "allow": _grafana_allowed(host)})
    for proxy in remote:
        if not layout.address(proxy):
            errors.append("No private address is known for %s, and its reverse proxy serves Grafana on %s: set "
                          "homeserver_private_address for %s in the inventory, or run without --limit so that its "
                          "facts are gathered." % (proxy, me, proxy))
    if remote:
        computed[me]["firewall_peer_rules"].append(
            {"name": "grafana", "ports": [port], "sources": [layout.address(r) for r in remote]})
    return errors


def _grafana_allowed(host):
    """The client sources the reverse proxy serves Grafana of host to: loopback and its allowed sources."""
    allowed = list(GRAFANA_ALWAYS_ALLOWED)
    for source in host.get("monitoring_grafana_allowed_sources") or []:
        if str(source) not in allowed:
            allowed.append(str(source))
    return allowed


def _fail2ban(layout, me, peers):
    """fail2ban's jails on me (in group fail2ban): the ones that ban where clients connect.

    Clients connect to the reverse proxy: a proxy gets the nginx-limit-req jail (its limit_req on login and
    registration) and, in front of a Synapse on another host, the matrix-synapse-nginx jail on the failed logins
    of its access log. The Synapse jail runs where clients reach Synapse through no other host: a single host,
    or a Synapse host that is its own proxy; behind a proxy on another host a ban there would block nothing."""
    if me not in layout.group("fail2ban"):
        return {}
    is_proxy = me in layout.group("reverse_proxy")
    out = {
        "fail2ban_synapse_enabled": me in layout.synapse and (not peers["proxies"] or peers["upstream"] == me),
        "fail2ban_nginx_login_enabled": is_proxy and peers["upstream"] != me,
        "fail2ban_nginx_limit_req_enabled": is_proxy,
    }
    return out


def _fail2ban_errors(layout, me, peers):
    """A Synapse host in group fail2ban whose clients come through a proxy that bans nothing."""
    host = layout.hosts[me]
    if me not in layout.group("fail2ban") or me not in layout.synapse or host.has("fail2ban_synapse_enabled"):
        return []
    unguarded = [r for r in peers["proxies"] if r not in layout.group("fail2ban")]
    if not unguarded or peers["upstream"] == me:
        return []
    return ["%s is in group fail2ban, but its clients connect through the reverse proxy on %s, which is not: a ban on "
            "%s would block nothing. Add %s to group fail2ban (its jails ban failed logins and rate-limited clients "
            "there), or set fail2ban_synapse_enabled: false for %s in the inventory to keep only its sshd jail."
            % (me, ", ".join(unguarded), me, ", ".join(unguarded), me)]


def _tls_probe_targets(layout):
    """The public TLS endpoints of the reverse proxies (host:443), whose certificates Prometheus watches."""
    out = []
    for name in layout.group("reverse_proxy"):
        public = layout.hosts[name].get("reverse_proxy_public_hostname") or ""
        if public and "%s:443" % public not in out:
            out.append("%s:443" % public)
    return out


# Where the postgres and redis roles keep the CA certificate of their generated server certificate (their
# vars/main.yml: __postgres_tls_ca, __redis_tls_ca), unless the inventory gives the admin's CA file.
POSTGRES_CA_FILE = "/etc/postgresql/homeserver-tls/ca.crt"
REDIS_CA_FILE = "/etc/%s/tls/ca.crt"
# libpq's sslmode values that check the server certificate against sslrootcert.
VERIFYING_SSLMODES = ("verify-ca", "verify-full")


def _tls_names(first, names):
    """The names a server certificate carries: its private address, then what its clients connect to."""
    out = []
    for name in [first] + list(names):
        name = str(name or "")
        if name and name not in LOOPBACK + ANY_ADDRESS and name not in out:
            out.append(name)
    return out


def _tls_inputs(layout, me, peers):
    """TLS on every link between hosts: PostgreSQL and Redis serve TLS to the Synapse hosts elsewhere (with their
    addresses, and whatever those hosts are told to connect to, in the certificate), and those Synapse hosts
    connect over TLS (sslmode verify-full; Redis use_tls). Links within one host stay as they are."""
    out = {}
    if me in layout.postgres and peers["database_clients"]:
        out["postgres_tls_server_names"] = _tls_names(
            layout.address(me), [layout.hosts[s].get("synapse_database_host") for s in peers["database_clients"]
                                 if layout.hosts[s].has("synapse_database_host")])
    if peers["redis_clients"]:
        out["redis_tls"] = True
        out["redis_tls_server_names"] = ["127.0.0.1"] + _tls_names(
            layout.address(me), [layout.hosts[s].get("synapse_redis_host") for s in peers["redis_clients"]
                                 if layout.hosts[s].has("synapse_redis_host")])
    if me in layout.synapse:
        if peers["database"] not in ("", me):
            out["synapse_database_sslmode"] = "verify-full"
        if layout.redis not in ("", me):
            out["synapse_redis_use_tls"] = True
    return out


def _tls_secrets(layout, me, peers):
    """Where a Synapse host reads the CA certificates of its remote PostgreSQL and Redis (public, not secret; read
    by playbooks/tasks/peer_secrets.yml): only for a link it verifies or encrypts, and only when the inventory gives
    it no CA of its own."""
    host = layout.hosts[me]
    out = {"postgres_host": "", "postgres_ca_file": "", "redis_ca_file": ""}
    if me not in layout.synapse:
        return out
    database = peers["database"]
    sslmode = host.get("synapse_database_sslmode") if host.has("synapse_database_sslmode") else "verify-full"
    if database not in ("", me) and sslmode in VERIFYING_SSLMODES and not host.has("synapse_database_ca_certificate"):
        db = layout.hosts[database]
        out["postgres_host"] = database
        out["postgres_ca_file"] = str(db.get("postgres_tls_ca_certificate") or POSTGRES_CA_FILE)
    if layout.redis not in ("", me) and not host.has("synapse_redis_ca_certificate"):
        cache = layout.hosts[layout.redis]
        use_tls = host.get("synapse_redis_use_tls") if host.has("synapse_redis_use_tls") else True
        serves_tls = cache.get("redis_tls") if cache.has("redis_tls") else True
        if use_tls and serves_tls:
            out["redis_ca_file"] = str(cache.get("redis_tls_ca_certificate") or REDIS_CA_FILE % cache.get("redis_server"))
    return out


def _secrets(layout, me):
    """Where the secrets Synapse needs from other roles are kept (read by playbooks/tasks/peer_secrets.yml)."""
    out = {"coturn_hosts": [], "redis_host": "", "redis_password_file": ""}
    if me in layout.synapse:
        out["coturn_hosts"] = layout.group("coturn")
        if layout.redis:
            out["redis_host"] = layout.redis
            out["redis_password_file"] = "/etc/%s/homeserver-password" % layout.hosts[layout.redis].get("redis_server")
    return out


def site_wiring(groups, hostvars, roles_dir=ROLES_DIR):
    """For every host of the inventory: its role inputs, why the layout cannot be wired, where its secrets are.

    Returns {'inputs': {host: {var: value}}, 'errors': {host: [message]}, 'secrets': {host: {...}}}.

    groups: the inventory's groups (name -> host names); hostvars: host name -> its variables and facts
    (Ansible's hostvars, or plain dicts). An input the inventory sets for a host is left out of its inputs.
    """
    if not hasattr(groups, "get") or not hasattr(hostvars, "__contains__"):
        raise AnsibleFilterError("site_wiring expects groups and hostvars, e.g. groups | site_wiring(hostvars)")
    layout = Layout(groups, hostvars, role_defaults(roles_dir))
    computed, errors, secrets, peers_of = {}, {}, {}, {}
    for me in sorted(layout.hosts):
        peers = peers_of[me] = _peers(layout, me)
        computed[me] = _computed(layout, me, peers)
        computed[me].update(_tls_inputs(layout, me, peers))
        computed[me]["firewall_peer_rules"] = _firewall_rules(layout, me, peers, computed[me])
        errors[me] = _errors(layout, me, peers) + _backup_errors(layout, me)
        secrets[me] = _secrets(layout, me)
        secrets[me].update(_tls_secrets(layout, me, peers))
        computed[me].update(_fail2ban(layout, me, peers))
        errors[me].extend(_fail2ban_errors(layout, me, peers))
    for me, enabled in _firewall_default(layout, peers_of).items():
        computed[me]["firewall_enabled"] = enabled
    # Prometheus' targets follow every host's final inputs (the inventory's values included).
    final = _Final(layout, computed)
    for me in layout.group("monitoring"):
        computed[me]["monitoring_scrape_targets"], scrape_errors = _scrape_targets(layout, me, final)
        computed[me]["monitoring_tls_probe_targets"] = _tls_probe_targets(layout)
        errors[me].extend(scrape_errors)
    _grafana(layout, final, computed, errors)
    for me in sorted(layout.hosts):
        errors[me].extend(_bind_errors(layout, me, final))
    inputs = dict((me, dict((key, value) for key, value in computed[me].items() if not layout.hosts[me].has(key)))
                  for me in computed)
    return {"inputs": inputs, "errors": errors, "secrets": secrets}


def turn_uris(coturn_hosts, hostvars, tls_hosts=(), roles_dir=ROLES_DIR):
    """Synapse's turn_uris for the coturn hosts: UDP and TCP on each, turns: where TLS is on (tls_hosts)."""
    defaults = role_defaults(roles_dir)
    uris = []
    for name in coturn_hosts or []:
        host = _Host(name, hostvars[name] if name in hostvars else {}, defaults)
        # The role's own default for the name is a template (coturn_realm): follow it here.
        public = next((host.get(key) for key in ("coturn_public_hostname", "coturn_realm") if host.has(key)), name)
        port = host.get("coturn_listening_port")
        uris.extend(["turn:%s:%s?transport=udp" % (public, port), "turn:%s:%s?transport=tcp" % (public, port)])
        if name in (tls_hosts or ()) and host.get("coturn_tls_mode") != "off":
            uris.append("turns:%s:%s?transport=tcp" % (public, host.get("coturn_tls_listening_port")))
    return uris


class FilterModule(object):
    def filters(self):
        return {"site_wiring": site_wiring, "turn_uris": turn_uris}
