"""Bad input to the protection roles (coturn, fail2ban, firewall, Synapse's TURN settings) stops the play in
preflight with a message naming the variable, like test_preflight.py does for the core roles."""

import pytest

from playbook_cases import Preflight
from test_preflight import GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

GOOD_COTURN = {"coturn_realm": "example.com"}
GOOD_FAIL2BAN = {}
GOOD_FIREWALL = {}
TURN_SYNAPSE = dict(
    GOOD_SYNAPSE,
    synapse_turn_uris=["turn:turn.example.com:3478?transport=udp"],
    synapse_turn_shared_secret="0123456789abcdef0123",
)


@pytest.mark.parametrize("role, variables", [
    ("coturn", GOOD_COTURN),
    ("coturn", dict(GOOD_COTURN, coturn_static_auth_secret="a" * 32, coturn_external_ip="203.0.113.7/10.0.0.5")),
    ("fail2ban", GOOD_FAIL2BAN),
    ("fail2ban", {"fail2ban_bantime": "600", "fail2ban_findtime": "1h30m", "fail2ban_ignoreip": ["10.0.0.0/8"]}),
    ("fail2ban", {"fail2ban_bantime": "-1"}),
    ("firewall", GOOD_FIREWALL),
    ("synapse", TURN_SYNAPSE),
])
@pytest.mark.ansible_case.with_args(Preflight)  # Preflight(role, variables)
def test_good_input_passes(ansible_result, role, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    ({"coturn_realm": ""}, "Set coturn_realm"),
    ({"coturn_realm": "https://turn.example.com"}, "must be bare"),
    ({"coturn_static_auth_secret": "short"}, "coturn_static_auth_secret must be at least 16"),
    ({"coturn_static_auth_secret": "has spaces in the middle of it"}, "coturn_static_auth_secret must be at least 16"),
    ({"coturn_min_port": 60000, "coturn_max_port": 50000},
     "coturn_min_port < coturn_max_port <= 65535 (now 60000-50000)"),
    ({"coturn_listening_port": 5349}, "two different ports"),
    ({"coturn_external_ip": "my public ip"}, "coturn_external_ip 'my public ip' must be the public address"),
    ({"coturn_denied_peer_ips": ["10.0.0.0/8"]}, "not CIDR"),
    ({"coturn_tls_mode": "yes"}, "value of coturn_tls_mode must be one of"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("coturn", dict(GOOD_COTURN, **variables)))
def test_bad_coturn_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"fail2ban_bantime": "ten minutes"}, "fail2ban_bantime ('ten minutes')"),
    ({"fail2ban_bantime": "10 min"}, "must be\nfail2ban durations"),
    ({"fail2ban_findtime": "soon"}, "fail2ban_findtime ('soon')"),
    ({"fail2ban_synapse_maxretry": 0}, "fail2ban_synapse_maxretry must be positive"),
    ({"fail2ban_ignoreip": ["my office"]}, "fail2ban_ignoreip takes IP addresses"),
    ({"fail2ban_synapse_ports": ["http https"]}, "fail2ban_synapse_ports takes port numbers"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("fail2ban", dict(GOOD_FAIL2BAN, **variables)))
def test_bad_fail2ban_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"firewall_turn_relay_min_port": 60000, "firewall_turn_relay_max_port": 50000},
     "firewall_turn_relay_min_port <= firewall_turn_relay_max_port"),
    ({"firewall_ssh_port": 2222, "ansible_connection": "ssh", "ansible_port": 22}, "lock you out"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("firewall", dict(GOOD_FIREWALL, **variables)))
def test_bad_firewall_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"synapse_turn_shared_secret": ""}, "synapse_turn_shared_secret must hold coturn's static-auth-secret"),
    ({"synapse_turn_uris": ["https://turn.example.com"]}, "each URI must look like"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", dict(TURN_SYNAPSE, **variables)))
def test_bad_synapse_turn_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)
