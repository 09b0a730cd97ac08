"""Fixtures for the binaries role tests (helpers live in binaries_helpers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

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


@pytest.fixture
def private_containerd(tmp_path):
    """A containerd of our own (own root, state and socket, no CRI) for ctr to import into."""
    containerd, ctr = shutil.which("containerd"), shutil.which("ctr")
    if os.geteuid() != 0 or not containerd or not ctr:
        pytest.skip("needs root and an installed containerd with ctr (not installed for this test)")
    base = tmp_path / "containerd"
    base.mkdir()
    sock = str(base / "c.sock")
    (base / "config.toml").write_text(
        'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' % (base, base, sock, sock))
    with open(base / "log", "wb") as log:
        proc = subprocess.Popen([containerd, "--config", str(base / "config.toml")], stdout=log, stderr=log)
    try:
        for _attempt in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        else:
            pytest.skip("containerd did not start: %s" % (base / "log").read_text()[-500:])
        yield [ctr, "--address", sock, "--namespace", "k8s.io"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
