/* Verification's streamed comparison (mld__compare_group: each weight decoded a block
 * at a time, the candidate once for all its members) must give exactly the metrics of
 * mld_tensor_compare on the fully decoded tensors, as a group and one by one.
 * usage: mld-compare ANCHOR PKG...: every weight of ANCHOR against the same-named
 * weights of the same dtype and shape in the others. */
#include "mldedup.h"
#include "tensor/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }
static int same_m(const mld_metrics *a, const mld_metrics *b)
{
	return same(a->cos, b->cos) && same(a->mean_abs, b->mean_abs) && same(a->max_abs, b->max_abs);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mld-compare ANCHOR PKG...\n");
		return 2;
	}
	int n = argc - 1;
	mld_package **pk = calloc((size_t)n, sizeof *pk);
	for (int i = 0; i < n; i++)
		if (mld_package_open(&pk[i], argv[i + 1])) {
			fprintf(stderr, "%s\n", mld_error_last());
			return 1;
		}
	unsigned long pairs = 0, bad = 0;
	mld__cmp_member *mb = calloc((size_t)n, sizeof *mb);
	for (size_t k = 0; k < mld_package_weight_count(pk[0]); k++) {
		const mld_weight *a = mld_package_weight(pk[0], k);
		size_t m = 0;
		for (int i = 1; i < n; i++) {
			const mld_weight *b;
			if (mld_package_find_weight(&b, pk[i], mld_weight_function(a), mld_weight_name(a)) ||
			    mld_weight_dtype(b) != mld_weight_dtype(a) || mld_weight_rank(b) != mld_weight_rank(a) ||
			    memcmp(mld_weight_shape(a), mld_weight_shape(b), mld_weight_rank(a) * sizeof(uint64_t)))
				continue;
			mb[m++] = (mld__cmp_member){pk[i], b, {0, 0, 0}};
		}
		if (!m)
			continue;
		mld_tensor *ta;
		if (mld_weight_decode(&ta, pk[0], a)) {
			if (mld_error_code() == MLD_EUNSUPPORTED)
				continue;
			fprintf(stderr, "%s\n", mld_error_last());
			return 1;
		}
		uint64_t decoded = 0;
		if (mld__compare_group(pk[0], a, mb, m, &decoded)) {
			fprintf(stderr, "%s\n", mld_error_last());
			return 1;
		}
		for (size_t j = 0; j < m; j++) {
			mld_tensor *tb;
			mld_metrics whole, alone;
			mld__cmp_member one = {mb[j].pkg, mb[j].w, {0, 0, 0}};
			if (mld_weight_decode(&tb, mb[j].pkg, mb[j].w) || mld_tensor_compare(&whole, ta, tb) ||
			    mld__compare_group(pk[0], a, &one, 1, &decoded)) {
				fprintf(stderr, "%s\n", mld_error_last());
				return 1;
			}
			alone = one.m;
			if (!same_m(&whole, &mb[j].m) || !same_m(&whole, &alone)) {
				fprintf(stderr,
				        "MISMATCH %s %s: whole cos %.17g mean %.17g max %.17g, group cos %.17g mean "
				        "%.17g max %.17g\n",
				        mld_package_path(mb[j].pkg), mld_weight_name(a), whole.cos, whole.mean_abs,
				        whole.max_abs, mb[j].m.cos, mb[j].m.mean_abs, mb[j].m.max_abs);
				bad++;
			}
			mld_tensor_free(tb);
			pairs++;
		}
		mld_tensor_free(ta);
	}
	for (int i = 0; i < n; i++)
		mld_package_free(pk[i]);
	free(pk);
	free(mb);
	printf("%lu pairs compared, %lu mismatches\n", pairs, bad);
	return bad || !pairs ? 1 : 0;
}
