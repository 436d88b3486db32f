"""The cache sizing rules of the synapse role (the homeserver.synapse.synapse_caches filter).

The figures for 2, 8 and 32 GiB hosts are the ones docs/roles/synapse.md states; a host reports a little less
than its nominal memory in MemTotal, which the tiers allow for.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homeserver.synapse.plugins.filter.synapse_caches import synapse_caches


def autotuning(result):
    return result["caches"]["cache_autotuning"]


@pytest.mark.parametrize("memory_mb, factor, events, maximum, target", [
    (1967, 0.5, "10K", "491M", "368M"),      # a 2 GiB VPS
    (2048, 0.5, "10K", "512M", "384M"),
    (7940, 1.0, "30K", "1985M", "1488M"),    # an 8 GiB VPS
    (8192, 1.0, "30K", "2048M", "1536M"),
    (32768, 2.0, "100K", "4096M", "3072M"),  # 32 GiB: the ceiling caps it
    (512, 0.5, "10K", "128M", "96M"),        # the floor
])
def test_one_process_is_sized_from_memory(memory_mb, factor, events, maximum, target):
    result = synapse_caches(memory_mb)
    assert result["event_cache_size"] == events
    assert result["caches"]["global_factor"] == factor
    assert autotuning(result) == {"max_cache_memory_usage": maximum, "target_cache_memory_usage": target,
                                  "min_cache_ttl": "5m"}
    assert "per_cache_factors" not in result["caches"]


def test_with_workers_each_process_gets_an_eighth_of_the_share():
    # 8 GiB with workers: a quarter of the memory split eight ways, whatever the number of workers (adding one
    # must not change, and so restart, the others).
    assert autotuning(synapse_caches(8192, workers=True))["max_cache_memory_usage"] == "256M"
    assert autotuning(synapse_caches(8192, workers=True))["target_cache_memory_usage"] == "192M"
    assert autotuning(synapse_caches(32768, workers=True))["max_cache_memory_usage"] == "1024M"
    # A small host keeps the floor.
    assert autotuning(synapse_caches(2048, workers=True))["max_cache_memory_usage"] == "128M"


def test_string_input_from_templates():
    # Jinja hands numbers over as strings when they come from facts or ternaries.
    assert synapse_caches("8192") == synapse_caches(8192)


def test_overrides_win():
    result = synapse_caches(2048, global_factor=1.5, event_cache_size="50K", max_memory="1G",
                            target_memory="800M", min_ttl="30s", per_cache_factors={"get_users_in_room": 3})
    assert result == {
        "event_cache_size": "50K",
        "caches": {"global_factor": 1.5, "per_cache_factors": {"get_users_in_room": 3},
                   "cache_autotuning": {"max_cache_memory_usage": "1G", "target_cache_memory_usage": "800M",
                                        "min_cache_ttl": "30s"}},
    }


def test_a_given_maximum_derives_its_target():
    assert autotuning(synapse_caches(2048, max_memory="1024M"))["target_cache_memory_usage"] == "786432K"


def test_without_autotuning_no_limits_are_written():
    result = synapse_caches(8192, autotuning=False)
    assert result == {"event_cache_size": "30K", "caches": {"global_factor": 1.0}}


@pytest.mark.parametrize("kwargs, expected", [
    ({"max_memory": "1 GB"}, "synapse_cache_max_memory '1 GB' is not a size"),
    ({"max_memory": "1T"}, "synapse_cache_max_memory '1T' is not a size"),
    ({"target_memory": "lots"}, "synapse_cache_target_memory 'lots' is not a size"),
    ({"max_memory": "512M", "target_memory": "600M"}, "must be below synapse_cache_max_memory (512M)"),
    ({"max_memory": "512M", "target_memory": "512M"}, "must be below synapse_cache_max_memory (512M)"),
    ({"min_ttl": "five minutes"}, "synapse_cache_min_ttl 'five minutes' is not a duration"),
    ({"event_cache_size": "10 thousand"}, "synapse_event_cache_size '10 thousand' is not a size"),
    ({"global_factor": "big"}, "synapse_caches_global_factor must be a number"),
    ({"global_factor": -1}, "synapse_caches_global_factor must not be negative"),
    ({"per_cache_factors": ["get_users_in_room"]}, "synapse_caches_per_cache_factors must be a mapping"),
    ({"per_cache_factors": {"get_users_in_room": "2"}}, "synapse_caches_per_cache_factors['get_users_in_room']"),
    ({"per_cache_factors": {"get_users_in_room": True}}, "synapse_caches_per_cache_factors['get_users_in_room']"),
    ({"workers": "yes"}, "workers must be true or false"),
    ({"autotuning": "yes"}, "synapse_cache_autotuning must be true or false"),
])
def test_bad_overrides_are_refused_by_name(kwargs, expected):
    with pytest.raises(AnsibleFilterError) as error:
        synapse_caches(2048, **kwargs)
    assert expected in str(error.value)


@pytest.mark.parametrize("memory", ["", None, "lots", 0, -5])
def test_unknown_memory_is_refused(memory):
    with pytest.raises(AnsibleFilterError) as error:
        synapse_caches(memory)
    assert "synapse_memory_mb" in str(error.value)


def test_the_table_in_the_role_docs_is_what_the_rules_give():
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "roles", "synapse.md")) as handle:
        rows = re.findall(r"^\| \d+ GiB \((\d+) MiB\) \| (no|yes) \| ([0-9.]+) \| (\w+) \| (\w+) / (\w+) \|$",
                          handle.read(), re.MULTILINE)
    assert len(rows) == 5
    for memory, workers, factor, events, maximum, target in rows:
        result = synapse_caches(int(memory), workers=workers == "yes")
        assert (result["caches"]["global_factor"], result["event_cache_size"]) == (float(factor), events)
        assert autotuning(result)["max_cache_memory_usage"] == maximum
        assert autotuning(result)["target_cache_memory_usage"] == target
