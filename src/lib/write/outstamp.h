/* The build stamp of a combined package, derived from the plan and the written
 * layout (see outstamp.c), built one function at a time as the write goes. */
#ifndef MLD_OUTSTAMP_H
#define MLD_OUTSTAMP_H

#include "../plan/plan.h"
#include "pkgwrite.h"

typedef struct cb_stamp cb_stamp;

int cb_stamp_new(cb_stamp **out, const cb_ctx *cb);
void cb_stamp_free(cb_stamp *st); /* NULL-safe */

/* Source s's part (not an alias's: cb_stamp_finish copies its original's), while its
 * output function lives: ops maps each output name of the function to its op,
 * rewritten says it was rewritten into the iOS18 form, blobs[0..n) are the blobs of
 * the output so far in file order, the function's among them, at their offsets. */
int cb_stamp_function(cb_stamp *st, size_t s, const mld__strmap *ops, bool rewritten, const mld__wblob *blobs,
                      size_t n);

/* The stamp text of the package just written: every blob written, in file order, and
 * what the writer reported. */
int cb_stamp_finish(cb_stamp *st, char **text, const mld__wblob *blobs, size_t n, const mld__write_info *info);

#endif
