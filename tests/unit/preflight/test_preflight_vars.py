"""Which settings preflight may template once for all hosts: only those that reach no variable
whose raw value differs between hosts."""

import pytest

from ansible_collections.kubebin.cluster.plugins.plugin_utils.preflight_vars import (
    UNREADABLE,
    host_dependent,
    is_plain,
    referenced_names,
    varying_names,
)


@pytest.mark.parametrize(
    "value, names",
    [
        ("plain", set()),
        ("{{ a }}-{{ b.c }}", {"a", "b"}),
        ("{{ x | kubebin.cluster.bundle_image('sandbox', arch) }}", {"x", "arch"}),
        ("{% for h in groups['all'] %}{{ hostvars[h].ip }}{% endfor %}", {"groups", "hostvars"}),
        ("{% set ns = namespace(v=[]) %}{{ ns.v + [y] }}", {"namespace", "y"}),
        ({"k": ["{{ a }}", {"{{ b }}": 1}]}, {"a", "b"}),
        ("{{ unclosed", {UNREADABLE}),
    ],
)
def test_referenced_names(value, names):
    assert referenced_names(value) == names


def test_plain_values_need_no_templating():
    assert is_plain({"a": [1, "x", {"b": None}]})
    assert not is_plain({"a": ["{{ b }}"]})
    assert not is_plain("{# comment #}")


def test_varying_names_are_those_that_differ_or_are_missing_somewhere():
    raw = {"h1": {"ip": "10.0.0.1", "same": [1], "only_h1": 1}, "h2": {"ip": "10.0.0.2", "same": [1]}}
    assert varying_names(raw) == {"ip", "only_h1", UNREADABLE}


def test_a_setting_depends_on_the_host_through_any_chain_of_variables():
    env = {
        "node_ip": "{{ ip | default(ansible_host) }}",
        "bind": "{{ node_ip }}",
        "members": "{% for h in groups['etcd'] %}{{ hostvars[h].ip }}{% endfor %}",
        "port": 2379,
        "url": "https://{{ bind }}:{{ port }}",
        "cycle_a": "{{ cycle_b }}",
        "cycle_b": "{{ cycle_a }}",
        "broken": "{{ oops",
    }
    varying = varying_names({"h1": {"ip": "1"}, "h2": {"ip": "2"}})
    assert host_dependent(env, env, varying) == {"node_ip", "bind", "url", "broken"}
