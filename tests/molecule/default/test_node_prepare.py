"""node_prepare on every k8s_cluster host: packages, swap, kernel modules, sysctls."""

import pytest

testinfra_hosts = ["ansible://k8s_cluster"]


@pytest.mark.parametrize("package", ["conntrack", "socat", "ipset", "iptables", "ethtool", "kmod"])
def test_os_packages_installed(host, package):
    assert host.package(package).is_installed


def test_swap_is_off(host):
    assert host.run("swapon --show --noheadings").stdout.strip() == ""


def test_kernel_modules_persisted(host):
    conf = host.file("/etc/modules-load.d/kubebin.conf")
    assert conf.mode == 0o644
    assert conf.user == "root"
    lines = [line for line in conf.content_string.splitlines() if line and not line.startswith("#")]
    assert lines == ["overlay", "br_netfilter"]


def test_kernel_module_functions_present(host):
    assert "overlay" in host.file("/proc/filesystems").content_string
    assert host.file("/proc/sys/net/bridge/bridge-nf-call-iptables").exists


@pytest.mark.parametrize(
    "key", ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"]
)
def test_sysctl_persisted_and_applied(host, key):
    conf = host.file("/etc/sysctl.d/99-kubebin.conf")
    assert conf.mode == 0o644
    assert "%s = 1" % key in conf.content_string.splitlines()
    assert host.sysctl(key) == 1


def test_etc_stays_readable_for_every_user(host):
    # Pushing /etc/kubernetes/pki once made /etc itself 0700 (name resolution broke for non-root
    # users); existing parent directories must keep their mode.
    assert host.file("/etc").mode == 0o755
