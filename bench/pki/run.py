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
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from common import REPO, timed_playbook  # noqa: E402  pylint: disable=wrong-import-position


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


def timed(playbook, inventory, pki_dir):
    return timed_playbook(playbook, inventory, "-e", "kubebin_pki_dir=%s" % pki_dir)


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
