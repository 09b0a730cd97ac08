"""The molecule tests' audit-log reader keeps every complete event, also next to a torn one."""

from __future__ import annotations

import json

import audit_log


def test_a_torn_event_is_dropped_and_the_next_one_on_its_line_kept():
    first, second = {"kind": "Event", "auditID": "a"}, {"kind": "Event", "auditID": "b"}
    torn = json.dumps(second, separators=(",", ":"))
    text = "\n".join([json.dumps(first, separators=(",", ":")), '{"kind":"Event","apiVersion":"audit.k8s.io/v1","aud' + torn, ""])
    assert audit_log.events(text) == ([first, second], 1)
    assert audit_log.events("") == ([], 0)
