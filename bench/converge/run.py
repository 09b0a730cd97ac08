# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge speed of site.yml on the molecule test hosts, with the scenarios' bundle.

One run measures, side by side on the same machine:
  first   first converge of 5 hosts (cp1-cp3: etcd and control plane, cp1 also a node; w1, w2),
  rerun   a no-change rerun of the same (changed must be 0),
  add     adding one worker to the running 5-host cluster (the way docs/operations.md gives),
  ten     first converge of 10 hosts (the same 3 control-plane hosts and 7 workers),
and prints each wall time, the ratios the converge-speed targets are stated in, and the tasks each
host ran (ok + skipped from the recap: a skipped task costs a scheduling round too).

    python bench/converge/run.py [--skip-ten] [--keep]

Needs Docker running and the host image (tests/image/build.sh) and the test bundle (make bundle),
like the molecule scenarios; the hosts are named b-* and use their own network, so no scenario's
hosts are touched (but do not run it while a scenario runs: they share the machine's two cores).
State (inventory, PKI, the log of each run) lives in a temporary directory; the hosts are removed
at the end unless --keep, and so is the throw-away PKI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import REPO, ansible_playbook, collections_root  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.join(REPO, "tests"))
from play_recap import play_recap  # noqa: E402  pylint: disable=wrong-import-position,import-error

SUBNET = "172.31.240"
SCENARIO = "bench"
CONTROL_PLANE = ["bcp1", "bcp2", "bcp3"]


def inventory(workers):
    """The default scenario's layout with WORKERS workers (hosts b*, their own subnet)."""
    def host(name, last_octet):
        return {"ansible_host": "kubebin-%s-%s" % (SCENARIO, name), "ip": "%s.%d" % (SUBNET, last_octet)}
    control = {name: host(name, 11 + i) for i, name in enumerate(CONTROL_PLANE)}
    nodes = {"bw%d" % (i + 1): host("bw%d" % (i + 1), 21 + i) for i in range(workers)}
    docker = {"ansible_connection": "community.docker.docker"}
    return {"all": {
        "vars": {"test_hosts_subnet": SUBNET + ".0/24"},
        "children": {
            "k8s_cluster": {"vars": docker, "children": {
                "kube_control_plane": {"hosts": control},
                "kube_node": {"vars": {"test_hosts_extra_volumes": ["/var/lib/containerd"]},
                              "hosts": dict({CONTROL_PLANE[0]: None}, **nodes)},
            }},
            "etcd": {"vars": docker, "hosts": {name: None for name in CONTROL_PLANE}},
        }}}


class Bench:
    def __init__(self, state):
        self.state = state
        self.inventory_dir = os.path.join(state, "inventory")
        os.makedirs(os.path.join(self.inventory_dir, "group_vars", "all"), exist_ok=True)
        # The scenarios' cluster settings (bundle, container-only settings), as molecule links them.
        link = os.path.join(self.inventory_dir, "group_vars", "all", "cluster.yml")
        if not os.path.lexists(link):
            os.symlink(os.path.join(REPO, "molecule", "shared", "cluster_vars.yml"), link)
        shared = os.environ.get("KUBEBIN_COLLECTIONS_ROOT") or os.path.join(REPO, ".cache", "collections")
        self.env = dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root() + os.pathsep + shared, ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORKS="10", ANSIBLE_PIPELINING="1", ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
            ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_RETRY_FILES_ENABLED="0",
            MOLECULE_EPHEMERAL_DIRECTORY=state, MOLECULE_PROJECT_DIRECTORY=REPO, MOLECULE_SCENARIO_NAME=SCENARIO)

    def write_inventory(self, workers):
        with open(os.path.join(self.inventory_dir, "hosts.yml"), "w", encoding="utf-8") as handle:
            json.dump(inventory(workers), handle, indent=1)

    def play(self, playbook, label, *extra):
        """Run PLAYBOOK (with EXTRA arguments) on the current inventory; (seconds, {host: (tasks, changed)})."""
        start = time.perf_counter()
        result = subprocess.run([ansible_playbook(), "-i", self.inventory_dir, playbook] + list(extra), capture_output=True, text=True,
                                env=self.env, check=False)
        elapsed = time.perf_counter() - start
        log = os.path.join(self.state, "%s.log" % label)
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(result.stdout + result.stderr)
        if result.returncode != 0:
            sys.exit("%s failed (rc %d), see %s:\n%s" % (label, result.returncode, log, result.stdout[-3000:]))
        hosts = {host: (counts.tasks, counts.changed) for host, counts in play_recap(result.stdout).items()}
        return elapsed, hosts

    def hosts(self, action):
        self.play(os.path.join(REPO, "molecule", "shared", action + ".yml"), action)


def _row(label, seconds, hosts, base=None):
    tasks = " ".join("%s=%d" % (h, hosts[h][0]) for h in sorted(hosts) if h != "localhost")
    changed = sum(c for h, (_t, c) in hosts.items() if h != "localhost")
    ratio = "%.2f" % (seconds / base) if base else "1.00"
    return "| %s | %.0f s | %s | %d | %s |" % (label, seconds, ratio, changed, tasks)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-ten", action="store_true", help="do not measure the 10-host converge")
    parser.add_argument("--keep", action="store_true", help="keep the hosts and the state directory")
    args = parser.parse_args()
    if not shutil.which("docker"):
        sys.exit("docker not found")
    state = tempfile.mkdtemp(prefix="kubebin-bench-converge-")
    bench = Bench(state)
    site = os.path.join(REPO, "site.yml")
    rows = []
    try:
        bench.write_inventory(2)
        bench.hosts("create")
        first, hosts = bench.play(site, "first")
        rows.append(_row("first converge, 5 hosts", first, hosts))
        rerun, hosts = bench.play(site, "rerun")
        rows.append(_row("no-change rerun, 5 hosts", rerun, hosts, first))
        if any(changed for name, (_t, changed) in hosts.items() if name != "localhost"):
            rows.append("(the rerun changed something: see %s/rerun.log)" % state)
        bench.write_inventory(3)
        bench.hosts("create")
        add, hosts = bench.play(os.path.join(REPO, "playbooks", "scale.yml"), "add", "-e", "kubebin_scale_nodes=bw3")
        rows.append(_row("add one worker (scale.yml), 5 -> 6 hosts", add, hosts, first))
        if not args.skip_ten:
            bench.hosts("destroy")
            shutil.rmtree(os.path.join(state, "pki"), ignore_errors=True)
            for name in ("pod-cidrs.yml", "state.yml"):
                if os.path.exists(os.path.join(state, name)):
                    os.remove(os.path.join(state, name))
            bench.write_inventory(7)
            bench.hosts("create")
            ten, hosts = bench.play(site, "ten")
            rows.append(_row("first converge, 10 hosts", ten, hosts, first))
    finally:
        if not args.keep:
            bench.hosts("destroy")
    print("| run | wall | ratio to the first 5-host converge | changed | tasks per host (ok + skipped) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print("targets: rerun <= 0.25, 10 hosts <= 1.3, add one worker <= 0.3 (docs/testing.md); logs in %s" % state)
    if not args.keep:
        shutil.rmtree(os.path.join(state, "pki"), ignore_errors=True)


if __name__ == "__main__":
    main()
