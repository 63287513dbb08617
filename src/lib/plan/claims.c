/* Blob identity: which blobs of the sources hold equal bytes, read as little as
 * possible.
 *
 * Index records each blob's own digest (weight_blobs.digest: XXH3-128 of its stored
 * bytes) in the pass that computes the encoding digests, and combine records the
 * byte comparisons it makes (blob_matches), once per pair. A warm combine therefore
 * neither hashes nor compares the blobs it shares: it reads the blobs it writes and
 * nothing else.
 *
 * The store is a cache, never an authority for output values. What it says about
 * bytes is checked against bytes combine reads anyway, before anything it said
 * reaches a committed output:
 *   - every blob written is hashed as it is copied, and compared with the digest
 *     the store gave for it (combine_write.c);
 *   - a pair the store says is equal is compared at its end (a cache line of each
 *     side: a page read each);
 *   - two digests the store says are equal whose bytes then compare unequal.
 * Any mismatch sets cb->lie; the driver warns, deletes the packages' rows (the next
 * index reads them again) and decides afresh with digests computed from the bytes. */
#include "../io/blobfile.h"
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>

typedef struct dentry {
	mld_digest d;
	bool has_d, claimed;
	const mld_blob_ref *ref; /* where the blob is, as weight discovery read (and checked) it */
} dentry;

typedef struct newpair {
	cb_loc a, b;
	mld_digest d;
	bool has_d;
} newpair;

struct cb_claims {
	mld__strmap digests; /* loc key -> dentry index + 1 */
	dentry *d;
	size_t nd, capd;
	mld__strmap matches; /* pair key -> 1: the store's, 2: compared in this run */
	char **keys;         /* owned keys of both maps */
	size_t nkeys, capkeys;
	newpair *np;
	size_t nnp, capnp;
	bool *lied;              /* per package */
	char **why;              /* per package: the first mismatch found */
	const uint8_t **touched; /* per package: the last spot read (mld__source_touched) */
};

static char *loc_key(const cb_loc *l)
{
	return mld__sprintf("%zu:%llu:%s", l->pkg, (unsigned long long)l->offset, l->file);
}

static const char *own(cb_claims *c, char *k)
{
	if (!k)
		return NULL;
	if (c->nkeys == c->capkeys) {
		size_t cap = c->capkeys ? 2 * c->capkeys : 256;
		char **p = mld__realloc(c->keys, cap * sizeof *p);
		if (!p) {
			free(k);
			return NULL;
		}
		c->keys = p;
		c->capkeys = cap;
	}
	return c->keys[c->nkeys++] = k;
}

/* The entry of a location, made if missing. */
static dentry *entry(cb_claims *c, const cb_loc *l, int *rc)
{
	char *k = loc_key(l);
	*rc = 0;
	if (!k) {
		*rc = MLD_ENOMEM;
		return NULL;
	}
	long i = (long)(intptr_t)mld__strmap_get(&c->digests, k) - 1;
	if (i >= 0) {
		free(k);
		return &c->d[i];
	}
	if (c->nd == c->capd) {
		size_t cap = c->capd ? 2 * c->capd : 256;
		dentry *p = mld__realloc(c->d, cap * sizeof *p);
		if (!p) {
			free(k);
			*rc = MLD_ENOMEM;
			return NULL;
		}
		c->d = p;
		c->capd = cap;
	}
	c->d[c->nd] = (dentry){{{0}}, false, false, NULL};
	const char *key = own(c, k);
	if (!key || mld__strmap_put(&c->digests, key, (void *)(intptr_t)(c->nd + 1))) {
		*rc = MLD_ENOMEM;
		return NULL;
	}
	return &c->d[c->nd++];
}

static int put_digest(cb_claims *c, const cb_loc *l, const mld_digest *d, bool claimed)
{
	int rc;
	dentry *e = entry(c, l, &rc);
	if (e && !e->has_d) {
		e->d = *d;
		e->has_d = true;
		e->claimed = claimed;
	}
	return rc;
}

static const dentry *get_entry(const cb_claims *c, const cb_loc *l)
{
	char *k = loc_key(l);
	long i = k ? (long)(intptr_t)mld__strmap_get(&c->digests, k) - 1 : -1;
	free(k);
	return i >= 0 ? &c->d[i] : NULL;
}

static const dentry *get_digest(const cb_claims *c, const cb_loc *l)
{
	const dentry *e = get_entry(c, l);
	return e && e->has_d ? e : NULL;
}

/* "a#b" with the smaller location key first: a pair has one key whatever its order. */
static char *pair_key(const cb_loc *a, const cb_loc *b)
{
	char *x = loc_key(a), *y = loc_key(b), *k = NULL;
	if (x && y)
		k = strcmp(x, y) < 0 ? mld__sprintf("%s#%s", x, y) : mld__sprintf("%s#%s", y, x);
	free(x);
	free(y);
	return k;
}

static int put_match(cb_claims *c, char *key, int kind)
{
	if (!key)
		return MLD_ENOMEM;
	if (mld__strmap_get(&c->matches, key)) {
		free(key);
		return 0;
	}
	const char *k = own(c, key);
	return k ? mld__strmap_put(&c->matches, k, (void *)(intptr_t)kind) : MLD_ENOMEM;
}

void cb_release(const cb_ctx *cb, const void *p, uint64_t len)
{
	for (size_t i = 0; i < cb->n_pkgs; i++) /* done with it: the large folios at its ends too */
		mld__source_release_wide(cb->pkgs[i]->src, p, len);
}

void cb_release_all(const cb_ctx *cb)
{
	for (size_t i = 0; i < cb->n_pkgs; i++)
		mld__source_release_all(cb->pkgs[i]->src);
}

int cb_blob_view(const cb_ctx *cb, const cb_loc *l, mld__blob_view *bv)
{
	const uint8_t *map;
	uint64_t len;
	char *disp = NULL;
	const dentry *e = cb->cl ? get_entry(cb->cl, l) : NULL;
	int rc = mld__package_blobfile(cb->pkgs[l->pkg], l->file, &map, &len, e && e->ref ? NULL : &disp);
	if (!rc && e && e->ref) { /* checked when the package was opened: no page of it is read */
		const mld_blob_ref *r = e->ref;
		*bv = (mld__blob_view){map + r->data_offset, r->size, r->data_offset, r->padding_bits, r->dtype, 0};
		return 0;
	}
	if (!rc)
		rc = mld__blobfile_read(bv, map, len, l->offset, MLD_DT_INVALID, disp);
	free(disp);
	return rc;
}

static int blob_at(const cb_ctx *cb, const cb_loc *l, mld__blob_view *bv) { return cb_blob_view(cb, l, bv); }

int cb_claims_init(cb_ctx *cb)
{
	cb_claims *c = cb->cl = mld__calloc(1, sizeof *c);
	if (!c || !(c->lied = mld__calloc(cb->n_pkgs, sizeof *c->lied)) ||
	    !(c->why = mld__calloc(cb->n_pkgs, sizeof *c->why)) ||
	    !(c->touched = mld__calloc(cb->n_pkgs, sizeof *c->touched)))
		return MLD_ENOMEM;
	for (size_t i = 0; i < cb->n_ws; i++) {
		const cb_weight *cw = &cb->ws[i];
		if (cb->srcs[cw->src].alias_of >= 0)
			continue;
		for (size_t b = 0; b < cw->w->n_blobs; b++) {
			cb_loc l = {cb->srcs[cw->src].pkg, cw->w->blobs[b].file, cw->w->blobs[b].offset};
			int rc;
			dentry *e = entry(c, &l, &rc);
			if (!e)
				return rc;
			/* a blob of the iOS16 packed form may be read as another dtype: only its place counts */
			if (!e->ref && cw->w->blobs[b].dtype != MLD_DT_INVALID)
				e->ref = &cw->w->blobs[b];
			if (cw->blob_dig && (rc = put_digest(c, &l, &cw->blob_dig[b], cw->blob_claimed)))
				return rc;
		}
	}
	mld_store *st = cb->opts->store;
	if (!st || cb->no_claims || !cb->pkg_ids)
		return 0;
	sqlite3_stmt *q;
	if (mld__store_prepare(st, &q,
	                       "SELECT a_file, a_offset, b_package, b_file, b_offset, digest FROM blob_matches"
	                       " WHERE a_package = ?")) {
		mld__err_clear();
		return 0;
	}
	for (size_t p = 0; p < cb->n_pkgs; p++) {
		if (!cb->pkg_ids[p])
			continue;
		sqlite3_bind_int64(q, 1, cb->pkg_ids[p]);
		while (sqlite3_step(q) == SQLITE_ROW) {
			long long bid = sqlite3_column_int64(q, 2);
			size_t bp = 0;
			while (bp < cb->n_pkgs && cb->pkg_ids[bp] != bid)
				bp++;
			if (bp == cb->n_pkgs)
				continue;
			cb_loc a = {p, (const char *)sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1)};
			cb_loc b = {bp, (const char *)sqlite3_column_text(q, 3), (uint64_t)sqlite3_column_int64(q, 4)};
			if (!a.file || !b.file || sqlite3_column_bytes(q, 5) != 16)
				continue;
			/* a match stands for bytes whose digest both blobs are said to have now */
			const dentry *da = get_digest(c, &a), *db = get_digest(c, &b);
			if (!da || !db || memcmp(da->d.bytes, sqlite3_column_blob(q, 5), 16) ||
			    memcmp(db->d.bytes, sqlite3_column_blob(q, 5), 16))
				continue;
			int rc = put_match(c, pair_key(&a, &b), 1);
			if (rc) {
				sqlite3_finalize(q);
				return rc;
			}
		}
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return 0;
}

void cb_claims_free(cb_ctx *cb)
{
	cb_claims *c = cb->cl;
	if (!c)
		return;
	mld__strmap_free(&c->digests);
	mld__strmap_free(&c->matches);
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->keys[i]);
	free(c->keys);
	free(c->d);
	for (size_t i = 0; i < c->nnp; i++) {
		free((char *)c->np[i].a.file);
		free((char *)c->np[i].b.file);
	}
	free(c->np);
	for (size_t p = 0; c->why && p < cb->n_pkgs; p++)
		free(c->why[p]);
	free(c->why);
	free(c->lied);
	free(c->touched);
	free(c);
	cb->cl = NULL;
}

void cb_claim_lied(cb_ctx *cb, size_t pkg, const char *what)
{
	cb->lie = true;
	if (cb->cl && !cb->cl->lied[pkg]) {
		cb->cl->lied[pkg] = true;
		cb->cl->why[pkg] = mld__strdup(what);
	}
}

int cb_blob_digest(cb_ctx *cb, const cb_loc *loc, mld_digest *out, bool *claimed)
{
	const dentry *e = get_digest(cb->cl, loc);
	if (e) {
		*out = e->d;
		if (claimed)
			*claimed = e->claimed;
		return 0;
	}
	mld__blob_view bv;
	int rc = blob_at(cb, loc, &bv);
	if (rc)
		return rc;
	mld__hash128(out->bytes, bv.data, (size_t)bv.size);
	cb_release(cb, bv.data, bv.size);
	if (claimed)
		*claimed = false;
	return put_digest(cb->cl, loc, out, false);
}

/* The blobs' last cache lines: a page of each, whose neighbours the kernel maps with it
 * (the first line would share its page with the metadata record, which nothing else
 * reads now). Blobs that are not the same differ there but for a forged byte. */
static bool spots_equal(const uint8_t *a, const uint8_t *b, uint64_t n)
{
	uint64_t at = n > 64 ? n - 64 : 0;
	return !memcmp(a + at, b + at, (size_t)(n - at));
}

static int new_pair(cb_claims *c, const cb_loc *a, const cb_loc *b, const dentry *da)
{
	if (c->nnp == c->capnp) {
		size_t cap = c->capnp ? 2 * c->capnp : 64;
		newpair *p = mld__realloc(c->np, cap * sizeof *p);
		if (!p)
			return MLD_ENOMEM;
		c->np = p;
		c->capnp = cap;
	}
	newpair *p = &c->np[c->nnp];
	*p = (newpair){*a, *b, da ? da->d : (mld_digest){{0}}, da != NULL};
	/* the file names may live in models freed before the pairs are recorded */
	if (!(p->a.file = mld__strdup(a->file)) || !(p->b.file = mld__strdup(b->file))) {
		free((char *)p->a.file);
		return MLD_ENOMEM;
	}
	c->nnp++;
	return 0;
}

int cb_blob_same(cb_ctx *cb, const cb_loc *a, const cb_loc *b, bool *same)
{
	cb_claims *c = cb->cl;
	*same = false;
	if (a->pkg == b->pkg && a->offset == b->offset && !strcmp(a->file, b->file)) {
		*same = true;
		return 0;
	}
	const dentry *da = get_digest(c, a), *db = get_digest(c, b);
	if (da && db && memcmp(da->d.bytes, db->d.bytes, 16))
		return 0; /* different digests: different bytes */
	char *key = pair_key(a, b);
	if (!key)
		return MLD_ENOMEM;
	int kind = (int)(intptr_t)mld__strmap_get(&c->matches, key);
	if (kind == 2) { /* compared in this run */
		*same = true;
		free(key);
		return 0;
	}
	mld__blob_view va, vb;
	int rc = blob_at(cb, a, &va);
	if (!rc)
		rc = blob_at(cb, b, &vb);
	if (rc || va.size != vb.size) {
		free(key);
		return rc;
	}
	if (kind == 1) { /* the store says so: look at a few places */
		*same = spots_equal(va.data, vb.data, va.size);
		if (!*same) {
			char *what = mld__sprintf("blobs said to be equal differ (offsets %llu and %llu)",
			                          (unsigned long long)a->offset, (unsigned long long)b->offset);
			cb_claim_lied(cb, a->pkg, what ? what : "");
			cb_claim_lied(cb, b->pkg, what ? what : "");
			free(what);
		}
		/* a spot of every pair: each read can map a large folio, so the pages around
		 * the last spot of a package go once the next is far from it */
		mld__source_touched(cb->pkgs[a->pkg]->src, &c->touched[a->pkg], va.data + va.size - 1);
		mld__source_touched(cb->pkgs[b->pkg]->src, &c->touched[b->pkg], vb.data + vb.size - 1);
	} else {
		*same = !memcmp(va.data, vb.data, (size_t)va.size);
		cb_release(cb, va.data, va.size);
		cb_release(cb, vb.data, vb.size);
		if (*same) {
			rc = new_pair(c, a, b, da);
			if (!rc) {
				rc = put_match(c, key, 2); /* takes the key */
				key = NULL;
			}
		} else if (da && db && (da->claimed || db->claimed)) {
			char *what = mld__sprintf("blobs with equal recorded digests differ (offsets %llu and %llu)",
			                          (unsigned long long)a->offset, (unsigned long long)b->offset);
			/* which of the two lies cannot be told: both are read afresh */
			if (da->claimed)
				cb_claim_lied(cb, a->pkg, what ? what : "");
			if (db->claimed)
				cb_claim_lied(cb, b->pkg, what ? what : "");
			free(what);
		}
	}
	free(key);
	return rc;
}

void cb_claims_record(cb_ctx *cb)
{
	mld_store *st = cb->opts->store;
	cb_claims *c = cb->cl;
	if (!st || !c || !c->nnp || !cb->pkg_ids || cb->opts->dry_run)
		return;
	sqlite3_stmt *q = NULL;
	if (mld__store_prepare(st, &q,
	                       "INSERT OR IGNORE INTO blob_matches(a_package, a_file, a_offset, b_package, b_file,"
	                       " b_offset, digest) VALUES (?,?,?,?,?,?,?)") ||
	    mld__store_begin(st)) {
		sqlite3_finalize(q);
		mld__err_clear();
		return;
	}
	bool ok = true;
	for (size_t i = 0; i < c->nnp && ok; i++) {
		const newpair *p = &c->np[i];
		if (!p->has_d || !cb->pkg_ids[p->a.pkg] || !cb->pkg_ids[p->b.pkg] || c->lied[p->a.pkg] ||
		    c->lied[p->b.pkg])
			continue;
		sqlite3_bind_int64(q, 1, cb->pkg_ids[p->a.pkg]);
		sqlite3_bind_text(q, 2, p->a.file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)p->a.offset);
		sqlite3_bind_int64(q, 4, cb->pkg_ids[p->b.pkg]);
		sqlite3_bind_text(q, 5, p->b.file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 6, (sqlite3_int64)p->b.offset);
		sqlite3_bind_blob(q, 7, p->d.bytes, 16, SQLITE_STATIC);
		/* a package re-indexed meanwhile by another process is gone: its rows just fail */
		int step = sqlite3_step(q);
		ok = step == SQLITE_DONE || (step & 0xff) == SQLITE_CONSTRAINT;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (!ok || mld__store_commit(st))
		mld__store_rollback(st);
	mld__err_clear();
}

void cb_claims_drop(cb_ctx *cb)
{
	cb_claims *c = cb->cl;
	mld_store *st = cb->opts->store;
	for (size_t p = 0; c && p < cb->n_pkgs; p++) {
		if (!c->lied[p])
			continue;
		char msg[1400];
		snprintf(msg, sizeof msg,
		         "store rows about %s do not match its bytes (%s): dropped; deciding afresh without them",
		         mld_package_path(cb->pkgs[p]), c->why[p] ? c->why[p] : "?");
		if (cb->opts->warn)
			cb->opts->warn(cb->opts->warn_ctx, msg);
		sqlite3_stmt *q;
		if (st && cb->pkg_ids && cb->pkg_ids[p] &&
		    !mld__store_prepare(st, &q, "DELETE FROM packages WHERE id = ?")) {
			sqlite3_bind_int64(q, 1, cb->pkg_ids[p]);
			sqlite3_step(q);
			sqlite3_finalize(q);
			cb->pkg_ids[p] = 0;
		}
		mld__err_clear();
	}
}
