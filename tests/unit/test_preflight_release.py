"""Every role refuses a system it was not made for, and loads the constants of the Debian release it runs on.

Same approach as test_preflight.py: ansible-playbook on the controller with `--tags preflight --check`, the
play pretending to be the system under test (`preflight_facts`), so nothing is installed anywhere.
"""

import os

import pytest

from test_preflight import GOOD_POSTGRES, GOOD_SYNAPSE, assert_checks_pass, assert_fails_with, run_preflight

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
def test_other_systems_are_refused(role, system):
    assert_fails_with(*run_preflight(role, dict(GOOD.get(role, {}), preflight_facts=system)),
                      f"The {role} role supports Debian 12 (bookworm) and Debian 13 (trixie) only, and this host "
                      f"runs {system['distribution']} {system['distribution_version']}")


@pytest.mark.parametrize("system", [DEBIAN_12, DEBIAN_13], ids=["debian12", "debian13"])
def test_both_releases_pass(system):
    assert_checks_pass(*run_preflight("postgres", dict(GOOD_POSTGRES, preflight_facts=system)))


@pytest.mark.parametrize("system, version, expected", [
    (DEBIAN_12, "17", "postgres_version is 17, but Debian 12 ships PostgreSQL 15 only"),
    (DEBIAN_13, "15", "postgres_version is 15, but Debian 13 ships PostgreSQL 17 only"),
])
def test_postgres_version_the_release_does_not_ship_is_refused(system, version, expected):
    variables = dict(GOOD_POSTGRES, preflight_facts=system, postgres_version=version)
    assert_fails_with(*run_preflight("postgres", variables), expected)


def test_valkey_is_refused_on_debian_12():
    assert_fails_with(*run_preflight("redis", {"redis_server": "valkey", "preflight_facts": DEBIAN_12}),
                      "redis_server is 'valkey', but Debian 12 ships redis only")


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_debian_13_takes_redis_or_valkey(server):
    assert_checks_pass(*run_preflight("redis", {"redis_server": server, "preflight_facts": DEBIAN_13}))
