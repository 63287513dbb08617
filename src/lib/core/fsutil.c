#define _XOPEN_SOURCE 700 /* nftw */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int mld__mkdirs(const char *path, unsigned mode)
{
	char *p = mld__strdup(path);
	if (!p)
		return MLD_ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				int rc = mld__err(MLD_EIO, "%s: cannot create directory: %s", p, strerror(errno));
				free(p);
				return rc;
			}
			struct stat st; /* EEXIST: it must be a directory (like mkdir -p) */
			if (!c && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
				int rc = mld__err(MLD_EIO, "%s: cannot create directory: %s", p, strerror(ENOTDIR));
				free(p);
				return rc;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

int mld__rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : mld__err(MLD_EIO, "%s: %s", path, strerror(errno));
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return mld__err(MLD_EIO, "%s: cannot remove: %s", path, strerror(errno));
	return 0;
}
