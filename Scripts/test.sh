#!/usr/bin/env bash
# Stowage's whole test suite, on a fresh Debian machine, as root: installs what the tests
# need, builds, and runs every test (real mounts, real dockerd on temporary roots).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/Scripts/install-dependencies.sh"
cd "$repo"
swift build --build-tests
swift test --skip-build "$@"
