/* fixture_check: checks libmldedup and the mldedup CLI against the coremltools
 * fixture packages and their answer files (*.ref.json).
 *
 *   fixture_check decode FIXTURES_DIR MLDEDUP_BIN
 *       for every package (found recursively through its .ref.json):
 *       - the library lists exactly the ref's weights (names, dtypes, shapes),
 *         and each weight's dense values hash to sha256_fp16;
 *       - `mldedup ls --json` lists exactly the same weights with a digest each (none
 *         "unsupported"), and `mldedup ls --forms` counts them all as decoded;
 *       - `mldedup cat PKG FUNCTION NAME` writes bytes that hash to sha256_fp16;
 *       - indexing it into a temp store decodes every weight (none unsupported).
 *   fixture_check roundtrip FIXTURES_DIR
 *       for every package: read -> mld_package_write -> read; weight.bin and
 *       model.mlmodel are byte-identical and every weight has the same content and
 *       encoding digests.
 *
 * Exit 0 when all pass, 1 on any mismatch, 77 (SKIP) when FIXTURES_DIR is absent. */
#define _GNU_SOURCE
#include "../testc.h"
#include "sha256.h"

#include "mldedup.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

/* ---- finding the answer files ---------------------------------------------------- */

static char **refs;
static size_t n_refs;

static int on_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	size_t n = strlen(path);
	if (flag == FTW_F && n > 9 && !strcmp(path + n - 9, ".ref.json")) {
		refs = realloc(refs, (n_refs + 1) * sizeof *refs);
		refs[n_refs++] = strdup(path);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int find_refs(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("SKIP: fixtures not found at %s\n", dir);
		return 77;
	}
	nftw(dir, on_file, 16, FTW_PHYS);
	qsort(refs, n_refs, sizeof *refs, cmp_str);
	if (!n_refs) {
		printf("SKIP: no *.ref.json answer files under %s\n", dir);
		return 77;
	}
	return 0;
}

/* The package next to a ref file: its "package" member, else <stem>.mlpackage. */
static char *package_of(const char *ref, json_t *root)
{
	const char *pkg = json_string_value(json_object_get(root, "package"));
	const char *slash = strrchr(ref, '/');
	size_t dlen = slash ? (size_t)(slash - ref) + 1 : 0;
	char *out;
	if (pkg) {
		if (asprintf(&out, "%.*s%s", (int)dlen, ref, pkg) < 0)
			abort();
	} else if (asprintf(&out, "%.*s.mlpackage", (int)(strlen(ref) - 9), ref) < 0)
		abort();
	return out;
}

/* ---- running the CLI -------------------------------------------------------------- */

/* Run argv, capturing stdout; returns the exit status (or -1), stderr passes through. */
static int run_capture(char *const argv[], uint8_t **out, size_t *len)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t k = read(fds[0], buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	*len = n;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* ---- comparing a weight with its answer ------------------------------------------------ */

static bool shape_eq(json_t *shape, unsigned rank, const uint64_t *dims)
{
	if (!json_is_array(shape) || json_array_size(shape) != rank)
		return false;
	for (unsigned d = 0; d < rank; d++)
		if ((uint64_t)json_integer_value(json_array_get(shape, d)) != dims[d])
			return false;
	return true;
}

static void shape_text(char *buf, size_t n, json_t *shape)
{
	char *s = json_dumps(shape, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(buf, n, "%s", s ? s : "?");
	free(s);
}

/* The SHA-256 the answer file gives for these dense values. */
static const char *expected_sha(json_t *rw, mld_dtype dt)
{
	if (dt == MLD_DT_FP16)
		return json_string_value(json_object_get(rw, "sha256_fp16"));
	return json_string_value(json_object_get(rw, "sha256_values"));
}

typedef struct counts {
	unsigned packages, weights, cat_checked, ls_checked;
} counts;

/* `mldedup ls --forms --json`: the completeness report counts every weight as
 * decoded, none unsupported, and exits 0. */
static void check_forms(const char *mldedup, const char *pkgpath, size_t n_ref)
{
	char *argv[] = {(char *)mldedup, "ls", "--forms", "--json", (char *)pkgpath, NULL};
	uint8_t *out;
	size_t len;
	int st = run_capture(argv, &out, &len);
	json_t *doc = json_loadb((const char *)out, len, 0, NULL), *arr = json_object_get(doc, "forms");
	free(out);
	if (st != 0 || !json_is_array(arr) || json_integer_value(json_object_get(doc, "format")) != 1) {
		fail("%s: mldedup ls --forms --json exited %d%s", pkgpath, st,
		     json_is_array(arr) ? "" : " without {format: 1, forms: [...]}");
		json_decref(doc);
		return;
	}
	json_int_t weights = 0, decoded = 0, unsupported = 0;
	size_t i;
	json_t *row;
	json_array_foreach(arr, i, row)
	{
		weights += json_integer_value(json_object_get(row, "weights"));
		decoded += json_integer_value(json_object_get(row, "decoded"));
		unsupported += json_integer_value(json_object_get(row, "unsupported"));
		if (json_integer_value(json_object_get(row, "unsupported")))
			fail("%s: ls --forms: chain %s has unsupported weights", pkgpath,
			     json_string_value(json_object_get(row, "chain")));
	}
	if ((size_t)weights != n_ref || (size_t)decoded != n_ref || unsupported)
		fail("%s: ls --forms counts %lld weights, %lld decoded, %lld unsupported (want %zu, %zu, 0)", pkgpath,
		     (long long)weights, (long long)decoded, (long long)unsupported, n_ref, n_ref);
	json_decref(doc);
}

static void check_ls(const char *mldedup, const char *pkgpath, json_t *ref_fns, const mld_package *pkg, counts *c)
{
	char *argv[] = {(char *)mldedup, "ls", "--json", (char *)pkgpath, NULL};
	uint8_t *out;
	size_t len;
	int st = run_capture(argv, &out, &len);
	if (st != 0) {
		fail("%s: mldedup ls --json exited %d", pkgpath, st);
		free(out);
		return;
	}
	json_error_t je;
	json_t *doc = json_loadb((const char *)out, len, 0, &je), *arr = json_object_get(doc, "weights");
	free(out);
	if (!json_is_array(arr)) {
		fail("%s: mldedup ls --json printed no {weights: [...]} (%s)", pkgpath, je.text);
		json_decref(doc);
		return;
	}
	size_t n_ref = 0;
	const char *fname;
	json_t *fobj;
	json_object_foreach(ref_fns, fname, fobj) n_ref += json_array_size(json_object_get(fobj, "weights"));
	if (json_array_size(arr) != n_ref)
		fail("%s: mldedup ls lists %zu weights, the answer file %zu", pkgpath, json_array_size(arr), n_ref);
	size_t i;
	json_t *row;
	json_array_foreach(arr, i, row)
	{
		const char *fn = json_string_value(json_object_get(row, "function"));
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *dt = json_string_value(json_object_get(row, "dtype"));
		const char *dig = json_string_value(json_object_get(row, "content_digest"));
		json_t *rw = NULL, *ws = json_object_get(json_object_get(ref_fns, fn ? fn : ""), "weights");
		size_t k;
		json_t *x;
		json_array_foreach(ws, k, x) if (name && !strcmp(json_string_value(json_object_get(x, "name")), name))
			rw = x;
		if (!rw) {
			fail("%s: mldedup ls lists %s:%s, which the answer file does not have", pkgpath, fn ? fn : "?",
			     name ? name : "?");
			continue;
		}
		if (!dt || strcmp(dt, json_string_value(json_object_get(rw, "dtype"))))
			fail("%s: ls %s:%s dtype %s, answer %s", pkgpath, fn, name, dt ? dt : "?",
			     json_string_value(json_object_get(rw, "dtype")));
		if (!json_equal(json_object_get(row, "shape"), json_object_get(rw, "shape"))) {
			char a[256], b[256];
			shape_text(a, sizeof a, json_object_get(row, "shape"));
			shape_text(b, sizeof b, json_object_get(rw, "shape"));
			fail("%s: ls %s:%s shape %s, answer %s", pkgpath, fn, name, a, b);
		}
		/* the digest ls prints is the library's content digest */
		const mld_weight *w;
		mld_tensor *t;
		if (dig && !strcmp(dig, "unsupported")) {
			fail("%s: ls reports %s:%s as unsupported", pkgpath, fn, name);
		} else if (!dig || strlen(dig) != 32) {
			fail("%s: ls %s:%s has no content digest", pkgpath, fn, name);
		} else if (!mld_package_find_weight(&w, pkg, fn, name) && !mld_weight_decode(&t, pkg, w)) {
			mld_digest d;
			char hex[33];
			mld_tensor_digest(&d, t);
			mld_digest_hex(hex, &d);
			if (strcmp(hex, dig))
				fail("%s: ls %s:%s digest %s, library %s", pkgpath, fn, name, dig, hex);
			mld_tensor_free(t);
		}
		c->ls_checked++;
	}
	json_decref(doc);
	check_forms(mldedup, pkgpath, n_ref);
}

static void check_cat(const char *mldedup, const char *pkgpath, const char *fn, const char *name, const char *want,
                      counts *c)
{
	char *argv[] = {(char *)mldedup, "cat", (char *)pkgpath, (char *)fn, (char *)name, NULL};
	uint8_t *out;
	size_t len;
	int st = run_capture(argv, &out, &len);
	if (st != 0) {
		fail("%s: mldedup cat %s %s exited %d", pkgpath, fn, name, st);
	} else {
		char hex[65];
		sha256_hex(hex, out, len);
		if (strcmp(hex, want))
			fail("%s: mldedup cat %s %s: sha256 %s (%zu bytes), answer %s", pkgpath, fn, name, hex, len,
			     want);
		else
			c->cat_checked++;
	}
	free(out);
}

static void decode_package(const char *ref, const char *mldedup, mld_store *store, counts *c)
{
	json_error_t je;
	json_t *root = json_load_file(ref, 0, &je);
	if (!root) {
		fail("%s: cannot parse: %s", ref, je.text);
		return;
	}
	char *pkgpath = package_of(ref, root);
	json_t *fns = json_object_get(root, "functions");
	mld_package *pkg;
	if (mld_package_open(&pkg, pkgpath)) {
		fail("%s: open: %s", pkgpath, mld_error_last());
		goto out;
	}
	c->packages++;
	size_t n_lib = mld_package_weight_count(pkg);
	bool *seen = calloc(n_lib ? n_lib : 1, 1);
	const char *fname;
	json_t *fobj;
	json_object_foreach(fns, fname, fobj)
	{
		size_t i;
		json_t *rw;
		json_array_foreach(json_object_get(fobj, "weights"), i, rw)
		{
			const char *name = json_string_value(json_object_get(rw, "name"));
			const char *rdt = json_string_value(json_object_get(rw, "dtype"));
			json_t *rshape = json_object_get(rw, "shape");
			const mld_weight *w;
			c->weights++;
			if (mld_package_find_weight(&w, pkg, fname, name)) {
				fail("%s: weight %s:%s of the answer file is not listed (%s)", pkgpath, fname, name,
				     mld_error_last());
				continue;
			}
			for (size_t k = 0; k < n_lib; k++)
				if (mld_package_weight(pkg, k) == w) {
					if (seen[k])
						fail("%s: weight %s:%s matched twice", pkgpath, fname, name);
					seen[k] = true;
				}
			if (!rdt || strcmp(mld_dtype_name(mld_weight_dtype(w)), rdt))
				fail("%s: %s:%s dtype %s, answer %s", pkgpath, fname, name,
				     mld_dtype_name(mld_weight_dtype(w)), rdt ? rdt : "?");
			if (!shape_eq(rshape, mld_weight_rank(w), mld_weight_shape(w))) {
				char s[256];
				shape_text(s, sizeof s, rshape);
				fail("%s: %s:%s has rank %u shape, answer %s", pkgpath, fname, name, mld_weight_rank(w),
				     s);
			}
			mld_tensor *t;
			if (mld_weight_decode(&t, pkg, w)) {
				fail("%s: decode %s:%s: %s%s", pkgpath, fname, name, mld_error_last(),
				     mld_error_code() == MLD_EUNSUPPORTED ? " [UNSUPPORTED]" : "");
				continue;
			}
			const char *want = expected_sha(rw, t->dtype);
			char hex[65];
			sha256_hex(hex, t->data, t->nbytes);
			if (!want)
				fail("%s: %s:%s: the answer file has no hash for %s values", pkgpath, fname, name,
				     mld_dtype_name(t->dtype));
			else if (strcmp(hex, want))
				fail("%s: %s:%s (%s): dense sha256 %s, answer %s", pkgpath, fname, name,
				     mld_weight_chain(w), hex, want);
			mld_tensor_free(t);
			if (want && mldedup)
				check_cat(mldedup, pkgpath, fname, name, want, c);
		}
	}
	for (size_t k = 0; k < n_lib; k++)
		if (!seen[k]) {
			const mld_weight *w = mld_package_weight(pkg, k);
			fail("%s: extra weight %s:%s (%s), not in the answer file", pkgpath, mld_weight_function(w),
			     mld_weight_name(w), mld_weight_chain(w));
		}
	free(seen);
	if (mldedup)
		check_ls(mldedup, pkgpath, fns, pkg, c);
	if (store) {
		mld_index_stats s = {0};
		if (mld_store_index(store, pkgpath, &s, NULL, NULL))
			fail("%s: index: %s", pkgpath, mld_error_last());
		else if (s.unsupported || s.weights != n_lib || s.weights_decoded != n_lib)
			fail("%s: index recorded %llu weights, decoded %llu, %llu unsupported (expected %zu, %zu, 0)",
			     pkgpath, (unsigned long long)s.weights, (unsigned long long)s.weights_decoded,
			     (unsigned long long)s.unsupported, n_lib, n_lib);
	}
	mld_package_free(pkg);
out:
	free(pkgpath);
	json_decref(root);
}

/* ---- round trip ------------------------------------------------------------------------ */

static void same_file(const char *what, const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	uint8_t *da = slurp(a, &la), *db = slurp(b, &lb);
	if (!da || !db) {
		fail("%s: cannot read %s", what, !da ? a : b);
	} else if (la != lb || memcmp(da, db, la)) {
		size_t i = 0;
		while (i < la && i < lb && da[i] == db[i])
			i++;
		fail("%s: %s (%zu bytes) and its rewrite (%zu bytes) differ from byte %zu", what, a, la, lb, i);
	}
	free(da);
	free(db);
}

static void roundtrip_package(const char *ref, const char *tmp, counts *c)
{
	json_t *root = json_load_file(ref, 0, NULL);
	char *src = package_of(ref, root), *dst, *a, *b;
	json_decref(root);
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	if (asprintf(&dst, "%s/%u-%s", tmp, c->packages, base) < 0)
		abort();
	mld_package *p1 = NULL, *p2 = NULL;
	if (mld_package_open(&p1, src)) {
		fail("%s: open: %s", src, mld_error_last());
		goto out;
	}
	if (mld_package_write(p1, dst, 0)) {
		fail("%s: write to %s: %s", src, dst, mld_error_last());
		goto out;
	}
	c->packages++;
	static const char *files[] = {"Data/com.apple.CoreML/weights/weight.bin",
	                              "Data/com.apple.CoreML/model.mlmodel"};
	for (int i = 0; i < 2; i++) {
		if (asprintf(&a, "%s/%s", src, files[i]) < 0 || asprintf(&b, "%s/%s", dst, files[i]) < 0)
			abort();
		same_file(src, a, b);
		free(a);
		free(b);
	}
	if (mld_package_open(&p2, dst)) {
		fail("%s: reopen the rewrite %s: %s", src, dst, mld_error_last());
		goto out;
	}
	if (mld_package_weight_count(p1) != mld_package_weight_count(p2)) {
		fail("%s: %zu weights, its rewrite %zu", src, mld_package_weight_count(p1),
		     mld_package_weight_count(p2));
		goto out;
	}
	for (size_t i = 0; i < mld_package_weight_count(p1); i++) {
		const mld_weight *w1 = mld_package_weight(p1, i), *w2;
		const char *fn = mld_weight_function(w1), *name = mld_weight_name(w1);
		if (mld_package_find_weight(&w2, p2, fn, name)) {
			fail("%s: %s:%s is missing from the rewrite", src, fn, name);
			continue;
		}
		c->weights++;
		mld_digest e1, e2, d1, d2;
		mld_tensor *t1, *t2;
		if (mld_weight_encoding_digest(&e1, p1, w1) || mld_weight_encoding_digest(&e2, p2, w2)) {
			fail("%s: %s:%s encoding digest: %s", src, fn, name, mld_error_last());
			continue;
		}
		if (memcmp(&e1, &e2, sizeof e1))
			fail("%s: %s:%s: encoding digest changed in the rewrite", src, fn, name);
		if (mld_weight_decode(&t1, p1, w1)) {
			fail("%s: %s:%s decode: %s", src, fn, name, mld_error_last());
			continue;
		}
		if (mld_weight_decode(&t2, p2, w2)) {
			fail("%s: %s:%s decode of the rewrite: %s", src, fn, name, mld_error_last());
			mld_tensor_free(t1);
			continue;
		}
		mld_tensor_digest(&d1, t1);
		mld_tensor_digest(&d2, t2);
		if (memcmp(&d1, &d2, sizeof d1))
			fail("%s: %s:%s: content digest changed in the rewrite", src, fn, name);
		if (strcmp(mld_weight_chain(w1), mld_weight_chain(w2)) || mld_weight_dtype(w1) != mld_weight_dtype(w2))
			fail("%s: %s:%s: chain or dtype changed in the rewrite", src, fn, name);
		mld_tensor_free(t1);
		mld_tensor_free(t2);
	}
out:
	mld_package_free(p1);
	mld_package_free(p2);
	rmtree(dst);
	free(dst);
	free(src);
}

static char *make_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *tmpl;
	if (asprintf(&tmpl, "%s/mld-fixture-XXXXXX", t && *t ? t : "/tmp") < 0 || !mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	return tmpl;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "decode") && strcmp(argv[1], "roundtrip")) ||
	    (!strcmp(argv[1], "decode") && argc != 4)) {
		fprintf(stderr, "usage: fixture_check decode FIXTURES_DIR MLDEDUP_BIN | roundtrip FIXTURES_DIR\n");
		return 2;
	}
	int rc = find_refs(argv[2]);
	if (rc)
		return rc;
	counts c = {0};
	char *tmp = make_tmpdir();
	if (!strcmp(argv[1], "decode")) {
		char *store_path;
		mld_store *store = NULL;
		if (asprintf(&store_path, "%s/store.db", tmp) < 0 || mld_store_open(&store, store_path))
			fail("store %s: %s", tmp, mld_error_last());
		for (size_t i = 0; i < n_refs; i++)
			decode_package(refs[i], argv[3], store, &c);
		mld_store_free(store);
		free(store_path);
		printf("fixtures_decode: %u packages, %u weights: dense values of %u checked through `mldedup cat`, "
		       "%u rows of `mldedup ls` checked\n",
		       c.packages, c.weights, c.cat_checked, c.ls_checked);
	} else {
		for (size_t i = 0; i < n_refs; i++)
			roundtrip_package(refs[i], tmp, &c);
		printf("fixtures_roundtrip: %u packages rewritten, %u weights compared\n", c.packages, c.weights);
	}
	rmtree(tmp);
	free(tmp);
	for (size_t i = 0; i < n_refs; i++)
		free(refs[i]);
	free(refs);
	if (c.packages != n_refs)
		fail("%zu answer files, but only %u packages checked", n_refs, c.packages);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
	return failures ? 1 : 0;
}
