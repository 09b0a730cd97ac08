"""Fixtures shared by every scenario's verify (molecule runs pytest with its environment)."""

from __future__ import annotations

import os

import audit_log
import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

AUDIT_LOG = "/var/log/kubernetes/audit.log"


@pytest.fixture
def audit_events():
    """A function returning every apiserver's audit events, oldest first: kube-apiserver writes
    one log per host, and requests are balanced over all of them."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])

    def read() -> list:
        events = []
        for name in sorted(AnsibleRunner(inventory).get_hosts("kube_control_plane")):
            log = testinfra.get_host("ansible://%s" % name, ansible_inventory=inventory).file(AUDIT_LOG)
            if log.exists:
                parsed, torn = audit_log.events(log.content_string)
                # an apiserver stopped mid-write leaves one torn event per stop, no more
                assert torn <= 20, "%s: %d unreadable audit events" % (name, torn)
                events += parsed
        return sorted(events, key=lambda event: event["requestReceivedTimestamp"])
    return read
