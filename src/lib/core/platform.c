/* See platform.h. Every #if on an operating system in mldedup is in this file. */
#if defined(__linux__)
#define _GNU_SOURCE
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE /* renamex_np, F_FULLFSYNC */
#endif
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif

bool mld__platform_fallback(void)
{
	const char *e = getenv("MLD_PLATFORM_FALLBACK");
	return e && *e && strcmp(e, "0");
}

int64_t mld__mtime_ns(const struct stat *st)
{
#if defined(__APPLE__)
	return (int64_t)st->st_mtimespec.tv_sec * 1000000000 + st->st_mtimespec.tv_nsec;
#elif defined(__linux__) || defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200809L
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
#else
	return (int64_t)st->st_mtime * 1000000000;
#endif
}

int mld__rename_exchange(const char *a, const char *b)
{
	if (mld__platform_fallback()) {
		errno = ENOTSUP;
		return -1;
	}
#if defined(__linux__) && defined(SYS_renameat2)
	/* the raw system call: older C libraries have no renameat2() wrapper */
	if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0)
		return 0;
	if (errno == ENOSYS || errno == EINVAL)
		errno = ENOTSUP; /* an old kernel, or a file system that cannot swap */
	return -1;
#elif defined(__APPLE__)
	if (renamex_np(a, b, RENAME_SWAP) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOTSUP)
		errno = ENOTSUP;
	return -1;
#else
	(void)a;
	(void)b;
	errno = ENOTSUP;
	return -1;
#endif
}

char *mld__exe_path(void)
{
	if (mld__platform_fallback())
		return NULL;
#if defined(__APPLE__)
	uint32_t n = 0;
	_NSGetExecutablePath(NULL, &n); /* asks for the size */
	char *raw = malloc(n + 1);
	if (!raw || _NSGetExecutablePath(raw, &n) != 0) {
		free(raw);
		return NULL;
	}
	char *real = realpath(raw, NULL); /* it may hold symlinks and ".." */
	free(raw);
	return real;
#elif defined(__linux__)
	return realpath("/proc/self/exe", NULL);
#else
	return NULL;
#endif
}

int mld__fsync_durable(int fd)
{
#if defined(__APPLE__) && defined(F_FULLFSYNC)
	if (!mld__platform_fallback() && fcntl(fd, F_FULLFSYNC) == 0)
		return 0;
		/* not every file system supports it (network, FAT): fsync is the best there is */
#endif
	if (fsync(fd) == 0 || errno == EINVAL)
		return 0;
	return -1;
}

void mld__writeback_start(int fd, uint64_t off, uint64_t len)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
	if (!mld__platform_fallback())
		(void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd, (void)off, (void)len;
#endif
}

void mld__fsync_dir(const char *dir)
{
#if defined(O_DIRECTORY)
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
#else
	int fd = open(dir, O_RDONLY | O_CLOEXEC);
#endif
	if (fd >= 0) {
		mld__fsync_durable(fd);
		close(fd);
	}
}

void mld__mem_release(const void *addr, size_t len)
{
	static size_t page;
	if (!page) {
		long p = sysconf(_SC_PAGESIZE);
		page = p > 0 ? (size_t)p : 4096;
	}
	if (!addr || !len)
		return;
	uintptr_t lo = (uintptr_t)addr & ~(uintptr_t)(page - 1),
		  hi = ((uintptr_t)addr + len + page - 1) & ~(uintptr_t)(page - 1);
#if defined(__linux__) && defined(MADV_DONTNEED)
	if (!mld__platform_fallback()) {
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
		return;
	}
#endif
	posix_madvise((void *)lo, hi - lo, POSIX_MADV_DONTNEED);
}

int mld__open_regular(int *out, struct stat *st, const char *path)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer forever */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, st) != 0) {
		int rc = mld__err(MLD_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		const char *what = S_ISDIR(st->st_mode)    ? "a directory"
		                   : S_ISFIFO(st->st_mode) ? "a FIFO"
		                   : S_ISSOCK(st->st_mode) ? "a socket"
		                                           : "a device or special file";
		close(fd);
		return mld__err(MLD_EFORMAT, "%s: is %s, not a regular file", path, what);
	}
	/* reads of a regular file never block anyway; clear the flag for the caller */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	*out = fd;
	return 0;
}

long mld__mapping_resident_kib(const void *addr)
{
#if defined(__linux__)
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[4096];
	bool in = false;
	long kib = -1;
	uintptr_t a = (uintptr_t)addr;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char c;
		if (sscanf(line, "%lx-%lx%c", &lo, &hi, &c) == 3 && c == ' ')
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, "Rss:", 4)) {
			kib = strtol(line + 4, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
#else
	(void)addr;
	return -1;
#endif
}
