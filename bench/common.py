# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark needs: this repository as kubebin.cluster, ansible-playbook, and timing."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def collections_root():
    """A directory where ansible finds this repository as kubebin.cluster."""
    root = os.path.join(tempfile.gettempdir(), "kubebin-bench-collections-%d" % os.getuid())
    link = os.path.join(root, "ansible_collections", "kubebin", "cluster")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


def ansible_playbook():
    found = shutil.which("ansible-playbook") or shutil.which("ansible-playbook", path=os.path.dirname(sys.executable))
    if not found:
        sys.exit("ansible-playbook not found")
    return found


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_playbook(playbook, inventory, *args, expect_success=True):
    """(wall seconds, CPU seconds of the whole process tree) of one ansible-playbook run.

    CPU time is reported too because it hardly depends on what else the machine runs.
    """
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR="1")
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run([ansible_playbook(), "-i", inventory, playbook] + list(args), capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if (result.returncode == 0) != expect_success:
        sys.exit("%s %s:\n%s\n%s" % (playbook, "failed" if expect_success else "passed", result.stdout[-4000:], result.stderr[-2000:]))
    return elapsed, _children_cpu() - cpu
