# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versioned config files: component configs, encryption config, audit policy, admission config.

Top-level field lists come from the upstream Go types (json tags) of the versions named below.
Upstream decodes kubelet and kube-proxy configs leniently (unknown fields are logged); the stand-in
refuses them, because an unknown field in what we template is always our bug.
"""

from __future__ import annotations

import base64
import binascii

from . import files, log
from .log import StandinError

_TYPE_META = {"apiVersion", "kind"}

# staging/src/k8s.io/kubelet/config/v1beta1/types.go (1.35 line).
KUBELET_FIELDS = _TYPE_META | set("""
enableServer staticPodPath podLogsDir syncFrequency fileCheckFrequency httpCheckFrequency staticPodURL
staticPodURLHeader address port readOnlyPort tlsCertFile tlsPrivateKeyFile tlsCipherSuites tlsCurvePreferences
tlsMinVersion rotateCertificates serverTLSBootstrap authentication authorization registryPullQPS registryBurst
imagePullCredentialsVerificationPolicy preloadedImagesVerificationAllowlist eventRecordQPS eventBurst
enableDebuggingHandlers enableContentionProfiling healthzPort healthzBindAddress oomScoreAdj clusterDomain clusterDNS
streamingConnectionIdleTimeout nodeStatusUpdateFrequency nodeStatusReportFrequency nodeLeaseDurationSeconds
imageMinimumGCAge imageMaximumGCAge imageGCHighThresholdPercent imageGCLowThresholdPercent volumeStatsAggPeriod
kubeletCgroups systemCgroups cgroupRoot cgroupsPerQOS cgroupDriver cpuManagerPolicy singleProcessOOMKill
cpuManagerPolicyOptions cpuManagerReconcilePeriod draManagerReconcilePeriod memoryManagerPolicy topologyManagerPolicy
topologyManagerScope topologyManagerPolicyOptions qosReserved runtimeRequestTimeout hairpinMode maxPods podCIDR
podPidsLimit resolvConf runOnce cpuCFSQuota cpuCFSQuotaPeriod nodeStatusMaxImages maxOpenFiles contentType kubeAPIQPS
kubeAPIBurst serializeImagePulls maxParallelImagePulls evictionHard evictionSoft evictionSoftGracePeriod
evictionPressureTransitionPeriod evictionMaxPodGracePeriod evictionMinimumReclaim mergeDefaultEvictionSettings
podsPerCore enableControllerAttachDetach protectKernelDefaults makeIPTablesUtilChains iptablesMasqueradeBit
iptablesDropBit featureGates failSwapOn memorySwap containerLogMaxSize containerLogMaxFiles containerLogMaxWorkers
containerLogMonitorInterval configMapAndSecretChangeDetectionStrategy systemReserved kubeReserved reservedSystemCPUs
showHiddenMetricsForVersion systemReservedCgroup kubeReservedCgroup enforceNodeAllocatable allowedUnsafeSysctls
volumePluginDir providerID kernelMemcgNotification logging enableSystemLogHandler enableSystemLogQuery
shutdownGracePeriod shutdownGracePeriodCriticalPods shutdownGracePeriodByPodPriority crashLoopBackOff reservedMemory
enableProfilingHandler enableDebugFlagsHandler seccompDefault memoryThrottlingFactor memoryReservationPolicy
registerWithTaints registerNode tracing localStorageCapacityIsolation containerRuntimeEndpoint imageServiceEndpoint
failCgroupV1 userNamespaces
""".split())

# staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go (1.31+).
KUBE_PROXY_FIELDS = _TYPE_META | set("""
featureGates clientConnection logging hostnameOverride bindAddress healthzBindAddress metricsBindAddress
bindAddressHardFail enableProfiling showHiddenMetricsForVersion mode iptables ipvs nftables winkernel detectLocalMode
detectLocal clusterCIDR nodePortAddresses oomScoreAdj conntrack configSyncPeriod portRange windowsRunAsService
""".split())

# pkg/scheduler/apis/config/v1/types.go (kubescheduler.config.k8s.io/v1; healthz/metrics bind
# addresses were dropped in v1beta3, so they are unknown here).
SCHEDULER_FIELDS = _TYPE_META | set("""
parallelism leaderElection clientConnection enableProfiling enableContentionProfiling percentageOfNodesToScore
podInitialBackoffSeconds podMaxBackoffSeconds profiles extenders delayCacheUntilActive
""".split())

KINDS = {
    "KubeletConfiguration": ("kubelet.config.k8s.io/v1beta1", KUBELET_FIELDS),
    "KubeProxyConfiguration": ("kubeproxy.config.k8s.io/v1alpha1", KUBE_PROXY_FIELDS),
    "KubeSchedulerConfiguration": ("kubescheduler.config.k8s.io/v1", SCHEDULER_FIELDS),
}


def load_component_config(path: str, flag: str, kind: str) -> dict:
    """Right apiVersion and kind, only known top-level fields."""
    api_version, known = KINDS[kind]
    doc = files.load_yaml(path, flag)
    if not isinstance(doc, dict):
        raise StandinError("%s: %s is not a YAML mapping" % (flag, path))
    if doc.get("apiVersion") != api_version or doc.get("kind") != kind:
        raise StandinError("%s: %s has apiVersion=%r kind=%r; want %s %s"
                           % (flag, path, doc.get("apiVersion"), doc.get("kind"), api_version, kind))
    unknown = sorted(set(doc) - known)
    if unknown:
        raise StandinError("%s: %s: unknown field(s) in %s: %s" % (flag, path, kind, ", ".join(unknown)))
    log.ok("%s %s: %s %s with %d known fields" % (flag, path, api_version, kind, len(doc) - 2))
    return doc


# Key sizes the apiserver accepts per provider (staging/src/k8s.io/apiserver/pkg/apis/apiserver/validation).
_KEY_SIZES = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}


def check_encryption_config(path: str, flag: str) -> None:
    """EncryptionConfiguration apiserver.config.k8s.io/v1 with valid providers and key sizes."""
    doc = files.load_yaml(path, flag, secret=True)
    if not isinstance(doc, dict) or doc.get("kind") != "EncryptionConfiguration" or doc.get("apiVersion") != "apiserver.config.k8s.io/v1":
        raise StandinError("%s: %s is not an apiserver.config.k8s.io/v1 EncryptionConfiguration" % (flag, path))
    resources = doc.get("resources")
    if not isinstance(resources, list) or not resources:
        raise StandinError("%s: %s: resources must be a non-empty list" % (flag, path))
    covered = []
    for index, entry in enumerate(resources):
        where = "%s: %s: resources[%d]" % (flag, path, index)
        if not isinstance(entry, dict) or not entry.get("resources") or not entry.get("providers"):
            raise StandinError("%s: needs resources and providers" % where)
        covered.extend(entry["resources"])
        for provider in entry["providers"]:
            if not isinstance(provider, dict) or len(provider) != 1:
                raise StandinError("%s: each provider must have exactly one type" % where)
            (ptype, body), = provider.items()
            if ptype == "identity":
                continue
            if ptype == "kms":
                continue
            if ptype not in _KEY_SIZES:
                raise StandinError("%s: unknown provider type %r" % (where, ptype))
            keys = (body or {}).get("keys") or []
            if not keys:
                raise StandinError("%s: provider %s has no keys" % (where, ptype))
            for key in keys:
                try:
                    secret = base64.b64decode(str(key.get("secret", "")), validate=True)
                except (binascii.Error, ValueError):
                    raise StandinError("%s: %s key %r: secret is not base64" % (where, ptype, key.get("name"))) from None
                if not key.get("name") or len(secret) not in _KEY_SIZES[ptype]:
                    raise StandinError("%s: %s key %r: needs a name and a %s-byte secret, got %d bytes"
                                       % (where, ptype, key.get("name"), "/".join(map(str, _KEY_SIZES[ptype])), len(secret)))
    log.ok("%s %s: EncryptionConfiguration for %s" % (flag, path, ", ".join(map(str, covered))))


_AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")


def check_audit_policy(path: str, flag: str) -> None:
    doc = files.load_yaml(path, flag)
    if not isinstance(doc, dict) or doc.get("kind") != "Policy" or doc.get("apiVersion") != "audit.k8s.io/v1":
        raise StandinError("%s: %s is not an audit.k8s.io/v1 Policy" % (flag, path))
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        raise StandinError("%s: %s: an audit policy needs at least one rule" % (flag, path))
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("level") not in _AUDIT_LEVELS:
            raise StandinError("%s: %s: rules[%d].level must be one of %s" % (flag, path, index, ", ".join(_AUDIT_LEVELS)))
    log.ok("%s %s: audit Policy with %d rules" % (flag, path, len(rules)))


def check_admission_config(path: str, flag: str) -> None:
    doc = files.load_yaml(path, flag)
    versions = ("apiserver.config.k8s.io/v1", "apiserver.k8s.io/v1alpha1")
    if not isinstance(doc, dict) or doc.get("kind") != "AdmissionConfiguration" or doc.get("apiVersion") not in versions:
        raise StandinError("%s: %s is not an AdmissionConfiguration (%s)" % (flag, path, " or ".join(versions)))
    for plugin in doc.get("plugins") or []:
        if not isinstance(plugin, dict) or not plugin.get("name"):
            raise StandinError("%s: %s: every plugin needs a name" % (flag, path))
        if plugin.get("path"):
            files.check_exists(plugin["path"], "%s plugin %s path" % (flag, plugin["name"]))
    log.ok("%s %s: AdmissionConfiguration" % (flag, path))
