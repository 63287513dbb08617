#!/usr/bin/env bash
# platform_only: every operating-system difference lives in src/lib/core/platform.[ch].
# Fails on an OS test (__linux__, __APPLE__...), a Linux- or macOS-only stat field, call
# or header (st_mtim, renameat2, /proc/self, F_FULLFSYNC, <sys/syscall.h>...) in any other
# C file of the tree; comment lines do not count. It runs in every ctest run (the aarch64
# one under qemu included), beside the macOS compile check that CI runs.
#
# usage: platform_only.sh SOURCE_DIR            check the tree
#        platform_only.sh --self-test WORKDIR   a planted st_mtim and __APPLE__ must fail it
set -u
pat='__linux__|__APPLE__|__MACH__|_WIN32|__FreeBSD__|st_[amc]tim([^a-z]|$)|st_[amc]timespec|/proc/self|renameat2|'
pat+='renamex_np|_NSGetExecutablePath|F_FULLFSYNC|<sys/syscall\.h>|<mach-o/|<linux/|(^|[^a-z_])syscall\('
scan() { # ROOT: the offending lines, FILE:LINE: TEXT
	(cd "$1" && find src tests examples bench -name '*.[ch]' 2>/dev/null | LC_ALL=C sort |
		grep -vx 'src/lib/core/platform\.[ch]' | while IFS= read -r f; do
			grep -nE "$pat" "$f" | grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)' | sed "s|^|$f:|"
		done)
}
if [ "${1:-}" = --self-test ]; then
	w=$2
	rm -rf "$w" && mkdir -p "$w/src/lib/store" "$w/src/lib/core" || exit 1
	printf '%s\n' '/* st_mtim in a comment is fine */' 'int64_t t(const struct stat *st) { return st->st_mtim.tv_sec; }' \
		>"$w/src/lib/store/planted.c"
	printf '%s\n' '#if defined(__APPLE__)' '#endif' >"$w/src/lib/store/planted2.h"
	printf '%s\n' '#if defined(__APPLE__)' 'x = st->st_mtimespec;' '#endif' >"$w/src/lib/core/platform.c"
	got=$(scan "$w" | cut -d: -f1,2 | tr '\n' ' ')
	if [ "$got" = "src/lib/store/planted.c:2 src/lib/store/planted2.h:1 " ]; then
		echo "self-test: the planted st_mtim and __APPLE__ are caught, platform.c and comments are not"
		exit 0
	fi
	echo "FAIL: self-test: caught '$got'"
	exit 1
fi
bad=$(scan "${1:?usage: platform_only.sh SOURCE_DIR}")
if [ -n "$bad" ]; then
	echo "FAIL: operating-system specifics outside src/lib/core/platform.[ch] (move them into the platform layer):"
	echo "$bad"
	exit 1
fi
echo "1 passed, 0 failed: no OS specifics outside src/lib/core/platform.[ch]"
