# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Small file helpers shared by the collection's modules: read, atomic write, mode fix-up, mounts
and removal, on the host the module runs on.

Private to kubebin.cluster: its modules use it; nothing outside the collection should.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile


def read_bytes(path):
    """File content, or None when the file does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def ensure_dir(path, mode=0o700):
    """Create PATH with MODE, and its missing parents likewise; tighten an existing PATH to MODE.

    Directories that already existed above PATH are never touched: pushing /etc/kubernetes/pki
    must not make /etc private. True if anything changed.
    """
    path = path.rstrip("/") or "/"
    changed = False
    if not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent and parent != path and not os.path.isdir(parent):
            ensure_dir(parent, mode)
        os.mkdir(path, mode)
        changed = True
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        os.chmod(path, mode)
        changed = True
    return changed


def atomic_write(path, content, mode):
    """Write content to path atomically: a temporary file in the same directory, created with the
    final mode (so a key is never readable by others, not even briefly), synced, then renamed."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fix_mode(path, mode):
    """chmod path to mode when it differs; True if changed."""
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        os.chmod(path, mode)
        return True
    return False


def _unescape_mount(field):
    """A mount point as /proc/self/mountinfo writes it (space, tab, newline and backslash octal)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def mount_table(mountinfo="/proc/self/mountinfo"):
    """(mount point, root of the mount within its file system) of every mount of this process's
    mount namespace, in mount order ([] where the file cannot be read)."""
    try:
        with open(mountinfo, encoding="utf-8") as handle:
            return [(_unescape_mount(fields[4]), _unescape_mount(fields[3]))
                    for fields in (line.split() for line in handle) if len(fields) > 4]
    except OSError:
        return []


def mount_points(mountinfo="/proc/self/mountinfo"):
    """Every mount point of this process's mount namespace ([] where the file cannot be read)."""
    return [point for point, _root in mount_table(mountinfo)]


def mounts_to_unmount(directories, table):
    """The mount points of TABLE (mount_table) to unmount so that DIRECTORIES can be removed:
    every mount below one, and the directory itself where it is bound onto itself (the kubelet
    does that to share mount propagation; a disk of its own stays mounted and is emptied).
    Innermost first, a point mounted twice listed twice (each umount takes one layer)."""
    found = []
    for directory in directories:
        top = os.path.normpath(directory)
        for point, root in table:
            if point.startswith(top.rstrip("/") + "/") or (point == top and root == top):
                found.append(point)
    return sorted(found, reverse=True)


def removal_problem(path, mounts):
    """Why PATH cannot be removed safely, or None: a mount strictly below it would be reached
    through (a pod's volume under /var/lib/kubelet, say); the caller unmounts it first."""
    inside = sorted(mount for mount in mounts if mount.startswith(path.rstrip("/") + "/"))
    if inside:
        return "%s has file systems mounted below it (%s): unmount them first" % (path, ", ".join(inside))
    return None


def present(path, mounts):
    """Whether remove_path(PATH, MOUNTS) would remove anything (a mount point counts when not empty)."""
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path) and os.path.normpath(path) in mounts:
        return bool(os.listdir(path))
    return True


def remove_path(path, mounts):
    """Remove PATH: a file or link, or a directory with everything below it. A directory that is
    itself a mount point (in MOUNTS) is emptied and kept: the mount is the host's (a volume under
    /var/lib/containerd). Call removal_problem first. True if anything was removed."""
    if not os.path.lexists(path):
        return False
    if os.path.islink(path) or not os.path.isdir(path):
        os.remove(path)
        return True
    if os.path.normpath(path) not in mounts:
        shutil.rmtree(path)
        return True
    removed = False
    for name in os.listdir(path):
        removed = remove_path(os.path.join(path, name), mounts) or removed
    return removed
