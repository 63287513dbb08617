/* The atomic-file module and the platform layer: every write appears whole or not
 * at all, whichever write, flush or rename fails, and whatever signal arrives. */
#include "testutil.h"

#include "core/atomic.h"
#include "core/platform.h"
#include "write/zipwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- failure injection: the k-th call of a kind fails --------------------------------------- */

static int fail_at, calls;
static ssize_t real_pwrite(int fd, const void *b, size_t n, off_t off) { return pwrite(fd, b, n, off); }
static ssize_t bad_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (++calls == fail_at) {
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, b, n, off);
}
static int bad_fsync(int fd)
{
	if (++calls == fail_at) {
		errno = EIO;
		return -1;
	}
	return mld__fsync_durable(fd);
}
static ssize_t bad_pread(int fd, void *b, size_t n, off_t off)
{
	if (++calls == fail_at) {
		errno = EIO;
		return -1;
	}
	return pread(fd, b, n, off);
}
static int bad_rename(const char *a, const char *b)
{
	if (++calls == fail_at) {
		errno = EXDEV;
		return -1;
	}
	return rename(a, b);
}

static void inject(int kind, int k)
{
	mld__sys = (mld__sys_io){real_pwrite, pread, mld__fsync_durable, rename};
	calls = 0;
	fail_at = k;
	if (kind == 0)
		mld__sys.pwrite = bad_pwrite;
	else if (kind == 1)
		mld__sys.fsync = bad_fsync;
	else if (kind == 2)
		mld__sys.rename = bad_rename;
	else if (kind == 3)
		mld__sys.pread = bad_pread;
}

static void no_injection(void) { inject(-1, 0); }

static int write_one(const char *path, const char *text)
{
	mld__afile *f;
	int rc = mld__afile_open(&f, path, 0);
	if (rc)
		return rc;
	/* two writes, so a failure of the first must stick */
	if (!(rc = mld__afile_write(f, text, 3)))
		rc = mld__afile_write(f, text + 3, strlen(text) - 3);
	if (!rc)
		rc = mld__afile_commit(f);
	mld__afile_free(f);
	return rc;
}

static void test_afile_commit_and_discard(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/out.txt", dir);
	assert_ok(write_one(path, "hello world"));
	size_t n;
	uint8_t *got = tu_read_file(path, &n);
	assert_int_equal(n, 11);
	assert_memory_equal(got, "hello world", 11);
	free(got);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	mode_t mask = umask(0);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* as any new file, not mkstemp's 0600 */
	/* a temp that is freed without commit leaves the old file as it was */
	mld__afile *f;
	assert_ok(mld__afile_open(&f, path, 0));
	assert_ok(mld__afile_write(f, "new", 3));
	assert_int_equal(tu_count_entries(dir, ".out.txt.mldtmp-"), 1);
	mld__afile_free(f);
	assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
	got = tu_read_file(path, &n);
	assert_memory_equal(got, "hello world", 11);
	free(got);
	mld__afile_free(NULL); /* NULL-safe */
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* Fail every write, flush and rename in turn: the error names the target, the old
 * content stays, and no temp is left. */
static void test_afile_every_failure(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/stamp", dir);
	tu_write_file(path, "old", 3);
	int failures = 0;
	for (int kind = 0; kind < 3; kind++)
		for (int k = 1; k < 10; k++) {
			inject(kind, k);
			int rc = write_one(path, "a new stamp");
			int made = calls;
			no_injection();
			if (made < k) { /* fewer calls than k: this kind is exhausted */
				assert_ok(rc);
				tu_write_file(path, "old", 3);
				break;
			}
			failures++;
			assert_int_equal(rc, MLD_EIO);
			assert_non_null(strstr(mld_error_last(), path));
			size_t n;
			uint8_t *got = tu_read_file(path, &n);
			assert_int_equal(n, 3);
			assert_memory_equal(got, "old", 3);
			free(got);
			assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
		}
	assert_true(failures >= 4); /* two writes, a flush, a rename at least */
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_afile_mkdirs_and_missing_dir(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *deep = tu_fmt("%s/a/b/c.d", dir);
	assert_mld_err(write_one(deep, "abcdef"), MLD_ENOTFOUND, deep);
	assert_int_equal(mld_write_if_changed(deep, "abcdef", 6), 1); /* creates the directories */
	struct stat st1, st2;
	assert_int_equal(stat(deep, &st1), 0);
	struct timespec pause = {0, 20 * 1000000};
	nanosleep(&pause, NULL);
	assert_int_equal(mld_write_if_changed(deep, "abcdef", 6), 0); /* same bytes: not touched */
	assert_int_equal(stat(deep, &st2), 0);
	assert_int_equal(mld__mtime_ns(&st1), mld__mtime_ns(&st2));
	assert_int_equal(mld_write_if_changed(deep, "abcdeg", 6), 1);
	tu_rmtree(dir);
	free(deep);
	free(dir);
}

static int make_tree(const char *path, const char *text, bool replace)
{
	mld__adir *d;
	int rc = mld__adir_open(&d, path);
	if (rc)
		return rc;
	if (!(rc = mld__adir_mkdirs(d, "Data/x")) && !(rc = mld__adir_write_file(d, "Data/x/f", text, strlen(text))) &&
	    !(rc = mld__adir_write_file(d, "Manifest.json", "{}", 2)))
		rc = mld__adir_commit(d, replace);
	mld__adir_free(d);
	return rc;
}

static void check_tree(const char *path, const char *text)
{
	char *f = tu_fmt("%s/Data/x/f", path);
	size_t n;
	uint8_t *got = tu_read_file(f, &n);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(got, text, n);
	free(got);
	free(f);
}

static void test_adir_replace_and_fallback(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/out.mlpackage", dir);
	assert_ok(make_tree(path, "one", false));
	check_tree(path, "one");
	assert_mld_err(make_tree(path, "two", false), MLD_EEXISTS, path);
	check_tree(path, "one");
	assert_ok(make_tree(path, "two", true)); /* swapped in */
	check_tree(path, "two");
	setenv("MLD_PLATFORM_FALLBACK", "1", 1); /* the path of a system without an atomic swap */
	assert_ok(make_tree(path, "three", true));
	unsetenv("MLD_PLATFORM_FALLBACK");
	check_tree(path, "three");
	assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
	assert_int_equal(tu_count_entries(dir, ""), 1);
	/* a trailing slash names the same directory */
	char *slash = tu_fmt("%s/", path);
	assert_ok(make_tree(slash, "four", true));
	check_tree(path, "four");
	assert_int_equal(tu_count_entries(dir, ""), 1);
	tu_rmtree(dir);
	free(slash);
	free(path);
	free(dir);
}

static void test_adir_every_failure(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/out.mlpackage", dir);
	assert_ok(make_tree(path, "old", false));
	int failures = 0;
	for (int fallback = 0; fallback < 2; fallback++) {
		if (fallback)
			setenv("MLD_PLATFORM_FALLBACK", "1", 1);
		for (int kind = 0; kind < 3; kind++)
			for (int k = 1; k < 10; k++) {
				inject(kind, k);
				int rc = make_tree(path, "new tree", true);
				int made = calls;
				no_injection();
				if (made < k) {
					assert_ok(rc);
					assert_ok(make_tree(path, "old", true));
					break;
				}
				failures++;
				assert_int_equal(rc, MLD_EIO);
				check_tree(path, "old");
				assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
				assert_int_equal(tu_count_entries(dir, ""), 1);
			}
		unsetenv("MLD_PLATFORM_FALLBACK");
	}
	assert_true(failures >= 8);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* A tree's file written from pieces, some of them ranges of a scratch file (copied a
 * chunk at a time, a range longer than a chunk included): the bytes in order, all of
 * them seen, the scratch file never in the tree; a failing read-back or write fails the
 * write, naming the file, and leaves nothing. */
typedef struct seen_bytes {
	uint8_t *data;
	size_t len;
} seen_bytes;

static void see(void *ctx, const void *data, size_t len)
{
	seen_bytes *s = ctx;
	memcpy(s->data + s->len, data, len);
	s->len += len;
}

static void test_adir_scratch_pieces(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/out.mlpackage", dir);
	size_t big = (5u << 20) / 2 + 7, total = 3 + big + 5 + 2;
	uint8_t *scr = malloc(big + 5), *want = malloc(total), *got = malloc(total);
	for (size_t i = 0; i < big + 5; i++)
		scr[i] = (uint8_t)(i * 131 + (i >> 13));
	/* want: "abc", the scratch's [5, 5 + big), its [0, 5), "de" */
	memcpy(want, "abc", 3);
	memcpy(want + 3, scr + 5, big);
	memcpy(want + 3 + big, scr, 5);
	memcpy(want + 3 + big + 5, "de", 2);
	static const int kinds[] = {-1, 0, 1, 3}; /* none, pwrite, fsync, pread */
	for (size_t ki = 0; ki < sizeof kinds / sizeof *kinds; ki++) {
		int kind = kinds[ki];
		for (int k = 1; k < 8; k++) {
			mld__adir *d = NULL;
			int fd = -1;
			assert_ok(mld__adir_open(&d, path));
			assert_ok(mld__adir_scratch(d, "scratch", &fd));
			struct stat st;
			assert_int_equal(fstat(fd, &st), 0);
			assert_int_equal(st.st_nlink, 0); /* unlinked at once */
			assert_int_equal(tu_count_entries(mld__adir_temp(d), ""), 0);
			assert_int_equal(mld__pwrite_all(fd, scr, big + 5, 0), 0);
			mld__piece p[4] = {{.data = "abc", .len = 3},
			                   {.len = big, .fd = fd, .off = 5, .name = "the scratch"},
			                   {.len = 5, .fd = fd, .off = 0, .name = "the scratch"},
			                   {.data = "de", .len = 2}};
			seen_bytes sb = {got, 0};
			inject(kind, k);
			int rc = mld__adir_write_pieces(d, "m.bin", p, 4, see, &sb);
			int made = calls;
			no_injection();
			close(fd);
			if (kind < 0 || made < k) {
				assert_ok(rc);
				assert_int_equal(sb.len, total);
				assert_memory_equal(got, want, total);
				assert_ok(mld__adir_commit(d, false));
				mld__adir_free(d);
				char *m = tu_fmt("%s/m.bin", path);
				size_t len;
				uint8_t *file = tu_read_file(m, &len);
				assert_int_equal(len, total);
				assert_memory_equal(file, want, total);
				assert_int_equal(tu_count_entries(path, ""), 1); /* m.bin: the scratch is gone */
				free(file);
				free(m);
				tu_rmtree(path);
				break;
			}
			assert_int_equal(rc, MLD_EIO);
			assert_non_null(strstr(mld_error_last(), "out.mlpackage/m.bin"));
			if (kind == 3)
				assert_non_null(strstr(mld_error_last(), "cannot read back the scratch"));
			mld__adir_free(d);
			assert_false(tu_exists(path));
			assert_int_equal(tu_count_entries(dir, ""), 0);
		}
	}
	free(scr);
	free(want);
	free(got);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* The zip goes through an atomic file too: any failing write leaves no zip and no temp. */
static void test_zip_every_failure(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *tree = tu_fmt("%s/t.mlpackage", dir), *zip = tu_fmt("%s/t.zip", dir);
	assert_ok(make_tree(tree, "zipped content", false));
	int failures = 0;
	for (int kind = 0; kind < 3; kind++)
		for (int k = 1; k < 40; k++) {
			inject(kind, k);
			int rc = mld__zip_tree(tree, "t.mlpackage", zip);
			int made = calls;
			no_injection();
			if (made < k) {
				assert_ok(rc);
				assert_true(tu_exists(zip));
				unlink(zip);
				break;
			}
			failures++;
			assert_true(rc < 0);
			assert_false(tu_exists(zip));
			assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
		}
	assert_true(failures >= 3);
	tu_rmtree(dir);
	free(tree);
	free(zip);
	free(dir);
}

/* Temps of dead writers go with the next write of the same target; live ones stay. */
static void test_stale_temps(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *path = tu_fmt("%s/x.stamp", dir);
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char *f1 = tu_fmt("%s/.x.stamp.mldtmp-%ld-AAAAAA", dir, (long)dead);
	char *d1 = tu_fmt("%s/.x.stamp.mldtmp-%ld-BBBBBB", dir, (long)dead);
	char *live = tu_fmt("%s/.x.stamp.mldtmp-%ld-CCCCCC", dir, (long)getppid());
	char *other = tu_fmt("%s/.y.stamp.mldtmp-%ld-DDDDDD", dir, (long)dead);
	tu_write_file(f1, "x", 1);
	assert_int_equal(mkdir(d1, 0700), 0);
	char *inner = tu_fmt("%s/inner", d1);
	tu_write_file(inner, "y", 1);
	tu_write_file(live, "z", 1);
	tu_write_file(other, "w", 1);
	assert_ok(write_one(path, "stamp text"));
	assert_false(tu_exists(f1));
	assert_false(tu_exists(d1));
	assert_true(tu_exists(live));  /* its writer may still be at work */
	assert_true(tu_exists(other)); /* another target's */
	tu_rmtree(dir);
	free(inner);
	free(f1);
	free(d1);
	free(live);
	free(other);
	free(path);
	free(dir);
}

/* SIGINT/SIGTERM/SIGHUP during a write: the temps go, the process dies of the signal. */
static void test_signal_cleanup(void **state)
{
	(void)state;
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < 3; i++) {
		char *dir = tu_tempdir(), *file = tu_fmt("%s/r.json", dir), *tree = tu_fmt("%s/o.mlpackage", dir);
		tu_write_file(file, "previous", 8);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			mld_cleanup_on_signals();
			mld__afile *f;
			mld__adir *d;
			if (mld__afile_open(&f, file, 0) || mld__afile_write(f, "partial", 7) ||
			    mld__adir_open(&d, tree) || mld__adir_mkdirs(d, "Data/com.apple.CoreML") ||
			    mld__adir_write_file(d, "Data/com.apple.CoreML/model.mlmodel", "m", 1))
				_exit(3);
			raise(sigs[i]);
			_exit(4); /* not reached: the handler re-raises with the default action */
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), sigs[i]);
		assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
		assert_false(tu_exists(tree));
		size_t n;
		uint8_t *got = tu_read_file(file, &n);
		assert_memory_equal(got, "previous", 8);
		free(got);
		tu_rmtree(dir);
		free(file);
		free(tree);
		free(dir);
	}
}

/* ---- the platform layer ------------------------------------------------------------------------ */

static void test_platform(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *a = tu_fmt("%s/a", dir), *b = tu_fmt("%s/b", dir), *fifo = tu_fmt("%s/fifo", dir);
	tu_write_file(a, "A", 1);
	tu_write_file(b, "B", 1);
	/* nanosecond mtimes */
	struct timespec times[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
	assert_int_equal(utimensat(AT_FDCWD, a, times, 0), 0);
	struct stat st;
	assert_int_equal(stat(a, &st), 0);
	assert_true(mld__mtime_ns(&st) == INT64_C(1700000000123456789));
	/* exchange, and its fallback answer */
	assert_int_equal(mld__rename_exchange(a, b), 0);
	size_t n;
	uint8_t *got = tu_read_file(a, &n);
	assert_int_equal(got[0], 'B');
	free(got);
	setenv("MLD_PLATFORM_FALLBACK", "1", 1);
	errno = 0;
	assert_int_equal(mld__rename_exchange(a, b), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_null(mld__exe_path());
	unsetenv("MLD_PLATFORM_FALLBACK");
	/* the running binary */
	char *exe = mld__exe_path();
	assert_non_null(exe);
	assert_non_null(strstr(exe, "unit_atomic"));
	free(exe);
	/* only regular files open, and a FIFO does not block */
	int fd;
	assert_ok(mld__open_regular(&fd, &st, a));
	assert_int_equal(mld__fsync_durable(fd), 0);
	close(fd);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_mld_err(mld__open_regular(&fd, &st, fifo), MLD_EFORMAT, "a FIFO, not a regular file");
	assert_mld_err(mld__open_regular(&fd, &st, dir), MLD_EFORMAT, "a directory");
	char *none = tu_fmt("%s/none", dir);
	assert_mld_err(mld__open_regular(&fd, &st, none), MLD_ENOTFOUND, none);
	tu_rmtree(dir);
	free(none);
	free(a);
	free(b);
	free(fifo);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_afile_commit_and_discard),
		cmocka_unit_test(test_afile_every_failure),
		cmocka_unit_test(test_afile_mkdirs_and_missing_dir),
		cmocka_unit_test(test_adir_replace_and_fallback),
		cmocka_unit_test(test_adir_every_failure),
		cmocka_unit_test(test_adir_scratch_pieces),
		cmocka_unit_test(test_zip_every_failure),
		cmocka_unit_test(test_stale_temps),
		cmocka_unit_test(test_signal_cleanup),
		cmocka_unit_test(test_platform),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
