"""tests/bundle/oci.py: the archive is a consistent OCI layout, reproducible byte for byte, and
(where containerd is installed and we are root) what ctr imports under the image's full name."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bundle"))

from oci import write_image  # noqa: E402  pylint: disable=wrong-import-position,import-error

NAME = "registry.example:5000/kubebin/oci-test:1.2.3"


def _image(tmp_path, name="a.tar", arch="amd64", content=b"#!/bin/sh\necho hi\n"):
    source = tmp_path / "hello"
    source.write_bytes(content)
    out = tmp_path / name
    digest = write_image(str(out), NAME, arch, [("bin", None, 0o755), ("bin/hello", str(source), 0o755)],
                         entrypoint=["/bin/hello"], symlinks={"bin/hi": "hello"})
    return out, digest


def _members(path):
    with tarfile.open(path) as archive:
        return {m.name: (m, archive.extractfile(m).read() if m.isreg() else None) for m in archive.getmembers()}


def test_layout_digests_and_annotations_are_consistent(tmp_path):
    out, digest = _image(tmp_path)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    members = _members(out)
    assert json.loads(members["oci-layout"][1]) == {"imageLayoutVersion": "1.0.0"}
    blobs = {name.rsplit("/", 1)[1]: data for name, (info, data) in members.items() if name.startswith("blobs/sha256/")}
    for hex_digest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == hex_digest
    index = json.loads(members["index.json"][1])
    (desc,) = index["manifests"]
    assert desc["annotations"] == {"io.containerd.image.name": NAME, "org.opencontainers.image.ref.name": "1.2.3"}
    assert desc["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest_bytes = blobs[desc["digest"].split(":")[1]]
    assert desc["size"] == len(manifest_bytes)
    manifest = json.loads(manifest_bytes)
    config = json.loads(blobs[manifest["config"]["digest"].split(":")[1]])
    assert manifest["config"]["size"] == len(blobs[manifest["config"]["digest"].split(":")[1]])
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"]["Entrypoint"] == ["/bin/hello"] and "Cmd" not in config["config"]
    (layer_desc,) = manifest["layers"]
    layer = blobs[layer_desc["digest"].split(":")[1]]
    assert layer_desc["size"] == len(layer) and layer_desc["mediaType"].endswith("tar+gzip")
    raw = gzip.decompress(layer)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        entries = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("bin/hello").read() == b"#!/bin/sh\necho hi\n"
    assert entries["bin"].isdir() and entries["bin/hello"].mode == 0o755
    assert entries["bin/hi"].issym() and entries["bin/hi"].linkname == "hello"
    for info in list(entries.values()) + [pair[0] for pair in members.values()]:
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (0, 0, 0, "", "")
    assert layer[4:8] == b"\0\0\0\0"  # gzip header mtime


def test_same_input_same_bytes_and_content_changes_the_digest(tmp_path):
    first, digest = _image(tmp_path, "a.tar")
    time.sleep(1.1)  # a clock leaking into any header would show now
    os.utime(tmp_path / "hello", (1, 1))
    second, again = _image(tmp_path, "b.tar")
    assert digest == again and first.read_bytes() == second.read_bytes()
    other = _image(tmp_path, "c.tar", content=b"different\n")[1]
    arm = _image(tmp_path, "d.tar", arch="arm64")[1]
    assert len({digest, other, arm}) == 3


@pytest.mark.parametrize("name", ["pause:3.10", "registry.k8s.io/pause", "registry.k8s.io/pause@sha256:" + "a" * 64])
def test_names_without_registry_path_and_tag_are_refused(tmp_path, name):
    with pytest.raises(ValueError):
        write_image(str(tmp_path / "x.tar"), name, "amd64", [], entrypoint=[])


def test_unknown_arch_is_refused(tmp_path):
    with pytest.raises(ValueError):
        write_image(str(tmp_path / "x.tar"), NAME, "s390x", [], entrypoint=[])


def test_ctr_imports_it_under_its_full_name(tmp_path, private_containerd):
    out = _image(tmp_path)[0]
    # The flags the containerd role uses.
    subprocess.run(private_containerd + ["images", "import", "--platform", "linux/amd64", "--snapshotter", "native", str(out)],
                   check=True, capture_output=True, timeout=60)
    listed = subprocess.run(private_containerd + ["images", "ls", "-q"], check=True, capture_output=True, text=True, timeout=30)
    assert NAME in listed.stdout.split()
