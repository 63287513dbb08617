/* Included once by each hash*.c, after choosing XXH_VECTOR: the whole of XXH3
 * inlined from the system header (XXH_INLINE_ALL renames it into this file), then
 * wrapped as an mld__hash_impl named `MLD_HASH_IMPL`. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "hash.h"

#include <string.h>

_Static_assert(sizeof(XXH3_state_t) <= sizeof(mld__hash) && _Alignof(XXH3_state_t) <= 64,
               "mld__hash must hold an XXH3_state_t");

/* mld__hash is storage for the state, only ever accessed as one */
typedef XXH3_state_t mld__xxh3_state;

static void h_reset(mld__hash *h) { XXH3_128bits_reset((mld__xxh3_state *)(void *)h->opaque); }

static void h_update(mld__hash *h, const void *data, size_t len)
{
	XXH3_128bits_update((mld__xxh3_state *)(void *)h->opaque, data, len);
}

static void h_digest(uint8_t out[16], const mld__hash *h)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest((const mld__xxh3_state *)(const void *)h->opaque));
	memcpy(out, c.digest, 16);
}

static void h_oneshot(uint8_t out[16], const void *data, size_t len)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
	memcpy(out, c.digest, 16);
}
