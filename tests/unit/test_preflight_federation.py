"""synapse_federation_custom_ca_list: PEM CA certificates pass the synapse role's preflight, anything else
(a file name, a private key, garbage) stops the play with a message naming the variable.

Same approach as test_preflight.py (its run_preflight helper): ansible-playbook on the controller with
`--tags preflight --check`, so only the argument specs and the preflight asserts run.
"""

import pytest

from test_preflight import GOOD_SYNAPSE, assert_checks_pass, run_preflight

# A real (throw-away) self-signed CA certificate; only its PEM shape matters to the preflight.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBfjCCASSgAwIBAgIUYjZ1m7xX2u0Qk4m1bqQJx0Lr3BUwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKdGVzdCBmZWQgQ0EwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAx
MDAwMDAwWjAVMRMwEQYDVQQDDAp0ZXN0IGZlZCBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABHq7pZ5ZlSxH2lq3WfS3rj2y4HfXJwXw8k1n0m9m0r0N3A8b5bNc
3W9N6k1x1rE2f9Pq0XbE5cXh1n2Zl8lC0Z2jUzBRMB0GA1UdDgQWBBQx0a0x0a0x
0a0x0a0x0a0x0a0x0DAfBgNVHSMEGDAWgBQx0a0x0a0x0a0x0a0x0a0x0a0x0DAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDa0x0a0x0a0x0a0x0a
0x0a0x0a0x0a0x0a0x0a0x0a0wIgYa0x0a0x0a0x0a0x0a0x0a0x0a0x0a0x0a0x
-----END CERTIFICATE-----
"""
KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAAAAAAAAAAAAAA
-----END PRIVATE KEY-----
"""


@pytest.mark.parametrize("variables", [
    {"synapse_federation_custom_ca_list": [CA_PEM]},
    # a bundle of two CAs in one item; the role writes one file per certificate
    {"synapse_federation_custom_ca_list": [CA_PEM + CA_PEM], "synapse_federation_trust_system_cas": False},
])
def test_federation_cas_pass(variables):
    assert_checks_pass(*run_preflight("synapse", dict(GOOD_SYNAPSE, **variables)))


@pytest.mark.parametrize("cas", [
    ["/etc/ssl/private-ca.pem"],
    [CA_PEM, KEY_PEM],
    [CA_PEM + KEY_PEM],
    ["-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"],
])
def test_bad_federation_cas_fail_clearly(cas):
    code, output = run_preflight("synapse", dict(GOOD_SYNAPSE, synapse_federation_custom_ca_list=cas))
    assert code != 0, output
    assert "synapse_federation_custom_ca_list item" in output, output
    assert "not a CA certificate in PEM" in output, output
