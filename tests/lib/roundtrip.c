/* Read -> write -> read for every package given (the toy generator's output):
 * the rewritten weight.bin and model.mlmodel are byte-identical to the originals
 * (both writers use the canonical layout), and every weight's content digest is
 * unchanged. */
#include "../testc.h"
#include "mldedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_file(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	uint8_t *pa = slurp(a, &la), *pb = slurp(b, &lb);
	int same = pa && pb && la == lb && !memcmp(pa, pb, la);
	free(pa);
	free(pb);
	return same;
}

static int digests(mld_digest **out, const mld_package *pkg)
{
	size_t n = mld_package_weight_count(pkg);
	*out = calloc(n ? n : 1, sizeof **out);
	for (size_t i = 0; i < n; i++) {
		uint64_t dense;
		if (mld_weight_content_digest(&(*out)[i], NULL, &dense, pkg, mld_package_weight(pkg, i)))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: roundtrip TMPDIR PKG...\n");
		return 2;
	}
	int bad = 0;
	for (int a = 2; a < argc; a++) {
		char out[4096], x[4200], y[4200];
		snprintf(out, sizeof out, "%s/rt%d.mlpackage", argv[1], a);
		mld_package *p, *q;
		mld_digest *dp, *dq;
		if (mld_package_open(&p, argv[a]) || mld_package_write(p, out, MLD_WRITE_REPLACE) ||
		    mld_package_open(&q, out) || digests(&dp, p) || digests(&dq, q)) {
			fprintf(stderr, "%s: %s\n", argv[a], mld_error_last());
			return 1;
		}
		static const char *const files[] = {"Data/com.apple.CoreML/weights/weight.bin",
		                                    "Data/com.apple.CoreML/model.mlmodel"};
		for (int f = 0; f < 2; f++) {
			snprintf(x, sizeof x, "%s/%s", argv[a], files[f]);
			snprintf(y, sizeof y, "%s/%s", out, files[f]);
			if (!same_file(x, y)) {
				fprintf(stderr, "FAIL %s: rewritten %s differs\n", argv[a], files[f]);
				bad++;
			}
		}
		size_t n = mld_package_weight_count(p);
		if (n != mld_package_weight_count(q) || memcmp(dp, dq, n * sizeof *dp)) {
			fprintf(stderr, "FAIL %s: weights differ after the round trip\n", argv[a]);
			bad++;
		}
		free(dp);
		free(dq);
		mld_package_free(p);
		mld_package_free(q);
	}
	printf("%d packages, %d failures\n", argc - 2, bad);
	return bad != 0;
}
