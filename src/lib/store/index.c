/* Indexing a package into the store.
 *
 * All reading, decoding and hashing happens first, outside any transaction; the
 * results go in with one short BEGIN IMMEDIATE transaction, so many `index`
 * processes can share one store. A package whose files have the same size, mtime
 * and inode as when it was last indexed is not read again.
 *
 * Every stored byte is hashed once. packages.weights_digest is therefore not the
 * XXH3-128 of the weight file(s) (mld_package_weights_digest) but the weights
 * identity (mld__weights_identity below): derived from the weights' encoding
 * digests, which cover their blobs' bytes, plus the bytes no blob covers. It
 * changes when any byte of the weight files does. Build stamps print it. */
#include "../core/hash.h"
#include "../core/par.h"
#include "../tensor/tensor.h"
#include "../io/package.h"
#include "../core/dtype.h"
#include "../core/platform.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

typedef struct rec {
	const mld_weight *w;
	mld_digest enc, content;
	mld_digest *blobs; /* each of w->blobs[]'s own digest (weight_blobs.digest) */
	bool decoded;
	char *error;
	uint64_t dense_bytes;
	float sketch[MLD_SKETCH_LEN];
} rec;

/* "rel\tsize\tmtime_ns\tinode\n" for each file; "." stands for a zip itself. */
static int identity_line(mld__buf *b, const char *root, const char *rel)
{
	char *p = strcmp(rel, ".") ? mld__sprintf("%s/%s", root, rel) : mld__strdup(root);
	if (!p)
		return MLD_ENOMEM;
	struct stat st;
	int rc = 0;
	if (stat(p, &st) != 0)
		rc = mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", p, strerror(errno));
	else {
		char line[4200];
		int n = snprintf(line, sizeof line, "%s\t%lld\t%lld\t%llu\n", rel, (long long)st.st_size,
		                 (long long)mld__mtime_ns(&st), (unsigned long long)st.st_ino);
		rc = n > 0 && (size_t)n < sizeof line ? mld__buf_append(b, line, (size_t)n)
		                                      : mld__err(MLD_EFORMAT, "%s: path too long", p);
	}
	free(p);
	return rc;
}

/* Recompute an identity string for the files listed in `old` (see store.h). */
int mld__identity_redo(char **out, const char *root, const char *old)
{
	mld__buf b = {0};
	int rc = 0;
	for (const char *p = old; *p && !rc;) {
		const char *tab = strchr(p, '\t'), *nl = strchr(p, '\n');
		if (!tab || !nl || tab > nl)
			break;
		char rel[4096];
		size_t n = (size_t)(tab - p);
		if (n >= sizeof rel)
			break;
		memcpy(rel, p, n);
		rel[n] = 0;
		rc = identity_line(&b, root, rel);
		p = nl + 1;
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

static int identity_of(char **out, const mld_package *pkg, const char *root)
{
	mld__buf b = {0};
	int rc = 0;
	if (mld__source_is_zip(pkg->src)) {
		rc = identity_line(&b, root, ".");
	} else {
		rc = identity_line(&b, root, "Manifest.json");
		if (!rc)
			rc = identity_line(&b, root, pkg->model_rel);
		for (size_t f = 0; !rc && f < pkg->n_blob_files; f++) {
			char *rel;
			if (!(rc = mld__package_blob_rel(pkg, pkg->blob_files[f], &rel))) {
				rc = identity_line(&b, root, rel);
				free(rel);
			}
		}
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

static int lookup_identity(mld_store *st, const char *path, char **identity)
{
	sqlite3_stmt *s;
	int rc = mld__store_prepare(st, &s, "SELECT identity FROM packages WHERE path = ?");
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	*identity = NULL;
	int step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		*identity = mld__strdup((const char *)sqlite3_column_text(s, 0));
	else if (step != SQLITE_DONE)
		rc = mld__store_err(st, "look up package");
	sqlite3_finalize(s);
	return rc;
}

static int step_done(mld_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : mld__store_err(st, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

static int record(mld_store *st, const mld_package *pkg, const char *path, const char *identity,
                  const mld_digest *wdigest, uint64_t wsize, rec *recs, mld_index_stats *stats)
{
	sqlite3_stmt *del = NULL, *ins_pkg = NULL, *ins_fn = NULL, *ins_c = NULL, *ins_e = NULL, *ins_w = NULL,
		     *ins_b = NULL;
	int rc;
	if ((rc = mld__store_prepare(st, &del, "DELETE FROM packages WHERE path = ?")) ||
	    (rc = mld__store_prepare(
		     st, &ins_pkg,
		     "INSERT INTO packages(path, kind, spec_version, model_size, model_mtime_ns, model_inode,"
		     " weights_size, weights_mtime_ns, weights_inode, weights_digest, identity, indexed_at)"
		     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_fn, "INSERT INTO functions(package_id, name) VALUES (?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_c,
	                             "INSERT OR IGNORE INTO contents(digest, dtype, shape, elements, dense_bytes,"
	                             " sketch) VALUES (?,?,?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_e,
	                             "INSERT OR IGNORE INTO encodings(digest, content_digest, chain, encoded_bytes)"
	                             " VALUES (?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_w,
	                             "INSERT INTO weights(function_id, name, chain, dtype, shape, encoded_bytes,"
	                             " encoding_digest, content_digest, error) VALUES (?,?,?,?,?,?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_b,
	                             "INSERT INTO weight_blobs(weight_id, seq, op, param, file, offset, dtype, size,"
	                             " digest) VALUES (?,?,?,?,?,?,?,?,?)")))
		goto out;
	mld__file_id mid = {0}, wid = {0};
	mld__source_stat(pkg->src, pkg->model_rel, &mid);
	if (pkg->n_weights && pkg->weights[0].n_blobs) {
		char *rel;
		if (!mld__package_blob_rel(pkg, pkg->weights[0].blobs[0].file, &rel)) {
			mld__source_stat(pkg->src, rel, &wid);
			free(rel);
		}
	}
	mld__err_clear();
	if ((rc = mld__store_begin(st)))
		goto out;
	sqlite3_bind_text(del, 1, path, -1, SQLITE_STATIC);
	if ((rc = step_done(st, del, "delete old package rows")))
		goto fail;
	sqlite3_bind_text(ins_pkg, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins_pkg, 2, mld__source_is_zip(pkg->src) ? "zip" : "dir", -1, SQLITE_STATIC);
	sqlite3_bind_int(ins_pkg, 3, pkg->spec_version);
	sqlite3_bind_int64(ins_pkg, 4, (sqlite3_int64)mid.size);
	sqlite3_bind_int64(ins_pkg, 5, mid.mtime_ns);
	sqlite3_bind_int64(ins_pkg, 6, (sqlite3_int64)mid.inode);
	sqlite3_bind_int64(ins_pkg, 7, (sqlite3_int64)wsize);
	sqlite3_bind_int64(ins_pkg, 8, wid.mtime_ns);
	sqlite3_bind_int64(ins_pkg, 9, (sqlite3_int64)wid.inode);
	sqlite3_bind_blob(ins_pkg, 10, wdigest->bytes, 16, SQLITE_STATIC);
	sqlite3_bind_text(ins_pkg, 11, identity, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins_pkg, 12, (sqlite3_int64)time(NULL));
	if ((rc = step_done(st, ins_pkg, "insert package")))
		goto fail;
	sqlite3_int64 pkg_id = sqlite3_last_insert_rowid(st->db);
	sqlite3_int64 *fn_ids = mld__calloc(pkg->n_fns, sizeof *fn_ids);
	if (!fn_ids) {
		rc = MLD_ENOMEM;
		goto fail;
	}
	for (size_t f = 0; f < pkg->n_fns && !rc; f++) {
		sqlite3_bind_int64(ins_fn, 1, pkg_id);
		sqlite3_bind_text(ins_fn, 2, pkg->fns[f].name, -1, SQLITE_STATIC);
		if (!(rc = step_done(st, ins_fn, "insert function")))
			fn_ids[f] = sqlite3_last_insert_rowid(st->db);
	}
	for (size_t i = 0; i < pkg->n_weights && !rc; i++) {
		const rec *r = &recs[i];
		const mld_weight *w = r->w;
		char shape[512];
		mld__shape_text(shape, sizeof shape, w->rank, w->shape);
		const char *dt = mld_dtype_name(w->dtype);
		if (r->decoded) {
			sqlite3_bind_blob(ins_c, 1, r->content.bytes, 16, SQLITE_STATIC);
			sqlite3_bind_text(ins_c, 2, dt, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins_c, 3, shape, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(ins_c, 4, (sqlite3_int64)w->count);
			sqlite3_bind_int64(ins_c, 5, (sqlite3_int64)r->dense_bytes);
			uint8_t sk[4 * MLD_SKETCH_LEN];
			for (int k = 0; k < MLD_SKETCH_LEN; k++) {
				uint32_t u;
				memcpy(&u, &r->sketch[k], 4);
				mld__wr32(sk + 4 * k, u);
			}
			sqlite3_bind_blob(ins_c, 6, sk, sizeof sk, SQLITE_TRANSIENT);
			if ((rc = step_done(st, ins_c, "insert content")))
				break;
			stats->new_contents += (uint64_t)sqlite3_changes(st->db);
		}
		sqlite3_bind_blob(ins_e, 1, r->enc.bytes, 16, SQLITE_STATIC);
		if (r->decoded)
			sqlite3_bind_blob(ins_e, 2, r->content.bytes, 16, SQLITE_STATIC);
		sqlite3_bind_text(ins_e, 3, w->chain, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins_e, 4, (sqlite3_int64)w->encoded_bytes);
		if ((rc = step_done(st, ins_e, "insert encoding")))
			break;
		stats->new_encodings += (uint64_t)sqlite3_changes(st->db);
		sqlite3_bind_int64(ins_w, 1, fn_ids[w->fn_index]);
		sqlite3_bind_text(ins_w, 2, w->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_w, 3, w->chain, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_w, 4, dt, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_w, 5, shape, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins_w, 6, (sqlite3_int64)w->encoded_bytes);
		sqlite3_bind_blob(ins_w, 7, r->enc.bytes, 16, SQLITE_STATIC);
		if (r->decoded)
			sqlite3_bind_blob(ins_w, 8, r->content.bytes, 16, SQLITE_STATIC);
		if (r->error)
			sqlite3_bind_text(ins_w, 9, r->error, -1, SQLITE_STATIC);
		if ((rc = step_done(st, ins_w, "insert weight")))
			break;
		sqlite3_int64 wid_row = sqlite3_last_insert_rowid(st->db);
		for (size_t b = 0; b < w->n_blobs && !rc; b++) {
			const mld_blob_ref *br = &w->blobs[b];
			sqlite3_bind_int64(ins_b, 1, wid_row);
			sqlite3_bind_int64(ins_b, 2, (sqlite3_int64)b);
			sqlite3_bind_text(ins_b, 3, br->op, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins_b, 4, br->param, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins_b, 5, br->file, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins_b, 6, (sqlite3_int64)br->offset);
			sqlite3_bind_text(ins_b, 7, mld_dtype_name(br->dtype), -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins_b, 8, (sqlite3_int64)br->size);
			if (r->blobs)
				sqlite3_bind_blob(ins_b, 9, r->blobs[b].bytes, 16, SQLITE_STATIC);
			rc = step_done(st, ins_b, "insert blob");
		}
	}
	free(fn_ids);
	if (rc)
		goto fail;
	rc = mld__store_commit(st);
	goto out;
fail:
	mld__store_rollback(st);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins_pkg);
	sqlite3_finalize(ins_fn);
	sqlite3_finalize(ins_c);
	sqlite3_finalize(ins_e);
	sqlite3_finalize(ins_w);
	sqlite3_finalize(ins_b);
	return rc;
}

/* ---- digesting every weight, in parallel ---------------------------------------- */

typedef struct work {
	mld_package *pkg;
	rec *recs;
	uint64_t total, done, decoded, unsupported;
	pthread_mutex_t mu;
	const char *what;
	mld_progress_fn progress;
	void *progress_ctx;
} work;

/* 0: digested, 1: a form that cannot be decoded (recorded with its error), < 0: failure */
static int digest_one(work *wk, rec *r)
{
	if (r->w->n_blobs && !(r->blobs = mld__calloc(r->w->n_blobs, sizeof *r->blobs)))
		return MLD_ENOMEM;
	/* the encoding digest and each blob's own digest in one pass over its bytes */
	int rc = mld__weight_encoding_digest_blobs(&r->enc, r->blobs, wk->pkg, r->w);
	if (rc)
		return rc;
	int drc = mld_weight_content_digest(&r->content, r->sketch, &r->dense_bytes, wk->pkg, r->w);
	if (drc == MLD_EUNSUPPORTED) {
		r->error = mld__strdup(mld_error_last());
		return 1;
	}
	if (drc)
		return drc;
	r->decoded = true;
	return 0;
}

static int digest_item(void *ctx, size_t i)
{
	work *wk = ctx;
	rec *r = &wk->recs[i];
	int res = digest_one(wk, r);
	mld__weight_release(wk->pkg, r->w); /* done with its bytes: memory stays flat */
	if (res < 0)
		return res;
	pthread_mutex_lock(&wk->mu);
	wk->unsupported += res == 1;
	wk->decoded += res == 0;
	wk->done += r->w->encoded_bytes;
	if (wk->progress)
		wk->progress(wk->progress_ctx, wk->what, wk->done, wk->total);
	pthread_mutex_unlock(&wk->mu);
	return 0;
}

static int digest_all(mld_package *pkg, rec *recs, mld_index_stats *stats, const char *what, mld_progress_fn progress,
                      void *progress_ctx)
{
	work wk = {.pkg = pkg, .recs = recs, .what = what, .progress = progress, .progress_ctx = progress_ctx};
	for (size_t i = 0; i < pkg->n_weights; i++) {
		recs[i].w = &pkg->weights[i];
		wk.total += pkg->weights[i].encoded_bytes;
	}
	pthread_mutex_init(&wk.mu, NULL);
	/* Blob files are mapped while the package opens, so workers only read. */
	int rc = mld__parallel_for(pkg->n_weights, 0, digest_item, &wk);
	pthread_mutex_destroy(&wk.mu);
	stats->weights_decoded += wk.decoded;
	stats->unsupported += wk.unsupported;
	return rc;
}

/* ---- the package's weights identity ---------------------------------------------- */

static int cmp_span(const void *a, const void *b)
{
	const mld__wspan *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->w < y->w ? -1 : x->w > y->w;
}

static void upd_u64(mld__hash *h, uint64_t v)
{
	uint8_t b[8];
	mld__wr64(b, v);
	mld__hash_update(h, b, 8);
}

/* XXH3-128 of "mldw1", then for each blob file (in pkg->blob_files order) its
 * length and its contents in file order: each blob a weight reads as "W", offset,
 * size and the encoding digest of the first weight (package order) reading it -
 * that digest hashed exactly these bytes; every byte outside such blobs (header,
 * metadata records, padding, blobs no weight reads) as "G", offset, length and the
 * bytes. No byte is read again but those few. */
int mld__weights_identity(mld_digest *out, size_t n_files, const uint64_t *lens, mld__wspan *const *spans,
                          const size_t *n_spans, const mld_digest *encs, mld__wgap_fn gap, void *ctx)
{
	mld__hash h;
	mld__hash_reset(&h);
	mld__hash_update(&h, "mldw1", 5);
	for (size_t f = 0; f < n_files; f++) {
		mld__wspan *sp = spans[f];
		size_t n = n_spans[f];
		uint64_t len = lens[f];
		qsort(sp, n, sizeof *sp, cmp_span);
		upd_u64(&h, len);
		uint64_t at = 0; /* bytes before this are accounted for */
		for (size_t k = 0; k <= n; k++) {
			if (k && k < n && sp[k].off == sp[k - 1].off && sp[k].size == sp[k - 1].size)
				continue; /* the same blob read by another weight */
			uint64_t next = k < n ? sp[k].off : len;
			if (next > at) {
				mld__hash_update(&h, "G", 1);
				upd_u64(&h, at);
				upd_u64(&h, next - at);
				int rc = gap(ctx, f, at, next - at, &h);
				if (rc)
					return rc;
				at = next;
			}
			if (k == n)
				break;
			mld__hash_update(&h, "W", 1);
			upd_u64(&h, sp[k].off);
			upd_u64(&h, sp[k].size);
			mld__hash_update(&h, encs[sp[k].w].bytes, 16);
			if (sp[k].off + sp[k].size > at)
				at = sp[k].off + sp[k].size;
		}
	}
	mld__hash_digest(out->bytes, &h);
	return 0;
}

typedef struct pkg_gap {
	const mld_package *pkg;
	const uint8_t *maps[MLD_MAX_BLOB_FILES];
} pkg_gap;

static int gap_from_maps(void *ctx, size_t file, uint64_t off, uint64_t len, mld__hash *h)
{
	pkg_gap *g = ctx;
	/* a gap can be most of the file (bytes no weight reads): its pages go once hashed */
	mld__package_hash_mapped(g->pkg, h, g->maps[file] + off, len);
	return 0;
}

int mld__package_weights_identity(mld_digest *out, uint64_t *size_out, const mld_package *pkg, const mld_digest *encs)
{
	size_t nb = 0;
	for (size_t i = 0; i < pkg->n_weights; i++)
		nb += pkg->weights[i].n_blobs;
	mld__wspan *all = mld__malloc(nb ? nb * sizeof *all : 1);
	if (!all)
		return MLD_ENOMEM;
	mld__wspan *spans[MLD_MAX_BLOB_FILES];
	size_t n_spans[MLD_MAX_BLOB_FILES] = {0};
	uint64_t lens[MLD_MAX_BLOB_FILES] = {0}, total = 0;
	pkg_gap g = {pkg, {0}};
	int rc = 0;
	size_t used = 0;
	for (size_t f = 0; f < pkg->n_blob_files && !rc; f++) {
		if ((rc = mld__package_blobfile(pkg, pkg->blob_files[f], &g.maps[f], &lens[f], NULL)))
			break;
		spans[f] = all + used;
		for (size_t i = 0; i < pkg->n_weights; i++)
			for (size_t b = 0; b < pkg->weights[i].n_blobs; b++) {
				const mld_blob_ref *br = &pkg->weights[i].blobs[b];
				if (!strcmp(br->file, pkg->blob_files[f]) && br->data_offset <= lens[f] &&
				    br->size <= lens[f] - br->data_offset)
					spans[f][n_spans[f]++] = (mld__wspan){br->data_offset, br->size, i};
			}
		used += n_spans[f];
		total += lens[f];
	}
	if (!rc)
		rc = mld__weights_identity(out, pkg->n_blob_files, lens, spans, n_spans, encs, gap_from_maps, &g);
	free(all);
	if (!rc)
		*size_out = total;
	return rc;
}

/* An unchanged package was still seen now: `gc --older-than` counts from here.
 * Best effort: a busy store only delays the note. */
static void touch_seen(mld_store *st, const char *path)
{
	sqlite3_stmt *s;
	if (mld__store_prepare(st, &s, "UPDATE packages SET indexed_at = ? WHERE path = ?")) {
		mld__err_clear();
		return;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	sqlite3_step(s);
	sqlite3_finalize(s);
}

int mld_store_index(mld_store *st, const char *pkg_path, mld_index_stats *stats, mld_progress_fn progress,
                    void *progress_ctx)
{
	mld__err_clear();
	char *path = realpath(pkg_path, NULL);
	if (!path)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", pkg_path, strerror(errno));
	char *old = NULL, *now = NULL, *identity = NULL;
	mld_package *pkg = NULL;
	rec *recs = NULL;
	int rc = lookup_identity(st, path, &old);
	if (rc)
		goto out;
	if (old) {
		/* Unchanged files: nothing to read. A vanished file just means re-index. */
		if (mld__identity_redo(&now, path, old) == 0 && !strcmp(now, old)) {
			stats->packages_unchanged++;
			touch_seen(st, path);
			goto out;
		}
		mld__err_clear();
	}
	if ((rc = mld_package_open(&pkg, pkg_path)))
		goto out;
	mld__source_release_all(pkg->src); /* the blob metadata pages the open read */
	/* Identity is taken before the weights are read: a change during the read is
	 * then seen as a change next time, never missed. */
	if ((rc = identity_of(&identity, pkg, path)))
		goto out;
	recs = mld__calloc(pkg->n_weights, sizeof *recs);
	if (!recs) {
		rc = MLD_ENOMEM;
		goto out;
	}
	if ((rc = digest_all(pkg, recs, stats, pkg_path, progress, progress_ctx)))
		goto out;
	mld_digest wd, *encs = mld__malloc(pkg->n_weights ? pkg->n_weights * sizeof *encs : 1);
	uint64_t wsize = 0;
	if (!encs) {
		rc = MLD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pkg->n_weights; i++)
		encs[i] = recs[i].enc;
	rc = mld__package_weights_identity(&wd, &wsize, pkg, encs);
	free(encs);
	if (rc)
		goto out;
	stats->bytes_read += wsize;
	if ((rc = record(st, pkg, path, identity, &wd, wsize, recs, stats)))
		goto out;
	stats->packages_indexed++;
	stats->weights += pkg->n_weights;
out:
	if (recs)
		for (size_t i = 0; pkg && i < pkg->n_weights; i++) {
			free(recs[i].error);
			free(recs[i].blobs);
		}
	free(recs);
	mld_package_free(pkg);
	free(identity);
	free(now);
	free(old);
	free(path);
	return rc;
}
