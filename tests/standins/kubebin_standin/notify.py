# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sd_notify for Type=notify units, without libsystemd."""

from __future__ import annotations

import os
import socket

from . import log


def ready() -> None:
    """Send READY=1 to $NOTIFY_SOCKET (path or abstract '@name')."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        log.info("ready (no NOTIFY_SOCKET: not started by systemd with Type=notify)")
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1\nSTATUS=kubebin stand-in: all checks passed")
    log.ok("READY=1 sent to systemd")
