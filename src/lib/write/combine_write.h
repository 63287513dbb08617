/* Writing the combined package from a finished plan (the layer above plan/). */
#ifndef MLD_COMBINE_WRITE_H
#define MLD_COMBINE_WRITE_H

#include "../plan/plan.h"

/* Build and (unless dry_run) write the combined package; fills bytes_after. The
 * opened packages are only read (each function is edited in a private copy of its
 * model), so a write that fails may be followed by another plan and write. */
int cb_write(cb_ctx *cb, const char *out_path);

/* Write each source s with a non-NULL out_paths[s] as its own single-function
 * package with the plan applied (mld_align); adds to bytes_after. */
int cb_write_aligned(cb_ctx *cb, const char *const *out_paths);

#endif
