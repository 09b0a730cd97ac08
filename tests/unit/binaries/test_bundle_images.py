"""The bundle manifest's ``images`` part: parsing and refusals, which image each role takes,
the controller-side SHA-256 proof in the artifact module, and writing the entries on export."""

from __future__ import annotations

import json
import os
import sys
import tarfile
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter import bundle as filters
from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest as bm
from ansible_collections.kubebin.cluster.plugins.modules import artifact

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bundle"))

from oci import write_image  # noqa: E402  pylint: disable=wrong-import-position,import-error

PAUSE = "registry.k8s.io/pause:3.10.1"
COREDNS = "registry.k8s.io/coredns/coredns:v1.12.1"
DIGEST = "a" * 64


def entry(name=PAUSE, arch="amd64", purpose="sandbox", **extra):
    value = dict(name=name, arch=arch, file="images/%s/%s.tar" % (arch, name.replace("/", "_")), sha256=DIGEST, purpose=purpose, source="test")
    value.update(extra)
    return value


def test_manifest_without_images_stays_valid():
    assert bm.check_manifest({"format": 1, "artifacts": []})
    assert bm.parse_images({"format": 1, "artifacts": []}) == []


def test_images_are_normalised_and_sorted():
    images = bm.parse_images({"images": [entry(COREDNS, "arm64", "coredns"), entry(PAUSE, "amd64", sha256=DIGEST.upper()),
                                         entry(COREDNS, "amd64", "coredns", source=None)]})
    assert [(i["arch"], i["name"]) for i in images] == [("amd64", COREDNS), ("amd64", PAUSE), ("arm64", COREDNS)]
    assert images[1]["sha256"] == DIGEST and images[0]["source"] == ""


@pytest.mark.parametrize("images, message", [
    ({}, "images must be a list"),
    (["x"], r"images\[0\] is not an object"),
    ([entry(name="pause:3.10.1")], "not fully qualified"),
    ([entry(name="library/busybox:1")], "not fully qualified"),
    ([entry(name="registry.k8s.io/pause")], "not fully qualified"),
    ([entry(arch="s390x")], "arch must be one of amd64, arm64"),
    ([entry(file="../etc/passwd")], "file must be a path inside the bundle"),
    ([entry(file="/abs.tar")], "file must be a path inside the bundle"),
    ([entry(sha256="abc")], "sha256 must be 64 hex digits"),
    ([entry(purpose="dns")], "purpose must be one of sandbox, coredns, extra"),
    ([entry(), entry(purpose="extra")], "listed twice"),
    ([entry(), entry(name="registry.k8s.io/pause:3.9")], "a second sandbox image for amd64"),
])
def test_bad_image_entries_are_refused_naming_the_entry(images, message):
    with pytest.raises(bm.ManifestError, match=message):
        bm.parse_images({"images": images}, "bundle/manifest.json")


def test_image_for_purpose_and_arch():
    images = bm.parse_images({"images": [entry(PAUSE, "arm64"), entry("registry.example/pause:9", "amd64"),
                                         entry(COREDNS, "arm64", "coredns"), entry("registry.example/x:1", "amd64", "extra")]})
    assert bm.image_for(images, "sandbox", "arm64") == PAUSE
    assert bm.image_for(images, "sandbox", "amd64") == "registry.example/pause:9"
    assert bm.image_for(images, "sandbox") == "registry.example/pause:9"   # any arch: amd64 first
    assert bm.image_for(images, "coredns", "amd64") == ""                    # not for this arch
    assert bm.image_for(images, "coredns") == COREDNS
    assert bm.image_for([], "sandbox", "amd64") == ""
    assert filters.bundle_image(images, "coredns") == COREDNS
    with pytest.raises(AnsibleFilterError, match="purpose must be one of"):
        filters.bundle_image(images, "dns")


def test_image_for_picks_an_extra_image_by_its_repository_name():
    images = bm.parse_images({"images": [entry("registry.example/tools/busybox:1.37", "amd64", "extra"),
                                         entry("registry.k8s.io/e2e-test-images/agnhost:2.63.0", "amd64", "extra"),
                                         entry("registry.example/agnhost-fork:1", "amd64", "extra")]})
    assert filters.bundle_image(images, "extra", name="agnhost") == "registry.k8s.io/e2e-test-images/agnhost:2.63.0"
    assert filters.bundle_image(images, "extra", name="busybox") == "registry.example/tools/busybox:1.37"
    assert filters.bundle_image(images, "extra", "arm64", "busybox") == ""      # none for that arch
    assert filters.bundle_image(images, "extra", name="pause") == ""             # a last path element, not a substring
    assert filters.bundle_image(images, "sandbox", name="agnhost") == ""         # of that purpose only
    assert bm.image_repository("registry.k8s.io/pause:3.10.1") == "registry.k8s.io/pause"


def test_plan_names_files_per_arch_and_refuses_clashes():
    plan = bm.images_plan([{"name": PAUSE, "purpose": "sandbox"}, {"name": COREDNS, "purpose": "coredns"}, "docker.io/library/busybox:1.37",
                           PAUSE], "arm64, amd64")
    assert [(p["arch"], p["file"], p["purpose"]) for p in plan] == [
        ("amd64", "images/amd64/pause-3.10.1.tar", "sandbox"), ("amd64", "images/amd64/coredns-v1.12.1.tar", "coredns"),
        ("amd64", "images/amd64/busybox-1.37.tar", "extra"),
        ("arm64", "images/arm64/pause-3.10.1.tar", "sandbox"), ("arm64", "images/arm64/coredns-v1.12.1.tar", "coredns"),
        ("arm64", "images/arm64/busybox-1.37.tar", "extra")]
    assert plan[0]["source"] == "ctr images pull --platform linux/amd64 " + PAUSE
    with pytest.raises(bm.ManifestError, match="would both be saved as images/amd64/pause-1.tar"):
        bm.images_plan(["registry.a.example/pause:1", "registry.b.example/pause:1"], ["amd64"])
    with pytest.raises(AnsibleFilterError, match="not fully qualified"):
        filters.bundle_images_plan(["busybox"], ["amd64"])
    assert bm.images_plan([], ["amd64", "arm64"]) == []


def test_host_images_and_missing_ones():
    images = [dict(entry(PAUSE, "amd64"), path="/b/p-amd"), dict(entry(PAUSE, "arm64"), path="/b/p-arm"),
              dict(name="docker.io/kubebin/podtest:1", arch="", purpose="extra", path="/t/podtest.tar")]
    host = bm.host_images(images, "arm64", "/var/lib/kubebin/images/")
    assert [(i["name"], i["path"], i["dest"]) for i in host] == [
        ("docker.io/kubebin/podtest:1", "/t/podtest.tar", "/var/lib/kubebin/images/docker.io_kubebin_podtest_1.tar"),
        (PAUSE, "/b/p-arm", "/var/lib/kubebin/images/registry.k8s.io_pause_3.10.1.tar")]
    listed = ["registry.k8s.io/pause:3.10.1", "sha256:" + DIGEST, ""]
    assert [i["name"] for i in bm.missing_images(host, listed)] == ["docker.io/kubebin/podtest:1"]
    assert bm.missing_images(host, listed + ["docker.io/kubebin/podtest:1"]) == []
    assert filters.missing_images(host, []) == host


# ---- reading the manifest (filter) ---------------------------------------------------------

def make_bundle(root, images):
    """A bundle directory with real OCI archives; returns (root, entries)."""
    os.makedirs(root, exist_ok=True)
    entries = []
    for name, arch, purpose in images:
        relative = "images/%s/%s" % (arch, bm.archive_name(name))
        digest = write_image(os.path.join(root, relative), name, arch, [("etc", None, 0o755)], entrypoint=["/pause"])
        entries.append(dict(name=name, arch=arch, file=relative, sha256=digest, purpose=purpose, source="oci.py"))
    with open(os.path.join(root, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "artifacts": [], "images": entries}, handle)
    return root, entries


def test_filter_reads_directory_tarball_and_unpacked_copy(tmp_path):
    root, entries = make_bundle(str(tmp_path / "b" / "kubebin-bundle"), [(PAUSE, "amd64", "sandbox"), (COREDNS, "amd64", "coredns")])
    names = sorted(e["name"] for e in entries)
    assert [i["name"] for i in filters.bundle_images(root)] == names
    assert filters.bundle_images("") == []
    tarball = str(tmp_path / "kubebin-bundle.tar.gz")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, "kubebin-bundle")
    cache = str(tmp_path / "cache")
    assert [i["name"] for i in filters.bundle_images(tarball, cache)] == names    # straight from the tarball
    unpacked = os.path.join(bm.unpacked_dir(cache, tarball), "kubebin-bundle")
    os.makedirs(unpacked)
    with open(os.path.join(unpacked, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "artifacts": []}, handle)
    open(os.path.join(bm.unpacked_dir(cache, tarball), ".unpacked"), "w").close()
    assert filters.bundle_images(tarball, cache) == []                            # the unpacked copy is read
    with pytest.raises(AnsibleFilterError, match="does not exist"):
        filters.bundle_images(str(tmp_path / "nowhere"))
    with open(os.path.join(root, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 2}, handle)
    with pytest.raises(AnsibleFilterError, match="not a format 1 bundle manifest"):
        filters.bundle_images(root)


# ---- the artifact module: proof on the controller, and the manifest it writes -------------

def obtainer(**params):
    base = dict(cache_dir="/nonexistent-cache", source="bundle", bundle_dir=None, checksums={}, timeout=1, retries=0,
                extract=True, export_dir=None, bundle_images=True, extra_images=[], export_images=[], artifacts=[])
    base.update(params)
    return artifact.Obtainer(SimpleNamespace(params=base, check_mode=False))


def test_module_verifies_every_image_archive(tmp_path):
    root, entries = make_bundle(str(tmp_path / "bundle"), [(PAUSE, "amd64", "sandbox"), (PAUSE, "arm64", "sandbox")])
    got = obtainer(bundle_dir=root).bundle_images()
    assert [(i["name"], i["arch"], i["sha256"]) for i in got] == [(e["name"], e["arch"], e["sha256"]) for e in entries]
    assert got[0]["path"] == os.path.join(root, entries[0]["file"])

    swapped = os.path.join(root, entries[1]["file"])
    with open(swapped, "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(artifact.ArtifactError) as failure:
        obtainer(bundle_dir=root).bundle_images()
    message = str(failure.value)
    assert swapped in message and entries[1]["sha256"] in message and "does not match its manifest" in message
    assert "image %s (arm64)" % PAUSE in message

    os.unlink(swapped)
    with pytest.raises(artifact.ArtifactError, match="bundle file %s is missing" % swapped):
        obtainer(bundle_dir=root).bundle_images()


def test_module_checks_extra_images_when_a_sum_is_given(tmp_path):
    path = str(tmp_path / "podtest.tar")
    digest = write_image(path, "docker.io/kubebin/podtest:1", "amd64", [], entrypoint=["/bin/sh"])
    item = dict(name="docker.io/kubebin/podtest:1", file=path, arch=None, sha256=None)
    (got,) = obtainer(source="download", extra_images=[item]).extra_images()
    assert got == dict(name=item["name"], arch="", purpose="extra", file=path, path=path, sha256=digest, source="extra_images")
    assert obtainer(extra_images=[dict(item, sha256=digest.upper(), arch="amd64")]).extra_images()[0]["arch"] == "amd64"
    with pytest.raises(artifact.ArtifactError, match="has sha256 %s, expected %s" % (digest, "b" * 64)):
        obtainer(extra_images=[dict(item, sha256="b" * 64)]).extra_images()
    with pytest.raises(artifact.ArtifactError, match="not fully qualified"):
        obtainer(extra_images=[dict(item, name="podtest:1")]).extra_images()
    with pytest.raises(artifact.ArtifactError, match="does not exist on the controller"):
        obtainer(extra_images=[dict(item, file=path + ".missing")]).extra_images()


def test_export_writes_images_into_the_manifest_only_when_there_are_some(tmp_path):
    export = str(tmp_path / "export")
    plan = bm.images_plan([{"name": PAUSE, "purpose": "sandbox"}], ["amd64"])
    with pytest.raises(artifact.ArtifactError, match="save the image there first"):
        artifact.export_image_entries(export, plan)
    digest = write_image(os.path.join(export, plan[0]["file"]), PAUSE, "amd64", [], entrypoint=["/pause"])
    images = artifact.export_image_entries(export, plan)
    assert images == [dict(plan[0], sha256=digest)]
    module = SimpleNamespace(check_mode=False)
    assert artifact.export_bundle(module, export, {}, [], images)
    manifest = json.load(open(os.path.join(export, "manifest.json"), encoding="utf-8"))
    assert manifest == {"format": 1, "artifacts": [], "images": images}
    assert not artifact.export_bundle(module, export, {}, [], images)      # unchanged rerun
    assert artifact.export_bundle(module, export, {}, [], [])
    assert "images" not in json.load(open(os.path.join(export, "manifest.json"), encoding="utf-8"))
