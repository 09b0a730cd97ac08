# Copyright (c) kubebin.cluster contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PLAY RECAP of an ansible-playbook run, per host: the one parser of the tests and benches.

tests/ is on sys.path wherever tests/conftest.py is loaded (pytest's rootdir conftest); the
benches put it there themselves.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# One host's line: name, then its ok/changed/unreachable/failed/skipped counts.
_LINE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


class HostRecap(NamedTuple):
    ok: int
    changed: int
    unreachable: int
    failed: int
    skipped: int

    @property
    def tasks(self) -> int:
        """Tasks the host went through: a skipped one costs a scheduling round too."""
        return self.ok + self.skipped


def play_recap(output: str) -> dict:
    """{host: HostRecap} of OUTPUT, the stdout of ansible-playbook (the last recap of a host wins)."""
    return {match[0]: HostRecap(*(int(count) for count in match[1:])) for match in _LINE.findall(output)}
