"""The binaries role's decisions, as filters: artifacts per architecture, files per host, what differs."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.binaries import (binaries_artifacts, binaries_differing, binaries_files,
                                                                         binaries_writes)

CATALOG = {"kubernetes-node": {"name": "kubernetes-node", "version": "1.36.4"}, "cni-plugins": {"name": "cni-plugins", "version": "1.9.1"}}
ARTIFACT_OF = {"kubelet": "kubernetes-node", "kube-proxy": "kubernetes-node", "cni-plugins": "cni-plugins"}
OBTAINED = {
    "kubernetes-node/1.36.4/amd64": {"files": {"kubelet": {"path": "/c/kubelet", "sha256": "k1"},
                                               "kube-proxy": {"path": "/c/kube-proxy", "sha256": "p1"}}},
    "cni-plugins/1.9.1/amd64": {"files": {"loopback": {"path": "/c/loopback", "sha256": "l1"},
                                          "bridge": {"path": "/c/bridge", "sha256": "b1"}}},
}


def _files(wanted):
    return binaries_files(wanted, ARTIFACT_OF, CATALOG, OBTAINED, "amd64", "/usr/local/bin", "/opt/cni/bin")


@pytest.mark.parametrize("arches", ["amd64, arm64,amd64", ["amd64", "arm64", " amd64 "]])
def test_artifacts_once_per_architecture_in_the_order_given(arches):
    entries = list(CATALOG.values())
    got = binaries_artifacts(entries, arches)
    assert [(item["name"], item["arch"]) for item in got] == [
        ("kubernetes-node", "amd64"), ("cni-plugins", "amd64"), ("kubernetes-node", "arm64"), ("cni-plugins", "arm64")]
    assert "arch" not in entries[0], "the catalog itself is left as it was"


def test_files_in_the_order_wanted_cni_plugins_one_per_plugin_sorted():
    assert _files(["kube-proxy", "cni-plugins", "kubelet"]) == [
        {"binary": "kube-proxy", "src": "/c/kube-proxy", "sha256": "p1", "dest": "/usr/local/bin/kube-proxy"},
        {"binary": "cni-plugins", "src": "/c/bridge", "sha256": "b1", "dest": "/opt/cni/bin/bridge"},
        {"binary": "cni-plugins", "src": "/c/loopback", "sha256": "l1", "dest": "/opt/cni/bin/loopback"},
        {"binary": "kubelet", "src": "/c/kubelet", "sha256": "k1", "dest": "/usr/local/bin/kubelet"},
    ]
    assert _files([]) == []


def test_files_of_an_artifact_the_controller_did_not_obtain_fail_naming_it():
    with pytest.raises(AnsibleFilterError, match="kubelet needs kubernetes-node/1.36.4/arm64"):
        binaries_files(["kubelet"], ARTIFACT_OF, CATALOG, OBTAINED, "arm64", "/usr/local/bin", "/opt/cni/bin")


def test_an_unknown_binary_or_one_its_archive_lacks_fails_naming_both():
    with pytest.raises(AnsibleFilterError, match="kubelett is not a binary of any artifact; known: cni-plugins, kube-proxy, kubelet"):
        _files(["kubelett"])
    lacking = {key: {"files": {name: f for name, f in entry["files"].items() if name != "kube-proxy"}} for key, entry in OBTAINED.items()}
    with pytest.raises(AnsibleFilterError, match="kubernetes-node/1.36.4/amd64 has no kube-proxy; it holds kubelet"):
        binaries_files(["kube-proxy"], ARTIFACT_OF, CATALOG, lacking, "amd64", "/usr/local/bin", "/opt/cni/bin")


def test_differing_files_are_the_missing_ones_and_those_of_other_content_mode_or_owner():
    files = _files(["kubelet", "kube-proxy", "cni-plugins"])
    right = {"checksum": None, "mode": "0755", "uid": 0, "gid": 0}
    present = [
        dict(right, path="/usr/local/bin/kubelet", checksum="k1"),           # as installed
        dict(right, path="/usr/local/bin/kube-proxy", checksum="old"),       # other content
        dict(right, path="/opt/cni/bin/bridge", checksum="b1", mode="0775"),  # other mode
        dict(right, path="/opt/cni/bin/loopback", checksum="l1", uid=1000),   # other owner
    ]
    assert [item["dest"] for item in binaries_differing(files, present)] == [
        "/usr/local/bin/kube-proxy", "/opt/cni/bin/bridge", "/opt/cni/bin/loopback"]
    assert binaries_differing(files, None) == files
    assert binaries_differing(files[:1], present) == []


def test_writes_are_the_marks_first_then_the_binaries_executable():
    to_copy = _files(["kubelet"])
    writes = binaries_writes(to_copy, ["/etc/kubernetes/kubelet.restart-pending"], "restart\n")
    assert writes == [{"dest": "/etc/kubernetes/kubelet.restart-pending", "mode": "0644", "content": "restart\n"},
                      dict(to_copy[0], mode="0755")]
    assert "mode" not in to_copy[0]
    assert binaries_writes([], [], "x") == []
