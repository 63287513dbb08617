/* File-system helpers. Writing goes through atomic.h. */
#ifndef MLD_FSUTIL_H
#define MLD_FSUTIL_H

#include "common.h"

/* mkdir -p. */
int mld__mkdirs(const char *path, unsigned mode);
/* rm -rf (no error if it does not exist). */
int mld__rmtree(const char *path);
/* The absolute path `path` names, with every symlink of the part that exists
 * resolved (realpath) and the rest taken as written ("." and ".." folded), so that
 * a path yet to be created compares with existing ones. NULL if out of memory or
 * the current directory cannot be named. */
char *mld__path_canonical(const char *path);
/* Is canonical `path` the canonical `dir` or inside it? */
bool mld__path_within(const char *path, const char *dir);
#endif
