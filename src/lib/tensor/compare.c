/* Verification's comparison, streamed: one weight against several, each decoded a
 * block at a time (wread.h) and compared as it is decoded (cmpkern.h), so that the
 * candidate is decoded once for all the weights compared with it and no weight's
 * values are ever all in memory when its form streams. */
#include "cmpkern.h"
#include "tensor.h"
#include "wread.h"

#include <stdlib.h>

static int shape_error(void) { return mld__err(MLD_EFORMAT, "cannot compare tensors of different shapes"); }

int mld__compare_group(const mld_package *pa, const mld_weight *wa, mld__cmp_member *b, size_t n, uint64_t *decoded)
{
	const mld__cmpkern *k = mld__cmpkern_get();
	mld__wread ra, *rb = mld__calloc(n ? n : 1, sizeof *rb);
	mld__cmpacc *acc = mld__calloc(n ? n : 1, sizeof *acc);
	bool *later = mld__calloc(n ? n : 1, sizeof *later);
	/* every reader buffered: the group reads a weight in every function at once */
	int rc = rb && acc && later ? mld__wread_open(&ra, pa, wa, true) : MLD_ENOMEM;
	if (!rc)
		rc = mld__wread_buffer(&ra);
	size_t opened = 0;
	if (rc)
		goto out;
	*decoded += 1;
	/* one pass over a with every member that streams; the others one by one after */
	for (; opened < n && !rc; opened++) {
		mld__cmpacc_init(&acc[opened]);
		if (!(rc = mld__wread_open(&rb[opened], b[opened].pkg, b[opened].w, false)) &&
		    !(rc = mld__wread_buffer(&rb[opened]))) {
			later[opened] = !mld__wread_streams(&rb[opened]);
			if (!later[opened] && rb[opened].count != ra.count)
				rc = shape_error();
		}
	}
	const void *da, *db;
	uint64_t na, nb;
	while (!rc && !(rc = mld__wread_next(&ra, &da, &na)) && na) {
		for (size_t i = 0; i < n && !rc; i++) {
			if (later[i])
				continue;
			if (!(rc = mld__wread_next(&rb[i], &db, &nb)) && nb != na)
				rc = shape_error();
			if (!rc)
				mld__cmpacc_feed(&acc[i], k, ra.dtype, da, rb[i].dtype, db, na);
		}
	}
	for (size_t i = 0; i < n && !rc; i++) {
		if (!later[i])
			continue;
		mld__wread_close(&rb[i]);
		if ((rc = mld__wread_open(&rb[i], b[i].pkg, b[i].w, true)) || (rc = mld__wread_buffer(&rb[i])))
			break;
		if (rb[i].count != ra.count) {
			rc = shape_error();
			break;
		}
		/* a again, from the start: a decoded tensor is rewound, a stream decoded again */
		if (ra.t) {
			ra.at = 0;
		} else {
			mld__wread_close(&ra);
			if ((rc = mld__wread_open(&ra, pa, wa, true)) || (rc = mld__wread_buffer(&ra)))
				break;
		}
		while (!rc && !(rc = mld__wread_next(&ra, &da, &na)) && na)
			if (!(rc = mld__wread_next(&rb[i], &db, &nb)) && nb != na)
				rc = shape_error();
			else if (!rc)
				mld__cmpacc_feed(&acc[i], k, ra.dtype, da, rb[i].dtype, db, na);
		mld__wread_close(&rb[i]);
	}
	for (size_t i = 0; i < n && !rc; i++)
		mld__cmpacc_result(&acc[i], &b[i].m);
	*decoded += n;
	mld__wread_close(&ra);
out:
	for (size_t i = 0; rb && i < opened; i++)
		mld__wread_close(&rb[i]);
	free(rb);
	free(acc);
	free(later);
	return rc;
}
