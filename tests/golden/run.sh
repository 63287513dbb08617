#!/usr/bin/env bash
# Golden tests (zstd's tests/cli-tests style): every case GROUP/NAME.sh runs in a work
# directory shared by its group, and its stdout, stderr and exit status must equal
# GROUP/NAME.sh.stdout, .stderr and .exit byte for byte, after paths are normalised
# (the work directory reads <W>, the fixtures <F>, the mldedup binary <mldedup>).
#
#   run.sh GROUP          run one group (ctest runs each as golden_GROUP)
#   MLD_UPDATE_GOLDEN=1   write the expected files from what the cases print; review the diff
#
# A group's setup.sh, if any, runs first (its output is not compared). Cases run in name
# order, so a later case may use what an earlier one made (a store, a combined package).
# Environment for cases: MLDEDUP, MLDTEST, TOYGEN (binaries), GOLDEN_SRC (this folder), W (the work dir, also the
# cwd), F (fixtures; a case that needs them exits 77 when they are absent, which is
# reported as a skip, never silently).
set -u
here=$(cd "$(dirname "$0")" && pwd)
group=${1:?usage: run.sh GROUP}
dir=$here/$group
[ -d "$dir" ] || { echo "run.sh: no group $group in $here" >&2; exit 2; }
: "${MLDEDUP:?}" "${MLDTEST:?}" "${TOYGEN:?}"
export MLDEDUP MLDTEST TOYGEN
export GOLDEN_SRC=$here
export F=${MLD_FIXTURES_DIR:-$here/../../../shared/fixtures}
W=$(mktemp -d "${TMPDIR:-/tmp}/mld-golden-XXXXXX") || exit 1
W=$(cd "$W" && pwd -P)
export W
trap 'chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT
# a private store and config: the user's are never read or written
unset MLDEDUP_STORE XDG_CACHE_HOME XDG_CONFIG_HOME NINJA_STATUS MAKELEVEL
export HOME=$W/home LC_ALL=C TZ=UTC
mkdir -p "$HOME"
source "$here/lib.sh"

EXE=$(cd "$(dirname "$MLDEDUP")" && pwd -P)/$(basename "$MLDEDUP")
normalise() {
	local f=${F%/}
	sed -e "s#$EXE#<mldedup>#g" -e "s#${MLDEDUP_REAL:-$EXE}#<mldedup>#g" -e "s#$W#<W>#g" -e "s#$(cd "$f" 2>/dev/null && pwd -P || echo "$f")#<F>#g" \
		-e "s#$f#<F>#g"
}

pass=0 fail=0 skip=0
if [ -f "$dir/setup.sh" ]; then
	(cd "$W" && source "$dir/setup.sh") >"$W/.setup.log" 2>&1 || {
		echo "FAIL: $group/setup.sh failed:"
		sed 's/^/    /' "$W/.setup.log" | head -20
		exit 1
	}
fi
for case in "$dir"/*.sh; do
	name=$(basename "$case")
	[ "$name" = setup.sh ] && continue
	(cd "$W" && source "$case") >"$W/.out" 2>"$W/.err"
	rc=$?
	if [ "$rc" = 77 ]; then
		echo "SKIP: $group/$name: $(head -1 "$W/.err")"
		skip=$((skip + 1))
		continue
	fi
	normalise <"$W/.out" >"$W/.out.n"
	normalise <"$W/.err" >"$W/.err.n"
	echo "$rc" >"$W/.exit"
	if [ "${MLD_UPDATE_GOLDEN:-}" = 1 ]; then
		cp "$W/.out.n" "$case.stdout"
		cp "$W/.err.n" "$case.stderr"
		cp "$W/.exit" "$case.exit"
		echo "updated $group/$name"
	fi
	bad=""
	for kind in stdout:.out.n stderr:.err.n exit:.exit; do
		want=$case.${kind%%:*} got=$W/${kind#*:}
		if [ ! -f "$want" ]; then
			bad="$bad ${kind%%:*} (no $want; MLD_UPDATE_GOLDEN=1 writes it)"
		elif ! cmp -s "$want" "$got"; then
			bad="$bad ${kind%%:*}"
			diff -u "$want" "$got" | head -30 | sed "s/^/    /"
		fi
	done
	if [ -n "$bad" ]; then
		echo "FAIL: $group/$name:$bad"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
done
echo "$group: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
