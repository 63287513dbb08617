/* Where a package's files come from: an .mlpackage directory, or a .zip that holds
 * one .mlpackage (read through libzip, never unpacked by the user). Paths given to
 * these functions are relative to the package root and may not leave it. */
#ifndef MLD_SOURCE_H
#define MLD_SOURCE_H

#include "../core/common.h"

typedef struct mld_source mld_source;

typedef struct mld_file_id {
	uint64_t size;
	int64_t mtime_ns;
	uint64_t inode;
} mld_file_id;

int mld_source_open(mld_source **out, const char *path);
void mld_source_free(mld_source *src);

bool mld_source_is_zip(const mld_source *src);
/* The path the user gave. */
const char *mld_source_path(const mld_source *src);
/* "<path>/<rel>" or "<zip>:<entry>": how to name a file in messages. */
char *mld_source_display(const mld_source *src, const char *rel);

/* Reject absolute paths, "..", empty components. */
int mld_source_check_rel(const mld_source *src, const char *rel);
bool mld_source_exists(mld_source *src, const char *rel);
/* Read a whole file into a new buffer (for the manifest and model, not weights). */
int mld_source_read(mld_source *src, const char *rel, uint8_t **data, size_t *len);
/* Map a file read-only; the mapping lives as long as the source. */
int mld_source_map(mld_source *src, const char *rel, const uint8_t **data, uint64_t *len);
/* Identity of a file (for a zip: of the zip itself). */
int mld_source_stat(mld_source *src, const char *rel, mld_file_id *id);

#endif
