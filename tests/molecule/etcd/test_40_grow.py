"""Refusals, then growth: a 1-member cluster becomes 3 members with its keys intact."""

from __future__ import annotations

from conftest import MEMBERS, etcdctl, get, host, inventory_with_members, member_names, playbook, put, unit_state


def test_even_member_count_is_refused_before_any_change(tmp_path):
    before = {m: unit_state(m)["InvocationID"] for m in MEMBERS}
    run = playbook("etcd", inventory=inventory_with_members(tmp_path, ["e1", "e2"]))
    assert run.returncode != 0
    assert "odd count" in run.stdout + run.stderr
    assert {m: unit_state(m)["InvocationID"] for m in MEMBERS} == before


def test_grow_from_one_to_three_members(tmp_path_factory):
    for m in MEMBERS:  # start over: no member has data
        host(m).run_expect([0], "systemctl stop etcd.service && rm -rf /var/lib/etcd/member /etc/etcd/bootstrap.env")

    one = playbook("etcd", inventory=inventory_with_members(tmp_path_factory.mktemp("one"), ["e1"]))
    assert one.returncode == 0, one.stdout[-5000:]
    assert member_names() == ["e1"]
    for i in range(10):
        put("/kubebin-test/grow/%02d" % i, "v%d" % i, member="e1")
    e1_before = unit_state("e1")["InvocationID"]

    three = playbook("etcd")
    assert three.returncode == 0, three.stdout[-5000:]
    assert member_names() == ["e1", "e2", "e3"]
    assert etcdctl("endpoint", "health", cert="etcd/healthcheck-client").returncode == 0
    for i in range(10):
        assert get("/kubebin-test/grow/%02d" % i, "e3") == "v%d" % i
    for m in ("e2", "e3"):
        env = host(m).file("/etc/etcd/bootstrap.env").content_string
        assert "ETCD_INITIAL_CLUSTER_STATE=existing" in env
    assert "ETCD_INITIAL_CLUSTER_STATE=new" in host("e1").file("/etc/etcd/bootstrap.env").content_string
    assert unit_state("e1")["InvocationID"] == e1_before  # the running member was not restarted
