/* Build stamps: the text Ninja (restat) and Make compare, so that a package
 * re-exported with the same content - new mtimes, same bytes - rebuilds nothing
 * downstream.
 *
 * The format, version 2 (every digest XXH3-128 as 32 lowercase hex digits):
 *
 *   mldedup stamp 2
 *   model <digest of the model file's bytes>
 *   weights <weights identity> <total bytes of the weight file(s)>
 *   <function> TAB <weight> TAB <dtype> TAB <shape> TAB <encoding digest> TAB <content digest>
 *   ...
 *
 * one weight line per weight, sorted bytewise by function then weight name; dtype
 * is its short name ("fp16"), shape a JSON array ("[64,64,1,1]"), and the content
 * digest "-" for a form mldedup cannot decode. The weights identity is
 * packages.weights_digest (see mld__weights_identity in index.c): it covers every
 * byte of the weight files, yet needs no pass over them beyond the encoding digests.
 * (Version 1 printed the XXH3-128 of the weight files there, which cost every stamp
 * a second pass over its weights.)
 *
 * Three producers write the same text for the same package: mld_package_stamp from
 * the store (the index already holds every digest), mld_package_stamp from the
 * package itself (no usable store), and combine --stamp, from the digests its plan
 * holds and the layout it wrote (write/outstamp.c), without reading the output. */
#define _GNU_SOURCE /* vasprintf */
#include "../core/hash.h"
#include "../core/par.h"
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

static int header(mld__buf *b, const mld_digest *model, const mld_digest *weights, uint64_t weights_size)
{
	char m[33], w[33];
	mld_digest_hex(m, model);
	mld_digest_hex(w, weights);
	return putf(b, "mldedup stamp 2\nmodel %s\nweights %s %llu\n", m, w, (unsigned long long)weights_size);
}

void mld__shape_text(char *buf, size_t n, unsigned rank, const uint64_t *shape)
{
	size_t k = (size_t)snprintf(buf, n, "[");
	for (unsigned d = 0; d < rank && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? "," : "", (unsigned long long)shape[d]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
}

static int cmp_line(const void *a, const void *b)
{
	const mld__stamp_line *x = a, *y = b;
	int c = strcmp(x->function, y->function);
	return c ? c : strcmp(x->name, y->name);
}

int mld__stamp_text(char **out, const mld_digest *model, const mld_digest *weights, uint64_t weights_size,
                    mld__stamp_line *lines, size_t n)
{
	mld__buf b = {0};
	int rc = header(&b, model, weights, weights_size);
	if (n)
		qsort(lines, n, sizeof *lines, cmp_line);
	for (size_t i = 0; i < n && !rc; i++) {
		const mld__stamp_line *l = &lines[i];
		char enc[33], con[33], shape[512];
		mld_digest_hex(enc, &l->enc);
		if (l->has_content)
			mld_digest_hex(con, &l->content);
		else
			strcpy(con, "-");
		mld__shape_text(shape, sizeof shape, l->rank, l->shape);
		rc = putf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", l->function, l->name, mld_dtype_name(l->dtype), shape, enc,
		          con);
	}
	if (!rc)
		rc = mld__buf_append(&b, "", 1);
	if (rc) {
		mld__buf_free(&b);
		return rc;
	}
	*out = (char *)b.data;
	return 0;
}

/* The files a package's stamp depends on, for a depfile: one path per line. */
static int files_of(mld__buf *files, const mld_package *pkg, const char *pkg_path)
{
	size_t root = strlen(pkg_path);
	while (root > 1 && pkg_path[root - 1] == '/')
		root--;
	if (mld__source_is_zip(pkg->src))
		return putf(files, "%.*s\n", (int)root, pkg_path);
	int rc = putf(files, "%.*s/Manifest.json\n%.*s/%s\n", (int)root, pkg_path, (int)root, pkg_path, pkg->model_rel);
	for (size_t f = 0; !rc && f < pkg->n_blob_files; f++) {
		char *rel;
		if (!(rc = mld__package_blob_rel(pkg, pkg->blob_files[f], &rel))) {
			rc = putf(files, "%.*s/%s\n", (int)root, pkg_path, rel);
			free(rel);
		}
	}
	return rc;
}

/* Everything from the store: the package row's weights identity and the weights as
 * indexed. The files read are the ones its identity lists. */
static int from_store(mld__buf *b, mld__buf *files, mld_store *st, const mld_package *pkg, const char *pkg_path,
                      const mld_digest *model)
{
	char *real = realpath(pkg_path, NULL);
	if (!real)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", pkg_path, strerror(errno));
	sqlite3_stmt *p = NULL, *w = NULL;
	int rc;
	if ((rc = mld__store_prepare(st, &p,
	                             "SELECT identity, weights_digest, weights_size FROM packages WHERE path = ?")) ||
	    (rc = mld__store_prepare(
		     st, &w,
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
	if (sqlite3_column_bytes(p, 1) != 16) {
		rc = mld__err(MLD_ESTORE, "store %s: %s has no weights digest", st->path, pkg_path);
		goto out;
	}
	mld_digest wd;
	memcpy(wd.bytes, sqlite3_column_blob(p, 1), 16);
	if ((rc = header(b, model, &wd, (uint64_t)sqlite3_column_int64(p, 2))))
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
	if (!rc)
		rc = mld__buf_append(b, "", 1);
out:
	sqlite3_finalize(p);
	sqlite3_finalize(w);
	free(real);
	return rc;
}

/* ---- the same text computed from the package, when there is no usable store -------- */

typedef struct pkg_digests {
	const mld_package *pkg;
	mld__stamp_line *lines;
} pkg_digests;

static int digest_weight(void *ctx, size_t i)
{
	pkg_digests *d = ctx;
	const mld_weight *w = &d->pkg->weights[i];
	mld__stamp_line *l = &d->lines[i];
	*l = (mld__stamp_line){w->function, w->name, w->dtype, w->rank, w->shape, {{0}}, {{0}}, false};
	int rc = mld_weight_encoding_digest(&l->enc, d->pkg, w);
	uint64_t dense;
	if (!rc) {
		int crc = mld_weight_content_digest(&l->content, NULL, &dense, d->pkg, w);
		if (crc && crc != MLD_EUNSUPPORTED)
			rc = crc; /* its message stays: the caller reports it */
		else if (crc)
			mld__err_clear(); /* an undecodable form is a fact of the stamp, not a failure */
		l->has_content = !crc;
	}
	mld__weight_release(d->pkg, w);
	return rc;
}

static int from_package(char **out, const mld_package *pkg, const mld_digest *model)
{
	pkg_digests d = {pkg, mld__calloc(pkg->n_weights ? pkg->n_weights : 1, sizeof *d.lines)};
	mld_digest *encs = mld__calloc(pkg->n_weights ? pkg->n_weights : 1, sizeof *encs);
	int rc = d.lines && encs ? 0 : MLD_ENOMEM;
	if (!rc)
		rc = mld__parallel_for(pkg->n_weights, 0, digest_weight, &d);
	mld_digest wd;
	uint64_t wsize = 0;
	for (size_t i = 0; !rc && i < pkg->n_weights; i++)
		encs[i] = d.lines[i].enc;
	if (!rc)
		rc = mld__package_weights_identity(&wd, &wsize, pkg, encs);
	if (!rc)
		rc = mld__stamp_text(out, model, &wd, wsize, d.lines, pkg->n_weights);
	free(encs);
	free(d.lines);
	return rc;
}

int mld_package_stamp(char **stamp, char **files, const char *pkg_path, mld_store *st)
{
	mld__err_clear();
	if (files && strpbrk(pkg_path, "\n\r")) /* the list is one file a line */
		return mld__err(MLD_EUSAGE,
		                "%s: a package path with a line break cannot be listed among a build's files",
		                pkg_path);
	mld_package *pkg;
	int rc = mld_package_open(&pkg, pkg_path);
	if (rc)
		return rc;
	mld__buf b = {0}, f = {0};
	mld_digest md;
	mld__hash128(md.bytes, pkg->model_bytes, pkg->model_len);
	char *text = NULL;
	if (st)
		rc = from_store(&b, files ? &f : NULL, st, pkg, pkg_path, &md);
	else if (!(rc = from_package(&text, pkg, &md)) && files)
		rc = files_of(&f, pkg, pkg_path);
	mld_package_free(pkg);
	if (!rc && files)
		rc = mld__buf_append(&f, "", 1);
	if (rc) {
		mld__buf_free(&b);
		mld__buf_free(&f);
		free(text);
		return rc;
	}
	*stamp = st ? (char *)b.data : text;
	if (files)
		*files = (char *)f.data;
	return 0;
}
