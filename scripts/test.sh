#!/usr/bin/env bash
# test.sh -- install what is missing, build, and run the test suite
#
# Usage: bash scripts/test.sh   (from anywhere; builds in ./build of the repo,
# or in $PMEMSTORE_BUILD_DIR).  This is the command README.md gives and
# .ci/run calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

build=${PMEMSTORE_BUILD_DIR:-build}
ensure_packages "${PMEMSTORE_PKGS[@]}"
configure_and_build "$build"
ctest --test-dir "$build" --output-on-failure --no-tests=error \
	--parallel "$(nproc)"
