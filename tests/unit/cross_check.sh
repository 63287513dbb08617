#!/usr/bin/env bash
# Build the kernels (cpu.c, lutkern*.c, cmpkern*.c, hash*.c) and kernels_cross.c with a cross
# compiler and run them under qemu-user: the NEON paths checked against the scalar
# ones without an arm64 machine. Not part of ctest.
# usage: cross_check.sh [TRIPLE]   (default aarch64-linux-gnu; needs
#   gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
set -euo pipefail
triple=${1:-aarch64-linux-gnu}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# the host's xxhash.h (libxxhash-dev) is architecture-independent: borrow it alone
mkdir "$out/inc" && cp /usr/include/xxhash.h "$out/inc/"
"$triple-gcc" -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -I"$root/src/lib" -I"$root/src/include" \
	-I"$out/inc" -o "$out/kernels_cross" "$root/tests/unit/kernels_cross.c" \
	"$root"/src/lib/core/{cpu,hash,hash_avx2,hash_avx512,dtype,error}.c \
	"$root"/src/lib/tensor/{lutkern,lutkern_neon,lutkern_avx2,lutkern_avx512,cmpkern,cmpkern_neon,cmpkern_avx2}.c -lm
arch=${triple%%-*}
# with the multiarch libc installed (libc6:arm64), run on it with its own loader: the cross
# package's loader would load that libc.so.6, a different build (cmake/aarch64-linux-gnu.cmake)
prefix=/usr/$triple
[ -e "/usr/lib/$triple/libc.so.6" ] || [ -e "/lib/$triple/libc.so.6" ] && prefix=/
for cpu in "" scalar; do
	echo "== $triple, MLD_CPU=${cpu:-(unset)}"
	MLD_CPU=$cpu "qemu-$arch" -L "$prefix" "$out/kernels_cross"
done
