# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build cache outside the clone, so a second CI run on the same machine is warm.

An entry is a directory named by the hash of everything that decides its content (recipe,
version, Go version, architecture, this builder's sources). Its `record.json` holds the sha256
of every file; a hit re-hashes the files, and an entry whose files no longer match (a corrupted or
half-written cache) is removed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile


def cache_root() -> str:
    """$KUBEBIN_BUILD_CACHE, else $XDG_CACHE_HOME/kubebin, else ~/.cache/kubebin."""
    explicit = os.environ.get("KUBEBIN_BUILD_CACHE")
    if explicit:
        return os.path.abspath(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kubebin")


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_of(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Entry:
    """One cached build result: a directory of files plus record.json (file -> sha256, meta)."""

    RECORD = "record.json"

    def __init__(self, kind: str, name: str, key: str):
        self.path = os.path.join(cache_root(), kind, "%s-%s" % (name, key[:16]))

    def load(self):
        """The record when every file still matches it, else None (and the entry is removed)."""
        record_path = os.path.join(self.path, self.RECORD)
        if not os.path.isfile(record_path):
            if os.path.isdir(self.path):
                shutil.rmtree(self.path)
            return None
        with open(record_path, encoding="utf-8") as handle:
            record = json.load(handle)
        for rel, digest in record["files"].items():
            path = os.path.join(self.path, rel)
            if not os.path.isfile(path) or sha256_file(path) != digest:
                shutil.rmtree(self.path)
                return None
        return record

    def fill(self, produce) -> dict:
        """Run produce(tmpdir) -> meta in a scratch directory, record and move it into place."""
        parent = os.path.dirname(self.path)
        os.makedirs(parent, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=".fill-", dir=parent)
        try:
            meta = produce(scratch)
            files = {}
            for root, _dirs, names in os.walk(scratch):
                for name in names:
                    path = os.path.join(root, name)
                    files[os.path.relpath(path, scratch)] = sha256_file(path)
            record = {"files": files, "meta": meta}
            with open(os.path.join(scratch, self.RECORD), "w", encoding="utf-8") as handle:
                json.dump(record, handle, indent=2, sort_keys=True)
            if os.path.isdir(self.path):
                shutil.rmtree(self.path)
            os.replace(scratch, self.path)
        finally:
            if os.path.isdir(scratch):
                shutil.rmtree(scratch)
        return record

    def get(self, produce) -> tuple:
        """(record, hit): the cached record, or a fresh one made by produce."""
        record = self.load()
        if record is not None:
            return record, True
        return self.fill(produce), False
