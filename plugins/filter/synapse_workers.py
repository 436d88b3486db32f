# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expand a Synapse worker list into named workers with ports, and the main process's worker settings.

One source of truth for the synapse role (worker files, homeserver.yaml), the reverse_proxy role's upstreams
(through site.yml) and the monitoring role's scrape targets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

GENERIC = "synapse.app.generic_worker"

# type: slot (port block), app, HTTP listener resources, max count, streams written, routed by the proxy.
WORKER_TYPES = {
    "sync": dict(slot=0, resources=["client"], routed=True),
    "client_reader": dict(slot=1, resources=["client"], routed=True),
    "federation_reader": dict(slot=2, resources=["federation"], routed=True),
    "federation_sender": dict(slot=3, resources=["health"]),
    "background_worker": dict(slot=4, resources=["health"], max=1),
    "event_persister": dict(slot=5, resources=["health"], streams=["events"]),
    # Synapse 1.163 still loads the media repository on a worker only when its worker_app says so
    # (synapse/config/repository.py), since main has enable_media_repo: false.
    "media_repository": dict(slot=6, resources=["media"], app="synapse.app.media_repository", routed=True),
    "pusher": dict(slot=7, resources=["health"]),
    "typing_writer": dict(slot=8, resources=["client"], max=1, streams=["typing"], routed=True),
    "to_device_writer": dict(slot=9, resources=["client"], max=1, streams=["to_device"], routed=True),
    "receipts_writer": dict(slot=10, resources=["client"], streams=["receipts"], routed=True),
    "account_data_writer": dict(slot=11, resources=["client"], max=1, streams=["account_data"], routed=True),
    "presence_writer": dict(slot=12, resources=["client"], max=1, streams=["presence"], routed=True),
    "push_rules_writer": dict(slot=13, resources=["client"], max=1, streams=["push_rules"], routed=True),
    "user_directory": dict(slot=14, resources=["client"], max=1, routed=True),
}
PORTS_PER_TYPE = 10

PRESETS = {
    "none": [],
    "small": [
        {"type": "sync", "count": 1},
        {"type": "client_reader", "count": 1},
        {"type": "federation_reader", "count": 1},
        {"type": "federation_sender", "count": 1},
        {"type": "background_worker", "count": 1},
    ],
    "large": [
        {"type": "sync", "count": 2},
        {"type": "client_reader", "count": 2},
        {"type": "federation_reader", "count": 1},
        {"type": "federation_sender", "count": 2},
        {"type": "background_worker", "count": 1},
        {"type": "event_persister", "count": 2},
        {"type": "media_repository", "count": 1},
        {"type": "pusher", "count": 1},
        {"type": "typing_writer", "count": 1},
        {"type": "to_device_writer", "count": 1},
        {"type": "receipts_writer", "count": 1},
    ],
}


def _port(base, slot, index, name):
    try:
        base = int(base)
    except (TypeError, ValueError):
        raise AnsibleFilterError("synapse_workers: port base %r of %s is not a number" % (base, name))
    port = base + slot * PORTS_PER_TYPE + index - 1
    if not (0 < base and port < 65536):
        raise AnsibleFilterError("synapse_workers: port %s of %s is out of range" % (port, name))
    return port


def synapse_workers(workers, preset="none", http_port_base=8100, metrics_port_base=9400,
                    replication_port_base=8500):
    """Expand the explicit list and the preset into one dict per worker process."""
    if preset not in PRESETS:
        raise AnsibleFilterError(
            "synapse_workers: unknown preset %r (choose one of %s)" % (preset, ", ".join(sorted(PRESETS))))
    if workers is None:
        workers = []
    if not isinstance(workers, (list, tuple)):
        raise AnsibleFilterError("synapse_workers: expected a list of {type, count}, got %r" % (workers,))
    counts = {}
    for entry in PRESETS[preset]:
        counts[entry["type"]] = entry["count"]
    seen = set()
    for entry in workers:
        if not isinstance(entry, dict) or "type" not in entry:
            raise AnsibleFilterError("synapse_workers: each entry needs a type, got %r" % (entry,))
        unknown = set(entry) - {"type", "count"}
        if unknown:
            raise AnsibleFilterError(
                "synapse_workers: unknown key(s) %s in %r (entries are {type, count})"
                % (", ".join(sorted(unknown)), entry))
        wtype = entry["type"]
        if wtype not in WORKER_TYPES:
            raise AnsibleFilterError(
                "synapse_workers: unknown worker type %r (choose from %s)"
                % (wtype, ", ".join(sorted(WORKER_TYPES, key=lambda t: WORKER_TYPES[t]["slot"]))))
        if wtype in seen:
            raise AnsibleFilterError("synapse_workers: type %r is listed twice" % wtype)
        seen.add(wtype)
        try:
            count = int(entry.get("count", 1))
        except (TypeError, ValueError):
            raise AnsibleFilterError("synapse_workers: count of %r must be a number" % wtype)
        counts[wtype] = count

    out = []
    for wtype in sorted(counts, key=lambda t: WORKER_TYPES[t]["slot"]):
        spec = WORKER_TYPES[wtype]
        count = counts[wtype]
        limit = spec.get("max", PORTS_PER_TYPE)
        if not 0 <= count <= limit:
            raise AnsibleFilterError(
                "synapse_workers: %s count must be between 0 and %d, not %d" % (wtype, limit, count))
        for index in range(1, count + 1):
            name = "%s-%d" % (wtype.replace("_", "-"), index)
            streams = list(spec.get("streams", []))
            out.append({
                "name": name,
                "type": wtype,
                "index": index,
                "app": spec.get("app", GENERIC),
                "port": _port(http_port_base, spec["slot"], index, name),
                "metrics_port": _port(metrics_port_base, spec["slot"], index, name),
                "replication_port": _port(replication_port_base, spec["slot"], index, name) if streams else 0,
                "resources": list(spec["resources"]),
                "streams": streams,
                "routed": spec.get("routed", False),
            })
    return out


def synapse_workers_main_config(workers, replication_host="127.0.0.1", replication_port=8093,
                                worker_replication_host="127.0.0.1"):
    """The homeserver.yaml keys that tell every process who does what; {} without workers."""
    if not workers:
        return {}
    by_type = {}
    for worker in workers:
        by_type.setdefault(worker["type"], []).append(worker["name"])
    instance_map = {"main": {"host": replication_host, "port": int(replication_port)}}
    stream_writers = {}
    for worker in workers:
        for stream in worker.get("streams", []):
            stream_writers.setdefault(stream, []).append(worker["name"])
            instance_map[worker["name"]] = {"host": worker_replication_host, "port": int(worker["replication_port"])}
    config = {"instance_map": instance_map}
    if stream_writers:
        config["stream_writers"] = stream_writers
    if "federation_sender" in by_type:
        config["federation_sender_instances"] = by_type["federation_sender"]
    if "pusher" in by_type:
        config["pusher_instances"] = by_type["pusher"]
    if "background_worker" in by_type:
        config["run_background_tasks_on"] = by_type["background_worker"][0]
    if "media_repository" in by_type:
        config["enable_media_repo"] = False
        config["media_instance_running_background_jobs"] = by_type["media_repository"][0]
    if "user_directory" in by_type:
        config["update_user_directory_from_worker"] = by_type["user_directory"][0]
    return config


class FilterModule(object):
    def filters(self):
        return {
            "synapse_workers": synapse_workers,
            "synapse_workers_main_config": synapse_workers_main_config,
        }
