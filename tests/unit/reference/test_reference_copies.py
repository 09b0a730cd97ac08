"""The flag references the render tests read are byte copies of the project's shared reference."""

from __future__ import annotations

import filecmp
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "reference")


@pytest.mark.parametrize("name,copy", [("k8s-flags.json", "tests/unit/reference/k8s-flags.json")])
def test_reference_copy_equals_shared_reference(name, copy):
    shared = os.path.join(SHARED, name)
    if not os.path.exists(shared):
        pytest.skip("no shared reference next to the repository")
    assert filecmp.cmp(shared, os.path.join(REPO, copy), shallow=False)
