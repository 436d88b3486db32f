"""Turn on LemonLDAP::NG's OpenID Connect issuer with one relying party, in its configuration file.

Edits /var/lib/lemonldap-ng/conf/lmConf-1.json (the File backend of Debian's package): the portal's URL and
cookie domain, no captcha, the issuer, an RSA signing key (made once with openssl), and the relying party (client id and
secret, redirect URI, no consent screen, the claims from the demo backend's attributes). Prints "changed" when
it wrote the file (and emptied the portal's configuration cache, so a restart reads it), "ok" otherwise.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

CONF = "/var/lib/lemonldap-ng/conf/lmConf-1.json"
# The portal's local configuration cache (lemonldap-ng.ini's cache_root: Debian 13's package, then older ones).
CACHES = ("/var/cache/lemonldap-ng", "/var/lib/lemonldap-ng/cache")


def signing_key(conf):
    """The issuer's key pair: the one in the configuration, or a new 2048-bit RSA key."""
    if conf.get("oidcServicePrivateKeySig") and conf.get("oidcServicePublicKeySig"):
        return conf["oidcServicePrivateKeySig"], conf["oidcServicePublicKeySig"]
    private = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                             check=True, capture_output=True, text=True).stdout
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=private, check=True, capture_output=True,
                            text=True).stdout
    return private, public


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issuer", required=True, help="the portal's URL, which is the issuer (no slash)")
    parser.add_argument("--domain", required=True, help="the SSO cookie's domain")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True, action="append")
    args = parser.parse_args()

    with open(CONF, encoding="utf-8") as handle:
        conf = json.load(handle)
    private, public = signing_key(conf)
    rp = "synapse"
    wanted = {
        "domain": args.domain,
        "portal": args.issuer + "/",
        "issuerDBOpenIDConnectActivation": 1,
        # The captcha of the password-reset and registration forms (neither used here) needs GD::SecurityImage,
        # which the portal package only recommends; the portal refuses every request when it cannot load it.
        "captcha_mail_enabled": 0,
        "captcha_register_enabled": 0,
        "oidcServiceMetaDataIssuer": args.issuer,
        "oidcServicePrivateKeySig": private,
        "oidcServicePublicKeySig": public,
        "oidcServiceKeyIdSig": "molecule-sso",
        "oidcRPMetaDataOptions": {rp: {
            "oidcRPMetaDataOptionsClientID": args.client_id,
            "oidcRPMetaDataOptionsClientSecret": args.client_secret,
            "oidcRPMetaDataOptionsRedirectUris": " ".join(args.redirect_uri),
            "oidcRPMetaDataOptionsDisplayName": "Synapse",
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsPublic": 0,
        }},
        "oidcRPMetaDataExportedVars": {rp: {"name": "cn", "preferred_username": "uid", "email": "mail"}},
    }
    changed = any(conf.get(key) != value for key, value in wanted.items())
    if changed:
        conf.update(wanted)
        conf["cfgAuthor"] = "molecule company scenario"
        temporary = CONF + ".new"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(conf, handle, indent=2, sort_keys=True)
        stat = os.stat(CONF)
        os.chown(temporary, stat.st_uid, stat.st_gid)
        os.chmod(temporary, stat.st_mode & 0o7777)
        os.replace(temporary, CONF)
        for entry in [path for cache in CACHES for path in glob.glob(os.path.join(cache, "*"))]:
            if os.path.isdir(entry):
                shutil.rmtree(entry, ignore_errors=True)
            else:
                os.remove(entry)
    print("changed" if changed else "ok")


if __name__ == "__main__":
    sys.exit(main())
