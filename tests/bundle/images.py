# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test bundle's images, built locally with no registry, as `ctr export` archives (oci.py).

- pause (the pod sandbox): upstream's build/pause/linux/pause.c from the Kubernetes module, compiled
  static as its Makefile does, in an otherwise empty image; tagged with the TAG of that Makefile.
- CoreDNS: the coredns program built from its module (recipes.py), alone in an image, named as the
  coredns role names it.
- busybox (purpose "extra"): Debian's static busybox, the image the scenarios run test pods with.
- agnhost (purpose "extra"): upstream's e2e test server, test/images/agnhost of the Kubernetes
  module (built with the kube programs, recipes.py), alone in an image under its release name and
  the tag of its VERSION file; verify.yml's admission webhook and aggregated API run it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import oci  # pylint: disable=import-error

BUSYBOX = "/bin/busybox"
TEST_IMAGE_REPO = "kubebin.test/busybox"


def _busybox_version() -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "busybox-static"], capture_output=True, text=True, check=False, timeout=60)
    if out.returncode != 0 or not os.path.isfile(BUSYBOX):
        raise SystemExit("the test image needs Debian's busybox-static (apt-get install busybox-static)")
    return out.stdout.split(":")[-1].split("-")[0]


def extra_sources() -> list:
    """What decides the images besides the built programs (part of the bundle's cache key)."""
    from cache import sha256_file  # pylint: disable=import-outside-toplevel,import-error
    return [_busybox_version(), sha256_file(BUSYBOX), shutil.which("gcc") and _gcc_version()]


def _gcc_version() -> str:
    return subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def pause_tag(kube_module_dir: str) -> str:
    with open(os.path.join(kube_module_dir, "build", "pause", "Makefile"), encoding="utf-8") as handle:
        match = re.search(r"^TAG \?= (\S+)$", handle.read(), re.M)
    if not match:
        raise SystemExit("no TAG in %s/build/pause/Makefile" % kube_module_dir)
    return match.group(1)


def build_pause(kube_module_dir: str, out_path: str, tag: str, kube_version: str) -> None:
    source = os.path.join(kube_module_dir, "build", "pause", "linux", "pause.c")
    # CFLAGS of build/pause/Makefile; REV is its `git describe`, here the Kubernetes release.
    subprocess.run(["gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=v%s-%s" % (tag, kube_version),
                    "-o", out_path, source], check=True, capture_output=True, timeout=300)


def agnhost_version(kube_module_dir: str) -> str:
    with open(os.path.join(kube_module_dir, "test", "images", "agnhost", "VERSION"), encoding="utf-8") as handle:
        return handle.read().strip()


def coredns_image_name(version: str) -> str:
    """The upstream release name, so the image stands where a registry pull would have put it."""
    return "registry.k8s.io/coredns/coredns:v%s" % version


def build_all(bundle: str, arch: str, built: dict, _extra: list) -> list:
    """Write every image archive under images/ARCH/ and return their manifest entries."""
    kube = built["kubernetes"]
    entries = []

    def add(purpose, name, file_name, files, entrypoint, source, symlinks=None, cmd=None):
        rel = "images/%s/%s" % (arch, file_name)
        os.makedirs(os.path.join(bundle, os.path.dirname(rel)), exist_ok=True)
        digest = oci.write_image(os.path.join(bundle, rel), name, arch, files, entrypoint, symlinks=symlinks, cmd=cmd)
        entries.append({"name": name, "arch": arch, "file": rel, "sha256": digest, "purpose": purpose, "source": source})

    with tempfile.TemporaryDirectory(prefix="kubebin-pause-") as tmp:
        tag = pause_tag(kube["meta"]["module_dir"])
        pause = os.path.join(tmp, "pause")
        build_pause(kube["meta"]["module_dir"], pause, tag, kube["version"])
        add("sandbox", "registry.k8s.io/pause:%s" % tag, "pause-%s.tar" % tag, [("pause", pause, 0o755)], ["/pause"],
            "build/pause/linux/pause.c of k8s.io/kubernetes@%s, gcc -static" % kube["version"])

    coredns = built["coredns"]
    bare = coredns["version"].lstrip("v")
    add("coredns", coredns_image_name(bare), "coredns-%s.tar" % bare, [("coredns", coredns["programs"]["coredns"], 0o755)],
        ["/coredns"], "coredns built from Go module github.com/coredns/coredns@%s" % coredns["version"])

    agnhost = agnhost_version(kube["meta"]["module_dir"])
    add("extra", "registry.k8s.io/e2e-test-images/agnhost:%s" % agnhost, "agnhost-%s.tar" % agnhost,
        [("agnhost", kube["programs"]["agnhost"], 0o755)], ["/agnhost"],
        "test/images/agnhost of k8s.io/kubernetes@%s" % kube["version"], cmd=["pause"])

    version = _busybox_version()
    links = {"bin/%s" % tool: "busybox" for tool in ("sh", "sleep", "wget", "nc", "cat", "ls", "nslookup", "ip", "ping", "hostname")}
    add("extra", "%s:%s" % (TEST_IMAGE_REPO, version), "busybox-%s.tar" % version, [("bin", None, 0o755), ("bin/busybox", BUSYBOX, 0o755)],
        [], "Debian busybox-static %s" % version, symlinks=links, cmd=["/bin/sh"])
    return entries
