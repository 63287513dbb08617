#!/usr/bin/env bash
# Install what mldedup needs to build and test, from Debian packages only.
# Runs apt-get only when something is missing (and only as root or via sudo).
set -euo pipefail
pkgs=(cmake ninja-build make gcc pkg-config libsqlite3-dev sqlite3 protobuf-c-compiler libprotobuf-c-dev
      libzip-dev libxxhash-dev libjansson-dev libcmocka-dev zip unzip bc zsh)
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
