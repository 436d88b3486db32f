"""Bad monitoring input stops a play in preflight, with a message naming the variable to set.

Same approach as test_preflight.py (argument specs + preflight asserts only, `--tags preflight --check`),
with a small inventory where a case needs hosts. Which hosts Prometheus can reach is the wiring's check
(test_site_wiring.py); here the shape of the targets it hands the role.
"""

import pytest

from playbook_cases import Preflight
from test_preflight import assert_checks_pass, assert_fails_with


def preflight(variables, synapse_vars=None, role="monitoring", entry_point="main"):
    """A case of this module. With synapse_vars (more variables of synapse1, as 'name=value' pairs), its host is
    the Prometheus host (group monitoring) of an inventory where synapse1 is a remote Synapse host."""
    if synapse_vars is None:
        return Preflight(role, variables, entry_point)
    pairs = ["monitoring_exporter_listen_address=10.0.0.5"] + synapse_vars.split()
    synapse1 = dict(pair.split("=", 1) for pair in pairs)
    return Preflight(role, variables, entry_point, groups=["monitoring"], peers={"synapse": {"synapse1": synapse1}})


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
@pytest.mark.ansible_case.with_args(preflight)
def test_good_input_passes(ansible_result, variables, synapse_vars):
    assert_checks_pass(*ansible_result)


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
@pytest.mark.ansible_case.with_args(preflight)
def test_bad_input_fails_clearly(ansible_result, variables, synapse_vars, expected):
    assert_fails_with(*ansible_result, expected)


GOOD_SYNAPSE = {"synapse_server_name": "example.com", "synapse_database_password": "secret",
                "synapse_metrics_enabled": True}


@pytest.mark.parametrize("variables, expected", [
    ({}, None),
    ({"synapse_metrics_bind_address": "10.0.0.5", "synapse_metrics_port": 9101}, None),
    ({"synapse_metrics_port": 8008}, "synapse_metrics_port ('8008') must be a free TCP port other than"),
    ({"synapse_metrics_port": 70000}, "synapse_metrics_port ('70000')"),
    ({"synapse_metrics_bind_address": "metrics.example.com"}, "synapse_metrics_bind_address ('metrics.example.com')"),
])
@pytest.mark.ansible_case(lambda variables: preflight(dict(GOOD_SYNAPSE, **variables), role="synapse"))
def test_synapse_metrics_listener_input(ansible_result, variables, expected):
    code, output = ansible_result
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
@pytest.mark.ansible_case(lambda variables: preflight(variables, entry_point="grafana"))
def test_grafana_entry_point_checks_its_input(ansible_result, variables, expected):
    """tasks_from: grafana has its own argument spec and preflight."""
    code, output = ansible_result
    if expected is None:
        assert_checks_pass(code, output)
    else:
        assert_fails_with(code, output, expected)


@pytest.mark.ansible_case([
    preflight({"monitoring_nginx_exporter_enabled": True}, entry_point="exporters"),
    preflight({"monitoring_nginx_exporter_enabled": True, "monitoring_nginx_stub_status_port": 8089},
              entry_point="exporters"),
])
def test_exporters_entry_point_checks_its_input(ansible_result):
    without_port, with_port = ansible_result
    assert_fails_with(*without_port, "the nginx exporter needs nginx's stub_status port")
    assert_checks_pass(*with_port)
