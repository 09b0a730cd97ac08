# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to the collection: the artifact module's cache, bundle and unpacking rules.

An Obtainer turns one requested artifact into a verified file on the controller, from the
download cache or from an offline bundle, and unpacks archives once into the cache entry.
"""

from __future__ import annotations

import fcntl
import json
import os
import tarfile

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_fetch import (
    HEX64, ArtifactError, Fetcher, copy_stream, parse_checksum_file, place, remove_quietly, sha256_file,
)
from ansible_collections.kubebin.cluster.plugins.module_utils.host_fs import atomic_write

STAMP = ".verified.json"
EXTRACT_STAMP = ".extracted.json"
BUNDLE_SUFFIXES = bundle_manifest.BUNDLE_SUFFIXES


def read_json(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_json_atomic(path, value):
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True).encode("utf-8"), 0o644)


def expand(template, item):
    return (template or "").replace("{version}", item["version"]).replace("{arch}", item["arch"])


class Locked:
    """Serialise work on one cache entry between concurrent runs."""

    def __init__(self, directory):
        self.path = os.path.join(directory, ".lock")
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def safe_member_name(name):
    return bundle_manifest.safe_relative(name)


def select_members(archive, item):
    """Map binary name -> tar member for the binaries this archive must give."""
    wanted = item["members"]
    found = {}
    for member in archive.getmembers():
        name = safe_member_name(member.name) if member.isreg() else None
        if name is None:
            continue
        base = os.path.basename(name)
        if wanted:
            if base in wanted:
                if base in found:
                    raise ArtifactError("%s: archive holds %s twice (%s, %s)" % (label(item), base, found[base].name, member.name))
                found[base] = member
        elif "/" not in name and member.mode & 0o111:
            found[base] = member
    required = wanted or item["required_members"]
    missing = sorted(set(required) - set(found))
    if missing:
        raise ArtifactError("%s: archive is incomplete, missing %s" % (label(item), ", ".join(missing)))
    if not found:
        raise ArtifactError("%s: archive holds no executable file" % label(item))
    return found


def label(item):
    return "%s %s (%s)" % (item["name"], item["version"], item["arch"])


class Obtainer:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.cache_dir = self.params["cache_dir"]
        self.fetcher = Fetcher(module)
        self.warnings = []
        self._manifest = None
        self._images = None
        self._bundle_root = None

    # ---- cache entries -------------------------------------------------------------------
    def entry_dir(self, item):
        return os.path.join(self.cache_dir, item["name"], item["version"], item["arch"])

    def relative_file(self, item):
        file_name = os.path.basename(expand(item["url"], item).split("?")[0])
        return "/".join((item["name"], item["version"], item["arch"], file_name))

    def obtain(self, item):
        if self.params["source"] == "bundle":
            return self.from_bundle(item)
        return self.download(item)

    def download(self, item):
        entry = self.entry_dir(item)
        relative = self.relative_file(item)
        file_name = os.path.basename(relative)
        path = os.path.join(entry, file_name)
        url = expand(item["url"], item)
        result = dict(name=item["name"], version=item["version"], arch=item["arch"], url=url,
                      file=relative, path=path, changed=False)
        pinned = self.pinned_sum(item)
        if self.module.check_mode and not os.path.isdir(entry):
            result.update(changed=True, files={})
            return result
        os.makedirs(entry, mode=0o755, exist_ok=True)
        with Locked(entry):
            trusted = pinned or self.recorded_sum(entry, file_name)
            if os.path.exists(path):
                actual = sha256_file(path)
                if trusted and actual == trusted:
                    result.update(sha256=actual, sha256_source="pinned" if pinned else "cache")
                    return self.finish(item, result, entry)
                self.warnings.append("%s: cached file %s has sha256 %s, expected %s; fetching it again"
                                     % (label(item), path, actual, trusted or "a recorded sum (none found)"))
                if not self.module.check_mode:
                    remove_quietly(path)
            if self.module.check_mode:
                result.update(changed=True, files={})
                return result
            return self.fetch_verified(item, result, entry, pinned)

    def pinned_sum(self, item):
        """The sum pinned in checksums for item, or None; a pin that is no SHA-256 is refused."""
        key = "%s-%s-%s" % (item["name"], item["version"], item["arch"])
        pinned = (self.params["checksums"].get(key) or "").strip().lower() or None
        if pinned and not HEX64.match(pinned):
            raise ArtifactError("%s: pinned checksum %s is not a SHA-256 hex digest" % (key, pinned))
        return pinned

    @staticmethod
    def recorded_sum(entry, file_name):
        """The sum the cache entry recorded when it last verified file_name, or None."""
        stamp = read_json(os.path.join(entry, STAMP)) or {}
        return stamp.get("sha256") if stamp.get("file") == file_name else None

    def fetch_verified(self, item, result, entry, pinned):
        """Download into the cache entry and keep the file only if it has the expected SHA-256."""
        path, url = result["path"], result["url"]
        file_name = os.path.basename(path)
        expected, source = pinned, "pinned"
        if not expected:
            expected, source = self.upstream_sum(item, file_name), "checksum_file"
        tmp, actual = self.fetcher.file(url, entry)
        if actual != expected:
            remove_quietly(tmp)
            raise ArtifactError("%s: SHA-256 mismatch for %s: expected %s (%s), downloaded file has %s; the file was removed"
                                % (label(item), url, expected, source, actual))
        place(tmp, path, 0o644)
        write_json_atomic(os.path.join(entry, STAMP), dict(file=file_name, sha256=actual, url=url, source=source))
        result.update(sha256=actual, sha256_source=source, changed=True)
        return self.finish(item, result, entry)

    def upstream_sum(self, item, file_name):
        checksum_url = expand(item.get("checksum_url"), item)
        if not checksum_url:
            raise ArtifactError("%s: no pinned SHA-256 and no checksum file URL; pin one in binaries_checksums" % label(item))
        try:
            text = self.fetcher.text(checksum_url)
        except ArtifactError as exc:
            raise ArtifactError("%s: no pinned SHA-256 and the upstream checksum file could not be read, refusing to download: %s"
                                % (label(item), exc))
        digest = parse_checksum_file(text, file_name)
        if not digest:
            raise ArtifactError("%s: checksum file %s has no SHA-256 for %s, refusing to download" % (label(item), checksum_url, file_name))
        return digest

    # ---- bundle --------------------------------------------------------------------------
    def bundle_root(self):
        if self._bundle_root is None:
            bundle = self.params["bundle_dir"]
            if not bundle:
                raise ArtifactError("source=bundle needs bundle_dir (kubebin_bundle_dir)")
            if not os.path.exists(bundle):
                raise ArtifactError("bundle %s does not exist" % bundle)
            if os.path.isfile(bundle) and bundle.endswith(BUNDLE_SUFFIXES):
                bundle = self.unpack_bundle(bundle)
            if not os.path.isfile(os.path.join(bundle, "manifest.json")):
                raise ArtifactError("bundle %s has no manifest.json" % bundle)
            self._bundle_root = bundle
        return self._bundle_root

    def unpack_bundle(self, tarball):
        """Unpack a bundle tarball once into the cache; return the directory holding manifest.json."""
        target = bundle_manifest.unpacked_dir(self.cache_dir, tarball)
        done = os.path.join(target, ".unpacked")
        if not os.path.exists(done):
            if self.module.check_mode:
                raise ArtifactError("bundle tarball %s is not unpacked yet; run without check mode once" % tarball)
            os.makedirs(target, mode=0o755, exist_ok=True)
            with Locked(target), tarfile.open(tarball, "r:*") as archive:
                for member in archive.getmembers():
                    name = safe_member_name(member.name)
                    if name is None or not member.isreg():
                        continue
                    dest = os.path.join(target, name)
                    os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
                    with archive.extractfile(member) as src:
                        copy_stream(src, dest, 0o644)
                atomic_write(done, b"", 0o644)
        root = bundle_manifest.manifest_root(target)
        if root:
            return root
        raise ArtifactError("bundle tarball %s has no manifest.json at its top or one level down" % tarball)

    def manifest(self):
        if self._manifest is None:
            path = os.path.join(self.bundle_root(), "manifest.json")
            # Read and indexed by bundle_manifest, as preflight reads it: both see the same bundle.
            try:
                data = bundle_manifest.read_manifest(self.bundle_root())
                self._images = bundle_manifest.parse_images(data, path)
                self._manifest = bundle_manifest.artifact_index(data, path)
            except bundle_manifest.ManifestError as exc:
                raise ArtifactError(str(exc))
        return self._manifest

    def from_bundle(self, item):
        manifest = self.manifest()
        entry = manifest.get(bundle_manifest.artifact_key(item["name"], item["version"], item["arch"]))
        if entry is None:
            have = sorted("%s/%s" % (v, a) for (n, v, a) in manifest if n == item["name"])
            raise ArtifactError("%s: not in bundle %s (it has %s); set the version to one the bundle carries or rebuild the bundle"
                                % (label(item), self.bundle_root(), ", ".join(have) or "no %s at all" % item["name"]))
        try:
            relative, expected = bundle_manifest.artifact_file(entry)
        except bundle_manifest.ManifestError as exc:
            raise ArtifactError("%s: %s" % (label(item), exc))
        path = os.path.join(self.bundle_root(), relative)
        if not os.path.isfile(path):
            raise ArtifactError("%s: bundle file %s is missing" % (label(item), path))
        actual = sha256_file(path)
        if actual != expected:
            raise ArtifactError("%s: bundle file %s does not match its manifest: manifest sha256 %s, file sha256 %s"
                                % (label(item), path, expected, actual))
        result = dict(name=item["name"], version=item["version"], arch=item["arch"], url=entry.get("url") or expand(item["url"], item),
                      file=relative, path=path, sha256=actual, sha256_source="manifest", changed=False)
        entry_dir = self.entry_dir(item)
        if item["archive"] and self.params["extract"] and not self.module.check_mode:
            os.makedirs(entry_dir, mode=0o755, exist_ok=True)
        return self.finish(item, result, entry_dir)

    # ---- container images ----------------------------------------------------------------
    def bundle_images(self):
        """Every image archive of the bundle manifest, proven by its SHA-256."""
        self.manifest()
        result = []
        for image in self._images:
            path = os.path.join(self.bundle_root(), image["file"])
            what = "image %s (%s)" % (image["name"], image["arch"])
            if not os.path.isfile(path):
                raise ArtifactError("%s: bundle file %s is missing" % (what, path))
            actual = sha256_file(path)
            if actual != image["sha256"]:
                raise ArtifactError("%s: bundle file %s does not match its manifest: manifest sha256 %s, file sha256 %s"
                                    % (what, path, image["sha256"], actual))
            result.append(dict(image, path=path))
        return result

    def extra_images(self):
        result = []
        for item in self.params["extra_images"]:
            what = "extra image %s" % item["name"]
            try:
                bundle_manifest.check_image_name(item["name"])
            except bundle_manifest.ManifestError as exc:
                raise ArtifactError("%s: %s" % (what, exc))
            expected = (item.get("sha256") or "").strip().lower()
            if expected and not HEX64.match(expected):
                raise ArtifactError("%s: sha256 %s is not a SHA-256 hex digest" % (what, expected))
            if not os.path.isfile(item["file"]):
                raise ArtifactError("%s: archive %s does not exist on the controller" % (what, item["file"]))
            actual = sha256_file(item["file"])
            if expected and actual != expected:
                raise ArtifactError("%s: archive %s has sha256 %s, expected %s" % (what, item["file"], actual, expected))
            result.append(dict(name=item["name"], arch=item.get("arch") or "", purpose="extra", file=item["file"],
                               path=item["file"], sha256=actual, source="extra_images"))
        return result

    # ---- unpacking -----------------------------------------------------------------------
    def finish(self, item, result, entry):
        if not item["archive"]:
            members = item["members"] or [item["name"]]
            result["files"] = {members[0]: dict(path=result["path"], sha256=result["sha256"])}
            return result
        if not self.params["extract"]:
            result["files"] = {}
            return result
        extracted = os.path.join(entry, "extracted")
        stamp_path = os.path.join(extracted, EXTRACT_STAMP)
        stamp = read_json(stamp_path) or {}
        if stamp.get("archive_sha256") == result["sha256"] and self.extracted_intact(extracted, stamp.get("files") or {}):
            result["files"] = dict((name, dict(path=os.path.join(extracted, name), sha256=digest))
                                   for name, digest in stamp["files"].items())
            return result
        if self.module.check_mode:
            result.update(changed=True, files={})
            return result
        files = self.unpack(item, result["path"], extracted)
        write_json_atomic(stamp_path, dict(archive_sha256=result["sha256"], files=files))
        result["files"] = dict((name, dict(path=os.path.join(extracted, name), sha256=digest)) for name, digest in files.items())
        result["changed"] = True
        return result

    @staticmethod
    def unpack(item, archive_path, extracted):
        """Unpack the archive's binaries into extracted, dropping anything else there; name -> SHA-256."""
        os.makedirs(extracted, mode=0o755, exist_ok=True)
        files = {}
        with tarfile.open(archive_path, "r:*") as archive:
            for name, member in sorted(select_members(archive, item).items()):
                with archive.extractfile(member) as src:
                    files[name] = copy_stream(src, os.path.join(extracted, name), 0o755)
        for stale in set(os.listdir(extracted)) - set(files) - {EXTRACT_STAMP}:
            remove_quietly(os.path.join(extracted, stale))
        return files

    @staticmethod
    def extracted_intact(directory, files):
        if not files:
            return False
        for name, digest in files.items():
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or sha256_file(path) != digest:
                return False
        return True
