# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The offline bundle's manifest.json: where it is, its optional ``images`` part, and which image
each role takes from it. Shared by the artifact module (which verifies files) and the bundle
filters (which only read names), so both read the manifest the same way.

Manifest format 1::

    {"format": 1,
     "artifacts": [...],                                  # binaries (artifact module)
     "images": [{"name": "registry.k8s.io/pause:3.10.1", "arch": "amd64",
                 "file": "images/amd64/pause-3.10.1.tar", "sha256": "<hex>",
                 "purpose": "sandbox", "source": "<informational>"}]}

``images`` is optional; each archive is an OCI image layout tar as ``ctr images export`` writes it.
"""

from __future__ import annotations

import json
import os
import re
import tarfile

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ARCHES = ("amd64", "arm64")
PURPOSES = ("sandbox", "coredns", "extra")
# At most one image per architecture for these: the role that runs it must know which one.
SINGLE_PURPOSES = ("sandbox", "coredns")
MANIFEST = "manifest.json"
BUNDLE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
# registry host (with a dot or a port, or localhost) / path : tag
IMAGE_NAME = re.compile(r"^(?P<registry>[a-z0-9.-]+(:[0-9]+)?)/(?P<path>[a-z0-9._/-]+):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$")


class ManifestError(ValueError):
    """The manifest (or an image entry of it) is not what format 1 describes."""


def safe_relative(name):
    """name as a normalised relative path inside the bundle, or None when it leaves it."""
    normalized = os.path.normpath(str(name))
    if normalized in (".", "", "..") or normalized.startswith(("/", "../")):
        return None
    return normalized


def check_image_name(name):
    """Raise ManifestError unless name is a fully qualified, tagged image reference.

    containerd lists imported images under exactly the name they carry, and the CRI looks them
    up by the name the pod or the sandbox setting gives: ``pause:3.10`` or ``library/busybox:1``
    would never match, so only ``REGISTRY/PATH:TAG`` is accepted.
    """
    match = IMAGE_NAME.match(str(name))
    registry = match.group("registry") if match else ""
    if not match or not ("." in registry or ":" in registry or registry == "localhost"):
        raise ManifestError("image name %r is not fully qualified as REGISTRY/PATH:TAG (e.g. registry.k8s.io/pause:3.10.1)" % (name,))
    return match.group("tag")


def image_tag(name):
    """The tag of a fully qualified image name (org.opencontainers.image.ref.name of its archive)."""
    try:
        return check_image_name(name)
    except ManifestError as exc:
        raise ValueError(str(exc)) from None


def parse_images(data, where=MANIFEST):
    """The validated ``images`` entries of a manifest dict, sorted by (arch, name).

    A manifest without ``images`` has none. Every problem names the entry and what is wrong.
    """
    images = data.get("images")
    if images is None:
        return []
    if not isinstance(images, list):
        raise ManifestError("%s: images must be a list" % where)
    result = []
    seen = {}
    single = {}
    for index, entry in enumerate(images):
        label = "%s: images[%d]" % (where, index)
        if not isinstance(entry, dict):
            raise ManifestError("%s is not an object" % label)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ManifestError("%s has no name" % label)
        label = "%s (%s)" % (label, name)
        try:
            check_image_name(name)
        except ManifestError as exc:
            raise ManifestError("%s: %s" % (label, exc)) from None
        arch = entry.get("arch")
        if arch not in ARCHES:
            raise ManifestError("%s: arch must be one of %s, not %r" % (label, ", ".join(ARCHES), arch))
        relative = safe_relative(entry.get("file", ""))
        if not entry.get("file") or relative is None:
            raise ManifestError("%s: file must be a path inside the bundle, not %r" % (label, entry.get("file")))
        digest = str(entry.get("sha256", "")).lower()
        if not HEX64.match(digest):
            raise ManifestError("%s: sha256 must be 64 hex digits" % label)
        purpose = entry.get("purpose", "extra")
        if purpose not in PURPOSES:
            raise ManifestError("%s: purpose must be one of %s, not %r" % (label, ", ".join(PURPOSES), purpose))
        if (name, arch) in seen:
            raise ManifestError("%s: %s for %s is listed twice (also images[%d])" % (label, name, arch, seen[(name, arch)]))
        seen[(name, arch)] = index
        if purpose in SINGLE_PURPOSES:
            if (purpose, arch) in single:
                raise ManifestError("%s: a second %s image for %s (also %s)" % (label, purpose, arch, single[(purpose, arch)]))
            single[(purpose, arch)] = name
        result.append(dict(name=name, arch=arch, file=relative, sha256=digest, purpose=purpose,
                           source=str(entry.get("source") or "")))
    return sorted(result, key=lambda image: (image["arch"], image["name"]))


def check_manifest(data, where=MANIFEST):
    """Raise ManifestError unless data is a format 1 manifest (with a valid ``images`` part, if any)."""
    if not isinstance(data, dict) or data.get("format") != 1 or not isinstance(data.get("artifacts"), list):
        raise ManifestError("%s is not a format 1 bundle manifest" % where)
    parse_images(data, where)
    return data


def artifact_key(name, version, arch):
    """The key an artifact is found by in a bundle: strings, so 3.6 and "3.6" are alike and a junk entry
    (a list for a name) can never break the lookup."""
    return (str(name), str(version), str(arch))


def artifact_index(data, where=MANIFEST):
    """The ``artifacts`` entries of a checked manifest, keyed by artifact_key.

    The artifact module looks artifacts up here and preflight checks a bundle against the same
    index, so both agree on what a bundle carries. A later entry with the same key wins.
    """
    index = {}
    for position, entry in enumerate(data["artifacts"]):
        if not isinstance(entry, dict):
            raise ManifestError("%s: artifacts[%d] is not an object" % (where, position))
        index[artifact_key(entry.get("name"), entry.get("version"), entry.get("arch"))] = entry
    return index


def artifact_file(entry):
    """(relative file, sha256) of an ``artifacts`` entry; ManifestError unless both are usable."""
    relative = safe_relative(str(entry.get("file", "")))
    digest = str(entry.get("sha256", "")).lower()
    if relative is None or not HEX64.match(digest):
        raise ManifestError("manifest entry needs a relative file and a sha256")
    return relative, digest


def image_for(images, purpose, arch=None, name=None):
    """Name of the bundle image with this purpose for arch ('' when the bundle has none).

    Without arch, the image of any architecture (the names of one image are the same for every
    architecture; amd64 is taken first when they are not). With name, only an image whose
    repository ends in that path element (busybox: docker.io/library/busybox:1.37), so that one
    of several `extra` images can be picked by what it is.
    """
    for image in sorted(images or [], key=lambda i: (i["arch"] != "amd64", i["arch"])):
        if image.get("purpose") != purpose or (arch is not None and image["arch"] != arch):
            continue
        if name is None or image_repository(image["name"]).rsplit("/", 1)[-1] == name:
            return image["name"]
    return ""


def image_repository(name):
    """The image name without its tag: registry.k8s.io/pause:3.10.1 -> registry.k8s.io/pause."""
    return name[: -len(image_tag(name)) - 1]


def archive_name(name):
    """Base name of the archive file for an image name: registry.k8s.io/pause:3.10.1 -> pause-3.10.1.tar."""
    return "%s-%s.tar" % (image_repository(name).rsplit("/", 1)[-1], image_tag(name))


def images_plan(wanted, arches):
    """Manifest entries (without sha256) for saving images into a bundle.

    wanted: [{"name": ..., "purpose": ...}], arches: list or "amd64,arm64". Files are
    ``images/ARCH/<repository>-<tag>.tar``; two images that would share a file are refused.
    """
    if isinstance(arches, str):
        arches = arches.split(",")
    arches = sorted(set(a.strip() for a in arches if a.strip()))
    plan = []
    files = {}
    for arch in arches:
        if arch not in ARCHES:
            raise ManifestError("architecture %r is not one of %s" % (arch, ", ".join(ARCHES)))
        names = set()
        for item in wanted or []:
            item = item if isinstance(item, dict) else {"name": item, "purpose": "extra"}
            name, purpose = item["name"], item.get("purpose") or "extra"
            check_image_name(name)
            if purpose not in PURPOSES:
                raise ManifestError("%s: purpose must be one of %s" % (name, ", ".join(PURPOSES)))
            if name in names:
                continue
            names.add(name)
            relative = "images/%s/%s" % (arch, archive_name(name))
            if relative in files:
                raise ManifestError("%s and %s would both be saved as %s" % (files[relative], name, relative))
            files[relative] = name
            plan.append(dict(name=name, arch=arch, file=relative, purpose=purpose,
                             source="ctr images pull --platform linux/%s %s" % (arch, name)))
    return plan


def host_images(images, arch, directory):
    """The images a host of arch imports, each with ``dest``: its archive's path on the host.

    Entries without an arch (extra images given for every architecture) apply to every host. A
    later entry with the same name replaces an earlier one (extra images after the bundle's).
    """
    chosen = {}
    for image in images or []:
        if image.get("arch") in (None, "", arch):
            chosen[image["name"]] = image
    result = []
    for name in sorted(chosen):
        image = dict(chosen[name])
        image["dest"] = "%s/%s.tar" % (directory.rstrip("/"), re.sub(r"[/:@]", "_", name))
        result.append(image)
    return result


def missing_images(images, listed):
    """Of images, those whose name is not among listed (``ctr images ls -q`` output lines)."""
    present = set(line.strip() for line in (listed or []) if line.strip())
    return [image for image in images or [] if image["name"] not in present]


# ---- where the manifest is ---------------------------------------------------------------

def unpacked_dir(cache_dir, tarball):
    """Directory a bundle tarball is unpacked into (once) under the controller cache."""
    st = os.stat(tarball)
    return os.path.join(cache_dir, "bundles", "%s-%d-%d" % (os.path.basename(tarball), st.st_size, st.st_mtime_ns))


def manifest_root(directory):
    """The directory holding manifest.json: directory itself or one level down, else None."""
    if os.path.isfile(os.path.join(directory, MANIFEST)):
        return directory
    if os.path.isdir(directory):
        for sub in sorted(os.listdir(directory)):
            if os.path.isfile(os.path.join(directory, sub, MANIFEST)):
                return os.path.join(directory, sub)
    return None


def _manifest_from_tarball(tarball):
    with tarfile.open(tarball, "r:*") as archive:
        for member in archive:
            name = safe_relative(member.name)
            if member.isreg() and name and os.path.basename(name) == MANIFEST and name.count("/") <= 1:
                with archive.extractfile(member) as handle:
                    return handle.read()
    return None


def read_manifest(bundle, cache_dir=None):
    """The manifest dict of a bundle directory or tarball (read from its unpacked copy in the
    cache when the artifact module unpacked it already, else straight from the tarball)."""
    if not bundle:
        raise ManifestError("no bundle given (kubebin_bundle_dir)")
    if not os.path.exists(bundle):
        raise ManifestError("bundle %s does not exist" % bundle)
    raw = None
    where = os.path.join(bundle, MANIFEST)
    if os.path.isfile(bundle) and bundle.endswith(BUNDLE_SUFFIXES):
        target = unpacked_dir(cache_dir, bundle) if cache_dir else None
        root = manifest_root(target) if target and os.path.exists(os.path.join(target, ".unpacked")) else None
        if root:
            where = os.path.join(root, MANIFEST)
        else:
            where = "%s:%s" % (bundle, MANIFEST)
            try:
                raw = _manifest_from_tarball(bundle)
            except (OSError, tarfile.TarError) as exc:
                raise ManifestError("bundle tarball %s: %s" % (bundle, exc)) from None
            if raw is None:
                raise ManifestError("bundle tarball %s has no manifest.json at its top or one level down" % bundle)
    if raw is None:
        try:
            with open(where, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise ManifestError("bundle %s has no readable manifest.json: %s" % (bundle, exc.strerror or exc)) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ManifestError("%s is not JSON: %s" % (where, exc)) from None
    return check_manifest(data, where)
