"""Directory handling of the PKI file helpers."""

import os
import stat

from ansible_collections.kubebin.cluster.plugins.module_utils.host_fs import ensure_dir


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_existing_parents_keep_their_mode(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    os.chmod(etc, 0o755)
    target = etc / "kubernetes" / "pki" / "etcd"
    assert ensure_dir(str(target), 0o700)
    assert mode_of(etc) == 0o755, "an existing parent directory was changed"
    for created in (etc / "kubernetes", etc / "kubernetes" / "pki", target):
        assert mode_of(created) == 0o700, created


def test_existing_target_is_tightened_and_rerun_changes_nothing(tmp_path):
    target = tmp_path / "pki"
    target.mkdir()
    os.chmod(target, 0o755)
    assert ensure_dir(str(target), 0o700)
    assert mode_of(target) == 0o700
    assert not ensure_dir(str(target) + "/", 0o700)
