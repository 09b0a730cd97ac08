# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decisions of the day-2 playbooks that take hosts out of a cluster (remove_node.yml, reset.yml).

Each refusal names what was asked, why it is refused and what to do instead; the playbooks fail
on them before any host is contacted (the live check of schedulable nodes excepted).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# Hosts of these groups hold state every other host depends on (etcd membership, apiserver
# endpoints): they leave the cluster by their own playbooks, not by a worker's removal or a reset.
_KEPT_GROUPS = {
    "kube_control_plane": "remove_control_plane.yml",
    "etcd": "remove_etcd_member.yml",
}
_TRUE = ("true", "yes", "on", "1")
_NOT_BUILT = ("remove_control_plane.yml",)


def _playbook(group):
    playbook = _KEPT_GROUPS[group]
    return playbook + (" (not built yet)" if playbook in _NOT_BUILT else "")


def _kept_groups(name, groups):
    return [group for group in _KEPT_GROUPS if name in groups.get(group, [])]


def node_removal_refusals(node, groups):
    """Why remove_node.yml cannot remove NODE, from the inventory alone; [] when it can."""
    if not isinstance(node, str) or not node.strip():
        return ["remove_node.yml removes one worker, named with -e node=NAME"]
    node = node.strip()
    if node not in groups.get("all", []):
        return ["node '%s' is not a host of the inventory: remove_node.yml needs it there to reach it (remove it from "
                "the inventory afterwards)" % node]
    kept = _kept_groups(node, groups)
    if kept:
        return ["node '%s' is in %s: remove_node.yml removes workers only; %s is removed by %s"
                % (node, " and ".join(kept), node, " and ".join(_playbook(group) for group in kept))]
    workers = groups.get("kube_node", [])
    if node not in workers:
        return ["node '%s' is not in kube_node: remove_node.yml removes workers (reset.yml cleans a host that is in no "
                "cluster group)" % node]
    if not [name for name in workers if name != node]:
        return ["node '%s' is the only host of kube_node: removing it would leave the cluster no node to run pods on"
                % node]
    return []


def reset_refusals(hosts, groups, confirm, limit):
    """Why reset.yml cannot reset HOSTS (the play's hosts under --limit LIMIT); [] when it can."""
    errors = []
    if str(confirm).strip().lower() not in _TRUE:
        errors.append("reset.yml removes everything the collection put on the hosts it runs on: confirm with "
                      "-e reset_confirm=true")
    if not limit:
        errors.append("reset.yml needs --limit naming the hosts to reset: it never runs on a whole inventory")
    for name in hosts or []:
        kept = _kept_groups(name, groups)
        if kept:
            errors.append("host '%s' is in %s: reset.yml resets hosts that are neither control-plane hosts nor etcd "
                          "members; remove it from there first with %s"
                          % (name, " and ".join(kept), " and ".join(_playbook(group) for group in kept)))
    return errors


def _taken(node):
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return "cordoned"
    ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        return "not Ready"
    taints = [t.get("key") for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    if taints:
        return "tainted %s" % ", ".join(sorted(taints))
    return None


def schedulable_nodes(node_list, exclude=None):
    """Names of the Nodes in NODE_LIST (`kubectl get nodes -o json`) that take new pods: Ready, not
    cordoned, without a NoSchedule or NoExecute taint; those named in EXCLUDE left out. Sorted."""
    if not isinstance(node_list, dict) or not isinstance(node_list.get("items"), list):
        raise AnsibleFilterError("schedulable_nodes: expected the parsed output of kubectl get nodes -o json")
    exclude = set([exclude] if isinstance(exclude, str) else exclude or [])
    names = []
    for node in node_list["items"]:
        name = (node.get("metadata") or {}).get("name")
        if name and name not in exclude and _taken(node) is None:
            names.append(name)
    return sorted(names)


class FilterModule:
    """kubebin lifecycle filters: the refusals of remove_node.yml and reset.yml, and which nodes
    would still take pods."""

    def filters(self):
        return {
            "node_removal_refusals": node_removal_refusals,
            "reset_refusals": reset_refusals,
            "schedulable_nodes": schedulable_nodes,
        }
