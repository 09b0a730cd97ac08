# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render every node-role template with real ansible-playbook and check each flag and field.

Hosts: cp1 (control plane and node, containerd 1.6.20, cgroup v1), w1 (containerd 2.3.4, cgroup
v2), w2 (containerd 2.0.5). Flags are checked against the upstream reference
(tests/unit/reference/k8s-flags.json) and component-config fields against the upstream types
(tests/unit/reference/component_fields.py); the version 2 config is read back by a real
containerd 1.6 (Debian's) and the version 3 config by the test bundle's containerd 2.x.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "reference"))

import component_fields  # noqa: E402  pylint: disable=wrong-import-position,import-error

with open(os.path.join(REPO, "tests", "unit", "reference", "k8s-flags.json"), encoding="utf-8") as _ref:
    FLAGS = json.load(_ref)

HOSTS = {
    "cp1": {"ip": "10.0.0.11", "kubebin_containerd_version": "1.6.20", "_kubelet_cgroup_v2": False},
    "w1": {"ip": "10.0.0.21", "kubebin_containerd_version": "2.3.4", "_kubelet_cgroup_v2": True},
    "w2": {"ip": "10.0.0.22", "kubebin_containerd_version": "2.0.5", "_kubelet_cgroup_v2": True},
}
MIRRORS = {"registry.k8s.io": [{"url": "https://mirror.example:5000", "ca_file": "/etc/ssl/mirror-ca.crt"}]}


def _tool(name: str) -> str:
    sibling = os.path.join(os.path.dirname(sys.executable), name)
    return sibling if os.path.exists(sibling) else shutil.which(name)


def render(out_dir, hosts=None, extra=None, nodes=None) -> dict:
    hosts = hosts or HOSTS
    nodes = nodes or list(hosts)
    inv = {"all": {"children": {
        "k8s_cluster": {"children": {"kube_control_plane": {"hosts": {"cp1": None}},
                                     "kube_node": {"hosts": {name: None for name in nodes}}}},
        "etcd": {"hosts": {"cp1": None}}},
        "hosts": {name: {"ip": values["ip"], "test_host_vars": values, "ansible_connection": "local",
                         "ansible_python_interpreter": sys.executable} for name, values in hosts.items()}}}
    os.makedirs(out_dir, exist_ok=True)
    inv_path = os.path.join(out_dir, "inventory.json")
    with open(inv_path, "w", encoding="utf-8") as handle:
        json.dump(inv, handle)
    variables = {"out_dir": out_dir, "containerd_registry_mirrors": MIRRORS,
                 "pod_network_cidr_state_file": os.path.join(out_dir, "no-state.yml")}
    variables.update(extra or {})
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_LOCAL_TEMP=os.path.join(out_dir, ".tmp"))
    proc = subprocess.run([_tool("ansible-playbook"), "-i", inv_path, os.path.join(HERE, "render.yml"), "-e", json.dumps(variables)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in hosts:
        # One JSON per host (name -> rendered text); files are written for the tools that read them.
        with open(os.path.join(out_dir, host + ".json"), encoding="utf-8") as handle:
            rendered = json.load(handle)
        os.makedirs(os.path.join(out_dir, host), exist_ok=True)
        for name, text in rendered.items():
            with open(os.path.join(out_dir, host, name), "w", encoding="utf-8") as handle:
                handle.write(text)
    with open(os.path.join(out_dir, "allocation.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("render"))
    allocation = render(path)
    return path, allocation


def read(out_dir, host, name) -> str:
    with open(os.path.join(out_dir, host, name), encoding="utf-8") as handle:
        return handle.read()


def exec_flags(unit: str) -> dict:
    """--name=value flags of ExecStart (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", unit)
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line[len("ExecStart="):])
    flags = {}
    for arg in argv[1:]:
        assert arg.startswith("--") and "=" in arg, "flag without --name=value form: %r" % arg
        name, value = arg.split("=", 1)
        flags[name] = value
    return flags


# --- containerd ---------------------------------------------------------------------------

def test_containerd_2x_config_is_version_3(out):
    config = tomllib.loads(read(out[0], "w1", "config.toml"))
    assert config["version"] == 3
    images = config["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == "registry.k8s.io/pause:3.10.1"
    assert images["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert images["snapshotter"] == "overlayfs"
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runtime["containerd"]["default_runtime_name"] == "runc"
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"] == {"BinaryName": "/usr/local/bin/runc", "SystemdCgroup": True}
    # containerd 2.3 removed cni.bin_dir; 2.1+ reads bin_dirs.
    assert runtime["cni"] == {"bin_dirs": ["/opt/cni/bin"], "conf_dir": "/etc/cni/net.d"}
    assert "io.containerd.grpc.v1.cri" not in config["plugins"]
    assert config["grpc"]["address"] == "/run/containerd/containerd.sock"


def test_containerd_2_0_uses_bin_dir(out):
    config = tomllib.loads(read(out[0], "w2", "config.toml"))
    assert config["version"] == 3
    assert config["plugins"]["io.containerd.cri.v1.runtime"]["cni"] == {"bin_dir": "/opt/cni/bin", "conf_dir": "/etc/cni/net.d"}


def test_containerd_1x_config_is_version_2(out):
    config = tomllib.loads(read(out[0], "cp1", "config.toml"))
    assert config["version"] == 2
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.10.1"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert set(config["plugins"]) == {"io.containerd.grpc.v1.cri"}


def _bundle_containerd(tmp_path_factory) -> str:
    """containerd 2.x from the test bundle (`make bundle`, which `make test` runs before these)."""
    extract_dir = str(tmp_path_factory.mktemp("containerd"))
    bundle = os.path.join(REPO, ".cache", "test-bundle")
    if not os.path.isfile(os.path.join(bundle, "manifest.json")):
        pytest.skip("no test bundle in %s: run `make bundle` first" % bundle)
    with open(os.path.join(bundle, "manifest.json"), encoding="utf-8") as handle:
        entry = next(a for a in json.load(handle)["artifacts"] if a["name"] == "containerd")
    with tarfile.open(os.path.join(bundle, entry["file"])) as tar:
        tar.extract("bin/containerd", extract_dir, filter="data")
    return os.path.join(extract_dir, "bin", "containerd")


def _config_dump(containerd, config_path) -> dict:
    proc = subprocess.run([containerd, "--config", config_path, "config", "dump"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return tomllib.loads(proc.stdout)


def test_real_containerd_1x_reads_the_version_2_config(out):
    """containerd 1.6 (real: Debian's, installed with the Docker engine) merges our file into its configuration."""
    containerd = shutil.which("containerd")
    version = subprocess.run([containerd, "--version"], capture_output=True, text=True, check=False, timeout=60).stdout if containerd else ""
    if " 1." not in version:
        pytest.skip("no containerd 1.x on this machine (Debian: apt-get install containerd)")
    dump = _config_dump(containerd, os.path.join(out[0], "cp1", "config.toml"))
    cri = dump["plugins"]["io.containerd.grpc.v1.cri"]
    assert dump["version"] == 2
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.10.1"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert cri["containerd"]["runtimes"]["runc"]["options"]["BinaryName"] == "/usr/local/bin/runc"
    assert cri["cni"]["bin_dir"] == "/opt/cni/bin"
    assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
    assert cri["restrict_oom_score_adj"] is False


def test_real_containerd_2x_reads_the_version_3_config(out, tmp_path_factory):
    """containerd 2.x (real, built from its module into the test bundle) reads our version 3 file."""
    dump = _config_dump(_bundle_containerd(tmp_path_factory), os.path.join(out[0], "w1", "config.toml"))
    assert dump["version"] >= 3  # read as 3, dumped in the newest format this containerd knows
    runtime = dump["plugins"]["io.containerd.cri.v1.runtime"]
    images = dump["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == "registry.k8s.io/pause:3.10.1"
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["BinaryName"] == "/usr/local/bin/runc"
    assert runtime["cni"]["bin_dirs"] == ["/opt/cni/bin"]
    assert runtime["restrict_oom_score_adj"] is False


def test_restricted_oom_score_and_cgroupfs_reach_both_config_formats(tmp_path):
    render(str(tmp_path), extra={"containerd_restrict_oom_score_adj": True, "kubebin_cgroup_driver": "cgroupfs"})
    v2 = tomllib.loads(read(str(tmp_path), "cp1", "config.toml"))
    v3 = tomllib.loads(read(str(tmp_path), "w1", "config.toml"))
    assert v2["plugins"]["io.containerd.grpc.v1.cri"]["restrict_oom_score_adj"] is True
    assert v2["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert v3["plugins"]["io.containerd.cri.v1.runtime"]["restrict_oom_score_adj"] is True
    assert v3["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert yaml.safe_load(read(str(tmp_path), "w1", "kubelet-config.yaml"))["cgroupDriver"] == "cgroupfs"


def test_registry_mirror_hosts_toml(out):
    hosts = tomllib.loads(read(out[0], "w1", "hosts-registry.k8s.io.toml"))
    assert hosts["server"] == "https://registry.k8s.io"
    assert hosts["host"]["https://mirror.example:5000"] == {"capabilities": ["pull", "resolve"], "ca": "/etc/ssl/mirror-ca.crt"}


def test_containerd_unit_and_crictl(out):
    unit = read(out[0], "w1", "containerd.service")
    assert "Type=notify" in unit.splitlines()
    assert "KillMode=process" in unit.splitlines() and "Delegate=yes" in unit.splitlines()
    assert "ExecStart=/usr/local/bin/containerd --config /etc/containerd/config.toml" in unit.splitlines()
    crictl = yaml.safe_load(read(out[0], "w1", "crictl.yaml"))
    assert crictl["runtime-endpoint"] == crictl["image-endpoint"] == "unix:///run/containerd/containerd.sock"


# --- kubelet ------------------------------------------------------------------------------

@pytest.mark.parametrize("host", list(HOSTS))
def test_kubelet_config(out, host):
    config = yaml.safe_load(read(out[0], host, "kubelet-config.yaml"))
    assert config["apiVersion"] == "kubelet.config.k8s.io/v1beta1" and config["kind"] == "KubeletConfiguration"
    assert set(config) <= component_fields.KUBELET_FIELDS
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["webhook"]["enabled"] is True
    assert config["authentication"]["x509"] == {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0
    assert (config["tlsCertFile"], config["tlsPrivateKeyFile"]) == ("/etc/kubernetes/pki/kubelet.crt", "/etc/kubernetes/pki/kubelet.key")
    assert config["cgroupDriver"] == "systemd"
    assert config["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock"
    assert config["clusterDNS"] == ["10.96.0.10"] and config["clusterDomain"] == "cluster.local"
    assert config["rotateCertificates"] is False
    if HOSTS[host]["_kubelet_cgroup_v2"]:
        assert "failCgroupV1" not in config
    else:
        assert config["failCgroupV1"] is False
    taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert config.get("registerWithTaints") == (taints if host == "cp1" else None)


@pytest.mark.parametrize("host", list(HOSTS))
def test_kubelet_flags(out, host):
    flags = exec_flags(read(out[0], host, "kubelet.service"))
    known, deprecated = set(FLAGS["flags"]["kubelet"]), set(FLAGS["deprecated"]["kubelet"])
    assert set(flags) <= known, set(flags) - known
    assert not set(flags) & deprecated
    assert flags == {"--config": "/etc/kubernetes/kubelet-config.yaml", "--kubeconfig": "/etc/kubernetes/kubelet.conf",
                     "--hostname-override": host, "--node-ip": HOSTS[host]["ip"], "--v": "2"}
    assert "Type=notify" in read(out[0], host, "kubelet.service").splitlines()


def test_kubelet_cgroup_v1_refusal_kept_when_asked(tmp_path):
    render(str(tmp_path), extra={"kubelet_allow_cgroup_v1": False, "kubelet_node_labels": {"zone": "a"}})
    config = yaml.safe_load(read(str(tmp_path), "cp1", "kubelet-config.yaml"))
    assert config["failCgroupV1"] is True
    assert exec_flags(read(str(tmp_path), "cp1", "kubelet.service"))["--node-labels"] == "zone=a"


def test_kubelet_tls_bootstrap_mode(tmp_path):
    render(str(tmp_path), extra={"kubebin_kubelet_tls_bootstrap": True})
    for host in HOSTS:
        config = yaml.safe_load(read(str(tmp_path), host, "kubelet-config.yaml"))
        assert set(config) <= component_fields.KUBELET_FIELDS
        assert (config["rotateCertificates"], config["serverTLSBootstrap"]) == (True, True)
        assert "tlsCertFile" not in config and "tlsPrivateKeyFile" not in config
        assert config["authentication"]["x509"] == {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}
        flags = exec_flags(read(str(tmp_path), host, "kubelet.service"))
        assert set(flags) <= set(FLAGS["flags"]["kubelet"]) and not set(flags) & set(FLAGS["deprecated"]["kubelet"])
        assert flags["--bootstrap-kubeconfig"] == "/etc/kubernetes/bootstrap-kubelet.conf"
        assert flags["--kubeconfig"] == "/etc/kubernetes/kubelet.conf"


# --- kube-proxy ---------------------------------------------------------------------------

def test_kube_proxy_config_and_flags(out):
    config = yaml.safe_load(read(out[0], "w1", "kube-proxy-config.yaml"))
    assert config["apiVersion"] == "kubeproxy.config.k8s.io/v1alpha1" and config["kind"] == "KubeProxyConfiguration"
    assert set(config) <= component_fields.KUBE_PROXY_FIELDS
    assert config["mode"] == "iptables"
    assert config["clusterCIDR"] == "10.244.0.0/16"
    assert config["clientConnection"] == {"kubeconfig": "/etc/kubernetes/kube-proxy.conf"}
    assert config["hostnameOverride"] == "w1"
    assert config["metricsBindAddress"] == "127.0.0.1:10249"
    flags = exec_flags(read(out[0], "w1", "kube-proxy.service"))
    assert set(flags) <= set(FLAGS["flags"]["kube-proxy"])
    assert flags == {"--config": "/etc/kubernetes/kube-proxy-config.yaml", "--v": "2"}


# --- pod network --------------------------------------------------------------------------

def test_pod_cidrs_distinct_and_inside_the_pod_cidr(out):
    cidrs = out[1]["cidrs"]
    assert out[1]["errors"] == []
    assert sorted(cidrs) == ["cp1", "w1", "w2"]
    nets = [ipaddress.ip_network(c) for c in cidrs.values()]
    assert len(set(nets)) == 3
    assert all(n.prefixlen == 24 and n.subnet_of(ipaddress.ip_network("10.244.0.0/16")) for n in nets)
    for host, cidr in cidrs.items():
        conf = json.loads(read(out[0], host, "10-kubebin.conflist"))
        bridge = conf["plugins"][0]
        assert bridge["type"] == "bridge" and bridge["isGateway"] is True and bridge["ipMasq"] is False
        assert bridge["ipam"]["type"] == "host-local"
        assert bridge["ipam"]["ranges"] == [[{"subnet": cidr}]]


@pytest.mark.parametrize("host", list(HOSTS))
def test_routes_script(out, host):
    script = read(out[0], host, "pod-network-routes")
    cidrs = out[1]["cidrs"]
    routes = re.findall(r"^route (\S+) (\S+)$", script, re.M)
    assert sorted(routes) == sorted((cidrs[other], HOSTS[other]["ip"]) for other in HOSTS if other != host)
    assert "-s %s ! -d 10.244.0.0/16" % cidrs[host] in script
    assert subprocess.run(["sh", "-n", os.path.join(out[0], host, "pod-network-routes")], check=False).returncode == 0


def test_new_node_does_not_renumber_the_others(out, tmp_path):
    state = tmp_path / "pod-cidrs.yml"
    # The previous allocation is remembered; a new node whose name sorts first joins.
    state.write_text(yaml.safe_dump(out[1]["cidrs"]))
    hosts = dict(HOSTS, a0={"ip": "10.0.0.5", "kubebin_containerd_version": "2.3.4", "_kubelet_cgroup_v2": True})
    allocation = render(str(tmp_path / "out"), hosts=hosts, extra={"pod_network_cidr_state_file": str(state)})
    assert allocation["errors"] == []
    for host, cidr in out[1]["cidrs"].items():
        assert allocation["cidrs"][host] == cidr
    assert allocation["cidrs"]["a0"] not in out[1]["cidrs"].values()


def test_overlapping_override_is_refused(tmp_path):
    hosts = {name: dict(values) for name, values in HOSTS.items()}
    hosts["w1"]["pod_network_node_cidr"] = "10.244.7.0/24"
    hosts["w2"]["pod_network_node_cidr"] = "10.244.7.0/24"
    hosts["cp1"]["pod_network_node_cidr"] = "10.245.0.0/24"
    allocation = render(str(tmp_path), hosts=hosts)
    assert any("same pod CIDR" in e for e in allocation["errors"])
    assert any("node cp1: pod CIDR 10.245.0.0/24 is outside kubebin_pod_cidr" in e for e in allocation["errors"])


# --- CoreDNS ------------------------------------------------------------------------------

def test_coredns_manifest(out):
    docs = list(yaml.safe_load_all(read(out[0], "cp1", "coredns.yaml")))
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service", "ServiceAccount"]
    service = next(d for d in docs if d["kind"] == "Service")
    kubelet = yaml.safe_load(read(out[0], "w1", "kubelet-config.yaml"))
    assert service["spec"]["clusterIP"] == kubelet["clusterDNS"][0]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/coredns/coredns:v1.12.1"
    corefile = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["Corefile"]
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in corefile


# --- role interfaces ----------------------------------------------------------------------

def test_coredns_and_the_kubelets_follow_one_cluster_dns_address(tmp_path):
    # One setting moves both; an IPv6 service network works without naming the address.
    for extra, address in (({"kubebin_cluster_dns_ip": "10.96.0.53"}, "10.96.0.53"),
                           ({"kubebin_service_cidr": "fd00:10:96::/112"}, "fd00:10:96::a")):
        out_dir = str(tmp_path / address.replace(":", "_"))
        render(out_dir, extra=extra)
        service = next(d for d in yaml.safe_load_all(read(out_dir, "cp1", "coredns.yaml")) if d["kind"] == "Service")
        kubelet = yaml.safe_load(read(out_dir, "w1", "kubelet-config.yaml"))
        assert service["spec"]["clusterIP"] == address
        assert kubelet["clusterDNS"] == [address]


def test_containerd_the_kubelet_and_crictl_share_one_cri_socket(tmp_path):
    render(str(tmp_path), extra={"kubebin_cri_socket": "/run/k8s-cri/cri.sock", "containerd_state_dir": "/run/other"})
    config = read(str(tmp_path), "w1", "config.toml")
    kubelet = yaml.safe_load(read(str(tmp_path), "w1", "kubelet-config.yaml"))
    crictl = yaml.safe_load(read(str(tmp_path), "w1", "crictl.yaml"))
    assert 'address = "/run/k8s-cri/cri.sock"' in config
    assert kubelet["containerRuntimeEndpoint"] == "unix:///run/k8s-cri/cri.sock"
    assert crictl["runtime-endpoint"] == crictl["image-endpoint"] == "unix:///run/k8s-cri/cri.sock"
