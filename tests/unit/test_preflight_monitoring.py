"""Bad monitoring input stops a play in preflight, with a message naming the variable to set.

Same approach as test_preflight.py (argument specs + preflight asserts only, `--tags preflight --check`),
with a small inventory where a case needs hosts. Which hosts Prometheus can reach is the wiring's check
(test_site_wiring.py); here the shape of the targets it hands the role.
"""

import json
import os
import subprocess
import sys

import pytest

from test_preflight import assert_checks_pass, assert_fails_with

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "tests", "unit", "files", "preflight.yml")
BIN = os.path.dirname(sys.executable)

# localhost is the Prometheus host; synapse1 a remote Synapse host known only from the inventory.
INVENTORY = """\
[monitoring]
localhost ansible_connection=local ansible_python_interpreter={python}

[synapse]
synapse1 monitoring_exporter_listen_address=10.0.0.5 {synapse_vars}
"""


def run_preflight(extra, tmp_path, synapse_vars=None, role="monitoring", entry_point="main"):
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".cache", "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    command = [os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "--check", "--tags", "preflight",
               "-e", json.dumps(dict(extra, preflight_role=role, preflight_entry_point=entry_point))]
    if synapse_vars is not None:
        inventory = tmp_path / "hosts.ini"
        inventory.write_text(INVENTORY.format(python=sys.executable, synapse_vars=synapse_vars))
        command += ["-i", str(inventory)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("variables, synapse_vars", [
    ({}, None),
    ({"monitoring_prometheus_retention": "4w2d"}, None),
    ({"monitoring_alertmanager_enabled": True,
      "monitoring_alertmanager_webhook_url": "https://hooks.example.com/alert"}, None),
    # the targets the wiring computes (a Synapse worker's, with its labels)
    ({"monitoring_scrape_targets": [
        {"job": "synapse", "host": "synapse1", "address": "10.0.0.5", "port": 9401,
         "metrics_path": "/_synapse/metrics", "labels": {"process": "generic1", "process_type": "generic_worker"}}]},
     None),
])
def test_good_input_passes(variables, synapse_vars, tmp_path):
    assert_checks_pass(*run_preflight(variables, tmp_path, synapse_vars))


@pytest.mark.parametrize("variables, synapse_vars, expected", [
    ({"monitoring_prometheus_retention": "15 days"}, None, "monitoring_prometheus_retention '15 days'"),
    ({"monitoring_prometheus_retention": "15"}, None, "is not a Prometheus duration"),
    ({"monitoring_scrape_interval": "often"}, None, "monitoring_scrape_interval ('often')"),
    ({"monitoring_extra_scrape_hosts": [{"job": "node", "host": "localhost", "port": 9100}]}, "",
     "monitoring_extra_scrape_hosts: each entry needs job"),
    ({"monitoring_scrape_targets": [{"job": "node", "host": "synapse1", "address": "", "port": 9100}]}, None,
     "monitoring_scrape_targets: each entry needs job"),
    ({"monitoring_scrape_targets": [{"job": "node-1", "host": "synapse1", "address": "10.0.0.5", "port": 9100}]},
     None, "monitoring_scrape_targets: each entry needs job"),
    ({"monitoring_alertmanager_enabled": True}, None, "no receiver is configured"),
    ({"monitoring_alertmanager_enabled": True, "monitoring_alertmanager_email_to": "admin@example.com"}, None,
     "monitoring_alertmanager_smtp_smarthost (host:port)"),
    ({"monitoring_prometheus_port": "ninety"}, None, "argument 'monitoring_prometheus_port' is of type str"),
])
def test_bad_input_fails_clearly(variables, synapse_vars, expected, tmp_path):
    assert_fails_with(*run_preflight(variables, tmp_path, synapse_vars), expected)


GOOD_SYNAPSE = {"synapse_server_name": "example.com", "synapse_database_password": "secret",
                "synapse_metrics_enabled": True}


@pytest.mark.parametrize("variables, expected", [
    ({}, None),
    ({"synapse_metrics_bind_address": "10.0.0.5", "synapse_metrics_port": 9101}, None),
    ({"synapse_metrics_port": 8008}, "synapse_metrics_port ('8008') must be a free TCP port other than"),
    ({"synapse_metrics_port": 70000}, "synapse_metrics_port ('70000')"),
    ({"synapse_metrics_bind_address": "metrics.example.com"}, "synapse_metrics_bind_address ('metrics.example.com')"),
])
def test_synapse_metrics_listener_input(variables, expected, tmp_path):
    code, output = run_preflight(dict(GOOD_SYNAPSE, **variables), tmp_path, role="synapse")
    if expected is None:
        assert_checks_pass(code, output)
    else:
        assert_fails_with(code, output, expected)


@pytest.mark.parametrize("variables, expected", [
    ({}, None),
    ({"monitoring_grafana_root_url": "https://grafana.example.com/", "monitoring_grafana_http_addr": "10.0.0.41"},
     None),
    ({"monitoring_grafana_root_url": "https://example.com/grafana"},
     "monitoring_grafana_root_url 'https://example.com/grafana' must be an http(s) URL ending in '/'"),
    ({"monitoring_grafana_http_addr": "grafana.lan"}, "monitoring_grafana_http_addr ('grafana.lan') must be an IP"),
    ({"monitoring_grafana_http_port": "three thousand"}, "argument 'monitoring_grafana_http_port' is of type str"),
])
def test_grafana_entry_point_checks_its_input(variables, expected, tmp_path):
    """tasks_from: grafana has its own argument spec and preflight."""
    code, output = run_preflight(variables, tmp_path, entry_point="grafana")
    if expected is None:
        assert_checks_pass(code, output)
    else:
        assert_fails_with(code, output, expected)


def test_exporters_entry_point_checks_its_input(tmp_path):
    code, output = run_preflight({"monitoring_nginx_exporter_enabled": True}, tmp_path, entry_point="exporters")
    assert_fails_with(code, output, "the nginx exporter needs nginx's stub_status port")
    assert_checks_pass(*run_preflight({"monitoring_nginx_exporter_enabled": True,
                                       "monitoring_nginx_stub_status_port": 8089}, tmp_path, entry_point="exporters"))
