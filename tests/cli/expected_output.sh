#!/usr/bin/env bash
# cli_expected_output: `mldedup ls` (table and --json) of the synthetic packages is
# compared byte for byte with the files checked in under expected/ (zstd's
# playTests style). After an intended change, regenerate them with
#   MLD_UPDATE_EXPECTED=1 ctest -R cli_expected_output
# and review the diff.
source "$(dirname "$0")/lib.sh"
EXP=$MLD_CLI_TESTS/expected

"$MLDTEST" mkpkg "$T/synth.mlpackage" --seed 0 &&
	"$MLDTEST" mkpkg "$T/synth2.mlpackage" --seed 0 --second-fn &&
	"$MLDTEST" mkpkg "$T/allops.mlpackage" --seed 0 --all-ops || { echo "FAIL: mkpkg"; exit 1; }

compare() { # compare NAME COMMAND...: stdout of COMMAND vs expected/NAME
	local name=$1
	shift
	expect 0 "$name" -- "$@"
	if [ "${MLD_UPDATE_EXPECTED:-}" = 1 ]; then
		cp "$T/out" "$EXP/$name"
		echo "updated $EXP/$name"
	fi
	if [ ! -f "$EXP/$name" ]; then
		bad "$name: $EXP/$name is missing (MLD_UPDATE_EXPECTED=1 creates it)"
	elif cmp -s "$T/out" "$EXP/$name"; then
		ok
	else
		bad "$name: output differs from $EXP/$name"
		diff -u "$EXP/$name" "$T/out" | head -40 >&2
	fi
}

compare synth_ls.tsv "$MLDEDUP" ls "$T/synth.mlpackage"
compare synth_ls_noheader_nodigest.tsv "$MLDEDUP" ls --no-header --no-digest "$T/synth.mlpackage"
compare synth_ls.json "$MLDEDUP" ls --json "$T/synth.mlpackage"
compare synth2_ls.tsv "$MLDEDUP" ls "$T/synth2.mlpackage"
compare synth_allops_ls.tsv "$MLDEDUP" ls "$T/allops.mlpackage"
compare synth_allops_forms.tsv "$MLDEDUP" ls --forms "$T/allops.mlpackage"

# The same listing from a zip of the package.
"$MLDTEST" mkzip "$T/synth.zip" "$T/synth.mlpackage"
compare synth_ls.tsv "$MLDEDUP" ls "$T/synth.zip"

# Dense values of a few weights, as hex, so a decoding change shows here too.
for w in w_dense w_lut w_q w_lut16 w_u3 w_f32 w_sparse16 w_sparse18 w_affine w_cast w_lut_sparse w_sparse_q; do
	"$MLDEDUP" cat "$T/allops.mlpackage" main "$w" | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
	echo
done >"$T/values"
compare synth_values.hex cat "$T/values"

finish
