# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flag reference (k8s-flags.json): accepted, deprecated and removed flags per component."""

from __future__ import annotations

import json
import os
import pkgutil
import re

# Inside the zipapp the builder stores the reference next to the modules; in the source tree it
# lives in ../reference/ (the committed copy of the shared reference).
_PACKAGED = "k8s-flags.json"
_SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference", "k8s-flags.json")
_FLAG_RE = re.compile(r"--[a-z0-9][a-z0-9_-]*")


def load() -> dict:
    data = None
    try:
        data = pkgutil.get_data(__package__, _PACKAGED)
    except OSError:
        data = None
    if data is None:
        with open(_SOURCE, "rb") as handle:
            data = handle.read()
    return json.loads(data)


def _removed_map(reference: dict, component: str) -> dict:
    """Map every removed flag name to the reason text, expanding the grouped entries.

    Keys like "klog flags (see kube-apiserver)" point at the kube-apiserver entry of the same group.
    """
    removed = {}
    entries = reference.get("removed", {})
    for key, reason in entries.get(component, {}).items():
        names = _FLAG_RE.findall(key)
        if not names and "see kube-apiserver" in key:
            for api_key in entries.get("kube-apiserver", {}):
                if api_key.startswith(key.split(" ", 1)[0]):
                    names = _FLAG_RE.findall(api_key)
        for name in names:
            removed[name] = reason
    return removed


class FlagReference:
    """Flags of one component."""

    def __init__(self, reference: dict, component: str) -> None:
        self.component = component
        self.version = reference.get("version", "?")
        self.known = frozenset(reference["flags"][component])
        self.deprecated = frozenset(reference.get("deprecated", {}).get(component, []))
        self.removed = _removed_map(reference, component)
