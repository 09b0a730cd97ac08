"""Regression: containerd 2.x missed the bridge CNI configuration written after it started (its
watcher skips files renamed into /etc/cni/net.d), so real nodes stayed NotReady with "cni plugin
not initialized". The pod network is written first, and a later change restarts containerd."""

from __future__ import annotations

import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _load(*path):
    with open(os.path.join(REPO, *path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_pod_network_play_runs_before_the_container_runtime():
    roles = [role["role"] for play in _load("playbooks", "nodes.yml") for role in play.get("roles", [])]
    assert roles.index("kubebin.cluster.pod_network") < roles.index("kubebin.cluster.containerd")


def test_a_changed_cni_configuration_restarts_a_running_containerd():
    task = next(t for t in _load("roles", "pod_network", "tasks", "bridge.yml")
                if any("10-kubebin.conflist.j2" in f["content"] for f in t.get("kubebin.cluster.host_files", {}).get("files", [])))
    handler = next(h for h in _load("roles", "pod_network", "handlers", "main.yml") if h.get("listen") == task["notify"])
    assert handler["ansible.builtin.command"]["argv"] == ["systemctl", "try-restart", "containerd.service"]
