"""Make the collection importable as ansible_collections.kubebin.cluster in every test.

The repository is exposed through a symlink tree in a temporary directory, the same shape
ansible-test and ansible-playbook expect, without copying anything.
"""

from __future__ import annotations

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_root() -> str:
    root = os.environ.get("KUBEBIN_COLLECTIONS_ROOT")
    if not root:
        root = os.path.join(tempfile.gettempdir(), "kubebin-collections-%d" % os.getuid())
    link = os.path.join(root, "ansible_collections", "kubebin", "cluster")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


COLLECTIONS_ROOT = _collection_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS_ROOT)
