# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decisions of playbooks/remove_etcd_member.yml: from the inventory first, then from the live cluster.

etcd keeps working while a majority (the quorum) of its members answers. The fault tolerance of a
cluster is how many more members it can lose: the answering members minus the quorum. A removal
is refused when it would cost the quorum; when the member answers but another one does not (dead
members go first, one after the other); and when it would lower the fault tolerance (a member that
answers, taken from an odd count) unless the operator accepts that for a replacement. Removing a
member that does not answer never lowers it: 3 members with one dead tolerate no further loss, and
neither do the 2 left.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

_TRUE = ("true", "yes", "on", "1")


def etcd_removal_refusals(member, groups):
    """Why remove_etcd_member.yml cannot remove MEMBER, from the inventory alone; [] when it can."""
    if not isinstance(member, str) or not member.strip():
        return ["remove_etcd_member.yml removes one etcd member, named with -e member=NAME"]
    member = member.strip()
    if member not in groups.get("all", []):
        return ["member '%s' is not a host of the inventory: remove_etcd_member.yml needs it there (it removes the "
                "member through the others and wipes it when it can reach it); remove it from the inventory afterwards"
                % member]
    etcd = groups.get("etcd", [])
    if member not in etcd:
        return ["host '%s' is not in group etcd: remove_etcd_member.yml removes etcd members" % member]
    if len(etcd) == 1:
        return ["'%s' is the only member of group etcd: removing it would end the cluster's data; back it up "
                "(etcd_backup.yml) and restore elsewhere instead" % member]
    return []


def _quorum(count):
    return count // 2 + 1


def _listed(member_list):
    if not isinstance(member_list, dict) or not isinstance(member_list.get("members", []), list):
        raise AnsibleFilterError("etcd_member_removal: expected the parsed output of etcdctl member list --write-out=json")
    return member_list.get("members") or []


def _answering(health):
    """Client URLs that answered healthy in HEALTH (etcdctl endpoint health --write-out=json)."""
    if not isinstance(health, list):
        raise AnsibleFilterError("etcd_member_removal: expected the parsed output of etcdctl endpoint health --write-out=json")
    return {entry.get("endpoint") for entry in health if isinstance(entry, dict) and entry.get("health") is True}


def etcd_member_removal(member_list, health, name, peer_url, accept_tolerance_loss=False):
    """What removing member NAME (peer URL PEER_URL) does to the live cluster.

    MEMBER_LIST and HEALTH are etcdctl's JSON (member list; endpoint health of every listed client
    URL). Returns {listed, id, members, answering, tolerance_before, tolerance_after, refusals}:
    ID is the member's hex ID ('' when it is no longer listed: a rerun after the removal), and
    REFUSALS is empty when the removal may go on.
    """
    members = _listed(member_list)
    answering = _answering(health)

    def answers(entry):
        return any(url in answering for url in entry.get("clientURLs") or [])

    def label(entry):
        return entry.get("name") or ",".join(entry.get("peerURLs") or []) or "%x" % entry.get("ID", 0)

    target = [m for m in members if m.get("name") == name or peer_url in (m.get("peerURLs") or [])]
    others = [m for m in members if m not in target]
    result = {
        "listed": bool(target),
        "id": "%x" % target[0]["ID"] if target else "",
        "members": sorted(label(m) for m in members),
        "answering": sorted(label(m) for m in members if answers(m)),
        "tolerance_before": sum(1 for m in members if answers(m)) - _quorum(len(members)) if members else 0,
        "tolerance_after": None,
        "refusals": [],
    }
    if not target:
        return result
    if not others:
        result["refusals"].append("'%s' is the cluster's only member: removing it would end the cluster" % name)
        return result
    silent = sorted(label(m) for m in others if not answers(m))
    after = len(others) - len(silent) - _quorum(len(others))
    result["tolerance_after"] = after
    if after < 0:
        result["refusals"].append(
            "removing '%s' would leave %d members of which %d answer (%s silent): no quorum. Bring the silent "
            "members back first" % (name, len(others), len(others) - len(silent), ", ".join(silent) or "none"))
    elif silent and answers(target[0]):
        # Dead members are removed one after the other; a live one only from a healthy cluster.
        result["refusals"].append(
            "the cluster is not healthy: %s %s not answer, and '%s' does; remove the silent member%s first, or "
            "bring %s back" % (", ".join(silent), "does" if len(silent) == 1 else "do", name,
                               "" if len(silent) == 1 else "s", "it" if len(silent) == 1 else "them"))
    elif after < result["tolerance_before"] and str(accept_tolerance_loss).strip().lower() not in _TRUE:
        result["refusals"].append(
            "'%s' answers: removing it from %d members leaves %d, which tolerate %d failed member%s instead of %d "
            "until a replacement joins. To replace it, rerun with -e accept_tolerance_loss=true and add the "
            "replacement right after (docs/operations.md, \"Replacing an etcd member\")"
            % (name, len(members), len(others), after, "" if after == 1 else "s", result["tolerance_before"]))
    return result


class FilterModule:
    """kubebin etcd removal filters: the refusals of remove_etcd_member.yml."""

    def filters(self):
        return {
            "etcd_removal_refusals": etcd_removal_refusals,
            "etcd_member_removal": etcd_member_removal,
        }
