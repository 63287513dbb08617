/* See atomic.h. */
#include "atomic.h"

#include "fsutil.h"
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TEMP_TAG ".mldtmp-"

/* ---- the system calls, replaceable by tests ------------------------------------------ */

static int sys_rename(const char *from, const char *to) { return rename(from, to); }

mld__sys_io mld__sys = {pwrite, pread, mld__fsync_durable, sys_rename};

/* All n bytes at off, written from or read into p, through mld__sys: EINTR and short
 * transfers retried, and a transfer of nothing (a full disk, an early end) is EIO. */
static int io_all(bool write, int fd, uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t k = write ? mld__sys.pwrite(fd, p, n, (off_t)off) : mld__sys.pread(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* pwrite only reads the buffer */
int mld__pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	return io_all(true, fd, (uint8_t *)buf, n, off);
}

int mld__pread_all(int fd, void *buf, size_t n, uint64_t off) { return io_all(false, fd, buf, n, off); }

/* ---- live temps, removed on SIGINT/SIGTERM/SIGHUP --------------------------------------- */

/* The handler may run at any moment, so it only reads what is already published
 * (atomic slot pointers, a child count stored after its child) and only calls
 * unlink/rmdir, which are async-signal-safe. */
#define MAX_LIVE 64
#define MAX_CHILDREN 64

typedef struct live {
	char *root;
	bool dir;
	char *children[MAX_CHILDREN]; /* files and directories made inside, in order */
	atomic_int n_children;
} live;

static _Atomic(live *) slots[MAX_LIVE];

static void live_add(live *l)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		live *expect = NULL;
		if (atomic_compare_exchange_strong(&slots[i], &expect, l))
			return;
	}
	/* more than MAX_LIVE writes at once: this one is cleaned by its owner or the next writer only */
}

static void live_remove(live *l)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		live *expect = l;
		if (atomic_compare_exchange_strong(&slots[i], &expect, NULL))
			return;
	}
}

/* Record a path made inside the tree (the tree takes the string); on failure the
 * caller still owns it. */
static int live_child(live *l, char *path)
{
	int n = atomic_load(&l->n_children);
	if (n == MAX_CHILDREN)
		return mld__err(MLD_ERROR, "%s: more than %d entries in one atomic directory", l->root, MAX_CHILDREN);
	l->children[n] = path;
	atomic_store(&l->n_children, n + 1);
	return 0;
}

/* Creating a path and recording it happen with the cleanup signals held back, so
 * the handler never runs between the two and misses a file it should remove. */
static void hold_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void release_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

static void on_signal(int sig)
{
	int saved = errno;
	for (int i = 0; i < MAX_LIVE; i++) {
		live *l = atomic_load(&slots[i]);
		if (!l)
			continue;
		for (int k = atomic_load(&l->n_children); k-- > 0;)
			if (unlink(l->children[k]) != 0)
				rmdir(l->children[k]);
		if (l->dir)
			rmdir(l->root);
		else
			unlink(l->root);
	}
	/* die of the signal, as without the handler (the exit status says so) */
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

void mld_cleanup_on_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL)
			continue; /* ignored (nohup) or someone else's: leave it */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* ---- names ------------------------------------------------------------------------------ */

static mode_t umask_cached;
static void read_umask(void)
{
	umask_cached = umask(0); /* the only way to read it; put straight back */
	umask(umask_cached);
}

static mode_t umask_value(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, read_umask);
	return umask_cached;
}

/* "dir" and "base" of a target; trailing slashes do not count ("out.mlpackage/"). */
static int split(const char *target, char **dir, char **base)
{
	size_t n = strlen(target);
	while (n > 1 && target[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && target[b - 1] != '/')
		b--;
	if (b == n)
		return mld__err(MLD_EUSAGE, "\"%s\" names no file", target);
	*base = mld__sprintf("%.*s", (int)(n - b), target + b);
	*dir = b == 0 ? mld__strdup(".") : b == 1 ? mld__strdup("/") : mld__sprintf("%.*s", (int)(b - 1), target);
	if (!*base || !*dir) {
		free(*base);
		free(*dir);
		return MLD_ENOMEM;
	}
	return 0;
}

/* Temps of writers that were killed (".<base>.mldtmp-<pid>-..." whose pid is gone)
 * would stay forever; the next writer of the same target removes them. */
static void remove_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t n = strlen(base), t = strlen(TEMP_TAG);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (s[0] != '.' || strncmp(s + 1, base, n) || strncmp(s + 1 + n, TEMP_TAG, t))
			continue;
		const char *num = s + 1 + n + t;
		char *end;
		long pid = strtol(num, &end, 10);
		if (end == num || *end != '-' || pid <= 0 || pid == (long)getpid())
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

static char *temp_template(const char *dir, const char *base)
{
	return mld__sprintf("%s/.%s" TEMP_TAG "%ld-XXXXXX", dir, base, (long)getpid());
}

/* MLD_TEST_COMMIT_DELAY_MS: a window in which a test can interrupt a finished temp. */
static void test_delay(void)
{
	const char *e = getenv("MLD_TEST_COMMIT_DELAY_MS");
	long ms = e ? strtol(e, NULL, 10) : 0;
	if (ms > 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

/* ---- one file ------------------------------------------------------------------------------ */

struct mld__afile {
	char *target, *dir;
	live l;
	int fd;
	uint64_t pos;
	int err; /* first failure, sticky */
	char *err_msg;
	bool committed;
	unsigned flags;
};

static int afile_fail(mld__afile *f, int code, const char *what)
{
	if (!f->err) {
		f->err = code;
		f->err_msg = mld__sprintf("%s: %s: %s", f->target, what, strerror(errno));
	}
	return mld__err(f->err, "%s", f->err_msg ? f->err_msg : "write failed");
}

void mld__atomic_sweep(const char *path)
{
	char *dir, *base;
	if (!split(path, &dir, &base)) {
		remove_stale(dir, base);
		free(dir);
		free(base);
	}
	mld__err_clear();
}

int mld__afile_open(mld__afile **out, const char *path, unsigned flags)
{
	mld__afile *f = mld__calloc(1, sizeof *f);
	char *base = NULL;
	if (!f)
		return MLD_ENOMEM;
	f->fd = -1;
	f->flags = flags;
	int rc = split(path, &f->dir, &base);
	if (rc) {
		free(f);
		return rc;
	}
	if (!(f->target = mld__strdup(path))) {
		rc = MLD_ENOMEM;
		goto fail;
	}
	struct stat st;
	if ((flags & MLD_AFILE_MKDIRS) && stat(f->dir, &st) != 0 && (rc = mld__mkdirs(f->dir, 0777)))
		goto fail;
	remove_stale(f->dir, base);
	if (!(f->l.root = temp_template(f->dir, base))) {
		rc = MLD_ENOMEM;
		goto fail;
	}
	sigset_t held;
	hold_signals(&held);
	f->fd = mkstemp(f->l.root); /* O_EXCL */
	if (f->fd >= 0)
		live_add(&f->l);
	release_signals(&held);
	if (f->fd < 0) {
		rc = mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: cannot create a file in %s: %s", path,
		              f->dir, strerror(errno));
		goto fail;
	}
	fchmod(f->fd, 0666 & ~umask_value()); /* mkstemp makes 0600 */
	free(base);
	*out = f;
	return 0;
fail:
	free(base);
	free(f->l.root);
	f->l.root = NULL;
	mld__afile_free(f);
	return rc;
}

int mld__afile_pwrite(mld__afile *f, const void *data, size_t len, uint64_t off)
{
	if (f->err)
		return mld__err(f->err, "%s", f->err_msg ? f->err_msg : "write failed");
	if (mld__pwrite_all(f->fd, data, len, off) != 0)
		return afile_fail(f, MLD_EIO, "write failed");
	return 0;
}

int mld__afile_write(mld__afile *f, const void *data, size_t len)
{
	int rc = mld__afile_pwrite(f, data, len, f->pos);
	if (!rc)
		f->pos += len;
	return rc;
}

const char *mld__afile_target(const mld__afile *f) { return f->target; }

const char *mld__afile_temp(const mld__afile *f) { return f->l.root; }

int mld__afile_commit(mld__afile *f)
{
	if (f->committed)
		return 0;
	if (f->err)
		return mld__err(f->err, "%s", f->err_msg ? f->err_msg : "write failed");
	if (mld__sys.fsync(f->fd) != 0)
		return afile_fail(f, MLD_EIO, "cannot flush to disk");
	int fd = f->fd;
	f->fd = -1;
	if (close(fd) != 0)
		return afile_fail(f, MLD_EIO, "close failed");
	test_delay();
	if (f->flags & MLD_AFILE_NOREPLACE) { /* link(2) never replaces: the first writer's file stays */
		if (link(f->l.root, f->target) != 0)
			return errno == EEXIST ? mld__err(MLD_EEXISTS, "%s: already exists", f->target)
			                       : afile_fail(f, MLD_EIO, "cannot link into place");
		live_remove(&f->l);
		unlink(f->l.root);
		f->committed = true;
		mld__fsync_dir(f->dir);
		return 0;
	}
	if (mld__sys.rename(f->l.root, f->target) != 0)
		return afile_fail(f, MLD_EIO, "cannot rename into place");
	f->committed = true;
	live_remove(&f->l);
	mld__fsync_dir(f->dir);
	return 0;
}

void mld__afile_free(mld__afile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (!f->committed && f->l.root) {
		live_remove(&f->l);
		unlink(f->l.root);
	}
	free(f->l.root);
	free(f->target);
	free(f->dir);
	free(f->err_msg);
	free(f);
}

/* ---- one directory tree ---------------------------------------------------------------------- */

struct mld__adir {
	char *target, *dir;
	live l;
	bool committed;
};

int mld__adir_open(mld__adir **out, const char *path)
{
	mld__adir *d = mld__calloc(1, sizeof *d);
	char *base = NULL;
	if (!d)
		return MLD_ENOMEM;
	int rc = split(path, &d->dir, &base);
	if (rc) {
		free(d);
		return rc;
	}
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (!(d->target = mld__sprintf("%.*s", (int)n, path)) || !(d->l.root = temp_template(d->dir, base))) {
		rc = MLD_ENOMEM;
		goto fail;
	}
	remove_stale(d->dir, base);
	d->l.dir = true;
	sigset_t held;
	hold_signals(&held);
	bool made = mkdtemp(d->l.root) != NULL;
	if (made)
		live_add(&d->l);
	release_signals(&held);
	if (!made) {
		rc = mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: cannot create a directory in %s: %s",
		              path, d->dir, strerror(errno));
		free(d->l.root);
		d->l.root = NULL;
		goto fail;
	}
	/* mkdtemp makes 0700; the finished tree should be as readable as any mkdir's */
	chmod(d->l.root, 0777 & ~umask_value());
	free(base);
	*out = d;
	return 0;
fail:
	free(base);
	mld__adir_free(d);
	return rc;
}

const char *mld__adir_temp(const mld__adir *d) { return d->l.root; }

int mld__adir_mkdirs(mld__adir *d, const char *rel)
{
	char *path = mld__sprintf("%s/%s", d->l.root, rel);
	if (!path)
		return MLD_ENOMEM;
	size_t skip = strlen(d->l.root) + 1;
	int rc = 0;
	for (char *s = path + skip;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		char *child = mld__strdup(path);
		sigset_t held;
		hold_signals(&held);
		if (!child)
			rc = MLD_ENOMEM;
		else if (mkdir(path, 0777) == 0 && (rc = live_child(&d->l, child)) == 0)
			child = NULL;
		else if (rc)
			rmdir(path);
		else if (errno != EEXIST)
			rc = mld__err(MLD_EIO, "%s: cannot create directory: %s", path, strerror(errno));
		release_signals(&held);
		free(child);
		*s = c;
		if (rc || !c)
			break;
	}
	free(path);
	return rc;
}

int mld__adir_create(mld__adir *d, const char *rel, int *fd)
{
	char *path = mld__sprintf("%s/%s", d->l.root, rel);
	if (!path)
		return MLD_ENOMEM;
	sigset_t held;
	hold_signals(&held);
	int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	int rc = f < 0 ? mld__err(MLD_EIO, "%s: cannot create: %s", path, strerror(errno)) : live_child(&d->l, path);
	release_signals(&held);
	if (rc) {
		if (f >= 0) {
			close(f);
			unlink(path);
		}
		free(path);
		return rc;
	}
	*fd = f;
	return 0;
}

int mld__adir_write_file(mld__adir *d, const char *rel, const void *data, size_t len)
{
	mld__piece p = {data ? data : "", len, -1, 0, NULL};
	return mld__adir_write_pieces(d, rel, &p, 1, NULL, NULL);
}

int mld__adir_scratch(mld__adir *d, const char *rel, int *fd)
{
	char *path = mld__sprintf("%s/%s", d->l.root, rel);
	if (!path)
		return MLD_ENOMEM;
	/* not recorded as a child: unlinked before any handler could look for it */
	sigset_t held;
	hold_signals(&held);
	int rc = 0, f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f < 0)
		rc = mld__err(MLD_EIO, "%s: cannot create: %s", path, strerror(errno));
	else if (unlink(path) != 0) {
		rc = mld__err(MLD_EIO, "%s: cannot unlink: %s", path, strerror(errno));
		close(f);
	}
	release_signals(&held);
	free(path);
	if (!rc)
		*fd = f;
	return rc;
}

/* A scratch range is copied through this much memory at a time. */
#define COPY_CHUNK ((size_t)1 << 20)

int mld__adir_write_pieces(mld__adir *d, const char *rel, const mld__piece *pieces, size_t n,
                           void (*seen)(void *ctx, const void *data, size_t len), void *ctx)
{
	uint8_t *chunk = NULL;
	for (size_t i = 0; i < n && !chunk; i++)
		if (!pieces[i].data && pieces[i].len && !(chunk = mld__malloc(COPY_CHUNK)))
			return MLD_ENOMEM;
	int fd, rc = mld__adir_create(d, rel, &fd);
	if (rc) {
		free(chunk);
		return rc;
	}
	const char *what = NULL, *read_from = NULL;
	uint64_t at = 0;
	for (size_t i = 0; i < n && !what && !read_from; i++) {
		const mld__piece *p = &pieces[i];
		if (p->data) {
			if (seen)
				seen(ctx, p->data, (size_t)p->len);
			if (mld__pwrite_all(fd, p->data, (size_t)p->len, at) != 0)
				what = "write failed";
			at += p->len;
			continue;
		}
		for (uint64_t done = 0; done < p->len && !what && !read_from;) {
			size_t k = p->len - done < COPY_CHUNK ? (size_t)(p->len - done) : COPY_CHUNK;
			if (mld__pread_all(p->fd, chunk, k, p->off + done) != 0) {
				read_from = p->name ? p->name : "a scratch file";
				break;
			}
			if (seen)
				seen(ctx, chunk, k);
			if (mld__pwrite_all(fd, chunk, k, at) != 0)
				what = "write failed";
			done += k;
			at += k;
		}
	}
	free(chunk);
	if (read_from)
		rc = mld__err(MLD_EIO, "%s/%s: cannot read back %s: %s", d->target, rel, read_from, strerror(errno));
	if (!rc && !what && mld__sys.fsync(fd) != 0)
		what = "cannot flush to disk";
	if (what)
		rc = mld__err(MLD_EIO, "%s/%s: %s: %s", d->target, rel, what, strerror(errno));
	if (close(fd) != 0 && !rc)
		rc = mld__err(MLD_EIO, "%s/%s: close failed: %s", d->target, rel, strerror(errno));
	return rc;
}

int mld__adir_commit(mld__adir *d, bool replace)
{
	if (d->committed)
		return 0;
	/* the entries inside must be durable before the tree takes the name */
	for (int k = atomic_load(&d->l.n_children); k-- > 0;) {
		struct stat st;
		if (stat(d->l.children[k], &st) == 0 && S_ISDIR(st.st_mode))
			mld__fsync_dir(d->l.children[k]);
	}
	mld__fsync_dir(d->l.root);
	struct stat st;
	bool exists = lstat(d->target, &st) == 0;
	if (exists && !replace)
		return mld__err(MLD_EEXISTS, "%s: already exists (not replaced)", d->target);
	test_delay();
	int rc = 0;
	if (!exists) {
		if (mld__sys.rename(d->l.root, d->target) != 0)
			rc = mld__err(MLD_EIO, "%s: cannot rename into place: %s", d->target, strerror(errno));
	} else if (mld__rename_exchange(d->l.root, d->target) == 0) {
		/* swapped: readers saw the old tree or the new one; the old is at the temp name now */
		mld__rmtree(d->l.root);
	} else if (errno != ENOTSUP) {
		rc = mld__err(MLD_EIO, "%s: cannot swap the new tree in: %s", d->target, strerror(errno));
	} else {
		/* no swap here: move the old tree aside under a temp name (the next writer removes
		 * it if we die), rename the new one in, and put the old back if that fails */
		char *aside = mld__sprintf("%s-old", d->l.root);
		if (!aside)
			rc = MLD_ENOMEM;
		else if (mld__sys.rename(d->target, aside) != 0)
			rc = mld__err(MLD_EIO, "%s: cannot move the old tree aside: %s", d->target, strerror(errno));
		else if (mld__sys.rename(d->l.root, d->target) != 0) {
			rc = mld__err(MLD_EIO, "%s: cannot rename into place: %s", d->target, strerror(errno));
			rename(aside, d->target);
		} else
			mld__rmtree(aside);
		free(aside);
	}
	if (rc)
		return rc;
	d->committed = true;
	live_remove(&d->l);
	mld__fsync_dir(d->dir);
	mld__err_clear();
	return 0;
}

void mld__adir_free(mld__adir *d)
{
	if (!d)
		return;
	if (!d->committed && d->l.root) {
		/* cleaning up must not overwrite the error that brought us here */
		int code = mld_error_code();
		char *msg = code ? mld__strdup(mld_error_last()) : NULL;
		live_remove(&d->l);
		mld__rmtree(d->l.root);
		mld__err_clear();
		if (code)
			mld__err(code, "%s", msg ? msg : "");
		free(msg);
	}
	for (int k = atomic_load(&d->l.n_children); k-- > 0;)
		free(d->l.children[k]);
	free(d->l.root);
	free(d->target);
	free(d->dir);
	free(d);
}

/* ---- write if changed --------------------------------------------------------------------- */

/* Does `path` hold exactly these bytes? */
static bool holds(const char *path, const void *data, size_t len)
{
	int fd;
	struct stat st;
	if (mld__open_regular(&fd, &st, path)) {
		mld__err_clear();
		return false;
	}
	const uint8_t *want = data;
	uint8_t buf[8192];
	size_t off = 0;
	bool same = (uint64_t)st.st_size == len;
	while (same) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			same = n == 0 && off == len;
			break;
		}
		same = (size_t)n <= len - off && !memcmp(buf, want + off, (size_t)n);
		off += (size_t)n;
	}
	close(fd);
	return same;
}

int mld_write_if_changed(const char *path, const void *data, size_t len)
{
	mld__err_clear();
	if (holds(path, data, len))
		return 0; /* keep the mtime: nothing downstream needs to run */
	mld__afile *f;
	int rc = mld__afile_open(&f, path, MLD_AFILE_MKDIRS);
	if (rc)
		return rc;
	if (!(rc = mld__afile_write(f, data, len)))
		rc = mld__afile_commit(f);
	mld__afile_free(f);
	return rc ? rc : 1;
}
