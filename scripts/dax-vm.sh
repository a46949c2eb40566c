#!/usr/bin/env bash
# dax-vm.sh -- run libpmemstore's tests on real Linux DAX in a throw-away
# QEMU guest with two emulated NVDIMMs
#
# Usage (as root, Debian 12):  bash scripts/dax-vm.sh BUILDDIR
#
# Owns the real-DAX test run (docs/dax-testing.md).  It installs what is
# missing (qemu-system-x86 busybox-static ndctl daxctl e2fsprogs cpio kmod),
# downloads Debian's current 6.1 kernel package (linux-image-6.1.0-N-amd64,
# the one linux-image-amd64 depends on) and builds a busybox initramfs,
# both cached; builds BUILDDIR and tests/dax/daxcheck and mediacheck; boots
# a guest whose first NVDIMM becomes /dev/pmem0 (ext4, mounted -o dax) and
# whose second becomes the device-dax node /dev/dax1.0.  Inside the guest,
# without PMEM_IS_PMEM_FORCE, it runs every selected BUILDDIR/tests/test_*
# program with PMEMSTORE_TEST_DIR on the DAX mount, then daxcheck and
# mediacheck (pmemstore_info, bad blocks planted through
# /sys/block/pmem0/badblocks, media errors as EIO) on pool files on the DAX
# mount and on the whole /dev/dax1.0.  The guest reports each
# result and its exit status on the serial console, tagged with a token
# made for this run; this script prints them and exits with that status.
#
# Exit status: 0 every check passed; 1 some test failed; 2 the guest could
# not set up DAX; 3 the guest gave no result (crash, time-out); anything
# else: the host side failed before the guest ran.
#
# Environment:
#   PMEMSTORE_VM_CACHE         cache directory ($HOME/.cache/pmemstore-vm)
#   PMEMSTORE_VM_TESTS         test programs to run, by name (default: every
#                              executable BUILDDIR/tests/test_* but those in
#                              PMEMSTORE_VM_SKIP)
#   PMEMSTORE_VM_SKIP          names left out of the default list (none)
#   PMEMSTORE_VM_TEST_TIMEOUT  seconds for each program in the guest (120)
#   PMEMSTORE_VM_TIMEOUT       seconds for the whole guest (300)
#   PMEMSTORE_VM_ACCEL         auto (default: KVM when a probe boots), kvm, tcg
#   PMEMSTORE_VM_KEEP          1: keep the work directory (initramfs, NVDIMM
#                              images, console log)
set -euo pipefail

t_start=$SECONDS
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 64
fi
mkdir -p "$1"
build=$(cd "$1" && pwd)

cache=${PMEMSTORE_VM_CACHE:-${HOME:-/root}/.cache/pmemstore-vm}
test_timeout=${PMEMSTORE_VM_TEST_TIMEOUT:-120}
vm_timeout=${PMEMSTORE_VM_TIMEOUT:-300}
accel_mode=${PMEMSTORE_VM_ACCEL:-auto}
skip=${PMEMSTORE_VM_SKIP:-}

# the guest's modules, in load order; busybox modprobe ignores soft
# dependencies, so crc32c_generic (ext4's checksum) is named by hand
guest_modules=(crc32c_generic ext4 nfit nd_pmem nd_btt dax_pmem device_dax)
host_pkgs=(qemu-system-x86 busybox-static ndctl daxctl e2fsprogs cpio kmod)

# log -- a progress line with the time since start
log() {
	printf '[dax-vm %3ds] %s\n' $((SECONDS - t_start)) "$*"
}

# die -- a host-side failure
die() {
	echo "dax-vm: $*" >&2
	exit 70
}

# ensure_host_packages -- apt-get install whatever is missing
ensure_host_packages() {
	local missing=() p
	for p in "${host_pkgs[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] ||
		die "missing packages ${missing[*]}; run as root or install them"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -q
	timeout 600 apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# kernel_package -- the linux-image-6.1.0-N-amd64 linux-image-amd64 wants
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# fetch_kernel -- download and unpack the guest kernel into the cache;
# sets kver and kroot
fetch_kernel() {
	local pkg
	pkg=$(kernel_package)
	if [ -z "$pkg" ]; then
		log "apt-cache does not know linux-image-amd64; apt-get update"
		timeout 300 apt-get update -q
		pkg=$(kernel_package)
	fi
	[ -n "$pkg" ] || die "cannot find the kernel package linux-image-amd64 depends on"
	kver=${pkg#linux-image-}
	kroot=$cache/kernel-$kver
	if [ -f "$kroot/.complete" ]; then
		log "kernel $kver (cached)"
		return 0
	fi
	log "downloading $pkg"
	local dl
	dl=$(mktemp -d "$work/dl.XXXXXX")
	if ! (cd "$dl" && timeout 300 apt-get download -q "$pkg"); then
		log "download failed; apt-get update and retry"
		timeout 300 apt-get update -q
		(cd "$dl" && timeout 300 apt-get download -q "$pkg") ||
			die "cannot download $pkg"
	fi
	rm -rf "$kroot"
	dpkg -x "$dl"/*.deb "$kroot"
	rm -rf "$dl"
	[ -f "$kroot/boot/vmlinuz-$kver" ] || die "$pkg has no /boot/vmlinuz-$kver"
	depmod -b "$kroot" "$kver"
	touch "$kroot/.complete"
	# drop the kernels of earlier runs
	find "$cache" -maxdepth 1 -name 'kernel-*' ! -name "kernel-$kver" \
		-exec rm -rf {} +
}

# copy_file -- copy a host file (symlinks resolved) to the same path in $1
copy_file() {
	local stage=$1 f=$2
	[ -e "$stage$f" ] && return 0
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$f" "$stage$f"
}

# copy_with_libs -- copy an executable and the shared libraries ldd lists
copy_with_libs() {
	local stage=$1 exe=$2 lib
	copy_file "$stage" "$exe"
	# ldd exits 1 on a static binary
	for lib in $(ldd "$exe" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }' || true); do
		copy_file "$stage" "$lib"
	done
}

# build_base_initramfs -- busybox, ndctl, daxctl, mke2fs and the modules;
# cached per kernel and per version of this script
build_base_initramfs() {
	local sum
	sum=$(cat "${BASH_SOURCE[0]}" /bin/busybox "$(command -v ndctl)" \
		"$(command -v daxctl)" "$(command -v mke2fs)" | sha256sum | cut -c1-16)
	base=$kroot/base-$sum.cpio
	if [ -f "$base" ]; then
		log "base initramfs (cached)"
		return 0
	fi
	log "building the base initramfs"
	local stage
	stage=$(mktemp -d "$work/base.XXXXXX")
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,mnt/pmem,tmp,root,run,lib64}
	chmod 1777 "$stage/tmp"
	cp /bin/busybox "$stage/bin/busybox"
	local applet
	for applet in $(/bin/busybox --list-full); do
		[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
	done
	local tool
	for tool in ndctl daxctl mke2fs; do
		tool=$(command -v "$tool")
		copy_with_libs "$stage" "$tool"
	done
	ln -sf "$(command -v mke2fs)" "$stage/sbin/mkfs.ext4"
	copy_file "$stage" /etc/mke2fs.conf

	local m line path
	for m in "${guest_modules[@]}"; do
		while read -r line; do
			case $line in
			insmod\ *)
				path=${line#insmod }
				path=${path%% *}
				path=${path#"$kroot"}
				mkdir -p "$stage$(dirname "$path")"
				cp "$kroot$path" "$stage$path"
				;;
			esac
		done < <(modprobe -C /dev/null -d "$kroot" -S "$kver" \
			--show-depends "$m")
	done
	cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
		"$stage/lib/modules/$kver/"
	depmod -b "$stage" "$kver"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) \
		>"$base.tmp"
	mv "$base.tmp" "$base"
	rm -rf "$stage"
	find "$kroot" -maxdepth 1 -name 'base-*.cpio' ! -name "${base##*/}" -delete
}

# build_daxprog -- tests/dax/NAME (daxcheck, mediacheck), from the build
# tree if CMake built it (tests/dax added to tests/CMakeLists.txt), else
# compiled here; its path in daxprog
build_daxprog() {
	local name=$1
	daxprog=$build/tests/dax/$name
	if [ -x "$daxprog" ] && [ "$daxprog" -nt "$top/tests/dax/$name.c" ]; then
		return 0
	fi
	daxprog=$build/dax-vm/$name
	mkdir -p "$build/dax-vm"
	# shellcheck disable=SC2046 # word splitting of pkg-config output is wanted
	cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$top/include" \
		-o "$daxprog" "$top/tests/dax/$name.c" \
		$(pkg-config --cflags --libs uuid) \
		-L"$build/lib" -lpmemstore -Wl,-rpath,"$build/lib"
}

# kvm_works -- can this host boot the guest kernel under KVM?  A boot
# without an initramfs must reach the "unable to mount root" panic.
kvm_works() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	grep -qw -E 'vmx|svm' /proc/cpuinfo || return 1
	local out=$work/kvm-probe.log
	timeout -k 5 30 qemu-system-x86_64 -accel kvm -cpu host -machine pc \
		-m 256M -nodefaults -display none -no-reboot -serial stdio \
		-kernel "$work/vmlinuz" \
		-append 'console=ttyS0 panic=-1' </dev/null >"$out" 2>&1 || true
	grep -q 'Unable to mount root' "$out"
}

# write_init -- the guest's /init (busybox sh); its parameters are in
# /etc/pmemstore-vm/params, the token in /etc/pmemstore-vm/token
write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# /init of the dax-vm.sh guest: set up fsdax and device-dax, run the
# tests, report each result and the exit status with the run's token
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
unset PMEM_IS_PMEM_FORCE
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /etc/pmemstore-vm/params
tok=$(cat /etc/pmemstore-vm/token)
rm -f /etc/pmemstore-vm/token
nfail=0

say() {
	echo "@@PMSVM $tok $*"
}
finish() {
	say "exit $1"
	sync
	poweroff -f
	sleep 10
}
setup_failed() {
	echo "dax-vm guest: setup failed: $*"
	dmesg | tail -n 40
	finish 2
}
step() {
	echo "+ $*"
	"$@" || setup_failed "$*"
}
uptime_s() {
	cut -d' ' -f1 /proc/uptime
}
# run TARGET NAME CMD... -- one test program under a time limit
run() {
	target=$1 name=$2
	shift 2
	echo
	echo "======== $name on $target"
	t0=$(uptime_s)
	timeout "$TEST_TIMEOUT" "$@"
	rc=$?
	dt=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 0 ]; then
		res=PASS
	else
		res=FAIL
		nfail=$((nfail + 1))
		[ "$rc" -eq 143 ] && res="FAIL(timeout ${TEST_TIMEOUT}s)"
	fi
	say "result $target $name $res rc=$rc time=${dt}s"
}

echo "dax-vm guest: kernel $(uname -r), $(nproc) cpus"
step modprobe -a $MODULES
step ndctl disable-region all
step ndctl init-labels -f all
for r in /sys/bus/nd/devices/region*; do
	step sh -c "echo 2097152 > $r/align"
done
step ndctl enable-region all
step ndctl create-namespace -f -r region0 -m fsdax
step ndctl create-namespace -f -r region1 -m devdax
[ -b /dev/pmem0 ] || setup_failed "no /dev/pmem0"
[ -c /dev/dax1.0 ] || setup_failed "no /dev/dax1.0"
step mkfs.ext4 -q -F -b 4096 /dev/pmem0
step mount -o dax /dev/pmem0 /mnt/pmem
opts=$(awk '$2 == "/mnt/pmem" { print $4 }' /proc/mounts)
say "info fsdax /dev/pmem0 on /mnt/pmem: $opts; queue/dax=$(cat /sys/block/pmem0/queue/dax)"
case ",$opts," in
*,dax=always,*) ;;
*) setup_failed "/mnt/pmem is not mounted dax=always: $opts" ;;
esac
set -- $(stat -c '%t %T' /dev/dax1.0)
say "info devdax /dev/dax1.0 ($((0x$1)):$((0x$2))): $(cat /sys/dev/char/$((0x$1)):$((0x$2))/size) bytes, align $(cat /sys/bus/dax/devices/dax1.0/align)"

step mkdir -p /mnt/pmem/tests
cd /mnt/pmem/tests || setup_failed "cd /mnt/pmem/tests"
for t in $TESTS; do
	run fsdax "$t" env PMEMSTORE_TEST_DIR=/mnt/pmem/tests \
		PMEMSTORE_TEST_MODE=pmem "$TESTBIN/$t"
	rm -rf /mnt/pmem/tests/*
done
cd / || setup_failed "cd /"
run fsdax daxcheck "$DAXCHECK" /mnt/pmem/x.pool
run devdax daxcheck "$DAXCHECK" /dev/dax1.0
# mediacheck plants bad blocks under /mnt/pmem and clears them at the end
# by re-enabling namespace0.0 (umount, mount again): keep it last on fsdax
run fsdax mediacheck "$MEDIACHECK" fsdax /mnt/pmem/media.pool
run devdax mediacheck "$MEDIACHECK" devdax /dev/dax1.0

if [ "$nfail" -ne 0 ]; then
	echo
	echo "======== kernel log since /init started (last 40 lines)"
	dmesg | sed -n '/Run \/init/,$p' | tail -n 40
fi
umount /mnt/pmem || echo "dax-vm guest: umount /mnt/pmem failed"
if [ "$nfail" -eq 0 ]; then
	finish 0
fi
finish 1
EOF
	chmod 755 "$1"
}

# build_payload -- /init, parameters, token, the programs and their libraries
build_payload() {
	local stage
	stage=$(mktemp -d "$work/payload.XXXXXX")
	mkdir -p "$stage/etc/pmemstore-vm"
	write_init "$stage/init"
	printf '%s\n' "$token" >"$stage/etc/pmemstore-vm/token"
	{
		printf 'MODULES=%q\n' "${guest_modules[*]}"
		printf 'TESTS=%q\n' "${tests[*]}"
		printf 'TESTBIN=%q\n' "$build/tests"
		printf 'DAXCHECK=%q\n' "$daxcheck"
		printf 'MEDIACHECK=%q\n' "$mediacheck"
		printf 'TEST_TIMEOUT=%q\n' "$test_timeout"
	} >"$stage/etc/pmemstore-vm/params"
	local t
	for t in "${tests[@]}"; do
		copy_with_libs "$stage" "$build/tests/$t"
	done
	copy_with_libs "$stage" "$daxcheck"
	copy_with_libs "$stage" "$mediacheck"
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) \
		>"$work/payload.cpio"
	rm -rf "$stage"
}

# --- host side ---------------------------------------------------------------

command -v dpkg-query >/dev/null 2>&1 || die "not a Debian system"
ensure_host_packages
for tool in qemu-system-x86_64 ndctl daxctl mke2fs cpio depmod modprobe; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
[ -x /bin/busybox ] || die "/bin/busybox not found"

mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/pmemstore-vm.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ "${PMEMSTORE_VM_KEEP:-0}" = 1 ]; then
		echo "dax-vm: work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# the cache is shared by concurrent runs: fill it and take copies under a lock
exec 9>"$cache/.lock"
flock -w 900 9 || die "cannot lock $cache/.lock"
fetch_kernel
build_base_initramfs
cp "$kroot/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$base" "$work/base.cpio"
flock -u 9

log "building $build"
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$top" -B "$build" >/dev/null
fi
cmake --build "$build" -j "$(nproc)" >/dev/null
[ -e "$build/lib/libpmemstore.so" ] || die "$build/lib/libpmemstore.so was not built"
build_daxprog daxcheck
daxcheck=$daxprog
build_daxprog mediacheck
mediacheck=$daxprog

tests=()
if [ -n "${PMEMSTORE_VM_TESTS:-}" ]; then
	read -r -a tests <<<"$PMEMSTORE_VM_TESTS"
	for t in "${tests[@]}"; do
		[ -x "$build/tests/$t" ] || die "$build/tests/$t does not exist"
	done
else
	for f in "$build"/tests/test_*; do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			continue
		fi
		t=${f##*/}
		case " $skip " in
		*" $t "*) continue ;;
		esac
		tests+=("$t")
	done
fi
log "test programs: ${tests[*]:-(none)} + daxcheck, mediacheck"

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
build_payload
cat "$work/base.cpio" "$work/payload.cpio" >"$work/initrd.cpio"
rm -f "$work/base.cpio" "$work/payload.cpio"

# shellcheck disable=SC2054 # the commas belong to QEMU's option
accel=(-accel tcg,thread=multi -cpu max)
case $accel_mode in
kvm) accel=(-accel kvm -cpu host) ;;
tcg) ;;
auto)
	if kvm_works; then
		accel=(-accel kvm -cpu host)
	fi
	;;
*) die "PMEMSTORE_VM_ACCEL must be auto, kvm or tcg" ;;
esac
log "accelerator: ${accel[*]}"

cpus=$(nproc)
[ "$cpus" -gt 4 ] && cpus=4
nvdimm=()
for i in 0 1; do
	truncate -s 1G "$work/nvdimm$i.img"
	nvdimm+=(-object "memory-backend-file,id=mem$i,share=on,mem-path=$work/nvdimm$i.img,size=1G,align=2M"
		-device "nvdimm,id=nv$i,memdev=mem$i,label-size=128K")
done

log "booting the guest (time limit ${vm_timeout}s)"
console=$work/console.log
set +e
timeout -k 10 "$vm_timeout" qemu-system-x86_64 "${accel[@]}" \
	-machine pc,nvdimm=on -smp "$cpus" -m 2G,slots=2,maxmem=5G \
	"${nvdimm[@]}" \
	-nodefaults -display none -no-reboot -serial stdio \
	-kernel "$work/vmlinuz" -initrd "$work/initrd.cpio" \
	-append 'console=ttyS0 rdinit=/init panic=-1 oops=panic quiet' \
	</dev/null 2>&1 | tr -d '\r' | tee "$console"
qemu_rc=${PIPESTATUS[0]}
set -e
cp "$console" "$build/dax-vm-console.log"

echo
log "guest finished (qemu exit status $qemu_rc; console log: $build/dax-vm-console.log)"
results=$(grep -a "^@@PMSVM $token " "$console" | cut -d' ' -f3- || true)
status=3
printf '%s\n' "$results" | grep '^info ' | cut -d' ' -f2- || true
echo "results:"
printf '%s\n' "$results" | awk '$1 == "result" {
	printf "  %-7s %-16s %-6s %s %s\n", $2, $3, $4, $5, $6 }'
last=$(printf '%s\n' "$results" | awk '$1 == "exit" { s = $2 } END { print s }')
if [ -n "$last" ]; then
	status=$last
elif [ "$qemu_rc" -eq 124 ]; then
	echo "dax-vm: the guest did not finish within ${vm_timeout}s"
else
	echo "dax-vm: the guest gave no result"
fi
case $status in
0) verdict="all passed" ;;
1) verdict="some tests FAILED" ;;
2) verdict="the guest could not set up DAX" ;;
*) verdict="no result from the guest" ;;
esac
log "exit status $status: $verdict"
exit "$status"
