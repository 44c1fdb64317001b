#!/usr/bin/env bash
# Installs the Debian packages Stowage builds and tests with (as root), when any is missing.
# The Swift toolchain itself is expected on PATH.
set -euo pipefail

packages=(
    zlib1g-dev libzstd-dev libssl-dev  # linked through the CZlib, CZstd and CCrypto system-library targets
    zstd gzip tar python3   # compressors and writers the tests and the default image use
    busybox-static          # the default image's root filesystem; busybox tar in tests
    docker.io               # the real engine the compatibility tests compare against
    attr                    # getfattr/setfattr for xattr tests
    skopeo                  # reads the OCI archives `save --format oci` writes
    btrfs-progs xfsprogs    # the btrfs driver; loop-mounted btrfs and xfs in driver tests
    fuse-overlayfs          # the fuse-overlayfs driver
    strace                  # fault injection (Scripts/fault-injection.sh)
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH" >&2; exit 1; }
