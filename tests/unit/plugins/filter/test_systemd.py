"""systemd_flags: the ExecStart flag lines of the control-plane units, as the templates wrote them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.systemd import systemd_directives, systemd_flags


def test_flags_are_sorted_continuation_lines_with_booleans_lower_case():
    text = systemd_flags({"v": 2, "profiling": False, "bind-address": "127.0.0.1", "Authorization-Mode": "Node,RBAC"})
    assert text == (" \\\n  --Authorization-Mode=Node,RBAC \\\n  --bind-address=127.0.0.1 \\\n  --profiling=false \\\n  --v=2")
    assert ("ExecStart=/usr/local/bin/kube-scheduler" + systemd_flags({"leader-elect": True})).splitlines() == [
        "ExecStart=/usr/local/bin/kube-scheduler \\", "  --leader-elect=true"]


def test_a_percent_sign_is_escaped_for_systemd():
    assert systemd_flags({"log-format": "%s %d"}) == " \\\n  --log-format=%%s %%d"


def test_no_flags_is_no_text():
    assert systemd_flags({}) == ""


@pytest.mark.parametrize("args, message", [
    ({"feature-gates": ["A=true"]}, r"--feature-gates: a flag value must be a string, number or boolean, got \['A=true'\]"),
    ({"token-auth-file": None}, r"--token-auth-file: a flag value must be"),
    ("--v=2", r"expects a dict of flag name -> value, got str"),
])
def test_values_a_unit_cannot_carry_are_refused(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        systemd_flags(args)


def test_directives_keep_their_order_and_render_lists_empties_and_nulls():
    text = systemd_directives({"UMask": "0077", "NoNewPrivileges": True, "CapabilityBoundingSet": "",
                               "ReadWritePaths": ["/var/lib/etcd", "/var/log/kubernetes"], "PrivateTmp": False,
                               "MemoryDenyWriteExecute": None, "Empty": []})
    assert text == ("UMask=0077\nNoNewPrivileges=true\nCapabilityBoundingSet=\n"
                    "ReadWritePaths=/var/lib/etcd\nReadWritePaths=/var/log/kubernetes\nPrivateTmp=false")
    assert systemd_directives({}) == ""


@pytest.mark.parametrize("settings, message", [
    ({"Environment": {"A": "b"}}, "Environment: a value must be"),
    ({"ReadWritePaths": [["/a"]]}, "ReadWritePaths: a value must be"),
    (["UMask=0077"], "expects a dict"),
])
def test_directives_a_unit_cannot_carry_are_refused(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        systemd_directives(settings)
