"""Retention settings of the synapse role: off by default, bad durations and orphan settings stop preflight."""

import pytest

from playbook_cases import Preflight
from test_preflight import GOOD_SYNAPSE, assert_checks_pass, assert_fails_with

GOOD_RETENTION = {
    "synapse_retention_enabled": True,
    "synapse_retention_default_max_lifetime": "1y",
    "synapse_retention_allowed_lifetime_min": "1d",
    "synapse_retention_allowed_lifetime_max": "1y",
    "synapse_retention_purge_jobs": [{"longest_max_lifetime": "3d", "interval": "12h"},
                                     {"shortest_max_lifetime": "3d", "interval": "1d"}],
    "synapse_media_retention_local_media_lifetime": "365d",
    "synapse_media_retention_remote_media_lifetime": "14d",
    "synapse_forgotten_room_retention_period": "28d",
}


@pytest.mark.ansible_case(Preflight("synapse", dict(GOOD_SYNAPSE, **GOOD_RETENTION)))
def test_retention_settings_pass(ansible_result):
    assert_checks_pass(*ansible_result)


@pytest.mark.parametrize("variables, expected", [
    ({"synapse_media_retention_remote_media_lifetime": "two weeks"},
     "synapse_media_retention_remote_media_lifetime 'two weeks' is not a Synapse duration"),
    ({"synapse_forgotten_room_retention_period": "28"},
     "synapse_forgotten_room_retention_period '28' is not a Synapse duration"),
    ({"synapse_retention_enabled": False}, "set synapse_retention_enabled: true"),
    ({"synapse_retention_purge_jobs": [{"longest_max_lifetime": "3d"}]},
     "synapse_retention_purge_jobs entry {'longest_max_lifetime': '3d'} is not valid"),
    ({"synapse_retention_purge_jobs": [{"interval": "1d", "every": "day"}]}, "is not valid: each job is a mapping"),
    ({"synapse_retention_allowed_lifetime_min": "2y"},
     "synapse_retention_allowed_lifetime_min (2y) is longer than synapse_retention_allowed_lifetime_max (1y)"),
])
@pytest.mark.ansible_case(lambda variables: Preflight("synapse", {**GOOD_SYNAPSE, **GOOD_RETENTION, **variables}))
def test_bad_retention_fails_clearly(ansible_result, variables, expected):
    assert_fails_with(*ansible_result, expected)
