"""Distribution: files pushed only when content or mode differ, atomically, dirs 0700."""

from __future__ import annotations

import os
import re
import stat

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError
from ansible_collections.kubebin.cluster.plugins.module_utils.file_push import push_files
from pki_helpers import snapshot


def files(root, crt="CERT\n"):
    return [
        {"dest": str(root / "pki/ca.crt"), "content": crt, "mode": "0644"},
        {"dest": str(root / "pki/etcd/server.key"), "content": "KEY\n", "mode": 0o600},
        {"dest": str(root / "pki/ca.crt"), "content": crt, "mode": "0644"},  # same file from a second set
    ]


def test_push_writes_then_is_quiet(tmp_path):
    first = push_files(files(tmp_path))
    assert first["changed"] and sorted(first["changed_paths"]) == [str(tmp_path / "pki/ca.crt"), str(tmp_path / "pki/etcd/server.key")]
    assert first["files"] == 2
    assert stat.S_IMODE(os.stat(tmp_path / "pki/etcd").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "pki/etcd/server.key").st_mode) == 0o600
    before = snapshot(str(tmp_path))
    again = push_files(files(tmp_path))
    assert not again["changed"] and again["changed_paths"] == []
    assert snapshot(str(tmp_path)) == before


def test_push_changes_only_what_differs_and_check_mode_writes_nothing(tmp_path):
    push_files(files(tmp_path))
    os.chmod(tmp_path / "pki/etcd/server.key", 0o644)
    before = snapshot(str(tmp_path))
    check = push_files(files(tmp_path, crt="NEW\n"), check_mode=True)
    assert sorted(check["changed_paths"]) == [str(tmp_path / "pki/ca.crt"), str(tmp_path / "pki/etcd/server.key")]
    assert snapshot(str(tmp_path)) == before
    real = push_files(files(tmp_path, crt="NEW\n"))
    assert sorted(real["changed_paths"]) == sorted(check["changed_paths"])
    assert (tmp_path / "pki/ca.crt").read_text() == "NEW\n"
    assert stat.S_IMODE(os.stat(tmp_path / "pki/etcd/server.key").st_mode) == 0o600
    assert not [n for n in os.listdir(tmp_path / "pki") if n.startswith(".")]  # no temporary files left


@pytest.mark.parametrize("entry, message", [
    ({"dest": "relative/ca.crt", "content": "x", "mode": "0644"}, "dest must be an absolute path"),
    ({"dest": "/x/ca.crt", "content": "x", "mode": "rw"}, "is not octal"),
])
def test_bad_entries(entry, message):
    with pytest.raises(PkiError, match=message):
        push_files([entry])


def test_conflicting_duplicates_are_refused(tmp_path):
    entries = files(tmp_path)
    entries[2] = dict(entries[2], content="OTHER\n")
    with pytest.raises(PkiError, match="listed twice"):
        push_files(entries)
    assert not (tmp_path / "pki").exists()


def test_retired_files_are_removed_once_and_check_mode_only_reports_them(tmp_path):
    push_files(files(tmp_path))
    retired = tmp_path / "super-admin.conf"
    retired.write_text("SECRET\n")
    check = push_files(files(tmp_path), check_mode=True, absent=[str(retired)])
    assert check["changed"] and check["changed_paths"] == [str(retired)] and retired.exists()
    removed = push_files(files(tmp_path), absent=[str(retired)])
    assert removed["changed"] and removed["changed_paths"] == [str(retired)] and not retired.exists()
    assert push_files(files(tmp_path), absent=[str(retired)])["changed"] is False


@pytest.mark.parametrize("absent, message", [
    (["relative.conf"], r"absent\[0\]: must be an absolute path"),
    (["{root}/pki/ca.crt"], r"absent\[0\]: .*/pki/ca.crt is also a file to write"),
    (["{root}/pki"], r"absent\[0\]: .*/pki is also a file to write, or holds one"),
])
def test_retired_paths_are_validated_before_anything_is_written(tmp_path, absent, message):
    with pytest.raises(PkiError, match=message):
        push_files(files(tmp_path), absent=[a.format(root=tmp_path) for a in absent])
    assert not (tmp_path / "pki").exists()


def test_a_retired_directory_goes_with_everything_below_it(tmp_path):
    tree = tmp_path / "var/lib/kubelet"
    (tree / "pods/uid/volumes").mkdir(parents=True)
    (tree / "pods/uid/volumes/token").write_text("SECRET\n")
    os.symlink("/etc/passwd", tree / "link")  # a link is removed, never followed
    check = push_files([], check_mode=True, absent=[str(tree)])
    assert check["changed_paths"] == [str(tree)] and (tree / "pods/uid/volumes/token").exists()
    assert push_files([], absent=[str(tree)])["changed_paths"] == [str(tree)]
    assert not tree.exists() and os.path.exists("/etc/passwd")
    assert push_files([], absent=[str(tree)])["changed"] is False


def test_a_mount_point_is_emptied_and_kept(tmp_path):
    volume = tmp_path / "var/lib/containerd"
    (volume / "io.containerd.content.v1.content").mkdir(parents=True)
    (volume / "meta.db").write_text("x")
    mounts = [str(volume)]
    assert fs.present(str(volume), mounts)
    assert fs.remove_path(str(volume), mounts) is True
    assert volume.is_dir() and os.listdir(volume) == []
    assert not fs.present(str(volume), mounts)
    assert fs.remove_path(str(volume), mounts) is False


def test_a_removal_through_a_mount_is_refused_before_anything_changes(tmp_path, monkeypatch):
    tree = tmp_path / "var/lib/kubelet"
    (tree / "pods/uid/volumes/secret").mkdir(parents=True)
    inside = str(tree / "pods/uid/volumes/secret")
    monkeypatch.setattr(fs, "mount_points", lambda: ["/", inside])
    with pytest.raises(PkiError, match=r"var/lib/kubelet has file systems mounted below it \(.*/volumes/secret\): unmount"):
        push_files(files(tmp_path), absent=[str(tree)])
    assert tree.exists() and not (tmp_path / "pki").exists()


def test_mount_points_are_read_with_their_escapes(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("22 1 0:21 / / rw - ext4 /dev/vda rw\n"
                    "90 22 0:50 / /var/lib/kubelet/pods/a/volumes/kubernetes.io~projected/kube\\040api rw - tmpfs tmpfs rw\n")
    assert fs.mount_points(str(info)) == ["/", "/var/lib/kubelet/pods/a/volumes/kubernetes.io~projected/kube api"]
    assert fs.mount_points(str(tmp_path / "missing")) == []
    assert fs.removal_problem("/var/lib/kubelet", fs.mount_points(str(info))).startswith("/var/lib/kubelet has file systems")
    assert fs.removal_problem("/var/lib/kube", fs.mount_points(str(info))) is None


def test_mounts_to_unmount_are_below_the_directory_or_its_own_bind_innermost_first():
    table = [("/", "/"), ("/var/lib/kubelet", "/var/lib/kubelet"),  # bound onto itself
             ("/var/lib/kubelet/pods/a/volumes/secret", "/"), ("/var/lib/kubelet/pods/a/volumes/secret", "/"),
             ("/var/lib/kubelet/plugins", "/"), ("/var/lib/kubelet2/x", "/"),
             ("/var/lib/containerd", "/var/lib/docker/volumes/abc/_data")]  # a volume of its own
    assert fs.mounts_to_unmount(["/var/lib/kubelet/"], table) == [
        "/var/lib/kubelet/pods/a/volumes/secret", "/var/lib/kubelet/pods/a/volumes/secret", "/var/lib/kubelet/plugins",
        "/var/lib/kubelet"]
    assert fs.mounts_to_unmount(["/var/lib/containerd"], table) == []
    assert fs.mounts_to_unmount([], table) == []


def test_mount_table_reads_the_root_of_each_mount(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("22 1 0:21 / / rw - ext4 /dev/vda rw\n"
                    "95 22 0:21 /var/lib/kubelet /var/lib/kubelet rw - ext4 /dev/vda rw\n")
    assert fs.mount_table(str(info)) == [("/", "/"), ("/var/lib/kubelet", "/var/lib/kubelet")]
    assert fs.mount_table(str(tmp_path / "missing")) == []


class FakeMounts:
    """A mount namespace for push_files: umount takes the innermost layer of a point away."""

    def __init__(self, table):
        self.table = list(table)
        self.unmounted = []

    def umount(self, point):
        index = max(i for i, (mounted, _root) in enumerate(self.table) if mounted == point)
        del self.table[index]
        self.unmounted.append(point)

    def install(self, monkeypatch):
        monkeypatch.setattr(fs, "mount_table", lambda: list(self.table))
        monkeypatch.setattr(fs, "mount_points", lambda: [point for point, _root in self.table])


def test_unmount_takes_the_mounts_away_before_the_removal(tmp_path, monkeypatch):
    tree = tmp_path / "var/lib/kubelet"
    (tree / "pods/a/volumes/secret").mkdir(parents=True)
    (tree / "pods/a/volumes/secret/token").write_text("x")
    secret = str(tree / "pods/a/volumes/secret")
    mounts = FakeMounts([("/", "/"), (str(tree), str(tree)), (secret, "/"), (secret, "/")])
    mounts.install(monkeypatch)

    check = push_files([], check_mode=True, absent=[str(tree)], unmount=[str(tree)], umount=mounts.umount)
    assert check["changed_paths"] == [secret, secret, str(tree), str(tree)] and mounts.unmounted == []
    assert tree.exists()

    done = push_files([], absent=[str(tree)], unmount=[str(tree)], umount=mounts.umount)
    assert mounts.unmounted == [secret, secret, str(tree)]
    assert done["changed_paths"] == [secret, secret, str(tree), str(tree)]
    assert not tree.exists() and mounts.table == [("/", "/")]
    assert push_files([], absent=[str(tree)], unmount=[str(tree)], umount=mounts.umount)["changed"] is False


def test_a_mount_that_unmount_does_not_cover_is_refused_before_any_umount(tmp_path, monkeypatch):
    tree = tmp_path / "var/lib/kubelet"
    inside = str(tree / "pods/a/volumes/secret")
    os.makedirs(inside)
    os.makedirs(tmp_path / "other/x")
    mounts = FakeMounts([("/", "/"), (inside, "/"), (str(tmp_path / "other/x"), "/")])
    mounts.install(monkeypatch)
    with pytest.raises(PkiError, match=r"has file systems mounted below it"):
        push_files([], absent=[str(tree), str(tmp_path / "other")], unmount=[str(tree)], umount=mounts.umount)
    assert mounts.unmounted == [] and tree.exists()


def test_a_mark_is_written_only_when_a_file_it_watches_changes(tmp_path):
    key = str(tmp_path / "pki/etcd/server.key")
    ca_mark, key_mark = str(tmp_path / "ca.restart-pending"), str(tmp_path / "key.restart-pending")
    marks = {ca_mark: [str(tmp_path / "pki/ca.crt")], key_mark: [key]}
    first = push_files(files(tmp_path), marks=marks)
    assert first["marked"] == sorted([ca_mark, key_mark])
    os.remove(ca_mark)
    os.remove(key_mark)
    assert push_files(files(tmp_path), marks=marks)["marked"] == []
    assert not os.path.exists(ca_mark) and not os.path.exists(key_mark)
    # Check mode reports the mark and writes nothing; the real run writes only the CA's mark.
    check = push_files(files(tmp_path, crt="NEW\n"), check_mode=True, marks=marks)
    assert check["marked"] == [ca_mark] and not os.path.exists(ca_mark)
    changed = push_files(files(tmp_path, crt="NEW\n"), marks=marks)
    assert changed["marked"] == [ca_mark] and not os.path.exists(key_mark)
    assert open(ca_mark, encoding="utf-8").read() == "restart pending: changed %s\n" % (tmp_path / "pki/ca.crt")
    assert stat.S_IMODE(os.stat(ca_mark).st_mode) == 0o644
    # A mode fix counts as a change of the file: the component rereads it on restart.
    os.chmod(key, 0o644)
    assert push_files(files(tmp_path, crt="NEW\n"), marks=marks)["marked"] == [key_mark]


@pytest.mark.parametrize("marks, message", [
    ({"relative.mark": []}, r"marks: a mark must be an absolute path, got 'relative.mark'"),
    ({"{root}/x.mark": ["{root}/pki/other.crt"]}, r"marks\[.*/x.mark\]: .*/pki/other.crt is not among the files to write"),
])
def test_marks_are_validated_before_anything_is_written(tmp_path, marks, message):
    marks = {k.format(root=tmp_path): [v.format(root=tmp_path) for v in vs] for k, vs in marks.items()}
    with pytest.raises(PkiError, match=message):
        push_files(files(tmp_path), marks=marks)
    assert not (tmp_path / "pki").exists()


def test_directories_are_created_with_their_mode_and_mended_and_check_mode_only_reports(tmp_path):
    # host_files: a component's directories and files in one call (the configurations and units).
    conf = tmp_path / "etc/containerd"
    entries = [{"dest": str(conf / "config.toml"), "content": "version = 3\n", "mode": "0644"}]
    directories = [{"path": str(conf / "certs.d"), "mode": "0755"}, {"path": str(conf), "mode": "0755"}]
    check = push_files(entries, check_mode=True, directories=directories)
    assert check["changed"] and check["created_dirs"] == [str(conf), str(conf / "certs.d")]
    assert not conf.exists()
    first = push_files(entries, directories=directories)
    assert first["created_dirs"] == [str(conf), str(conf / "certs.d")]
    assert first["changed_paths"] == [str(conf / "config.toml")]
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o755 and stat.S_IMODE(os.stat(conf / "certs.d").st_mode) == 0o755
    assert not push_files(entries, directories=directories)["changed"]
    os.chmod(conf / "certs.d", 0o700)
    mended = push_files(entries, directories=directories)
    assert mended["changed"] and mended["changed_paths"] == [str(conf / "certs.d")] and mended["created_dirs"] == []
    assert stat.S_IMODE(os.stat(conf / "certs.d").st_mode) == 0o755


def test_a_listed_directorys_missing_parents_get_the_parent_mode_whatever_the_umask(tmp_path):
    # host_files documents 0755 for parents it was not given; the umask must not decide that.
    entries = [{"dest": str(tmp_path / "f"), "content": "x", "mode": "0644"}]
    deep = tmp_path / "opt/cni/bin"
    os.chmod(tmp_path, 0o711)
    old = os.umask(0o077)
    try:
        result = push_files(entries, dir_mode=0o755, directories=[{"path": str(deep), "mode": "0750"}])
    finally:
        os.umask(old)
    assert result["created_dirs"] == [str(deep)]
    assert stat.S_IMODE(os.stat(tmp_path / "opt").st_mode) == 0o755 and stat.S_IMODE(os.stat(tmp_path / "opt/cni").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(deep).st_mode) == 0o750
    # a parent that existed is left alone
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o711


@pytest.mark.parametrize(
    "directory, message",
    [
        ({"path": "relative", "mode": "0755"}, "directories[0]: path must be an absolute path"),
        ({"path": "/etc/x", "mode": "rwx"}, "directories[0] (/etc/x): mode 'rwx' is not octal"),
        ({"path": "/etc/x"}, "directories[0] (/etc/x): mode is required"),
    ],
)
def test_bad_directories_are_refused_before_anything_is_written(tmp_path, directory, message):
    entries = [{"dest": str(tmp_path / "f"), "content": "x", "mode": "0644"}]
    with pytest.raises(PkiError, match=re.escape(message)):
        push_files(entries, directories=[directory])
    assert not (tmp_path / "f").exists()
