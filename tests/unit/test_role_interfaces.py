"""Each role's meta/argument_specs.yml documents exactly the variables of its defaults/main.yml."""

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(
    name
    for name in os.listdir(os.path.join(ROOT, "roles"))
    if os.path.isdir(os.path.join(ROOT, "roles", name))
)


def _load(role, *parts):
    with open(os.path.join(ROOT, "roles", role, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert {"postgres", "synapse"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults = _load(role, "defaults", "main.yml")
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults), (
        f"{role}: only in defaults: {sorted(set(defaults) - set(options))}, "
        f"only in argument_specs: {sorted(set(options) - set(defaults))}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_carry_the_role_prefix(role):
    prefix = role + "_"
    defaults = _load(role, "defaults", "main.yml")
    assert [name for name in defaults if not name.startswith(prefix)] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described_and_typed(role):
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        assert spec.get("type"), f"{role}: {name} has no type"
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec["description"] != name, f"{role}: {name} is described by its own name"


def test_role_docs_match_argument_specs():
    """docs/roles/<role>.md is regenerated from the argument specs (tests/harness/role_docs.py)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "harness", "role_docs.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_module_docs_match_documentation():
    """docs/modules/<module>.md ends with the reference generated from the module (tests/harness/module_docs.py)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "harness", "module_docs.py"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ROLES)
def test_release_vars_define_the_same_constants(role):
    """vars/Debian-12.yml and vars/Debian-13.yml exist together and set the same internal names."""
    releases = ("Debian-12.yml", "Debian-13.yml")
    present = [name for name in releases if os.path.exists(os.path.join(ROOT, "roles", role, "vars", name))]
    if not present:
        return
    assert present == list(releases), f"{role}: only {present}"
    keys = [sorted(_load(role, "vars", name)) for name in releases]
    assert keys[0] == keys[1], f"{role}: {releases[0]} sets {keys[0]}, {releases[1]} sets {keys[1]}"
    assert all(key.startswith(f"__{role}_") for key in keys[0]), keys[0]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_checks_the_release_first(role):
    """tasks/main.yml imports tasks/release.yml before anything else, whatever the tags."""
    tasks = _load(role, "tasks", "main.yml")
    assert tasks[0].get("ansible.builtin.import_tasks") == "release.yml", tasks[0]
    assert tasks[0].get("tags") == ["always"], tasks[0]


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_documents_only_role_variables(role):
    """tasks_from entry points (monitoring's exporters and grafana) have specs of their own, drawn from defaults."""
    defaults = _load(role, "defaults", "main.yml")
    for entry, spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].items():
        assert spec.get("short_description"), f"{role}: entry point {entry} has no short_description"
        assert set(spec.get("options", {})) <= set(defaults), (
            f"{role}: entry point {entry} documents {sorted(set(spec['options']) - set(defaults))}, not in defaults")
        if entry != "main":
            assert os.path.exists(os.path.join(ROOT, "roles", role, "tasks", entry + ".yml")), (role, entry)


def test_monitoring_has_one_entry_point_per_job():
    specs = _load("monitoring", "meta", "argument_specs.yml")["argument_specs"]
    assert set(specs) == {"main", "exporters", "grafana"}


def test_only_the_reverse_proxy_writes_nginx_configuration():
    """One job per role: other roles hand the reverse proxy what they need (reverse_proxy_wired_locations)."""
    offenders = []
    for role in ROLES:
        if role == "reverse_proxy":
            continue
        for kind in ("tasks", "templates", "files", "defaults", "vars"):
            top = os.path.join(ROOT, "roles", role, kind)
            for folder, _dirs, files in os.walk(top):
                for name in files:
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        if "/etc/nginx" in handle.read():
                            offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []
