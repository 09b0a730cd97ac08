# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One line per check on stderr, so every check lands in the journal."""

from __future__ import annotations

import sys

_STATE = {"component": "standin"}


class StandinError(Exception):
    """A contract violation: the stand-in stops with a non-zero exit code and this reason."""


def set_component(name: str) -> None:
    _STATE["component"] = name


def _emit(level: str, message: str) -> None:
    sys.stderr.write("%s[stand-in] %s: %s\n" % (_STATE["component"], level, message))
    sys.stderr.flush()


def ok(message: str) -> None:
    """A check that passed."""
    _emit("check ok", message)


def info(message: str) -> None:
    _emit("info", message)


def warn(message: str) -> None:
    _emit("warning", message)


def fatal(message: str) -> None:
    _emit("FATAL", message)
