/* A small open-addressing hash map from borrowed C strings to pointers. */
#ifndef MLD_STRMAP_H
#define MLD_STRMAP_H

#include "common.h"

typedef struct mld_strmap {
	const char **keys;
	void **vals;
	size_t cap, len;
} mld_strmap;

/* Keys are not copied: they must outlive the map. Replaces an existing value. */
int mld_strmap_put(mld_strmap *m, const char *key, void *val);
void *mld_strmap_get(const mld_strmap *m, const char *key);
void mld_strmap_free(mld_strmap *m);

#endif
