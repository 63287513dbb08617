/* File-system helpers: everything mldedup writes appears atomically
 * (a temp name in the same directory, fsync, rename) or not at all. */
#ifndef MLD_FSUTIL_H
#define MLD_FSUTIL_H

#include "common.h"

/* mkdir -p. */
int mld__mkdirs(const char *path, unsigned mode);
/* rm -rf (no error if it does not exist). */
int mld__rmtree(const char *path);
/* A new empty temp directory beside `final` ("<dir>/.<base>.tmp-XXXXXX"). */
int mld__tempdir_beside(char **out, const char *final);
/* Write a whole file and fsync it. */
int mld__write_file(const char *path, const void *data, size_t len);
/* Put directory `tmp` at `final`: with `replace`, an existing `final` is swapped
 * out first (renamed aside, then removed), so readers see the old or the new. */
int mld__commit_dir(const char *tmp, const char *final, bool replace);
/* fsync a directory so a rename in it is durable. */
void mld__fsync_dir(const char *dir);

#endif
