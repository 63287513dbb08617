/* The streaming content digest and sketch (index's fast path) must equal the
 * digest and sketch of the fully decoded tensor, for every weight of every package
 * given (fixtures and toy exports), whatever the form. */
#include "mldedup.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	unsigned long checked = 0, bad = 0;
	for (int a = 1; a < argc; a++) {
		mld_package *pkg;
		if (mld_package_open(&pkg, argv[a])) {
			fprintf(stderr, "%s\n", mld_error_last());
			return 1;
		}
		for (size_t i = 0; i < mld_package_weight_count(pkg); i++) {
			const mld_weight *w = mld_package_weight(pkg, i);
			mld_tensor *t;
			mld_digest full, streamed;
			float sk_full[MLD_SKETCH_LEN], sk_stream[MLD_SKETCH_LEN];
			uint64_t dense = 0;
			if (mld_weight_decode(&t, pkg, w) ||
			    mld_weight_content_digest(&streamed, sk_stream, &dense, pkg, w)) {
				fprintf(stderr, "%s\n", mld_error_last());
				return 1;
			}
			mld_tensor_digest(&full, t);
			mld_tensor_sketch(sk_full, t);
			if (memcmp(&full, &streamed, sizeof full) || memcmp(sk_full, sk_stream, sizeof sk_full) ||
			    dense != t->nbytes) {
				fprintf(stderr, "MISMATCH %s %s %s\n", argv[a], mld_weight_function(w),
				        mld_weight_name(w));
				bad++;
			}
			mld_tensor_free(t);
			checked++;
		}
		mld_package_free(pkg);
	}
	printf("%lu weights checked, %lu mismatches\n", checked, bad);
	return bad || !checked ? 1 : 0;
}
