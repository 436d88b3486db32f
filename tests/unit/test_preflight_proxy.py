"""Bad input to the reverse_proxy and certbot roles stops the play in preflight with a clear message.

Same approach as test_preflight.py (Preflight cases, run in batches): ansible-playbook on the controller with
`--tags preflight --check`, so only the argument specs and the preflight asserts run.
"""

import pytest

from playbook_cases import Preflight
from test_preflight import assert_checks_pass, assert_fails_with

GOOD_PROXY = {"reverse_proxy_public_hostname": "matrix.example.com",
              "reverse_proxy_server_name": "example.com"}
GRAFANA = {"path": "/grafana/", "proxy_pass": "http://127.0.0.1:3000", "websocket": True}
GOOD_CERTBOT = {"certbot_domains": ["matrix.example.com", "example.com"], "certbot_agree_tos": True}


@pytest.mark.parametrize("role, variables", [
    ("reverse_proxy", GOOD_PROXY),
    ("reverse_proxy", dict(GOOD_PROXY, reverse_proxy_certificate_source="selfsigned",
                           reverse_proxy_admin_allowed_ips=["10.0.0.0/24", "2001:db8::1"])),
    ("reverse_proxy", dict(GOOD_PROXY, reverse_proxy_certificate_source="files",
                           reverse_proxy_certificate_file="/etc/hostname",
                           reverse_proxy_certificate_key_file="/etc/hostname")),
    ("reverse_proxy", dict(GOOD_PROXY, reverse_proxy_wired_locations=[GRAFANA],
                           reverse_proxy_extra_locations=[{"path": "/status/", "proxy_pass": "https://10.0.0.9:8443"}])),
    ("certbot", GOOD_CERTBOT),
    ("certbot", dict(GOOD_CERTBOT, certbot_acme_server="https://localhost:14000/dir")),
])
@pytest.mark.ansible_case.with_args(Preflight)  # Preflight(role, variables)
def test_good_input_passes(ansible_result, role, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    ({"reverse_proxy_certificate_source": "acme"}, "reverse_proxy_certificate_source must be one of"),
    ({"reverse_proxy_certificate_source": "files"}, "set reverse_proxy_certificate_file"),
    ({"reverse_proxy_certificate_source": "files",
      "reverse_proxy_certificate_file": "/nonexistent/fullchain.pem",
      "reverse_proxy_certificate_key_file": "/nonexistent/privkey.pem"},
     "'/nonexistent/fullchain.pem' does not exist"),
    ({"reverse_proxy_public_hostname": ""}, "reverse_proxy_server_name 'example.com' has no delegation target"),
    ({"reverse_proxy_public_hostname": "", "reverse_proxy_server_name": ""}, "Set reverse_proxy_public_hostname"),
    ({"reverse_proxy_wellknown_enabled": False}, "the server name has no\ndelegation target"),
    ({"reverse_proxy_public_hostname": "https://matrix.example.com"}, "is not a valid host name"),
    ({"reverse_proxy_server_name": "Example.com"}, "reverse_proxy_server_name 'Example.com' is not a valid"),
    ({"reverse_proxy_synapse_upstream": "http://127.0.0.1:8008"},
     "reverse_proxy_synapse_upstream 'http://127.0.0.1:8008' must be host:port"),
    ({"reverse_proxy_client_max_body_size": "fifty"},
     "reverse_proxy_client_max_body_size 'fifty' must be an nginx size"),
    ({"reverse_proxy_admin_allowed_ips": ["everyone"]}, "reverse_proxy_admin_allowed_ips entry 'everyone'"),
    ({"reverse_proxy_stub_status_port": 70000}, "reverse_proxy_stub_status_port 0 (off) or 1-65535"),
    ({"reverse_proxy_extra_locations": [{"path": "/grafana", "proxy_pass": "http://127.0.0.1:3000"}]},
     "reverse_proxy_extra_locations: each location needs path"),
    ({"reverse_proxy_extra_locations": [{"path": "/status/", "proxy_pass": "127.0.0.1:3000; deny all"}]},
     "reverse_proxy_extra_locations: each location needs path"),
    ({"reverse_proxy_wired_locations": [{"path": "/_matrix/", "proxy_pass": "http://127.0.0.1:3000"}]},
     "reverse_proxy_wired_locations: each location needs path"),
    ({"reverse_proxy_wired_locations": [GRAFANA], "reverse_proxy_extra_locations": [GRAFANA]},
     "name a path more than once (/grafana/, /grafana/)"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("reverse_proxy", dict(GOOD_PROXY, **variables)))
def test_bad_proxy_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)


@pytest.mark.parametrize("variables, expected", [
    ({"certbot_domains": []}, "Set certbot_domains"),
    ({"certbot_domains": ["*.example.com"]}, "certbot_domains entry '*.example.com'"),
    ({"certbot_agree_tos": False}, "set certbot_agree_tos: true"),
    ({"certbot_acme_server": "acme-v02.api.letsencrypt.org/directory"}, "is not a valid ACME directory URL"),
    ({"certbot_acme_server": "http://localhost:14000/dir"}, "is not a valid ACME directory URL"),
    ({"certbot_email": "not-an-address"}, "certbot_email 'not-an-address'"),
    ({"certbot_acme_ca_bundle": "ca.pem"}, "certbot_acme_ca_bundle must be an absolute path"),
    ({"certbot_key_type": "dsa"}, "certbot_key_type must be one of"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("certbot", dict(GOOD_CERTBOT, **variables)))
def test_bad_certbot_input_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)
