/* A bump allocator for data freed all at once: a parsed model that is only read,
 * whose tens of thousands of small pieces cost more to free one by one than to parse. */
#ifndef MLD_ARENA_H
#define MLD_ARENA_H

#include "common.h"

typedef struct mld__arena mld__arena;

/* NULL when out of memory (the message set). Memory comes in chunks of 1 MiB
 * (mld__arena_new) or of `chunk_size` bytes, or of one allocation where that is larger. */
mld__arena *mld__arena_new(void);
mld__arena *mld__arena_new_chunked(size_t chunk_size);
/* n bytes aligned for any type; NULL when out of memory. */
void *mld__arena_alloc(mld__arena *a, size_t n);
/* Everything allocated from it, and the arena; NULL-safe. */
void mld__arena_free(mld__arena *a);

/* Whether p lies in this arena's memory (no lock: the arena is the caller's). */
bool mld__arena_contains(const mld__arena *a, const void *p);
/* Whether p lies in memory of a live arena (every arena registers its chunks). */
bool mld__arena_owns(const void *p);
/* free(p), unless p is an arena's (then it goes with its arena): for objects whose
 * pieces may come from either, such as a model copy parsed into an arena and then
 * edited with malloc'd pieces. */
void mld__free(void *p);

#endif
