"""Every role refuses a system it was not made for, and loads the constants of the Debian release it runs on.

Same approach as test_preflight.py (Preflight cases, run in batches): ansible-playbook on the controller with
`--tags preflight --check`, the play pretending to be the system under test (`preflight_facts`), so nothing is
installed anywhere.
"""

import os

import pytest

from playbook_cases import Preflight
from test_preflight import GOOD_POSTGRES, GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(name for name in os.listdir(os.path.join(ROOT, "roles"))
               if os.path.isdir(os.path.join(ROOT, "roles", name)))

# Input each role's own preflight accepts, so a failure can only come from the release check.
GOOD = {
    "synapse": GOOD_SYNAPSE,
    "postgres": GOOD_POSTGRES,
    "reverse_proxy": {"reverse_proxy_public_hostname": "matrix.example.com",
                      "reverse_proxy_server_name": "example.com"},
    "certbot": {"certbot_domains": ["matrix.example.com"], "certbot_agree_tos": True},
    "coturn": {"coturn_realm": "turn.example.com", "coturn_static_auth_secret": "s" * 32},
}

DEBIAN_12 = {"distribution": "Debian", "distribution_major_version": "12", "distribution_version": "12.12"}
DEBIAN_13 = {"distribution": "Debian", "distribution_major_version": "13", "distribution_version": "13.2"}


def facts(distribution, major, version):
    return {"distribution": distribution, "distribution_major_version": major, "distribution_version": version}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("system", [facts("Debian", "11", "11.11"), facts("Ubuntu", "24", "24.04")],
                         ids=["debian11", "ubuntu24"])
@pytest.mark.ansible_case(lambda role, system: Preflight(role, dict(GOOD.get(role, {}), preflight_facts=system)))
def test_other_systems_are_refused(ansible_result, role, system):
    assert_fails_with(*ansible_result,
                      f"The {role} role supports Debian 12 (bookworm) and Debian 13 (trixie) only, and this host "
                      f"runs {system['distribution']} {system['distribution_version']}")


@pytest.mark.parametrize("system", [DEBIAN_12, DEBIAN_13], ids=["debian12", "debian13"])
@pytest.mark.ansible_case(lambda system: Preflight("postgres", dict(GOOD_POSTGRES, preflight_facts=system)))
def test_both_releases_pass(ansible_result, system):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("system, version, expected", [
    (DEBIAN_12, "17", "postgres_version is 17, but Debian 12 ships PostgreSQL 15 only"),
    (DEBIAN_13, "15", "postgres_version is 15, but Debian 13 ships PostgreSQL 17 only"),
])
@pytest.mark.ansible_case(lambda system, version: Preflight(
    "postgres", dict(GOOD_POSTGRES, preflight_facts=system, postgres_version=version)))
def test_postgres_version_the_release_does_not_ship_is_refused(ansible_result, system, version, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.ansible_case(Preflight("redis", {"redis_server": "valkey", "preflight_facts": DEBIAN_12}))
def test_valkey_is_refused_on_debian_12(ansible_result):
    assert_fails_with(*ansible_result, "redis_server is 'valkey', but Debian 12 ships redis only")


@pytest.mark.parametrize("server", ["redis", "valkey"])
@pytest.mark.ansible_case(lambda server: Preflight("redis", {"redis_server": server, "preflight_facts": DEBIAN_13}))
def test_debian_13_takes_redis_or_valkey(ansible_result, server):
    assert_checks_pass(*ansible_result)
