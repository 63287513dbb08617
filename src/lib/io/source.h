/* Where a package's files come from: an .mlpackage directory, or a .zip that holds
 * one .mlpackage (read through libzip, never unpacked by the user). Paths given to
 * these functions are relative to the package root and may not leave it. */
#ifndef MLD_SOURCE_H
#define MLD_SOURCE_H

#include "../core/common.h"

typedef struct mld__source mld__source;

typedef struct mld__file_id {
	uint64_t size;
	int64_t mtime_ns;
	uint64_t inode;
} mld__file_id;

int mld__source_open(mld__source **out, const char *path);
void mld__source_free(mld__source *src);

bool mld__source_is_zip(const mld__source *src);
/* The path the user gave. */
const char *mld__source_path(const mld__source *src);
/* "<path>/<rel>" or "<zip>:<entry>": how to name a file in messages. */
char *mld__source_display(const mld__source *src, const char *rel);

/* Reject absolute paths, "..", empty components. */
int mld__source_check_rel(const mld__source *src, const char *rel);
bool mld__source_exists(mld__source *src, const char *rel);
/* Read a whole file into a new buffer (for the manifest and model, not weights). */
int mld__source_read(mld__source *src, const char *rel, uint8_t **data, size_t *len);
/* Map a file read-only; the mapping lives as long as the source. */
int mld__source_map(mld__source *src, const char *rel, const uint8_t **data, uint64_t *len);
/* Let the pages of [p, p + len) of this source's mappings leave memory (see
 * mld__mem_release): a later read maps them again. Only the part inside a mapping
 * of this source is touched; anything else is ignored. */
void mld__source_release(mld__source *src, const void *p, uint64_t len);
/* Copy n bytes of a mapping (p points into it) into buf with pread, without touching
 * the mapping: a reader holding a bounded buffer maps nothing, where a read through
 * the mapping maps a whole large folio ahead of it (Linux 6.x). Memory sources are
 * copied from memory. MLD_EIO naming the file when the read fails. */
int mld__source_copy(const mld__source *src, void *buf, const void *p, size_t n);
/* For a reader touching a few bytes here and there in a mapped file: one touch maps a
 * whole large folio of the page cache (up to 2 MiB on Linux 6.x), so touches far
 * apart would map the file. Call with each touched address: when it is more than
 * MLD_FOLIO_MAX from the last one (*last), the pages around the last one go. */
#define MLD_FOLIO_MAX ((uint64_t)2 << 20)
/* mld__source_release for a reader done with [p, p + len) and what lies near it: the
 * range widened by MLD_FOLIO_MAX each way (within the mapping), since its reads mapped
 * the whole large folios at its ends. Not for a reader still reading nearby. */
void mld__source_release_wide(mld__source *src, const void *p, uint64_t len);
void mld__source_touched(mld__source *src, const uint8_t **last, const uint8_t *at);
/* The same for every mapping of the source. */
void mld__source_release_all(mld__source *src);
/* Identity of a file (for a zip: of the zip itself). */
int mld__source_stat(mld__source *src, const char *rel, mld__file_id *id);

/* realpath(3) of a package path, or a copy of it if it names an in-memory package. */
char *mld__source_realpath(const char *path);

/* In-memory packages: a test hook for the fuzzers and unit tests, so that they
 * read packages without writing files. Once a path is registered, opening it reads
 * the registered files and never the file system; nothing else changes.
 * mld__memsrc_add adds the file `rel` (copied) to the directory package at `path`
 * (rel NULL: just register the package); mld__memsrc_add_zip registers `path` as a
 * zip held in memory. Registered data lives until mld__memsrc_clear(), which must
 * come after every source opened from it is freed. Not thread-safe: register
 * before opening. */
int mld__memsrc_add(const char *path, const char *rel, const void *data, size_t len);
int mld__memsrc_add_zip(const char *path, const void *data, size_t len);
void mld__memsrc_clear(void);

#endif
