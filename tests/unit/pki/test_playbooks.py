"""The real playbooks and roles: pki.yml on the controller, the certs role pushing to hosts,
pki_check_expiry.yml reading them back. Hosts use the local connection, each with its own root."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from pki_helpers import REPO, find_tool, snapshot
from play_recap import play_recap

DISTRIBUTE = """
- name: Distribute like site.yml --tags certs
  hosts: k8s_cluster:etcd
  gather_facts: false
  tasks:
    - name: Push this host's files
      ansible.builtin.include_role:
        name: kubebin.cluster.certs
      vars:
        # As site.yml does: control-plane hosts get one set per component, nodes the kubelet's and
        # kube-proxy's sets, each component its restart mark; the etcd-only host one handler.
        _cp: "{{ inventory_hostname in groups['kube_control_plane'] }}"
        _node: "{{ inventory_hostname in groups['kube_node'] }}"
        certs_sets: "{{ (['etcd'] if inventory_hostname in groups['etcd'] else [])
          + (['kube_apiserver', 'kube_controller_manager', 'kube_scheduler', 'admin'] if _cp else [])
          + (['kubelet', 'kube_proxy'] if _node else []) }}"
        certs_notify: "{{ '' if _cp or _node else 'test_restart' }}"
        certs_restart_marks: "{{ _kubebin_restart_marks }}"
        certs_absent: "{{ [kubebin_config_dir ~ '/super-admin.conf'] if _cp else [] }}"
  handlers:
    - name: Record that the caller's handler ran
      ansible.builtin.copy:
        dest: "{{ test_root }}/{{ inventory_hostname }}.notified"
        content: "x"
        mode: "0644"
      listen: test_restart
"""


def inventory(root, extra_sans=("api.example.test",)):
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}

    def host(ip):
        return dict(local, ip=ip)
    return {"all": {
        "vars": {"test_root": str(root), "kubebin_pki_dir": str(root / "pki"), "kubebin_pki_key_algorithm": "ecdsa-p256",
                 "kubebin_apiserver_extra_sans": list(extra_sans),
                 "kubebin_config_dir": "{{ test_root }}/{{ inventory_hostname }}/etc/kubernetes",
                 "kubebin_remote_pki_dir": "{{ test_root }}/{{ inventory_hostname }}/etc/kubernetes/pki"},
        "children": {
            "etcd": {"hosts": {"cp1": host("10.0.0.11"), "cp2": host("10.0.0.12"), "e3": host("10.0.0.13")}},
            "k8s_cluster": {"children": {
                "kube_control_plane": {"hosts": {"cp1": None, "cp2": None}},
                "kube_node": {"hosts": {"cp1": None, "w1": dict(local, ansible_host="10.0.0.21")}},
            }},
        }}}


def playbook(root, path, *args, inv=None):
    inv_path = root / "hosts.yml"
    inv_path.write_text(yaml.safe_dump(inv or inventory(root)))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_STDOUT_CALLBACK="default")
    return subprocess.run([find_tool("ansible-playbook"), "-i", str(inv_path), str(path)] + list(args),
                          capture_output=True, text=True, env=env, timeout=300, check=False)


def host_files(root, host):
    base = root / host / "etc" / "kubernetes"
    return {os.path.relpath(os.path.join(d, f), base) for d, _s, fs in os.walk(base) for f in fs}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("play")
    result = playbook(root, os.path.join(REPO, "playbooks", "pki.yml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, result


def test_pki_playbook_generates_everything_from_the_inventory_alone(generated):
    root, result = generated
    pki = root / "pki"
    assert stat.S_IMODE(os.stat(pki).st_mode) == 0o700
    names = set(snapshot(str(pki)))
    for expected in ("ca.key", "etcd/ca.key", "front-proxy-ca.key", "apiserver.crt", "etcd/members/e3/peer.crt",
                     "nodes/w1/kubelet.conf", "nodes/cp1/kubelet-client.key", "sa.key", "sa.pub", "encryption-config.yaml",
                     "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kube-proxy.conf"):
        assert expected in names, expected
    assert not any(n.startswith("nodes/cp2") for n in names)  # cp2 runs no kubelet
    # local connection everywhere, but nothing ran for any host other than the run_once on localhost:
    assert not any((root / h).exists() for h in ("cp1", "cp2", "e3", "w1"))


def test_pki_playbook_rerun_changes_nothing(generated):
    root, _result = generated
    before = snapshot(str(root / "pki"))
    result = playbook(root, os.path.join(REPO, "playbooks", "pki.yml"))
    assert result.returncode == 0
    assert all(counts.changed == 0 for counts in play_recap(result.stdout).values()), result.stdout[-2000:]
    assert snapshot(str(root / "pki")) == before


def test_pki_playbook_check_mode_writes_nothing(tmp_path):
    result = playbook(tmp_path, os.path.join(REPO, "playbooks", "pki.yml"), "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not (tmp_path / "pki").exists()
    assert "PRIVATE KEY" not in result.stdout


def test_pki_playbook_bad_san_fails_naming_the_field_and_writes_nothing(tmp_path):
    result = playbook(tmp_path, os.path.join(REPO, "playbooks", "pki.yml"), inv=inventory(tmp_path, extra_sans=["bad san!"]))
    assert result.returncode != 0
    assert "kubebin_apiserver_extra_sans[0]" in result.stdout
    assert not (tmp_path / "pki").exists()


def test_certs_role_pushes_each_host_only_what_its_roles_need(generated):
    root, _result = generated
    (root / "distribute.yml").write_text(DISTRIBUTE)
    # An older release put the super-admin kubeconfig on every control-plane host: it goes.
    (root / "cp2/etc/kubernetes").mkdir(parents=True)
    (root / "cp2/etc/kubernetes/super-admin.conf").write_text("left by an older release\n")
    result = playbook(root, root / "distribute.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    control_plane = {"pki/ca.crt", "pki/ca.key", "pki/apiserver.crt", "pki/apiserver.key", "pki/apiserver-kubelet-client.crt",
                     "pki/apiserver-kubelet-client.key", "pki/apiserver-etcd-client.crt", "pki/apiserver-etcd-client.key",
                     "pki/front-proxy-client.crt", "pki/front-proxy-client.key", "pki/front-proxy-ca.crt", "pki/sa.key",
                     "pki/sa.pub", "pki/encryption-config.yaml", "pki/etcd/ca.crt", "admin.conf",
                     "controller-manager.conf", "scheduler.conf"}
    etcd = {"pki/etcd/ca.crt", "pki/etcd/server.crt", "pki/etcd/server.key", "pki/etcd/peer.crt", "pki/etcd/peer.key",
            "pki/etcd/healthcheck-client.crt", "pki/etcd/healthcheck-client.key"}
    node = {"pki/ca.crt", "pki/kubelet.crt", "pki/kubelet.key", "kubelet.conf", "kube-proxy.conf"}
    marks = {"kube-apiserver.restart-pending", "kube-controller-manager.restart-pending", "kube-scheduler.restart-pending"}
    node_marks = {"kubelet.restart-pending", "kube-proxy.restart-pending"}
    assert host_files(root, "cp1") == control_plane | etcd | node | marks | node_marks
    assert host_files(root, "cp2") == control_plane | etcd | marks
    assert host_files(root, "e3") == etcd
    assert host_files(root, "w1") == node | node_marks
    for host in ("cp1", "cp2", "e3", "w1"):  # etcd and front-proxy CA keys and the super-admin never leave the controller
        assert not {"pki/etcd/ca.key", "pki/front-proxy-ca.key", "super-admin.conf"} & host_files(root, host)
    for host in ("cp1", "cp2"):  # first push: every component must (re)start, and no handler is needed
        assert marks <= set(os.listdir(root / host / "etc/kubernetes")), host
        assert not (root / (host + ".notified")).exists()
    assert (root / "e3.notified").exists()
    assert {p for p in os.listdir(root) if p.endswith(".notified")} == {"e3.notified"}
    pki = root / "pki"
    assert (root / "e3/etc/kubernetes/pki/etcd/peer.key").read_bytes() == (pki / "etcd/members/e3/peer.key").read_bytes()
    assert (root / "w1/etc/kubernetes/kubelet.conf").read_bytes() == (pki / "nodes/w1/kubelet.conf").read_bytes()
    assert stat.S_IMODE(os.stat(root / "w1/etc/kubernetes/pki/kubelet.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(root / "w1/etc/kubernetes/pki").st_mode) == 0o700
    assert "BEGIN" not in result.stdout  # contents are not logged

    os.remove(root / "e3.notified")

    def pending(host):
        return (marks | node_marks) & set(os.listdir(root / host / "etc/kubernetes"))

    for host in ("cp1", "cp2", "w1"):
        for mark in pending(host):
            os.remove(root / host / "etc/kubernetes" / mark)
    again = playbook(root, root / "distribute.yml")
    assert all(counts.changed == 0 for counts in play_recap(again.stdout).values()), again.stdout[-2000:]
    assert not any(p.endswith(".notified") for p in os.listdir(root))
    assert not any(pending(h) for h in ("cp1", "cp2", "w1"))

    # A changed file marks only the node component that reads it: kube-proxy.conf kube-proxy,
    # the kubelet's client certificate the kubelet.
    (root / "w1/etc/kubernetes/kube-proxy.conf").write_text("drifted\n")
    (root / "cp1/etc/kubernetes/pki/kubelet.crt").write_text("drifted\n")
    node_drift = playbook(root, root / "distribute.yml")
    assert node_drift.returncode == 0, node_drift.stdout[-3000:]
    assert pending("w1") == {"kube-proxy.restart-pending"}, node_drift.stdout[-3000:]
    assert pending("cp1") == {"kubelet.restart-pending"} and not pending("cp2"), node_drift.stdout[-3000:]
    for host in ("cp1", "w1"):
        for mark in pending(host):
            os.remove(root / host / "etc/kubernetes" / mark)

    # A changed file marks only the components that read it: scheduler.conf the scheduler; the
    # kubernetes CA certificate the apiserver and the controller-manager (the scheduler's
    # kubeconfig carries the CA as data), not the scheduler.
    (root / "cp1/etc/kubernetes/scheduler.conf").write_text("drifted\n")
    (root / "cp2/etc/kubernetes/pki/ca.crt").write_text("drifted\n")
    drift = playbook(root, root / "distribute.yml")
    assert drift.returncode == 0, drift.stdout[-3000:]
    assert marks & set(os.listdir(root / "cp1/etc/kubernetes")) == {"kube-scheduler.restart-pending"}
    cp2_marks = marks & set(os.listdir(root / "cp2/etc/kubernetes"))
    assert cp2_marks == {"kube-apiserver.restart-pending", "kube-controller-manager.restart-pending"}
    assert "pki/ca.crt" in (root / "cp2/etc/kubernetes/kube-apiserver.restart-pending").read_text()
    assert (root / "cp1/etc/kubernetes/scheduler.conf").read_bytes() == (root / "pki/scheduler.conf").read_bytes()
    for host in ("cp1", "cp2"):
        for mark in marks & set(os.listdir(root / host / "etc/kubernetes")):
            os.remove(root / host / "etc/kubernetes" / mark)

    # Removing a retired credential is a change of its own that restarts nothing.
    (root / "cp2/etc/kubernetes/super-admin.conf").write_text("left by an older release\n")
    retired = playbook(root, root / "distribute.yml")
    assert play_recap(retired.stdout)["cp2"].changed == 1 and play_recap(retired.stdout)["cp1"].changed == 0, retired.stdout[-2000:]
    assert not (root / "cp2/etc/kubernetes/super-admin.conf").exists()
    assert not any((root / (h + ".notified")).exists() for h in ("cp1", "cp2", "e3", "w1"))
    assert not any(marks & set(os.listdir(root / h / "etc/kubernetes")) for h in ("cp1", "cp2"))

    report = playbook(root, os.path.join(REPO, "playbooks", "pki_check_expiry.yml"))
    assert report.returncode == 0, report.stdout[-3000:]
    out = report.stdout
    assert re.search(r"w1/etc/kubernetes/kubelet.conf \[client-certificate-data\] CN=system:node:w1,O=system:nodes: notAfter", out)
    assert re.search(r"e3/etc/kubernetes/pki/etcd/peer.crt \[certificate\] CN=e3: notAfter", out)
    assert "e3/etc/kubernetes/pki/etcd/ca.key" not in out
    soonest = out[out.index("TASK [kubebin.cluster.certs : Report the soonest expiry of the cluster]"):]
    assert re.search(r'"days_left": 36[45]', soonest), soonest[:1000]


def test_tls_bootstrap_mode_pushes_nodes_only_the_token_kubeconfig(tmp_path):
    """pki.yml and the certs role with kubebin_kubelet_tls_bootstrap: no node keys anywhere."""
    inv = inventory(tmp_path)
    inv["all"]["vars"]["kubebin_kubelet_tls_bootstrap"] = True
    result = playbook(tmp_path, os.path.join(REPO, "playbooks", "pki.yml"), inv=inv)
    assert result.returncode == 0, result.stdout[-3000:]
    names = set(snapshot(str(tmp_path / "pki")))
    assert {"bootstrap-token.yaml", "bootstrap-kubelet.conf"} <= names
    assert not any(n.startswith("nodes/") for n in names)
    (tmp_path / "distribute.yml").write_text(DISTRIBUTE)
    result = playbook(tmp_path, tmp_path / "distribute.yml", inv=inv)
    assert result.returncode == 0, result.stdout[-3000:]
    marks = {"kubelet.restart-pending", "kube-proxy.restart-pending"}  # first push: both must start
    assert host_files(tmp_path, "w1") == {"pki/ca.crt", "bootstrap-kubelet.conf", "kube-proxy.conf"} | marks
    assert "bootstrap-kubelet.conf" in (tmp_path / "w1/etc/kubernetes/kubelet.restart-pending").read_text()
    token = yaml.safe_load((tmp_path / "pki" / "bootstrap-token.yaml").read_text())["stringData"]
    conf = yaml.safe_load((tmp_path / "w1/etc/kubernetes/bootstrap-kubelet.conf").read_text())
    assert conf["users"][0]["user"] == {"token": "%s.%s" % (token["token-id"], token["token-secret"])}
    assert token["token-secret"] not in result.stdout


def test_user_kubeconfig_playbook_refuses_a_bad_request_before_writing(tmp_path):
    result = playbook(tmp_path, os.path.join(REPO, "playbooks", "kubeconfig_user.yml"), "-e", "user=alice",
                      "-e", '{"user_groups": ["system:masters"]}')
    assert result.returncode != 0
    assert "pki_user_groups (-e user_groups=) 'system:masters' is reserved" in result.stdout, result.stdout[-3000:]
    assert not (tmp_path / "pki").exists()


def test_user_kubeconfig_playbook_never_signs_with_a_new_ca(tmp_path):
    result = playbook(tmp_path, os.path.join(REPO, "playbooks", "kubeconfig_user.yml"), "-e", "user=alice")
    assert result.returncode != 0
    assert "holds no cluster CA (ca.crt and ca.key): run playbooks/pki.yml" in result.stdout, result.stdout[-3000:]
    assert not (tmp_path / "pki").exists()


RETIRE = """
- name: As remove_node.yml's last play
  hosts: kube_control_plane[0]
  gather_facts: false
  tasks:
    - name: Move the node's PKI files to the attic
      ansible.builtin.include_role:
        name: kubebin.cluster.pki
        tasks_from: retire
      vars:
        pki_retire_node: "{{ retire }}"
"""
RETIRE_MEMBER = RETIRE.replace("pki_retire_node", "pki_retire_etcd_member")


@pytest.mark.parametrize("template, name, kept, files", [
    (RETIRE, "w1", "nodes", ["kubelet-client.crt", "kubelet-client.key", "kubelet.conf", "kubelet.crt", "kubelet.key"]),
    (RETIRE_MEMBER, "cp2", "etcd/members", ["peer.crt", "peer.key", "server.crt", "server.key"]),
])
def test_a_removed_hosts_pki_files_go_to_a_dated_attic_and_nothing_else_moves(tmp_path, template, name, kept, files):
    assert playbook(tmp_path, os.path.join(REPO, "playbooks", "pki.yml")).returncode == 0
    pki = tmp_path / "pki"
    before = snapshot(str(pki))
    (tmp_path / "retire.yml").write_text(template)
    result = playbook(tmp_path, tmp_path / "retire.yml", "-e", "retire=" + name)
    assert result.returncode == 0, result.stdout[-3000:]
    prefix = "%s/%s/" % (kept, name)
    moved = {path: digest for path, digest in before.items() if path.startswith(prefix)}
    assert sorted(moved) == [prefix + f for f in files]
    after = snapshot(str(pki))
    attic = {path: digest for path, digest in after.items() if path.startswith("attic/")}
    # attic/<UTC time>/<kept>/<name>/<file>, the same bytes, private to the controller's user
    assert sorted(re.sub(r"^attic/\d{8}T\d{6}Z/", "", path) for path in attic) == sorted(moved)
    assert sorted(attic.values()) == sorted(moved.values())
    stamp = next(iter(attic)).split("/")[1]
    assert stat.S_IMODE(os.stat(pki / "attic" / stamp).st_mode) == 0o700
    assert {path: digest for path, digest in after.items() if not path.startswith("attic/")} == \
        {path: digest for path, digest in before.items() if path not in moved}
    assert "moved to %s/attic/%s/%s/%s" % (pki, stamp, kept, name) in result.stdout
    # a second run finds nothing to move and says why
    again = playbook(tmp_path, tmp_path / "retire.yml", "-e", "retire=" + name)
    assert again.returncode == 0 and "changed=0" in again.stdout
    assert "no PKI files of %s in %s/%s" % (name, pki, kept) in again.stdout
    assert snapshot(str(pki)) == after


def test_retire_refuses_a_name_that_is_not_a_node(tmp_path):
    (tmp_path / "retire.yml").write_text(RETIRE)
    result = playbook(tmp_path, tmp_path / "retire.yml", "-e", "retire=../..")
    assert result.returncode != 0 and "give one of pki_retire_node and pki_retire_etcd_member" in result.stdout, result.stdout[-3000:]
