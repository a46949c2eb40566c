#!/usr/bin/env bash
# bench.sh -- build if needed and run the allocator benchmark suite
#
# Usage:
#   bash scripts/bench.sh [quick|full] [-d DIR] [-o FILE] [-b BINDIR]
#                         [--count] [THREADS...] [-- ALLOCBENCH-OPTIONS]
#   bash scripts/bench.sh pack DIR
#
#   quick     the smoke test: 1 2 threads, well under 2 minutes on 2 cores
#             (what CI runs); full: 1 2 4 8 16 threads, a few minutes on 16
#   -d DIR    pool directory (default /dev/shm); on a tmpfs the script sets
#             PMEM_IS_PMEM_FORCE=1 unless it is set
#   -o FILE   the CSV (default bench/results/MODE-DATE.csv; a .log beside it)
#   -b DIR    run the binaries of a `pack` directory (no build; its
#             libraries through LD_LIBRARY_PATH)
#   --count   preload bench/libpmemcount.so: fences and lines of every peer,
#             not only pmemstore (its own stats) and floor (its own count).
#             Off by default: the wrappers and their shared counters slow the
#             pmem peers down (pmemstore 1.6 -> 0.9 Mops/s at 1 thread here),
#             so use such a run for the counts, not for the times
#   pack DIR  copy allocbench, libpmemcount.so and every
#             library they need but glibc's into DIR, with DIR/run.sh, for a
#             machine without the build or the libraries
#
# Builds in ./build (or $PMEMSTORE_BUILD_DIR) with ${BENCH_JOBS:-2} jobs.
# Exits nonzero when a cell of the bench failed (error, count mismatch,
# crash, timeout).  See bench/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$PWD

build=${PMEMSTORE_BUILD_DIR:-build}
jobs=${BENCH_JOBS:-2}

# build_bench -- configure (once) and build the bench targets
build_bench() {
	if [ ! -f "$build/CMakeCache.txt" ]; then
		. scripts/setup.sh
		ensure_packages "${PMEMSTORE_PKGS[@]}"
		cmake -S . -B "$build" >&2
	fi
	cmake --build "$build" -j "$jobs" --target allocbench pmemcount >&2
	if [ ! -x "$build/bench/allocbench" ]; then
		echo "bench.sh: $build/bench/allocbench was not built" \
			"(libpmemobj missing? -DPMEMSTORE_BENCH=OFF?)" >&2
		exit 1
	fi
}

# pack -- the binaries and their non-glibc libraries into one directory
pack() {
	local dir=$1 f l
	build_bench
	mkdir -p "$dir"
	for f in allocbench libpmemcount.so; do
		[ -e "$build/bench/$f" ] && cp -f "$build/bench/$f" "$dir/"
	done
	for f in "$dir"/allocbench "$dir"/libpmemcount.so; do
		[ -e "$f" ] || continue
		ldd "$f" | awk '/=> \//{print $3}'
	done | sort -u | while read -r l; do
		case ${l##*/} in
		libc.so* | ld-linux* | libm.so* | libpthread.so* | libdl.so* | \
			librt.so* | libresolv.so* | libutil.so*) ;;
		*) cp -fL "$l" "$dir/" ;;
		esac
	done
	cat >"$dir/run.sh" <<'EOF'
#!/bin/sh
# run.sh -- allocbench from this directory: ./run.sh [ALLOCBENCH-OPTIONS] [THREADS...]
# e.g. ./run.sh -m full 1 2 4 8 16 > full.csv
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PMEM_IS_PMEM_FORCE="${PMEM_IS_PMEM_FORCE:-1}"
exec "$here/allocbench" "$@"
EOF
	chmod +x "$dir/run.sh"
	echo "packed into $dir:"
	ls -1 "$dir"
}

mode=quick
dir=/dev/shm
out=
bindir=
count=0
threads=()
extra=()
case ${1:-} in
quick | full)
	mode=$1
	shift
	;;
pack)
	[ $# -eq 2 ] || {
		echo "usage: bash scripts/bench.sh pack DIR" >&2
		exit 2
	}
	pack "$2"
	exit 0
	;;
esac
while [ $# -gt 0 ]; do
	case $1 in
	-d) dir=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-b) bindir=$2; shift 2 ;;
	--count) count=1; shift ;;
	--) shift; extra=("$@"); break ;;
	[0-9]*) threads+=("$1"); shift ;;
	*)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
		exit 2
		;;
	esac
done
if [ ${#threads[@]} -eq 0 ]; then
	if [ "$mode" = quick ]; then threads=(1 2); else threads=(1 2 4 8 16); fi
fi

if [ -n "$bindir" ]; then
	bindir=$(cd "$bindir" && pwd)
	export LD_LIBRARY_PATH="$bindir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
	build_bench
	bindir=$top/$build/bench
fi

mkdir -p "$dir"
if [ -z "${PMEM_IS_PMEM_FORCE:-}" ] &&
	[ "$(stat -f -c %T "$dir" 2>/dev/null)" = tmpfs ]; then
	export PMEM_IS_PMEM_FORCE=1 # the pmem path (clwb + sfence) on DRAM
fi
preload=()
if [ "$count" = 1 ]; then
	if [ -e "$bindir/libpmemcount.so" ]; then
		preload=(env "LD_PRELOAD=$bindir/libpmemcount.so${LD_PRELOAD:+:$LD_PRELOAD}")
	else
		echo "bench.sh: no $bindir/libpmemcount.so: counting only" \
			"pmemstore and floor" >&2
	fi
fi

if [ -z "$out" ]; then
	mkdir -p bench/results
	out=bench/results/$mode-$(date +%Y%m%d-%H%M%S).csv
fi
log=${out%.csv}.log
echo "bench.sh: $mode, threads ${threads[*]}, pools in $dir," \
	"PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-unset}," \
	"interposer $([ ${#preload[@]} -gt 0 ] && echo on || echo off)" >&2

rc=0
{ "${preload[@]}" "$bindir/allocbench" -m "$mode" -d "$dir" \
	"${extra[@]}" "${threads[@]}" \
	2>&1 1>&3 3>&- | tee "$log" >&2; } 3>"$out" || rc=$?

# the ratios: pmemstore against the fair peer (pmemobj-pool) and the floor
echo
echo "ops/s, Mops/s (median of the runs); ratio = pmemstore / pmemobj-pool;"
echo "of floor = pmemstore / floor (the flush+fence bound).  CSV: $out"
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
	k = $col["workload"] SUBSEP $col["size"] SUBSEP $col["threads"]
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	v[k, $col["peer"]] = $col["ops_per_s"]
}
function m(x) { return x == "" ? "-" : sprintf("%.3f", x / 1e6) }
function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
END {
	printf "%-12s %-8s %3s %10s %12s %6s %12s %10s %8s %8s %8s\n",
		"workload", "size", "thr", "pmemstore", "pmemobj-pool", "ratio",
		"pmemobj-dram", "floor", "of floor", "glibc", "jemalloc"
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, p, SUBSEP)
		ps = v[k, "pmemstore"]; po = v[k, "pmemobj-pool"]
		printf "%-12s %-8s %3s %10s %12s %6s %12s %10s %8s %8s %8s\n",
			p[1], p[2], p[3], m(ps), m(po), r(ps, po),
			m(v[k, "pmemobj-dram"]), m(v[k, "floor"]),
			r(ps, v[k, "floor"]), m(v[k, "glibc"]), m(v[k, "jemalloc"])
	}
}' "$out"
if [ "$rc" -ne 0 ]; then
	echo "bench.sh: allocbench failed (status $rc): see FAILED lines in $log" >&2
fi
exit "$rc"
