/* Writing the combined package from a finished plan (the layer above plan/). */
#ifndef MLD_COMBINE_WRITE_H
#define MLD_COMBINE_WRITE_H

#include "../plan/plan.h"

/* Start making the write's private copies of the sources' models on another thread,
 * while the plan is made (cb_write takes them; cb_write_discard frees them unused). */
void cb_write_prepare(cb_ctx *cb);
void cb_write_discard(cb_ctx *cb);

/* Build and (unless dry_run) write the combined package; fills bytes_after. */
int cb_write(cb_ctx *cb, const char *out_path);

/* Write each source s with a non-NULL out_paths[s] as its own single-function
 * package with the plan applied (mld_align); adds to bytes_after. */
int cb_write_aligned(cb_ctx *cb, const char *const *out_paths);

#endif
