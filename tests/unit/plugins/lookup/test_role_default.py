"""The role_default lookup: a role's literal default, read from the role."""

import os

import pytest
import yaml
from ansible.errors import AnsibleLookupError

from ansible_collections.homeserver.synapse.plugins.lookup.role_default import LookupModule

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def defaults_of(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_defaults_come_from_their_roles():
    values = LookupModule().run(["synapse_listener_port", "postgres_port", "backup_dir"])
    assert values == [defaults_of("synapse")["synapse_listener_port"], defaults_of("postgres")["postgres_port"],
                      defaults_of("backup")["backup_dir"]]


@pytest.mark.parametrize("name, message", [
    ("no_such_variable", "no role of the collection has a default for no_such_variable"),
    ("coturn_public_hostname", "roles/coturn/defaults/main.yml has no literal default for coturn_public_hostname"),
])
def test_unknown_or_templated_defaults_are_refused(name, message):
    with pytest.raises(AnsibleLookupError, match=message):
        LookupModule().run([name])
