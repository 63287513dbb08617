#include "pbfree.h"

#include <stdlib.h>

static void *any_alloc(void *d, size_t n)
{
	(void)d;
	return malloc(n);
}

static void any_free(void *d, void *p)
{
	(void)d;
	mld__free(p);
}

ProtobufCAllocator mld__pb_any = {any_alloc, any_free, NULL};

static void *arena_alloc(void *a, size_t n) { return mld__arena_alloc(a, n); }

static void arena_free(void *a, void *p)
{
	if (p && !mld__arena_contains(a, p))
		free(p);
}

ProtobufCAllocator mld__pb_arena(mld__arena *a) { return (ProtobufCAllocator){arena_alloc, arena_free, a}; }
