"""Brute force where clients connect, and Grafana's allowlist (issue #16, items 3 and 4).

The reverse proxy's vhost rendered by ansible-playbook from the role's own template, defaults and constants
(tests/unit/files/role_render.yml: Render cases of playbook_cases.py): limit_req on the login and registration
endpoints, in front of the worker routes, 429 and logged at level error; Grafana's wired location with
allow/deny. The fail2ban jails rendered from the wiring's inputs. The nginx filters (the role's
matrix-synapse-nginx, Debian's nginx-limit-req) run through the real fail2ban-regex against nginx log lines in
the format the proxy writes (Debian's nginx).
nginx -t itself runs in molecule (the role validates the vhost before it goes live).
"""

import configparser
import os
import re
import shutil
import subprocess

import pytest
import yaml

from playbook_cases import Render

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "files", "fail2ban")
LOGIN_FILTER = os.path.join(ROOT, "roles", "fail2ban", "files", "matrix-synapse-nginx.conf")
# Debian's own filter, which the nginx-limit-req jail uses (installed with fail2ban).
LIMIT_REQ_FILTER = "/etc/fail2ban/filter.d/nginx-limit-req.conf"
FAIL2BAN_REGEX = shutil.which("fail2ban-regex")
VHOST = "homeserver.conf.j2"
BASE = {"reverse_proxy_public_hostname": "matrix.example.com", "__reverse_proxy_tls_ready": True,
        "__reverse_proxy_ocsp": False, "ansible_facts": {"all_ipv6_addresses": [], "dns": {"nameservers": []}}}
CLIENT_READER = [{"name": "generic1", "type": "client_reader", "port": 8101}]


def vhost(**variables):
    """The case of the vhost rendered with BASE and variables."""
    return Render("reverse_proxy", [VHOST], dict(BASE, **variables))


def tls_server(text):
    """The public TLS server block (the one with ssl_certificate and the Matrix locations)."""
    return text.split("\nserver {", 2)[2]


def locations(text):
    """[(pattern, body)] of the TLS server's locations, in nginx's order of appearance."""
    return re.findall(r"\n    location (?:~ |\^~ |= )?(\S+) \{\n(.*?)\n    \}", tls_server(text), re.S)


def first_regex_location(text, uri):
    """The location nginx picks for uri among the regex ones (first match wins; none of ours is a prefix
    location that could take precedence with ^~ for these paths)."""
    for pattern, body in locations(text):
        if pattern.startswith("^") and re.search(pattern, uri):
            return pattern, body
    return None, None


LIMITED = ["/_matrix/client/v3/login", "/_matrix/client/r0/login", "/_matrix/client/api/v1/login",
           "/_matrix/client/v3/register", "/_matrix/client/unstable/register",
           "/_matrix/client/v1/register/m.login.registration_token/validity",
           "/_matrix/client/v3/register/email/requestToken", "/_matrix/client/v3/account/password/email/requestToken",
           "/_matrix/client/r0/account/3pid/msisdn/requestToken"]
NOT_LIMITED = ["/_matrix/client/v3/sync", "/_matrix/client/v3/login/sso/redirect", "/_matrix/client/versions",
               "/_matrix/client/v3/register/available", "/_matrix/client/v3/account/whoami",
               "/_matrix/client/v3/rooms/!a:b/send/m.room.message/1"]


@pytest.fixture(scope="module")
def rendered(ansible_batches):
    """The vhost with the defaults, with a client_reader worker, and with the limit off (one ansible-playbook)."""
    layouts = {"main": vhost(), "workers": vhost(reverse_proxy_synapse_workers=CLIENT_READER),
               "off": vhost(reverse_proxy_login_limit_enabled=False)}
    results = ansible_batches.run(list(layouts.values()), "vhosts")
    return {layout: files[VHOST] for layout, (files, _unused) in zip(layouts, results)}


def test_the_zone_is_per_client_address_at_the_documented_rate(rendered):
    text = rendered["main"]
    assert "limit_req_zone $homeserver_login_limit_key zone=homeserver_login:10m rate=30r/m;" in text
    # Keyed on the address nginx accepted the connection from; CORS preflights (OPTIONS) are not counted.
    block = re.search(r"map \$request_method \$homeserver_login_limit_key \{(.*?)\}", text, re.S).group(1)
    assert re.search(r"default \$binary_remote_addr;", block) and re.search(r'OPTIONS "";', block)


@pytest.mark.parametrize("uri", LIMITED)
def test_login_and_registration_are_limited_with_429(rendered, uri):
    for layout in ("main", "workers"):
        _unused, body = first_regex_location(rendered[layout], uri)
        assert body is not None, (layout, uri)
        assert "limit_req zone=homeserver_login burst=20 nodelay;" in body, (layout, uri, body)
        assert "limit_req_status 429;" in body
        # nginx's error log keeps level error and above (Debian's default): fail2ban's filter reads it there.
        assert "limit_req_log_level error;" in body


@pytest.mark.parametrize("uri", NOT_LIMITED)
def test_other_endpoints_are_not_limited(rendered, uri):
    for layout in ("main", "workers"):
        _unused, body = first_regex_location(rendered[layout], uri)
        assert body is None or "limit_req" not in body, (layout, uri, body)


def test_limited_endpoints_go_where_the_worker_routes_send_them(rendered):
    """With a client_reader, login and register still reach it (limited); the requestToken ones stay on main."""
    _unused, body = first_regex_location(rendered["workers"], "/_matrix/client/v3/login")
    assert "proxy_pass http://homeserver_synapse_client_reader;" in body
    _unused, body = first_regex_location(rendered["workers"], "/_matrix/client/v3/account/password/email/requestToken")
    assert "proxy_pass http://homeserver_synapse;" in body
    _unused, body = first_regex_location(rendered["main"], "/_matrix/client/v3/login")
    assert "proxy_pass http://homeserver_synapse;" in body


def test_limited_routes_match_the_worker_routes():
    """Every limited endpoint a worker serves is one of that worker type's routes (Synapse's docs/workers.md)."""
    with open(os.path.join(ROOT, "roles", "reverse_proxy", "vars", "main.yml"), encoding="utf-8") as handle:
        constants = yaml.safe_load(handle)
    routes = {}
    for route in constants["__reverse_proxy_worker_routes"]:
        if not route.get("get_only"):
            routes.setdefault(route["type"], set()).update(route["regexes"])
    for route in constants["__reverse_proxy_login_limit_routes"]:
        if "worker" in route:
            assert route["regex"] in routes[route["worker"]], route


def test_the_limit_can_be_turned_off(rendered):
    assert "limit_req" not in rendered["off"]
    _unused, body = first_regex_location(rendered["off"], "/_matrix/client/v3/login")
    assert body.strip() == "proxy_pass http://homeserver_synapse;"


@pytest.mark.ansible_case(vhost(
    reverse_proxy_wired_locations=[{"path": "/grafana/", "proxy_pass": "http://10.0.0.41:3000", "websocket": True,
                                    "allow": ["127.0.0.1", "::1", "192.0.2.0/24"]}],
    reverse_proxy_extra_locations=[{"path": "/stats/", "proxy_pass": "http://127.0.0.1:3001"}]))
def test_grafana_location_allows_the_wired_sources_only(ansible_result):
    files, _unused = ansible_result
    found = dict(locations(files[VHOST]))
    lines = [line.strip() for line in found["/grafana/"].splitlines()]
    # allow/deny before anything is proxied; nginx checks them in order, the first match decides.
    assert lines[:4] == ["allow 127.0.0.1;", "allow ::1;", "allow 192.0.2.0/24;", "deny all;"], lines
    assert "proxy_pass http://10.0.0.41:3000;" in lines
    # A location without allow is served to everyone (the admin's own).
    assert "deny" not in found["/stats/"]


@pytest.mark.ansible_case(vhost(
    reverse_proxy_wired_locations=[{"path": "/grafana/", "proxy_pass": "http://127.0.0.1:3000", "allow": []}]))
def test_grafana_location_with_an_empty_allow_list_denies_everyone(ansible_result):
    files, _unused = ansible_result
    found = dict(locations(files[VHOST]))
    assert [line.strip() for line in found["/grafana/"].splitlines()][0] == "deny all;"


# fail2ban: the jails the wiring turns on, rendered.

def jails(rendered):
    """The jails of a rendered homeserver.local (a Render of the fail2ban role's)."""
    files, _unused = rendered
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(files["homeserver.local.j2"])
    return parser


@pytest.mark.ansible_case(Render("fail2ban", ["homeserver.local.j2"], {
    "fail2ban_synapse_enabled": False, "fail2ban_nginx_login_enabled": True, "fail2ban_nginx_limit_req_enabled": True}))
def test_proxy_jails_read_nginx_logs_and_ban_the_matrix_ports(ansible_result):
    parser = jails(ansible_result)
    assert parser["matrix-synapse"]["enabled"] == "false"
    login, limit = parser["matrix-synapse-nginx"], parser["nginx-limit-req"]
    assert (login["enabled"], login["filter"], login["logpath"]) == ("true", "matrix-synapse-nginx",
                                                                     "/var/log/nginx/access.log")
    assert login["maxretry"] == "10" and login["port"] == "http,https,8448"
    assert (limit["enabled"], limit["logpath"], limit["port"]) == ("true", "/var/log/nginx/error.log", "http,https,8448")


@pytest.mark.ansible_case(Render("fail2ban", ["homeserver.local.j2"]))
def test_role_defaults_keep_the_single_host_jails(ansible_result):
    parser = jails(ansible_result)
    assert [s for s in parser.sections() if parser[s].get("enabled") == "true"] == ["sshd", "matrix-synapse"]


# The filters, through the real fail2ban-regex.

def _lines(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]


def _banned(line, filter_path):
    if FAIL2BAN_REGEX is None:
        message = "fail2ban-regex is not installed (tests/harness/ensure_fail2ban.sh installs it; make unit runs it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)
    if not os.path.exists(filter_path):
        pytest.fail("%s is missing: Debian's fail2ban ships it" % filter_path)
    proc = subprocess.run([FAIL2BAN_REGEX, "--out", "ip", line, filter_path], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.mark.parametrize("line", _lines("nginx-failed-logins.log"))
def test_failed_logins_in_nginx_access_log_ban_the_client(line):
    assert _banned(line, LOGIN_FILTER) == line.split(" ", 1)[0], line


@pytest.mark.parametrize("line", _lines("nginx-other-requests.log"))
def test_other_nginx_requests_do_not_match(line):
    assert _banned(line, LOGIN_FILTER) == "", line


@pytest.mark.parametrize("line", _lines("nginx-limit-req.log"))
def test_limit_req_refusals_ban_the_client(line):
    assert _banned(line, LIMIT_REQ_FILTER) == re.search(r", client: (\S+),", line).group(1), line
