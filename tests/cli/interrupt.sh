#!/usr/bin/env bash
# cli_interrupt: every kind of write (package, zip, report, stamp, depfile, Ninja and
# Make build files) interrupted with SIGINT, SIGTERM and SIGHUP while its temp is
# complete but not yet in place (MLD_TEST_COMMIT_DELAY_MS holds it there): the process
# dies of the signal, no temp and no partial file is left, a previous file is
# unchanged. After a SIGKILL the temp stays, and the next write of the same target
# removes it.
source "$(dirname "$0")/lib.sh"
# Job control: without it, bash starts background commands with SIGINT ignored.
set -m

X=$T/exports
mkdir -p "$X" "$T/w"
"$MLDTEST" mkpkg "$X/toy_FFN_chunk_01of01.mlpackage" --seed 1 &&
	"$MLDTEST" mkpkg "$X/toy_prefill_chunk_01of01.mlpackage" --seed 2 ||
	{ echo "FAIL: cannot make the synthetic packages"; exit 1; }
A=$X/toy_FFN_chunk_01of01.mlpackage P=$X/toy_prefill_chunk_01of01.mlpackage
W=$T/w
S=$T/store.db
# the store exists first: creating one is a held write of its own (tests/cli/kill_index.sh)
"$MLDEDUP" index -q --store "$S" "$P" || { echo "FAIL: cannot make the store"; exit 1; }

# The writes, each as: NAME TARGET COMMAND... (TARGET is what must appear whole or not at all)
writes=(
	"package|$W/out.mlpackage|$MLDEDUP combine -q --no-store -o $W/out.mlpackage infer=$A prefill=$P"
	"zip|$W/out.zip|$MLDEDUP combine -q --no-store --zip -o $W/out.zip infer=$A prefill=$P"
	"report|$W/r.json|$MLDEDUP combine -q --no-store --dry-run --report $W/r.json -o $W/dry.mlpackage infer=$A prefill=$P"
	"stamp|$W/a.stamp|$MLDEDUP index -q --store $S --stamp $W/a.stamp $A"
	"depfile|$W/a.d|$MLDEDUP index -q --store $S --stamp $W/b.stamp --depfile $W/a.d $A"
	"ninja|$W/build.ninja|$MLDEDUP ninja --store $S $X -o $W/build.ninja"
	"make|$W/gen.mk|$MLDEDUP make $X -o $W/gen.mk"
)

rewrites_if_changed() { case $1 in stamp | depfile | ninja | make) return 0 ;; esac; return 1; }
temps() { find "$W" -name '*.mldtmp-*' | LC_ALL=C sort; }
digest() { if [ -e "$1" ]; then find "$1" -type f -exec cat {} + | sha256 | cut -d' ' -f1; else echo absent; fi; }

# interrupt SIGNAL NAME TARGET CMD: start CMD held before its commit, send SIGNAL once its
# temp exists; it must die of SIGNAL and leave the target as it was, and no temp.
interrupt() {
	local sig=$1 name=$2 target=$3 cmd=$4
	local before
	before=$(digest "$target")
	MLD_TEST_COMMIT_DELAY_MS=20000 $cmd >/dev/null 2>"$T/err" &
	local pid=$! i
	for i in $(seq 200); do
		[ -n "$(temps)" ] && break
		sleep 0.05
	done
	[ -n "$(temps)" ] && ok || bad "$name: no temp appeared within 10 s ($(head -3 "$T/err"))"
	kill -s "$sig" "$pid"
	wait "$pid"
	local rc=$? want
	want=$((128 + $(kill -l "$sig")))
	eq "$name: killed by SIG$sig: exit status" "$rc" "$want"
	eq "$name: SIG$sig: temps left" "$(temps)" ""
	eq "$name: SIG$sig: the target is as it was" "$(digest "$target")" "$before"
}

for w in "${writes[@]}"; do
	IFS='|' read -r name target cmd <<<"$w"
	for sig in INT TERM HUP; do
		interrupt "$sig" "$name" "$target" "$cmd"
	done
	# once written, an interrupted rewrite keeps the previous file
	$cmd >/dev/null 2>"$T/err" && ok || bad "$name: plain run failed: $(head -3 "$T/err")"
	[ -e "$target" ] && ok || bad "$name: $target was not written"
	if rewrites_if_changed "$name"; then
		# stamps, depfiles and build files are rewritten only when their content changes
		printf 'old\n' >"$target"
	fi
	interrupt INT "$name (over a previous file)" "$target" "$cmd"
	# SIGKILL cannot be caught: the temp stays, and the next write removes it
	MLD_TEST_COMMIT_DELAY_MS=20000 $cmd >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 200); do
		[ -n "$(temps)" ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	[ -n "$(temps)" ] && ok || bad "$name: SIGKILL left no temp (was the write reached?)"
	if rewrites_if_changed "$name"; then printf 'old again\n' >"$target"; fi
	$cmd >/dev/null 2>"$T/err" && ok || bad "$name: run after SIGKILL failed: $(head -3 "$T/err")"
	eq "$name: the next write removed the killed writer's temp" "$(temps)" ""
done
finish
