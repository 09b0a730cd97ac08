"""Argument-spec checks of preflight: one row per kind of mistake, and the values that must pass."""

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.preflight_spec import (
    Unknown,
    is_int,
    option_problems,
    per_host,
    unknown_variables,
)

BAD = [
    ({"type": "str"}, ["a", "b"], "x must be a string, got a list [\"a\", \"b\"]; give a single value"),
    ({"type": "str"}, True, "x must be a string, got a boolean; quote it"),
    ({"type": "str"}, {"a": 1}, "x must be a string, got a mapping"),
    ({"type": "path"}, ["/a"], "x must be a path, got a list"),
    ({"type": "int"}, "ten", "x must be an integer, got a string 'ten'"),
    ({"type": "int"}, True, "x must be an integer, got a boolean true"),
    ({"type": "int"}, [1], "x must be an integer, got a list [1]"),
    ({"type": "bool"}, "maybe", "x must be a boolean, got a string 'maybe'; give true or false"),
    ({"type": "bool"}, 2, "x must be a boolean, got an integer 2"),
    ({"type": "list"}, "a,b", "x must be a list, got a string 'a,b'; write it as a YAML list: [a, b]"),
    ({"type": "list"}, {"a": 1}, "x must be a list, got a mapping"),
    ({"type": "dict"}, ["a"], "x must be a mapping, got a list [\"a\"]"),
    ({"type": "dict"}, "a=1", "x must be a mapping, got a string 'a=1'"),
    ({"type": "list", "elements": "str"}, ["ok", ["nested"]], "x[1] must be a string, got a list"),
    ({"type": "list", "elements": "dict"}, [{"a": 1}, "b"], "x[1] must be a mapping, got a string 'b'"),
    ({"type": "list", "elements": "str", "choices": ["a", "b"]}, ["a", "c"], "x[1] 'c' is not one of a, b"),
    ({"type": "str", "choices": ["bridge", "calico"]}, "flanel", "x 'flanel' is not one of bridge, calico"),
    ({"type": "int", "required": True}, None, "x is required"),
    ({"type": "float"}, "fast", "x must be a number, got a string 'fast'"),
]


@pytest.mark.parametrize("spec, value, expected", BAD)
def test_a_wrong_value_is_named_with_what_would_be_valid(spec, value, expected):
    problems = option_problems("x", spec, value)
    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert "<class" not in problems[0] and "u'" not in problems[0]


GOOD = [
    ({"type": "str"}, "text"),
    ({"type": "str"}, 6443),
    ({"type": "str"}, None),
    ({"type": "int"}, 6443),
    ({"type": "int"}, "6443"),
    ({"type": "bool"}, False),
    ({"type": "bool"}, "yes"),
    ({"type": "bool", "choices": [True, False]}, "no"),
    ({"type": "list"}, []),
    ({"type": "list", "elements": "str"}, ["a", 1]),
    ({"type": "dict"}, {}),
    ({"type": "raw"}, ["anything"]),
    ({"type": "float"}, 1.5),
    ({"type": "str", "choices": ["a"]}, "a"),
    ({"type": "int"}, Unknown("needs facts")),
]


@pytest.mark.parametrize("spec, value", GOOD)
def test_a_valid_value_passes(spec, value):
    assert option_problems("x", spec, value) == []


def test_a_typo_in_a_role_variable_is_named_with_the_closest_variable():
    known = {"kubelet_max_pods": {}, "kubelet_node_labels": {}, "kubebin_pod_cidr": {}}
    problems = unknown_variables({"kubelet_max_pod", "kubebin_pod_cdir", "my_own_var", "_internal", "kubelet_max_pods"},
                                 known, ["kubebin_", "kubelet_"])
    assert problems == [
        "kubebin_pod_cdir is not a variable of any kubebin.cluster role (it has the prefix kubebin_); did you mean kubebin_pod_cidr?",
        "kubelet_max_pod is not a variable of any kubebin.cluster role (it has the prefix kubelet_); did you mean kubelet_max_pods?",
    ]


def test_a_renamed_variable_is_named_with_its_new_name_not_a_close_match():
    known = {"etcd_metrics_port": {}, "kubebin_etcd_client_port": {}}
    problems = unknown_variables({"etcd_client_port"}, known, ["etcd_"], {"etcd_client_port": "kubebin_etcd_client_port"})
    assert problems == ["etcd_client_port was renamed kubebin_etcd_client_port; set that instead"]


def test_a_problem_of_every_host_is_reported_once_and_others_name_their_hosts():
    merged = per_host({"a": ["shared", "only a"], "b": ["shared"], "c": ["shared", "only c"]}, ["a", "b", "c"])
    assert merged == ["shared", "only a (host a)", "only c (host c)"]


@pytest.mark.parametrize(
    "value, whole, with_text",
    [
        (3, True, True),
        (-3, True, True),
        (True, False, False),
        ("3", False, True),
        (" -3 ", False, True),
        ("3.0", False, False),
        (3.0, False, False),
        (None, False, False),
        ([3], False, False),
    ],
)
def test_is_int_counts_text_only_when_asked(value, whole, with_text):
    assert is_int(value) is whole
    assert is_int(value, text=True) is with_text
