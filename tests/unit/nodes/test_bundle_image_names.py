"""The sandbox and CoreDNS images follow the offline bundle's manifest (purpose sandbox and
coredns, per architecture), and the inventory still wins; rendered by real ansible-playbook."""

from __future__ import annotations

import json
import os
import re

from test_nodes_render import HOSTS, render  # pylint: disable=import-error

OFFLINE_PAUSE = "registry.example/offline/pause:3.10.1"
OFFLINE_COREDNS = "registry.example/offline/coredns:v1.12.1"


def _sandbox(config: str) -> str:
    return re.search(r'^\s*(?:sandbox_image|sandbox) = "([^"]+)"', config, re.M).group(1)


def _coredns(manifest: str) -> str:
    return re.search(r"^\s*image: (\S+)", manifest, re.M).group(1)


def test_images_come_from_the_bundle_unless_the_inventory_says_otherwise(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    images = [{"name": OFFLINE_PAUSE, "arch": "amd64", "file": "images/amd64/pause.tar", "sha256": "1" * 64, "purpose": "sandbox"},
              {"name": OFFLINE_COREDNS, "arch": "amd64", "file": "images/amd64/coredns.tar", "sha256": "2" * 64, "purpose": "coredns"},
              {"name": "registry.example/offline/busybox:1", "arch": "arm64", "file": "images/arm64/bb.tar", "sha256": "3" * 64,
               "purpose": "extra"}]
    (bundle / "manifest.json").write_text(json.dumps({"format": 1, "artifacts": [], "images": images}))
    hosts = {
        "cp1": HOSTS["cp1"],                                                     # amd64, containerd 1.6: version 2 file
        "w1": dict(HOSTS["w1"], containerd_sandbox_image="registry.example/own/pause:1", coredns_image="registry.example/own/dns:1"),
        "w2": dict(HOSTS["w2"], kubebin_arch="arm64"),                           # the bundle has no arm64 sandbox
    }
    out = str(tmp_path / "out")
    extra = {"kubebin_artifacts_source": "bundle", "kubebin_bundle_dir": str(bundle),
             "kubebin_download_cache_dir": str(tmp_path / "cache")}
    render(out, hosts=hosts, extra=extra)

    def read(host, name):
        with open(os.path.join(out, host, name), encoding="utf-8") as handle:
            return handle.read()

    assert _sandbox(read("cp1", "config.toml")) == OFFLINE_PAUSE
    assert _sandbox(read("w1", "config.toml")) == "registry.example/own/pause:1"
    assert _sandbox(read("w2", "config.toml")) == "registry.k8s.io/pause:3.10.1"
    assert _coredns(read("cp1", "coredns.yaml")) == OFFLINE_COREDNS
    assert _coredns(read("w2", "coredns.yaml")) == OFFLINE_COREDNS                # one Deployment: any architecture
    assert _coredns(read("w1", "coredns.yaml")) == "registry.example/own/dns:1"


def test_without_a_bundle_the_upstream_names_stay(tmp_path):
    out = str(tmp_path / "out")
    render(out, hosts={"cp1": HOSTS["cp1"]}, nodes=["cp1"])
    with open(os.path.join(out, "cp1", "config.toml"), encoding="utf-8") as handle:
        assert _sandbox(handle.read()) == "registry.k8s.io/pause:3.10.1"
    with open(os.path.join(out, "cp1", "coredns.yaml"), encoding="utf-8") as handle:
        assert _coredns(handle.read()) == "registry.k8s.io/coredns/coredns:v1.12.1"
