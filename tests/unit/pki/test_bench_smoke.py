"""bench/pki/run.py works end to end on a tiny cluster (our side only: the baseline is slow)."""

from __future__ import annotations

import os
import subprocess
import sys

from pki_helpers import REPO


def test_bench_runs_and_prints_a_row():
    result = subprocess.run([sys.executable, os.path.join(REPO, "bench", "pki", "run.py"), "--nodes", "1",
                             "--baseline-max-nodes", "0"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("1 ")]
    assert len(rows) == 1
    nodes, files = rows[0][:2]
    # the bench cluster always has 3 control-plane/etcd hosts that are nodes too: 3 CAs, 10 shared
    # leaves, 6 etcd member and 6 kubelet certificates (25 pairs), 5 + 3 kubeconfigs, sa.key/.pub and
    # encryption-config.yaml
    assert int(nodes) == 1 and int(files) == 2 * 25 + 8 + 3
    assert "skipped" in result.stdout and float(rows[0][3]) > 0  # first-run wall seconds
