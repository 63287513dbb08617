#include "strmap.h"

#include <stdlib.h>
#include <xxhash.h>

static size_t slot(const mld_strmap *m, const char *key)
{
	size_t i = (size_t)XXH3_64bits(key, strlen(key)) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(mld_strmap *m)
{
	mld_strmap n = {0};
	n.cap = m->cap ? m->cap * 2 : 64;
	n.keys = mld_calloc(n.cap, sizeof *n.keys);
	n.vals = mld_calloc(n.cap, sizeof *n.vals);
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
	mld_strmap_free(m);
	*m = n;
	return 0;
}

int mld_strmap_put(mld_strmap *m, const char *key, void *val)
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

void *mld_strmap_get(const mld_strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

void mld_strmap_free(mld_strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
