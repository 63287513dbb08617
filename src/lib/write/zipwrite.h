/* Writing a package as a .zip holding "<name>.mlpackage/...", as models are shipped. */
#ifndef MLD_ZIPWRITE_H
#define MLD_ZIPWRITE_H

#include "../core/common.h"

/* Zip the directory tree `dir` under the entry prefix `prefix` ("X.mlpackage")
 * into `zip_path`, atomically (a temp file beside it, then rename). Weight files
 * are stored uncompressed: they do not compress and readers can then seek. */
int mld__zip_tree(const char *dir, const char *prefix, const char *zip_path);

#endif
