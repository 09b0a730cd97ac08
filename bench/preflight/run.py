# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time preflight (playbooks/preflight.yml) against Ansible's own argument validation of every role
on every host (bench/preflight/validate_argument_spec.yml), for several inventory sizes.

    python bench/preflight/run.py --nodes 5,50,250

The baseline does less than preflight (types and choices only, no relations, no typos, values the
inventory sets only), so a ratio above 1 means preflight does more in less time. Hosts are never
contacted by either side. Prints one row per size: valid inventory, invalid inventory (preflight
must fail), baseline, ratio.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from common import REPO, timed_playbook  # noqa: E402  pylint: disable=wrong-import-position


def write_inventory(path, nodes):
    """3 control-plane + etcd hosts and NODES workers, none of them reachable (.invalid names)."""
    lines = ["all:", "  vars:", "    ansible_python_interpreter: %s" % sys.executable, "  children:", "    etcd:", "      hosts:"]
    lines += ["        cp%d: {ip: 192.0.2.1%d, ansible_host: cp%d.invalid}" % (i, i, i) for i in range(1, 4)]
    lines += ["    k8s_cluster:", "      children:", "        kube_control_plane:", "          hosts:"]
    lines += ["            cp%d:" % i for i in range(1, 4)]
    lines += ["        kube_node:", "          hosts:"]
    for i in range(1, nodes + 1):
        lines.append("            w%d: {ip: %s, ansible_host: w%d.invalid}" % (i, ipaddress.ip_address("198.18.0.0") + i, i))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="5,50,250", help="comma-separated numbers of workers")
    args = parser.parse_args(argv)
    ours = os.path.join(REPO, "playbooks", "preflight.yml")
    base = os.path.join(HERE, "validate_argument_spec.yml")
    work = tempfile.mkdtemp(prefix="kubebin-bench-preflight-")
    header = "%6s | %15s | %15s | %15s | %13s" % ("hosts", "valid wall/cpu", "invalid wall/cpu", "base wall/cpu", "ratio wall/cpu")
    print(header)
    print("-" * len(header))
    rows = []
    try:
        for nodes in [int(n) for n in args.nodes.split(",") if n.strip()]:
            inventory = os.path.join(work, "hosts-%d.yml" % nodes)
            write_inventory(inventory, nodes)
            valid = timed_playbook(ours, inventory)
            invalid = timed_playbook(ours, inventory, "-e", '{"kubelet_max_pods": "many", "kubebin_etcd_peer_port": 2379}', expect_success=False)
            baseline = timed_playbook(base, inventory)
            rows.append((nodes + 3, valid, invalid, baseline))
            print("%6d | %7.1f %7.1f | %7.1f %7.1f | %7.1f %7.1f | %5.1fx %5.1fx" % (
                nodes + 3, valid[0], valid[1], invalid[0], invalid[1], baseline[0], baseline[1], baseline[0] / valid[0], baseline[1] / valid[1]))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
