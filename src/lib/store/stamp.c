/* Build stamps: the text Ninja (restat) and Make compare, so that a package
 * re-exported with the same content - new mtimes, same bytes - rebuilds nothing
 * downstream. Weight lines come from the store: indexing already digested them. */
#define _GNU_SOURCE /* vasprintf */
#include "../core/hash.h"
#include "../io/package.h"
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

static int putf(mld__buf *b, const char *fmt, ...) MLD_PRINTF(2, 3);
static int putf(mld__buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return mld__err(MLD_ENOMEM, "out of memory");
	int rc = mld__buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

static void hex_of(char out[33], const void *blob, int len)
{
	mld_digest d;
	if (!blob || len != 16) {
		strcpy(out, "-");
		return;
	}
	memcpy(d.bytes, blob, 16);
	mld_digest_hex(out, &d);
}

/* "weights <XXH3-128 of the weight file(s)> <bytes>". Read from the package
 * whether or not there is a store: the store's weights_digest is another value
 * since indexing hashes every byte once (see index.c), and stamps keep their text. */
static int weights_line(mld__buf *b, const mld_package *pkg)
{
	mld_digest d;
	uint64_t size;
	char h[33];
	int rc = mld_package_weights_digest(&d, &size, pkg);
	if (rc)
		return rc;
	mld_digest_hex(h, &d);
	return putf(b, "weights %s %llu\n", h, (unsigned long long)size);
}

/* The weight lines and the files read, as indexed. */
static int from_store(mld__buf *b, mld__buf *files, mld_store *st, const mld_package *pkg, const char *pkg_path)
{
	char *real = realpath(pkg_path, NULL);
	if (!real)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", pkg_path, strerror(errno));
	sqlite3_stmt *p = NULL, *w = NULL;
	int rc;
	if ((rc = mld__store_prepare(st, &p, "SELECT identity FROM packages WHERE path = ?")) ||
	    (rc = mld__store_prepare(st, &w,
	                            "SELECT f.name, w.name, w.dtype, w.shape, w.encoding_digest, w.content_digest"
	                            " FROM packages p JOIN functions f ON f.package_id = p.id"
	                            " JOIN weights w ON w.function_id = f.id WHERE p.path = ? ORDER BY f.name, w.name")))
		goto out;
	sqlite3_bind_text(p, 1, real, -1, SQLITE_STATIC);
	int step = sqlite3_step(p);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? mld__err(MLD_ENOTFOUND, "%s: not indexed in store %s", pkg_path, st->path)
		                         : mld__store_err(st, "look up package");
		goto out;
	}
	if ((rc = weights_line(b, pkg)))
		goto out;
	/* identity: "rel\tsize\tmtime_ns\tinode\n" per file read; "." is a zip itself */
	size_t root = strlen(pkg_path);
	while (root > 1 && pkg_path[root - 1] == '/')
		root--;
	for (const char *s = (const char *)sqlite3_column_text(p, 0); files && s && *s && !rc;) {
		size_t n = strcspn(s, "\t\n");
		rc = n == 1 && *s == '.' ? putf(files, "%.*s\n", (int)root, pkg_path)
		                         : putf(files, "%.*s/%.*s\n", (int)root, pkg_path, (int)n, s);
		s += strcspn(s, "\n");
		s += *s == '\n';
	}
	sqlite3_bind_text(w, 1, real, -1, SQLITE_STATIC);
	while (!rc && (step = sqlite3_step(w)) == SQLITE_ROW) {
		char enc[33], con[33];
		hex_of(enc, sqlite3_column_blob(w, 4), sqlite3_column_bytes(w, 4));
		hex_of(con, sqlite3_column_blob(w, 5), sqlite3_column_bytes(w, 5));
		rc = putf(b, "%s\t%s\t%s\t%s\t%s\t%s\n", sqlite3_column_text(w, 0), sqlite3_column_text(w, 1),
		          sqlite3_column_text(w, 2), sqlite3_column_text(w, 3), enc, con);
	}
	if (!rc && step != SQLITE_DONE)
		rc = mld__store_err(st, "read weights");
out:
	sqlite3_finalize(p);
	sqlite3_finalize(w);
	free(real);
	return rc;
}

/* The same lines computed from the package itself, when there is no usable store:
 * the stamp comes out identical, so a store problem never changes what rebuilds. */
static int cmp_weight(const void *a, const void *b)
{
	const mld_weight *x = *(const mld_weight *const *)a, *y = *(const mld_weight *const *)b;
	int c = strcmp(x->function, y->function);
	return c ? c : strcmp(x->name, y->name);
}

static int from_package(mld__buf *b, mld__buf *files, const mld_package *pkg, const char *pkg_path)
{
	char enc[33], con[33];
	int rc = weights_line(b, pkg);
	if (rc)
		return rc;
	size_t root = strlen(pkg_path);
	while (root > 1 && pkg_path[root - 1] == '/')
		root--;
	if (files && mld__source_is_zip(pkg->src)) {
		rc = putf(files, "%.*s\n", (int)root, pkg_path);
	} else if (files) {
		rc = putf(files, "%.*s/Manifest.json\n%.*s/%s\n", (int)root, pkg_path, (int)root, pkg_path, pkg->model_rel);
		for (size_t f = 0; !rc && f < pkg->n_blob_files; f++) {
			char *rel;
			if (!(rc = mld__package_blob_rel(pkg, pkg->blob_files[f], &rel))) {
				rc = putf(files, "%.*s/%s\n", (int)root, pkg_path, rel);
				free(rel);
			}
		}
	}
	const mld_weight **ws = mld__calloc(pkg->n_weights ? pkg->n_weights : 1, sizeof *ws);
	if (!ws)
		return MLD_ENOMEM;
	for (size_t i = 0; i < pkg->n_weights; i++)
		ws[i] = &pkg->weights[i];
	qsort(ws, pkg->n_weights, sizeof *ws, cmp_weight);
	for (size_t i = 0; !rc && i < pkg->n_weights; i++) {
		const mld_weight *w = ws[i];
		mld_digest e, c;
		uint64_t dense;
		if ((rc = mld_weight_encoding_digest(&e, pkg, w)))
			break;
		int crc = mld_weight_content_digest(&c, NULL, &dense, pkg, w);
		if (crc && crc != MLD_EUNSUPPORTED) {
			rc = crc;
			break;
		}
		mld__err_clear();
		mld_digest_hex(enc, &e);
		if (crc)
			strcpy(con, "-");
		else
			mld_digest_hex(con, &c);
		char shape[512];
		size_t k = (size_t)snprintf(shape, sizeof shape, "[");
		for (unsigned r = 0; r < w->rank && k < sizeof shape; r++)
			k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%llu", r ? "," : "", (unsigned long long)w->shape[r]);
		if (k < sizeof shape)
			snprintf(shape + k, sizeof shape - k, "]");
		rc = putf(b, "%s\t%s\t%s\t%s\t%s\t%s\n", w->function, w->name, mld_dtype_name(w->dtype), shape, enc, con);
	}
	free(ws);
	return rc;
}

int mld_package_stamp(char **stamp, char **files, const char *pkg_path, mld_store *st)
{
	mld__err_clear();
	if (files && strpbrk(pkg_path, "\n\r")) /* the list is one file a line */
		return mld__err(MLD_EUSAGE, "%s: a package path with a line break cannot be listed among a build's files",
		                pkg_path);
	mld_package *pkg;
	int rc = mld_package_open(&pkg, pkg_path);
	if (rc)
		return rc;
	mld__buf b = {0}, f = {0};
	mld_digest md;
	mld__hash128(md.bytes, pkg->model_bytes, pkg->model_len);
	char h[33];
	mld_digest_hex(h, &md);
	rc = putf(&b, "mldedup stamp 1\nmodel %s\n", h);
	if (!rc)
		rc = st ? from_store(&b, files ? &f : NULL, st, pkg, pkg_path) : from_package(&b, files ? &f : NULL, pkg, pkg_path);
	mld_package_free(pkg);
	if (!rc)
		rc = mld__buf_append(&b, "", 1);
	if (!rc && files)
		rc = mld__buf_append(&f, "", 1);
	if (rc) {
		mld__buf_free(&b);
		mld__buf_free(&f);
		return rc;
	}
	*stamp = (char *)b.data;
	if (files)
		*files = (char *)f.data;
	return 0;
}
