# dense values of every form, as hex: a decoding change shows here
p=$(pkg allops.mlpackage --seed 0 --all-ops)
for w in w_dense w_lut w_q w_lut16 w_u3 w_f32 w_sparse16 w_sparse18 w_affine w_cast w_lut_sparse w_sparse_q; do
	printf '%s ' "$w"
	"$MLDEDUP" cat "$p" main "$w" | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/ $//'
	echo
done
