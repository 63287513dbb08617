/* Writing the combined package from a finished plan (the layer above plan/). */
#ifndef MLD_COMBINE_WRITE_H
#define MLD_COMBINE_WRITE_H

#include "../plan/plan.h"

/* The write applies the plan to the packages' own models (cb->models_edited):
 * cb_write_restore parses them again as they were read (for deciding afresh: every
 * weight pointer changes); cb_write_discard frees what the write left (before the
 * packages are freed). */
int cb_write_restore(cb_ctx *cb);
void cb_write_discard(cb_ctx *cb);

/* Build and (unless dry_run) write the combined package; fills bytes_after. */
int cb_write(cb_ctx *cb, const char *out_path);

/* Write each source s with a non-NULL out_paths[s] as its own single-function
 * package with the plan applied (mld_align); adds to bytes_after. */
int cb_write_aligned(cb_ctx *cb, const char *const *out_paths);

#endif
