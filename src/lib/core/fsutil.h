/* File-system helpers. Writing goes through atomic.h. */
#ifndef MLD_FSUTIL_H
#define MLD_FSUTIL_H

#include "common.h"

/* mkdir -p. */
int mld__mkdirs(const char *path, unsigned mode);
/* rm -rf (no error if it does not exist). */
int mld__rmtree(const char *path);
#endif
