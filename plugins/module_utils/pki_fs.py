# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Small file helpers shared by the collection's modules: read, atomic write, mode fix-up."""

from __future__ import annotations

import os
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
