/* The platform layer: the one place where Linux, macOS and other POSIX systems
 * differ (libgit2's posix.h, zstd's platform.h). Nothing outside this file and
 * platform.c tests for an operating system.
 *
 * MLD_PLATFORM_FALLBACK=1 in the environment makes every function here take its
 * portable fallback, so the paths a Mac or another system takes run in the Linux
 * test suite too. */
#ifndef MLD_PLATFORM_H
#define MLD_PLATFORM_H

#include "common.h"

#include <sys/stat.h>

/* Modification time in nanoseconds (st_mtim on Linux, st_mtimespec on macOS). */
int64_t mld__mtime_ns(const struct stat *st);

/* Atomically exchange two existing paths (files or directories): renameat2's
 * RENAME_EXCHANGE on Linux, renamex_np's RENAME_SWAP on macOS. -1 with errno
 * ENOTSUP where the system or the file system cannot, and the caller falls back. */
int mld__rename_exchange(const char *a, const char *b);

/* Absolute path of the running executable (a new string), or NULL if unknown. */
char *mld__exe_path(void);

/* Make a file's data durable: fcntl(F_FULLFSYNC) on macOS, where fsync does not
 * reach the disk; fsync elsewhere. EINVAL (a pipe, a file system without
 * sync) counts as done, as for fsync. */
int mld__fsync_durable(int fd);

/* Start writing [off, off + len) of a file being written to the disk, without
 * waiting (sync_file_range(SYNC_FILE_RANGE_WRITE) on Linux; nothing elsewhere), so a
 * later mld__fsync_durable overlaps the writing instead of waiting for all of it.
 * Best effort: durability still comes from the fsync. */
void mld__writeback_start(int fd, uint64_t off, uint64_t len);

/* fsync a directory so that a rename or create in it is durable (best effort). */
void mld__fsync_dir(const char *dir);

/* Open an existing regular file read-only. The open never blocks (a FIFO or a
 * device in place of a file is refused, not waited on): MLD_EFORMAT naming `path`
 * for anything but a regular file, MLD_ENOTFOUND when missing. *st gets its stat. */
int mld__open_regular(int *fd, struct stat *st, const char *path);

/* Give back the pages of [addr, addr + len) of a read-only mapping of a file, widened
 * to whole pages: they leave the process's resident set now, and a later read maps
 * them again from the file (the page cache keeps them). madvise(MADV_DONTNEED) on
 * Linux; posix_madvise(POSIX_MADV_DONTNEED) elsewhere, which on macOS lets the system
 * take them first. Never for memory the process wrote: anonymous pages are zeroed. */
void mld__mem_release(const void *addr, size_t len);

/* The resident KiB of this process's mapping that holds addr (Linux: /proc/self/smaps),
 * or -1 where that cannot be read: what the tests of page release measure. */
long mld__mapping_resident_kib(const void *addr);

/* True when MLD_PLATFORM_FALLBACK asks for the portable paths. */
bool mld__platform_fallback(void);

#endif
