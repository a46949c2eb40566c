#!/usr/bin/env bash
# plants.sh -- run the crash simulator against every planted bug and print
# which invariant caught each one (the table of docs/crash-testing.md).
#
# Usage: bash scripts/plants.sh [build-dir]   (after building with the
# tests and PMEMSTORE_PLANTS=ON, the default).  Exits nonzero unless every
# planted bug is caught -- except torn_commit, which must run clean: every
# commit word of this format changes one bit, so writing it as two 4-byte
# halves cannot tear it (see lib/plant.h).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
dir=${PMEMSTORE_TEST_DIR:-/dev/shm/pmemstore-tests}/plants
mkdir -p "$dir"
planted=0 caught=0 bad=0
printf '%-18s %-8s %s\n' plant result "what the simulator reported"
for sim in "$build"/tests/plants/crashsim_plant_*; do
	name=${sim##*/crashsim_plant_}
	planted=$((planted + 1))
	if [ "$name" = torn_commit ]; then
		if out=$("$sim" --quick --dir "$dir/$name" 2>&1); then
			res="clean"
		else
			res="FLAGGED"
			bad=$((bad + 1))
		fi
		why=$(printf '%s\n' "$out" | grep -m1 '^crash points' || true)
	else
		if out=$("$sim" --quick --expect-violation --dir "$dir/$name" 2>&1); then
			res="caught"
			caught=$((caught + 1))
		else
			res="MISSED"
			bad=$((bad + 1))
		fi
		why=$(printf '%s\n' "$out" |
			sed -n 's/^expected violation found: //p' | head -n 1)
	fi
	printf '%-18s %-8s %s\n' "$name" "$res" "${why:0:100}"
done
echo "planted: $planted; real bugs caught: $caught of $((planted - 1));" \
	"torn_commit (benign here) must run clean"
[ "$bad" -eq 0 ]
