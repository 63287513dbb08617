# --dry-run --report: every decision, written atomically; no package
"$MLDEDUP" combine -q --no-store --dry-run --report "$W/r.csv" -o "$W/dry.mlpackage" \
	infer="$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage" prefill="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage" &&
	cat "$W/r.csv" && { [ -e "$W/dry.mlpackage" ] && echo "a package was written" || echo "no package"; }
