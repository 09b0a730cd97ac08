"""nth_ip: the address arithmetic behind kubebin_cluster_dns_ip, for both families."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubebin.cluster.plugins.filter.network import nth_ip


@pytest.mark.parametrize(
    "cidrs, index, address",
    [
        ("10.96.0.0/12", 10, "10.96.0.10"),
        ("10.96.0.0/12,fd00:10:96::/112", 10, "10.96.0.10"),
        ("fd00:10:96::/112,10.96.0.0/12", 10, "fd00:10:96::a"),
        ("192.168.0.0/24", 255, "192.168.0.255"),
        ("10.0.0.0/8", "1", "10.0.0.1"),
    ],
)
def test_nth_ip(cidrs, index, address):
    assert nth_ip(cidrs, index) == address


@pytest.mark.parametrize("cidrs, index", [("10.0.0.0/29", 10), ("10.0.0.1/24", 1), ("nonsense", 1), ("10.0.0.0/24", -1)])
def test_nth_ip_refuses_what_has_no_such_address(cidrs, index):
    with pytest.raises(AnsibleFilterError):
        nth_ip(cidrs, index)
