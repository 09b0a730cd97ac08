# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line parsing with the pflag rules the real components use, checked against the reference."""

from __future__ import annotations

from . import log
from .log import StandinError

# pflag needs to know which flags are booleans: `--name value` takes the next token only for
# non-boolean flags. Booleans any of the five components declares (same name, same meaning).
BOOL_FLAGS = frozenset("""
--help --version --profiling --contention-profiling --leader-elect --use-service-account-credentials
--allocate-node-cidrs --configure-cloud-routes --allow-privileged --anonymous-auth --enable-bootstrap-token-auth
--enable-aggregator-routing --enable-garbage-collector --enable-priority-and-fairness --service-account-lookup
--watch-cache --audit-log-compress --enable-logs-handler --authentication-skip-lookup --bind-address-hard-fail
--cleanup --masquerade-all --fail-swap-on --register-node --rotate-certificates --rotate-server-certificates
--runonce --cgroups-per-qos --enable-server --enable-debugging-handlers --make-iptables-util-chains
--protect-kernel-defaults --serialize-image-pulls --kernel-memcg-notification --local-storage-capacity-isolation
--cpu-cfs-quota --enable-controller-attach-detach --log-text-split-stream --encryption-provider-config-automatic-reload
--permit-address-sharing --permit-port-sharing --disable-http2-serving --audit-log-truncate-enabled
--audit-webhook-truncate-enabled --audit-log-batch-throttle-enable --audit-webhook-batch-throttle-enable
--service-account-extend-token-expiration --emulation-forward-compatible --runtime-config-emulation-forward-compatible
--init-only --add_dir_header --alsologtostderr --logtostderr --one_output --skip_headers --skip_log_headers
--enable-dynamic-provisioning --enable-hostpath-provisioner --enable-taint-manager
--experimental-allocatable-ignore-eviction --seccomp-default
--exit-on-lock-contention --ipvs-strict-arp --iptables-localhost-nodeports
""".split())

_SHORT = {"-v": "--v", "-h": "--help"}
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


class Flags:
    """Parsed flags: the last value wins, like pflag for scalar flags."""

    def __init__(self, values: dict) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._values.get(name)
        return values[-1] if values else default

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise StandinError('invalid argument "%s" for "%s" flag: strconv.ParseBool: parsing "%s": invalid syntax' % (value, name, value))

    def get_int(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise StandinError('invalid argument "%s" for "%s" flag: not an integer' % (value, name)) from None

    def get_list(self, name: str) -> list:
        """Comma-separated list flags (also repeated)."""
        items = []
        for value in self._values.get(name, []):
            items.extend(item.strip() for item in value.split(",") if item.strip())
        return items

    def names(self) -> list:
        return sorted(self._values)


def _split(argv: list) -> tuple:
    values = {}
    positional = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            positional.extend(argv[index:])
            break
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, has_value, value = token.partition("=")
        name = _SHORT.get(name, name)
        if not name.startswith("--"):
            raise StandinError("unknown shorthand flag: %r in %s" % (name.lstrip("-")[:1], token))
        if not has_value:
            if name in BOOL_FLAGS:
                value = "true"
            elif name == "--v" and (index >= len(argv) or argv[index].startswith("-")):
                raise StandinError("flag needs an argument: %s" % name)
            elif index < len(argv):
                value = argv[index]
                index += 1
            else:
                raise StandinError("flag needs an argument: %s" % name)
        values.setdefault(name, []).append(value)
    return values, positional


def parse(argv: list, reference) -> Flags:
    """Parse and check every flag against the reference; raise StandinError on the first violation."""
    values, positional = _split(argv)
    if positional:
        raise StandinError("%r does not take any arguments, got %r" % (reference.component, positional))
    for name in sorted(values):
        if name in reference.removed:
            raise StandinError("flag %s was removed from %s in %s" % (name, reference.component, reference.removed[name]))
        if name not in reference.known:
            raise StandinError("unknown flag: %s (not in the %s %s flag reference)" % (name, reference.component, reference.version))
        if name in reference.deprecated:
            if reference.component == "kubelet":
                raise StandinError("flag %s is deprecated for the kubelet: set it in the --config file (KubeletConfiguration)" % name)
            log.warn("flag %s is deprecated for %s" % (name, reference.component))
    log.ok("%d flags known to the %s %s reference: %s" % (len(values), reference.component, reference.version, " ".join(sorted(values))))
    return Flags(values)
