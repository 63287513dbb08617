#include "arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
} chunk;

struct mld__arena {
	chunk *head;
};

mld__arena *mld__arena_new(void) { return mld__calloc(1, sizeof(mld__arena)); }

void *mld__arena_alloc(mld__arena *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	n = (n + al - 1) & ~(al - 1);
	chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		if (!(c = mld__malloc(sizeof *c + cap)))
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

void mld__arena_free(mld__arena *a)
{
	if (!a)
		return;
	for (chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
