#include "store.h"

#include "../core/fsutil.h"
#include "store_sql.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 60000

int mld_store_default_path(char **out, const char *explicit_path)
{
	const char *env = getenv("MLDEDUP_STORE");
	if (explicit_path && *explicit_path)
		*out = mld__strdup(explicit_path);
	else if (env && *env)
		*out = mld__strdup(env);
	else {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		if (xdg && *xdg == '/')
			*out = mld__sprintf("%s/mldedup/store.db", xdg);
		else if (home && *home)
			*out = mld__sprintf("%s/.cache/mldedup/store.db", home);
		else
			return mld__err(MLD_EUSAGE, "no store location: pass --store, or set MLDEDUP_STORE or HOME");
	}
	return *out ? 0 : MLD_ENOMEM;
}

int mld__store_err(mld_store *st, const char *what)
{
	int ext = sqlite3_extended_errcode(st->db);
	const char *hint = "";
	if ((ext & 0xff) == SQLITE_NOTADB || (ext & 0xff) == SQLITE_CORRUPT)
		hint = " (the file is not a usable mldedup store; move it away to start afresh)";
	else if ((ext & 0xff) == SQLITE_FULL)
		hint = " (disk full)";
	return mld__err(MLD_ESTORE, "store %s: %s: %s%s", st->path, what, sqlite3_errmsg(st->db), hint);
}

int mld__store_exec(mld_store *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = mld__err(MLD_ESTORE, "store %s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int mld__store_prepare(mld_store *st, sqlite3_stmt **out, const char *sql)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return mld__store_err(st, "prepare");
	return 0;
}

int mld__store_begin(mld_store *st)
{
	/* The busy handler waits inside BEGIN IMMEDIATE; retry a few times on top for
	 * the rare SQLITE_BUSY that WAL recovery returns without waiting. */
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || attempt >= 20)
			return mld__store_err(st, "begin transaction");
		usleep(10000u * (unsigned)(attempt + 1));
	}
}

int mld__store_commit(mld_store *st)
{
	for (int attempt = 0;; attempt++) {
		int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || attempt >= 20) {
			int err = mld__store_err(st, "commit");
			mld__store_rollback(st);
			return err;
		}
		usleep(10000u * (unsigned)(attempt + 1));
	}
}

void mld__store_rollback(mld_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int user_version(mld_store *st, int *out)
{
	sqlite3_stmt *s;
	int rc = mld__store_prepare(st, &s, "PRAGMA user_version");
	if (rc)
		return rc;
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = mld__store_err(st, "read schema version");
	} else {
		*out = sqlite3_column_int(s, 0);
	}
	sqlite3_finalize(s);
	return rc;
}

static int migrate(mld_store *st)
{
	int v, rc;
	if ((rc = user_version(st, &v)))
		return rc;
	if (v == MLD_STORE_SCHEMA_VERSION)
		return 0;
	if ((rc = mld__store_begin(st)))
		return rc;
	/* Re-read under the write lock: another process may have migrated meanwhile. */
	if ((rc = user_version(st, &v)))
		goto fail;
	if (v > MLD_STORE_SCHEMA_VERSION) {
		rc = mld__err(MLD_ESTORE, "store %s: schema version %d is newer than this mldedup understands (%d)", st->path,
		             v, MLD_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (v < 0) { /* user_version is any 32-bit integer: not a store mldedup wrote */
		rc = mld__err(MLD_ESTORE, "store %s: schema version %d is not one mldedup writes: not a usable mldedup store",
		             st->path, v);
		goto fail;
	}
	for (; v < MLD_STORE_SCHEMA_VERSION; v++) {
		if ((rc = mld__store_exec(st, mld__store_migrations[v]))) {
			mld__err_prefix("migrating to schema version %d", v + 1);
			goto fail;
		}
		char pragma[64];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if ((rc = mld__store_exec(st, pragma)))
			goto fail;
	}
	return mld__store_commit(st);
fail:
	mld__store_rollback(st);
	return rc;
}

int mld__store_check_files(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		char *p = mld__sprintf("%s%s", path, sfx[i]);
		struct stat sb;
		int rc = !p ? MLD_ENOMEM : 0;
		if (p && stat(p, &sb) == 0 && !S_ISREG(sb.st_mode))
			rc = mld__err(MLD_ESTORE, "store %s: is %s, not a regular file", p,
			             S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ? "a FIFO" :
			             S_ISSOCK(sb.st_mode) ? "a socket" : "a device or special file");
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

static int configure(mld_store *st);

int mld_store_open(mld_store **out, const char *path)
{
	mld__err_clear();
	int rc0 = mld__store_check_files(path);
	if (rc0)
		return rc0;
	mld_store *st = mld__calloc(1, sizeof *st);
	if (!st || !(st->path = mld__strdup(path))) {
		free(st);
		return MLD_ENOMEM;
	}
	int rc = 0;
	/* Create the parent directory of a default store location. */
	char *slash = strrchr(st->path, '/');
	if (slash && slash != st->path) {
		*slash = 0;
		if (access(st->path, F_OK) != 0)
			rc = mld__mkdirs(st->path, 0755);
		*slash = '/';
		if (rc)
			goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = st->db ? mld__store_err(st, "open") : mld__err(MLD_ESTORE, "store %s: cannot open", path);
		goto fail;
	}
	if ((rc = configure(st)))
		goto fail;
	*out = st;
	return 0;
fail:
	mld_store_free(st);
	return rc;
}

int mld__store_attach(mld_store **out, sqlite3 *db, const char *name)
{
	mld__err_clear();
	mld_store *st = mld__calloc(1, sizeof *st);
	if (!st || !(st->path = mld__strdup(name))) {
		free(st);
		sqlite3_close_v2(db);
		return MLD_ENOMEM;
	}
	st->db = db;
	int rc = configure(st);
	if (rc)
		mld_store_free(st);
	else
		*out = st;
	return rc;
}

/* A new connection: busy timeout, WAL, foreign keys, migrations. */
static int configure(mld_store *st)
{
	int rc;
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	/* journal_mode=WAL is persistent; setting it needs a brief exclusive lock, so
	 * retry while parallel openers race for it. */
	for (int attempt = 0;; attempt++) {
		sqlite3_stmt *s;
		if ((rc = mld__store_prepare(st, &s, "PRAGMA journal_mode=WAL")))
			return rc;
		int step = sqlite3_step(s);
		sqlite3_finalize(s);
		if (step == SQLITE_ROW || step == SQLITE_DONE)
			break;
		if ((step & 0xff) != SQLITE_BUSY || attempt >= 50) {
			return mld__store_err(st, "enable WAL");
		}
		usleep(20000);
	}
	if ((rc = mld__store_exec(st, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")))
		return rc;
	return migrate(st);
}

void mld_store_free(mld_store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

int mld_store_schema_version(mld_store *st)
{
	int v = -1;
	if (user_version(st, &v))
		return -1;
	return v;
}
