"""Fixtures for the binaries role tests (helpers live in binaries_helpers.py)."""

from __future__ import annotations

import os

import pytest

from binaries_helpers import Mirror, Workspace


@pytest.fixture
def mirror(tmp_path):
    """A started loopback mirror with the upstream layout; stopped at the end of the test."""
    m = Mirror(str(tmp_path / "mirror"))
    m.start()
    yield m
    m.stop()


@pytest.fixture
def ws(tmp_path):
    """Two local hosts (amd64, arm64) with their own bin dirs, and a fresh controller cache."""
    if os.geteuid() != 0:
        pytest.skip("installs files owned by root:root; run as root (CI container)")
    return Workspace(tmp_path)
