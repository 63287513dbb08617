#!/usr/bin/env bash
# The C files of src/, tests/, examples/ and bench/ are formatted as .clang-format says.
#
#   tests/style_format.sh SOURCE_DIR               check the tree
#   tests/style_format.sh --self-test WORK_DIR     a misformatted file must fail the check
#
# clang-format's output differs between major versions; the tree is formatted with 14
# (Debian 12's). Another version, or none, skips (exit 77) saying so, unless
# MLD_STYLE_REQUIRED=1 (CI), where that is a failure.
set -uo pipefail
want=14
cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
	for c in clang-format-$want clang-format; do
		command -v "$c" >/dev/null 2>&1 && { cf=$c; break; }
	done
fi
ver=$([ -n "$cf" ] && "$cf" --version 2>/dev/null | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p' | head -n 1)
if [ "$ver" != "$want" ]; then
	msg="needs clang-format $want (found: ${cf:-none}${ver:+ version $ver})"
	if [ "${MLD_STYLE_REQUIRED:-0}" = 1 ]; then
		echo "FAIL: $msg, and MLD_STYLE_REQUIRED=1" >&2
		exit 1
	fi
	echo "SKIP: $msg"
	exit 77
fi

# check ROOT FILE...: every file as clang-format would write it; prints the ones that differ
check() {
	local root=$1 bad=0 f
	shift
	for f in "$@"; do
		if ! "$cf" --style=file --dry-run -Werror "$root/$f" >/dev/null 2>&1; then
			echo "not formatted: $f (clang-format -i $f)" >&2
			bad=$((bad + 1))
		fi
	done
	return $bad
}

if [ "${1:-}" = --self-test ]; then
	work=$2
	rm -rf "$work" && mkdir -p "$work/src"
	cp "$(dirname "$0")/../.clang-format" "$work/"
	printf 'int good(int a) { return a + 1; }\n\nint loop(int n)\n{\n\tint s = 0;\n\tfor (int i = 0; i < n; i++)\n\t\ts += i;\n\treturn s;\n}\n' >"$work/src/good.c"
	printf 'int bad(int a) {  return a+1; }\n' >"$work/src/bad.c"
	check "$work" src/good.c || { echo "FAIL: a formatted file fails the check" >&2; exit 1; }
	check "$work" src/bad.c 2>/dev/null && { echo "FAIL: a misformatted file passes the check" >&2; exit 1; }
	echo "ok: the check passes a formatted file and fails a misformatted one"
	exit 0
fi

root=$1
cd "$root" || exit 1
mapfile -t files < <(find src tests examples bench -name '*.[ch]' -not -path '*/corpus/*' | LC_ALL=C sort)
[ ${#files[@]} -gt 100 ] || { echo "FAIL: only ${#files[@]} C files found under $root" >&2; exit 1; }
if check "$root" "${files[@]}"; then
	echo "ok: ${#files[@]} C files formatted as .clang-format says (clang-format $ver)"
else
	echo "FAIL: files not formatted (clang-format $ver); run: clang-format -i FILE" >&2
	exit 1
fi
