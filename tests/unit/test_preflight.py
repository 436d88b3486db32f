"""Bad input stops a play in preflight, with a message naming the variable to set.

Each case runs ansible-playbook on the controller with `--tags preflight --check` (tests/unit/files/preflight.yml),
so only the argument spec validation and the preflight asserts run: nothing can be installed even when a check
is missing. The cases of many tests run in one ansible-playbook, each on an inventory host of its own
(playbook_cases.py): a test declares its case with the ansible_case marker and reads its own host's output.
"""

import re

import pytest

from playbook_cases import Preflight

GOOD_SYNAPSE = {
    "synapse_server_name": "example.com",
    "synapse_database_password": "secret",
}
GOOD_POSTGRES = {"postgres_synapse_password": "secret"}
AGE_RECIPIENT = "age1ctfg4jcek0ldas38unj2tm8mgc09zh8u2hz3h59dd2q0a5dsyeysfswld0"
GOOD_BACKUP = {"backup_age_recipients": [AGE_RECIPIENT]}
# How ansible-core reports a failed task (or loop item): its message, then where the task is. (The JSON result
# line that follows is censored for no_log tasks; the message is not.)
TASK_FAILED = re.compile(r"^\[ERROR\]: Task failed: (?:\w+ failed: )?(.*?)\nOrigin: ", re.MULTILINE | re.DOTALL)


def failure_message(output):
    """The message of the failed task(s), whitespace collapsed: what the user reads.

    Match expected text here, never in the whole output: it also shows the task's name, its source lines, the
    assertion's condition and (for an argument spec) every option's description, so text found there proves
    nothing about the message.
    """
    messages = TASK_FAILED.findall(output)
    assert messages, "no failed task in the output:\n" + output
    return " ".join(" ".join(messages).split())


def assert_fails_with(code, output, expected):
    """The play stopped, and the failed task's message says ``expected`` (compared with whitespace collapsed)."""
    assert code != 0, output
    assert " ".join(expected.split()) in failure_message(output), output


# Role tasks that run whatever the tags: the argument spec check and tasks/release.yml.
ALWAYS = re.compile(r"Validating arguments against arg spec|Gather the facts that name the system|"
                    r"Refuse a system the \w+ role was not made for|Load the constants of Debian")
ROLE_TASK = re.compile(r"^TASK \[homeserver\.synapse\.\w+ : (.*?)\] \**$", re.MULTILINE)


def assert_checks_pass(code, output):
    """The play passed, and its checks really ran (a tag mistake would skip them all and pass)."""
    assert code == 0, output
    assert "Validating arguments against arg spec" in output, output
    # The tasks tagged 'always' run even when no preflight task matched the tag: one more role task must have.
    assert [name for name in ROLE_TASK.findall(output) if not ALWAYS.match(name)], output


@pytest.mark.parametrize("role, variables", [
    ("synapse", GOOD_SYNAPSE),
    ("synapse", {"synapse_server_name": "example.com", "synapse_database_engine": "sqlite3"}),
    ("synapse", dict(GOOD_SYNAPSE, synapse_jemalloc=False, synapse_cache_autotuning=False)),
    ("synapse", dict(GOOD_SYNAPSE, synapse_memory_mb=2048, synapse_cache_max_memory="1G")),
    ("postgres", GOOD_POSTGRES),
    # The backup role reads no groups: its database is local by default (the wiring says otherwise).
    ("backup", GOOD_BACKUP),
    ("backup", dict(GOOD_BACKUP, backup_database_local=False, backup_database_host="10.0.0.21",
                    backup_database_password="secret", backup_rsync_target_host="backup1")),
    ("backup", {"backup_allow_unencrypted": True}),
    ("backup", {"backup_age_recipients": [AGE_RECIPIENT, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0 admin@laptop"]}),
])
@pytest.mark.ansible_case.with_args(Preflight)  # Preflight(role, variables)
def test_good_input_passes(ansible_result, role, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    ({"synapse_server_name": ""}, "Set synapse_server_name"),
    ({"synapse_server_name": "https://example.com"}, "no scheme"),
    ({"synapse_server_name": "example.com/matrix"}, "no path"),
    ({"synapse_server_name": "Example.COM"}, "no uppercase"),
    ({"synapse_database_password": ""}, "set synapse_database_password"),
    ({"synapse_database_engine": "mysql"}, "value of synapse_database_engine must be one of"),
    ({"synapse_listener_port": "http"}, "argument 'synapse_listener_port' is of type str"),
    ({"synapse_listener_port": 70000}, "synapse_listener_port must be a TCP port"),
    ({"synapse_enable_registration": True}, "set synapse_registration_requires_token"),
    ({"synapse_public_hostname": "https://matrix.example.com"},
     "synapse_public_hostname 'https://matrix.example.com' is not valid"),
    ({"synapse_jemalloc": False}, "synapse_cache_autotuning needs jemalloc"),
    ({"synapse_cache_max_memory": "512M", "synapse_cache_target_memory": "1G"},
     "synapse_cache_target_memory (1G) must be below synapse_cache_max_memory (512M)"),
    ({"synapse_cache_min_ttl": "soon"}, "synapse_cache_min_ttl 'soon' is not a duration"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", dict(GOOD_SYNAPSE, **variables)))
def test_bad_synapse_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"postgres_synapse_password": ""}, "Set postgres_synapse_password"),
    ({"postgres_synapse_allowed_hosts": ["not-an-address"]}, "postgres_synapse_allowed_hosts"),
    ({"postgres_synapse_allowed_hosts": ["10.0.0.5"]}, "postgres_listen_addresses only has loopback"),
    ({"postgres_port": "five"}, "argument 'postgres_port' is of type str"),
    ({"postgres_version": "13"}, "needs PostgreSQL 14"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("postgres", dict(GOOD_POSTGRES, **variables)))
def test_bad_postgres_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"backup_database_local": False},
     "backup_database_local is false (the wiring sets it false on a host outside group postgres) and "
     "backup_database_host is empty: set backup_database_host"),
    ({"backup_database_host": "10.0.0.21"}, "backup_database_password is empty"),
    ({"backup_rsync_target_host": "localhost"}, "backup_rsync_target_host names this host (localhost)"),
    ({"backup_keep": 0}, "Set backup_keep"),
    ({"backup_age_recipients": []}, "backup_age_recipients is empty, so the backups (config.tar.gz holds the signing "
     "key and every secret, the dump the whole database) would be unencrypted"),
    ({"backup_age_recipients": [], "backup_allow_unencrypted": False}, "Or set backup_allow_unencrypted: true to keep unencrypted backups"),
    ({"backup_age_recipients": [AGE_RECIPIENT, "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"]},
     "backup_age_recipients holds AGE-SECRE..., which is not an age public key"),
    ({"backup_age_recipients": [AGE_RECIPIENT[:-1]]}, "which is not an age public key"),
    ({"backup_age_recipients": ["age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uihyxv4m8nqq3svm3mv9wd2nbv"]},
     "which is not an age public key"),
    ({"backup_rsync_target_host": "backup1", "backup_offsite_keep": 0}, "Set backup_offsite_keep to 1 or more"),
])
@pytest.mark.ansible_case(lambda variables: Preflight(
    # Where the rsync target is localhost, so is the host the checks run on (they compare it to inventory_hostname).
    "backup", dict(GOOD_BACKUP, **variables), host="localhost" if "localhost" in variables.values() else None))
def test_bad_backup_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


AGE_SECRET_KEY = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"


@pytest.mark.ansible_case(Preflight("backup", {"backup_age_recipients": [AGE_SECRET_KEY]}))
def test_the_age_private_key_is_not_shown_when_refused(ansible_result):
    code, output = ansible_result
    assert code != 0
    assert "not an age public key" in failure_message(output)
    assert "SECRET-KEY-1Q" not in failure_message(output)
