#!/usr/bin/env bash
# demo.sh -- install what is missing, build, and run the demo twice
#
# Usage: bash scripts/demo.sh   (from anywhere; builds in ./build of the repo,
# or in $PMEMSTORE_BUILD_DIR).  The pool is <build>/demo.pool, or
# $PMEMSTORE_DEMO_POOL; it is kept, so every run counts on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

build=${PMEMSTORE_BUILD_DIR:-build}
pool=${PMEMSTORE_DEMO_POOL:-$build/demo.pool}
ensure_packages "${PMEMSTORE_PKGS[@]}"
configure_and_build "$build" --target demo

for run in 1 2; do
	echo
	echo "--- demo, run $run: $build/examples/demo $pool"
	"$build/examples/demo" "$pool"
done
