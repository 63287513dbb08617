#!/usr/bin/env bash
# Install what mldedup needs to build and test: Homebrew's formulas on macOS, Debian's
# packages elsewhere. Installs only what is missing (apt-get as root or via sudo).
#   scripts/deps.sh          install
#   scripts/deps.sh --list   print the Debian package names (CI installs them with more)
set -euo pipefail
pkgs=(cmake ninja-build make gcc pkg-config libsqlite3-dev sqlite3 protobuf-c-compiler libprotobuf-c-dev
      libzip-dev libxxhash-dev libjansson-dev libcmocka-dev zip unzip bc python3 python3-pytest zsh
      libbz2-dev libssl-dev) # the last two: what libzip.pc names for a static link (tests/install)
# macOS: the compiler, make (3.81 is enough), zip, unzip, bc, sqlite3, perl and zsh come with
# the system (Xcode's command line tools); Homebrew adds a bash newer than 3.2 for the tests
brew_pkgs=(cmake ninja pkg-config protobuf-c libzip xxhash jansson sqlite cmocka bash python pytest)
if [ "${1:-}" = --list ]; then
	echo "${pkgs[*]}"
	exit 0
fi
if [ "$(uname -s)" = Darwin ]; then
	command -v brew >/dev/null || { echo "deps.sh: needs Homebrew (https://brew.sh)" >&2; exit 1; }
	missing=()
	for p in "${brew_pkgs[@]}"; do
		brew list --versions "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && exit 0
	echo "installing: ${missing[*]}" >&2
	brew install "${missing[@]}"
	exit 0
fi
command -v dpkg-query >/dev/null || { echo "deps.sh: install these (Debian names): ${pkgs[*]}" >&2; exit 1; }
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
