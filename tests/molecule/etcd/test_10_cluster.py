"""The 3-member cluster as converge left it: healthy, replicating, TLS-only, right files, no restart on rerun."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from conftest import IPS, MEMBERS, etcdctl, get, host, put, unit_state, url


def test_three_members_started_and_healthy():
    health = etcdctl("endpoint", "health", "--write-out=json", cert="etcd/healthcheck-client")
    assert health.returncode == 0, health.stderr
    assert sorted(e["endpoint"] for e in json.loads(health.stdout) if e["health"]) == sorted(url(m) for m in MEMBERS)
    listed = json.loads(etcdctl("member", "list", "--write-out=json").stdout)["members"]
    assert sorted(m["name"] for m in listed) == ["e1", "e2", "e3"]
    assert sorted(m["peerURLs"][0] for m in listed) == sorted("https://%s:2380" % ip for ip in IPS.values())


def test_a_key_written_through_member_1_is_read_through_member_3():
    put("/kubebin-test/replicated", "written-through-e1", member="e1")
    assert get("/kubebin-test/replicated", "e3") == "written-through-e1"


def test_plain_http_is_refused_on_client_and_peer_ports():
    run = etcdctl("get", "/kubebin-test/replicated", endpoints=["http://%s:2379" % IPS["e1"]], cert=None)
    assert run.returncode != 0
    for port in (2379, 2380):
        # Go's TLS server answers 400 to plain HTTP, or drops the connection: never a version.
        with pytest.raises(OSError) as refused:
            urllib.request.urlopen("http://%s:%d/version" % (IPS["e1"], port), timeout=5)
        if isinstance(refused.value, urllib.error.HTTPError):
            assert refused.value.code == 400


def test_client_certificate_from_the_kubernetes_ca_is_refused():
    assert etcdctl("get", "/kubebin-test/replicated", cert="apiserver-etcd-client").returncode == 0  # control
    wrong_ca = etcdctl("get", "/kubebin-test/replicated", cert="admin")
    assert wrong_ca.returncode != 0
    assert "bad certificate" in wrong_ca.stderr or "deadline exceeded" in wrong_ca.stderr, wrong_ca.stderr
    assert etcdctl("get", "/kubebin-test/replicated", cert=None).returncode != 0


def test_metrics_only_on_loopback():
    metrics = host("e1").check_output(
        "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:2381/metrics').read().decode())\"")
    assert "etcd_server_has_leader 1" in metrics
    with pytest.raises(OSError):
        socket.create_connection((IPS["e1"], 2381), timeout=3)


@pytest.mark.parametrize("name", MEMBERS)
def test_files_users_and_modes(name):
    member = host(name)
    user = member.user("etcd")
    assert user.exists and user.group == "etcd" and user.uid < 1000 and user.shell == "/usr/sbin/nologin"
    data = member.file("/var/lib/etcd")
    assert (data.user, data.group, data.mode) == ("etcd", "etcd", 0o700)
    assert member.file("/var/lib/etcd/member/snap/db").user == "etcd"
    unit = member.file("/etc/systemd/system/etcd.service")
    # 0600: it carries every flag, as a static-pod manifest would (CIS 1.1.7, docs/security.md)
    assert (unit.user, unit.mode) == ("root", 0o600) and "Type=notify" in unit.content_string
    for binary in ("etcd", "etcdctl", "etcdutl"):
        f = member.file("/usr/local/bin/" + binary)
        assert (f.user, f.group, f.mode) == ("root", "root", 0o755)
    for key in ("server.key", "peer.key", "healthcheck-client.key"):
        f = member.file("/etc/kubernetes/pki/etcd/" + key)
        assert (f.user, f.mode) == ("root", 0o600)
    runtime = member.file("/run/etcd")
    assert (runtime.user, runtime.mode) == ("etcd", 0o700)
    assert (member.file("/run/etcd/server.key").user, member.file("/run/etcd/server.key").mode) == ("etcd", 0o600)
    assert member.file("/etc/etcd/restart-pending").exists is False
    process = member.process.get(comm="etcd")
    assert process.user == "etcd"


@pytest.mark.parametrize("name", MEMBERS)
def test_service_hardening(name):
    out = host(name).check_output(
        "systemctl show etcd.service --property=Type,User,NoNewPrivileges,ProtectSystem,CapabilityBoundingSet,PrivateTmp")
    props = dict(line.split("=", 1) for line in out.splitlines())
    assert props["Type"] == "notify" and props["User"] == "etcd"
    assert props["NoNewPrivileges"] == "yes" and props["ProtectSystem"] == "strict" and props["PrivateTmp"] == "yes"
    assert props["CapabilityBoundingSet"] == ""


@pytest.mark.parametrize("name", MEMBERS)
def test_idempotence_run_did_not_restart_etcd(name):
    """converge.yml stored the InvocationID of the first converge; the idempotence run must keep it."""
    first = host(name).file("/var/lib/kubebin-test-etcd-invocation").content_string.strip()
    state = unit_state(name)
    assert first and state["InvocationID"] == first
    assert state["ActiveState"] == "active" and state["NRestarts"] == "0"
