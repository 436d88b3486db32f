"""Single sign-on with OpenID Connect (issue #17, item 2): the synapse role's preflight refuses bad providers with
a message naming the variable and the fix, and the oidc_providers section is rendered as Synapse reads it, the
client secret in a file of its own. Synapse's own check of the rendered section, and a real login through
LemonLDAP::NG, run in molecule (the sso scenario).
"""

import pytest
import yaml

from playbook_cases import Preflight, Render
from test_preflight import GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

SECRET = "s3cret-value-from-vault"
PROVIDER = {
    "idp_id": "keycloak",
    "idp_name": "Company login",
    "issuer": "https://sso.example.com/realms/example",
    "client_id": "synapse",
    "client_secret": SECRET,
    "scopes": ["openid", "profile"],
    "user_mapping_provider": {"config": {"localpart_template": "{{ user.preferred_username }}",
                                         "display_name_template": "{{ user.name }}"}},
    "allow_existing_users": True,
}
# The Jinja of the mapping templates is Synapse's: Ansible must hand it over as written.
UNSAFE_PROVIDER = dict(PROVIDER, user_mapping_provider={"config": {
    "localpart_template": "{% raw %}{{ user.preferred_username }}{% endraw %}",
    "display_name_template": "{% raw %}{{ user.name }}{% endraw %}"}})


def oidc(*providers, **variables):
    return dict(GOOD_SYNAPSE, synapse_oidc_providers=list(providers), **variables)


@pytest.mark.parametrize("variables", [
    oidc(UNSAFE_PROVIDER),
    oidc(dict(UNSAFE_PROVIDER, client_secret=None, client_secret_path="/etc/matrix-synapse/keycloak.secret")),
    oidc(UNSAFE_PROVIDER, dict(UNSAFE_PROVIDER, idp_id="gitlab", issuer="https://gitlab.example.com/")),
    oidc(dict(UNSAFE_PROVIDER, issuer="http://auth.test"), synapse_oidc_allow_insecure_issuer=True,
         synapse_password_login_enabled=False, synapse_sso_client_whitelist=["https://app.element.io/"]),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", variables))
def test_good_oidc_input_passes(ansible_result, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    (oidc(dict(UNSAFE_PROVIDER, issuer="http://sso.example.com")),
     "the issuer 'http://sso.example.com' must be https://"),
    (oidc(dict(UNSAFE_PROVIDER, skip_verification=True)),
     "synapse_oidc_allow_insecure_issuer: true"),
    (oidc(dict(UNSAFE_PROVIDER, client_secret="")),
     "synapse_oidc_providers entry 'keycloak' needs exactly one client secret"),
    (oidc(dict(UNSAFE_PROVIDER, client_secret_path="/etc/matrix-synapse/keycloak.secret")),
     "synapse_oidc_providers entry 'keycloak' needs exactly one client secret"),
    (oidc(dict(UNSAFE_PROVIDER, client_secret=None, client_secret_path="keycloak.secret")),
     "client_secret_path (an absolute path"),
    (oidc(UNSAFE_PROVIDER, dict(UNSAFE_PROVIDER, idp_name="Other")),
     "synapse_oidc_providers has the idp_id keycloak more than once"),
    (oidc(dict(UNSAFE_PROVIDER, idp_id="key cloak")),
     "synapse_oidc_providers entry 0 (key cloak) needs idp_id (letters, digits and ._~- only"),
    (oidc({k: v for k, v in UNSAFE_PROVIDER.items() if k != "client_id"}),
     "synapse_oidc_providers entry 0 (keycloak) needs idp_id"),
    (oidc(dict(UNSAFE_PROVIDER, issuer="sso.example.com")), "and issuer (the provider's URL"),
    (oidc(dict(UNSAFE_PROVIDER, localpart_template="{% raw %}{{ user.sub }}{% endraw %}")),
     "has options Synapse does not know: localpart_template"),
    (dict(GOOD_SYNAPSE, synapse_password_login_enabled=False),
     "synapse_password_login_enabled is false but no single sign-on is configured"),
    (oidc(UNSAFE_PROVIDER, synapse_password_login_enabled=False, synapse_ldap_enabled=True,
          synapse_ldap_uris=["ldap://ldap.example.com"], synapse_ldap_base="ou=people,dc=example,dc=com"),
     "synapse_ldap_enabled is true but synapse_password_login_enabled is false"),
    (oidc(UNSAFE_PROVIDER, synapse_sso_client_whitelist=["app.element.io"]),
     "synapse_sso_client_whitelist entry 'app.element.io' must be the start of a client URL"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", variables))
def test_bad_oidc_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.ansible_case(Preflight("synapse", oidc(dict(UNSAFE_PROVIDER, client_secret_path="/etc/x"))))
def test_the_client_secret_is_not_shown_when_refused(ansible_result):
    code, output = ansible_result
    assert code != 0, output
    assert SECRET not in output


RENDER_BASE = {"synapse_server_name": "example.com", "synapse_database_password": "secret",
               "synapse_memory_mb": 2048, "synapse_listener_bind_addresses": ["127.0.0.1"]}
NAMES = ["__synapse_oidc_config", "__synapse_pip_packages"]


def render(**variables):
    return Render("synapse", ["homeserver.yaml.j2"], dict(RENDER_BASE, **variables), names=NAMES)


LEMONLDAP = dict(UNSAFE_PROVIDER, idp_id="lemonldap", client_secret=None, issuer="http://auth.test",
                 client_secret_path="/etc/matrix-synapse/llng.secret")


@pytest.mark.ansible_case(render(synapse_oidc_providers=[UNSAFE_PROVIDER, LEMONLDAP],
                                 synapse_oidc_allow_insecure_issuer=True, synapse_password_login_enabled=False,
                                 synapse_sso_client_whitelist=["https://app.element.io/"]))
def test_providers_render_with_the_secret_in_a_file(ansible_result):
    files, values = ansible_result
    config = yaml.safe_load(files["homeserver.yaml.j2"])
    keycloak, lemonldap = config["oidc_providers"]
    assert SECRET not in files["homeserver.yaml.j2"]
    assert "client_secret" not in keycloak
    assert keycloak["client_secret_path"] == "/etc/matrix-synapse/oidc_client_secret_keycloak"
    # Synapse's Jinja reaches homeserver.yaml as written; https issuers keep Synapse's checks
    assert keycloak["user_mapping_provider"]["config"] == PROVIDER["user_mapping_provider"]["config"]
    assert "skip_verification" not in keycloak
    assert keycloak["allow_existing_users"] is True and keycloak["scopes"] == ["openid", "profile"]
    assert lemonldap["client_secret_path"] == "/etc/matrix-synapse/llng.secret"
    assert lemonldap["skip_verification"] is True
    assert config["password_config"] == {"enabled": False}
    assert config["sso"] == {"client_whitelist": ["https://app.element.io/"]}
    assert "authlib>=0.15.1,<2" in values["__synapse_pip_packages"]


@pytest.mark.ansible_case(render())
def test_without_sso_nothing_is_rendered(ansible_result):
    files, values = ansible_result
    config = yaml.safe_load(files["homeserver.yaml.j2"])
    assert values["__synapse_oidc_config"] == {}
    assert not {"oidc_providers", "password_config", "sso"} & set(config)
    assert not [p for p in values["__synapse_pip_packages"] if p.startswith("authlib")]
