#!/usr/bin/env bash
# ctest build_<tool>_<scenario>: drive real ninja or GNU make over build files that
# `mldedup ninja` / `mldedup make` + ninja/mldedup.mk write for a toy export, and check
# that a build redoes exactly the work whose inputs changed in content.
#
#   chunked   clean build + check; a second build does nothing; touching a package (its files,
#             or its directory) re-runs its index only; re-exporting a chunk with the same
#             content runs no combine
#   statex    5 contexts x 2 chunks: one weight changed in ctx1024 chunk 2 runs that index and
#             chunk 2's combine only, and the output changes; a removed package fails the
#             build, naming it
#   parallel  -j8 from a fresh store, several times: every job succeeds
#   outputs   a combined package deleted (whole, or one file) is rebuilt by the next build and
#             by check; a damaged one fails check; `ninja -t clean` removes its files (issue 9:
#             the build said there was nothing to do and check passed)
#   names     ninja: package names holding '$', ':', ' ' or '#' build, rebuild nothing the second
#             time, and check; names holding '|', a newline or a tab are refused, naming them,
#             and no build file is written (issue 9: an unusable build.ninja); make: every such
#             name is refused, naming the path
#
# Commands are counted from the one-line descriptions both tools print (INDEX, COMBINE,
# VERIFY, GEN/REGENERATE). Needs bash, coreutils, ninja and make.
#
# usage: build.sh ninja|make chunked|statex|parallel|outputs|names   (env: MLDEDUP, TOYGEN, MLD_SOURCE_DIR)
set -u
source "$(dirname "$0")/../portable.sh"
TOOL=$1 SCENARIO=$2
: "${MLDEDUP:?}" "${TOYGEN:?}" "${MLD_SOURCE_DIR:?}"
command -v "$TOOL" >/dev/null || { echo "SKIP: $TOOL not installed (Debian: ninja-build, make)"; exit 77; }

[ -n "${MLD_TEST_EMULATOR:-}" ] && echo "NOTE: under the emulator ($MLD_TEST_EMULATOR) with MLD_PLATFORM_FALLBACK=1:" \
	"build files run 'mldedup' from PATH, the emulator's wrapper $(command -v mldedup)"
T=$(mktemp -d "${TMPDIR:-/tmp}/mld-build-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
unset MLDEDUP_STORE XDG_CACHE_HOME MAKEFLAGS MAKELEVEL
export HOME=$T/home # the build names its own store; nothing may touch a default one

FAIL=0
bad() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}
eq() { [ "$2" == "$3" ] || bad "$1: got '$2', want '$3'"; }

EXPORT=$T/export
if [ "$TOOL" = ninja ]; then
	OUT=$T/out
	setup() { "$MLDEDUP" ninja "$EXPORT" -o "$OUT/build.ninja" || bad "mldedup ninja exited with $?"; }
	build() { ninja -C "$OUT" "$@" >"$T/log" 2>&1; }
	idle() { grep -q 'ninja: no work to do' "$T/log" && ! grep -q '^\[' "$T/log"; } # not even a regeneration
else
	OUT=$T/mk/out
	setup() {
		mkdir -p "$T/mk"
		printf '%s\n' "MLDEDUP := $MLDEDUP" "MLDEDUP_EXPORT := $EXPORT" "MLDEDUP_BUILD := out" \
			"include $MLD_SOURCE_DIR/ninja/mldedup.mk" "all: mldedup-all" "check: mldedup-check" \
			".PHONY: all check" >"$T/mk/Makefile"
	}
	build() { make --no-print-directory -C "$T/mk" "$@" >"$T/log" 2>&1; }
	idle() { ! grep -qE '^  [A-Z]+ ' "$T/log"; } # no recipe ran (each prints one line)
fi

# run WHAT ARGS...: a build that must succeed.
run() {
	local what=$1
	shift
	build "$@" || { bad "$what: $TOOL $* exited with $?"; sed 's/^/    /' "$T/log" >&2; }
}
count() { grep -cE "(^|[] ])$1 " "$T/log"; } # lines announcing a step
named() { grep -E "(^|[] ])$1 " "$T/log" | grep -qF -- "$2"; }
digest() { sha256 <"$1/Data/com.apple.CoreML/weights/weight.bin"; }
toygen() { "$TOYGEN" -q "$@" || bad "mldedup-toygen $* exited with $?"; }

# Re-export PKG (relative to the export) from a fresh run of the generator: same content, new files.
reexport() {
	rm -rf "$T/re" "$EXPORT/$1"
	toygen -o "$T/re" "${GEN_ARGS[@]}"
	cp -r "$T/re/$1" "$EXPORT/$1"
}

# One weight of PKG changed: rope_cos differs per context, so the combined package keeps its
# own copy and must change too.
change_weight() { bash "$(dirname "$0")/flip_weight.sh" "$MLDEDUP" "$EXPORT/$1" rope_cos || bad "flip_weight.sh $1"; }

case $SCENARIO in
chunked)
	GEN_ARGS=(--chunks 2)
	toygen -o "$EXPORT" "${GEN_ARGS[@]}"
	setup
	run "clean build" all
	eq "clean build: indexes" "$(count INDEX)" 4
	eq "clean build: combines" "$(count COMBINE)" 2
	for c in 01 02; do [ -d "$OUT/toy_FFN_PF_lut6_chunk_${c}of02.mlpackage" ] || bad "clean build: no chunk $c output"; done
	run "check" check
	eq "check: verifies" "$(count VERIFY)" 2
	"$MLDEDUP" verify -q "$OUT/toy_FFN_PF_lut6_chunk_01of02.mlpackage" || bad "verify of chunk 1 failed"

	# the build's own store, from its directory and below (issue 9: stats did not find it)
	for d in "$OUT" "$OUT/stamps"; do
		(cd "$d" && "$MLDEDUP" stats --json) >"$T/stats" 2>"$T/log" || bad "stats in $d failed: $(cat "$T/log")"
		grep -qF "\"store\": \"$OUT/mldedup-store.db\"" "$T/stats" && grep -q '"packages": 4' "$T/stats" ||
			bad "stats in $d did not read the build's store: $(head -4 "$T/stats")"
		(cd "$d" && "$MLDEDUP" config) >"$T/stats" 2>&1
		eq "config in $d" "$(cat "$T/stats")" "($OUT/mldedup.conf:3) store = $OUT/mldedup-store.db"
	done
	(cd "$OUT" && "$MLDEDUP" explain toy_FFN_PF_lut6_chunk_01of02.mlpackage prefill layers_0_mlp_up_proj_weight_palettized) \
		>"$T/stats" 2>"$T/log" || bad "explain in the build directory failed: $(cat "$T/log")"

	run "second build" all
	idle || { bad "second build did work"; cat "$T/log" >&2; }
	run "second check" check
	idle || bad "second check did work"

	before=$(digest "$OUT/toy_FFN_PF_lut6_chunk_02of02.mlpackage")
	find "$EXPORT/toy_prefill_lut6_chunk_02of02.mlpackage" -type f -exec touch {} +
	run "touched package" all
	eq "touched package: indexes" "$(count INDEX)" 1
	named INDEX toy_prefill_lut6_chunk_02of02 || bad "touched package: not its index that ran"
	eq "touched package: combines" "$(count COMBINE)" 0
	run "after touch" all
	idle || bad "the build after a touch did work"
	touch "$EXPORT/toy_FFN_lut6_chunk_01of02.mlpackage" # the directory alone
	run "touched package directory" all
	eq "touched package directory: indexes" "$(count INDEX)" 1
	eq "touched package directory: combines" "$(count COMBINE)" 0

	reexport toy_FFN_lut6_chunk_02of02.mlpackage
	run "same-content re-export" all
	eq "same-content re-export: indexes" "$(count INDEX)" 1
	eq "same-content re-export: combines" "$(count COMBINE)" 0
	eq "same-content re-export: output" "$(digest "$OUT/toy_FFN_PF_lut6_chunk_02of02.mlpackage")" "$before"
	run "same-content re-export: check" check
	eq "same-content re-export: verifies" "$(count VERIFY)" 0
	run "after re-export" all
	idle || bad "the build after a re-export did work"
	;;
statex)
	GEN_ARGS=(--chunks 2 --contexts 512,1024,2048,3072,4096)
	toygen -o "$EXPORT" "${GEN_ARGS[@]}"
	setup
	run "clean build" check
	eq "clean build: indexes" "$(count INDEX)" 20
	eq "clean build: combines" "$(count COMBINE)" 2
	eq "clean build: verifies" "$(count VERIFY)" 2

	one=$(digest "$OUT/toy_FFN_PF_statex_chunk_01of02.mlpackage")
	two=$(digest "$OUT/toy_FFN_PF_statex_chunk_02of02.mlpackage")
	change_weight ctx1024/toy_FFN_lut6_chunk_02of02.mlpackage
	run "one weight changed" all
	eq "one weight changed: indexes" "$(count INDEX)" 1
	named INDEX ctx1024/toy_FFN_lut6_chunk_02of02 || bad "one weight changed: not its index that ran"
	eq "one weight changed: combines" "$(count COMBINE)" 1
	named COMBINE toy_FFN_PF_statex_chunk_02of02 || bad "one weight changed: not chunk 2's combine"
	[ "$(digest "$OUT/toy_FFN_PF_statex_chunk_02of02.mlpackage")" != "$two" ] || bad "one weight changed: chunk 2 output did not change"
	eq "one weight changed: chunk 1 output" "$(digest "$OUT/toy_FFN_PF_statex_chunk_01of02.mlpackage")" "$one"
	run "one weight changed: check" check
	eq "one weight changed: verifies" "$(count VERIFY)" 1
	run "after the change" check
	idle || bad "the build after the change did work"

	gone=ctx2048/toy_prefill_lut6_chunk_01of02.mlpackage
	rm -rf "${EXPORT:?}/$gone"
	for i in 1 2; do
		if build all; then bad "removed package: build $i succeeded"; fi
		grep -qF "$EXPORT/$gone" "$T/log" || { bad "removed package: build $i does not name it"; cat "$T/log" >&2; }
	done
	reexport $gone
	run "restored package" all
	eq "restored package: combines" "$(count COMBINE)" 0
	;;
parallel)
	toygen -o "$EXPORT" --chunks 2 --contexts 512,1024,2048,3072,4096
	for round in 1 2 3 4 5; do
		rm -rf "$OUT" "$T/mk"
		setup
		if ! build -j8 check || grep -qi 'locked\|busy' "$T/log"; then
			bad "round $round: -j8 from a fresh store"
			sed 's/^/    /' "$T/log" >&2
		fi
		eq "round $round: indexes" "$(count INDEX)" 20
		eq "round $round: verifies" "$(count VERIFY)" 2
	done
	;;
outputs)
	toygen -o "$EXPORT" --chunks 2
	setup
	run "clean build" check
	PKG=$OUT/toy_FFN_PF_lut6_chunk_01of02.mlpackage
	W=Data/com.apple.CoreML/weights/weight.bin
	good=$(digest "$PKG")
	rm -rf "$PKG"
	run "output deleted" all
	eq "output deleted: combines" "$(count COMBINE)" 1
	named COMBINE toy_FFN_PF_lut6_chunk_01of02 || bad "output deleted: not its combine that ran"
	eq "output deleted: rebuilt" "$(digest "$PKG" 2>/dev/null)" "$good"
	run "after the rebuild" all
	idle || { bad "the build after the rebuild did work"; cat "$T/log" >&2; }
	run "check after the rebuild" check
	eq "check after the rebuild: verifies" "$(count VERIFY)" 1
	rm -rf "$PKG"
	run "check with the output deleted" check
	eq "check with the output deleted: combines" "$(count COMBINE)" 1
	eq "check with the output deleted: verifies" "$(count VERIFY)" 1
	[ -f "$PKG/$W" ] || bad "check with the output deleted: no output after it"
	rm -f "$PKG/Data/com.apple.CoreML/model.mlmodel"
	run "one file of the output deleted" all
	eq "one file of the output deleted: combines" "$(count COMBINE)" 1
	[ -f "$PKG/Data/com.apple.CoreML/model.mlmodel" ] || bad "one file of the output deleted: not rebuilt"
	run "check after that" check
	sleep 1 # a damaged file must look newer than the last verify
	printf 'damage' | dd of="$PKG/$W" bs=1 seek=200 conv=notrunc 2>/dev/null
	if build check; then bad "check of a damaged output passed"; fi
	grep -q FAIL "$T/log" || { bad "check of a damaged output: no FAIL line"; cat "$T/log" >&2; }
	if [ "$TOOL" = ninja ]; then
		ninja -C "$OUT" -t clean >"$T/log" 2>&1 || bad "ninja -t clean failed"
		left=$(find "$OUT" -path '*.mlpackage/*' -type f)
		eq "ninja -t clean: files of the outputs left" "$left" ""
		run "after clean" check
		eq "after clean: combines" "$(count COMBINE)" 2
		eq "after clean: output" "$(digest "$PKG")" "$good"
	fi
	;;
names)
	# rename every export's "toy" prefix to NAME: the packages, stamps and outputs carry it
	names_export() {
		rm -rf "$EXPORT" "$OUT"
		toygen -o "$EXPORT" --chunks 1
		local f
		for f in "$EXPORT"/toy_*; do mv "$f" "$EXPORT/$1${f#"$EXPORT"/toy}"; done
	}
	if [ "$TOOL" = make ]; then # Make cannot name any of them: refused, naming the path
		for name in 'a$b' 'a:b' 'a b' 'a#b' 'a|b' $'a\nb'; do
			names_export "$name"
			mkdir -p "$OUT"
			if "$MLDEDUP" make "$EXPORT" -o "$OUT/rules.mk" 2>"$T/log"; then bad "make: name '$name': accepted"; fi
			grep -qF "GNU Make cannot name this path" "$T/log" || { bad "make: name '$name': unclear message"; cat "$T/log" >&2; }
			[ ! -e "$OUT/rules.mk" ] || bad "make: name '$name': a rules file was written"
		done
	fi
	for name in 'a$b' 'a:b' 'a b' 'a#b' 'a$$b: c'; do
		[ "$TOOL" = ninja ] || break
		names_export "$name"
		setup
		run "name '$name': build" all
		eq "name '$name': combines" "$(count COMBINE)" 1
		[ -f "$OUT/${name}_FFN_PF_lut6_chunk_01of01.mlpackage/Manifest.json" ] || bad "name '$name': no output"
		run "name '$name': second build" all
		idle || { bad "name '$name': the second build did work"; cat "$T/log" >&2; }
		run "name '$name': check" check
		eq "name '$name': verifies" "$(count VERIFY)" 1
	done
	for name in 'a|b' $'a\nb' $'a\tb' $'a\rb'; do
		[ "$TOOL" = ninja ] || break
		names_export "$name"
		shown=$(printf '%s' "$name" | sed -e 's/\r/\\r/; s/\t/\\t/' | sed -e ':a;N;s/\n/\\n/;ba')
		if "$MLDEDUP" ninja "$EXPORT" -o "$OUT/build.ninja" 2>"$T/log"; then bad "name $shown: accepted"; fi
		grep -qF "Ninja cannot name a path holding" "$T/log" && grep -qF "$shown" "$T/log" ||
			{ bad "name $shown: unclear message"; cat "$T/log" >&2; }
		[ ! -e "$OUT/build.ninja" ] || bad "name $shown: a build file was written"
	done
	;;
*)
	echo "unknown scenario $SCENARIO" >&2
	exit 2
	;;
esac

[ "$FAIL" -eq 0 ] && echo "build_${TOOL}_$SCENARIO: ok" || echo "build_${TOOL}_$SCENARIO: $FAIL failure(s)"
[ "$FAIL" -eq 0 ]
