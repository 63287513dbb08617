#!/usr/bin/env bash
# ctest build_examples: examples/chunked and examples/statex end to end, with ninja (run.sh,
# twice: the second run has no work) and with GNU make (their Makefile, twice: the second
# runs no recipe). Env: MLDEDUP, TOYGEN, MLD_SOURCE_DIR.
set -u
: "${MLDEDUP:?}" "${TOYGEN:?}" "${MLD_SOURCE_DIR:?}"
for tool in ninja make; do
	command -v $tool >/dev/null || { echo "SKIP: $tool not installed (Debian: ninja-build, make)"; exit 77; }
done
[ -n "${MLD_TEST_EMULATOR:-}" ] && echo "NOTE: under the emulator ($MLD_TEST_EMULATOR) with MLD_PLATFORM_FALLBACK=1:" \
	"build files run 'mldedup' from PATH, the emulator's wrapper $(command -v mldedup)"
T=$(mktemp -d "${TMPDIR:-/tmp}/mld-examples-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
unset MLDEDUP_STORE XDG_CACHE_HOME MAKEFLAGS MAKELEVEL
export HOME=$T/home MLDEDUP TOYGEN

FAIL=0
bad() {
	echo "FAIL: $*" >&2
	sed 's/^/    /' "$T/log" >&2
	FAIL=$((FAIL + 1))
}
for ex in chunked statex; do
	dir=$MLD_SOURCE_DIR/examples/$ex
	sh "$dir/run.sh" "$T/$ex" >"$T/log" 2>&1 || bad "$ex/run.sh exited with $?"
	[ "$(ls -d "$T/$ex"/out/*.mlpackage | wc -l)" -eq 2 ] || bad "$ex/run.sh: not 2 combined packages"
	sh "$dir/run.sh" "$T/$ex" >"$T/log" 2>&1 || bad "$ex/run.sh (again) exited with $?"
	[ "$(grep -c 'ninja: no work to do' "$T/log")" -eq 2 ] || bad "$ex/run.sh (again) did work"

	mk=(make --no-print-directory -C "$dir" "BUILD=$T/$ex-make" "MLDEDUP=$MLDEDUP" "TOYGEN=$TOYGEN")
	"${mk[@]}" all >"$T/log" 2>&1 && "${mk[@]}" check >>"$T/log" 2>&1 || bad "$ex: make exited with $?"
	[ "$(grep -c '  VERIFY ' "$T/log")" -eq 2 ] || bad "$ex: make check did not verify 2 packages"
	"${mk[@]}" check >"$T/log" 2>&1 || bad "$ex: make (again) exited with $?"
	! grep -qE '^  [A-Z]+ ' "$T/log" || bad "$ex: make (again) ran a recipe"
done
[ "$FAIL" -eq 0 ] && echo "build_examples: ok"
[ "$FAIL" -eq 0 ]
