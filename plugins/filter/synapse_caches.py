# -*- coding: utf-8 -*-
# Copyright: homeserver.synapse contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Synapse's cache settings sized from the memory of its host.

The synapse role renders the result into homeserver.yaml (``event_cache_size`` and ``caches``); the sizing
rules are documented in docs/roles/synapse.md with the figures they give for 2, 8 and 32 GiB hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

# Synapse's size syntax (synapse/config/_base.py parse_size): a number of bytes, or K / M / G suffixed.
SIZE_RE = re.compile(r"^([0-9]+)([KMG]?)$")
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}
# Synapse's duration syntax (parse_duration): milliseconds, or s / m / h / d / w / y suffixed.
DURATION_RE = re.compile(r"^[0-9]+(ms|[smhdwy])?$")

# Memory tiers (MiB of RAM the kernel reports, which is a little under the nominal size of the machine):
# below SMALL_MB a host is small (2 GiB class), from LARGE_MB on it is large (16 GiB class and up).
SMALL_MB = 3072
LARGE_MB = 12288
# The share of the host's memory Synapse's caches may hold: all of it for the main process alone; with workers
# each process gets it divided by WORKER_SHARES, whatever their number, so that adding or removing a worker
# leaves the other processes' configuration (and the processes) alone.
CACHE_SHARE = 0.25
WORKER_SHARES = 8
# Bounds of one process's cache memory ceiling, MiB.
MIN_CACHE_MB = 128
MAX_CACHE_MB = 4096
# Eviction brings a process down to this share of its ceiling.
TARGET_SHARE = 0.75


def _size_bytes(value, name):
    match = SIZE_RE.match(str(value).strip())
    if not match:
        raise AnsibleFilterError(
            "%s '%s' is not a size Synapse reads: give a number with K, M or G (for example '1024M')" % (name, value))
    return int(match.group(1)) * SIZE_UNITS[match.group(2)]


def _positive_int(value, name):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s must be a whole number, not '%s'" % (name, value))
    if number < 1:
        raise AnsibleFilterError("%s must be at least 1, not %s" % (name, number))
    return number


def synapse_caches(memory_mb, workers=False, autotuning=True, global_factor=0, event_cache_size="",
                   max_memory="", target_memory="", min_ttl="5m", per_cache_factors=None):
    """Return ``{'event_cache_size': ..., 'caches': {...}}`` for homeserver.yaml.

    memory_mb: the host's memory in MiB; workers: whether Synapse runs with workers.
    Every other argument is the inventory's override; an empty string or 0 means "derive it".
    """
    memory_mb = _positive_int(memory_mb, "the memory the caches are sized from (synapse_memory_mb)")
    if not isinstance(workers, bool):
        raise AnsibleFilterError("workers must be true or false, not '%s'" % (workers,))
    if not isinstance(autotuning, bool):
        raise AnsibleFilterError("synapse_cache_autotuning must be true or false, not '%s'" % (autotuning,))

    small, large = memory_mb < SMALL_MB, memory_mb >= LARGE_MB
    try:
        factor = float(global_factor or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError("synapse_caches_global_factor must be a number, not '%s'" % (global_factor,))
    if factor < 0:
        raise AnsibleFilterError("synapse_caches_global_factor must not be negative, not %s" % (factor,))
    if factor == 0:
        factor = 0.5 if small else (2.0 if large else 1.0)

    events = event_cache_size or ("10K" if small else ("100K" if large else "30K"))
    _size_bytes(events, "synapse_event_cache_size")

    caches = {"global_factor": factor}
    factors = per_cache_factors or {}
    if not isinstance(factors, dict):
        raise AnsibleFilterError("synapse_caches_per_cache_factors must be a mapping of cache name to factor")
    for name, value in factors.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise AnsibleFilterError(
                "synapse_caches_per_cache_factors['%s'] must be a non-negative number, not '%s'" % (name, value))
    if factors:
        caches["per_cache_factors"] = dict(factors)

    if autotuning:
        ceiling = int(memory_mb * CACHE_SHARE) // (WORKER_SHARES if workers else 1)
        ceiling = max(MIN_CACHE_MB, min(MAX_CACHE_MB, ceiling))
        maximum = max_memory or "%dM" % ceiling
        max_bytes = _size_bytes(maximum, "synapse_cache_max_memory")
        if target_memory:
            target = target_memory
        elif max_memory:
            target = "%dK" % (max_bytes * TARGET_SHARE // 1024)
        else:
            target = "%dM" % int(ceiling * TARGET_SHARE)
        if _size_bytes(target, "synapse_cache_target_memory") >= max_bytes:
            raise AnsibleFilterError(
                "synapse_cache_target_memory (%s) must be below synapse_cache_max_memory (%s): Synapse evicts "
                "down to the target once a process holds more than the maximum" % (target, maximum))
        if not DURATION_RE.match(str(min_ttl)):
            raise AnsibleFilterError(
                "synapse_cache_min_ttl '%s' is not a duration Synapse reads (for example '5m' or '30s')" % (min_ttl,))
        caches["cache_autotuning"] = {
            "max_cache_memory_usage": maximum,
            "target_cache_memory_usage": target,
            "min_cache_ttl": str(min_ttl),
        }
    return {"event_cache_size": events, "caches": caches}


class FilterModule(object):
    def filters(self):
        return {"synapse_caches": synapse_caches}
