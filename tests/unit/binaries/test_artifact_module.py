"""Unit tests of the artifact module's parsing and unpacking rules (no Ansible run)."""

from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils import artifact_fetch, artifact_obtain

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


def archive(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r:gz")


def item(members=(), required=()):
    return dict(name="x", version="1", arch="amd64", members=list(members), required_members=list(required))


@pytest.mark.parametrize("text, name, expected", [
    (DIGEST_A + "\n", "kubelet", DIGEST_A),                                      # dl.k8s.io .sha256: bare digest
    ("%s  etcd-v1-linux-arm64.tar.gz\n%s  etcd-v1-linux-amd64.tar.gz\n" % (DIGEST_B, DIGEST_A),
     "etcd-v1-linux-amd64.tar.gz", DIGEST_A),                                    # SHA256SUMS: pick our line
    ("%s *runc.amd64\n%s  runc.arm64\n" % (DIGEST_A, DIGEST_B), "runc.arm64", DIGEST_B),  # binary-mode marker
    ("%s  ./crictl.tgz\n" % DIGEST_A.upper(), "crictl.tgz", DIGEST_A),
    ("%s  other.tgz\n" % DIGEST_A, "mine.tgz", None),                            # no line for this file
    ("%s\n%s\n" % (DIGEST_A, DIGEST_B), "x", None),                              # two bare digests: ambiguous
    ("<html>not found</html>", "x", None),
])
def test_parse_checksum_file(text, name, expected):
    assert artifact_fetch.parse_checksum_file(text, name) == expected


def test_named_members_found_by_base_name_and_traversal_ignored():
    tar = archive([("etcd-v1-linux-amd64/etcd", 0o755), ("etcd-v1-linux-amd64/etcdctl", 0o755), ("../etcdutl", 0o755),
                   ("etcd-v1-linux-amd64/README.md", 0o644)])
    with pytest.raises(artifact_fetch.ArtifactError, match="incomplete, missing etcdutl"):
        artifact_obtain.select_members(tar, item(["etcd", "etcdctl", "etcdutl"]))
    assert sorted(artifact_obtain.select_members(tar, item(["etcd", "etcdctl"]))) == ["etcd", "etcdctl"]


def test_member_present_twice_is_refused():
    tar = archive([("bin/ctr", 0o755), ("other/ctr", 0o755)])
    with pytest.raises(artifact_fetch.ArtifactError, match="holds ctr twice"):
        artifact_obtain.select_members(tar, item(["ctr"]))


def test_all_executables_at_top_level_with_required_set():
    tar = archive([("./bridge", 0o755), ("./loopback", 0o755), ("./LICENSE", 0o644), ("sub/dir-plugin", 0o755)])
    assert sorted(artifact_obtain.select_members(tar, item(required=["bridge"]))) == ["bridge", "loopback"]
    with pytest.raises(artifact_fetch.ArtifactError, match="missing portmap"):
        artifact_obtain.select_members(tar, item(required=["bridge", "portmap"]))
