/* Freeing the pieces of a model copy that combine edits: the copy is parsed into an
 * arena (freed at once, core/arena.h), and edits put malloc'd pieces into it, so every
 * free of a piece of it goes through mld__free, which leaves the arena's alone. */
#ifndef MLD_PBFREE_H
#define MLD_PBFREE_H

#include "../core/arena.h"
#include "../io/mil.h"

/* For protobuf_c_message_free_unpacked and the generated *__free_unpacked of any piece
 * of a model copy (or of any model: malloc'd pieces are freed as usual). */
extern ProtobufCAllocator mld__pb_any;
/* The allocator parsing into an arena is mld__pb_arena (io/mil.h). */

#endif
