/* A small open-addressing hash map from borrowed C strings to pointers. */
#ifndef MLD_STRMAP_H
#define MLD_STRMAP_H

#include "common.h"

typedef struct mld__strmap {
	const char **keys;
	void **vals;
	size_t cap, len;
} mld__strmap;

/* Keys are not copied: they must outlive the map. Replaces an existing value. */
int mld__strmap_put(mld__strmap *m, const char *key, void *val);
void *mld__strmap_get(const mld__strmap *m, const char *key);
void mld__strmap_free(mld__strmap *m);

#endif
