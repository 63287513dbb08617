#!/usr/bin/env bash
# scripts_portable: the scripts a user or a Mac developer runs (scripts/, examples/, bench/,
# ninja/*.mk, the test scripts) use no GNU-only tool or flag; tests/portable.sh holds the
# stand-ins (sha256, filesize, truncate_to, now_ns, touch_at, ncpu). .ci/ is CI's own
# (Linux) and is not checked. Comment lines do not count.
#
# usage: scripts_portable.sh SOURCE_DIR | --self-test WORKDIR
set -u
pat='sed -i|readlink -f|stat -c|stat --|date \+%[sN]*N|date -d|touch -d|(^|[^a-z_])nproc([^a-z_]|$)|-printf|sha256sum|md5sum|'
pat+='grep -[a-zA-Z]*P|truncate -s|status=none|du -b|xargs -r|cp --|numfmt|sort -V|(^|[ |])tac([ |]|$)|install -D|ln -r|mv -T'
scan() {
	(cd "$1" && find scripts examples bench ninja tests \( -name '*.sh' -o -name Makefile -o -name '*.mk' \) \
		2>/dev/null | LC_ALL=C sort | grep -vxE 'tests/(portable|scripts_portable)\.sh' | while IFS= read -r f; do
			grep -nE -- "$pat" "$f" | grep -vE '^[0-9]+:[[:space:]]*#' | sed "s|^|$f:|"
		done)
}
if [ "${1:-}" = --self-test ]; then
	w=$2
	rm -rf "$w" && mkdir -p "$w/scripts" "$w/tests" || exit 1
	printf '%s\n' '# sed -i in a comment is fine' 'sed -i s/a/b/ f' 'n=$(nproc)' >"$w/scripts/planted.sh"
	printf '%s\n' 'sha256sum f' >"$w/tests/portable.sh"
	got=$(scan "$w" | cut -d: -f1,2 | tr '\n' ' ')
	[ "$got" = "scripts/planted.sh:2 scripts/planted.sh:3 " ] && {
		echo "self-test: the planted sed -i and nproc are caught, tests/portable.sh and comments are not"
		exit 0
	}
	echo "FAIL: self-test: caught '$got'"
	exit 1
fi
bad=$(scan "${1:?usage: scripts_portable.sh SOURCE_DIR}")
if [ -n "$bad" ]; then
	echo "FAIL: GNU-only tools or flags (see tests/portable.sh for portable stand-ins):"
	echo "$bad"
	exit 1
fi
echo "1 passed, 0 failed: no GNU-only tools or flags in the scripts users run"
