#!/usr/bin/env bash
# plants.sh -- run the crash simulator against every planted bug and print
# which invariant caught each one (the table of docs/crash-testing.md).
#
# Usage: bash scripts/plants.sh [build-dir]   (after building with the
# tests and PMEMSTORE_PLANTS=ON, the default).  Exits nonzero unless every
# planted bug is caught.  A plant lib/plant.h marks retired (torn_commit)
# is not built, so not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
dir=${PMEMSTORE_TEST_DIR:-/dev/shm/pmemstore-tests}/plants
mkdir -p "$dir"
# the plants in the index's growth: the growth workload only
grow=" $(sed -n 's/^set(PMS_PLANTS_GROW \(.*\))$/\1/p' \
	tests/plants/CMakeLists.txt) "
planted=0 caught=0 bad=0
printf '%-18s %-8s %s\n' plant result "what the simulator reported"
for sim in "$build"/tests/plants/crashsim_plant_*; do
	name=${sim##*/crashsim_plant_}
	planted=$((planted + 1))
	only=()
	case $grow in *" $name "*) only=(-w grow) ;; esac
	if out=$("$sim" --quick --expect-violation "${only[@]}" \
		--dir "$dir/$name" 2>&1); then
		res="caught"
		caught=$((caught + 1))
	else
		res="MISSED"
		bad=$((bad + 1))
	fi
	why=$(printf '%s\n' "$out" |
		sed -n 's/^expected violation found: //p' | head -n 1)
	printf '%-18s %-8s %s\n' "$name" "$res" "${why:0:100}"
done
echo "planted: $planted; caught: $caught of $planted"
[ "$bad" -eq 0 ]
