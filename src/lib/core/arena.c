#include "arena.h"

#include <pthread.h>
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
	size_t chunk; /* the size of a new chunk */
};

/* The chunks of every live arena, sorted by address, for mld__arena_owns. */
typedef struct range {
	uintptr_t lo, hi;
} range;
static struct {
	pthread_mutex_t mu;
	range *r;
	size_t n, cap;
} reg = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static bool reg_add(uintptr_t lo, uintptr_t hi)
{
	pthread_mutex_lock(&reg.mu);
	bool ok = true;
	if (reg.n == reg.cap) {
		size_t cap = reg.cap ? 2 * reg.cap : 64;
		range *r = realloc(reg.r, cap * sizeof *r);
		if (r) {
			reg.r = r;
			reg.cap = cap;
		} else {
			ok = false;
		}
	}
	if (ok) {
		size_t i = reg.n;
		while (i > 0 && reg.r[i - 1].lo > lo) {
			reg.r[i] = reg.r[i - 1];
			i--;
		}
		reg.r[i] = (range){lo, hi};
		reg.n++;
	}
	pthread_mutex_unlock(&reg.mu);
	return ok;
}

static void reg_remove(uintptr_t lo)
{
	pthread_mutex_lock(&reg.mu);
	for (size_t i = 0; i < reg.n; i++)
		if (reg.r[i].lo == lo) {
			memmove(&reg.r[i], &reg.r[i + 1], (reg.n - i - 1) * sizeof *reg.r);
			reg.n--;
			break;
		}
	if (!reg.n) {
		free(reg.r);
		reg.r = NULL;
		reg.cap = 0;
	}
	pthread_mutex_unlock(&reg.mu);
}

bool mld__arena_owns(const void *p)
{
	uintptr_t x = (uintptr_t)p;
	pthread_mutex_lock(&reg.mu);
	size_t lo = 0, hi = reg.n;
	while (lo < hi) { /* the last range starting at or below x */
		size_t mid = (lo + hi) / 2;
		if (reg.r[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool owned = lo > 0 && x < reg.r[lo - 1].hi;
	pthread_mutex_unlock(&reg.mu);
	return owned;
}

bool mld__arena_contains(const mld__arena *a, const void *p)
{
	const unsigned char *x = p;
	for (const chunk *c = a ? a->head : NULL; c; c = c->next)
		if (x >= c->data && x < c->data + c->cap)
			return true;
	return false;
}

void mld__free(void *p)
{
	if (p && !mld__arena_owns(p))
		free(p);
}

mld__arena *mld__arena_new_chunked(size_t chunk_size)
{
	mld__arena *a = mld__calloc(1, sizeof(mld__arena));
	if (a)
		a->chunk = chunk_size ? chunk_size : 1;
	return a;
}

mld__arena *mld__arena_new(void) { return mld__arena_new_chunked(1u << 20); }

void *mld__arena_alloc(mld__arena *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	n = (n + al - 1) & ~(al - 1);
	chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > a->chunk ? n : a->chunk;
		if (!(c = mld__malloc(sizeof *c + cap)))
			return NULL;
		if (!reg_add((uintptr_t)c->data, (uintptr_t)c->data + cap)) {
			free(c);
			mld__err(MLD_ENOMEM, "out of memory");
			return NULL;
		}
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
		reg_remove((uintptr_t)c->data);
		free(c);
	}
	free(a);
}
