#!/usr/bin/env bash
# Query latency: median wall time (ms) over RUNS (default 20) of `stats`, `dupes` and a
# few others on a store. Usage: bench/query_bench.sh [STORE]; without STORE, a store of
# every fixture package (MLD_FIXTURES_DIR, default ../shared/fixtures) with the four
# chunked groups combined is built in $WORK first.
#
# Recorded (Release, 2-core VM under load from parallel builds; wall median / CPU):
#   fixture store, 38 packages, 1184 weights, 427 contents, 655 kB:
#     --version 4.6 ms / 2.5 ms; stats 11-15 ms / 4.7 ms; dupes 20-25 ms / 9.3 ms
#   20 copies of the fixtures, 760 packages, 23680 weights, 9 MB:
#     stats 36-70 ms / 39 ms; dupes 230 ms / 150 ms; dupes --json 263 ms / 203 ms
source "$(dirname "$0")/common.sh"
bench_build
runs=${RUNS:-20}
store=${1:-}
if [ -z "$store" ]; then
	fx=${MLD_FIXTURES_DIR:-$ROOT/../shared/fixtures}
	store=$WORK/query.db
	mkdir -p "$WORK" && rm -f "$store"*
	"$MLDEDUP" index -q --store "$store" $(find "$fx" -name '*.mlpackage' -type d -prune | sort)
	for g in lut6_chunk_01of02 lut6_chunk_02of02 lut4_chunk_01of02 lut4_chunk_02of02; do
		"$MLDEDUP" combine -q --store "$store" -o "$WORK/query_$g.mlpackage" \
			infer="$fx/chunked/toy_FFN_$g.mlpackage" prefill="$fx/chunked/toy_prefill_$g.mlpackage"
	done
fi
"$MLDEDUP" stats --store "$store" | grep -E '^(store|packages|weights|distinct contents|decisions)  '
time_ms() { # median wall ms of "mldedup ARGS..." ($EPOCHREALTIME: no fork around the timing)
	local t=() t0 shown="$*"
	for i in $(seq "$runs"); do
		t0=$EPOCHREALTIME
		"$MLDEDUP" "$@" >/dev/null
		t+=("$(echo "($EPOCHREALTIME - $t0) * 1000" | bc -l)")
	done
	printf '%-34s %7.2f ms\n' "${shown/ --store $store/}" "$(printf '%s\n' "${t[@]}" | median)"
}
echo "median of $runs runs:"
time_ms --version # process start-up alone
for q in stats "stats --json" dupes "dupes --json" "dupes --across packages" packages fsck; do
	time_ms ${q%% *} --store "$store" ${q#"${q%% *}"}
done
time_ms sql --store "$store" "SELECT count(*) FROM q1_weights"
