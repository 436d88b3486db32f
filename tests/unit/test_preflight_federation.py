"""synapse_federation_custom_ca_list: PEM CA certificates pass the synapse role's preflight, anything else
(a file name, a private key, a PEM block whose base64 is no certificate) stops the play with a message naming
the variable.

Same approach as test_preflight.py (Preflight cases, run in batches): ansible-playbook on the controller with
`--tags preflight --check`, so only the argument specs and the preflight's checks run (here also
community.crypto.x509_certificate_info, which the preflight runs on the controller).
"""

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from playbook_cases import Preflight
from test_preflight import GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def make_ca(name):
    """A throw-away self-signed CA certificate in PEM (valid from today for 30 days), and its private key in PEM.

    The same name gives the same certificate all day (key and serial drawn from the name, deterministic ECDSA):
    every pytest-xdist worker then plans the same cases, which run once (playbook_cases.py).
    """
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest(), "big")
    key = ec.derive_private_key(seed % (P256_ORDER - 1) + 1, ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(seed >> 97)  # positive, at most 159 bits
            .not_valid_before(today).not_valid_after(today + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256(), ecdsa_deterministic=True))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


CA_PEM, KEY_PEM = make_ca("test federation CA")
OTHER_CA_PEM, _unused = make_ca("other federation CA")
# PEM-shaped, but the base64 is no certificate ("Not a certificate, just base64 garbage").
GARBAGE_PEM = ("-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGUsIGp1c3QgYmFzZTY0IGdhcmJhZ2U=\n"
               "-----END CERTIFICATE-----\n")
# A real certificate with a line lost in the copy.
TRUNCATED_PEM = "\n".join(CA_PEM.splitlines()[:2] + CA_PEM.splitlines()[3:]) + "\n"


def test_samples_are_what_they_claim():
    assert x509.load_pem_x509_certificate(CA_PEM.encode()).extensions.get_extension_for_class(
        x509.BasicConstraints).value.ca
    for bad in (GARBAGE_PEM, TRUNCATED_PEM):
        with pytest.raises(ValueError):
            x509.load_pem_x509_certificate(bad.encode())


@pytest.mark.parametrize("variables", [
    {"synapse_federation_custom_ca_list": [CA_PEM]},
    # a bundle of two CAs in one item; the role writes one file per certificate
    {"synapse_federation_custom_ca_list": [CA_PEM + OTHER_CA_PEM], "synapse_federation_trust_system_cas": False},
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", dict(GOOD_SYNAPSE, **variables)))
def test_federation_cas_pass(ansible_result, variables):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("cas, item", [
    (["/etc/ssl/private-ca.pem"], 0),
    ([CA_PEM, KEY_PEM], 1),
    ([CA_PEM + KEY_PEM], 0),
    (["-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"], 0),
])
@pytest.mark.ansible_case(lambda cas: Preflight("synapse", dict(GOOD_SYNAPSE, synapse_federation_custom_ca_list=cas)))
def test_bad_federation_cas_fail_clearly(ansible_result, cas, item):
    assert_fails_with(*ansible_result, f"synapse_federation_custom_ca_list item {item} is not a CA certificate in PEM")


@pytest.mark.parametrize("cas, block", [
    ([GARBAGE_PEM], 0),
    ([CA_PEM, TRUNCATED_PEM], 1),
    ([CA_PEM + GARBAGE_PEM], 1),
])
@pytest.mark.ansible_case(lambda cas: Preflight("synapse", dict(GOOD_SYNAPSE, synapse_federation_custom_ca_list=cas)))
def test_pem_shaped_non_certificates_fail_clearly(ansible_result, cas, block):
    code, output = ansible_result
    assert_fails_with(code, output, "synapse_federation_custom_ca_list: the certificate block starting")
    assert_fails_with(code, output,
                      f"(block {block} of all items, from 0) has the PEM shape but is not an X.509 certificate")
