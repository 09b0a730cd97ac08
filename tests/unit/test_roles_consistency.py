"""Keep what users read true to the code: argument specs, defaults, docs and the sample inventory."""

import importlib.util
import os
import re

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(
    name for name in os.listdir(os.path.join(REPO, "roles")) if os.path.isdir(os.path.join(REPO, "roles", name))
)


def read_yaml(*parts):
    path = os.path.join(REPO, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def public_defaults(role):
    defaults = read_yaml("roles", role, "defaults", "main.yml") or {}
    return {key: value for key, value in defaults.items() if not key.startswith("_")}


@pytest.mark.parametrize("role", ROLES)
def test_role_has_argument_specs_readme_and_meta(role):
    assert read_yaml("roles", role, "meta", "argument_specs.yml"), "roles/%s/meta/argument_specs.yml missing" % role
    assert read_yaml("roles", role, "meta", "main.yml"), "roles/%s/meta/main.yml missing" % role
    assert os.path.exists(os.path.join(REPO, "roles", role, "README.md")), "roles/%s/README.md missing" % role


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_equal_defaults(role):
    specs = read_yaml("roles", role, "meta", "argument_specs.yml") or {}
    options = (specs.get("argument_specs", {}).get("main", {}) or {}).get("options") or {}
    defaults = public_defaults(role)
    undocumented = sorted(set(defaults) - set(options))
    assert not undocumented, "roles/%s: defaults without an argument spec: %s" % (role, undocumented)
    # An option without a default must be an input the caller gives, not a forgotten default.
    for key in sorted(set(options) - set(defaults)):
        assert "default" not in options[key], "roles/%s: %s has a default in argument_specs but not in defaults/main.yml" % (role, key)
    for key, value in defaults.items():
        # templated defaults too: the spec shows the same expression the role evaluates (a spec
        # may leave a default out where templating it early would fail, as kubebin_arch's facts)
        if "default" in options[key]:
            spec_default = options[key]["default"]
            assert spec_default == value, "roles/%s: %s default %r in argument_specs, %r in defaults" % (role, key, spec_default, value)


@pytest.mark.parametrize("role", ROLES)
def test_role_variables_carry_the_role_prefix(role):
    for key in public_defaults(role):
        assert key.startswith(role + "_"), (
            "roles/%s/defaults: %s should start with %s_ (internals with _)" % (role, key, role)
        )


def test_sample_inventory_documents_every_cluster_setting():
    with open(os.path.join(REPO, "inventories", "sample", "group_vars", "all.yml"), encoding="utf-8") as handle:
        sample = handle.read()
    missing = [key for key in public_defaults("kubebin") if not re.search(r"^# %s:" % re.escape(key), sample, re.M)]
    assert not missing, "inventories/sample/group_vars/all.yml does not document %s" % missing


def test_sample_inventory_is_rendered_from_the_defaults_without_internals():
    spec = importlib.util.spec_from_file_location("render_variables_doc", os.path.join(REPO, "tools", "render_variables_doc.py"))
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    with open(os.path.join(REPO, "roles", "kubebin", "defaults", "main.yml"), encoding="utf-8") as handle:
        expected = render.render_sample(handle.read())
    with open(render.SAMPLE, encoding="utf-8") as handle:
        sample = handle.read()
    assert sample == expected, "inventories/sample/group_vars/all.yml is behind: run python tools/render_variables_doc.py"
    # Internals are not settings: uncommenting one would break the roles that derive it.
    assert not re.findall(r"^# _\w+:", sample, re.M)


def test_variables_doc_lists_every_cluster_setting():
    with open(os.path.join(REPO, "docs", "variables.md"), encoding="utf-8") as handle:
        doc = handle.read()
    missing = [key for key in public_defaults("kubebin") if "`%s`" % key not in doc]
    assert not missing, "docs/variables.md does not list %s" % missing


def test_architecture_picture_ports_match_the_defaults():
    with open(os.path.join(REPO, "docs", "architecture.md"), encoding="utf-8") as handle:
        picture = re.search(r"```mermaid\n(.*?)```", handle.read(), re.S).group(1)
    defaults = {}
    for role in ROLES:
        defaults.update(read_yaml("roles", role, "defaults", "main.yml") or {})
    named = re.findall(r":(\d+) \(([a-z_]+)\)", picture)
    assert len(named) >= 7, named
    wrong = ["%s says %s, default %s" % (var, port, defaults.get(var)) for port, var in named if str(defaults.get(var)) != port]
    assert not wrong, wrong
