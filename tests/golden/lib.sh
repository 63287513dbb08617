# Helpers for golden cases (sourced by run.sh).

# A synthetic package, made once: pkg NAME [mkpkg options] -> prints its path.
pkg() {
	local name=$1
	shift
	[ -d "$W/$name" ] || "$MLDTEST" mkpkg "$W/$name" "$@" >/dev/null || return 1
	echo "$W/$name"
}

# A small ANEMLL-style toy export (2 layers, 1 chunk; infer + prefill), made once.
toy() {
	local d=$W/toy
	[ -d "$d" ] || "$TOYGEN" -q -o "$d" --layers 2 --chunks 1 --hidden 32 --intermediate 64 --heads 2 \
		--kv-heads 1 --prefill-len 8 --context 64 "$@" >/dev/null || return 1
	echo "$d"
}

need_fixtures() {
	[ -d "$F" ] || { echo "fixtures not found at $F" >&2; exit 77; }
}

# Times and durations that change from run to run.
untime() {
	sed -E -e 's/"seconds": [0-9.e+-]+/"seconds": <s>/' -e 's/in [0-9.]+ s$/in <s> s/' \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}Z?/<time>/g'
}
