"""The firewall role's rules file: per-peer rules open a port to the listed sources only.

Renders roles/firewall/templates/homeserver-firewall.nft.j2 with ansible-playbook (the role's defaults and
vars; extra variables given with -e, which beat vars_files), then checks the text and, where nft is
installed, parses it with `nft -c` (the check the role's validate: runs).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from playbook_cases import Preflight
from test_preflight import assert_checks_pass, assert_fails_with

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "unit", "files", "firewall_render.yml")
BIN = os.path.dirname(sys.executable)

PEER_RULES = [
    {"name": "postgres", "ports": [5432], "sources": ["10.0.0.11", "10.0.0.12"]},
    {"name": "metrics", "ports": [9187, 9100, 9100], "sources": ["10.0.0.41", "fd00::41"]},
    {"name": "synapse", "ports": [8008], "sources": []},
]


def render(tmp_path, variables):
    out = tmp_path / "homeserver-firewall.nft"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "-e", json.dumps(dict(variables, firewall_output=str(out)))],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def rule_lines(text):
    return [" ".join(line.split()) for line in text.splitlines() if "saddr" in line]


def test_peer_rules_open_ports_to_their_sources_only(tmp_path):
    text = render(tmp_path, {"firewall_peer_rules": PEER_RULES}).read_text()
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


def test_no_peer_rules_renders_no_source_rule(tmp_path):
    assert rule_lines(render(tmp_path, {}).read_text()) == []


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
def test_nft_accepts_the_rules(tmp_path):
    out = render(tmp_path, {"firewall_peer_rules": PEER_RULES + [
        {"name": "redis", "ports": [6379], "sources": ["10.0.0.0/24", "10.0.0.11"]}]})
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
