"""etcd in the full cluster: every member healthy over mutual TLS with the healthcheck identity."""

import json

testinfra_hosts = ["ansible://etcd"]

PKI = "/etc/kubernetes/pki/etcd"


def test_etcd_active_and_all_members_healthy(host):
    assert host.service("etcd").is_running
    result = host.run(
        "/usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=%s/ca.crt "
        "--cert=%s/healthcheck-client.crt --key=%s/healthcheck-client.key endpoint health --cluster -w json" % (PKI, PKI, PKI)
    )
    assert result.rc == 0, result.stderr
    health = json.loads(result.stdout)
    assert len(health) == 3
    assert all(member["health"] for member in health), health


def test_etcd_keys_are_private(host):
    for name in ("server.key", "peer.key", "healthcheck-client.key"):
        key = host.file("%s/%s" % (PKI, name))
        assert key.mode == 0o600, name
    assert not host.file("%s/ca.key" % PKI).exists, "the etcd CA key must stay on the controller"
