# Copyright: (c) 2026, homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker expansion filters: presets, names, ports, and the homeserver.yaml keys they produce."""

from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.homeserver.synapse.plugins.filter.synapse_workers import (
    FilterModule,
    synapse_workers,
    synapse_workers_main_config,
)


def names(workers):
    return [w["name"] for w in workers]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"synapse_workers", "synapse_workers_main_config"}


def test_none_preset_and_empty_list_is_no_worker():
    assert synapse_workers([]) == []
    assert synapse_workers(None, preset="none") == []
    assert synapse_workers_main_config([]) == {}


def test_small_preset():
    workers = synapse_workers([], preset="small")
    assert names(workers) == [
        "sync-1", "client-reader-1", "federation-reader-1", "federation-sender-1", "background-worker-1"]
    assert {w["app"] for w in workers} == {"synapse.app.generic_worker"}


def test_large_preset_adds_persisters_media_pushers_and_writers():
    types = {w["type"] for w in synapse_workers([], preset="large")}
    assert {"event_persister", "media_repository", "pusher", "typing_writer", "to_device_writer",
            "receipts_writer"} <= types


def test_explicit_list_extends_and_overrides_the_preset():
    workers = synapse_workers(
        [{"type": "sync", "count": 3}, {"type": "media_repository", "count": 1},
         {"type": "background_worker", "count": 0}],
        preset="small")
    assert names(workers) == [
        "sync-1", "sync-2", "sync-3", "client-reader-1", "federation-reader-1", "federation-sender-1",
        "media-repository-1"]


def test_count_defaults_to_one():
    assert names(synapse_workers([{"type": "pusher"}])) == ["pusher-1"]


def test_ports_are_stable_per_type():
    few = {w["name"]: w for w in synapse_workers([], preset="small")}
    more = {w["name"]: w for w in synapse_workers([{"type": "sync", "count": 4}], preset="small")}
    for name, worker in few.items():
        assert more[name] == worker, name
    assert few["sync-1"]["port"] == 8100
    assert more["sync-2"]["port"] == 8101
    assert few["client-reader-1"]["port"] == 8110
    assert few["client-reader-1"]["metrics_port"] == 9410


def test_ports_follow_the_bases_and_are_unique():
    workers = synapse_workers([], preset="large", http_port_base=18000, metrics_port_base=19000,
                              replication_port_base=20000)
    ports = [w["port"] for w in workers] + [w["metrics_port"] for w in workers] + [
        w["replication_port"] for w in workers if w["replication_port"]]
    assert len(ports) == len(set(ports))
    assert min(w["port"] for w in workers) == 18000
    persister = next(w for w in workers if w["name"] == "event-persister-2")
    assert persister["replication_port"] == 20051
    assert next(w for w in workers if w["name"] == "sync-1")["replication_port"] == 0


def test_media_worker_keeps_its_own_app():
    media = synapse_workers([{"type": "media_repository", "count": 1}])[0]
    assert media["app"] == "synapse.app.media_repository"
    assert media["resources"] == ["media"]


def test_main_config_small():
    config = synapse_workers_main_config(synapse_workers([], preset="small"), replication_port=8093)
    assert config == {
        "instance_map": {"main": {"host": "127.0.0.1", "port": 8093}},
        "federation_sender_instances": ["federation-sender-1"],
        "run_background_tasks_on": "background-worker-1",
    }


def test_main_config_writers_media_pushers():
    workers = synapse_workers(
        [{"type": "event_persister", "count": 2}, {"type": "media_repository", "count": 2},
         {"type": "pusher", "count": 2}, {"type": "typing_writer", "count": 1},
         {"type": "user_directory", "count": 1}])
    config = synapse_workers_main_config(workers)
    assert config["stream_writers"] == {"events": ["event-persister-1", "event-persister-2"],
                                        "typing": ["typing-writer-1"]}
    assert set(config["instance_map"]) == {"main", "event-persister-1", "event-persister-2", "typing-writer-1"}
    assert config["instance_map"]["event-persister-1"] == {"host": "127.0.0.1", "port": 8550}
    assert config["pusher_instances"] == ["pusher-1", "pusher-2"]
    assert config["enable_media_repo"] is False
    assert config["media_instance_running_background_jobs"] == "media-repository-1"
    assert config["update_user_directory_from_worker"] == "user-directory-1"


@pytest.mark.parametrize("preset", ["small", "large"])
def test_removed_replication_keys_are_never_written(preset):
    config = synapse_workers_main_config(synapse_workers([], preset=preset))
    text = yaml.safe_dump(config)
    assert "worker_replication_host" not in text
    assert "worker_replication_http_port" not in text
    assert "worker_replication_http_tls" not in text
    assert "worker_main_http_uri" not in text
    assert "send_federation" not in config and "start_pushers" not in config


@pytest.mark.parametrize("bad, message", [
    ([{"type": "synchrotron", "count": 1}], "unknown worker type 'synchrotron'"),
    ([{"count": 1}], "needs a type"),
    (["sync"], "needs a type"),
    ([{"type": "sync", "count": 1, "port": 9}], "unknown key"),
    ([{"type": "sync"}, {"type": "sync"}], "listed twice"),
    ([{"type": "background_worker", "count": 2}], "between 0 and 1"),
    ([{"type": "typing_writer", "count": 2}], "between 0 and 1"),
    ([{"type": "sync", "count": 11}], "between 0 and 10"),
    ([{"type": "sync", "count": -1}], "between 0 and 10"),
    ([{"type": "sync", "count": "many"}], "must be a number"),
    ({"type": "sync"}, "expected a list"),
])
def test_bad_input_is_refused(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        synapse_workers(bad)


def test_unknown_preset_is_refused():
    with pytest.raises(AnsibleFilterError, match="unknown preset 'huge'"):
        synapse_workers([], preset="huge")


def test_port_out_of_range_is_refused():
    with pytest.raises(AnsibleFilterError, match="out of range"):
        synapse_workers([{"type": "sync", "count": 1}], http_port_base=65535 + 1)
