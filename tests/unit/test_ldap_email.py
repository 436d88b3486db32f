"""LDAP login and email of the synapse role: the preflight refusals (issue #17's bad input, each naming the variable
and the fix) and the sections rendered into homeserver.yaml, the virtualenv's packages and the relay's postfix
configuration. Synapse's own config check of the rendered sections runs in molecule/company."""

import pytest

from playbook_cases import Preflight, Render
from test_preflight import GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

CA = "-----BEGIN CERTIFICATE-----\nMIIBgjCCASmgAwIBAgIUEysfRmNQpiF89nohHdGYP8tsuDUw\n-----END CERTIFICATE-----\n"
GOOD_LDAP = {
    "synapse_ldap_enabled": True,
    "synapse_ldap_uris": ["ldap://ldap1.example.com", "ldap://ldap2.example.com:389"],
    "synapse_ldap_base": "ou=people,dc=example,dc=com",
}
GOOD_EMAIL = {
    "synapse_email_enabled": True,
    "synapse_email_smtp_host": "smtp.example.com",
    "synapse_email_notif_from": "Chat <noreply@example.com>",
}
GOOD_RELAY = dict(GOOD_EMAIL, synapse_email_smtp_host="", synapse_email_relay_enabled=True,
                  synapse_email_relay_host="[smtp.example.com]:587")
RENDERED = ["__synapse_ldap_config", "__synapse_email_config", "__synapse_pip_packages", "__synapse_absent_paths"]


@pytest.mark.parametrize("variables", [
    GOOD_LDAP,
    dict(GOOD_LDAP, synapse_ldap_uris=["ldaps://ldap.example.com:636"], synapse_ldap_start_tls=False,
         synapse_ldap_bind_dn="cn=synapse,ou=services,dc=example,dc=com", synapse_ldap_bind_password="secret",
         synapse_ldap_filter="(objectClass=inetOrgPerson)", synapse_ldap_ca_certificate=CA,
         synapse_ldap_localdb_enabled=False),
    GOOD_EMAIL,
    dict(GOOD_EMAIL, synapse_email_smtp_port=465, synapse_email_tls="implicit", synapse_email_smtp_user="synapse",
         synapse_email_smtp_password="secret", synapse_email_notif_from="%(app)s <noreply@example.com>",
         synapse_email_notifications_enabled=True, synapse_public_baseurl="https://matrix.example.com/"),
    dict(GOOD_EMAIL, synapse_email_smtp_host="localhost", synapse_email_smtp_port=25, synapse_email_tls="none"),
    GOOD_RELAY,
    dict(GOOD_RELAY, synapse_email_relay_user="relay", synapse_email_relay_password="secret"),
    dict(GOOD_LDAP, **GOOD_EMAIL),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", dict(GOOD_SYNAPSE, **variables)))
def test_good_ldap_and_email_input_passes(ansible_result, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    ({"synapse_ldap_uris": []}, "synapse_ldap_uris must list one or more directory URIs"),
    ({"synapse_ldap_uris": ["ldap.example.com"]}, "synapse_ldap_uris must list one or more directory URIs such as "
     "'ldap://ldap.example.com' or 'ldaps://ldap.example.com:636'"),
    ({"synapse_ldap_uris": ["https://ldap.example.com"]}, 'not ["https://ldap.example.com"]'),
    ({"synapse_ldap_uris": ["ldap://ldap.example.com", "ldaps://ldap2.example.com"]},
     "synapse_ldap_start_tls is true but synapse_ldap_uris has ldaps:// URIs (ldaps://ldap2.example.com), which are "
     "TLS from the first byte: set synapse_ldap_start_tls: false for ldaps://"),
    ({"synapse_ldap_bind_dn": "cn=synapse,dc=example,dc=com"},
     "synapse_ldap_bind_dn is set ('cn=synapse,dc=example,dc=com') but synapse_ldap_bind_password is empty"),
    ({"synapse_ldap_base": ""}, "Set synapse_ldap_base to the DN the accounts are under"),
    ({"synapse_ldap_attributes": {"uid": "uid", "name": "cn"}}, "exactly these three keys"),
    ({"synapse_ldap_filter": "objectClass=person"}, "synapse_ldap_filter must be an LDAP filter in parentheses"),
    ({"synapse_ldap_ca_certificate": "/etc/ssl/ldap-ca.pem"},
     "synapse_ldap_ca_certificate must be the PEM text of the CA certificate"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", {**GOOD_SYNAPSE, **GOOD_LDAP, **variables}))
def test_bad_ldap_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"synapse_email_smtp_port": 465}, "synapse_email_smtp_port is 465 with synapse_email_tls 'starttls': port 465 "
     "is SMTP over implicit TLS (set synapse_email_tls: implicit)"),
    ({"synapse_email_smtp_port": 465, "synapse_email_tls": "opportunistic"}, "set synapse_email_tls: implicit"),
    ({"synapse_email_notif_from": "noreply"}, "(now 'noreply', which is not an address)"),
    ({"synapse_email_notif_from": "Chat <noreply@example.com"}, "which is not an address"),
    ({"synapse_email_notif_from": ""}, "set synapse_email_smtp_host (or synapse_email_relay_enabled"),
    ({"synapse_email_smtp_host": ""}, "synapse_email_enabled is true: set synapse_email_smtp_host"),
    ({"synapse_email_notifications_enabled": True},
     "synapse_email_notifications_enabled is true but synapse_public_baseurl is empty"),
    ({"synapse_email_tls": "none"}, "synapse_email_tls is 'none' but synapse_email_smtp_host is smtp.example.com"),
    ({"synapse_email_smtp_user": "synapse"}, "set synapse_email_smtp_password with synapse_email_smtp_user"),
    ({"synapse_email_tls": "plain"}, "value of synapse_email_tls must be one of"),
    ({"synapse_email_relay_enabled": True}, "set synapse_email_relay_host to the smarthost as [host]:port"),
    ({"synapse_email_relay_enabled": True, "synapse_email_relay_host": "smtp://smtp.example.com"},
     "(now 'smtp://smtp.example.com')"),
    ({"synapse_email_enabled": False, "synapse_email_relay_enabled": True,
      "synapse_email_relay_host": "[smtp.example.com]:587"},
     "synapse_email_relay_enabled is true but synapse_email_enabled is false"),
    ({"synapse_email_relay_enabled": True, "synapse_email_relay_host": "[smtp.example.com]:587",
      "synapse_email_relay_user": "relay"}, "synapse_email_relay_password with synapse_email_relay_user"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", {**GOOD_SYNAPSE, **GOOD_EMAIL, **variables}))
def test_bad_email_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.ansible_case(Preflight("synapse", {**GOOD_SYNAPSE, **GOOD_LDAP,
                                                "synapse_ldap_bind_dn": "cn=synapse,dc=example,dc=com",
                                                "synapse_ldap_bind_password": "",
                                                "synapse_email_enabled": True,
                                                "synapse_email_smtp_host": "smtp.example.com",
                                                "synapse_email_notif_from": "noreply@example.com",
                                                "synapse_email_smtp_user": "synapse",
                                                "synapse_email_smtp_password": "Sm7pSecretValue"}))
def test_refusals_do_not_show_the_passwords(ansible_result):
    code, output = ansible_result
    assert code != 0
    assert "Sm7pSecretValue" not in output


@pytest.mark.ansible_case(Render("synapse", [], {}, RENDERED))
def test_ldap_and_email_are_off_by_default(ansible_result):
    _unused, values = ansible_result
    assert values["__synapse_ldap_config"] == {}
    assert values["__synapse_email_config"] == {}
    assert not [name for name in values["__synapse_pip_packages"] if "ldap" in name]
    # nothing of theirs left on the host
    assert {"/etc/matrix-synapse/ldap_bind_password", "/etc/matrix-synapse/ldap-ca.crt"} <= set(
        values["__synapse_absent_paths"])


@pytest.mark.ansible_case(Render("synapse", [], dict(GOOD_LDAP, synapse_ldap_start_tls=True), RENDERED))
def test_ldap_anonymous_search_with_starttls(ansible_result):
    _unused, values = ansible_result
    config = values["__synapse_ldap_config"]
    assert config["password_config"] == {"localdb_enabled": True}
    (module,) = config["modules"]
    assert module["module"] == "homeserver_synapse_ldap.LdapAuthProviderModule"
    assert module["config"] == {
        "enabled": True, "mode": "search", "uri": GOOD_LDAP["synapse_ldap_uris"], "start_tls": True,
        "base": "ou=people,dc=example,dc=com", "attributes": {"uid": "uid", "mail": "mail", "name": "cn"},
        "connect_timeout": 5,
    }
    assert "matrix-synapse-ldap3==0.4.0" in values["__synapse_pip_packages"]
    assert "/etc/matrix-synapse/ldap_bind_password" in values["__synapse_absent_paths"]


@pytest.mark.ansible_case(Render("synapse", [], dict(
    GOOD_LDAP, synapse_ldap_uris=["ldaps://ldap.example.com"], synapse_ldap_start_tls=False,
    synapse_ldap_bind_dn="cn=synapse,ou=services,dc=example,dc=com", synapse_ldap_bind_password="secret",
    synapse_ldap_filter="(objectClass=inetOrgPerson)", synapse_ldap_ca_certificate=CA,
    synapse_ldap_attributes={"uid": "sAMAccountName", "mail": "mail", "name": "displayName"},
    synapse_ldap_localdb_enabled=False, synapse_ldap_connect_timeout=2), RENDERED))
def test_ldap_bind_dn_filter_and_ca(ansible_result):
    _unused, values = ansible_result
    config = values["__synapse_ldap_config"]
    assert config["password_config"] == {"localdb_enabled": False}
    module = config["modules"][0]["config"]
    # the password stays in its 0640 file, out of homeserver.yaml
    assert module["bind_dn"] == "cn=synapse,ou=services,dc=example,dc=com"
    assert module["bind_password_file"] == "/etc/matrix-synapse/ldap_bind_password"
    assert "bind_password" not in module and "secret" not in str(config)
    assert module["filter"] == "(objectClass=inetOrgPerson)"
    # ssl.CERT_REQUIRED against the given CA only
    assert module["tls_options"] == {"validate": 2, "ca_certs_file": "/etc/matrix-synapse/ldap-ca.crt"}
    assert module["start_tls"] is False and module["connect_timeout"] == 2
    assert module["attributes"]["uid"] == "sAMAccountName"
    assert not {"/etc/matrix-synapse/ldap_bind_password", "/etc/matrix-synapse/ldap-ca.crt"} & set(
        values["__synapse_absent_paths"])


@pytest.mark.parametrize("variables, expected", [
    (GOOD_EMAIL, {"smtp_host": "smtp.example.com", "smtp_port": 587, "require_transport_security": True,
                  "notif_from": "Chat <noreply@example.com>", "app_name": "Matrix", "enable_notifs": False}),
    (dict(GOOD_EMAIL, synapse_email_tls="implicit", synapse_email_smtp_port=465, synapse_email_smtp_user="synapse",
          synapse_email_smtp_password="secret", synapse_email_app_name="Company chat",
          synapse_email_notifications_enabled=True, synapse_public_baseurl="https://matrix.example.com/",
          synapse_email_client_base_url="https://app.element.io"),
     {"smtp_host": "smtp.example.com", "smtp_port": 465, "force_tls": True, "smtp_user": "synapse",
      "smtp_pass": "secret", "notif_from": "Chat <noreply@example.com>", "app_name": "Company chat",
      "enable_notifs": True, "client_base_url": "https://app.element.io"}),
    (dict(GOOD_EMAIL, synapse_email_tls="opportunistic", synapse_email_smtp_port=25),
     {"smtp_host": "smtp.example.com", "smtp_port": 25, "notif_from": "Chat <noreply@example.com>",
      "app_name": "Matrix", "enable_notifs": False}),
    # with the relay, Synapse sends to postfix on loopback in plain text, without a login
    (dict(GOOD_RELAY, synapse_email_smtp_user="ignored", synapse_email_smtp_password="ignored"),
     {"smtp_host": "127.0.0.1", "smtp_port": 25, "enable_tls": False, "notif_from": "Chat <noreply@example.com>",
      "app_name": "Matrix", "enable_notifs": False}),
])
@pytest.mark.ansible_case(lambda variables: Render("synapse", [], variables, RENDERED))
def test_email_section(ansible_result, variables, expected):
    _unused, values = ansible_result
    assert values["__synapse_email_config"] == {"email": expected}
    assert values["__synapse_ldap_config"] == {}


RELAY_VARS = {"synapse_server_name": "example.com", "synapse_public_hostname": "matrix.example.com",
              "synapse_email_relay_host": "[smtp.example.com]:587"}


def postfix_settings(text):
    settings = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _unused, value = line.partition("=")
            assert key.strip() not in settings, key
            settings[key.strip()] = value.strip()
    return settings


@pytest.mark.parametrize("variables, login", [
    ({}, False),
    ({"synapse_email_relay_user": "relay", "synapse_email_relay_password": "secret", "synapse_email_relay_tls": "encrypt"},
     True),
])
@pytest.mark.ansible_case(lambda variables: Render("synapse", ["postfix-main.cf.j2"], dict(RELAY_VARS, **variables)))
def test_relay_is_a_null_client_of_the_smarthost(ansible_result, variables, login):
    files, _unused = ansible_result
    settings = postfix_settings(files["postfix-main.cf.j2"])
    # loopback only, nothing delivered or relayed for anyone else
    assert settings["inet_interfaces"] == "127.0.0.1"
    assert settings["mydestination"] == ""
    assert settings["local_transport"].startswith("error:")
    assert settings["mynetworks"] == "127.0.0.0/8"
    assert settings["smtpd_relay_restrictions"] == "permit_mynetworks, reject"
    assert settings["relayhost"] == "[smtp.example.com]:587"
    assert settings["smtp_tls_security_level"] == variables.get("synapse_email_relay_tls", "secure")
    assert settings["myhostname"] == "matrix.example.com"
    assert ("smtp_sasl_password_maps" in settings) == login
    if login:
        assert settings["smtp_sasl_auth_enable"] == "yes"
        assert "secret" not in files["postfix-main.cf.j2"]
