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

import os
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_export import export_bundle, export_image_entries, manifest_entries
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_fetch import ArtifactError
from ansible_collections.kubebin.cluster.plugins.module_utils.artifact_obtain import Obtainer


def argument_spec():
    return dict(
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
    )


def obtain_all(module, obtainer, results, images):
    """Fill results and images in place, so that a failure still reports what came before it."""
    if not module.check_mode:
        os.makedirs(module.params["cache_dir"], mode=0o755, exist_ok=True)
    for item in module.params["artifacts"]:
        key = "%s/%s/%s" % (item["name"], item["version"], item["arch"])
        if key not in results:
            results[key] = obtainer.obtain(item)
    if module.params["bundle_images"] and module.params["source"] == "bundle":
        images.extend(obtainer.bundle_images())
    images.extend(obtainer.extra_images())


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("source", "bundle", ["bundle_dir"])],
        supports_check_mode=True,
    )
    obtainer = Obtainer(module)
    results = {}
    images = []
    try:
        obtain_all(module, obtainer, results, images)
    except (ArtifactError, OSError, tarfile.TarError) as exc:
        module.fail_json(msg=to_native(exc), artifacts=results, images=images)
    for warning in obtainer.warnings:
        module.warn(warning)
    manifest = manifest_entries(results)
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
