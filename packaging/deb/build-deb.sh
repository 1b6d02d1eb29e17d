#!/bin/sh
# Builds drover-agent_<version>_amd64.deb and drover-aggregator_<version>_amd64.deb with dpkg-deb.
#
#   build-deb.sh AGENT AGGREGATOR_DIR OUT_DIR [VERSION]
#
# AGENT: the NativeAOT agent (make aot), installed as /usr/bin/drover-agent; the CUDA launch probe it preloads into
#   instances with gpuProbe (make native: $CUDA_PROBE, by default ../native/libdrover-cuda-probe.so beside AGENT's
#   folder) goes with it as /usr/lib/drover/libdrover-cuda-probe.so, its gpuProbeLibraryPath default.
# AGGREGATOR_DIR: the self-contained aggregator (dotnet publish --self-contained), installed under
#   /usr/lib/drover-aggregator with /usr/bin/drover-aggregator linking to it.
# VERSION: the packages' version; the repository's (Directory.Build.props) when not given.
# DEB_COMPRESSION: dpkg-deb's -Z (xz when not set).
# DEB_MAINTAINER: the packages' Maintainer (Drover <drover@localhost> when not set: set a real address
#   before publishing them, lintian says bogus-mail-host until then).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agent=$1
aggregator=$2
out=$3
version=${4:-$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props")}
compression=${DEB_COMPRESSION:-xz}
maintainer=${DEB_MAINTAINER:-Drover <drover@localhost>}

[ -x "$agent" ] || { echo "build-deb.sh: '$agent' is not an executable (make aot builds it)" >&2; exit 66; }
[ -x "$aggregator/drover-aggregator" ] || { echo "build-deb.sh: '$aggregator/drover-aggregator' is missing" >&2; exit 66; }
command -v dpkg-deb > /dev/null || { echo "build-deb.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 69; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# stage PACKAGE NAME STATE: the files every package has (unit, conffile, scripts, documents).
stage() {
    package=$1 name=$2 state=$3
    root="$work/$package"
    install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/etc/drover" \
        "$root/usr/share/doc/$package"
    install -m 0644 "$repo/packaging/systemd/$package.service" "$root/usr/lib/systemd/system/"
    install -m 0644 "$repo/packaging/config/$name.json" "$root/etc/drover/$name.json"
    echo "/etc/drover/$name.json" > "$root/DEBIAN/conffiles"
    for script in postinst prerm postrm; do
        sed -e "s|@PACKAGE@|$package|g" -e "s|@CONFIG@|$name.json|g" -e "s|@STATE@|$state|g" -e "s|@LOG@|$name|g" \
            "$here/$script.in" > "$root/DEBIAN/$script"
        chmod 0755 "$root/DEBIAN/$script"
    done
    install -m 0644 "$here/copyright" "$root/usr/share/doc/$package/copyright"
    install -d -m 0755 "$root/usr/share/man/man8"
    gzip -9n < "$here/$package.8" > "$root/usr/share/man/man8/$package.8.gz"
    gzip -9n < "$repo/README.md" > "$root/usr/share/doc/$package/README.md.gz"
    printf '%s (%s) unstable; urgency=medium\n\n  * Release %s (git log holds the changes).\n\n -- %s  %s\n' \
        "$package" "$version" "$version" "$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2> /dev/null || date +%s)}")" \
        | gzip -9n > "$root/usr/share/doc/$package/changelog.gz"
}

# control PACKAGE DEPENDS SUMMARY DESCRIPTION
control() {
    root="$work/$1"
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    cat > "$root/DEBIAN/control" << CONTROL
Package: $1
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $size
Depends: $2
Section: admin
Priority: optional
Homepage: https://github.com/drover/drover
Description: $3
$4
CONTROL
    dpkg-deb --root-owner-group -Z"$compression" --build "$root" "$out/${1}_${version}_amd64.deb" > /dev/null
    echo "$out/${1}_${version}_amd64.deb"
}

stage drover-agent agent /var/lib/drover/agent
install -m 0755 "$agent" "$work/drover-agent/usr/bin/drover-agent"
probe=${CUDA_PROBE:-$(dirname "$agent")/../native/libdrover-cuda-probe.so}
[ -f "$probe" ] || { echo "build-deb.sh: the CUDA launch probe '$probe' is missing (make native builds it)" >&2; exit 66; }
install -d -m 0755 "$work/drover-agent/usr/lib/drover"
# A private library (preloaded by path, never linked against): no soname link, no shlibs; 0644 as policy has it.
install -m 0644 "$probe" "$work/drover-agent/usr/lib/drover/libdrover-cuda-probe.so"
strip --strip-unneeded "$work/drover-agent/usr/lib/drover/libdrover-cuda-probe.so"
control drover-agent "libc6 (>= 2.31), libssl3 | libssl1.1, util-linux (>= 2.33), passwd, init-system-helpers (>= 1.54~)" \
    "Drover node agent: GPU telemetry, survival heartbeats and instances" \
" The agent of a Drover GPU serverless fleet, run by systemd on every GPU
 host. It reads each GPU's memory, utilization, health and command-queue
 length through NVML, heartbeats its survival state to the aggregator over
 mutual TLS, and runs the instances the aggregator places on the host (as
 unprivileged users from an allowlist), keeping their local state across
 restarts. One NativeAOT executable; NVML comes with the NVIDIA driver."

stage drover-aggregator aggregator /var/lib/drover/aggregator
install -d -m 0755 "$work/drover-aggregator/usr/lib/drover-aggregator"
cp -R "$aggregator/." "$work/drover-aggregator/usr/lib/drover-aggregator/"
# The API documentation files the build writes next to each assembly: for developers, not the service.
find "$work/drover-aggregator/usr/lib/drover-aggregator" -maxdepth 1 -name '*.xml' -delete
# SQLite's library comes from NuGet with its symbols; the .NET runtime's own are stripped already.
strip --strip-unneeded "$work/drover-aggregator/usr/lib/drover-aggregator/libe_sqlite3.so"
find "$work/drover-aggregator/usr/lib/drover-aggregator" -type d -exec chmod 0755 {} +
find "$work/drover-aggregator/usr/lib/drover-aggregator" -type f -exec chmod 0644 {} +
# The program, and the runtime's crash-dump writer (DOTNET_DbgEnableMiniDump) that it executes.
chmod 0755 "$work/drover-aggregator/usr/lib/drover-aggregator/drover-aggregator" "$work/drover-aggregator/usr/lib/drover-aggregator/createdump"
ln -s ../lib/drover-aggregator/drover-aggregator "$work/drover-aggregator/usr/bin/drover-aggregator"
control drover-aggregator "libc6 (>= 2.31), libgcc-s1, libstdc++6, libssl3 | libssl1.1, passwd, init-system-helpers (>= 1.54~)" \
    "Drover aggregator: fleet health, placement, autoscaling and gateway" \
" The central brain of a Drover GPU serverless fleet. It takes the agents'
 heartbeats and GPU telemetry over mutual TLS, decides cluster health and
 failover, placement and GPU-aware autoscaling, keeps instances' committed
 state, and routes invocations through its gateway. Self-contained: no .NET
 runtime is needed on the host."
