"""Run every case of cases.yml against site.yml and check it fails in preflight, changing nothing.

For each case the valid baseline inventory is copied and changed as the case says, then
`ansible-playbook site.yml` runs against the real test hosts. The case passes when the run fails,
its output carries the expected message, the failure came from preflight (no task ran on a
host), and no PKI directory was written next to the inventory. Before the first and after the last case, `docker diff` of every host is recorded: the two
must be equal, proving no host was changed.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SITE = os.path.join(HERE, "..", "..", "site.yml")


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def walk_groups(node, name, found):
    found[name] = node
    for child_name, child in (node.get("children") or {}).items():
        walk_groups(child or {}, child_name, found)
    return found


def case_inventory(baseline, case):
    inventory = copy.deepcopy(baseline)
    groups = walk_groups(inventory["all"], "all", {})
    host_vars = {}
    for group in groups.values():
        for host, hvars in (group.get("hosts") or {}).items():
            host_vars.setdefault(host, {}).update(hvars or {})
    for group_name, members in (case.get("groups") or {}).items():
        groups[group_name]["hosts"] = {host: dict(host_vars.get(host, {})) for host in members}
    for host, overrides in (case.get("hosts") or {}).items():
        for group in groups.values():
            if host in (group.get("hosts") or {}):
                group["hosts"][host] = dict(group["hosts"][host] or {}, **overrides)
    return inventory


def containers(baseline):
    names = set()
    for group in walk_groups(baseline["all"], "all", {}).values():
        for hvars in (group.get("hosts") or {}).values():
            if hvars and hvars.get("ansible_host"):
                names.add(hvars["ansible_host"])
    return sorted(names)


def docker_diff(names):
    """Changed paths of each host against its image (docker lists them in no stable order)."""
    return {
        name: sorted(subprocess.run(["docker", "diff", name], check=True, capture_output=True, text=True).stdout.splitlines())
        for name in names
    }


def run_case(case, baseline, workdir):
    inventory_path = os.path.join(workdir, "hosts.yml")
    with open(inventory_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(case_inventory(baseline, case), handle)
    cmd = ["ansible-playbook", "-i", inventory_path, SITE]
    if case.get("vars"):
        cmd += ["-e", json.dumps(case["vars"])]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    problems = []
    if result.returncode == 0:
        problems.append("the run succeeded")
    # Collapse the wrapping ansible applies to long messages before looking for the text.
    flat = " ".join(output.split())
    if " ".join(case["expect"].split()) not in flat:
        problems.append("expected message not found: %r" % case["expect"])
    if re.search(r"\bchanged=[1-9]", output):
        problems.append("a task reported a change")
    # kubebin_pki_dir defaults to the inventory's directory: the PKI must not have been started.
    if os.path.exists(os.path.join(workdir, "pki")):
        problems.append("a PKI directory was written next to the inventory")
    return problems, output


def main():
    baseline = load(os.path.join("inventory", "hosts.yml"))
    cases = load("cases.yml")["bad_input_cases"]
    names = containers(baseline)
    before = docker_diff(names)
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            problems, output = run_case(case, baseline, workdir)
            if problems:
                failed += 1
                print("FAIL %s: %s" % (case["name"], "; ".join(problems)))
                print(output[-3000:])
            else:
                passed += 1
                print("ok   %s" % case["name"])
    after = docker_diff(names)
    for name in names:
        if before[name] != after[name]:
            failed += 1
            changes = sorted(set(before[name]) ^ set(after[name]))
            print("FAIL host %s was changed by the failed runs: %s" % (name, ", ".join(changes)))
        else:
            passed += 1
            print("ok   host %s unchanged (docker diff identical)" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
