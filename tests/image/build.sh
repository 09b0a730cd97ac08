#!/usr/bin/env bash
# Build the systemd test-host image locally (no image registry is reachable): debootstrap a
# Debian bookworm root and import it. Cached: the image carries a label with the hash of this
# script, and a matching image is not rebuilt.
set -euo pipefail

image="${KUBEBIN_TEST_IMAGE:-kubebin-host:bookworm}"
suite=bookworm
# python3-yaml and openssl: the verify tests read YAML files and check certificates on the hosts.
packages="systemd,systemd-sysv,python3,python3-yaml,openssl,dbus,iproute2,procps,ca-certificates"
recipe_hash=$(sha256sum "$0" | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "kubebin.recipe" }}' "$image" 2>/dev/null || true)" = "$recipe_hash" ]; then
  echo "test image $image is up to date ($recipe_hash)"
  exit 0
fi

# Use the mirror this machine's apt is configured with.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
: "${mirror:?no Debian mirror found in the apt sources}"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite into $root"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >/dev/null
# No machine id: systemd makes one at first boot, so hosts differ.
: > "$root/etc/machine-id"
# Docker mounts /proc/sys read-only in a container that is not --privileged (which fails here), and
# the API of Docker 20.10 takes no `systempaths=unconfined`. The kubelet writes vm.overcommit_memory,
# kernel.panic, ... at start and a failed write is fatal; kube-proxy sets per-netns conntrack and
# route_localnet sysctls. As root with CAP_SYS_ADMIN the host may remount it read-write, first thing
# at boot (before systemd-sysctl), which is what a real server has.
cat > "$root/etc/systemd/system/kubebin-test-proc-sys-rw.service" <<'UNIT'
[Unit]
Description=Make /proc/sys writable in this test host (kubebin test image)
DefaultDependencies=no
Before=systemd-sysctl.service sysinit.target
ConditionPathIsReadWrite=!/proc/sys

[Service]
Type=oneshot
ExecStart=/bin/mount -o remount,rw /proc/sys

[Install]
WantedBy=sysinit.target
UNIT
ln -s ../kubebin-test-proc-sys-rw.service "$root/etc/systemd/system/sysinit.target.wants/kubebin-test-proc-sys-rw.service"
tar -C "$root" -c . | docker import \
  -c 'CMD ["/sbin/init"]' \
  -c "LABEL kubebin.recipe=$recipe_hash" \
  - "$image" >/dev/null
echo "built test image $image ($recipe_hash)"
