"""The cross-host wiring: the homeserver.synapse.site_wiring filter, and the task file that applies it.

Most cases call the filter directly with an inventory (groups, each host's variables; no facts unless given)
and read back each host's inputs or the reasons a layout cannot be wired. A few run
tests/unit/files/peers.yml with ansible-playbook on inventories of local hosts to show that
playbooks/tasks/wiring.yml hands the same inputs to the roles, that the inventory's values win there too, and
that an impossible layout stops the play with the filter's message.
"""

import json
import os
import re
from collections.abc import Mapping
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.homeserver.synapse.plugins.filter.site_wiring import role_defaults, site_wiring, turn_uris
from playbook_cases import environment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "unit", "files", "peers.yml")
BIN = os.path.dirname(sys.executable)

DB, SYN, PROXY, MON = "10.0.0.21", "10.0.0.11", "10.0.0.31", "10.0.0.41"
# Who the proxy serves Grafana to when monitoring_grafana_allowed_sources is empty: its own host only.
LOOPBACK = ["127.0.0.1", "::1"]
# The inputs that connect hosts by address (the filter sets others too, e.g. worker lists and ports).
WIRED = ("synapse_database_host", "synapse_listener_bind_addresses", "synapse_metrics_bind_address",
         "postgres_listen_addresses", "postgres_synapse_allowed_hosts", "reverse_proxy_synapse_upstream",
         "redis_bind_addresses", "monitoring_exporter_listen_address", "firewall_peer_rules",
         "fail2ban_synapse_log_file")


def wire(groups, hostvars=None, everything=False):
    """The filter on an inventory; returns ({host: inputs}, {host: errors}, the whole result)."""
    hostvars = hostvars or {}
    names = sorted(set(h for hosts in groups.values() for h in hosts) | set(hostvars))
    result = site_wiring(dict(groups, all=names), dict((h, dict(hostvars.get(h, {}))) for h in names))
    inputs = dict((h, v if everything else dict((k, x) for k, x in v.items() if k in WIRED))
                  for h, v in result["inputs"].items())
    return inputs, result["errors"], result


def wired_ok(groups, hostvars=None, everything=False):
    inputs, errors, _unused = wire(groups, hostvars, everything)
    assert not any(errors.values()), errors
    return inputs


def run_peers(tmp_path, groups, hostvars=None, extra_inventories=(), extra_vars=()):
    """Run playbooks/tasks/wiring.yml; return (exit code, output, {host: inputs})."""
    hostvars = hostvars or {}
    children = {}
    for group, hosts in groups.items():
        children[group] = {"hosts": {h: dict(hostvars.get(h, {})) for h in hosts}}
    inventory = {"all": {"vars": {"ansible_connection": "local",
                                  "ansible_python_interpreter": sys.executable},
                         "children": children}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    sources = ["-i", str(tmp_path / "inventory.json")]
    for extra in extra_inventories:
        sources += ["-i", extra]
    # Each host's inputs are its fact peers_inputs, which the host_transcripts callback writes out.
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), PLAYBOOK, *sources, *extra_vars],
        env=environment(tmp_path / "transcripts.json"), capture_output=True, text=True, timeout=180, check=False,
    )
    transcripts = tmp_path / "transcripts.json"
    hosts = json.loads(transcripts.read_text()) if transcripts.exists() else {}  # none when the play did not start
    results = {host: {k: v for k, v in data["facts"]["peers_inputs"].items() if k in WIRED}
               for host, data in hosts.items() if "peers_inputs" in data["facts"]}
    return proc.returncode, proc.stdout + proc.stderr, results


def split_layout(**extra):
    groups = {"postgres": ["db"], "synapse": ["syn"], "reverse_proxy": ["proxy"], "monitoring": ["mon"]}
    groups.update(extra)
    return groups


ADDRESSES = {"db": {"homeserver_private_address": DB}, "syn": {"homeserver_private_address": SYN},
             "proxy": {"homeserver_private_address": PROXY}, "mon": {"homeserver_private_address": MON}}


def rules(inputs):
    return {r["name"]: (sorted(r["ports"]), sorted(r["sources"])) for r in inputs["firewall_peer_rules"]}


def test_split_layout_is_wired_from_the_groups():
    hosts = wired_ok(split_layout(), ADDRESSES)
    assert hosts["syn"]["synapse_database_host"] == DB
    assert hosts["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", SYN]
    assert hosts["syn"]["synapse_metrics_bind_address"] == SYN
    assert hosts["db"]["postgres_listen_addresses"] == ["localhost", DB]
    assert hosts["db"]["postgres_synapse_allowed_hosts"] == [SYN]
    assert hosts["proxy"]["reverse_proxy_synapse_upstream"] == f"{SYN}:8008"
    for host, address in (("db", DB), ("syn", SYN), ("proxy", PROXY)):
        assert hosts[host]["monitoring_exporter_listen_address"] == address
    # Prometheus' own host keeps its exporters on loopback (the monitoring role's default).
    assert "monitoring_exporter_listen_address" not in hosts["mon"]
    # Each port open only to the peers that use it.
    assert rules(hosts["db"]) == {"postgres": ([5432], [SYN]), "metrics": ([9100, 9187], [MON])}
    assert rules(hosts["syn"]) == {"synapse": ([8008], [PROXY]), "metrics": ([9000, 9100], [MON])}
    assert rules(hosts["proxy"]) == {"metrics": ([9100, 9113], [MON])}
    # Grafana (on by default) on the monitoring host, served by the proxy.
    assert rules(hosts["mon"]) == {"grafana": ([3000], [PROXY])}


def test_single_host_keeps_the_loopback_defaults():
    groups = {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "monitoring", "coturn")}
    hosts = wired_ok(groups)
    assert hosts["one"] == {"firewall_peer_rules": []}, hosts


def test_two_homeservers_on_one_inventory_stay_apart():
    # e.g. federation or backup tests: each host runs its own database; nothing opens to the other.
    groups = {"postgres": ["hs1", "hs2"], "synapse": ["hs1", "hs2"], "reverse_proxy": ["hs1", "hs2"]}
    hosts = wired_ok(groups)
    assert hosts["hs1"] == {"firewall_peer_rules": []}, hosts
    assert hosts["hs2"] == {"firewall_peer_rules": []}, hosts


def test_inventory_values_win(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["db"]["postgres_synapse_allowed_hosts"] = ["10.0.0.0/24"]
    # Every address: only with the opt-in (the firewall is on by default in this split layout).
    hostvars["syn"].update(synapse_metrics_bind_address="0.0.0.0", homeserver_allow_public_bind=True)
    hostvars["proxy"]["reverse_proxy_synapse_upstream"] = "10.0.0.99:8448"
    code, output, hosts = run_peers(tmp_path, split_layout(), hostvars)
    assert code == 0, output
    assert hosts["db"]["postgres_synapse_allowed_hosts"] == ["10.0.0.0/24"]
    assert rules(hosts["db"])["postgres"] == ([5432], ["10.0.0.0/24"])
    assert hosts["syn"]["synapse_metrics_bind_address"] == "0.0.0.0"
    assert hosts["proxy"]["reverse_proxy_synapse_upstream"] == "10.0.0.99:8448"
    # An upstream that is no Synapse host of the inventory: Synapse is not opened to this proxy.
    assert "synapse" not in rules(hosts["syn"])
    assert hosts["syn"]["synapse_listener_bind_addresses"] == []


def test_explicit_database_host_is_matched_to_its_postgres_host():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["db2"] = {"homeserver_private_address": "10.0.0.22"}
    hostvars["syn"]["synapse_database_host"] = "10.0.0.22"
    hosts = wired_ok(split_layout(postgres=["db", "db2"]), hostvars)
    assert "synapse_database_host" not in hosts["syn"], "the inventory's own value is kept"
    assert hosts["db2"]["postgres_synapse_allowed_hosts"] == [SYN]
    assert "postgres_synapse_allowed_hosts" not in hosts["db"]


def test_sqlite_synapse_needs_no_database_peer():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_database_engine"] = "sqlite3"
    hosts = wired_ok(split_layout(), hostvars)
    assert "postgres_synapse_allowed_hosts" not in hosts["db"]
    assert "postgres" not in rules(hosts["db"])


def test_sqlite_synapse_naming_its_postgres_host_is_wired_for_the_migration():
    """Before migrate_sqlite_to_postgres.yml in a split layout: the inventory names the PostgreSQL host the
    SQLite homeserver moves to, and that host lets it in (its backups still read the SQLite file)."""
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"].update(synapse_database_engine="sqlite3", synapse_database_host=DB)
    groups = dict(split_layout(), backup=["syn"])
    hosts = wired_ok(groups, hostvars, everything=True)
    assert hosts["db"]["postgres_synapse_allowed_hosts"] == [SYN]
    assert rules(hosts["db"])["postgres"] == ([5432], [SYN])
    assert hosts["syn"]["backup_database_engine"] == "sqlite3"
    assert "backup_database_host" not in hosts["syn"]


def test_redis_is_open_to_the_synapse_hosts_only():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    hosts = wired_ok(split_layout(redis=["cache"]), hostvars)
    assert rules(hosts["cache"])["redis"] == ([6379], [SYN])
    assert hosts["cache"]["redis_bind_addresses"] == ["127.0.0.1", "10.0.0.51"]
    assert "redis" not in rules(hosts["db"])


def test_routed_workers_are_open_to_the_proxy():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_workers_preset"] = "small"
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    hosts = wired_ok(split_layout(redis=["cache"]), hostvars)
    ports, sources = rules(hosts["syn"])["synapse"]
    assert sources == [PROXY]
    assert ports[0] == 8008 and len(ports) > 1 and all(8100 <= p < 9000 for p in ports[1:]), ports


def test_fail2ban_reads_every_synapse_log_with_workers():
    one_host = {"postgres": ["syn"], "synapse": ["syn"], "redis": ["syn"]}
    hosts = wired_ok(one_host, {"syn": {"synapse_workers_preset": "small"}})
    assert hosts["syn"]["fail2ban_synapse_log_file"] == "/var/log/matrix-synapse/*.log"
    hosts = wired_ok(one_host, {"syn": {}})
    assert "fail2ban_synapse_log_file" not in hosts["syn"], "without workers the role's default applies"


def test_ipv6_upstream_is_bracketed():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["homeserver_private_address"] = "fd00::11"
    hosts = wired_ok(split_layout(), hostvars)
    assert hosts["proxy"]["reverse_proxy_synapse_upstream"] == "[fd00::11]:8008"


@pytest.mark.parametrize("groups, hostvars, expected", [
    # No facts and no homeserver_private_address for the database host (e.g. a run with --limit).
    (split_layout(), {h: v for h, v in ADDRESSES.items() if h != "db"},
     "No private address is known for db, and Synapse on syn uses its PostgreSQL: set "
     "homeserver_private_address for db"),
    (split_layout(), {h: v for h, v in ADDRESSES.items() if h != "syn"},
     "No private address is known for syn"),
    (split_layout(postgres=["db", "db2"]), ADDRESSES,
     "set synapse_database_host for syn in the inventory"),
    (split_layout(synapse=["syn", "syn2"]), ADDRESSES,
     "set reverse_proxy_synapse_upstream for proxy in the inventory"),
    (split_layout(), dict(ADDRESSES, syn={"homeserver_private_address": "matrix1.lan"}),
     "homeserver_private_address for syn is 'matrix1.lan'"),
])
def test_impossible_layouts_fail_clearly(groups, hostvars, expected):
    _unused, errors, _unused = wire(groups, hostvars)
    assert expected in " ".join(" ".join(e) for e in errors.values()), errors


def test_impossible_layout_stops_the_play_with_the_message(tmp_path):
    code, output, _unused = run_peers(tmp_path, split_layout(postgres=["db", "db2"]), ADDRESSES)
    assert code != 0, output
    assert "set synapse_database_host for syn in the inventory" in " ".join(output.split()), output


def test_example_inventory_is_wired(tmp_path):
    """inventories/example, with private addresses given: every role gets its peer from the groups."""
    addresses = {"all": {"hosts": {
        "db1.example.com": {"homeserver_private_address": DB},
        "matrix1.example.com": {"homeserver_private_address": SYN},
        "proxy1.example.com": {"homeserver_private_address": PROXY},
        "turn1.example.com": {"homeserver_private_address": "10.0.0.61"},
        "monitor1.example.com": {"homeserver_private_address": MON},
    }, "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "vault_synapse_database_password": "from-the-vault"}}}
    extra = tmp_path / "addresses.json"
    extra.write_text(json.dumps(addresses))
    code, output, hosts = run_peers(tmp_path, {}, extra_inventories=(os.path.join(ROOT, "inventories", "example"),
                                                                     str(extra)))
    assert code == 0, output
    assert hosts["matrix1.example.com"]["synapse_database_host"] == DB
    assert hosts["db1.example.com"]["postgres_synapse_allowed_hosts"] == [SYN]
    assert hosts["proxy1.example.com"]["reverse_proxy_synapse_upstream"] == f"{SYN}:8008"
    assert hosts["matrix1.example.com"]["synapse_metrics_bind_address"] == SYN


def test_facts_give_the_address_and_ipv6_loopback():
    facts = {h: {"ansible_facts": {"default_ipv4": {"address": v["homeserver_private_address"]},
                                   "lo": {"ipv6": [{"address": "::1"}]}}}
             for h, v in ADDRESSES.items()}
    hosts = wired_ok(split_layout(), facts)
    assert hosts["syn"]["synapse_database_host"] == DB
    assert hosts["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", "::1", SYN]
    # The inventory's address wins over the facts'.
    facts["db"]["homeserver_private_address"] = "10.9.9.9"
    assert wired_ok(split_layout(), facts)["syn"]["synapse_database_host"] == "10.9.9.9"


def test_synapse_gets_its_metrics_switch_and_redis():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51", "redis_port": 6380}
    inputs = wired_ok(split_layout(redis=["cache"]), hostvars, everything=True)
    assert inputs["syn"]["synapse_metrics_enabled"] is True
    assert (inputs["syn"]["synapse_redis_host"], inputs["syn"]["synapse_redis_port"]) == ("10.0.0.51", 6380)
    assert "synapse_metrics_enabled" not in inputs["db"], "only Synapse hosts get Synapse's inputs"
    # Without a monitoring host the metrics listener stays off; Redis on the Synapse host is reached on loopback.
    inputs = wired_ok({"postgres": ["one"], "synapse": ["one"], "redis": ["one"]}, everything=True)
    assert inputs["one"]["synapse_metrics_enabled"] is False
    assert (inputs["one"]["synapse_redis_host"], inputs["one"]["synapse_redis_port"]) == ("127.0.0.1", 6379)


def test_postgres_is_sized_for_every_synapse_process_and_the_proxy_routes_the_workers():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_workers_preset"] = "small"
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    inputs = wired_ok(split_layout(redis=["cache"]), hostvars, everything=True)
    workers = inputs["proxy"]["reverse_proxy_synapse_workers"]
    assert workers and all(w["port"] >= 8100 for w in workers)
    assert inputs["db"]["postgres_synapse_processes"] == 1 + len(workers)
    # Without workers: one process; a proxy on the Synapse host gets its (empty) worker list too.
    inputs = wired_ok({"postgres": ["one"], "synapse": ["one"], "reverse_proxy": ["one"]}, everything=True)
    assert inputs["one"]["postgres_synapse_processes"] == 1
    assert inputs["one"]["reverse_proxy_synapse_workers"] == []


def test_coturn_ports_reach_the_firewall_and_turn_uris():
    hostvars = {"turn": {"coturn_listening_port": 3479, "coturn_min_port": 50000, "coturn_public_hostname": "turn.test"},
                "one": {}}
    inputs = wired_ok({"coturn": ["turn"], "synapse": ["one"]}, hostvars, everything=True)
    assert inputs["turn"]["firewall_turn_enabled"] is True
    assert inputs["turn"]["firewall_turn_ports"] == [3479, 5349]
    assert (inputs["turn"]["firewall_turn_relay_min_port"], inputs["turn"]["firewall_turn_relay_max_port"]) == (50000, 65535)
    assert "firewall_turn_enabled" not in inputs["one"], "the firewall role's default (off) where coturn is not"
    assert turn_uris(["turn"], hostvars) == ["turn:turn.test:3479?transport=udp", "turn:turn.test:3479?transport=tcp"]
    assert turn_uris(["turn"], hostvars, ["turn"])[-1] == "turns:turn.test:5349?transport=tcp"
    hostvars["turn"]["coturn_tls_mode"] = "off"
    assert len(turn_uris(["turn"], hostvars, ["turn"])) == 2, "no turns: with TLS off"
    # The name: coturn_public_hostname, else coturn_realm, else the inventory name.
    assert turn_uris(["t2"], {"t2": {"coturn_realm": "realm.test"}})[0] == "turn:realm.test:3478?transport=udp"
    assert turn_uris(["t3"], {})[0] == "turn:t3:3478?transport=udp"


def test_where_the_secrets_are_read():
    hostvars = {"one": {}, "cache": {"redis_server": "valkey", "homeserver_private_address": "10.0.0.51"}}
    _unused, _unused, result = wire({"synapse": ["one"], "redis": ["cache"], "coturn": ["one"]}, hostvars)
    assert result["secrets"]["one"] == {"coturn_hosts": ["one"], "redis_host": "cache",
                                        "redis_password_file": "/etc/valkey/homeserver-password",
                                        "postgres_host": "", "postgres_ca_file": "",
                                        "redis_ca_file": "/etc/valkey/tls/ca.crt"}
    assert result["secrets"]["cache"] == {"coturn_hosts": [], "redis_host": "", "redis_password_file": "",
                                          "postgres_host": "", "postgres_ca_file": "", "redis_ca_file": ""}


def test_every_inventory_value_wins():
    """Whatever the layout computes for a host, the same variable set in its inventory is left alone."""
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_workers_preset"] = "small"
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    layout = split_layout(redis=["cache"], coturn=["proxy"])
    computed = wired_ok(layout, hostvars, everything=True)
    for host, inputs in computed.items():
        for name in inputs:
            hostvars[host][name] = "from-the-inventory"
    _unused, errors, result = wire(layout, hostvars)
    assert result["inputs"] == {h: {} for h in computed}, result["inputs"]


def test_role_defaults_come_from_the_roles(tmp_path):
    """No default is copied: the filter reads them from roles/*/defaults/main.yml."""
    defaults = role_defaults()
    with open(os.path.join(ROOT, "roles", "synapse", "defaults", "main.yml"), encoding="utf-8") as handle:
        assert defaults["synapse_listener_port"] == yaml.safe_load(handle)["synapse_listener_port"]
    roles = tmp_path / "roles"
    for role in os.listdir(os.path.join(ROOT, "roles")):
        source = os.path.join(ROOT, "roles", role, "defaults", "main.yml")
        if os.path.exists(source):
            (roles / role / "defaults").mkdir(parents=True)
            text = open(source, encoding="utf-8").read()
            if role == "synapse":
                text = text.replace("synapse_listener_port: 8008", "synapse_listener_port: 8018")
            (roles / role / "defaults" / "main.yml").write_text(text)
    groups = dict(split_layout(), all=list(ADDRESSES))
    result = site_wiring(groups, ADDRESSES, roles_dir=str(roles))
    assert result["inputs"]["proxy"]["reverse_proxy_synapse_upstream"] == f"{SYN}:8018"


def test_a_role_default_that_is_not_literal_is_refused(tmp_path):
    roles = tmp_path / "roles"
    (roles / "synapse" / "defaults").mkdir(parents=True)
    (roles / "synapse" / "defaults" / "main.yml").write_text("synapse_listener_port: \"{{ 8008 }}\"\n")
    with pytest.raises(AnsibleFilterError, match="no literal default for synapse_listener_port"):
        role_defaults(str(roles))


def test_wrong_arguments_are_refused():
    with pytest.raises(AnsibleFilterError, match="expects groups and hostvars"):
        site_wiring(["db"], {})


class TemplatedVars(Mapping):
    """One host's variables, templated when read, as Ansible's hostvars hands them to the filter."""

    def __init__(self, loader, variables):
        from ansible.template import Templar

        self._vars = variables
        self._templar = Templar(loader=loader, variables=variables)

    def __getitem__(self, key):
        return self._templar.template(self._vars[key])

    def __iter__(self):
        return iter(self._vars)

    def __len__(self):
        return len(self._vars)


def wire_inventory(*sources):
    """The filter on inventory sources loaded as ansible-playbook loads them (host and group vars, templated)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(source) for source in sources])
    manager = VariableManager(loader=loader, inventory=inventory)
    groups = dict((name, [h.name for h in group.get_hosts()]) for name, group in inventory.groups.items())
    hostvars = dict((h.name, TemplatedVars(loader, manager.get_vars(host=h, include_hostvars=False)))
                    for h in inventory.get_hosts())
    return site_wiring(groups, hostvars)


def test_docs_show_what_the_example_inventory_gets(tmp_path):
    """docs/multi-host.md's example output is what the filter gives inventories/example."""
    addresses = {"all": {"hosts": {"db1.example.com": {"homeserver_private_address": DB},
                                   "matrix1.example.com": {"homeserver_private_address": SYN},
                                   "proxy1.example.com": {"homeserver_private_address": PROXY},
                                   "turn1.example.com": {"homeserver_private_address": "10.0.0.61"},
                                   "monitor1.example.com": {"homeserver_private_address": MON}},
                         "vars": {"vault_synapse_database_password": "from-the-vault"}}}
    extra = tmp_path / "addresses.yml"
    extra.write_text(yaml.safe_dump(addresses))
    result = wire_inventory(os.path.join(ROOT, "inventories", "example"), extra)
    assert not any(result["errors"].values()), result["errors"]

    with open(os.path.join(ROOT, "docs", "multi-host.md"), encoding="utf-8") as handle:
        text = handle.read()
    block = text.split("the filter gives:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == result["inputs"]


def test_demo_inventory_wires(tmp_path):
    """`make demo`'s inventory (its group_vars, a container's facts) wires without a refusal: Synapse on loopback,
    nginx in front of it, nothing bound beyond the container's loopback."""
    facts = {"all": {"vars": {"demo_database_password": "demo", "ansible_facts": {
        "default_ipv4": {"address": "172.17.0.2"}, "all_ipv4_addresses": ["172.17.0.2"],
        "all_ipv6_addresses": []}}}}
    extra = tmp_path / "facts.yml"
    extra.write_text(yaml.safe_dump(facts))
    result = wire_inventory(os.path.join(ROOT, "inventories", "demo"), extra)
    assert not any(result["errors"].values()), result["errors"]
    # Not wired on one host: the role's default (loopback) applies, as the demo's group_vars leave it.
    binds = result["inputs"]["homeserver-demo"].get("synapse_listener_bind_addresses", ["127.0.0.1"])
    assert set(binds) <= set(LOOPBACK), binds


def _without_locations(node):
    """node without its include_role tasks of a role's locations.yml entry point (a fact, applies nothing)."""
    if isinstance(node, list):
        return [_without_locations(item) for item in node
                if not (isinstance(item, dict)
                        and (item.get("ansible.builtin.include_role") or {}).get("tasks_from") == "locations.yml")]
    if isinstance(node, dict):
        return dict((key, _without_locations(value)) for key, value in node.items())
    return node


def _applies_synapse_role(node):
    """Whether a play or task list (any nesting) applies the synapse role (its locations.yml does not count)."""
    text = json.dumps(_without_locations(node))
    return '"homeserver.synapse.synapse"' in text


def _imports(node, name):
    return ('"tasks/%s"' % name) in json.dumps(node) or ('/%s"' % name) in json.dumps(node)


PLAYBOOKS = sorted(p for p in os.listdir(os.path.join(ROOT, "playbooks")) if p.endswith(".yml"))


def _load_playbook(name):
    with open(os.path.join(ROOT, "playbooks", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or []


def _starts_wired(name):
    """Whether a playbook's plays run after wire_hosts.yml: it imports it, or a playbook that does, first."""
    for play in _load_playbook(name):
        imported = play.get("ansible.builtin.import_playbook")
        if imported is None:
            return False
        if imported == "wire_hosts.yml" or _starts_wired(imported):
            return True
    return False


def _applies_a_role(node):
    """Whether a play (any nesting) applies a role of the collection (a locations.yml entry point does not count)."""
    text = json.dumps(_without_locations(node))
    return any(marker in text for marker in ('"role": "homeserver.synapse.', '"name": "homeserver.synapse.'))


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_play_that_applies_synapse_is_wired(playbook):
    """A play that applies the synapse role after the wiring and with the peers' secrets writes the same
    homeserver.yaml as site.yml (TURN, metrics, Redis); without them it would drop them."""
    plays = _load_playbook(playbook)
    wired = False
    for play in plays:
        imported = play.get("ansible.builtin.import_playbook")
        if imported == "wire_hosts.yml" or (imported and _starts_wired(imported)):
            wired = True
            continue
        if _applies_synapse_role({k: v for k, v in play.items() if k in ("roles", "pre_tasks", "tasks")}):
            assert wired, f"{playbook}: play '{play.get('name')}' applies the synapse role before wire_hosts.yml"
            assert _imports(play, "peer_secrets.yml"), (
                f"{playbook}: play '{play.get('name')}' applies the synapse role without tasks/peer_secrets.yml")


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_play_that_applies_a_role_is_wired(playbook):
    """Every playbook that applies a role of the collection (site, backup, restore, upgrade, migration, Debian
    upgrade) runs the wiring first, directly or through the playbook it imports first."""
    plays = _load_playbook(playbook)
    wired = False
    for play in plays:
        imported = play.get("ansible.builtin.import_playbook")
        if imported == "wire_hosts.yml" or (imported and _starts_wired(imported)):
            wired = True
            continue
        if _applies_a_role({k: v for k, v in play.items() if k in ("roles", "pre_tasks", "tasks", "post_tasks")}):
            assert wired, f"{playbook}: play '{play.get('name')}' applies a role before wire_hosts.yml"


def test_locations_entry_points_are_not_role_applications():
    """The admin playbooks only read where the synapse role keeps its files: they need no wiring."""
    for playbook in ("register_user.yml", "issue_registration_token.yml"):
        plays = _load_playbook(playbook)
        assert '"tasks_from": "locations.yml"' in json.dumps(plays), playbook
        assert not any(_applies_a_role(play) for play in plays), playbook
    assert _applies_synapse_role(_load_playbook("migrate_sqlite_to_postgres.yml"))


def test_the_role_playbooks_are_checked():
    """The test above sees the roles these playbooks apply (it would pass vacuously otherwise)."""
    for playbook in ("backup.yml", "restore.yml", "upgrade.yml", "site.yml"):
        assert any(_applies_a_role(play) for play in _load_playbook(playbook)), playbook
    assert _starts_wired("upgrade.yml") and _starts_wired("backup.yml") and _starts_wired("restore.yml")


TASK_FILES = sorted(p for p in os.listdir(os.path.join(ROOT, "playbooks", "tasks")) if p.endswith(".yml"))
PLAYBOOK_FILES = PLAYBOOKS + [os.path.join("tasks", p) for p in TASK_FILES]
# Literals a playbook may keep although a role holds the same value, each with the reason. (None today.)
ALLOWED_LITERALS = {}


def _role_literals():
    """Synapse's local URL and every literal path of a role's defaults and vars (constants per release too)."""
    literals = {"127.0.0.1:%s" % role_defaults()["synapse_listener_port"]}
    for role in os.listdir(os.path.join(ROOT, "roles")):
        for kind in ("defaults", "vars"):
            top = os.path.join(ROOT, "roles", role, kind)
            for name in sorted(os.listdir(top)) if os.path.isdir(top) else []:
                with open(os.path.join(top, name), encoding="utf-8") as handle:
                    values = yaml.safe_load(handle) or {}
                literals.update(v for v in values.values()
                                if isinstance(v, str) and v.startswith("/") and "{{" not in v)
    return literals


def test_role_literals_are_found():
    literals = _role_literals()
    assert {"/opt/venvs/matrix-synapse", "/etc/matrix-synapse", "/etc/coturn", "127.0.0.1:8008"} <= literals


@pytest.mark.parametrize("playbook", PLAYBOOK_FILES)
def test_playbooks_copy_no_role_default_or_constant(playbook):
    """A playbook gets a role's paths from the role (its locations.yml entry point, or tasks_from such as
    keep_previous.yml) and its defaults through the role_default lookup: it copies neither."""
    with open(os.path.join(ROOT, "playbooks", playbook), encoding="utf-8") as handle:
        text = handle.read()
    allowed = ALLOWED_LITERALS.get(playbook, {})
    # A whole path (or one under it): /var/backups/matrix-synapse-offsite is not /var/backups/matrix-synapse.
    found = [literal for literal in sorted(_role_literals())
             if re.search(re.escape(literal) + r"(?![\w.-])", text) and literal not in allowed]
    assert found == [], f"{playbook} copies {found}: use the role's locations.yml or the role_default lookup"


def test_peer_secrets_do_nothing_without_coturn_or_redis(tmp_path):
    """tasks/peer_secrets.yml on a Synapse host of a layout with neither: nothing to read, no failure."""
    code, output, hosts = run_peers(tmp_path, {"postgres": ["one"], "synapse": ["one"]},
                                    extra_vars=("-e", "peers_secrets=true"))
    assert code == 0, output
    assert "Read coturn's shared secret" in output and "Read Redis's password" in output, output
    assert hosts["one"] == {"firewall_peer_rules": []}


def test_exporters_get_the_local_service_ports():
    """The exporters read nginx's stub_status and PostgreSQL's port where those run, or where the inventory sets
    them (e.g. an nginx the collection does not manage, with monitoring_nginx_exporter_enabled)."""
    hostvars = {"db": {"postgres_port": 5433}, "web": {"reverse_proxy_stub_status_port": 8089}, "proxy": {}}
    inputs = wired_ok({"postgres": ["db"], "reverse_proxy": ["proxy"], "other": ["web"]}, hostvars, everything=True)
    assert inputs["db"]["monitoring_postgres_port"] == 5433
    assert inputs["web"]["monitoring_nginx_stub_status_port"] == 8089
    assert inputs["proxy"]["monitoring_nginx_stub_status_port"] == 0
    assert "monitoring_postgres_port" not in inputs["proxy"]


def _targets(inputs, job):
    return [(t["host"], t["address"], t["port"], t.get("labels", {}).get("process"))
            for t in inputs["mon"]["monitoring_scrape_targets"] if t["job"] == job]


def test_prometheus_gets_every_target_with_the_workers_expanded():
    """The monitoring host's scrape targets: each Synapse process (workers expanded by the synapse_workers
    filter, their metrics ports), each exporter at the address its host's exporters listen on."""
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_workers_preset"] = "small"
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    inputs = wired_ok(split_layout(redis=["cache"]), hostvars, everything=True)
    assert _targets(inputs, "synapse") == [
        ("syn", SYN, 9000, "main"), ("syn", SYN, 9400, "sync-1"), ("syn", SYN, 9410, "client-reader-1"),
        ("syn", SYN, 9420, "federation-reader-1"), ("syn", SYN, 9430, "federation-sender-1"),
        ("syn", SYN, 9440, "background-worker-1")]
    worker = inputs["mon"]["monitoring_scrape_targets"][1]
    assert worker["metrics_path"] == "/_synapse/metrics"
    assert worker["labels"] == {"process": "sync-1", "process_type": "sync"}
    assert _targets(inputs, "postgres") == [("db", DB, 9187, None)]
    assert _targets(inputs, "nginx") == [("proxy", PROXY, 9113, None)]
    assert sorted(_targets(inputs, "node")) == sorted([
        ("db", DB, 9100, None), ("syn", SYN, 9100, None), ("proxy", PROXY, 9100, None),
        ("cache", "10.0.0.51", 9100, None), ("mon", "127.0.0.1", 9100, None)])
    # The exporters the targets point at are the ones installed.
    assert inputs["db"]["monitoring_postgres_exporter_enabled"] is True
    assert inputs["proxy"]["monitoring_nginx_exporter_enabled"] is True
    assert "monitoring_scrape_targets" not in inputs["syn"]


def test_prometheus_on_a_single_host_scrapes_loopback():
    groups = {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "monitoring")}
    inputs = wired_ok(groups, {"one": {"reverse_proxy_public_hostname": "matrix.test"}}, everything=True)
    targets = inputs["one"]["monitoring_scrape_targets"]
    assert [t["job"] for t in targets] == ["synapse", "postgres", "nginx", "node"]
    assert {t["address"] for t in targets} == {"127.0.0.1"}
    assert inputs["one"]["monitoring_tls_probe_targets"] == ["matrix.test:443"]


def test_targets_follow_the_inventory_values():
    """A port, bind address or exporter address the inventory sets is where Prometheus scrapes."""
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"].update(synapse_metrics_bind_address="0.0.0.0", synapse_metrics_port=9101,
                           monitoring_node_exporter_port=9200, homeserver_allow_public_bind=True)
    hostvars["db"]["monitoring_exporter_listen_address"] = "10.9.0.21"
    hostvars["mon"]["monitoring_extra_scrape_hosts"] = [{"job": "redis", "host": "db", "port": 9121}]
    inputs = wired_ok(split_layout(), hostvars, everything=True)
    assert _targets(inputs, "synapse") == [("syn", SYN, 9101, "main")]
    assert ("syn", SYN, 9200, None) in _targets(inputs, "node")
    assert _targets(inputs, "postgres") == [("db", "10.9.0.21", 9187, None)]
    assert inputs["mon"]["monitoring_scrape_targets"][-1] == {
        "job": "redis", "host": "db", "address": "10.9.0.21", "port": 9121, "metrics_path": "/metrics"}


@pytest.mark.parametrize("hostvars, expected", [
    ({"syn": {"synapse_metrics_bind_address": "127.0.0.1"}},
     "Synapse's metrics listener on syn listens on 127.0.0.1, which Prometheus on mon cannot reach: set "
     "synapse_metrics_bind_address for syn in the inventory"),
    ({"db": {"monitoring_exporter_listen_address": "127.0.0.1"}},
     "The postgres exporter on db listens on 127.0.0.1, which Prometheus on mon cannot reach"),
    ({"mon": {"monitoring_extra_scrape_hosts": [{"job": "redis", "host": "ghost", "port": 9121}]}},
     "monitoring_extra_scrape_hosts of mon names 'ghost', which is not a host of the inventory"),
])
def test_unreachable_targets_are_refused(hostvars, expected):
    merged = {host: dict(v, **hostvars.get(host, {})) for host, v in ADDRESSES.items()}
    _unused, errors, _unused = wire(split_layout(), merged)
    assert expected in " ".join(errors["mon"]), errors


def test_the_proxy_serves_grafana_of_the_monitoring_host():
    """Only the reverse_proxy role writes nginx configuration: the wiring hands it Grafana's location."""
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["proxy"]["reverse_proxy_public_hostname"] = "matrix.example.com"
    inputs = wired_ok(split_layout(), hostvars, everything=True)
    assert inputs["proxy"]["reverse_proxy_wired_locations"] == [
        {"path": "/grafana/", "proxy_pass": f"http://{MON}:3000", "websocket": True, "allow": LOOPBACK}]
    assert inputs["mon"]["monitoring_grafana_http_addr"] == MON
    assert inputs["mon"]["monitoring_grafana_root_url"] == "https://matrix.example.com/grafana/"
    assert {"name": "grafana", "ports": [3000], "sources": [PROXY]} in inputs["mon"]["firewall_peer_rules"]
    assert "reverse_proxy_wired_locations" not in inputs["db"]


def test_grafana_on_the_proxy_host_stays_on_loopback():
    groups = {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "monitoring")}
    hostvars = {"one": {"monitoring_grafana_root_url": "https://matrix.test/stats/", "monitoring_grafana_http_port": 3001}}
    inputs = wired_ok(groups, hostvars, everything=True)
    assert inputs["one"]["reverse_proxy_wired_locations"] == [
        {"path": "/stats/", "proxy_pass": "http://127.0.0.1:3001", "websocket": True, "allow": LOOPBACK}]
    assert "monitoring_grafana_http_addr" not in inputs["one"]
    assert inputs["one"]["firewall_peer_rules"] == []


@pytest.mark.parametrize("hostvars", [
    {"monitoring_grafana_enabled": False},
    # Grafana at a host name of its own: a server of the admin's serves it, not the homeserver's vhost.
    {"monitoring_grafana_root_url": "https://grafana.example.com/"},
])
def test_no_grafana_location_without_grafana_under_a_path(hostvars):
    merged = {host: dict(v) for host, v in ADDRESSES.items()}
    merged["mon"].update(hostvars)
    inputs = wired_ok(split_layout(), merged, everything=True)
    assert "reverse_proxy_wired_locations" not in inputs["proxy"]
    assert not [r for r in inputs["mon"]["firewall_peer_rules"] if r["name"] == "grafana"]


def test_grafana_on_loopback_for_a_remote_proxy_is_refused():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["mon"]["monitoring_grafana_http_addr"] = "127.0.0.1"
    _unused, errors, _unused = wire(split_layout(), hostvars)
    assert ("Grafana on mon listens on 127.0.0.1, which the reverse proxy on proxy cannot reach: set "
            "monitoring_grafana_http_addr for mon") in " ".join(errors["mon"]), errors


def test_an_exporter_the_inventory_turns_on_is_scraped():
    """An nginx the collection does not manage: the inventory turns its exporter on, Prometheus scrapes it."""
    hostvars = {"web": {"homeserver_private_address": "10.0.0.71", "monitoring_nginx_exporter_enabled": True,
                        "reverse_proxy_stub_status_port": 8089}, "mon": {"homeserver_private_address": MON}}
    inputs = wired_ok({"monitoring": ["mon"], "other": ["web"]}, hostvars, everything=True)
    assert [t for t in inputs["mon"]["monitoring_scrape_targets"] if t["job"] == "nginx"] == [
        {"job": "nginx", "host": "web", "address": "10.0.0.71", "port": 9113}]
    assert inputs["web"]["monitoring_nginx_stub_status_port"] == 8089


def _backup_inputs(inputs):
    return dict((k, v) for k, v in inputs.items() if k.startswith("backup_"))


def test_backup_on_a_single_host_dumps_the_local_cluster():
    """The backup role reads no groups: the wiring tells it the database is local (molecule/backup_restore)."""
    groups = {"postgres": ["one"], "synapse": ["one"], "backup": ["one"]}
    inputs = wired_ok(groups, everything=True)
    assert _backup_inputs(inputs["one"]) == {"backup_database_local": True, "backup_database_engine": "psycopg2"}
    # SQLite: the engine follows Synapse's.
    inputs = wired_ok(groups, {"one": {"synapse_database_engine": "sqlite3"}}, everything=True)
    assert inputs["one"]["backup_database_engine"] == "sqlite3"


def test_backup_of_a_split_database_dumps_the_remote_host():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["db"]["postgres_port"] = 5433
    inputs = wired_ok(split_layout(backup=["syn"]), hostvars, everything=True)
    assert _backup_inputs(inputs["syn"]) == {"backup_database_local": False, "backup_database_engine": "psycopg2",
                                             "backup_database_host": DB, "backup_database_port": 5433}
    assert not _backup_inputs(inputs["db"]), "only hosts of group backup get the backup role's inputs"
    # The inventory wins: its own backup database host and port are kept.
    hostvars["syn"].update(backup_database_host="db.internal", backup_database_port=6432)
    inputs = wired_ok(split_layout(backup=["syn"]), hostvars, everything=True)
    assert "backup_database_host" not in inputs["syn"] and "backup_database_port" not in inputs["syn"]


def test_backup_copy_connects_to_the_target_host():
    groups = {"postgres": ["one", "two"], "synapse": ["one", "two"], "backup": ["one"]}
    inputs = wired_ok(groups, {"one": {"backup_rsync_target_host": "two"}}, everything=True)
    assert inputs["one"]["backup_rsync_address"] == "two"
    hostvars = {"one": {"backup_rsync_target_host": "two"}, "two": {"ansible_host": "192.0.2.7"}}
    inputs = wired_ok(groups, hostvars, everything=True)
    assert inputs["one"]["backup_rsync_address"] == "192.0.2.7"
    assert "backup_rsync_address" not in inputs["two"]
    # Without a target: no address (the role's default, local backups only).
    assert "backup_rsync_address" not in wired_ok(groups, everything=True)["one"]
    # The inventory wins.
    hostvars["one"]["backup_rsync_address"] = "backup.lan"
    assert "backup_rsync_address" not in wired_ok(groups, hostvars, everything=True)["one"]


@pytest.mark.parametrize("target, expected", [
    ("ghost", "backup_rsync_target_host for one is 'ghost', which is not a host of the inventory"),
    ("one", "backup_rsync_target_host for one names one itself"),
])
def test_a_bad_backup_target_is_refused(target, expected):
    groups = {"postgres": ["one"], "synapse": ["one"], "backup": ["one"]}
    _unused, errors, result = wire(groups, {"one": {"backup_rsync_target_host": target}})
    assert expected in " ".join(errors["one"]), errors
    assert "backup_rsync_address" not in result["inputs"]["one"]


def _two_grafanas(**mon2):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["proxy"]["reverse_proxy_public_hostname"] = "matrix.example.com"
    hostvars["mon2"] = dict({"homeserver_private_address": "10.0.0.42"}, **mon2)
    return split_layout(monitoring=["mon", "mon2"]), hostvars


def test_every_grafana_host_is_served_at_a_path_of_its_own():
    groups, hostvars = _two_grafanas()
    inputs = wired_ok(groups, hostvars, everything=True)
    assert inputs["proxy"]["reverse_proxy_wired_locations"] == [
        {"path": "/grafana/", "proxy_pass": f"http://{MON}:3000", "websocket": True, "allow": LOOPBACK},
        {"path": "/grafana-mon2/", "proxy_pass": "http://10.0.0.42:3000", "websocket": True, "allow": LOOPBACK}]
    assert inputs["mon"]["monitoring_grafana_root_url"] == "https://matrix.example.com/grafana/"
    assert inputs["mon2"]["monitoring_grafana_root_url"] == "https://matrix.example.com/grafana-mon2/"
    assert inputs["mon2"]["monitoring_grafana_http_addr"] == "10.0.0.42"
    for host in ("mon", "mon2"):
        assert {"name": "grafana", "ports": [3000], "sources": [PROXY]} in inputs[host]["firewall_peer_rules"]


def test_grafana_hosts_with_distinct_root_urls_keep_them():
    groups, hostvars = _two_grafanas(monitoring_grafana_root_url="https://matrix.example.com/stats/",
                                     monitoring_grafana_http_port=3001)
    hostvars["mon"]["monitoring_grafana_root_url"] = "https://matrix.example.com/metrics-ui/"
    inputs = wired_ok(groups, hostvars, everything=True)
    assert [(loc["path"], loc["proxy_pass"]) for loc in inputs["proxy"]["reverse_proxy_wired_locations"]] == [
        ("/metrics-ui/", f"http://{MON}:3000"), ("/stats/", "http://10.0.0.42:3001")]
    assert "monitoring_grafana_root_url" not in inputs["mon"] and "monitoring_grafana_root_url" not in inputs["mon2"]
    # A second Grafana with Grafana turned off on the first: the remaining one is the first, at /grafana/.
    groups, hostvars = _two_grafanas()
    hostvars["mon"]["monitoring_grafana_enabled"] = False
    inputs = wired_ok(groups, hostvars, everything=True)
    assert [loc["path"] for loc in inputs["proxy"]["reverse_proxy_wired_locations"]] == ["/grafana/"]


def test_two_grafanas_at_the_same_path_are_refused():
    groups, hostvars = _two_grafanas(monitoring_grafana_root_url="https://matrix.example.com/grafana")
    _unused, errors, result = wire(groups, hostvars)
    assert ("Grafana on mon and on mon2 would both be served at /grafana by the reverse proxy: set "
            "monitoring_grafana_root_url for mon2 in the inventory to a URL with another path") in " ".join(
                errors["mon2"]), errors
    assert len(result["inputs"]["proxy"]["reverse_proxy_wired_locations"]) == 1


# Binds beyond loopback (#16): private addresses only, a public one only with the opt-in and the firewall on.
PUBLIC_SYN = "203.0.113.10"  # a documentation range: Python's is_private says private, the wiring must not


def facts_layout(syn_facts, **syn_vars):
    """The split layout with facts for every host; syn's facts and variables given."""
    hostvars = {h: {"ansible_facts": {"default_ipv4": {"address": v["homeserver_private_address"]}}}
                for h, v in ADDRESSES.items()}
    hostvars["syn"] = dict(syn_vars, ansible_facts=syn_facts)
    return hostvars


def syn_errors(hostvars):
    _inputs, errors, _result = wire(split_layout(), hostvars)
    return [e for host_errors in errors.values() for e in host_errors]


def test_private_default_ipv4_is_the_address():
    hosts = wired_ok(split_layout(), facts_layout({"default_ipv4": {"address": "172.18.0.3"}}))
    assert hosts["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", "172.18.0.3"]
    assert hosts["db"]["postgres_synapse_allowed_hosts"] == ["172.18.0.3"]


@pytest.mark.parametrize("private", ["10.1.2.3", "172.31.255.1", "192.168.7.7", "100.64.0.9"])
def test_public_default_ipv4_gives_way_to_a_private_secondary_address(private):
    facts = {"default_ipv4": {"address": PUBLIC_SYN}, "all_ipv4_addresses": [PUBLIC_SYN, "172.15.0.1", private]}
    hosts = wired_ok(split_layout(), facts_layout(facts))
    assert hosts["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", private]
    assert hosts["syn"]["synapse_metrics_bind_address"] == private
    assert hosts["syn"]["monitoring_exporter_listen_address"] == private
    assert hosts["db"]["postgres_synapse_allowed_hosts"] == [private]


@pytest.mark.parametrize("facts", [
    {"default_ipv4": {"address": PUBLIC_SYN}, "all_ipv4_addresses": [PUBLIC_SYN, "172.32.0.1"]},
    {"all_ipv4_addresses": [PUBLIC_SYN]},
])
def test_only_a_public_address_is_refused(facts):
    errors = syn_errors(facts_layout(facts))
    assert errors[0].startswith(f"The only address known for syn is {PUBLIC_SYN}, a public one"), errors
    assert not any("every address" in e or PUBLIC_SYN not in e and "syn" not in e for e in errors), errors
    assert "Set homeserver_private_address for syn" in errors[0]
    assert "homeserver_allow_public_bind: true for syn" in errors[0]


def test_opt_in_without_the_firewall_is_refused():
    hostvars = facts_layout({"default_ipv4": {"address": PUBLIC_SYN}}, homeserver_allow_public_bind=True,
                            firewall_enabled=False)
    errors = syn_errors(hostvars)
    assert any(e.startswith(f"synapse_listener_bind_addresses for syn is '{PUBLIC_SYN}', a public address, and "
                            "homeserver_allow_public_bind is true but the firewall is off there") for e in errors), errors
    assert all("syn" in e for e in errors)


@pytest.mark.parametrize("firewall", [{}, {"firewall_enabled": True}, {"groups": ["firewall"]}])
def test_opt_in_with_the_firewall_binds_the_public_address(firewall):
    groups = split_layout(**({"firewall": ["syn"]} if firewall.get("groups") else {}))
    hostvars = facts_layout({"default_ipv4": {"address": PUBLIC_SYN}}, homeserver_allow_public_bind=True,
                            **{k: v for k, v in firewall.items() if k != "groups"})
    hosts = wired_ok(groups, hostvars)
    assert hosts["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", PUBLIC_SYN]
    # Still only the proxy may connect, and only Prometheus to the metrics.
    assert rules(hosts["syn"])["synapse"] == ([8008], [PROXY])


def test_a_declared_public_address_is_refused():
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["homeserver_private_address"] = PUBLIC_SYN
    errors = syn_errors(hostvars)
    assert (f"homeserver_private_address for syn is '{PUBLIC_SYN}', a public address: set it to loopback or to an "
            "address of syn on a private network") in " ".join(errors), errors
    hostvars["syn"]["homeserver_allow_public_bind"] = True
    assert wired_ok(split_layout(), hostvars)["syn"]["synapse_listener_bind_addresses"] == ["127.0.0.1", PUBLIC_SYN]


@pytest.mark.parametrize("variable, value, host, groups", [
    ("synapse_listener_bind_addresses", ["0.0.0.0"], "syn", {}),
    ("synapse_metrics_bind_address", "::", "syn", {}),
    ("postgres_listen_addresses", ["*"], "db", {}),
    ("redis_bind_addresses", ["127.0.0.1", "0.0.0.0"], "cache", {"redis": ["cache"]}),
    ("monitoring_exporter_listen_address", "0.0.0.0", "db", {}),
    ("monitoring_grafana_http_addr", "0.0.0.0", "mon", {}),
    ("synapse_metrics_bind_address", "198.51.100.4", "syn", {}),
])
def test_wildcard_and_public_binds_need_the_opt_in(variable, value, host, groups):
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    hostvars[host][variable] = value
    _inputs, errors, _result = wire(split_layout(**groups), hostvars)
    shown = value if isinstance(value, str) else value[-1]
    assert [e for e in errors[host] if e.startswith(f"{variable} for {host} is '{shown}', ")], errors
    assert f"homeserver_allow_public_bind: true for {host}" in " ".join(errors[host])
    hostvars[host]["homeserver_allow_public_bind"] = True
    wired_ok(split_layout(**groups), hostvars)


def test_a_bind_that_is_no_address_is_refused():
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["db"]["postgres_listen_addresses"] = ["localhost", "db.example.com"]
    _inputs, errors, _result = wire(split_layout(), hostvars)
    assert errors["db"] == ["postgres_listen_addresses for db contains 'db.example.com', which is not an IP address: "
                            "set it to loopback or to an IP address of db on a private network."]


def test_loopback_and_private_binds_the_inventory_sets_are_kept():
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["db"]["postgres_listen_addresses"] = ["localhost", "::1", "fd00::21", DB]
    hostvars["syn"]["synapse_metrics_bind_address"] = "192.168.1.11"
    wired_ok(split_layout(), hostvars)


def test_the_firewall_is_on_for_every_host_of_a_multi_host_layout():
    inputs = wired_ok(split_layout(), ADDRESSES, everything=True)
    assert {h: v.get("firewall_enabled") for h, v in inputs.items()} == dict.fromkeys(ADDRESSES, True)


@pytest.mark.parametrize("groups", [
    {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "monitoring", "coturn")},
    # Two homeservers side by side: no host serves another.
    {"postgres": ["hs1", "hs2"], "synapse": ["hs1", "hs2"], "reverse_proxy": ["hs1", "hs2"]},
])
def test_the_firewall_stays_opt_in_without_peers_on_other_hosts(groups):
    inputs = wired_ok(groups, everything=True)
    assert all("firewall_enabled" not in v for v in inputs.values()), inputs


def test_the_inventory_turns_the_firewall_off(tmp_path):
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["proxy"]["firewall_enabled"] = False
    inputs = wired_ok(split_layout(), hostvars, everything=True)
    assert "firewall_enabled" not in inputs["proxy"]
    assert inputs["db"]["firewall_enabled"] is True


@pytest.mark.parametrize("value, allowed", [("true", True), ("yes", True), ("false", False), (False, False)])
def test_the_opt_in_reads_like_ansible(value, allowed):
    """-e homeserver_allow_public_bind=false is the string 'false': no opt-in."""
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["syn"].update(synapse_metrics_bind_address="0.0.0.0", homeserver_allow_public_bind=value)
    _inputs, errors, _result = wire(split_layout(), hostvars)
    assert (errors["syn"] == []) is allowed, errors


def test_an_opt_in_that_is_no_boolean_is_refused():
    hostvars = {h: dict(v) for h, v in ADDRESSES.items()}
    hostvars["syn"]["homeserver_allow_public_bind"] = "sometimes"
    _inputs, errors, _result = wire(split_layout(), hostvars)
    assert errors["syn"] == ["homeserver_allow_public_bind for syn is 'sometimes': set it to true or false."]


def test_site_applies_the_firewall_right_after_the_wiring():
    """Its rules come from the wiring and are loaded before any service listens beyond loopback."""
    for playbook in ("site.yml", "migrate_sqlite_to_postgres.yml"):
        plays = _load_playbook(playbook)
        assert plays[0].get("ansible.builtin.import_playbook") == "wire_hosts.yml", playbook
        assert plays[1]["hosts"] == "all" and _imports(plays[1], "firewall.yml"), (playbook, plays[1])
    with open(os.path.join(ROOT, "playbooks", "tasks", "firewall.yml"), encoding="utf-8") as handle:
        task = yaml.safe_load(handle)[0]
    assert task["ansible.builtin.include_role"]["name"] == "homeserver.synapse.firewall"
    assert task["when"] == "'firewall' in group_names or firewall_enabled | default(false) | bool"


def test_a_public_address_from_extra_vars_stops_the_play(tmp_path):
    """As molecule/multinode's check: -e homeserver_private_address=<public> stops the wiring's preflight."""
    code, output, _hosts = run_peers(tmp_path, split_layout(), extra_vars=("-e", "homeserver_private_address=203.0.113.10"))
    assert code != 0, output
    assert "homeserver_private_address for syn is '203.0.113.10', a public address" in output, output
    assert "homeserver_allow_public_bind: true for syn" in output


def test_grafana_is_served_to_loopback_and_the_allowed_sources_only():
    """Each Grafana's location carries its own host's monitoring_grafana_allowed_sources, after loopback."""
    groups, hostvars = _two_grafanas(monitoring_grafana_allowed_sources=["192.0.2.0/24", "127.0.0.1"])
    hostvars["mon"]["monitoring_grafana_allowed_sources"] = ["198.51.100.7"]
    inputs = wired_ok(groups, hostvars, everything=True)
    assert [(loc["path"], loc["allow"]) for loc in inputs["proxy"]["reverse_proxy_wired_locations"]] == [
        ("/grafana/", LOOPBACK + ["198.51.100.7"]), ("/grafana-mon2/", LOOPBACK + ["192.0.2.0/24"])]


F2B_KEYS = ("fail2ban_synapse_enabled", "fail2ban_nginx_login_enabled", "fail2ban_nginx_limit_req_enabled")


def _jails(inputs, host):
    """The jails the wiring turns on for host, by name ('' keys left to the role default are not wired)."""
    names = {"fail2ban_synapse_enabled": "matrix-synapse", "fail2ban_nginx_login_enabled": "matrix-synapse-nginx",
             "fail2ban_nginx_limit_req_enabled": "nginx-limit-req"}
    return sorted(names[k] for k in F2B_KEYS if inputs[host].get(k))


def test_fail2ban_bans_at_the_proxy_in_a_split_layout():
    """Clients connect to the proxy: its jails read nginx's logs; the Synapse host bans nothing of theirs."""
    inputs = wired_ok(split_layout(fail2ban=["proxy", "syn", "db"]), ADDRESSES, everything=True)
    assert _jails(inputs, "proxy") == ["matrix-synapse-nginx", "nginx-limit-req"]
    assert inputs["proxy"]["fail2ban_synapse_enabled"] is False, "no Synapse log on the proxy"
    assert _jails(inputs, "syn") == [] and inputs["syn"]["fail2ban_synapse_enabled"] is False
    assert _jails(inputs, "db") == [], "sshd only"
    # Hosts outside group fail2ban get no fail2ban inputs.
    inputs = wired_ok(split_layout(fail2ban=["proxy"]), ADDRESSES, everything=True)
    assert not [k for k in inputs["syn"] if k.startswith("fail2ban_")]
    assert _jails(inputs, "proxy") == ["matrix-synapse-nginx", "nginx-limit-req"]


def test_fail2ban_on_a_single_host_keeps_the_synapse_jail():
    """One host: the Synapse jail as before, plus the limit_req jail of its nginx; no second login jail."""
    groups = {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "fail2ban")}
    inputs = wired_ok(groups, everything=True)
    assert _jails(inputs, "one") == ["matrix-synapse", "nginx-limit-req"]
    # Without a reverse proxy (clients reach Synapse directly): the Synapse jail only.
    inputs = wired_ok({"synapse": ["one"], "fail2ban": ["one"]}, everything=True)
    assert _jails(inputs, "one") == ["matrix-synapse"]


def test_a_synapse_host_that_is_also_a_proxy_keeps_its_jail():
    """syn serves its own clients and those of a second proxy: both hosts ban the clients they see."""
    groups = split_layout(reverse_proxy=["proxy", "syn"], fail2ban=["proxy", "syn"])
    inputs = wired_ok(groups, ADDRESSES, everything=True)
    assert _jails(inputs, "syn") == ["matrix-synapse", "nginx-limit-req"]
    assert _jails(inputs, "proxy") == ["matrix-synapse-nginx", "nginx-limit-req"]


def test_fail2ban_on_synapse_behind_a_proxy_without_it_is_refused():
    _unused, errors, _unused = wire(split_layout(fail2ban=["syn"]), ADDRESSES)
    assert errors["syn"] == [
        "syn is in group fail2ban, but its clients connect through the reverse proxy on proxy, which is not: a ban on "
        "syn would block nothing. Add proxy to group fail2ban (its jails ban failed logins and rate-limited clients "
        "there), or set fail2ban_synapse_enabled: false for syn in the inventory to keep only its sshd jail."], errors
    # The inventory's choice for the Synapse host ends the refusal (and wins).
    hostvars = dict(ADDRESSES, syn=dict(ADDRESSES["syn"], fail2ban_synapse_enabled=False))
    inputs = wired_ok(split_layout(fail2ban=["syn"]), hostvars, everything=True)
    assert "fail2ban_synapse_enabled" not in inputs["syn"]


def test_fail2ban_inventory_values_win():
    hostvars = dict(ADDRESSES, proxy=dict(ADDRESSES["proxy"], fail2ban_nginx_limit_req_enabled=False))
    inputs = wired_ok(split_layout(fail2ban=["proxy"]), hostvars, everything=True)
    assert "fail2ban_nginx_limit_req_enabled" not in inputs["proxy"]
    assert inputs["proxy"]["fail2ban_nginx_login_enabled"] is True
