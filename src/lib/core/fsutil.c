#define _XOPEN_SOURCE 700 /* nftw */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <libgen.h>
#include <limits.h>
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

char *mld__path_canonical(const char *path)
{
	char *real = realpath(path, NULL);
	if (real)
		return real;
	char cwd[PATH_MAX];
	char *abs = path[0] == '/'            ? mld__strdup(path)
	            : getcwd(cwd, sizeof cwd) ? mld__sprintf("%s/%s", cwd, path)
	                                      : NULL;
	if (!abs)
		return NULL;
	/* The longest prefix that exists, resolved; the rest is taken as written. */
	size_t cut = strlen(abs);
	char *head = NULL;
	while (!head) {
		while (cut > 0 && abs[cut - 1] == '/')
			cut--;
		while (cut > 0 && abs[cut - 1] != '/')
			cut--;
		if (cut <= 1) {
			head = mld__strdup("/");
			cut = 1;
			break;
		}
		abs[cut - 1] = 0;
		head = realpath(abs, NULL);
		abs[cut - 1] = '/';
	}
	if (!head) {
		free(abs);
		return NULL;
	}
	mld__buf b = {0};
	if (strcmp(head, "/"))
		mld__buf_append(&b, head, strlen(head));
	free(head);
	for (char *s = abs + cut, *e; *s; s = e) {
		for (e = s; *e && *e != '/'; e++)
			;
		size_t n = (size_t)(e - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (b.len > 0 && b.data[b.len - 1] != '/')
				b.len--;
			if (b.len > 0)
				b.len--;
		} else if (n && !(n == 1 && s[0] == '.')) {
			mld__buf_append(&b, "/", 1);
			mld__buf_append(&b, s, n);
		}
		while (*e == '/')
			e++;
	}
	if (b.len == 0)
		mld__buf_append(&b, "/", 1);
	mld__buf_append(&b, "", 1);
	free(abs);
	if (!b.data)
		return NULL;
	/* "missing/../x" may name an existing path after all: resolve it then. */
	char *again = realpath((char *)b.data, NULL);
	if (again) {
		mld__buf_free(&b);
		return again;
	}
	return (char *)b.data;
}

bool mld__path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}
