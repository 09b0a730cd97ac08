# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the five stand-ins as single-file executables (Python zipapps with a shebang).

Byte-for-byte reproducible (fixed timestamps, sorted entries): the same sources and version give
the same SHA-256, so a rebuilt bundle does not make the collection re-copy or restart anything.
"""

from __future__ import annotations

import hashlib
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(HERE, "kubebin_standin")
REFERENCE = os.path.join(HERE, "reference", "k8s-flags.json")
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
SHEBANG = b"#!/usr/bin/env python3\n"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _sources() -> list:
    """(archive name, file path) of everything that goes into a stand-in."""
    entries = [("kubebin_standin/" + name, os.path.join(PACKAGE_DIR, name))
               for name in sorted(os.listdir(PACKAGE_DIR)) if name.endswith(".py")]
    entries.append(("kubebin_standin/k8s-flags.json", REFERENCE))
    return entries


def sources_digest() -> str:
    """SHA-256 over the stand-in sources, for build caches."""
    digest = hashlib.sha256()
    for arcname, path in _sources():
        digest.update(arcname.encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def _add(archive: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def build(component: str, version: str, out_path: str) -> str:
    """Write one stand-in executable; returns its path."""
    if component not in COMPONENTS:
        raise ValueError("unknown component %s" % component)
    main = ("import sys\nfrom kubebin_standin.main import run\nsys.exit(run(%r, %r))\n" % (component, version)).encode()
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(SHEBANG)
        with zipfile.ZipFile(handle, "w") as archive:
            _add(archive, "__main__.py", main)
            for arcname, path in _sources():
                with open(path, "rb") as source:
                    _add(archive, arcname, source.read())
    os.chmod(tmp, 0o755)
    os.replace(tmp, out_path)
    return out_path


def build_all(out_dir: str, version: str) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    return {component: build(component, version, os.path.join(out_dir, component)) for component in COMPONENTS}
