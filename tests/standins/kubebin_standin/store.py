# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apiserver stand-in's object store: JSON in etcd (shared by every apiserver of the cluster),
mirrored as one file per object under the log dir so tests can read objects back on the host."""

from __future__ import annotations

import json
import os

# Not /registry/: nobody should mistake these JSON documents for the real apiserver's storage.
PREFIX = "/kubebin-standin/registry/"


class Store:
    def __init__(self, etcd, mirror_dir: str) -> None:
        self.etcd = etcd
        self.mirror_dir = mirror_dir

    @staticmethod
    def key(group: str, resource: str, namespace: str, name: str = "") -> bytes:
        return ("%s%s/%s/%s/%s" % (PREFIX, group or "core", resource, namespace or "_cluster", name)).encode()

    @staticmethod
    def _load(value: bytes, revision: int) -> dict:
        # Like the real apiserver: resourceVersion is the etcd modification revision, not stored.
        obj = json.loads(value)
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        return obj

    def get(self, group, resource, namespace, name):
        value, revision = self.etcd.get(self.key(group, resource, namespace, name))
        return self._load(value, revision) if value is not None else None

    def list(self, group, resource, namespace) -> list:
        prefix = self.key(group, resource, namespace) if namespace else ("%s%s/%s/" % (PREFIX, group or "core", resource)).encode()
        return [self._load(value, revision) for value, revision in self.etcd.list(prefix)]

    def put(self, group, resource, namespace, name, obj: dict) -> dict:
        obj.setdefault("metadata", {}).pop("resourceVersion", None)
        revision = self.etcd.put(self.key(group, resource, namespace, name), json.dumps(obj, sort_keys=True).encode())
        obj["metadata"]["resourceVersion"] = str(revision)
        self._mirror(resource, namespace, name, obj)
        return obj

    def delete(self, group, resource, namespace, name) -> bool:
        deleted = self.etcd.delete(self.key(group, resource, namespace, name)) > 0
        path = self._mirror_path(resource, namespace, name)
        if os.path.exists(path):
            os.unlink(path)
        return deleted

    def _mirror_path(self, resource, namespace, name) -> str:
        return os.path.join(self.mirror_dir, "objects", resource, namespace or "_cluster", name + ".json")

    def _mirror(self, resource, namespace, name, obj) -> None:
        path = self._mirror_path(resource, namespace, name)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
