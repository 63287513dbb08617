#!/usr/bin/env bash
# cli_opset: combining raises iOS15/16/17 sources to the iOS18 op set. Every op whose
# meaning or inputs changed on the way is migrated or refused (the table at the top
# of src/lib/write/ios18.c); one synthetic model per decision (mldtest mkpkg --ios16).
source "$(dirname "$0")/lib.sh"

M=Data/com.apple.CoreML/model.mlmodel
G=$T/g.mlpackage
"$MLDTEST" mkpkg "$G" --all-ops || { echo "FAIL: mldtest mkpkg"; exit 1; }

# combine_ops NAME MKPKG-ARGS...: combine a=<that package> b=$G; the ops of function a
# go to $T/NAME.ops (the combine must succeed).
combine_ops() {
	local name=$1
	shift
	"$MLDTEST" mkpkg "$T/$name.mlpackage" "$@"
	expect 0 "$name: combine" -- "$MLDEDUP" combine -q --no-store -o "$T/$name-out.mlpackage" a="$T/$name.mlpackage" b="$G"
	"$MLDTEST" ops "$T/$name-out.mlpackage/$M" | sed -n '/^function a /,/^function /p' >"$T/$name.ops"
	expect 0 "$name: verify" -- "$MLDEDUP" verify "$T/$name-out.mlpackage" a="$T/$name.mlpackage" b="$G"
}
has() { # has NAME DESCRIPTION LINE: the ops of NAME hold exactly this line
	grep -qxF -- "$3" "$T/$1.ops" && ok || bad "$1: $2: no line '$3'"
}
hasnt() { # hasnt NAME DESCRIPTION REGEX
	grep -qE -- "$3" "$T/$1.ops" && bad "$1: $2: unexpected '$(grep -E -- "$3" "$T/$1.ops" | head -1)'" || ok
}
refused() { # refused NAME PATTERN... -- MKPKG-ARGS...: combine exits 1 naming the op and the way out
	local name=$1
	shift
	local pats=()
	while [ "$1" != "--" ]; do pats+=("$1"); shift; done
	shift
	"$MLDTEST" mkpkg "$T/$name.mlpackage" "$@"
	expect 1 "$name: refused" 'function "a"' "${pats[@]}" "minimum_deployment_target=iOS18" -- \
		"$MLDEDUP" combine -q --no-store -o "$T/$name-out.mlpackage" a="$T/$name.mlpackage" b="$G"
	[ -e "$T/$name-out.mlpackage" ] && bad "$name: an output was written" || ok
}

# ---- iOS16 (CoreML6): the gather and scatter families get non-negative indices ----------
combine_ops ios16 --ios16
has ios16 "the output op set" "function a CoreML8 spec 9"
# gather(x=w_table[6,4], indices=ids, axis=0): select(ids >= 0, ids, ids + 6)
has ios16 "gather: zero" "const g_mld_zero @val=[0]"
has ios16 "gather: the axis size" "const g_mld_dim @val=[6]"
has ios16 "gather: ids >= 0" "greater_equal g_mld_nonneg x=ids y=g_mld_zero"
has ios16 "gather: ids + 6" "add g_mld_wrapped x=ids y=g_mld_dim"
has ios16 "gather: select" "select g_mld_indices cond=g_mld_nonneg a=ids b=g_mld_wrapped"
has ios16 "gather: rebound" "gather g x=w_table indices=g_mld_indices axis=axis0"
has ios16 "gather_along_axis" "gather_along_axis ga x=w_table indices=ga_mld_indices axis=axis0"
has ios16 "gather_along_axis: ids2 + 6" "add ga_mld_wrapped x=ids2 y=ga_mld_dim"
# gather_nd(x=[6,4], indices=idsnd[2,1]): one index column, of dimension 0 (6)
has ios16 "gather_nd: per-column sizes" "const gn_mld_dim @val=[6]"
has ios16 "gather_nd" "gather_nd gn x=w_table indices=gn_mld_indices"
has ios16 "scatter" 'scatter sc data=w_table indices=sc_mld_indices updates=g axis=axis0 mode="update"'
has ios16 "scatter_along_axis" "scatter_along_axis sa data=sc indices=sa_mld_indices updates=ga axis=axis0"
has ios16 "scatter_nd" "scatter_nd sn data=sa indices=sn_mld_indices updates=gn"
# unchanged meaning: kept as they are
has ios16 "clip with alpha < beta" "clip cl x=sn alpha=clip_lo beta=clip_hi"
has ios16 "reshape (0s: the same dims when len(shape) == rank)" "reshape rs x=cl shape=rshape"
has ios16 "affine_dequantize (still an iOS18 op, attribute form)" \
	"constexpr_affine_dequantize w_affine @quantized_data=blob @zero_point=imm @scale=imm @axis=[0]"
# iOS16 constexpr forms: the iOS18 input form
has ios16 "lut_to_dense: inputs" "constexpr_lut_to_dense w_lut16 indices=blob lut=imm"
has ios16 "sparse_to_dense: inputs" "constexpr_sparse_to_dense w_sparse16 nonzero_data=blob mask=blob"
has ios16 "cast: inputs" 'constexpr_cast w_cast source_val=blob output_dtype="fp32"'
hasnt ios16 "no iOS16 shape attribute" "@shape="
# the weights are the same values (verify above) and the iOS15 label gets the same treatment
combine_ops ios15 --ios16 --opset CoreML5
has ios15 "iOS15: gather" "gather g x=w_table indices=g_mld_indices axis=axis0"

# ---- iOS17 (CoreML7): already the iOS17 meaning; only the constexpr forms change ---------
combine_ops ios17 --ios16 --opset CoreML7
has ios17 "the output op set" "function a CoreML8 spec 9"
has ios17 "gather untouched" "gather g x=w_table indices=ids axis=axis0"
has ios17 "scatter_nd untouched" "scatter_nd sn data=sa indices=idsnd updates=gn"
hasnt ios17 "no index rewrite" "_mld_"
has ios17 "lut_to_dense: inputs" "constexpr_lut_to_dense w_lut16 indices=blob lut=imm"

# ---- indices that cannot be negative are left alone --------------------------------------
combine_ops const_pos --ios16-case idx_const_pos
has const_pos "constant indices [0, 5]" "gather gc x=w_table indices=cidx"
combine_ops uint16 --ios16-case idx_uint16
has uint16 "uint16 indices" "gather g16 x=w_table indices=ids16"
# constant indices with a negative value: made non-negative like runtime ones
combine_ops const_neg --ios16-case idx_const_neg
has const_neg "constant indices [-1, 2]" "gather gc x=w_table indices=gc_mld_indices"
has const_neg "... against the size of axis 0" "add gc_mld_wrapped x=cidx y=gc_mld_dim"

# ---- refused, naming the op and the way out ------------------------------------------------
refused int16 'gather "g16"' "int16 indices may be negative" -- --ios16-case idx_int16
refused symbolic 'gather "gs"' "size of axis 0 of its input is not fixed" -- --ios16-case idx_symbolic
refused crop_resize 'crop_resize "crop"' "replaced its input roi with boxes and box_indices" -- --ios16-case crop_resize
refused nms 'non_maximum_suppression "nms"' "removed its input score_threshold" -- --ios16-case nms
refused clip_equal 'clip "cl"' "alpha 1 is not below beta 1" -- --ios16-case clip_equal

# an iOS16 sparse_to_dense whose mask has no type: its rewrite read through a NULL
# type (found by the ios18 fuzz target); now an error naming the op
"$MLDTEST" mkpkg "$T/untyped.mlpackage" --ios16-case untyped_mask
# an iOS16 shape its packed mask does not fit: refused, whether the decoder or the
# rewrite (which would type the bytes as what they are not; found by the ios18 fuzz
# target) sees it first
"$MLDTEST" mkpkg "$T/mismatch.mlpackage" --ios16-case shape_mismatch
expect 1 "iOS16 shape over a smaller mask: combine" 'w_sparse16' "2048 bytes" -- \
	"$MLDEDUP" combine -q --no-store -o "$T/mismatch-out.mlpackage" a="$T/mismatch.mlpackage" b="$G"
expect 1 "untyped iOS16 mask: combine" 'constexpr_sparse_to_dense "w_sparse16"' "not a tensor type" -- \
	"$MLDEDUP" combine -q --no-store -o "$T/untyped-out.mlpackage" a="$T/untyped.mlpackage" b="$G"

finish
