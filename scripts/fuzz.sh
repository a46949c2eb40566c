#!/usr/bin/env bash
# scripts/fuzz.sh -- build and run the pool-file fuzzers (docs/fuzzing.md)
#
#   scripts/fuzz.sh deps      install clang 14, its runtimes and afl++ (root)
#   scripts/fuzz.sh build     build-fuzz/ (libFuzzer: fuzz_pool, fuzz_tool),
#                             build-fuzz-afl/ (AFL++: fuzz_pool_afl) and
#                             build-fuzz-aflfast/ (AFL++, no sanitizers)
#   scripts/fuzz.sh replay    every corpus input through fuzz_pool in both
#                             checksum modes and through fuzz_pool_afl
#   scripts/fuzz.sh run [-t SECONDS] [-j JOBS] [-e libfuzzer|afl|both]
#                       [-m plain|fix|both] [-J "ENGINE:MODE ..."] [-o DIR]
#                             a campaign (default 60 s, 1 job, libFuzzer,
#                             plain; -J lists the jobs, ENGINE one of
#                             libfuzzer, afl, aflfast); prints executions,
#                             exec/s and findings, exits 1 on any finding
#   scripts/fuzz.sh seeds     regenerate the generated seeds in the corpus
#   scripts/fuzz.sh import DIR...
#                             raw pool images (e.g. crash-simulator dumps)
#                             -> corpus inputs named import-*
#   scripts/fuzz.sh add FILE NAME
#                             a finding -> tests/fuzz/corpus/regress-NAME
#   scripts/fuzz.sh merge DIR...
#                             inputs of a campaign (queues, corpora) of at
#                             most 4 KiB that add coverage -> cov-* files
#
# Environment: PMS_FUZZ_DIR (default /dev/shm/pms-fuzz) holds campaigns
# and scratch pools; BUILD_FUZZ, BUILD_FUZZ_AFL the build directories.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
corpus=$top/tests/fuzz/corpus
work=${PMS_FUZZ_DIR:-/dev/shm/pms-fuzz}
bld=${BUILD_FUZZ:-$top/build-fuzz}
bld_afl=${BUILD_FUZZ_AFL:-$top/build-fuzz-afl}
fuzz_pool=$bld/tests/fuzz/fuzz_pool
fuzz_tool=$bld/tests/fuzz/fuzz_tool
fuzz_afl=$bld_afl/tests/fuzz/fuzz_pool_afl
bld_aflfast=${BUILD_FUZZ_AFLFAST:-$top/build-fuzz-aflfast}
fuzz_aflfast=$bld_aflfast/tests/fuzz/fuzz_pool_afl
jobs=$(nproc)

export PMEMSTORE_TEST_DIR=$work
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

die() {
	echo "fuzz.sh: $*" >&2
	exit 1
}

cmd_deps() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends clang-14 \
		libclang-rt-14-dev afl++ cmake pkg-config libpmem-dev \
		uuid-dev libxxhash-dev
}

cmd_build() {
	command -v clang >/dev/null || die "no clang (scripts/fuzz.sh deps)"
	CC=clang cmake -S "$top" -B "$bld" -DPMEMSTORE_FUZZ=ON \
		-DPMEMSTORE_TESTS=OFF -DPMEMSTORE_BENCH=OFF \
		-DPMEMSTORE_FUZZ_DIR="$work" >/dev/null
	cmake --build "$bld" -j "$jobs" --target fuzz_pool fuzz_tool
	command -v afl-clang-fast >/dev/null || die "no afl-clang-fast (deps)"
	CC=afl-clang-fast cmake -S "$top" -B "$bld_afl" -DPMEMSTORE_FUZZ=ON \
		-DPMEMSTORE_TESTS=OFF -DPMEMSTORE_BENCH=OFF >/dev/null
	AFL_QUIET=1 cmake --build "$bld_afl" -j "$jobs" --target fuzz_pool_afl
	# without sanitizers: 2.5 times the executions, for long campaigns
	# (their findings are replayed through the sanitized builds)
	CC=afl-clang-fast cmake -S "$top" -B "$bld_aflfast" \
		-DPMEMSTORE_FUZZ=ON -DPMEMSTORE_FUZZ_SANITIZE= \
		-DPMEMSTORE_TESTS=OFF -DPMEMSTORE_BENCH=OFF >/dev/null
	AFL_QUIET=1 cmake --build "$bld_aflfast" -j "$jobs" \
		--target fuzz_pool_afl
	ls -l "$fuzz_pool" "$fuzz_tool" "$fuzz_afl" "$fuzz_aflfast"
}

need() {
	for b in "$@"; do
		[ -x "$b" ] || die "$b is missing: run scripts/fuzz.sh build"
	done
}

cmd_replay() {
	need "$fuzz_pool" "$fuzz_afl"
	local n
	n=$(find "$corpus" -type f | wc -l)
	[ "$n" -gt 0 ] || die "empty corpus $corpus"
	echo "== replay: $n inputs, libFuzzer, checksums as they are"
	PMS_FUZZ_FIX_CHECKSUMS=0 "$fuzz_pool" -runs=0 "$corpus"
	echo "== replay: $n inputs, libFuzzer, checksums fixed"
	PMS_FUZZ_FIX_CHECKSUMS=1 "$fuzz_pool" -runs=0 "$corpus"
	echo "== replay: $n inputs, AFL++ binary, each mode"
	mapfile -t files < <(find "$corpus" -type f | sort)
	PMS_FUZZ_FIX_CHECKSUMS=0 "$fuzz_afl" "${files[@]}"
	PMS_FUZZ_FIX_CHECKSUMS=1 "$fuzz_afl" "${files[@]}"
	echo "replay: $n inputs x 4 runs, no finding"
}

# lf_execs -- executions and findings of one libFuzzer instance directory
lf_stats() {
	local d=$1 execs finds
	execs=$(grep -aoE '^#[0-9]+' "$d/log" | tail -n 1 | tr -d '#' || true)
	finds=$(find "$d/artifacts" -type f \( -name 'crash-*' -o \
		-name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
		wc -l)
	echo "${execs:-0} $finds"
}

afl_stats() {
	local f=$1/fuzzer_stats execs crashes hangs
	[ -f "$f" ] || {
		echo "0 0"
		return
	}
	execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$f")
	crashes=$(find "$1/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
	hangs=$(find "$1/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
	echo "${execs:-0} $((crashes + hangs))"
}

cmd_run() {
	local secs=60 njobs=1 engine=libfuzzer mode=plain out="" spec=""
	local OPTIND opt
	while getopts "t:j:e:m:o:J:" opt; do
		case $opt in
		J) spec=$OPTARG ;;
		t) secs=$OPTARG ;;
		j) njobs=$OPTARG ;;
		e) engine=$OPTARG ;;
		m) mode=$OPTARG ;;
		o) out=$OPTARG ;;
		*) die "run: bad option" ;;
		esac
	done
	out=${out:-$work/campaign-$(date -u +%Y%m%d-%H%M%S)}
	mkdir -p "$out"
	local engines modes
	case $engine in both) engines=(afl libfuzzer) ;; *) engines=("$engine") ;; esac
	case $mode in both) modes=(plain fix) ;; *) modes=("$mode") ;; esac
	# the jobs: ENGINE:MODE words
	local list=() i
	if [ -n "$spec" ]; then
		read -r -a list <<<"$spec"
	else
		for ((i = 0; i < njobs; i++)); do
			# engines in turn, modes staggered: 2 jobs of "both" and
			# "both" are afl:plain and libfuzzer:fix, 4 all four
			list+=("${engines[$((i % ${#engines[@]}))]}:${modes[$(((i / ${#engines[@]} + i) % ${#modes[@]}))]}")
		done
	fi
	local pids=() names=() afl_n=0
	for i in "${!list[@]}"; do
		local e=${list[$i]%%:*} m=${list[$i]#*:}
		local fix=0 name=$e-$m-$i bin
		[ "$m" = fix ] && fix=1
		names+=("$name")
		if [ "$e" = libfuzzer ]; then
			need "$fuzz_pool"
			local d=$out/$name
			mkdir -p "$d/corpus" "$d/artifacts"
			# fork mode: a finding is saved and the campaign goes on
			PMS_FUZZ_FIX_CHECKSUMS=$fix PMS_FUZZ_QUIET=1 \
				"$fuzz_pool" -fork=1 -ignore_crashes=1 \
				-ignore_timeouts=1 -ignore_ooms=1 -timeout=20 \
				-rss_limit_mb=4096 -max_total_time="$secs" \
				-artifact_prefix="$d/artifacts/" \
				"$d/corpus" "$corpus" >"$d/log" 2>&1 &
		else
			bin=$fuzz_afl
			[ "$e" = aflfast ] && bin=$fuzz_aflfast
			need "$bin"
			local role=-S
			[ "$afl_n" -eq 0 ] && role=-M
			afl_n=$((afl_n + 1))
			mkdir -p "$out/afl"
			# afl-fuzz wants symbolize=0; leaks show at exit only
			ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=1 \
				PMS_FUZZ_FIX_CHECKSUMS=$fix PMS_FUZZ_QUIET=1 \
				AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 \
				AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
				AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1 \
				afl-fuzz $role "$name" -V "$secs" -t 20000 \
				-i "$corpus" -o "$out/afl" -- "$bin" \
				>"$out/$name.log" 2>&1 &
			names[-1]=afl/$name
		fi
		pids+=($!)
	done
	echo "fuzz.sh: campaign in $out: ${names[*]}, $secs s"
	local t0=$SECONDS
	local failed=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed=1
	done
	local rc=0
	report "$out" $((SECONDS - t0)) || rc=1
	[ $failed -eq 0 ] || echo "fuzz.sh: a fuzzer exited with an error"
	return $((rc | failed))
}

# report -- executions and findings of every instance of a campaign
report() {
	local out=$1 secs=$2 total=0 finds=0 d s
	for d in "$out"/libfuzzer-* "$out"/afl/*/; do
		[ -d "$d" ] || continue
		if [ -f "$d/log" ]; then
			s=$(lf_stats "$d")
		else
			s=$(afl_stats "$d")
		fi
		set -- $s
		printf '  %-28s %12s executions  %s findings\n' \
			"$(basename "$d")" "$1" "$2"
		total=$((total + $1))
		finds=$((finds + $2))
	done
	printf 'fuzz.sh: %d executions in %d s (%d exec/s), %d findings\n' \
		"$total" "$secs" $((total / (secs > 0 ? secs : 1))) "$finds"
	if [ "$finds" -gt 0 ]; then
		echo "findings:"
		find "$out" -type f \( -name 'crash-*' -o -name 'leak-*' -o \
			-name 'timeout-*' -o -name 'oom-*' -o -path '*/crashes/id:*' \
			-o -path '*/hangs/id:*' \) | sed 's/^/  /'
		return 1
	fi
	return 0
}

cmd_seeds() {
	need "$fuzz_tool"
	mkdir -p "$corpus"
	"$fuzz_tool" seeds "$corpus"
}

cmd_import() {
	need "$fuzz_tool"
	local f n=0
	for dir in "$@"; do
		while IFS= read -r -d '' f; do
			"$fuzz_tool" encode "$f" \
				"$corpus/import-$(basename "$dir")-$(basename "$f" .pool)"
			n=$((n + 1))
		done < <(find "$dir" -type f -print0 | sort -z)
	done
	echo "fuzz.sh: imported $n images into $corpus"
}

cmd_add() {
	[ $# -eq 2 ] || die "usage: add FILE NAME"
	cp "$1" "$corpus/regress-$2"
	echo "added $corpus/regress-$2"
}

cmd_merge() {
	need "$fuzz_pool"
	local tmp cand f n=0
	tmp=$(mktemp -d "$work/merge.XXXXXX")
	mkdir -p "$tmp/corpus" "$tmp/cand"
	cp "$corpus"/* "$tmp/corpus/"
	find "$@" -type f -size -4097c -print0 |
		xargs -0 -r -I{} sh -c 'cp "$1" "$2/$(sha1sum <"$1" | cut -c1-40)"' \
			_ {} "$tmp/cand"
	PMS_FUZZ_QUIET=1 "$fuzz_pool" -merge=1 "$tmp/corpus" "$tmp/cand" \
		>"$tmp/log" 2>&1 || {
		tail -n 20 "$tmp/log"
		die "merge failed"
	}
	for f in "$tmp/corpus"/*; do
		[ -e "$corpus/$(basename "$f")" ] && continue
		cp "$f" "$corpus/cov-$(basename "$f" | cut -c1-16)"
		n=$((n + 1))
	done
	rm -rf "$tmp"
	echo "fuzz.sh: $n inputs that add coverage -> $corpus/cov-*"
}

case ${1:-} in
deps | build | replay | run | seeds | import | add | merge)
	c=$1
	shift
	"cmd_$c" "$@"
	;;
*)
	sed -n '2,25p' "$0"
	exit 2
	;;
esac
