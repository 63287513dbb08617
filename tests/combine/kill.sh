#!/usr/bin/env bash
# combine_kill: SIGKILL a combine at any point and OUT is absent, the previous
# complete output, or the new complete output; never a mixture or a partial tree.
#
#   1. OUT holds a previous output (the chunked lut6 chunk 1 group). Combines of the
#      10-package multictx group (--no-store, so they do real work) into OUT are killed
#      after increasing delays, from 0 ms until they finish on their own; after each,
#      hash(model.mlmodel + weight.bin + Manifest.json) of OUT must be the previous
#      output's or the complete new output's, and OUT must verify.
#   2. The same with no previous output: OUT absent or complete.
#   3. --zip: OUT.zip absent, the previous zip, or the new one.
# Nothing but OUT and hidden temp entries of OUT (.OUT.mldtmp-*, the one temp name pattern) may appear,
# and OUT holds the package's three files only (the packed functions' scratch file never shows).
#
# Delays adapt to the machine: a sweep goes 0, STEP, 2*STEP, ... ms with finer steps
# over the last 40% of a run (where the output is written and renamed into place) until
# two runs in a row finish on their own; a sweep with too few kills is repeated with
# steps scaled to the time the runs really took (a loaded machine, a cold cache).
source "$(dirname "$0")/lib.sh"
need_fixtures

C=$F/chunked
SMALL=(infer="$C/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_01of02.mlpackage")
BIG=()
for ctx in 512 1024 2048 3072 4096; do
	BIG+=("infer_ctx$ctx=$F/multictx/ctx$ctx/toy_FFN_lut6_chunk_01of01.mlpackage"
		"prefill_ctx$ctx=$F/multictx/ctx$ctx/toy_prefill_lut6_chunk_01of01.mlpackage")
done

# Under an emulator (the aarch64 CI run, ~20x slower) the full sweeps would take most of an
# hour: there they kill the 2-function chunk 1 combine (over chunk 2's output) instead of
# the 10-function one, every STEP ms with no finer steps at the end, and need half the kills.
EMU_TRIM=
if [ -n "${MLD_TEST_EMULATOR:-}" ]; then
	EMU_TRIM=1
	echo "NOTE: trimmed under the emulator ($MLD_TEST_EMULATOR): the killed combine is the chunked chunk 1" \
		"group (2 functions) over chunk 2's output, not the 10-function multictx one; no fine steps; half the kills"
	BIG=("${SMALL[@]}")
	SMALL=(infer="$C/toy_FFN_lut6_chunk_02of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_02of02.mlpackage")
fi

W=$T/w # the directory the killed combines write into
mkdir -p "$W"

# references: the previous output and the complete new one (verified against the sources);
# the run time is the fastest of three runs
"$MLDEDUP" combine -q --no-store -o "$T/prev.mlpackage" "${SMALL[@]}" || bad "previous combine failed"
RUN_MS=
for i in 1 2 3; do
	t0=$(now_ns)
	"$MLDEDUP" combine -q --no-store -o "$T/new.mlpackage" "${BIG[@]}" || bad "reference combine failed"
	t1=$(now_ns)
	ms=$(((t1 - t0) / 1000000))
	[ -z "$RUN_MS" ] || [ "$ms" -lt "$RUN_MS" ] && RUN_MS=$ms
done
PKG_FILES="./Data/com.apple.CoreML/model.mlmodel ./Data/com.apple.CoreML/weights/weight.bin ./Manifest.json "
HP=$(pkghash "$T/prev.mlpackage")
HN=$(pkghash "$T/new.mlpackage")
[ "$HP" != "$HN" ] && [ "$HP" != incomplete ] && [ "$HN" != incomplete ] && ok || bad "reference outputs missing or equal"
expect 0 "verify the reference output" "0 failures" -- "$MLDEDUP" verify "$T/new.mlpackage" "${BIG[@]}"
echo "a complete combine takes ${RUN_MS} ms"

# Only OUT and its hidden temp entries may be in $W.
check_dir() {
	local e
	for e in "$W"/* "$W"/.[!.]*; do
		[ -e "$e" ] || continue
		case ${e##*/} in
		out.mlpackage | .out.mlpackage.mldtmp-* | out.zip | .out.zip.mldtmp-*) ;;
		*) bad "$1: unexpected entry ${e##*/} in the output directory" ;;
		esac
	done
}

# kill_after MS ARGS...: start a combine, SIGKILL it after MS ms. KILLED=1 if the kill
# ended it (exit 137), 0 if it had finished on its own (exit 0); anything else fails.
kill_after() {
	local ms=$1
	shift
	"$MLDEDUP" combine -q --no-store "$@" >/dev/null 2>"$T/err" &
	local pid=$!
	if [ "$ms" -gt 0 ]; then sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local rc=$?
	case $rc in
	137) KILLED=1 ;;
	0) KILLED=0 ;;
	*)
		KILLED=0
		bad "a combine ended with exit $rc: $(head -5 "$T/err")"
		;;
	esac
}

# sweeps NAME MIN_KILLS PREPARE CHECK ARGS...: kill `combine ARGS` after increasing
# delays; before each run `PREPARE` resets OUT, after it `CHECK MS` judges OUT.
# Sets KILLS.
sweeps() {
	local name=$1 min=$2 prepare=$3 check=$4
	shift 4
	local run=$RUN_MS sweep=0 ms finished step fine last_kill
	[ -z "$EMU_TRIM" ] || min=$((min / 2))
	KILLS=0
	while [ "$sweep" -lt 5 ] && [ "$KILLS" -lt "$min" ]; do
		sweep=$((sweep + 1)) ms=0 finished=0 last_kill=0
		step=$((run / 30)) fine=$((run / 150))
		[ "$step" -ge 2 ] || step=2
		[ "$fine" -ge 1 ] || fine=1
		[ -z "$EMU_TRIM" ] || fine=$step
		echo "$name: sweep $sweep: every $step ms, every $fine ms after $((run * 6 / 10)) ms"
		while [ "$finished" -lt 2 ] && [ "$KILLS" -lt 250 ]; do
			$prepare
			kill_after "$ms" "$@"
			if [ "$KILLED" = 1 ]; then
				KILLS=$((KILLS + 1)) finished=0 last_kill=$ms
			else
				finished=$((finished + 1))
			fi
			$check "$ms"
			check_dir "$name: $ms ms"
			if [ "$ms" -lt $((run * 6 / 10)) ]; then
				ms=$((ms + step))
			elif [ "$ms" -lt $((run * 11 / 10)) ]; then
				ms=$((ms + fine))
			else # longer than measured: grow
				ms=$((ms + (ms / 4 > step ? ms / 4 : step)))
			fi
		done
		run=$((last_kill > 20 ? last_kill : 20)) # what a run really took
	done
	echo "$name: $KILLS kills in $sweep sweeps"
	[ "$KILLS" -ge "$min" ] && ok || bad "$name: only $KILLS kills landed"
}

# ---- 1 and 2: the package directory -------------------------------------------------------------
OUT=$W/out.mlpackage
prep_prev() {
	rm -rf "$OUT"
	cp -a "$T/prev.mlpackage" "$OUT"
}
prep_none() { rm -rf "$OUT"; }
N_PREV=0 N_NEW=0 N_ABSENT=0
check_out() {
	local h=absent
	if [ -e "$OUT" ]; then
		h=$(pkghash "$OUT")
		local files
		files=$(cd "$OUT" && find . ! -type d | LC_ALL=C sort | tr '\n' ' ')
		[ "$files" = "$PKG_FILES" ] || bad "killed after $1 ms: OUT holds other files: $files"
		"$MLDEDUP" verify -q "$OUT" 2>"$T/err" || bad "killed after $1 ms: OUT does not verify: $(head -3 "$T/err")"
	fi
	case $h in
	"$HN") N_NEW=$((N_NEW + 1)) ;;
	"$HP") N_PREV=$((N_PREV + 1)) ;;
	absent) N_ABSENT=$((N_ABSENT + 1)) ;;
	*)
		bad "killed after $1 ms: OUT is neither absent nor a complete output (hash $h)"
		ls -laR "$OUT" | head -20 >&2
		;;
	esac
	[ "$KILLED" = 0 ] && [ "$h" != "$HN" ] && bad "a combine finished ($1 ms) but OUT is not its output"
}

sweeps "with a previous output" 20 prep_prev check_out -o "$OUT" "${BIG[@]}"
echo "  OUT afterwards: previous $N_PREV, new $N_NEW, absent $N_ABSENT"
[ "$N_PREV" -gt 0 ] && ok || bad "no kill landed before the new output was in place"
# an absent OUT is allowed (the previous one moved aside, where RENAME_EXCHANGE is missing)
[ "$N_ABSENT" -eq 0 ] || echo "  note: OUT was absent after $N_ABSENT kills"
rm -rf "$W"/.out.mlpackage.mldtmp-*

N_PREV=0 N_NEW=0 N_ABSENT=0
sweeps "without a previous output" 20 prep_none check_out -o "$OUT" "${BIG[@]}"
echo "  OUT afterwards: new $N_NEW, absent $N_ABSENT"
eq "without a previous output: OUT was the previous one" "$N_PREV" 0
[ "$N_ABSENT" -gt 0 ] && ok || bad "no kill landed before the output was in place"
rm -rf "$W"/.out.mlpackage.mldtmp-* "$OUT"

# ---- 3: --zip (compare the entries' bytes: zip timestamps differ per run) ------------------------
zipsum() {
	if [ ! -e "$1" ]; then
		echo absent
		return
	fi
	{ "$COMBINE_CHECK" zip-cat "$1" "$2/Data/com.apple.CoreML/model.mlmodel" &&
		"$COMBINE_CHECK" zip-cat "$1" "$2/Data/com.apple.CoreML/weights/weight.bin"; } 2>/dev/null | sha256 | cut -d' ' -f1
}
ZOUT=$W/out.zip
"$MLDEDUP" combine -q --no-store --zip -o "$T/prev.zip" "${SMALL[@]}" || bad "previous --zip combine failed"
"$MLDEDUP" combine -q --no-store --zip -o "$T/new.zip" "${BIG[@]}" || bad "reference --zip combine failed"
ZP=$(zipsum "$T/prev.zip" prev.mlpackage) # a zip holds <its stem>.mlpackage/
ZN=$(zipsum "$T/new.zip" new.mlpackage)
prep_zip() {
	rm -rf "$W"/.out.zip.mldtmp-*
	cp "$T/prev.zip" "$ZOUT"
}
check_zip() {
	local h hp
	h=$(zipsum "$ZOUT" out.mlpackage)
	hp=$(zipsum "$ZOUT" prev.mlpackage)
	if [ "$h" != "$ZN" ] && [ "$hp" != "$ZP" ]; then
		bad "--zip: killed after $1 ms: out.zip is neither the previous nor the new zip"
	fi
	[ "$KILLED" = 0 ] && [ "$h" != "$ZN" ] && bad "--zip: a combine finished ($1 ms) but out.zip is not its output"
}
sweeps "--zip" 10 prep_zip check_zip --zip -o "$ZOUT" "${BIG[@]}"

# ---- 4: the temp trees of killed combines go with the next complete one --------------------------
mkdir -p "$W/.out.mlpackage.mldtmp-4000000-stale/Data" # a pid that cannot be running
touch "$W/.out.mlpackage.mldtmp-4000000-stale/.functions.spill" # killed before its unlink
touch "$W/.out.zip.mldtmp-4000001-XXXXXX"
"$MLDEDUP" combine -q --no-store -o "$W/out.mlpackage" "${SMALL[@]}" || bad "a combine after the kills failed"
left=$(find "$W" -maxdepth 1 -name '.out.mlpackage.mldtmp-*' | wc -l)
eq "no temp tree of a dead combine is left after a complete one" "$left" 0
"$MLDEDUP" combine -q --no-store --zip -o "$W/out.zip" "${SMALL[@]}" || bad "a --zip combine after the kills failed"
left=$(find "$W" -maxdepth 1 -name '.out.zip.mldtmp-*' | wc -l)
eq "no temp zip of a dead combine is left after a complete one" "$left" 0
finish
