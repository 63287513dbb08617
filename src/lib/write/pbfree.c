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
