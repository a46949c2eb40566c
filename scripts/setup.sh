# setup.sh -- shared by scripts/test.sh and scripts/demo.sh (sourced)
#
# Installs the Debian packages the build and the tests need when some are
# missing: with apt-get when running as root, through sudo when that works
# without a password, otherwise it says what to install and stops.

# what building libpmemstore and running its tests need
PMEMSTORE_PKGS=(build-essential cmake pkg-config libpmem-dev libpmemobj-dev
	uuid-dev libxxhash-dev libcunit1-dev libjemalloc-dev libndctl-dev
	libdaxctl-dev mandoc)

# ensure_packages -- install the given Debian packages that are missing
ensure_packages() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "setup: not a Debian system; make sure these are installed: $*" >&2
		return 0
	fi
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	echo "setup: installing ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo)
		else
			echo "setup: missing packages: ${missing[*]}" >&2
			echo "setup: as root, run: apt-get install -y ${missing[*]}" >&2
			exit 1
		fi
	fi
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# configure_and_build -- configure the build directory and build targets
configure_and_build() {
	local build=$1
	shift
	cmake -S . -B "$build"
	cmake --build "$build" -j "$(nproc)" "$@"
}
