"""Nodes: containerd, pod network, kubelet and kube-proxy on every kube_node host.

All of it is real: containerd, runc, the CNI plugins, the routes, the upstream kubelet and
kube-proxy of the test bundle, and the container image (a static busybox from the controller,
packed as an OCI layout by tests/bundle/oci.py). Identities are read from the apiservers' audit logs.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import struct
import sys

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bundle"))
from oci import write_image  # noqa: E402  pylint: disable=wrong-import-position,import-error

testinfra_hosts = ["ansible://kube_node"]

IMAGE = "docker.io/kubebin/podtest:1"
MARKER = "kubebin-pod-network-ok"
CTR = "/usr/local/bin/ctr -n k8s.io"
APPLETS = ("sh", "httpd", "wget", "ip", "cat", "sleep")


def _groups(host) -> dict:
    return host.ansible.get_variables()["groups"]


def _other(host, name):
    return testinfra.get_host("ansible://" + name, ansible_inventory=host.backend.ansible_inventory)


def _ip(host) -> str:
    variables = host.ansible.get_variables()
    return variables.get("ip") or variables["ansible_host"]


# --- a container image built here (no registry) --------------------------------------------

def _static_busybox() -> str | None:
    """A busybox without an ELF interpreter (PT_INTERP), i.e. runnable in an empty image."""
    path = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(path):
        return None
    with open(path, "rb") as handle:
        elf = handle.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        return None
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    types = [struct.unpack_from("<I", elf, phoff + i * phentsize)[0] for i in range(phnum)]
    return None if 3 in types else path


@pytest.fixture(scope="module")
def image_tar(tmp_path_factory):
    busybox = _static_busybox()
    if busybox is None:
        pytest.skip("no static busybox on the controller (Debian: apt-get install busybox-static)")
    work = tmp_path_factory.mktemp("image")
    page = work / "index.html"
    page.write_text(MARKER + "\n", encoding="utf-8")
    path = str(work / "podtest.tar")
    files = [("bin", None, 0o755), ("srv", None, 0o755), ("tmp", None, 0o1777),
             ("bin/busybox", busybox, 0o755), ("srv/index.html", str(page), 0o644)]
    write_image(path, IMAGE, "amd64", files, entrypoint=[], cmd=["/bin/sh"],
                symlinks={"bin/" + applet: "busybox" for applet in APPLETS})
    return path


def _import_image(host, image_tar) -> None:
    copied = host.ansible("ansible.builtin.copy", "src=%s dest=/tmp/kubebin-podtest.tar mode=0644" % image_tar, check=False)
    assert not copied.get("failed"), copied.get("msg")
    host.run_test("%s image import /tmp/kubebin-podtest.tar" % CTR)
    assert IMAGE in host.run_test("%s image ls -q" % CTR).stdout.split()


def _remove(host, name) -> None:
    """Container, task, snapshot and its host-local IP reservation (ctr does not tear CNI down)."""
    host.run("{c} task kill -s KILL {n}; sleep 1; {c} task delete -f {n}; {c} container delete {n}; {c} snapshot rm {n}; "
             "grep -l 'k8s.io-{n}$' /var/lib/cni/networks/kubebin/* | xargs -r rm -f".format(c=CTR, n=name))


# --- containerd ---------------------------------------------------------------------------

def test_containerd_active_with_its_config(host):
    assert host.service("containerd").is_running
    assert host.service("containerd").is_enabled
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening
    # The format follows the containerd that is installed: 1.x reads version 2, 2.x version 3.
    version = host.run_test("/usr/local/bin/containerd --version").stdout.split()[2].lstrip("v")
    want = 2 if version.startswith("1.") else 3
    assert "version = %d" % want in host.file("/etc/containerd/config.toml").content_string.splitlines()
    systemd = host.ansible.get_variables().get("kubebin_cgroup_driver", "systemd") == "systemd"
    assert "SystemdCgroup = %s" % str(systemd).lower() in host.file("/etc/containerd/config.toml").content_string
    assert host.run_test("/usr/local/bin/runc --version").stdout.startswith("runc version")


def test_containerd_runs_a_local_image(host, image_tar):
    _import_image(host, image_tar)
    name = "kubebin-smoke-" + host.backend.host
    host.run("%s container delete %s" % (CTR, name))
    out = host.run_test("%s run --rm %s %s /bin/cat /srv/index.html" % (CTR, IMAGE, name))
    assert out.stdout.strip() == MARKER


# --- pod network --------------------------------------------------------------------------

def _pod_cidr(host) -> str:
    conf = json.loads(host.file("/etc/cni/net.d/10-kubebin.conflist").content_string)
    return conf["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]


def test_routes_to_every_other_node(host):
    for name in _groups(host)["kube_node"]:
        other = _other(host, name)
        if other.backend.host == host.backend.host:
            continue
        cidr = _pod_cidr(other)
        route = host.run_test("ip -4 route show exact %s" % cidr).stdout.split()
        assert route[:3] == [cidr, "via", _ip(other)], route
    assert host.service("kubebin-pod-routes").is_enabled


def test_pods_on_two_nodes_talk(host, image_tar):
    """A server container on the first node, a client on the second, over real CNI and routes."""
    nodes = sorted(_groups(host)["kube_node"])
    if host.backend.host != nodes[0] or len(nodes) < 2:
        pytest.skip("runs once, from the first node")
    server, client = host, _other(host, nodes[-1])
    _import_image(server, image_tar)
    _import_image(client, image_tar)
    srv, cli = "kubebin-podtest-server", "kubebin-podtest-client"
    _remove(server, srv)
    _remove(client, cli)
    try:
        server.run_test("%s run -d --cni %s %s /bin/httpd -f -p 8080 -h /srv" % (CTR, IMAGE, srv))
        addr = server.run_test("%s task exec --exec-id ip %s /bin/ip -4 -o addr show eth0" % (CTR, srv)).stdout
        pod_ip = addr.split("inet ", 1)[1].split("/", 1)[0]
        assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(_pod_cidr(server))
        got = client.run("%s run --rm --cni %s %s /bin/wget -q -O - http://%s:8080/index.html" % (CTR, IMAGE, cli, pod_ip))
        assert got.rc == 0, got.stderr
        assert got.stdout.strip() == MARKER
    finally:
        _remove(server, srv)
        _remove(client, cli)


# --- kubelet and kube-proxy ---------------------------------------------------------------

def test_rerun_restarted_neither_kubelet_nor_kube_proxy(host):
    """The invocation IDs recorded after the first converge (and re-recorded by the tests that
    restart a node service on purpose) still run after the idempotence run."""
    recorded = host.file("/var/lib/kubebin-test-node-invocations")
    if not recorded.exists:
        pytest.skip("the scenario's converge does not record invocations (molecule/default/record_invocations.yml)")
    current = host.check_output("systemctl show --property=InvocationID --value kubelet.service kube-proxy.service")
    assert current.split() == recorded.content_string.split()


def test_kubelet_and_kube_proxy_run(host):
    assert host.service("kubelet").is_running
    assert host.service("kube-proxy").is_running
    flags = host.run_test("systemctl show -p ExecStart --value kubelet").stdout
    assert "--config=/etc/kubernetes/kubelet-config.yaml" in flags and "--pod-infra-container-image" not in flags


def test_kubelet_and_kube_proxy_authenticate_as_themselves(host, audit_events):
    """The kubelet as system:node:NAME (group system:nodes), kube-proxy as system:kube-proxy;
    both allowed by the real authorizers (Node and RBAC)."""
    name = host.backend.host
    allowed = [e["user"] for e in audit_events() if e.get("responseStatus", {}).get("code", 500) < 400]
    assert any(u["username"] == "system:node:" + name and "system:nodes" in u.get("groups", []) for u in allowed)
    assert any(u["username"] == "system:kube-proxy" for u in allowed)


def test_kubelet_serves_its_certificate_for_its_ip(host):
    ip = _ip(host)
    out = host.run("openssl s_client -connect %s:10250 -CAfile /etc/kubernetes/pki/ca.crt -verify_ip %s -verify_return_error "
                   "-servername %s </dev/null 2>&1" % (ip, ip, host.backend.host))
    assert "Verify return code: 0 (ok)" in out.stdout, out.stdout[-800:]
    served = host.run_test("openssl s_client -connect %s:10250 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256" % ip).stdout
    on_disk = host.run_test("openssl x509 -in /etc/kubernetes/pki/kubelet.crt -noout -fingerprint -sha256").stdout
    assert served == on_disk
    # Anonymous requests are refused (client-CA / webhook authentication only, read-only port off).
    anonymous = host.run("printf 'GET /pods HTTP/1.0\\r\\n\\r\\n' | openssl s_client -quiet -connect %s:10250 2>/dev/null" % ip)
    assert anonymous.stdout.split()[1:2] == ["401"], anonymous.stdout
    assert not host.socket("tcp://0.0.0.0:10255").is_listening


def test_cgroup_v1_hosts_allowed_explicitly(host):
    config = host.file("/etc/kubernetes/kubelet-config.yaml").content_string
    if host.file("/sys/fs/cgroup/cgroup.controllers").exists:
        assert "failCgroupV1" not in config
    else:
        assert "failCgroupV1: false" in config


# --- files --------------------------------------------------------------------------------

def test_no_ca_key_on_workers_and_keys_private(host):
    if host.backend.host not in _groups(host)["kube_control_plane"]:
        assert not host.file("/etc/kubernetes/pki/ca.key").exists
    keys = host.run_test("find /etc/kubernetes -name '*.key' -o -name '*.conf' -type f").stdout.split()
    assert "/etc/kubernetes/pki/kubelet.key" in keys and "/etc/kubernetes/kubelet.conf" in keys
    for path in keys:
        assert host.file(path).mode == 0o600, path
        assert host.file(path).user == "root"


# --- API objects --------------------------------------------------------------------------

def _kubectl_json(host, *args):
    cp = _other(host, sorted(_groups(host)["kube_control_plane"])[0])
    out = cp.run_test("/usr/local/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf %s -o json" % " ".join(args))
    return json.loads(out.stdout)


def test_control_plane_nodes_labelled_and_tainted(host):
    if host.backend.host not in _groups(host)["kube_control_plane"]:
        pytest.skip("only control-plane hosts that run a kubelet")
    node = _kubectl_json(host, "get", "node", host.backend.host)
    assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in node["spec"]["taints"]


def test_coredns_applied(host):
    if host.backend.host != sorted(_groups(host)["kube_node"])[0]:
        pytest.skip("cluster object: checked once")
    deployment = _kubectl_json(host, "-n", "kube-system", "get", "deployment", "coredns")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.k8s.io/coredns/coredns:v")
    service = _kubectl_json(host, "-n", "kube-system", "get", "service", "kube-dns")
    dns = host.run_test("grep -A1 clusterDNS: /etc/kubernetes/kubelet-config.yaml").stdout
    assert service["spec"]["clusterIP"] in dns
