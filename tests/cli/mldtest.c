/* mldtest: small helpers for the CLI test scripts, so they need nothing beyond
 * bash and coreutils (no python, zip, sqlite3 or jq commands).
 *
 *   mldtest mkpkg OUT.mlpackage [--seed N] [--second-fn] [--huge-shape] [--huge-immediate] [--all-ops]
 *                               [--cycle self|pair] [--ios16] [--ios16-case CASE]... [--opset CoreML5|6|7]
 *       (--ios16: an iOS16 program, spec 7 and opset CoreML6 unless --opset says otherwise)
 *       write the synthetic package (synth.h)
 *   mldtest mkzip OUT.zip [--prefix P] [--macosx] [--file NAME=TEXT]... [PKGDIR]...
 *       zip each package directory as "<P><basename>/..."; --macosx adds a Finder
 *       "__MACOSX/" shadow tree (including a shadow Manifest.json); --file adds a
 *       plain entry
 *   mldtest sql DB SQL
 *       run a query on an SQLite file, print rows tab-separated (sqlw: may write)
 *   mldtest json KEY [FILE]
 *       print member KEY of the JSON object in FILE (default stdin)
 *   mldtest mkbomb ..., maxrss ..., mkdeep ..., ops ..., depfile ...
 *       zip bombs, peak memory, deeply nested models, a model's ops: see inputgen.c
 */
#include "inputgen.h"
#include "synth.h"

#include "mldedup.h"

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

static int die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mldtest: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	return 1;
}

static int cmd_mkpkg(int argc, char **argv)
{
	synth_opts o = {0};
	const char *out = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			o.seed = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--second-fn"))
			o.second_fn = true;
		else if (!strcmp(argv[i], "--huge-shape"))
			o.huge_shape = true;
		else if (!strcmp(argv[i], "--huge-immediate"))
			o.huge_immediate = true;
		else if (!strcmp(argv[i], "--all-ops"))
			o.all_ops = true;
		else if (!strcmp(argv[i], "--ios16"))
			o.ios16 = true;
		else if (!strcmp(argv[i], "--opset") && i + 1 < argc) {
			o.ios16 = true;
			const char *v = argv[++i];
			o.ios16_opset = (unsigned)strtoul(v + (strncmp(v, "CoreML", 6) ? 0 : 6), NULL, 10);
			if (o.ios16_opset < 5 || o.ios16_opset > 7)
				return die("mkpkg: --opset takes CoreML5, CoreML6 or CoreML7, not %s%s", argv[i], "");
		} else if (!strcmp(argv[i], "--ios16-case") && i + 1 < argc) {
			unsigned c = synth_ios16_case(argv[++i]);
			if (!c)
				return die("mkpkg: unknown --ios16-case %s%s", argv[i], "");
			o.ios16 = true;
			o.ios16_cases |= c;
		} else if (!strcmp(argv[i], "--cycle") && i + 1 < argc)
			o.cycle = !strcmp(argv[++i], "self") ? 1 : !strcmp(argv[i], "pair") ? 2 : -1;
		else if (argv[i][0] != '-' && !out)
			out = argv[i];
		else
			return die("mkpkg: bad argument %s%s", argv[i], "");
	}
	if (!out)
		return die("mkpkg: no output path%s%s", "", "");
	if (synth_write(out, &o))
		return die("mkpkg: %s%s", mld_error_last(), "");
	return 0;
}

static int zip_tree(zip_t *z, const char *fs, const char *name)
{
	struct stat st;
	if (lstat(fs, &st) != 0)
		return die("mkzip: cannot stat %s%s", fs, "");
	if (S_ISDIR(st.st_mode)) {
		char dname[4096];
		snprintf(dname, sizeof dname, "%s/", name);
		if (zip_dir_add(z, name, ZIP_FL_ENC_UTF_8) < 0)
			return die("mkzip: %s: %s", name, zip_strerror(z));
		DIR *d = opendir(fs);
		if (!d)
			return die("mkzip: cannot open %s%s", fs, "");
		struct dirent *e;
		int rc = 0;
		while (!rc && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char cfs[4096], cname[4096];
			snprintf(cfs, sizeof cfs, "%s/%s", fs, e->d_name);
			snprintf(cname, sizeof cname, "%s/%s", name, e->d_name);
			rc = zip_tree(z, cfs, cname);
		}
		closedir(d);
		return rc;
	}
	zip_source_t *src = zip_source_file(z, fs, 0, -1);
	if (!src || zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
		if (src)
			zip_source_free(src);
		return die("mkzip: %s: %s", name, zip_strerror(z));
	}
	return 0;
}

static int add_text(zip_t *z, const char *name, const char *text)
{
	char *copy = strdup(text);
	zip_source_t *src = copy ? zip_source_buffer(z, copy, strlen(copy), 1) : NULL;
	if (!src || zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
		if (src)
			zip_source_free(src);
		return die("mkzip: %s: %s", name, zip_strerror(z));
	}
	return 0;
}

static int cmd_mkzip(int argc, char **argv)
{
	if (argc < 1)
		return die("mkzip: no output%s%s", "", "");
	const char *prefix = "";
	bool macosx = false;
	int err = 0;
	zip_t *z = zip_open(argv[0], ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!z)
		return die("mkzip: cannot create %s%s", argv[0], "");
	int rc = 0;
	for (int i = 1; i < argc && !rc; i++) {
		if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
			prefix = argv[++i];
		} else if (!strcmp(argv[i], "--macosx")) {
			macosx = true;
		} else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
			char *spec = argv[++i], *eq = strchr(spec, '=');
			if (!eq)
				return die("mkzip: --file wants NAME=TEXT, got %s%s", spec, "");
			*eq = 0;
			rc = add_text(z, spec, eq + 1);
		} else {
			const char *base = strrchr(argv[i], '/');
			base = base && base[1] ? base + 1 : argv[i];
			char name[4096];
			snprintf(name, sizeof name, "%s%s", prefix, base);
			/* directory entries for the prefix, as zip(1) would add */
			for (char *s = name; (s = strchr(s, '/')); s++) {
				char c = s[1];
				s[1] = 0;
				zip_dir_add(z, name, ZIP_FL_ENC_UTF_8);
				s[1] = c;
			}
			rc = zip_tree(z, argv[i], name);
			if (!rc && macosx) {
				/* Finder's AppleDouble shadows: every file gets a "._" twin under __MACOSX/,
				 * here also a full shadow Manifest.json that must not count as a package */
				char shadow[4200];
				snprintf(shadow, sizeof shadow, "__MACOSX/%s/._Manifest.json", name);
				rc = add_text(z, shadow, "\x00\x05\x16\x07 AppleDouble");
				snprintf(shadow, sizeof shadow, "__MACOSX/%s/Manifest.json", name);
				if (!rc)
					rc = add_text(z, shadow, "{\"fileFormatVersion\": \"1.0.0\"}");
				snprintf(shadow, sizeof shadow, "__MACOSX/._%s", name);
				if (!rc)
					rc = add_text(z, shadow, "AppleDouble");
			}
		}
	}
	if (rc) {
		zip_discard(z);
		return rc;
	}
	if (zip_close(z) != 0) {
		rc = die("mkzip: %s: %s", argv[0], zip_strerror(z));
		zip_discard(z);
	}
	return rc;
}

static int cmd_sql_flags(int argc, char **argv, int flags);
static int cmd_sql(int argc, char **argv) { return cmd_sql_flags(argc, argv, SQLITE_OPEN_READONLY); }
static int cmd_sqlw(int argc, char **argv) { return cmd_sql_flags(argc, argv, SQLITE_OPEN_READWRITE); }

static int cmd_sql_flags(int argc, char **argv, int flags)
{
	if (argc != 2)
		return die("sql: usage: mldtest sql DB QUERY%s%s", "", "");
	sqlite3 *db;
	if (sqlite3_open_v2(argv[0], &db, flags, NULL) != SQLITE_OK) {
		int rc = die("sql: %s: %s", argv[0], sqlite3_errmsg(db));
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 30000);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, argv[1], -1, &s, NULL) != SQLITE_OK) {
		int rc = die("sql: %s: %s", argv[1], sqlite3_errmsg(db));
		sqlite3_close(db);
		return rc;
	}
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			const unsigned char *t = sqlite3_column_text(s, c);
			printf("%s%s", c ? "\t" : "", t ? (const char *)t : "NULL");
		}
		printf("\n");
	}
	int rc = step == SQLITE_DONE ? 0 : die("sql: %s: %s", argv[1], sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

static int cmd_json(int argc, char **argv)
{
	if (argc < 1 || argc > 2)
		return die("json: usage: mldtest json KEY [FILE]%s%s", "", "");
	json_error_t je;
	json_t *root = argc == 2 ? json_load_file(argv[1], 0, &je) : json_loadf(stdin, 0, &je);
	if (!root)
		return die("json: invalid JSON: %s%s", je.text, "");
	json_t *v = json_object_get(root, argv[0]);
	int rc = 0;
	if (!v)
		rc = die("json: no key %s%s", argv[0], "");
	else if (json_is_string(v))
		printf("%s\n", json_string_value(v));
	else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s\n", s ? s : "");
		free(s);
	}
	json_decref(root);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return die("usage: mldtest mkpkg|mkzip|sql|json ...%s%s", "", "");
	if (!strcmp(argv[1], "mkpkg"))
		return cmd_mkpkg(argc - 2, argv + 2);
	if (!strcmp(argv[1], "mkzip"))
		return cmd_mkzip(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sql"))
		return cmd_sql(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sqlw"))
		return cmd_sqlw(argc - 2, argv + 2);
	if (!strcmp(argv[1], "json"))
		return cmd_json(argc - 2, argv + 2);
	if (!strcmp(argv[1], "mkbomb"))
		return ig_mkbomb(argc - 2, argv + 2);
	if (!strcmp(argv[1], "maxrss"))
		return ig_maxrss(argc - 2, argv + 2);
	if (!strcmp(argv[1], "mkdeep"))
		return ig_mkdeep(argc - 2, argv + 2);
	if (!strcmp(argv[1], "ops"))
		return ig_ops(argc - 2, argv + 2);
	if (!strcmp(argv[1], "depfile"))
		return ig_depfile(argc - 2, argv + 2);
	return die("unknown command %s%s", argv[1], "");
}
