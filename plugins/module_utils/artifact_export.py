# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to the collection: laying verified artifacts out as an offline bundle.

The artifact module's O(export_dir): each artifact at its manifest path, the image archives
already saved there, and a C(manifest.json) listing both, rewritten only when it changes.
"""

from __future__ import annotations

import json
import os

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_fetch import ArtifactError, copy_stream, sha256_file
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_obtain import safe_member_name
from ansible_collections.kubebin.cluster.plugins.module_utils.host_fs import atomic_write

MANIFEST_KEYS = ("name", "version", "arch", "file", "sha256", "url")


def manifest_entries(results):
    """The obtained artifacts as bundle manifest entries, sorted by file; check-mode gaps left out."""
    return [dict((k, r[k]) for k in MANIFEST_KEYS)
            for r in sorted(results.values(), key=lambda r: r["file"]) if "sha256" in r]


def export_image_entries(export_dir, items):
    """Manifest ``images`` entries for archives already saved in export_dir, with their SHA-256."""
    entries = []
    for item in items:
        relative = safe_member_name(item["file"])
        what = "image %s (%s)" % (item["name"], item["arch"])
        if relative is None:
            raise ArtifactError("%s: file %s is not a path inside the bundle" % (what, item["file"]))
        path = os.path.join(export_dir, relative)
        if not os.path.isfile(path):
            raise ArtifactError("%s: %s is missing; save the image there first" % (what, path))
        entries.append(dict(name=item["name"], arch=item["arch"], file=relative, sha256=sha256_file(path),
                            purpose=item["purpose"], source=item["source"] or ""))
    try:
        return bundle_manifest.parse_images(dict(images=entries), "export_images")
    except bundle_manifest.ManifestError as exc:
        raise ArtifactError(str(exc))


def export_bundle(module, export_dir, results, manifest, images=None):
    """Copy each verified artifact to export_dir/<file> unless already there; write manifest.json."""
    changed = False
    for result in results.values():
        dest = os.path.join(export_dir, result["file"])
        if os.path.isfile(dest) and os.path.getsize(dest) == os.path.getsize(result["path"]) and sha256_file(dest) == result["sha256"]:
            continue
        changed = True
        if not module.check_mode:
            os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
            with open(result["path"], "rb") as src:
                copy_stream(src, dest, 0o644)
    document = dict(format=1, artifacts=manifest)
    if images:
        document["images"] = images
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    path = os.path.join(export_dir, "manifest.json")
    try:
        with open(path, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    if current != data:
        changed = True
        if not module.check_mode:
            os.makedirs(export_dir, mode=0o755, exist_ok=True)
            atomic_write(path, data, 0o644)
    return changed
