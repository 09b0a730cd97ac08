# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Push a set of small files (certificates, keys, kubeconfigs, configurations, units) and their
directories to a host in one call: write only what differs. The backend of the host_files and
pki_files modules.

Private to kubebin.cluster: its modules use it; nothing outside the collection should.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.kubebin.cluster.plugins.module_utils import host_fs as fs
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import PkiError


def _octal_mode(value, where, example):
    """VALUE ('0644' or an int) as an int mode; WHERE names the entry in the error."""
    mode = value
    if isinstance(mode, str):
        try:
            mode = int(mode, 8)
        except ValueError:
            raise PkiError("%s: mode %r is not octal" % (where, value))
    if not isinstance(mode, int) or mode < 0 or mode > 0o7777:
        raise PkiError("%s: mode is required (octal string such as '%s')" % (where, example))
    return mode


def _absolute(path, where):
    """PATH normalised, or PkiError: WHERE must be an absolute path."""
    if not path or not os.path.isabs(path):
        raise PkiError("%s must be an absolute path, got %r" % (where, path))
    return os.path.normpath(path)


def normalize_entries(files):
    """Validate and de-duplicate by destination (the same file may come from two sets)."""
    by_dest = {}
    for index, entry in enumerate(files):
        dest = _absolute(entry.get("dest"), "files[%d]: dest" % index)
        content = entry.get("content")
        if content is None:
            raise PkiError("files[%d] (%s): content is required" % (index, dest))
        mode = _octal_mode(entry.get("mode"), "files[%d] (%s)" % (index, dest), "0600")
        norm = {"dest": dest, "content": content.encode("utf-8") if isinstance(content, str) else content,
                "mode": mode, "owner": entry.get("owner"), "group": entry.get("group")}
        previous = by_dest.get(norm["dest"])
        if previous is not None and previous != norm:
            raise PkiError("files[%d]: %s is listed twice with different content or attributes" % (index, dest))
        by_dest[norm["dest"]] = norm
    return [by_dest[k] for k in sorted(by_dest)]


def _absent_paths(absent, entries):
    paths = []
    for index, path in enumerate(absent or []):
        path = _absolute(path, "absent[%d]:" % index)
        if any(entry["dest"] == path or entry["dest"].startswith(path + "/") for entry in entries):
            raise PkiError("absent[%d]: %s is also a file to write, or holds one" % (index, path))
        paths.append(path)
    return sorted(set(paths))


def _mark_plan(marks, entries):
    """{mark path: sorted watched dests}; every watched path must be one of the files written."""
    dests = set(entry["dest"] for entry in entries)
    plan = {}
    for path, watched in sorted((marks or {}).items()):
        path = _absolute(path, "marks: a mark")
        watched = sorted(set(os.path.normpath(item) for item in watched or []))
        unknown = [item for item in watched if item not in dests]
        if unknown:
            raise PkiError("marks[%s]: %s is not among the files to write" % (path, ", ".join(unknown)))
        plan[path] = watched
    return plan


def _write_marks(plan, changed_paths, check_mode):
    """Write each mark one of whose watched files changed; return the marks written.

    A mark is a file the component's role reads and clears when it restarts the component, so a
    run that fails between this push and the restart still restarts on the next run.
    """
    marked = []
    for path, watched in plan.items():
        changed = [item for item in watched if item in changed_paths]
        if not changed:
            continue
        marked.append(path)
        if not check_mode:
            note = "restart pending: changed %s\n" % " ".join(changed)
            fs.atomic_write(path, note.encode("utf-8"), 0o644)
    return marked


def _directory_entries(directories):
    """Validated DIRECTORIES ([{path, mode, owner, group}]), parents before children."""
    entries = []
    for index, entry in enumerate(directories or []):
        path = _absolute(entry.get("path"), "directories[%d]: path" % index)
        mode = _octal_mode(entry.get("mode"), "directories[%d] (%s)" % (index, path), "0755")
        entries.append({"path": path, "mode": mode, "owner": entry.get("owner"), "group": entry.get("group")})
    return sorted(entries, key=lambda entry: entry["path"])


def _ensure_directories(entries, check_mode, set_attrs, parent_mode):
    """Create each missing directory and fix the attributes of the others; (changed, created).
    A missing parent that is not listed is created with PARENT_MODE, as the files' parents are
    (not with whatever the umask gives)."""
    changed, created = [], []
    for entry in entries:
        if not os.path.isdir(entry["path"]):
            created.append(entry["path"])
            if not check_mode:
                parent = os.path.dirname(entry["path"])
                if not os.path.isdir(parent):
                    fs.ensure_dir(parent, parent_mode)
                os.mkdir(entry["path"], entry["mode"])
                set_attrs(entry["path"], entry["mode"], entry["owner"], entry["group"])
        elif set_attrs(entry["path"], entry["mode"], entry["owner"], entry["group"]):
            changed.append(entry["path"])
    return changed, created


def push_files(files, dir_mode=0o700, check_mode=False, set_attrs=None, absent=None, marks=None, directories=None,
               unmount=None, umount=None):
    """Ensure DIRECTORIES (created, or their mode/owner/group fixed); write each file whose content
    differs (atomically); fix mode/owner/group of the others; unmount what is mounted below each
    of UNMOUNT (fs.mounts_to_unmount), then remove the ABSENT paths that exist (a directory with
    everything below it, a mount point emptied; a mount left below one is refused); write each of
    MARKS ({mark path: [watched dests]}) whose watched files changed.

    set_attrs(path, mode, owner, group) -> changed; the module passes its
    set_fs_attributes_if_different, tests the default (mode only). umount(point) unmounts one
    layer; the module passes one that runs umount(8).
    """
    if set_attrs is None:
        def set_attrs(path, mode, owner, group):
            if check_mode:
                return stat.S_IMODE(os.stat(path).st_mode) != mode
            return fs.fix_mode(path, mode)
    entries = normalize_entries(files)
    retired = _absent_paths(absent, entries)
    mark_plan = _mark_plan(marks, entries)
    unmounted = fs.mounts_to_unmount([_absolute(path, "unmount[%d]:" % index) for index, path in enumerate(unmount or [])],
                                     fs.mount_table()) if unmount else []
    # Refused before anything changes: a removal that would reach through a mount that UNMOUNT
    # does not take away.
    mounts = [point for point in fs.mount_points() if point not in unmounted] if retired else []
    problems = [problem for problem in (fs.removal_problem(path, mounts) for path in retired if os.path.lexists(path)) if problem]
    if problems:
        raise PkiError("; ".join(problems))
    if not check_mode:
        for point in unmounted:
            umount(point)
    changed_paths, created_dirs = _ensure_directories(_directory_entries(directories), check_mode, set_attrs, dir_mode)
    for entry in entries:
        directory = os.path.dirname(entry["dest"])
        if not os.path.isdir(directory) and directory not in created_dirs:
            created_dirs.append(directory)
            if not check_mode:
                fs.ensure_dir(directory, dir_mode)
        current = fs.read_bytes(entry["dest"])
        if current != entry["content"]:
            changed_paths.append(entry["dest"])
            if not check_mode:
                fs.atomic_write(entry["dest"], entry["content"], entry["mode"])
                set_attrs(entry["dest"], entry["mode"], entry["owner"], entry["group"])
        elif set_attrs(entry["dest"], entry["mode"], entry["owner"], entry["group"]):
            changed_paths.append(entry["dest"])
    for path in retired:
        if fs.present(path, mounts):
            changed_paths.append(path)
            if not check_mode:
                fs.remove_path(path, mounts)
    marked = _write_marks(mark_plan, set(changed_paths), check_mode)
    changed_paths = unmounted + changed_paths
    return {
        "changed": bool(changed_paths or created_dirs),
        "changed_paths": changed_paths,
        "created_dirs": created_dirs,
        "marked": marked,
        "files": len(entries),
        "diff": {"before": {"changed_paths": []}, "after": {"changed_paths": changed_paths}},
    }
