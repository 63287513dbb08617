#include "strmap.h"

#include <stdlib.h>
#define XXH_INLINE_ALL /* the header alone: no link to the SSE2-only system build */
#include <xxhash.h>

static size_t slot(const mld__strmap *m, const char *key)
{
	size_t i = (size_t)XXH3_64bits(key, strlen(key)) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(mld__strmap *m)
{
	mld__strmap n = {0};
	n.cap = m->cap ? m->cap * 2 : 64;
	n.keys = mld__calloc(n.cap, sizeof *n.keys);
	n.vals = mld__calloc(n.cap, sizeof *n.vals);
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return MLD_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t j = slot(&n, m->keys[i]);
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
		}
	n.len = m->len;
	mld__strmap_free(m);
	*m = n;
	return 0;
}

int mld__strmap_put(mld__strmap *m, const char *key, void *val)
{
	if ((m->len + 1) * 2 > m->cap) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	size_t i = slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->len++;
	}
	m->vals[i] = val;
	return 0;
}

void *mld__strmap_get(const mld__strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

void mld__strmap_free(mld__strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
