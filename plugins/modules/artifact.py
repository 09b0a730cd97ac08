#!/usr/bin/python
# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: artifact
short_description: Obtain upstream release artifacts once, verify their SHA-256 and unpack them
version_added: 0.1.0
description:
  - Runs on the controller (use it with C(delegate_to=localhost)). For every requested artifact it
    fills a cache keyed by name, version and architecture, proves the file by its SHA-256 and, for
    archives, unpacks the binaries once into C(<cache_dir>/<name>/<version>/<arch>/extracted/).
  - With O(source=download) the expected sum is the pinned one from O(checksums) when present,
    otherwise the checksum file upstream publishes next to the artifact. A download whose sum does
    not match is deleted and the module fails naming the artifact and both sums. A version with no
    pinned sum and no checksum file is refused.
  - With O(source=bundle) only the bundle made by C(playbooks/bundle.yml) is used, every needed
    file is checked against the bundle's C(manifest.json), and no network access happens at all.
  - Cached files are hashed again on every run, so a damaged cache is noticed and fetched again.
  - Container images of a bundle (the optional C(images) list of its manifest, OCI image archives as
    C(ctr images export) writes them) are verified the same way with O(bundle_images=true), and
    O(extra_images) archives on the controller with their O(extra_images[].sha256) when given.
author: kubebin maintainers (@kubebin)
attributes:
  check_mode:
    support: full
    description: Nothing is downloaded, unpacked or written; missing artifacts are reported as changes.
  diff_mode:
    support: none
    description: Artifacts are binary files; the result lists what was obtained instead.
options:
  artifacts:
    description:
      - The artifacts to obtain. In O(artifacts[].url), O(artifacts[].checksum_url) the strings
        C({version}) and C({arch}) are replaced by the item's version and architecture.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Artifact name, for example C(etcd) or C(kubelet).
        type: str
        required: true
      version:
        description: Upstream version without the leading C(v).
        type: str
        required: true
      arch:
        description: Architecture.
        type: str
        required: true
        choices: [amd64, arm64]
      url:
        description: Download URL (ignored with O(source=bundle) except as information).
        type: str
        required: true
      checksum_url:
        description:
          - URL of the checksum file upstream publishes for this artifact. It may hold a bare
            hex digest or C(<digest>  <file name>) lines.
        type: str
      archive:
        description: Whether the artifact is a tar archive to unpack.
        type: bool
        default: false
      members:
        description:
          - Binary names the artifact gives. For a single binary, the one name it is installed as.
            For an archive, the base names of the files to unpack (each must occur exactly once).
          - An archive with no O(artifacts[].members) gives every executable regular file at its
            top level (the CNI plugins).
        type: list
        elements: str
        default: []
      required_members:
        description: For archives unpacked without O(artifacts[].members), names that must be present.
        type: list
        elements: str
        default: []
  source:
    description: Where artifacts come from.
    type: str
    choices: [download, bundle]
    default: download
  cache_dir:
    description: Controller directory holding downloads and unpacked archives.
    type: path
    required: true
  bundle_dir:
    description:
      - Bundle directory with C(manifest.json), or a C(.tar.gz)/C(.tgz)/C(.tar) of such a directory
        (unpacked once into O(cache_dir)). Required with O(source=bundle).
    type: path
  checksums:
    description:
      - Pinned SHA-256 sums keyed C(<name>-<version>-<arch>), for example C(etcd-3.6.14-amd64).
        A pinned sum wins over the upstream checksum file.
    type: dict
    default: {}
  timeout:
    description: Seconds to wait for a connection or for each read before giving up on an attempt.
    type: int
    default: 60
  retries:
    description: How many times a request failing on a network error or HTTP 5xx/429 is tried again.
    type: int
    default: 3
  extract:
    description: Whether to unpack archives. The bundle builder does not need the unpacked files.
    type: bool
    default: true
  export_dir:
    description:
      - Also lay the verified artifacts out in this directory, at their RV(manifest) C(file) paths, with
        a C(manifest.json) listing them. The result is an offline bundle for O(source=bundle).
      - Files already there with the right content are left alone.
    type: path
  bundle_images:
    description:
      - With O(source=bundle), verify the SHA-256 of every image archive the bundle's manifest
        lists under C(images) and return them in RV(images). A mismatch fails naming the file.
    type: bool
    default: false
  extra_images:
    description:
      - Image archives on the controller outside the bundle (for example test images), returned
        in RV(images) with C(purpose=extra), with any O(source).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Fully qualified image name the archive carries, C(REGISTRY/PATH:TAG).
        type: str
        required: true
      file:
        description: The archive (OCI image layout tar) on the controller.
        type: path
        required: true
      arch:
        description: Architecture of the image; empty for an image every host imports.
        type: str
        choices: [amd64, arm64]
      sha256:
        description: Expected SHA-256 of the archive; when given, a mismatch fails.
        type: str
  export_images:
    description:
      - With O(export_dir), image archives already saved under O(export_dir) at their C(file) path,
        hashed and written into the C(images) list of C(manifest.json). Empty writes no C(images).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Fully qualified image name, C(REGISTRY/PATH:TAG).
        type: str
        required: true
      arch:
        description: Architecture of the archive.
        type: str
        required: true
        choices: [amd64, arm64]
      file:
        description: Path of the archive relative to O(export_dir).
        type: str
        required: true
      purpose:
        description: What the image is for.
        type: str
        choices: [sandbox, coredns, extra]
        default: extra
      source:
        description: Where the image came from (information only).
        type: str
        default: ""
seealso:
  - name: kubebin.cluster binaries role
    description: The role that calls this module and installs the results on the hosts.
    link: https://github.com/kubebin/cluster/blob/main/docs/binaries.md
"""

EXAMPLES = r"""
- name: Obtain etcd 3.6.14 for amd64 and arm64
  kubebin.cluster.artifact:
    cache_dir: ~/.cache/kubebin/artifacts
    artifacts:
      - name: etcd
        version: "3.6.14"
        arch: "{{ item }}"
        url: https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz
        checksum_url: https://github.com/etcd-io/etcd/releases/download/v{version}/SHA256SUMS
        archive: true
        members: [etcd, etcdctl, etcdutl]
  loop: [amd64, arm64]
  delegate_to: localhost
  run_once: true

- name: Verify the container images of an offline bundle
  kubebin.cluster.artifact:
    source: bundle
    bundle_dir: /srv/kubebin-bundle
    cache_dir: ~/.cache/kubebin/artifacts
    bundle_images: true
  delegate_to: localhost
  run_once: true

- name: Use only an offline bundle
  kubebin.cluster.artifact:
    source: bundle
    bundle_dir: /srv/kubebin-bundle
    cache_dir: ~/.cache/kubebin/artifacts
    artifacts:
      - {name: kubectl, version: "1.36.4", arch: amd64, url: unused, members: [kubectl]}
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
artifacts:
  description: One entry per artifact, keyed C(<name>/<version>/<arch>). Empty for missing artifacts in check mode.
  returned: always
  type: dict
  contains:
    name:
      description: Artifact name.
      type: str
      sample: etcd
    version:
      description: Version.
      type: str
      sample: 3.6.14
    arch:
      description: Architecture.
      type: str
      sample: amd64
    path:
      description: Verified artifact file on the controller.
      type: str
      sample: /home/op/.cache/kubebin/artifacts/etcd/3.6.14/amd64/etcd-v3.6.14-linux-amd64.tar.gz
    file:
      description: Path relative to the cache or bundle root, as written in a bundle manifest.
      type: str
      sample: etcd/3.6.14/amd64/etcd-v3.6.14-linux-amd64.tar.gz
    sha256:
      description: Verified SHA-256 of the artifact file.
      type: str
      sample: ffe840ff9295808e88cce2794a18a5ac87f12a5203c8314d0bf6aa119b41bac5
    sha256_source:
      description: What the sum was checked against (C(pinned), C(checksum_file), C(cache) or C(manifest)).
      type: str
      sample: pinned
    url:
      description: Upstream URL of the artifact.
      type: str
      sample: https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd-v3.6.14-linux-amd64.tar.gz
    files:
      description: Binaries the artifact gives, each with its controller path and SHA-256.
      type: dict
      sample: {"etcd": {"path": "/home/op/.cache/kubebin/artifacts/etcd/3.6.14/amd64/extracted/etcd", "sha256": "0a1b..."}}
    changed:
      description: Whether this artifact was downloaded or unpacked in this run.
      type: bool
      sample: false
manifest:
  description: The artifacts as bundle manifest entries (C(name), C(version), C(arch), C(file), C(sha256), C(url)), sorted by C(file).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "runc", "version": "1.4.3", "arch": "amd64", "file": "runc/1.4.3/amd64/runc.amd64", "sha256": "f6ae...", "url": "https://..."}]
images:
  description:
    - The verified image archives (O(bundle_images) of the bundle, then O(extra_images)), each with
      C(name), C(arch) (empty for an extra image of every architecture), C(purpose), C(file) (relative
      to the bundle, or the given controller path), C(path) (on the controller) and C(sha256).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "registry.k8s.io/pause:3.10.1", "arch": "amd64", "purpose": "sandbox", "file": "images/amd64/pause-3.10.1.tar",
            "path": "/srv/kubebin-bundle/images/amd64/pause-3.10.1.tar", "sha256": "5e1f...", "source": "ctr images pull ..."}]
"""

import fcntl
import hashlib
import json
import os
import socket
import tarfile
import tempfile
import time
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import open_url

from ansible_collections.kubebin.cluster.plugins.module_utils import bundle_manifest
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_fs import atomic_write

CHUNK = 1024 * 1024
HEX64 = bundle_manifest.HEX64
STAMP = ".verified.json"
EXTRACT_STAMP = ".extracted.json"
BUNDLE_SUFFIXES = bundle_manifest.BUNDLE_SUFFIXES


class ArtifactError(Exception):
    pass


class TransientError(ArtifactError):
    """A failure worth trying again: connection problems, timeouts, HTTP 5xx and 429."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_json_atomic(path, value):
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True).encode("utf-8"), 0o644)


def remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def expand(template, item):
    return (template or "").replace("{version}", item["version"]).replace("{arch}", item["arch"])


def parse_checksum_file(text, file_name):
    """Return the digest for file_name from a bare-digest or '<digest>  <name>' checksum file."""
    bare = []
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields:
            continue
        digest = fields[0].lower()
        if not HEX64.match(digest):
            continue
        if len(fields) == 1:
            bare.append(digest)
            continue
        name = fields[1].lstrip("*")
        if name.startswith("./"):
            name = name[2:]
        if os.path.basename(name) == file_name:
            return digest
    if len(bare) == 1:
        return bare[0]
    return None


class Fetcher:
    """HTTP(S) with a timeout on every socket operation and a bounded number of retries."""

    def __init__(self, module):
        self.module = module
        self.timeout = module.params["timeout"]
        self.retries = max(0, module.params["retries"])

    def _attempts(self, url, action):
        last = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(2 ** attempt, 10))
            try:
                return action()
            except TransientError as exc:
                last = exc
        attempts = self.retries + 1
        raise ArtifactError("%s: giving up after %d attempt%s: %s" % (url, attempts, "" if attempts == 1 else "s", last))

    def _open(self, url):
        try:
            return open_url(url, timeout=self.timeout, http_agent="kubebin.cluster-artifact", follow_redirects="all")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TransientError("HTTP %d" % exc.code)
            raise ArtifactError("%s: HTTP %d %s" % (url, exc.code, exc.reason))
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            raise TransientError(to_native(getattr(exc, "reason", exc)))

    def text(self, url):
        def action():
            response = self._open(url)
            try:
                return response.read(1024 * 1024).decode("utf-8", "replace")
            except (socket.timeout, ConnectionError, OSError) as exc:
                raise TransientError(to_native(exc))
            finally:
                response.close()
        return self._attempts(url, action)

    def file(self, url, directory):
        """Download url into a temporary file in directory; return (path, sha256)."""
        def action():
            response = self._open(url)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".download-")
            digest = hashlib.sha256()
            try:
                with os.fdopen(fd, "wb") as handle:
                    for chunk in iter(lambda: response.read(CHUNK), b""):
                        digest.update(chunk)
                        handle.write(chunk)
            except (socket.timeout, ConnectionError, OSError) as exc:
                remove_quietly(tmp)
                raise TransientError(to_native(exc))
            except BaseException:
                remove_quietly(tmp)
                raise
            finally:
                response.close()
            return tmp, digest.hexdigest()
        return self._attempts(url, action)


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
        key = "%s-%s-%s" % (item["name"], item["version"], item["arch"])
        pinned = (self.params["checksums"].get(key) or "").strip().lower() or None
        if pinned and not HEX64.match(pinned):
            raise ArtifactError("%s: pinned checksum %s is not a SHA-256 hex digest" % (key, pinned))
        if self.module.check_mode and not os.path.isdir(entry):
            result.update(changed=True, files={})
            return result
        os.makedirs(entry, mode=0o755, exist_ok=True)
        with Locked(entry):
            stamp = read_json(os.path.join(entry, STAMP)) or {}
            cached_sum = stamp.get("sha256") if stamp.get("file") == file_name else None
            trusted = pinned or cached_sum
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
            expected, source = pinned, "pinned"
            if not expected:
                expected, source = self.upstream_sum(item, file_name), "checksum_file"
            tmp, actual = self.fetcher.file(url, entry)
            if actual != expected:
                remove_quietly(tmp)
                raise ArtifactError("%s: SHA-256 mismatch for %s: expected %s (%s), downloaded file has %s; the file was removed"
                                    % (label(item), url, expected, source, actual))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
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
        os.makedirs(extracted, mode=0o755, exist_ok=True)
        files = {}
        with tarfile.open(result["path"], "r:*") as archive:
            for name, member in sorted(select_members(archive, item).items()):
                with archive.extractfile(member) as src:
                    files[name] = copy_stream(src, os.path.join(extracted, name), 0o755)
        for stale in set(os.listdir(extracted)) - set(files) - {EXTRACT_STAMP}:
            remove_quietly(os.path.join(extracted, stale))
        write_json_atomic(stamp_path, dict(archive_sha256=result["sha256"], files=files))
        result["files"] = dict((name, dict(path=os.path.join(extracted, name), sha256=digest)) for name, digest in files.items())
        result["changed"] = True
        return result

    @staticmethod
    def extracted_intact(directory, files):
        if not files:
            return False
        for name, digest in files.items():
            path = os.path.join(directory, name)
            if not os.path.isfile(path) or sha256_file(path) != digest:
                return False
        return True


def copy_stream(src, dest, mode):
    """Write a stream to dest atomically; return its SHA-256."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".tmp-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                digest.update(chunk)
                handle.write(chunk)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        remove_quietly(tmp)
        raise
    return digest.hexdigest()


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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            artifacts=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                version=dict(type="str", required=True),
                arch=dict(type="str", required=True, choices=["amd64", "arm64"]),
                url=dict(type="str", required=True),
                checksum_url=dict(type="str"),
                archive=dict(type="bool", default=False),
                members=dict(type="list", elements="str", default=[]),
                required_members=dict(type="list", elements="str", default=[]),
            )),
            source=dict(type="str", choices=["download", "bundle"], default="download"),
            cache_dir=dict(type="path", required=True),
            bundle_dir=dict(type="path"),
            checksums=dict(type="dict", default={}),
            timeout=dict(type="int", default=60),
            retries=dict(type="int", default=3),
            extract=dict(type="bool", default=True),
            export_dir=dict(type="path"),
            bundle_images=dict(type="bool", default=False),
            extra_images=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                file=dict(type="path", required=True),
                arch=dict(type="str", choices=["amd64", "arm64"]),
                sha256=dict(type="str", no_log=False),
            )),
            export_images=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                arch=dict(type="str", required=True, choices=["amd64", "arm64"]),
                file=dict(type="str", required=True),
                purpose=dict(type="str", choices=["sandbox", "coredns", "extra"], default="extra"),
                source=dict(type="str", default=""),
            )),
        ),
        required_if=[("source", "bundle", ["bundle_dir"])],
        supports_check_mode=True,
    )
    obtainer = Obtainer(module)
    results = {}
    images = []
    try:
        if not module.check_mode:
            os.makedirs(module.params["cache_dir"], mode=0o755, exist_ok=True)
        for item in module.params["artifacts"]:
            key = "%s/%s/%s" % (item["name"], item["version"], item["arch"])
            if key not in results:
                results[key] = obtainer.obtain(item)
        if module.params["bundle_images"] and module.params["source"] == "bundle":
            images.extend(obtainer.bundle_images())
        images.extend(obtainer.extra_images())
    except (ArtifactError, OSError, tarfile.TarError) as exc:
        module.fail_json(msg=to_native(exc), artifacts=results, images=images)
    for warning in obtainer.warnings:
        module.warn(warning)
    manifest = [dict((k, r[k]) for k in ("name", "version", "arch", "file", "sha256", "url"))
                for r in sorted(results.values(), key=lambda r: r["file"]) if "sha256" in r]
    changed = any(r["changed"] for r in results.values())
    if module.params["export_dir"]:
        try:
            exported = export_image_entries(module.params["export_dir"], module.params["export_images"])
            changed = export_bundle(module, module.params["export_dir"], results, manifest, exported) or changed
        except ArtifactError as exc:
            module.fail_json(msg=to_native(exc), artifacts=results)
        except OSError as exc:
            module.fail_json(msg="writing bundle %s: %s" % (module.params["export_dir"], to_native(exc)), artifacts=results)
    module.exit_json(changed=changed, artifacts=results, manifest=manifest, images=images)


if __name__ == "__main__":
    main()
