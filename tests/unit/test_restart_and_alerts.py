"""Services come back by themselves, and the alert rules watch them.

Renders the roles' systemd restart drop-ins, Synapse's own units, the node exporter's systemd collector
arguments and the alert rules with ansible-playbook (Render cases of playbook_cases.py, run in batches:
tests/unit/files/role_render.yml, each role's defaults and constants, the case's variables over them), then
checks what systemd and Prometheus would read. promtool is not on the controller: the rules' YAML structure and
the metrics their expressions use are checked here, promtool checks them in the monitoring scenario.
"""

import re

import pytest
import yaml

from playbook_cases import Render


def unit_settings(text):
    """A systemd unit or drop-in as {section: {key: [values]}} (keys may repeat)."""
    sections, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _unused, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


# role: (the unit that gets the drop-in, Restart=)
DROPINS = {
    "postgres": ("postgresql@17-main.service", "on-failure"),
    "redis": ("valkey-server.service", "always"),
    "reverse_proxy": ("nginx.service", "on-failure"),
    "coturn": ("coturn.service", "on-failure"),
    "fail2ban": ("fail2ban.service", "on-failure"),
    "monitoring": ("prometheus.service", "on-failure"),
}


def dropin(role):
    """The restart drop-in of role rendered, with its RestartSec (and where it goes, but for monitoring)."""
    variables = {"redis_server": "valkey"} if role == "redis" else {}
    if role == "monitoring":
        variables["__monitoring_restart_unit"] = DROPINS[role][0]
    return Render(role, ["systemd-restart.conf.j2"], variables,
                  [f"{role}_restart_sec"] + ([] if role == "monitoring" else [f"__{role}_restart_dropin"]))


@pytest.mark.parametrize("role", sorted(DROPINS))
@pytest.mark.ansible_case.with_args(dropin)
def test_restart_dropin(ansible_result, role):
    unit, policy = DROPINS[role]
    files, values = ansible_result
    settings = unit_settings(files["systemd-restart.conf.j2"])
    assert settings["Service"] == {"Restart": [policy], "RestartSec": [str(values[f"{role}_restart_sec"])]}
    assert 1 <= values[f"{role}_restart_sec"] <= 10
    # Start limits in [Unit], where systemd reads them: 10 failed starts in 10 minutes leave the unit failed,
    # more than RestartSec lets happen in a row of crashes that recover.
    assert settings["Unit"] == {"StartLimitIntervalSec": ["600"], "StartLimitBurst": ["10"]}
    assert unit in files["systemd-restart.conf.j2"]
    if role != "monitoring":
        # A drop-in next to the packaged unit, never the unit itself.
        assert values[f"__{role}_restart_dropin"] == f"/etc/systemd/system/{unit}.d/50-homeserver-restart.conf"


@pytest.mark.ansible_case(Render("synapse", ["matrix-synapse.service.j2", "matrix-synapse-worker@.service.j2"],
                                 names=["synapse_restart_sec"]))
def test_synapse_units_restart_and_wait_for_their_backends(ansible_result):
    files, values = ansible_result
    main = unit_settings(files["matrix-synapse.service.j2"])
    worker = unit_settings(files["matrix-synapse-worker@.service.j2"])
    for unit in (main, worker):
        after = " ".join(unit["Unit"]["After"]).split()
        # postgresql.service: Debian's postgresql@<cluster> units are ordered Before= it.
        assert {"postgresql.service", "redis-server.service", "valkey-server.service"} <= set(after)
        assert unit["Unit"]["StartLimitIntervalSec"] == ["600"]
        assert unit["Unit"]["StartLimitBurst"] == ["10"]
        assert unit["Service"]["RestartSec"] == [str(values["synapse_restart_sec"])]
        # Ordering only: a restart of PostgreSQL or Redis must not stop Synapse (it reconnects).
        assert not {"Requires", "BindsTo"} & set(unit["Unit"])
    assert main["Service"]["Restart"] == ["on-failure"]
    assert worker["Service"]["Restart"] == ["always"]


@pytest.mark.ansible_case(Render("monitoring", [], names=["__monitoring_node_systemd_args"]))
def test_node_exporter_reports_the_homeserver_units(ansible_result):
    _unused, values = ansible_result
    args = values["__monitoring_node_systemd_args"].split()
    assert "--collector.systemd" in args
    assert "--collector.systemd.enable-restarts-metrics" in args  # node_systemd_service_restart_total
    include = [a.split("=", 1)[1] for a in args if a.startswith("--collector.systemd.unit-include=")]
    assert len(include) == 1
    # Through systemd's EnvironmentFile and $ARGS: no backslash, no whitespace, no quote.
    assert not re.search(r"[\\\s'\"]", include[0])
    pattern = re.compile(f"^(?:{include[0]})$")  # node exporter anchors it the same way
    for unit in ["matrix-synapse.service", "matrix-synapse-worker@generic1.service", "postgresql@15-main.service",
                 "postgresql@17-main.service", "redis-server.service", "valkey-server.service", "nginx.service",
                 "coturn.service", "fail2ban.service", "prometheus.service", "prometheus-alertmanager.service",
                 "prometheus-node-exporter.service", "prometheus-postgres-exporter.service"]:
        assert pattern.match(unit), unit
    for unit in ["ssh.service", "cron.service", "matrix-synapse.target", "postgresql.service", "nginx.socket"]:
        assert not pattern.match(unit), unit


@pytest.mark.ansible_case(Render("monitoring", [], {"monitoring_node_systemd_units": []},
                                 names=["__monitoring_node_systemd_args"]))
def test_no_systemd_units_turns_the_collector_off(ansible_result):
    _unused, values = ansible_result
    assert values["__monitoring_node_systemd_args"] == ""


def alert_rules(variables=None):
    return Render("monitoring", ["alerts.rules.yml.j2"], variables)


def rules(rendered):
    """The alert rules of a rendered alert_rules case, by name, checked for the shape Prometheus reads."""
    files, _unused = rendered
    doc = yaml.safe_load(files["alerts.rules.yml.j2"])
    out = {}
    for group in doc["groups"]:
        assert group["name"].startswith("homeserver-")
        for rule in group["rules"]:
            assert rule["alert"] not in out, f"{rule['alert']} twice"
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"]
            out[rule["alert"]] = rule
    return out


@pytest.mark.ansible_case(alert_rules({"monitoring_alert_service_down_for": "45s", "monitoring_alert_disk_for": "20s",
                                       "monitoring_alert_restart_loop_count": 4}))
def test_alerts_for_every_fault(ansible_result):
    alerts = rules(ansible_result)
    # Synapse (any process), PostgreSQL, Redis/Valkey down.
    assert alerts["SynapseDown"]["expr"] == 'up{job="synapse"} == 0'
    assert alerts["PostgresDown"]["expr"] == "pg_up == 0"
    assert alerts["PostgresDown"]["for"] == "45s"
    redis = alerts["RedisDown"]
    assert "node_systemd_unit_state" in redis["expr"] and 'state="active"' in redis["expr"]
    assert re.search(r'name=~"\(redis-server\|valkey-server\)\[\.\]service"', redis["expr"])
    assert redis["expr"].startswith("max by (instance) (") and redis["expr"].endswith(") == 0")
    assert redis["for"] == "45s" and redis["labels"]["severity"] == "critical"
    # A crash systemd repaired, a crash loop, a unit systemd gave up on.
    assert alerts["ServiceRestarted"]["expr"] == "increase(node_systemd_service_restart_total[15m]) > 0"
    assert "for" not in alerts["ServiceRestarted"]
    assert alerts["ServiceRestartLoop"]["expr"] == "increase(node_systemd_service_restart_total[15m]) >= 4"
    assert alerts["ServiceRestartLoop"]["labels"]["severity"] == "critical"
    assert alerts["ServiceFailed"]["expr"] == 'node_systemd_unit_state{state="failed"} == 1'
    assert alerts["ServiceFailed"]["for"] == "45s"
    # The disks (database and media store among them).
    for name, threshold in (("DiskFilling", "< 10"), ("DiskFull", "< 3")):
        expr = alerts[name]["expr"]
        assert "node_filesystem_avail_bytes" in expr and "node_filesystem_size_bytes" in expr, name
        assert threshold in expr, name
        assert 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"' in expr, name
    assert alerts["DiskFilling"]["for"] == "20s"
    assert alerts["DiskFull"]["for"] == "1m"
    assert alerts["DiskFull"]["labels"]["severity"] == "critical"


@pytest.mark.ansible_case(alert_rules())
def test_default_durations(ansible_result):
    alerts = rules(ansible_result)
    assert alerts["PostgresDown"]["for"] == "2m"
    assert alerts["RedisDown"]["for"] == "2m"
    assert alerts["DiskFilling"]["for"] == "10m"
    assert alerts["ServiceRestartLoop"]["expr"].endswith(">= 3")


@pytest.mark.ansible_case(alert_rules({"monitoring_alert_disk_excluded_fstypes": ["overlay", "squashfs"]}))
def test_disk_alerts_follow_the_excluded_types(ansible_result):
    alerts = rules(ansible_result)
    for name in ("DiskFilling", "DiskFull", "DiskWillFillIn24Hours"):
        assert 'fstype!~"overlay|squashfs"' in alerts[name]["expr"], name
