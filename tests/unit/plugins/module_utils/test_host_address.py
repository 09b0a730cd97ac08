"""The address and network parsers preflight and the PKI share (host_address)."""

import ipaddress

import pytest

from ansible_collections.kubebin.cluster.plugins.module_utils.host_address import first_address, is_ip, parse_cidrs, parse_ip, split_list
from ansible_collections.kubebin.cluster.plugins.module_utils.pki_crypto import normalize_ip


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.0.0.1", ipaddress.ip_address("10.0.0.1")),
        (" fd00::1 ", ipaddress.ip_address("fd00::1")),
        ("fe80::1%eth0", ipaddress.ip_address("fe80::1%eth0")),
        ("[fd00::1]", None),
        ("10.0.0.1/32", None),
        ("host.example.com", None),
        ("", None),
        (None, None),
        (5, None),
    ],
)
def test_parse_ip_strips_by_default(value, expected):
    assert parse_ip(value) == expected
    assert is_ip(value) is (expected is not None)
    assert normalize_ip(value) == (str(expected) if expected is not None else None)


def test_parse_ip_without_strip_refuses_blanks():
    assert parse_ip(" 127.0.0.1", strip=False) is None
    assert parse_ip("127.0.0.1", strip=False) == ipaddress.ip_address("127.0.0.1")


def test_normalize_ip_gives_the_canonical_text():
    assert normalize_ip(" FD00:0::1 ") == "fd00::1"


@pytest.mark.parametrize(
    "value, items",
    [
        ("10.0.0.1", ["10.0.0.1"]),
        (" 10.0.0.1 , fd00::1,", ["10.0.0.1", "fd00::1"]),
        (["10.0.0.1", " ", "fd00::1 "], ["10.0.0.1", "fd00::1"]),
        (("a",), ["a"]),
        ("", []),
        (None, []),
    ],
)
def test_split_list_and_first_address(value, items):
    assert split_list(value) == items
    assert first_address(value) == (items[0] if items else "")


def test_parse_cidrs_gives_the_networks_and_the_bad_parts():
    nets, bad = parse_cidrs(" 10.96.0.0/12 , fd00:10:96::/108")
    assert nets == [ipaddress.ip_network("10.96.0.0/12"), ipaddress.ip_network("fd00:10:96::/108")]
    assert bad == []
    nets, bad = parse_cidrs("10.0.0.1/8,x,10.244.0.0/16")
    assert nets == [ipaddress.ip_network("10.244.0.0/16")]
    assert [part for part, _exc in bad] == ["10.0.0.1/8", "x"]
    assert all(isinstance(exc, ValueError) for _part, exc in bad)
    assert "has host bits set" in str(bad[0][1])


@pytest.mark.parametrize("value", ["", None, " , ", 0])
def test_parse_cidrs_of_nothing_has_no_parts(value):
    assert parse_cidrs(value) == ([], [])


def test_parse_cidrs_can_count_an_empty_part_as_bad():
    assert parse_cidrs("10.96.0.0/12,") == ([ipaddress.ip_network("10.96.0.0/12")], [])
    nets, bad = parse_cidrs("10.96.0.0/12,", skip_empty=False)
    assert nets == [ipaddress.ip_network("10.96.0.0/12")]
    assert [part for part, _exc in bad] == [""]
    assert [part for part, _exc in parse_cidrs(None, skip_empty=False)[1]] == [""]
