"""Reading kube-apiserver's JSON audit log in the molecule tests.

One event per line, except where an apiserver stopped in the middle of writing one: the torn
event is followed, on the same line, by the first event of the next process. The torn one is
dropped (and counted); every complete event is kept.
"""

from __future__ import annotations

import json
import re

_EVENT_START = re.compile(r'(?=\{"kind":"Event",)')


def events(text: str) -> tuple:
    """(events, torn): the complete events of the log text, and how many torn ones were dropped."""
    parsed, torn = [], 0
    for line in text.splitlines():
        for piece in _EVENT_START.split(line.strip()):
            if not piece:
                continue
            try:
                parsed.append(json.loads(piece))
            except ValueError:
                torn += 1
    return parsed, torn
