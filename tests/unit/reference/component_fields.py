# Copyright: (c) 2026, kubebin.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Top-level fields of the component configs the collection writes, from the upstream Go types
(json tags) of the versions named below. The render tests refuse any other field: upstream
decodes kubelet and kube-proxy configs leniently (an unknown field is only logged), and an unknown
field in what we template is always our bug. The molecule scenarios check the same with the real
programs (no "unknown field" in their journals).
"""

from __future__ import annotations

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
