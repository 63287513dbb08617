/* The build stamp of a combined package, derived from the plan and the written
 * layout (see outstamp.c). */
#ifndef MLD_OUTSTAMP_H
#define MLD_OUTSTAMP_H

#include "../plan/plan.h"
#include "pkgwrite.h"

/* The stamp text of the package just written from `cb`'s plan: ops[s] maps each
 * output name of source s's function in the output model to its op (aliases use
 * their original's), rewritten[s] says the function was rewritten into the iOS18
 * form, items are the written items (their Values hold the offsets written), info
 * what the writer reported. */
int cb_out_stamp(char **text, const cb_ctx *cb, const mld__strmap *ops, const bool *rewritten,
                 const mld__blob_item *items, size_t n_items, const mld__write_info *info);

#endif
