"""TLS on the links between hosts: the wiring (who serves TLS, who verifies it, where the CA certificates are
read), the pg_hba.conf lines the postgres role writes, and the refusals of the new TLS inputs."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.homeserver.synapse.plugins.filter.site_wiring import site_wiring
from playbook_cases import Preflight, environment
from test_preflight import GOOD_POSTGRES, GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DB, SYN, CACHE = "10.0.0.21", "10.0.0.11", "10.0.0.51"
TLS_KEYS = ("postgres_tls_server_names", "redis_tls", "redis_tls_server_names", "synapse_database_sslmode",
            "synapse_redis_use_tls")


def wire(groups, hostvars):
    names = sorted(set(h for hosts in groups.values() for h in hosts))
    result = site_wiring(dict(groups, all=names), dict((h, dict(hostvars.get(h, {}))) for h in names))
    assert not any(result["errors"].values()), result["errors"]
    tls = dict((h, dict((k, v) for k, v in inputs.items() if k in TLS_KEYS)) for h, inputs in result["inputs"].items())
    return tls, result["inputs"], result["secrets"]


def test_single_host_gets_no_tls():
    groups = {g: ["one"] for g in ("postgres", "synapse", "redis", "reverse_proxy")}
    tls, _inputs, secrets = wire(groups, {"one": {"synapse_workers": [{"type": "background_worker"}]}})
    assert tls == {"one": {}}
    assert (secrets["one"]["postgres_ca_file"], secrets["one"]["redis_ca_file"]) == ("", "")


def test_split_database_link_is_verified_tls():
    tls, inputs, secrets = wire({"postgres": ["db"], "synapse": ["syn"]},
                                {"db": {"homeserver_private_address": DB}, "syn": {"homeserver_private_address": SYN}})
    assert tls["db"] == {"postgres_tls_server_names": [DB]}
    assert tls["syn"] == {"synapse_database_sslmode": "verify-full"}
    assert inputs["syn"]["synapse_database_host"] == DB, "the name in the certificate is the one Synapse connects to"
    assert secrets["syn"]["postgres_host"] == "db"
    assert secrets["syn"]["postgres_ca_file"] == "/etc/postgresql/homeserver-tls/ca.crt"


def test_the_certificate_carries_the_name_the_inventory_gives_synapse():
    tls, _inputs, secrets = wire({"postgres": ["db"], "synapse": ["syn"]},
                                 {"db": {"homeserver_private_address": DB, "postgres_tls_ca_certificate": "/etc/my/ca.pem"},
                                  "syn": {"homeserver_private_address": SYN, "synapse_database_host": "db"}})
    assert tls["db"]["postgres_tls_server_names"] == [DB, "db"]
    assert secrets["syn"]["postgres_ca_file"] == "/etc/my/ca.pem", "the admin's CA file is read"


def test_inventory_values_win_over_the_tls_wiring():
    hostvars = {"db": {"homeserver_private_address": DB, "postgres_tls_server_names": ["db.internal"]},
                "syn": {"homeserver_private_address": SYN, "synapse_database_sslmode": "require",
                        "synapse_redis_ca_certificate": "-----BEGIN CERTIFICATE-----"},
                "cache": {"homeserver_private_address": CACHE, "redis_tls": False}}
    tls, _inputs, secrets = wire({"postgres": ["db"], "synapse": ["syn"], "redis": ["cache"]}, hostvars)
    assert "postgres_tls_server_names" not in tls["db"]
    assert "synapse_database_sslmode" not in tls["syn"]
    assert "redis_tls" not in tls["cache"]
    assert secrets["syn"]["postgres_ca_file"] == "", "require does not verify: no CA to read"
    assert secrets["syn"]["redis_ca_file"] == "", "the inventory gives Synapse its Redis CA"


def test_remote_redis_serves_tls_only_and_synapse_uses_it():
    tls, _inputs, secrets = wire(
        {"postgres": ["syn"], "synapse": ["syn"], "redis": ["cache"]},
        {"syn": {"homeserver_private_address": SYN}, "cache": {"homeserver_private_address": CACHE}})
    assert tls["cache"] == {"redis_tls": True, "redis_tls_server_names": ["127.0.0.1", CACHE]}
    assert tls["syn"] == {"synapse_redis_use_tls": True}, "the database is local: no sslmode"
    assert secrets["syn"]["redis_ca_file"] == "/etc/redis/tls/ca.crt"
    tls, _inputs, secrets = wire(
        {"postgres": ["syn"], "synapse": ["syn"], "redis": ["cache"]},
        {"syn": {"homeserver_private_address": SYN},
         "cache": {"homeserver_private_address": CACHE, "redis_server": "valkey"}})
    assert secrets["syn"]["redis_ca_file"] == "/etc/valkey/tls/ca.crt"


def test_ipv6_peer_is_allowed_over_tls():
    v6_db, v6_syn = "fd00::21", "fd00::11"
    tls, inputs, _secrets = wire({"postgres": ["db"], "synapse": ["syn"]},
                                 {"db": {"homeserver_private_address": v6_db},
                                  "syn": {"homeserver_private_address": v6_syn}})
    assert inputs["db"]["postgres_synapse_allowed_hosts"] == [v6_syn]
    assert tls["db"]["postgres_tls_server_names"] == [v6_db]


def render_hba(tmp_path, allowed, stale=()):
    out = tmp_path / "pg_hba.conf"
    out.write_text("".join("host\tsynapse\tsynapse\t%s\tscram-sha-256\n" % s for s in stale))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "tests", "unit", "files", "postgres_hba_render.yml"),
         "-e", json.dumps({"postgres_hba_output": str(out), "postgres_synapse_allowed_hosts": allowed})],
        env=environment(tmp_path / "transcripts.json"), capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.split() for line in out.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_pg_hba_has_hostssl_for_remote_hosts_and_host_for_loopback(tmp_path):
    lines = render_hba(tmp_path, ["10.0.0.11", "fd00::11", "10.1.0.0/24"], stale=["10.0.0.11/32"])
    assert sorted(lines) == sorted([
        ["host", "synapse", "synapse", "127.0.0.1/32", "scram-sha-256"],
        ["hostssl", "synapse", "synapse", "10.0.0.11/32", "scram-sha-256"],
        ["hostssl", "synapse", "synapse", "fd00::11/128", "scram-sha-256"],
        ["hostssl", "synapse", "synapse", "10.1.0.0/24", "scram-sha-256"],
    ]), "no plain host line for a remote host, the old one removed"


def test_pg_hba_loopback_only_without_remote_hosts(tmp_path):
    assert render_hba(tmp_path, []) == [["host", "synapse", "synapse", "127.0.0.1/32", "scram-sha-256"]]


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.ansible_case([
    Preflight("postgres", dict(GOOD_POSTGRES, postgres_synapse_allowed_hosts=["10.0.0.11"],
                               postgres_listen_addresses=["localhost", "10.0.0.21"])),
    Preflight("synapse", dict(GOOD_SYNAPSE, synapse_database_sslmode="verify-full",
                              synapse_database_ca_certificate=PEM)),
    Preflight("redis", {"redis_bind_addresses": ["127.0.0.1", "10.0.0.51"], "redis_tls": True}),
])
def test_good_tls_input_passes_preflight(ansible_result):
    for code, output in ansible_result:
        assert_checks_pass(code, output)


@pytest.mark.parametrize("role, variables, expected", [
    ("postgres", dict(GOOD_POSTGRES, postgres_tls_certificate="/etc/ssl/pg.crt"),
     "Set postgres_tls_certificate, postgres_tls_private_key and postgres_tls_ca_certificate together"),
    ("postgres", dict(GOOD_POSTGRES, postgres_tls_certificate="pg.crt", postgres_tls_private_key="pg.key",
                      postgres_tls_ca_certificate="ca.crt"), "as absolute paths"),
    ("postgres", dict(GOOD_POSTGRES, postgres_synapse_allowed_hosts=["10.0.0.11"], postgres_listen_addresses=["*"]),
     "set postgres_tls_server_names to the address(es) Synapse connects to"),
    ("postgres", dict(GOOD_POSTGRES, postgres_tls_server_names=["bad name"]),
     "postgres_tls_server_names: 'bad name' is neither an IP address nor a DNS name."),
    ("postgres", dict(GOOD_POSTGRES, postgres_tls_certificate_days=10), "must be longer than postgres_tls_renew_days"),
    ("synapse", dict(GOOD_SYNAPSE, synapse_database_sslmode="verify-full"),
     "synapse_database_sslmode is verify-full, which verifies PostgreSQL's certificate: set synapse_database_ca_certificate"),
    ("synapse", dict(GOOD_SYNAPSE, synapse_database_sslmode="verify-ca", synapse_database_ca_certificate="/etc/ca.crt"),
     "synapse_database_ca_certificate must be a PEM certificate"),
    ("synapse", dict(GOOD_SYNAPSE, synapse_redis_ca_certificate="/etc/ca.crt"),
     "synapse_redis_ca_certificate must be a PEM certificate"),
    ("synapse", dict(GOOD_SYNAPSE, synapse_database_sslmode="verify"), "synapse_database_sslmode"),
    ("redis", {"redis_bind_addresses": ["127.0.0.1", "10.0.0.51"]},
     "redis_bind_addresses includes 10.0.0.51, where other hosts would talk to Redis in clear text: set redis_tls: true"),
    ("redis", {"redis_tls": True, "redis_tls_private_key": "/etc/redis/k.pem"},
     "Set redis_tls_certificate, redis_tls_private_key and redis_tls_ca_certificate together"),
    ("redis", {"redis_tls": True, "redis_bind_addresses": ["0.0.0.0"], "redis_tls_allow_plain": True},
     "set redis_tls_server_names to the address(es) Synapse connects to"),
])
@pytest.mark.ansible_case.with_args(Preflight)  # Preflight(role, variables)
def test_bad_tls_input_fails_clearly(ansible_result, role, variables, expected):
    assert_fails_with(*ansible_result, expected)
