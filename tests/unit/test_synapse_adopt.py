"""The config-to-inventory mapping of playbooks/adopt.yml: the homeserver.synapse.synapse_adopt_inventory filter.

The configurations are the ones the seeds' installs produce: `python -m synapse.app.homeserver
--generate-config` in a virtualenv edited as seed 003 says (PostgreSQL, public_baseurl, URL previews), and the
same command run in the Docker image's /data layout (SQLite). Settings the role does not model must come out
in synapse_extra_config, their secrets in the vault dict only.
"""

import copy
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.homeserver.synapse.plugins.filter.synapse_adopt import synapse_adopt_inventory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# --generate-config of Synapse 1.163 in /home/synapse, then the settings seed 003's homeserver.yaml gives.
PIP = {
    "server_name": "adopt.test",
    "pid_file": "/home/synapse/homeserver.pid",
    "public_baseurl": "https://matrix.adopt.test/",
    "listeners": [{"port": 8008, "tls": False, "type": "http", "x_forwarded": True,
                   "resources": [{"names": ["client", "federation"], "compress": False}]}],
    "database": {"name": "psycopg2", "args": {"user": "synapse", "password": "secretpassword",
                                              "database": "synapse", "host": "localhost", "cp_min": 5, "cp_max": 10}},
    "log_config": "/home/synapse/adopt.test.log.config",
    "media_store_path": "/home/synapse/media_store",
    "max_upload_size": "50M",
    "enable_registration": False,
    "enable_registration_without_verification": False,
    "url_preview_enabled": True,
    "url_preview_ip_range_blacklist": ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
    "registration_shared_secret": "reg-secret",
    "report_stats": False,
    "macaroon_secret_key": "macaroon-secret",
    "form_secret": "form-secret",
    "signing_key_path": "/home/synapse/adopt.test.signing.key",
    "trusted_key_servers": [{"server_name": "matrix.org"}],
}

# --generate-config with the Docker image's layout (/data), SQLite.
DOCKER = {
    "server_name": "docker.test",
    "pid_file": "/data/homeserver.pid",
    "listeners": [{"port": 8008, "tls": False, "type": "http", "x_forwarded": True, "bind_addresses": ["::"],
                   "resources": [{"names": ["client", "federation"], "compress": False}]}],
    "database": {"name": "sqlite3", "args": {"database": "/data/homeserver.db"}},
    "log_config": "/data/docker.test.log.config",
    "media_store_path": "/data/media_store",
    "registration_shared_secret": "r",
    "report_stats": False,
    "macaroon_secret_key": "m",
    "form_secret": "f",
    "signing_key_path": "/data/docker.test.signing.key",
    "trusted_key_servers": [{"server_name": "matrix.org"}],
}


def _dump(result):
    return yaml.safe_dump(result["vars"])


def test_pip_install_maps_to_role_variables():
    result = synapse_adopt_inventory(PIP, installed_version="1.163.2", role_version="1.163.2")
    out = result["vars"]
    assert out["synapse_server_name"] == "adopt.test"
    assert out["synapse_public_baseurl"] == "https://matrix.adopt.test/"
    assert out["synapse_database_engine"] == "psycopg2"
    assert out["synapse_database_name"] == "synapse"
    assert out["synapse_database_user"] == "synapse"
    assert out["synapse_database_host"] == "localhost"
    assert (out["synapse_database_cp_min"], out["synapse_database_cp_max"]) == (5, 10)
    assert out["synapse_url_preview_enabled"] is True
    assert out["synapse_url_preview_ip_range_blacklist"] == PIP["url_preview_ip_range_blacklist"]
    assert out["synapse_max_upload_size"] == "50M"
    assert out["synapse_listener_port"] == 8008
    # No bind_addresses: Synapse's default, every address; the collection's listener stays on loopback (the
    # wiring refuses every address without homeserver_allow_public_bind), and the notes say so.
    assert "synapse_listener_bind_addresses" not in out
    assert any("every address" in note and "homeserver_allow_public_bind" in note for note in result["notes"])
    assert "synapse_version" not in out
    assert "synapse_federation_enabled" not in out


def test_the_database_password_goes_to_the_vault_only():
    result = synapse_adopt_inventory(PIP)
    assert result["vault"] == {"vault_synapse_database_password": "secretpassword"}
    assert result["vars"]["synapse_database_password"] == "{{ vault_synapse_database_password }}"
    assert result["vars"]["postgres_synapse_password"] == "{{ vault_synapse_database_password }}"
    assert "secretpassword" not in _dump(result)


def test_identity_and_layout_settings_are_replaced_with_a_reason():
    result = synapse_adopt_inventory(PIP)
    for key in ("signing_key_path", "macaroon_secret_key", "form_secret", "registration_shared_secret",
                "media_store_path", "log_config", "pid_file", "listeners", "database"):
        assert key in result["replaced"], key
        assert result["replaced"][key]
    text = _dump(result)
    for secret in ("reg-secret", "macaroon-secret", "form-secret"):
        assert secret not in text
        assert secret not in yaml.safe_dump(result["vault"])


def test_unmodelled_settings_land_in_extra_config():
    # enable_registration_without_verification is the one setting of seed 003 the role does not model.
    result = synapse_adopt_inventory(PIP)
    assert result["unmodelled"] == ["enable_registration_without_verification"]
    assert result["vars"]["synapse_extra_config"] == {"enable_registration_without_verification": False}


def test_unmodelled_secrets_are_vaulted_and_referenced():
    config = copy.deepcopy(PIP)
    config.update({
        "email": {"smtp_host": "mail.adopt.test", "smtp_user": "synapse", "smtp_pass": "mail-pass",
                  "notif_from": "Matrix <noreply@adopt.test>"},
        "oidc_providers": [{"idp_id": "sso", "client_id": "synapse", "client_secret": "oidc-secret"}],
        "old_signing_keys": {"ed25519:old": {"key": "l/O9hxMVKB6Lg+3Hqf0FQQZhVESQcMzbPN1Cz2nM3og",
                                             "expired_ts": 1700000000000}},
        "presence": {"enabled": False},
        "app_service_config_files": ["/home/synapse/bridge.yaml"],
        "caches": {"global_factor": 2.0},
    })
    result = synapse_adopt_inventory(config)
    extra = result["vars"]["synapse_extra_config"]
    assert result["unmodelled"] == sorted(["app_service_config_files", "caches", "email",
                                           "enable_registration_without_verification", "old_signing_keys",
                                           "oidc_providers", "presence"])
    assert extra["email"]["smtp_pass"] == "{{ vault_synapse_email_smtp_pass }}"
    assert extra["email"]["smtp_host"] == "mail.adopt.test"
    assert extra["oidc_providers"][0]["client_secret"] == "{{ vault_synapse_oidc_providers_0_client_secret }}"
    assert extra["oidc_providers"][0]["client_id"] == "synapse"
    # The old keys are public: kept as they are, so remote servers can still check old events.
    assert extra["old_signing_keys"] == config["old_signing_keys"]
    assert extra["caches"] == {"global_factor": 2.0}
    assert result["vault"]["vault_synapse_email_smtp_pass"] == "mail-pass"
    assert result["vault"]["vault_synapse_oidc_providers_0_client_secret"] == "oidc-secret"
    text = _dump(result)
    assert "mail-pass" not in text and "oidc-secret" not in text


def test_extra_database_arguments_stay_in_extra_config():
    config = copy.deepcopy(PIP)
    config["database"]["args"].update({"keepalives_idle": 10, "port": 5433, "sslmode": "require"})
    config["database"]["txn_limit"] = 500
    result = synapse_adopt_inventory(config)
    assert result["vars"]["synapse_database_port"] == 5433
    assert result["vars"]["synapse_database_sslmode"] == "require"
    assert result["vars"]["synapse_extra_config"]["database"] == {"args": {"keepalives_idle": 10}, "txn_limit": 500}


def test_docker_data_directory_on_sqlite():
    result = synapse_adopt_inventory(DOCKER, database={"engine": "sqlite3", "path": "/srv/synapse/homeserver.db"})
    out = result["vars"]
    assert out["synapse_database_engine"] == "sqlite3"
    assert "synapse_database_password" not in out
    assert "synapse_listener_bind_addresses" not in out
    assert result["vault"] == {}
    assert "synapse_extra_config" not in out
    assert any("migrate_sqlite_to_postgres.yml" in note for note in result["notes"])


def test_closed_federation_and_metrics():
    config = copy.deepcopy(DOCKER)
    config["federation_domain_whitelist"] = []
    config["enable_metrics"] = True
    config["listeners"].append({"port": 9000, "type": "metrics", "bind_addresses": ["127.0.0.1"]})
    out = synapse_adopt_inventory(config)["vars"]
    assert out["synapse_federation_enabled"] is False
    assert (out["synapse_metrics_enabled"], out["synapse_metrics_port"], out["synapse_metrics_bind_address"]) == (
        True, 9000, "127.0.0.1")


def test_listener_without_federation_closes_federation():
    config = copy.deepcopy(DOCKER)
    config["listeners"][0]["resources"] = [{"names": ["client"]}]
    result = synapse_adopt_inventory(config)
    assert result["vars"]["synapse_federation_enabled"] is False
    assert result["notes"]


def test_loopback_and_private_listeners_are_kept():
    config = copy.deepcopy(DOCKER)
    config["listeners"][0]["bind_addresses"] = ["127.0.0.1", "10.1.2.3"]
    assert synapse_adopt_inventory(config)["vars"]["synapse_listener_bind_addresses"] == ["127.0.0.1", "10.1.2.3"]


def test_key_servers_default_kept_when_unset():
    config = copy.deepcopy(DOCKER)
    del config["trusted_key_servers"]
    assert synapse_adopt_inventory(config)["vars"]["synapse_trusted_key_servers"] == [{"server_name": "matrix.org"}]


def test_newer_installed_release_is_kept():
    out = synapse_adopt_inventory(PIP, installed_version="1.170.0", role_version="1.163.2")["vars"]
    assert out["synapse_version"] == "1.170.0"
    assert "synapse_version" not in synapse_adopt_inventory(PIP, installed_version="1.150.0",
                                                            role_version="1.163.2")["vars"]


def test_federation_ca_files_become_pem_text():
    config = copy.deepcopy(DOCKER)
    config["federation_custom_ca_list"] = ["/data/ca.pem"]
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    out = synapse_adopt_inventory(config, ca_files={"/data/ca.pem": pem})["vars"]
    assert out["synapse_federation_custom_ca_list"] == [pem]
    with pytest.raises(AnsibleFilterError, match="not read"):
        synapse_adopt_inventory(config)


@pytest.mark.parametrize("config, message", [
    ({"report_stats": False}, "no server_name"),
    ({"server_name": "x.test", "listeners": [{"port": 9000, "type": "metrics"}]}, "no HTTP listener"),
    ({"server_name": "x.test", "listeners": PIP["listeners"], "database": {"name": "mysql"}}, "unknown database"),
])
def test_refusals(config, message):
    with pytest.raises(AnsibleFilterError, match=message):
        synapse_adopt_inventory(config)


def test_every_variable_is_a_role_variable():
    defaults = {}
    for role in ("synapse", "postgres"):
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
            defaults.update(yaml.safe_load(handle))
    config = copy.deepcopy(PIP)
    config.update({"federation_domain_whitelist": ["a.test"], "enable_metrics": True, "turn_uris": ["turn:t"],
                   "turn_shared_secret": "s", "admin_contact": "mailto:a@a.test", "rc_login": {}})
    config["listeners"] = config["listeners"] + [{"port": 9000, "type": "metrics"}]
    out = synapse_adopt_inventory(config, installed_version="9.0.0", role_version="1.0.0")["vars"]
    assert sorted(set(out) - set(defaults)) == []
