# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point shared by the five stand-ins: flags, --version, checks, READY=1, run until SIGTERM."""

from __future__ import annotations

import importlib
import signal
import sys
import threading

from . import cli, files, log, notify, reference
from .log import StandinError

# component name -> module with start(flags, version) that runs every check and starts serving.
COMPONENTS = {
    "kube-apiserver": "apiserver",
    "kube-controller-manager": "controller_manager",
    "kube-scheduler": "scheduler",
    "kubelet": "kubelet",
    "kube-proxy": "kube_proxy",
}


def run(component: str, version: str, argv: list | None = None) -> int:
    log.set_component(component)
    argv = sys.argv[1:] if argv is None else argv
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    signal.signal(signal.SIGINT, lambda *_args: stop.set())
    try:
        flags = cli.parse(argv, reference.FlagReference(reference.load(), component))
        if flags.get("--version") not in (None, "false"):
            sys.stdout.write("Kubernetes v%s\n" % version)
            return 0
        if flags.get_bool("--help"):
            sys.stdout.write("%s: kubebin contract stand-in for Kubernetes v%s (tests only). Accepts the flags of the "
                             "upstream reference and checks every file they name.\n" % (component, version))
            return 0
        log.info("kubebin contract stand-in for %s v%s: checks the collection's flags, files and TLS; runs no workloads"
                 % (component, version))
        module = importlib.import_module("." + COMPONENTS[component], __package__)
        module.start(flags, version)
        notify.ready()
    except StandinError as exc:
        log.fatal(str(exc))
        return 1
    stop.wait()
    log.info("terminating on signal")
    if "dir" in files.SCRATCH:
        files.SCRATCH["dir"].cleanup()
    return 0


def main() -> None:
    """`python -m kubebin_standin COMPONENT [flags]` (source tree; the zipapps call run() directly)."""
    if len(sys.argv) < 2 or sys.argv[1] not in COMPONENTS:
        sys.stderr.write("usage: python -m kubebin_standin {%s} [flags]\n" % ",".join(COMPONENTS))
        sys.exit(2)
    sys.exit(run(sys.argv[1], "0.0.0-source", sys.argv[2:]))
