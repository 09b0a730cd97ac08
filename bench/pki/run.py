# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time the whole-cluster PKI: kubebin.cluster (playbooks/pki.yml) against the same PKI built with
community.crypto modules (bench/pki/community_crypto.yml), for several cluster sizes.

    python bench/pki/run.py --nodes 3,50,500 [--baseline-max-nodes 50]

Needs ansible-playbook (with the `ansible` bundle for community.crypto) on PATH or next to the
Python running this script. Prints one table row per size: first run, no-change rerun, baseline,
ratios. Both sides use RSA 2048 keys; the host running it should be otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


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


def write_inventory(path, nodes):
    """3 control-plane + etcd hosts (also nodes) and nodes-3 workers: `nodes` kubelets in all."""
    lines = ["all:", "  vars:", "    ansible_connection: local", "    ansible_python_interpreter: %s" % sys.executable,
             "  children:", "    etcd:", "      hosts:"]
    for i in range(1, 4):
        lines.append("        cp%d: {ip: 10.0.0.%d}" % (i, i))
    lines += ["    k8s_cluster:", "      children:", "        kube_control_plane:", "          hosts:"]
    lines += ["            cp%d:" % i for i in range(1, 4)]
    lines += ["        kube_node:", "          hosts:"]
    lines += ["            cp%d:" % i for i in range(1, 4)]
    for i in range(max(0, nodes - 3)):
        lines.append("            w%d: {ip: 10.%d.%d.%d}" % (i, 1 + i // 65536, (i // 256) % 256, i % 256))
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def ansible_playbook():
    found = shutil.which("ansible-playbook") or shutil.which("ansible-playbook", path=os.path.dirname(sys.executable))
    if not found:
        sys.exit("ansible-playbook not found")
    return found


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(playbook, inventory, pki_dir):
    """(wall seconds, CPU seconds of the whole process tree) of one ansible-playbook run.

    CPU time is reported too because it hardly depends on what else the machine runs.
    """
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR="1")
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run([ansible_playbook(), "-i", inventory, playbook, "-e", "kubebin_pki_dir=%s" % pki_dir],
                            capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit("%s failed:\n%s\n%s" % (playbook, result.stdout[-4000:], result.stderr[-2000:]))
    return elapsed, _children_cpu() - cpu


def count_files(directory):
    return sum(len(files) for _root, _dirs, files in os.walk(directory))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="3,50,500", help="comma-separated cluster sizes (kubelets)")
    parser.add_argument("--baseline-max-nodes", type=int, default=None,
                        help="skip the community.crypto baseline above this size (it is slow)")
    parser.add_argument("--keep", action="store_true", help="keep the generated directories")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.nodes.split(",") if n.strip()]
    work = tempfile.mkdtemp(prefix="kubebin-bench-")
    ours_pb = os.path.join(REPO, "playbooks", "pki.yml")
    base_pb = os.path.join(HERE, "community_crypto.yml")
    header = "%6s %6s | %15s | %15s | %15s | %13s | %12s" % (
        "nodes", "files", "ours wall/cpu", "rerun wall/cpu", "base wall/cpu", "ratio wall/cpu", "rerun/first")
    print(header)
    print("-" * len(header))
    sys.stdout.flush()
    rows = []
    try:
        for nodes in sizes:
            inventory = os.path.join(work, "hosts-%d.yml" % nodes)
            write_inventory(inventory, nodes)
            ours_dir = os.path.join(work, "ours-%d" % nodes)
            first = timed(ours_pb, inventory, ours_dir)
            rerun = timed(ours_pb, inventory, ours_dir)
            # ours first: the baseline of a large cluster takes long
            print("%6d %6d | %7.1f %7.1f | %7.1f %7.1f | " % (
                nodes, count_files(ours_dir), first[0], first[1], rerun[0], rerun[1]), end="")
            sys.stdout.flush()
            baseline = None
            if args.baseline_max_nodes is None or nodes <= args.baseline_max_nodes:
                baseline = timed(base_pb, inventory, os.path.join(work, "baseline-%d" % nodes))
            rows.append((nodes, count_files(ours_dir), first, rerun, baseline))
            print("%15s | %13s | %12.3f" % (
                "%7.1f %7.1f" % baseline if baseline else "skipped",
                "%5.1fx %5.1fx" % (baseline[0] / first[0], baseline[1] / first[1]) if baseline else "-",
                rerun[0] / first[0]))
            sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept: %s" % work)
    return rows


if __name__ == "__main__":
    main()
