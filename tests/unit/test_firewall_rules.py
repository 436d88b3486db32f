"""The firewall role's rules file: per-peer rules open a port to the listed sources only.

Renders roles/firewall/templates/homeserver-firewall.nft.j2 with ansible-playbook (a Render case of
playbook_cases.py: the role's defaults and vars, the case's variables over them), then checks the text and,
where nft is installed, parses it with `nft -c` (the check the role's validate: runs).
"""

import os
import re
import shutil
import subprocess

import pytest

from playbook_cases import Preflight, Render
from test_preflight import assert_checks_pass, assert_fails_with

TEMPLATE = "homeserver-firewall.nft.j2"
PEER_RULES = [
    {"name": "postgres", "ports": [5432], "sources": ["10.0.0.11", "10.0.0.12"]},
    {"name": "metrics", "ports": [9187, 9100, 9100], "sources": ["10.0.0.41", "fd00::41"]},
    {"name": "synapse", "ports": [8008], "sources": []},
]


def rules_file(variables):
    """The case of the rules file rendered with variables."""
    return Render("firewall", [TEMPLATE], variables)


def rule_lines(text):
    return [" ".join(line.split()) for line in text.splitlines() if "saddr" in line]


@pytest.mark.ansible_case(rules_file({"firewall_peer_rules": PEER_RULES}))
def test_peer_rules_open_ports_to_their_sources_only(ansible_result):
    text = ansible_result[0][TEMPLATE]
    assert rule_lines(text) == [
        'ip saddr { 10.0.0.11, 10.0.0.12 } tcp dport { 5432 } accept comment "postgres"',
        'ip saddr { 10.0.0.41 } tcp dport { 9100, 9187 } accept comment "metrics"',
        'ip6 saddr { fd00::41 } tcp dport { 9100, 9187 } accept comment "metrics"',
    ]
    # A peer port never lands in the ports open to everyone.
    everyone = re.search(r"^\s*tcp dport \{ ([0-9, ]+) \} accept$", text, re.M).group(1)
    assert sorted(int(p) for p in everyone.split(", ")) == [22, 80, 443]
    # The rules stay inside the drop-by-default input chain.
    assert text.index("policy drop") < text.index('comment "postgres"')


@pytest.mark.ansible_case(rules_file({}))
def test_no_peer_rules_renders_no_source_rule(ansible_result):
    assert rule_lines(ansible_result[0][TEMPLATE]) == []


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
@pytest.mark.ansible_case(rules_file({"firewall_peer_rules": PEER_RULES + [
    {"name": "redis", "ports": [6379], "sources": ["10.0.0.0/24", "10.0.0.11"]}]}))
def test_nft_accepts_the_rules(ansible_result, tmp_path):
    out = tmp_path / "homeserver-firewall.nft"
    out.write_text(ansible_result[0][TEMPLATE])
    probe = subprocess.run(["nft", "-c", "-f", os.devnull], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"nft -c cannot run here: {probe.stderr.strip()}")
    check = subprocess.run(["nft", "-c", "-f", str(out)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr + out.read_text()


@pytest.mark.ansible_case(Preflight("firewall", {"firewall_peer_rules": PEER_RULES}))
def test_good_peer_rules_pass_preflight(ansible_result):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("rule, expected", [
    ({"name": "postgres", "ports": [5432], "sources": ["db1.example.com"]}, "IP addresses or CIDR networks"),
    ({"name": "postgres", "ports": [70000], "sources": ["10.0.0.11"]}, "ports (a list of TCP ports)"),
    ({"name": "postgres", "ports": [], "sources": ["10.0.0.11"]}, "ports (a list of TCP ports)"),
    ({"name": "two words", "ports": [5432], "sources": []}, "each entry needs name"),
    ({"name": "postgres", "ports": [5432], "sources": "10.0.0.11"}, "sources (a list"),
])
@pytest.mark.ansible_case(lambda rule: Preflight("firewall", {"firewall_peer_rules": [rule]}))
def test_bad_peer_rules_fail_clearly(ansible_result, rule, expected):
    assert_fails_with(*ansible_result, expected)
