#!/usr/bin/env bash
# The machine's side of the kubelets' cgroups on the test hosts (docs/testing.md).
#   kubelet-cgroups.sh create NODE...   mount the missing v1 controllers, make /kubebin-NODE in each
#   kubelet-cgroups.sh remove NODE...   remove what is left under /kubebin-NODE (deepest first)
# Prints one line per thing it changed, nothing when there was nothing to do.
#
# Why: the hosts share the machine's cgroup namespace and bind-mount /sys/fs/cgroup, and their
# kubelets use the cgroupfs driver with a root of their own, /kubebin-NODE (which must exist).
# These machines mount only some v1 controllers; a host's systemd mounts the others (hugetlb,
# net_cls,net_prio, perf_event) inside the host only, where the kubelet then wants its root too
# ("cgroup [kubebin-w1] has some missing paths: /sys/fs/cgroup/hugetlb/kubebin-w1"). Mounted
# here before the hosts start, the machine and every host see one tree.
set -euo pipefail
root=/sys/fs/cgroup
action=${1:?usage: $0 create|remove NODE...}
shift
[ "$(stat -f -c %T "$root")" = tmpfs ] || exit 0   # cgroup v2 only: nothing to do here

if [ "$action" = create ]; then
  mounted=$(awk '$9 == "cgroup" {print $NF}' /proc/self/mountinfo | tr ',' '\n')
  declare -A want=()
  while read -r name _hierarchy _count enabled; do
    case "$name" in \#*) continue ;; esac
    [ "$enabled" = 1 ] || continue
    grep -qx "$name" <<<"$mounted" && continue
    case "$name" in net_cls|net_prio) want[net_cls,net_prio]=1 ;; *) want[$name]=1 ;; esac
  done </proc/cgroups
  for group in "${!want[@]}"; do
    mkdir -p "$root/$group"
    mount -t cgroup -o "$group" cgroup "$root/$group"
    echo "mounted $group"
  done
fi

for hierarchy in "$root"/*/; do
  if [ ! -f "$hierarchy/cgroup.procs" ] || [ "$(stat -f -c %T "$hierarchy")" != cgroupfs ]; then
    continue
  fi
  for node in "$@"; do
    dir="${hierarchy}kubebin-$node"
    if [ "$action" = create ] && [ ! -d "$dir" ]; then
      mkdir "$dir" && echo "created $dir"
    elif [ "$action" = remove ] && [ -d "$dir" ]; then
      find "$dir" -depth -type d -exec rmdir {} + && echo "removed $dir"
    fi
  done
done
