# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The binaries role's decisions: which artifacts, which files, which of them differ on a host.

The controller obtains and verifies each artifact once (the artifact module); these filters
only work out, from its result and one find call on the host, what to copy where.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import split_list

# What every binary on a host must be besides its content: the binaries role installs them so.
_MODE = "0755"
_UID = 0
_GID = 0
# The one binary name that stands for many files: every plugin of the CNI archive.
_CNI_PLUGINS = "cni-plugins"


def binaries_artifacts(entries, arches):
    """Each catalog ENTRY once per architecture of ARCHES (a list, or text like 'amd64,arm64')."""
    arches = list(dict.fromkeys(split_list(arches)))
    return [dict(entry, arch=arch) for arch in arches for entry in entries]


def binaries_files(wanted, artifact_of, catalog, obtained, arch, bin_dir, cni_bin_dir):
    """[{binary, src, sha256, dest}] of the WANTED binaries of one host of ARCH, in order.

    OBTAINED is the artifact module's ``artifacts`` (verified files on the controller, keyed
    name/version/arch). cni-plugins gives one file per plugin, in CNI_BIN_DIR; the others one
    file each, named as wanted, in BIN_DIR.
    """
    files = []
    for binary in wanted:
        if artifact_of.get(binary) not in catalog:
            raise AnsibleFilterError("binaries_files: %s is not a binary of any artifact; known: %s" % (binary, ", ".join(sorted(artifact_of))))
        artifact = catalog[artifact_of[binary]]
        key = "%s/%s/%s" % (artifact["name"], artifact["version"], arch)
        if key not in obtained:
            raise AnsibleFilterError("binaries_files: %s needs %s, which the controller did not obtain" % (binary, key))
        got = obtained[key]["files"]
        if binary != _CNI_PLUGINS and binary not in got:
            # an archive (or bundle entry) that lacks a binary the catalog promises from it
            raise AnsibleFilterError("binaries_files: %s has no %s; it holds %s" % (key, binary, ", ".join(sorted(got)) or "nothing"))
        if binary == _CNI_PLUGINS:
            files.extend({"binary": binary, "src": got[plugin]["path"], "sha256": got[plugin]["sha256"],
                          "dest": "%s/%s" % (cni_bin_dir, plugin)} for plugin in sorted(got))
        else:
            files.append({"binary": binary, "src": got[binary]["path"], "sha256": got[binary]["sha256"],
                          "dest": "%s/%s" % (bin_dir, binary)})
    return files


def _installed(item, found):
    have = found.get(item["dest"], {})
    return (have.get("checksum"), have.get("mode"), have.get("uid"), have.get("gid")) == (item["sha256"], _MODE, _UID, _GID)


def binaries_differing(files, present):
    """The FILES whose content, mode or owner on the host differ, or that are missing.

    PRESENT: the ``files`` of a find with sha256 checksums over the FILES' destinations.
    """
    found = {item["path"]: item for item in present or []}
    return [item for item in files if not _installed(item, found)]


def binaries_writes(to_copy, marks, mark_content):
    """What the copy task writes, in order: the restart MARKS (with MARK_CONTENT), then TO_COPY.

    Marks first: a run that fails between the copy and the restart still restarts next time.
    """
    return ([{"dest": mark, "mode": "0644", "content": mark_content} for mark in marks]
            + [dict(item, mode=_MODE) for item in to_copy])


class FilterModule:
    """kubebin binaries filters."""

    def filters(self):
        return {"binaries_artifacts": binaries_artifacts, "binaries_files": binaries_files,
                "binaries_differing": binaries_differing, "binaries_writes": binaries_writes}
