#define _GNU_SOURCE
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

static void split(const char *final, char **dir, char **base)
{
	char *a = mld__strdup(final), *b = mld__strdup(final);
	size_t n = a ? strlen(a) : 0;
	while (n > 1 && a[n - 1] == '/') /* "out.mlpackage/" names the same thing */
		a[--n] = 0, b[n] = 0;
	*dir = a ? mld__strdup(dirname(a)) : NULL;
	*base = b ? mld__strdup(basename(b)) : NULL;
	free(a);
	free(b);
}

/* Temp trees of writers that were killed (".<base>.tmp-<pid>-XXXXXX" whose pid is
 * gone) would stay forever; the next writer of the same output removes them. */
static void remove_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t n = strlen(base);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (s[0] != '.' || strncmp(s + 1, base, n) || strncmp(s + 1 + n, ".tmp-", 5))
			continue;
		char *end;
		long pid = strtol(s + 1 + n + 5, &end, 10);
		if (end == s + 1 + n + 5 || *end != '-' || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive, or not ours to judge */
		char *path = mld__sprintf("%s/%s", dir, s);
		if (path)
			mld__rmtree(path);
		free(path);
	}
	closedir(d);
	mld__err_clear();
}

int mld__tempdir_beside(char **out, const char *final)
{
	char *dir, *base;
	split(final, &dir, &base);
	if (!dir || !base) {
		free(dir);
		free(base);
		return MLD_ENOMEM;
	}
	remove_stale(dir, base);
	char *tmpl = mld__sprintf("%s/.%s.tmp-%ld-XXXXXX", dir, base, (long)getpid());
	free(dir);
	free(base);
	if (!tmpl)
		return MLD_ENOMEM;
	if (!mkdtemp(tmpl)) {
		int rc = mld__err(MLD_EIO, "%s: cannot create temp directory: %s", tmpl, strerror(errno));
		free(tmpl);
		return rc;
	}
	/* mkdtemp makes 0700; the finished package should be as readable as any mkdir's */
	mode_t mask = umask(0);
	umask(mask);
	chmod(tmpl, 0777 & ~mask);
	*out = tmpl;
	return 0;
}

int mld__write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return mld__err(MLD_EIO, "%s: cannot create: %s", path, strerror(errno));
	const uint8_t *p = data;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int rc = mld__err(MLD_EIO, "%s: write failed: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
		p += k;
		len -= (size_t)k;
	}
	if (fsync(fd) != 0 && errno != EINVAL) {
		int rc = mld__err(MLD_EIO, "%s: fsync failed: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (close(fd) != 0)
		return mld__err(MLD_EIO, "%s: close failed: %s", path, strerror(errno));
	return 0;
}

void mld__fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int mld__commit_dir(const char *tmp, const char *final, bool replace)
{
	struct stat st;
	bool exists = lstat(final, &st) == 0;
	if (exists && !replace)
		return mld__err(MLD_EIO, "%s: already exists (not replaced)", final);
	char *dir, *base;
	split(final, &dir, &base);
	if (!dir || !base) {
		free(dir);
		free(base);
		return MLD_ENOMEM;
	}
	int rc = 0;
	if (exists) {
		/* renameat2(RENAME_EXCHANGE) swaps atomically; the old tree goes away after */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
			rc = mld__rmtree(tmp);
		} else {
			char *aside = mld__sprintf("%s/.%s.old-%ld", dir, base, (long)getpid());
			if (!aside)
				rc = MLD_ENOMEM;
			else if (rename(final, aside) != 0)
				rc = mld__err(MLD_EIO, "%s: cannot move the old output aside: %s", final, strerror(errno));
			else if (rename(tmp, final) != 0) {
				rc = mld__err(MLD_EIO, "%s: cannot rename into place: %s", final, strerror(errno));
				rename(aside, final); /* put the old one back */
			} else
				rc = mld__rmtree(aside);
			free(aside);
		}
	} else if (rename(tmp, final) != 0) {
		rc = mld__err(MLD_EIO, "%s: cannot rename %s into place: %s", final, tmp, strerror(errno));
	}
	if (!rc)
		mld__fsync_dir(dir);
	free(dir);
	free(base);
	return rc;
}

/* Does `path` hold exactly these bytes? */
static bool holds(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	const uint8_t *want = data;
	uint8_t buf[8192];
	size_t n, off = 0;
	bool same = true;
	while (same && (n = fread(buf, 1, sizeof buf, f)) > 0) {
		same = n <= len - off && !memcmp(buf, want + off, n);
		off += n;
	}
	same = same && off == len && !ferror(f);
	fclose(f);
	return same;
}

int mld_write_if_changed(const char *path, const void *data, size_t len)
{
	mld__err_clear();
	if (holds(path, data, len))
		return 0; /* keep the mtime: nothing downstream needs to run */
	char *dir, *base, *tmp = NULL;
	split(path, &dir, &base);
	int rc = !dir || !base ? MLD_ENOMEM : access(dir, F_OK) == 0 ? 0 : mld__mkdirs(dir, 0755);
	if (!rc && !(tmp = mld__sprintf("%s/.%s.tmp-XXXXXX", dir, base)))
		rc = MLD_ENOMEM;
	if (!rc) {
		int fd = mkstemp(tmp);
		if (fd < 0 || fchmod(fd, 0644) != 0) /* mkstemp makes 0600 */
			rc = mld__err(MLD_EIO, "%s: cannot create temp file: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (!rc && !(rc = mld__write_file(tmp, data, len)) && rename(tmp, path) != 0)
			rc = mld__err(MLD_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
		if (rc && fd >= 0)
			unlink(tmp);
	}
	free(tmp);
	free(dir);
	free(base);
	return rc ? rc : 1;
}
