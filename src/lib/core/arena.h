/* A bump allocator for data freed all at once: a parsed model that is only read,
 * whose tens of thousands of small pieces cost more to free one by one than to parse. */
#ifndef MLD_ARENA_H
#define MLD_ARENA_H

#include "common.h"

typedef struct mld__arena mld__arena;

/* NULL when out of memory (the message set). */
mld__arena *mld__arena_new(void);
/* n bytes aligned for any type; NULL when out of memory. */
void *mld__arena_alloc(mld__arena *a, size_t n);
/* Everything allocated from it, and the arena; NULL-safe. */
void mld__arena_free(mld__arena *a);

#endif
