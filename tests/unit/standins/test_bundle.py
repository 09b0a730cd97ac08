# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bundle builder produces the documented bundle format with verifiable checksums."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from .conftest import REPO

BUILDER = os.path.join(REPO, "tests", "bundle", "build_test_bundle.py")


@pytest.mark.skipif(shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None, reason="needs apt-get and dpkg-deb")
def test_bundle_manifest_and_shapes(tmp_path):
    out = tmp_path / "bundle"
    result = subprocess.run([sys.executable, BUILDER, str(out), "--arch", "amd64"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert 'kubebin_kube_version: "1.36.4"' in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 1
    by_name = {a["name"]: a for a in manifest["artifacts"]}
    assert set(by_name) == {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl",
                            "etcd", "containerd", "runc", "cni-plugins"}
    for artifact in manifest["artifacts"]:
        with open(out / artifact["file"], "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == artifact["sha256"], artifact["file"]
    etcd = by_name["etcd"]
    with tarfile.open(out / etcd["file"]) as archive:
        top = "etcd-v%s-linux-amd64" % etcd["version"]
        assert {"%s/etcd" % top, "%s/etcdctl" % top} <= set(archive.getnames())
    with tarfile.open(out / by_name["containerd"]["file"]) as archive:
        assert {"bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"} <= set(archive.getnames())
    with tarfile.open(out / by_name["cni-plugins"]["file"]) as archive:
        assert {"./bridge", "./host-local", "./loopback", "./portmap"} <= set(archive.getnames())
    assert by_name["runc"]["file"].endswith("/runc.amd64")
    version = subprocess.run([str(out / by_name["kubelet"]["file"]), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert version.stdout == "Kubernetes v1.36.4\n"
    # A rerun with unchanged inputs is a no-op that keeps every checksum.
    again = subprocess.run([sys.executable, BUILDER, str(out), "--arch", "amd64"], capture_output=True, text=True, timeout=120, check=False)
    assert "up to date" in again.stdout
    assert json.loads((out / "manifest.json").read_text()) == manifest
