#!/usr/bin/env bash
# Every figure of issue 10 next to its limit, measured in one run, medians of RUNS
# (default 3), as one table:
#
#   index            vs  raw read + XXH3-128 of the stored bytes once (mldedup-rawhash),
#                        plus XXH3-128 of the dense values (mldedup-rawhash --dense)
#   combine, cold    vs  a copy of its output's weight.bin - the distinct blobs - read,
#   combine, warm        written and fsynced as combine writes it (mldedup-rawcopy)
#   combine --stamp  vs  the same warm combine without --stamp (CPU time)
#   peak RSS of the cold combine (and, for the 10-function chunk, as functions are added)
#
# on three exports (generated once under $WORK, reused):
#   qwen05b  the Qwen2.5-0.5B-sized 2-chunk export (toygen --preset qwen05b):
#            index of all 4 packages, combine of chunk 1 (infer + prefill)
#   qwen15b  chunk 1 of the Qwen2.5-1.5B-sized export (--preset qwen15b): 2 packages
#   statex   chunk 1 of a 5-context state-transition Qwen2.5-0.5B export (--contexts):
#            10 functions (infer_ctxN, prefill_ctxN)
#
# "ratio" is limit / figure for times (1 = as fast as the limit), figure / limit for
# CPU and memory. Wall times on a shared machine move with its load (printed); the
# CPU columns move less. Needs /usr/bin/time (Debian package time).
#
#   bench/run_all.sh [qwen05b|qwen15b|statex ...]   (RUNS, MLD_BENCH_WORK, MLD_BENCH_BUILD)
source "$(dirname "$0")/common.sh"
[ -x /usr/bin/time ] || { echo "run_all.sh: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }
bench_build
RAWCOPY=$BUILD/bench/mldedup-rawcopy
runs=${RUNS:-3}
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(qwen05b qwen15b statex)
mkdir -p "$WORK"

# ---- the exports ------------------------------------------------------------------
gen() { # gen DIR TOYGEN-ARGS...: generate once
	local dir=$1
	shift
	if [ ! -f "$dir/toygen.json" ]; then
		rm -rf "$dir"
		echo "generating $dir ..." >&2
		"$TOYGEN" -q -o "$dir" "$@"
	fi
}
# per set: IDX (packages indexed), SRC (combine sources)
setup() {
	IDX=() SRC=()
	case $1 in
	qwen05b)
		local d=$WORK/qwen05b
		gen "$d" --preset qwen05b
		IDX=("$d"/*.mlpackage)
		SRC=(infer="$d/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$d/toy_prefill_lut6_chunk_01of02.mlpackage")
		;;
	qwen15b)
		local d=$WORK/qwen15b
		gen "$d" --preset qwen15b
		IDX=("$d/toy_FFN_lut6_chunk_01of02.mlpackage" "$d/toy_prefill_lut6_chunk_01of02.mlpackage")
		SRC=(infer="${IDX[0]}" prefill="${IDX[1]}")
		;;
	statex)
		local d=$WORK/qwen05b-statex c
		gen "$d" --preset qwen05b --chunks 2 --contexts 512,1024,2048,3072,4096
		for c in 512 1024 2048 3072 4096; do
			IDX+=("$d/ctx$c/toy_FFN_lut6_chunk_01of02.mlpackage" "$d/ctx$c/toy_prefill_lut6_chunk_01of02.mlpackage")
			SRC+=("infer_ctx$c=$d/ctx$c/toy_FFN_lut6_chunk_01of02.mlpackage"
				"prefill_ctx$c=$d/ctx$c/toy_prefill_lut6_chunk_01of02.mlpackage")
		done
		;;
	*) echo "run_all.sh: unknown set $1 (qwen05b, qwen15b, statex)" >&2; exit 2 ;;
	esac
}
wbins() { local p; for p in "$@"; do echo "$p/Data/com.apple.CoreML/weights/weight.bin"; done; }

# ---- measuring ----------------------------------------------------------------------
# timed NAME COMMAND...: run it under /usr/bin/time; append wall, CPU (user+sys) and
# max RSS (kB) to $WORK/m.NAME.{wall,cpu,rss}
timed() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S %M" -o "$WORK/time.out" "$@" >"$WORK/cmd.log" 2>&1 || {
		cat "$WORK/cmd.log" >&2
		echo "run_all.sh: failed: $*" >&2
		exit 1
	}
	read -r e u s m <"$WORK/time.out"
	echo "$e" >>"$WORK/m.$name.wall"
	echo "$u + $s" | bc -l >>"$WORK/m.$name.cpu"
	echo "$m" >>"$WORK/m.$name.rss"
}
med() { median <"$WORK/m.$1.$2"; } # med NAME wall|cpu|rss
add() { echo "$2" >>"$WORK/m.$1.wall"; } # add NAME SECONDS (a tool's own timing)

rows=()
row() { rows+=("$(printf '%-8s  %-36s %10s  %-44s %10s  %8s  %s' "$@")"); }
secs() { printf '%.3f s' "$1"; }
ratio() { printf '%.2fx' "$(echo "$1 / $2" | bc -l)"; }
verdict() { # verdict VALUE OP LIMIT
	if [ "$(echo "$1 $2 $3" | bc -l)" = 1 ]; then echo "ok ($2 $3)"; else echo "MISSED ($2 $3)"; fi
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for set in "${sets[@]}"; do
	setup "$set"
	rm -f "$WORK"/m.*
	out=$WORK/$set.out.mlpackage store=$WORK/$set.db
	mapfile -t files < <(wbins "${IDX[@]}")
	cat "${files[@]}" >/dev/null # the page cache holds the sources, as in a build
	: >"$WORK/$set.copy.bin"
	for i in $(seq "$runs"); do
		# limits
		add raw "$("$RAWHASH" "${files[@]}" | cut -d' ' -f2)"
		add dense "$("$RAWHASH" --dense "${IDX[@]}" | cut -d' ' -f2)"
		# index, fresh store
		rm -f "$store"*
		timed index "$MLDEDUP" index -q --store "$store" "${IDX[@]}"
		# combine, cold (a fresh store: the sources are indexed too), warm, warm --stamp
		rm -f "$store"*
		timed cold "$MLDEDUP" combine -q --store "$store" -o "$out" "${SRC[@]}"
		timed warm "$MLDEDUP" combine -q --store "$store" -o "$out" "${SRC[@]}"
		timed stamp "$MLDEDUP" combine -q --store "$store" --stamp "$WORK/$set.stamp" -o "$out" "${SRC[@]}"
		timed nostamp "$MLDEDUP" combine -q --store "$store" -o "$out" "${SRC[@]}"
		# the limit of a combine: its output's bytes copied as combine writes them, and
		# replacing the previous copy as combine replaces its previous output
		add copy "$("$RAWCOPY" "$out/Data/com.apple.CoreML/weights/weight.bin" "$WORK/$set.copy.bin" | cut -d' ' -f2)"
	done
	rm -f "$WORK/$set.copy.bin"
	bytes=$(cat "${files[@]}" | wc -c)
	obytes=$(wc -c <"$out/Data/com.apple.CoreML/weights/weight.bin" | tr -d ' ')
	raw=$(med raw wall) dense=$(med dense wall) copy=$(med copy wall)
	lim=$(echo "$raw + $dense" | bc -l)
	x=$(med index wall)
	row "$set" "index (${#IDX[@]} pkgs, $((bytes / 1000000)) MB)" "$(secs "$x")" \
		"raw read+XXH3 $(secs "$raw") + dense XXH3 $(secs "$dense")" "$(secs "$lim")" "$(ratio "$lim" "$x")" \
		"vs raw read+XXH3 alone: $(ratio "$raw" "$x") $(verdict "$raw / $x" ">=" 0.35)"
	x=$(med cold wall)
	row "$set" "combine, cold (${#SRC[@]} functions)" "$(secs "$x")" "copy of the output ($((obytes / 1000000)) MB) + fsync" \
		"$(secs "$copy")" "$(ratio "$copy" "$x")" "CPU $(secs "$(med cold cpu)")"
	x=$(med warm wall)
	row "$set" "combine, warm" "$(secs "$x")" "copy of the output + fsync" "$(secs "$copy")" "$(ratio "$copy" "$x")" \
		"CPU $(secs "$(med warm cpu)"); $(verdict "$copy / $x" ">=" 0.8)"
	s=$(med stamp cpu) n=$(med nostamp cpu)
	row "$set" "combine --stamp, warm (CPU)" "$(secs "$s")" "the same without --stamp (CPU)" "$(secs "$n")" \
		"$(ratio "$s" "$n")" "$(verdict "$s / $n" "<=" 1.3); wall $(secs "$(med stamp wall)") vs $(secs "$(med nostamp wall)")"
	r=$(med cold rss)
	row "$set" "peak RSS, cold combine" "$((r / 1024)) MB" "the sources' weight files" "$((bytes / 1048576)) MB" \
		"$(ratio "$r * 1024" "$bytes")" "$(verdict "$r / 1024" "<=" 400); warm $(($(med warm rss) / 1024)) MB"
	if [ "$set" = statex ]; then
		# flat as functions are added: cold combines of the first 2, 4, ..., 10 functions
		line=""
		for n in 2 4 6 8 10; do
			rm -f "$WORK"/m.rss"$n".* "$store"*
			timed rss$n "$MLDEDUP" combine -q --store "$store" -o "$WORK/$set.f$n.mlpackage" "${SRC[@]:0:$n}"
			line+="$n: $(($(med rss$n rss) / 1024)) MB  "
			rm -rf "$WORK/$set.f$n.mlpackage"
		done
		row "$set" "peak RSS, cold, by functions" "" "" "" "" "$line"
	fi
	rm -rf "$out" "$store"*
done

echo
printf '%s, %s, %d CPUs, kernels: %s; medians of %d; load average %s at the start, %s at the end\n' \
	"$("$MLDEDUP" --version 2>/dev/null | head -1)" "$(uname -sm)" "$(ncpu)" "$("$KERNBENCH" --paths)" "$runs" \
	"$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s  %-36s %10s  %-44s %10s  %8s  %s\n' set figure value limit "limit" ratio "target / notes"
printf '%s\n' "${rows[@]}"
