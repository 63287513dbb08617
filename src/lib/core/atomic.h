/* Atomic files and directories: everything mldedup writes appears whole, or not at
 * all. Every writer goes through here: packages (a directory swap), zips, stamps,
 * depfiles, reports, build files and config files.
 *
 * The protocol (git's lockfile, ccache's AtomicFile, libgit2's filebuf):
 *   1. a temp beside the target, named ".<base>.mldtmp-<pid>-XXXXXX", created with
 *      O_EXCL (mkstemp/mkdtemp), so it is never someone else's file;
 *   2. writes go to the temp; the first error is remembered ("sticky") and returned
 *      again by commit, so callers need not check every write;
 *   3. commit = make the data durable (F_FULLFSYNC on macOS), rename over the
 *      target (or swap a directory in), fsync the parent directory;
 *   4. what is not committed is removed: by _free, by the SIGINT/SIGTERM/SIGHUP
 *      handler of mld_cleanup_on_signals(), and - after a SIGKILL - by the next
 *      writer of the same target, which removes the temps of writers that are gone.
 *
 * For tests: MLD_TEST_COMMIT_DELAY_MS=N sleeps N ms before each commit's rename
 * (the temp is complete and alive), so a test can interrupt a write there. */
#ifndef MLD_ATOMIC_H
#define MLD_ATOMIC_H

#include "common.h"

#include <sys/types.h>

/* ---- one file ---------------------------------------------------------------------- */

typedef struct mld__afile mld__afile;

enum {
	MLD_AFILE_MKDIRS = 1,    /* create the target's directory when it is missing */
	MLD_AFILE_NOREPLACE = 2, /* commit links the temp into place: MLD_EEXISTS if the target exists */
};

/* Start writing `path` (mode 0666 & ~umask, as any new file). */
int mld__afile_open(mld__afile **out, const char *path, unsigned flags);
/* Append; a failure is remembered and returned by every later call and by commit. */
int mld__afile_write(mld__afile *f, const void *data, size_t len);
/* Write at an offset (the file grows as needed); sticky like mld__afile_write. */
int mld__afile_pwrite(mld__afile *f, const void *data, size_t len, uint64_t off);
/* The target path, as given. */
const char *mld__afile_target(const mld__afile *f);
/* The temp file's path, for a writer that opens it by name (SQLite creating a store). */
const char *mld__afile_temp(const mld__afile *f);
/* Make it durable and put it in place; after a failure nothing of it remains. */
int mld__afile_commit(mld__afile *f);
/* Discard it if it was not committed; NULL-safe. */
void mld__afile_free(mld__afile *f);
/* Remove the temps that killed writers of `path` left (their pid is gone). Every writer
 * does this when it opens; a reader of a target that is only ever created once (the
 * store) calls it too, as a writer killed between linking the target into place and
 * removing the temp (MLD_AFILE_NOREPLACE) leaves a temp no later writer would meet. */
void mld__atomic_sweep(const char *path);

/* ---- one directory tree ---------------------------------------------------------------- */

typedef struct mld__adir mld__adir;

/* Start writing the directory `path`: an empty temp directory beside it. */
int mld__adir_open(mld__adir **out, const char *path);
/* The temp directory the tree is built in. */
const char *mld__adir_temp(const mld__adir *d);
/* mkdir -p of `rel` inside the tree. */
int mld__adir_mkdirs(mld__adir *d, const char *rel);
/* Create the new file `rel` inside the tree (its directory must exist): *fd for writing. */
int mld__adir_create(mld__adir *d, const char *rel, int *fd);
/* Create `rel`, write `data`, make it durable and close it. */
int mld__adir_write_file(mld__adir *d, const char *rel, const void *data, size_t len);
/* A scratch file of the tree, open for reading and writing in *fd and already unlinked
 * (no signal can come between the two): never part of the committed tree, and its
 * space goes back when fd is closed, however the process ends (after a SIGKILL between
 * create and unlink, the next writer's sweep removes the tree that holds it). */
int mld__adir_scratch(mld__adir *d, const char *rel, int *fd);

/* A piece of a file being written: bytes in memory, or a range of another open file
 * (a scratch file) copied in bounded pieces, so it is never held whole. */
typedef struct mld__piece {
	const void *data; /* NULL: [off, off + len) of the file fd */
	uint64_t len;
	int fd;
	uint64_t off;
	const char *name; /* fd's file, for messages */
} mld__piece;
/* Create `rel`, write the n pieces one after the other, make it durable and close it.
 * If seen is non-NULL, it gets every byte written, in order (a caller hashes them). */
int mld__adir_write_pieces(mld__adir *d, const char *rel, const mld__piece *pieces, size_t n,
                           void (*seen)(void *ctx, const void *data, size_t len), void *ctx);
/* Put the tree at its path. An existing directory there is replaced only with
 * `replace` (else MLD_EEXISTS), by an atomic swap where the system has one
 * (readers see the old tree or the new), else by moving the old one aside first. */
int mld__adir_commit(mld__adir *d, bool replace);
/* Remove the tree if it was not committed; NULL-safe. */
void mld__adir_free(mld__adir *d);

/* ---- failure injection --------------------------------------------------------------- */

/* Every write, read-back, flush and rename of this module (and of the blob writer) goes through
 * this table, so a test can fail the k-th one (libgit2's p_* wrappers). */
typedef struct mld__sys_io {
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off); /* reading a scratch file back */
	int (*fsync)(int fd);                                     /* durable: mld__fsync_durable */
	int (*rename)(const char *from, const char *to);
} mld__sys_io;
extern mld__sys_io mld__sys;

/* Write all of buf at off through mld__sys (EINTR and short writes retried). 0 or -1 (errno). */
int mld__pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
/* Read all n bytes at off through mld__sys (EINTR and short reads retried). 0, or -1
 * with errno (EIO: the file ends before them). */
int mld__pread_all(int fd, void *buf, size_t n, uint64_t off);

#endif
