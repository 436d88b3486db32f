"""The smaller hardening of issue #16, as the roles render it.

- Synapse's units (main process and workers) carry the sandbox of Synapse's own hardened example
  (contrib/systemd/override-hardened.conf): a system call allow list less the privileged, resource and obsolete
  groups, ProtectProc=invisible, ProcSubset=pid (all when the metrics listener needs /proc/stat), RemoveIPC.
- coturn answers STUN without the RFC 5780 and RFC 3489 attributes that make it an amplifier.
- The reverse proxy's private CA is name-constrained to the names its server certificate carries.

Rendered with tests/unit/files/role_render.yml (the roles' own defaults and constants: Render cases, run in
batches), as in test_restart_and_alerts.py; the molecule scenarios check the same on running systems (default,
workers, edge).
"""

import base64

import pytest

from playbook_cases import Preflight, Render
from test_preflight import assert_fails_with
from test_restart_and_alerts import unit_settings

UNITS = ["matrix-synapse.service.j2", "matrix-synapse-worker@.service.j2"]


def services(rendered):
    """The [Service] sections of Synapse's rendered units (a Render of UNITS)."""
    files, _unused = rendered
    return [unit_settings(files[name])["Service"] for name in UNITS]


@pytest.mark.ansible_case(Render("synapse", UNITS))
def test_synapse_units_have_the_hardened_sandbox(ansible_result):
    for service in services(ansible_result):
        assert service["SystemCallArchitectures"] == ["native"]
        # An allow list, then the groups taken out of it (systemd applies them in order).
        assert service["SystemCallFilter"] == ["@system-service", "~@privileged @resources @obsolete"]
        assert service["SystemCallErrorNumber"] == ["EPERM"]
        assert service["ProtectProc"] == ["invisible"]
        assert service["ProcSubset"] == ["pid"]
        assert service["RemoveIPC"] == ["yes"]
        for key in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome", "ProtectKernelTunables",
                    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
                    "ProtectHostname", "RestrictSUIDSGID", "RestrictRealtime", "RestrictNamespaces",
                    "LockPersonality"):
            assert service[key] == ["yes"], key
        assert service["ProtectSystem"] == ["strict"]
        assert service["CapabilityBoundingSet"] == [""]
        # jemalloc still preloaded inside the sandbox
        assert service["Environment"] == ["LD_PRELOAD=libjemalloc.so.2"]


@pytest.mark.ansible_case(Render("synapse", UNITS, {"synapse_metrics_enabled": True}))
def test_synapse_units_keep_proc_stat_for_the_metrics(ansible_result):
    for service in services(ansible_result):
        assert service["ProcSubset"] == ["all"]
        assert service["ProtectProc"] == ["invisible"]


@pytest.mark.ansible_case(Render("synapse", UNITS, {"synapse_systemd_hardening": False}))
def test_synapse_units_without_hardening(ansible_result):
    for service in services(ansible_result):
        assert not {"SystemCallFilter", "ProtectProc", "ProcSubset", "RemoveIPC"} & set(service)


@pytest.mark.ansible_case(Render("coturn", ["turnserver.conf.j2"], {
    "coturn_realm": "example.com", "__coturn_tls": False,
    "__coturn_secret": {"content": base64.b64encode(b"secret").decode()}}))
def test_coturn_answers_stun_without_amplification(ansible_result):
    files, _unused = ansible_result
    lines = [line.strip() for line in files["turnserver.conf.j2"].splitlines()]
    for option in ("no-rfc5780", "no-stun-backward-compatibility", "response-origin-only-with-rfc5780"):
        assert lines.count(option) == 1, option


@pytest.mark.parametrize("variables, permitted", [
    ({}, ["DNS:matrix.example.com", "DNS:example.com"]),
    ({"reverse_proxy_server_name": "matrix.example.com"}, ["DNS:matrix.example.com"]),
    ({"reverse_proxy_selfsigned_extra_names": ["IP:127.0.0.1", "IP:2001:db8::1", "DNS:localhost", "IP:10.0.0.0/8"]},
     ["DNS:matrix.example.com", "DNS:example.com", "IP:127.0.0.1/32", "IP:2001:db8::1/128", "DNS:localhost",
      "IP:10.0.0.0/8"]),
])
@pytest.mark.ansible_case(lambda variables: Render(
    "reverse_proxy", [], dict({"reverse_proxy_public_hostname": "matrix.example.com",
                               "reverse_proxy_server_name": "example.com"}, **variables),
    ["__reverse_proxy_selfsigned_ca_permitted", "__reverse_proxy_selfsigned_names", "reverse_proxy_selfsigned_ca_days",
     "reverse_proxy_selfsigned_cert_days", "reverse_proxy_selfsigned_renew_days"]))
def test_private_ca_is_constrained_to_the_served_names(ansible_result, variables, permitted):
    _unused, values = ansible_result
    assert values["__reverse_proxy_selfsigned_ca_permitted"] == permitted
    # every name the server certificate carries is inside the constraints, one for one
    assert len(values["__reverse_proxy_selfsigned_names"]) == len(permitted)
    # a CA of two years at most by default; the server certificate renewed well before the CA is replaced
    assert values["reverse_proxy_selfsigned_ca_days"] <= 730
    assert (values["reverse_proxy_selfsigned_ca_days"]
            > values["reverse_proxy_selfsigned_cert_days"] + values["reverse_proxy_selfsigned_renew_days"])


@pytest.mark.parametrize("variables", [
    {"reverse_proxy_selfsigned_ca_days": 200},
    {"reverse_proxy_selfsigned_cert_days": 20},
    {"reverse_proxy_selfsigned_renew_days": 0},
])
@pytest.mark.ansible_case(lambda variables: Preflight("reverse_proxy", dict(
    {"reverse_proxy_public_hostname": "matrix.example.com", "reverse_proxy_server_name": "example.com",
     "reverse_proxy_certificate_source": "selfsigned"}, **variables)))
def test_preflight_refuses_a_ca_that_would_be_replaced_every_run(ansible_result, variables):
    assert_fails_with(*ansible_result, "reverse_proxy_selfsigned_ca_days (")
