/* The SQLite store: creation and migration, idempotent reopen, refusing files that
 * are not stores, and the default-path precedence. */
#include "testutil.h"

#include "store/store.h"
#include "store_sql.h"

#include <sqlite3.h>
#include <sys/stat.h>

static int pragma_int(const char *db_path, const char *pragma)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, pragma, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *db_path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static void test_open_creates_schema(void **state)
{
	(void)state;
	assert_true(MLD_STORE_SCHEMA_VERSION >= 1);
	assert_non_null(mld__store_migrations[MLD_STORE_SCHEMA_VERSION - 1]);
	char *dir = tu_tempdir();
	/* missing parent directories of the store are created */
	char *path = tu_fmt("%s/cache/mldedup/store.db", dir);
	mld_store *st = NULL;
	assert_ok(mld_store_open(&st, path));
	assert_non_null(st);
	assert_int_equal(mld_store_schema_version(st), MLD_STORE_SCHEMA_VERSION);
	mld_store_free(st);
	mld_store_free(NULL);

	assert_true(tu_exists(path));
	assert_int_equal(pragma_int(path, "PRAGMA user_version"), MLD_STORE_SCHEMA_VERSION);
	int tables = pragma_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
	assert_true(tables >= 3);
	assert_int_equal(pragma_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'packages'"), 1);
	int objects = pragma_int(path, "SELECT count(*) FROM sqlite_master");

	/* reopening is idempotent: same version, same schema objects, data kept */
	exec_sql(path, "CREATE TABLE unit_marker (x); INSERT INTO unit_marker VALUES (42)");
	objects++;
	for (int i = 0; i < 3; i++) {
		assert_ok(mld_store_open(&st, path));
		assert_int_equal(mld_store_schema_version(st), MLD_STORE_SCHEMA_VERSION);
		mld_store_free(st);
	}
	assert_int_equal(pragma_int(path, "PRAGMA user_version"), MLD_STORE_SCHEMA_VERSION);
	assert_int_equal(pragma_int(path, "SELECT count(*) FROM sqlite_master"), objects);
	assert_int_equal(pragma_int(path, "SELECT x FROM unit_marker"), 42);

	/* two connections at once are fine (WAL) */
	mld_store *a = NULL, *b = NULL;
	assert_ok(mld_store_open(&a, path));
	assert_ok(mld_store_open(&b, path));
	mld_store_free(a);
	mld_store_free(b);

	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_migrates_old_store(void **state)
{
	(void)state;
	/* a store left at schema version 1 by an older mldedup is brought up to date */
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/old.db", dir);
	exec_sql(path, mld__store_migrations[0]);
	exec_sql(path, "PRAGMA user_version = 1");
	int objects_v1 = pragma_int(path, "SELECT count(*) FROM sqlite_master");
	mld_store *st = NULL;
	assert_ok(mld_store_open(&st, path));
	assert_int_equal(mld_store_schema_version(st), MLD_STORE_SCHEMA_VERSION);
	mld_store_free(st);
	assert_int_equal(pragma_int(path, "PRAGMA user_version"), MLD_STORE_SCHEMA_VERSION);
	/* later migrations only add */
	assert_true(pragma_int(path, "SELECT count(*) FROM sqlite_master") >= objects_v1);

	/* and a fresh store ends with the same schema as the migrated one */
	char *fresh = tu_fmt("%s/fresh.db", dir);
	assert_ok(mld_store_open(&st, fresh));
	mld_store_free(st);
	assert_int_equal(pragma_int(fresh, "SELECT count(*) FROM sqlite_master"),
	                 pragma_int(path, "SELECT count(*) FROM sqlite_master"));
	tu_rmtree(dir);
	free(fresh);
	free(path);
	free(dir);
}

static void test_not_a_store(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/notes.db", dir);
	char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = "This is not a SQLite database.\n"[i % 31];
	tu_write_file(path, junk, sizeof junk);
	mld_store *st = NULL;
	assert_mld_err(mld_store_open(&st, path), MLD_ESTORE, path);
	assert_null(st);
	/* and the file is left exactly as it was */
	size_t n;
	uint8_t *after = tu_read_file(path, &n);
	assert_int_equal(n, sizeof junk);
	assert_memory_equal(after, junk, sizeof junk);
	free(after);

	/* a directory where the store file should be */
	char *dpath = tu_fmt("%s/adir.db", dir);
	assert_int_equal(mkdir(dpath, 0755), 0);
	assert_mld_err(mld_store_open(&st, dpath), MLD_ESTORE, dpath);
	assert_null(st);

	tu_rmtree(dir);
	free(dpath);
	free(path);
	free(dir);
}

static void test_newer_schema_refused(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/store.db", dir);
	mld_store *st = NULL;
	assert_ok(mld_store_open(&st, path));
	mld_store_free(st);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", MLD_STORE_SCHEMA_VERSION + 1);
	exec_sql(path, sql);
	st = NULL;
	assert_mld_err(mld_store_open(&st, path), MLD_ESTORE, path);
	assert_non_null(strstr(mld_error_last(), "newer"));
	assert_null(st);
	/* untouched */
	assert_int_equal(pragma_int(path, "PRAGMA user_version"), MLD_STORE_SCHEMA_VERSION + 1);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* ---- default path -------------------------------------------------------------------------- */

static const char *const env_names[] = {"MLDEDUP_STORE", "XDG_CACHE_HOME", "HOME"};
static char *saved_env[3];

static int save_env(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(env_names[i]);
		saved_env[i] = v ? strdup(v) : NULL;
	}
	return 0;
}

static int restore_env(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		if (saved_env[i])
			setenv(env_names[i], saved_env[i], 1);
		else
			unsetenv(env_names[i]);
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
	return 0;
}

static void set_env(const char *store, const char *xdg, const char *home)
{
	const char *v[3] = {store, xdg, home};
	for (int i = 0; i < 3; i++) {
		if (v[i])
			assert_int_equal(setenv(env_names[i], v[i], 1), 0);
		else
			assert_int_equal(unsetenv(env_names[i]), 0);
	}
}

static void expect_path(const char *explicit_path, const char *want)
{
	char *p = NULL;
	assert_ok(mld_store_default_path(&p, explicit_path));
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);
}

static void test_default_path_precedence(void **state)
{
	(void)state;
	/* --store wins over everything */
	set_env("/env/store.db", "/xdg", "/home/u");
	expect_path("/explicit/s.db", "/explicit/s.db");
	expect_path("relative.db", "relative.db");
	/* then $MLDEDUP_STORE (an empty --store counts as none) */
	expect_path(NULL, "/env/store.db");
	expect_path("", "/env/store.db");
	/* then $XDG_CACHE_HOME/mldedup/store.db */
	set_env(NULL, "/xdg", "/home/u");
	expect_path(NULL, "/xdg/mldedup/store.db");
	set_env("", "/xdg", "/home/u"); /* empty means unset */
	expect_path(NULL, "/xdg/mldedup/store.db");
	/* then $HOME/.cache/mldedup/store.db */
	set_env(NULL, NULL, "/home/u");
	expect_path(NULL, "/home/u/.cache/mldedup/store.db");
	set_env(NULL, "", "/home/u");
	expect_path(NULL, "/home/u/.cache/mldedup/store.db");
	/* a relative XDG_CACHE_HOME is invalid per the XDG spec and ignored */
	set_env(NULL, "rel/cache", "/home/u");
	expect_path(NULL, "/home/u/.cache/mldedup/store.db");
	/* nothing at all: a usage error that says what to do */
	set_env(NULL, NULL, NULL);
	char *p = NULL;
	assert_mld_err(mld_store_default_path(&p, NULL), MLD_EUSAGE, "--store");
	assert_null(p);
	expect_path("/explicit/s.db", "/explicit/s.db");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates_schema),
		cmocka_unit_test(test_migrates_old_store),
		cmocka_unit_test(test_not_a_store),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test_setup_teardown(test_default_path_precedence, save_env, restore_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
