"""The user tags of site.yml select what the README promises, checked on the real playbook."""

import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(REPO, "inventories", "sample", "hosts.yml")


def listed_tasks(*args):
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run(
        [playbook, "-i", INVENTORY, os.path.join(REPO, "site.yml"), "--list-tasks"] + list(args),
        capture_output=True, text=True, check=True, timeout=180,
    )
    names = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s{6}(.+?)\tTAGS:", line)
        if match and "Validating arguments" not in match.group(1):
            names.append(match.group(1).split(" : ")[-1])
    return names


@pytest.fixture(scope="module")
def certs_tasks():
    return listed_tasks("--tags", "certs")


def test_certs_tag_generates_and_distributes_to_every_component(certs_tasks):
    assert "Generate the cluster PKI" in certs_tasks
    assert "Install the etcd certificates" in certs_tasks
    # The control-plane play pushes once per host for its three components, the node play once for
    # the kubelet and kube-proxy (the certs role itself, in each play).
    assert certs_tasks.count("Push the certificates, keys and kubeconfigs of this host's sets") == 2


def test_certs_tag_changes_nothing_else(certs_tasks):
    allowed = {
        "Check the inventory and the settings of every role",
        "Generate the cluster PKI",
        "Install the etcd certificates",
        "Push the certificates, keys and kubeconfigs of this host's sets",
        "Notify the components whose files changed",
        # Reads facts only (tagged always, like the implicit fact gathering of a play).
        "Gather the minimal facts, once per run",
    }
    assert set(certs_tasks) <= allowed, sorted(set(certs_tasks) - allowed)


def test_expiry_report_runs_only_when_asked():
    assert "Report the expiry of certificates and kubeconfigs" not in listed_tasks()
    assert "Report the expiry of certificates and kubeconfigs" in listed_tasks("--tags", "certs_check")


def test_verify_runs_only_when_asked_and_alone():
    assert "Report every check" not in listed_tasks()
    verify = listed_tasks("--tags", "verify")
    assert "Report every check" in verify
    assert "Generate the cluster PKI" not in verify
    assert not [name for name in verify if "Push" in name or "Install" in name], verify


@pytest.mark.parametrize("tag, expected", [
    ("etcd", "Install the etcd certificates"),
    ("master", "Push the certificates, keys and kubeconfigs of this host's sets"),
    ("node", "Push the certificates, keys and kubeconfigs of this host's sets"),
])
def test_component_tags_select_their_part(tag, expected):
    tasks = listed_tasks("--tags", tag)
    assert any(expected in name for name in tasks), tasks
    assert "Generate the cluster PKI" not in tasks
