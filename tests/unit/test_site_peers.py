"""site.yml's cross-host wiring (playbooks/tasks/peers.yml) on inventories of local hosts.

Each case writes an inventory (hosts with homeserver_private_address, no facts), runs tests/unit/files/peers.yml
with ansible-playbook and reads back the inputs every host ends up with, or the preflight message that stops
an impossible layout.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "unit", "files", "peers.yml")
BIN = os.path.dirname(sys.executable)

DB, SYN, PROXY, MON = "10.0.0.21", "10.0.0.11", "10.0.0.31", "10.0.0.41"
# The inputs that connect hosts (the others peers.yml sets, e.g. worker lists, are not about addresses).
WIRED = ("synapse_database_host", "synapse_listener_bind_addresses", "synapse_metrics_bind_address",
         "postgres_listen_addresses", "postgres_synapse_allowed_hosts", "reverse_proxy_synapse_upstream",
         "redis_bind_addresses", "monitoring_exporter_listen_address", "firewall_peer_rules",
         "fail2ban_synapse_log_file")


def run_peers(tmp_path, groups, hostvars=None, extra_inventories=()):
    """Run the wiring; return (exit code, output, {host: inputs})."""
    hostvars = hostvars or {}
    children = {}
    for group, hosts in groups.items():
        children[group] = {"hosts": {h: dict(hostvars.get(h, {})) for h in hosts}}
    inventory = {"all": {"vars": {"ansible_connection": "local",
                                  "ansible_python_interpreter": sys.executable},
                         "children": children}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    sources = ["-i", str(tmp_path / "inventory.json")]
    for extra in extra_inventories:
        sources += ["-i", extra]
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), PLAYBOOK, *sources, "-e", f"peers_output={out}"],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    results = {p.stem: {k: v for k, v in json.loads(p.read_text()).items() if k in WIRED}
               for p in out.glob("*.json")}
    return proc.returncode, proc.stdout + proc.stderr, results


def split_layout(**extra):
    groups = {"postgres": ["db"], "synapse": ["syn"], "reverse_proxy": ["proxy"], "monitoring": ["mon"]}
    groups.update(extra)
    return groups


ADDRESSES = {"db": {"homeserver_private_address": DB}, "syn": {"homeserver_private_address": SYN},
             "proxy": {"homeserver_private_address": PROXY}, "mon": {"homeserver_private_address": MON}}


def rules(inputs):
    return {r["name"]: (sorted(r["ports"]), sorted(r["sources"])) for r in inputs["firewall_peer_rules"]}


def test_split_layout_is_wired_from_the_groups(tmp_path):
    code, output, hosts = run_peers(tmp_path, split_layout(), ADDRESSES)
    assert code == 0, output
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
    assert rules(hosts["mon"]) == {}


def test_single_host_keeps_the_loopback_defaults(tmp_path):
    groups = {g: ["one"] for g in ("postgres", "synapse", "reverse_proxy", "monitoring", "coturn")}
    code, output, hosts = run_peers(tmp_path, groups)
    assert code == 0, output
    assert hosts["one"] == {"firewall_peer_rules": []}, hosts


def test_two_homeservers_on_one_inventory_stay_apart(tmp_path):
    # e.g. federation or backup tests: each host runs its own database; nothing opens to the other.
    groups = {"postgres": ["hs1", "hs2"], "synapse": ["hs1", "hs2"], "reverse_proxy": ["hs1", "hs2"]}
    code, output, hosts = run_peers(tmp_path, groups)
    assert code == 0, output
    assert hosts["hs1"] == {"firewall_peer_rules": []}, hosts
    assert hosts["hs2"] == {"firewall_peer_rules": []}, hosts


def test_inventory_values_win(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["db"]["postgres_synapse_allowed_hosts"] = ["10.0.0.0/24"]
    hostvars["syn"]["synapse_metrics_bind_address"] = "0.0.0.0"
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


def test_explicit_database_host_is_matched_to_its_postgres_host(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["db2"] = {"homeserver_private_address": "10.0.0.22"}
    hostvars["syn"]["synapse_database_host"] = "10.0.0.22"
    code, output, hosts = run_peers(tmp_path, split_layout(postgres=["db", "db2"]), hostvars)
    assert code == 0, output
    assert hosts["syn"]["synapse_database_host"] == "10.0.0.22"
    assert hosts["db2"]["postgres_synapse_allowed_hosts"] == [SYN]
    assert "postgres_synapse_allowed_hosts" not in hosts["db"]


def test_sqlite_synapse_needs_no_database_peer(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_database_engine"] = "sqlite3"
    code, output, hosts = run_peers(tmp_path, split_layout(), hostvars)
    assert code == 0, output
    assert "postgres_synapse_allowed_hosts" not in hosts["db"]
    assert "postgres" not in rules(hosts["db"])


def test_redis_is_open_to_the_synapse_hosts_only(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    code, output, hosts = run_peers(tmp_path, split_layout(redis=["cache"]), hostvars)
    assert code == 0, output
    assert rules(hosts["cache"])["redis"] == ([6379], [SYN])
    assert hosts["cache"]["redis_bind_addresses"] == ["127.0.0.1", "10.0.0.51"]
    assert "redis" not in rules(hosts["db"])


def test_routed_workers_are_open_to_the_proxy(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["synapse_workers_preset"] = "small"
    hostvars["cache"] = {"homeserver_private_address": "10.0.0.51"}
    code, output, hosts = run_peers(tmp_path, split_layout(redis=["cache"]), hostvars)
    assert code == 0, output
    ports, sources = rules(hosts["syn"])["synapse"]
    assert sources == [PROXY]
    assert ports[0] == 8008 and len(ports) > 1 and all(8100 <= p < 9000 for p in ports[1:]), ports


def test_fail2ban_reads_every_synapse_log_with_workers(tmp_path):
    one_host = {"postgres": ["syn"], "synapse": ["syn"], "redis": ["syn"]}
    code, output, hosts = run_peers(tmp_path / "workers", one_host, {"syn": {"synapse_workers_preset": "small"}})
    assert code == 0, output
    assert hosts["syn"]["fail2ban_synapse_log_file"] == "/var/log/matrix-synapse/*.log"
    code, output, hosts = run_peers(tmp_path / "none", one_host, {"syn": {}})
    assert code == 0, output
    assert "fail2ban_synapse_log_file" not in hosts["syn"], "without workers the role's default applies"


def test_ipv6_upstream_is_bracketed(tmp_path):
    hostvars = {host: dict(v) for host, v in ADDRESSES.items()}
    hostvars["syn"]["homeserver_private_address"] = "fd00::11"
    code, output, hosts = run_peers(tmp_path, split_layout(), hostvars)
    assert code == 0, output
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
def test_impossible_layouts_fail_clearly(tmp_path, groups, hostvars, expected):
    code, output, _ = run_peers(tmp_path, groups, hostvars)
    assert code != 0, output
    assert expected in " ".join(output.split()), output


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
