"""remove_node.yml and reset.yml refuse before any host is contacted: real ansible-playbook runs
against an inventory of hosts that do not exist, so a run that reached one would fail unreachable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "playbooks")


def _hosts(*names):
    return {name: {"ip": "192.0.2.%d" % (10 + index), "ansible_host": "%s.invalid" % name} for index, name in enumerate(names)}


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle") / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "ssh", "ansible_python_interpreter": sys.executable},
        "hosts": _hosts("spare"),
        "children": {
            "etcd": {"hosts": _hosts("cp1")},
            "k8s_cluster": {"children": {"kube_control_plane": {"hosts": _hosts("cp1")}, "kube_node": {"hosts": _hosts("w1", "w2")}}},
        },
    }}))
    return str(path)


def _run(inventory, playbook, *args):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, os.path.join(PLAYBOOKS, playbook)]
    done = subprocess.run(command + list(args), capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0"))
    output = done.stdout + done.stderr
    assert "UNREACHABLE" not in output, "a host was contacted: " + output[-3000:]
    return done.returncode, output


@pytest.mark.parametrize("args, message", [
    ([], "remove_node.yml removes one worker, named with -e node=NAME"),
    (["-e", "node=cp1"], "node 'cp1' is in kube_control_plane and etcd: remove_node.yml removes workers only"),
    (["-e", "node=spare"], "node 'spare' is not in kube_node"),
    (["-e", "node=w9"], "node 'w9' is not a host of the inventory"),
])
def test_remove_node_refuses_before_contacting_a_host(inventory, args, message):
    returncode, output = _run(inventory, "remove_node.yml", *args)
    assert returncode != 0 and message in output, output[-3000:]


@pytest.mark.parametrize("args, messages", [
    (["--limit", "w2"], ["confirm with -e reset_confirm=true"]),
    (["-e", "reset_confirm=true"], ["reset.yml needs --limit naming the hosts to reset"]),
    (["--limit", "cp1,w1", "-e", "reset_confirm=true"], ["host 'cp1' is in kube_control_plane and etcd"]),
    (["-e", "reset_confirm=false"], ["confirm with -e reset_confirm=true", "needs --limit"]),
])
def test_reset_refuses_before_contacting_a_host(inventory, args, messages):
    returncode, output = _run(inventory, "reset.yml", *args)
    assert returncode != 0, output[-3000:]
    for message in messages:
        assert message in output, output[-3000:]
