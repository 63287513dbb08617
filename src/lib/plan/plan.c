/* The sharing plan: for every weight of every non-anchor function, in source
 * order, against everything already placed:
 *   a. same encoding digest and equal bytes      -> identical
 *   b. same content digest                       -> deq_identical
 *   c. a candidate by stem name, else by shape + sketch, with the same layout:
 *      dequantize both and compare                -> deq_close / rejected_threshold
 *      (a same-named candidate of another shape/layout -> rejected_shape)
 * Digests come from the store (indexed first, unchanged packages are not re-read);
 * verification decisions are kept in the store and reused by later runs. */
#include "../core/par.h"
#include "../core/strmap.h"
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "../tensor/tensor.h"
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static const char *const reason_names[MLD_R_COUNT] = {
	"anchor",         "own",         "identical", "deq_identical", "deq_close", "rejected_threshold",
	"rejected_shape", "unsupported",
};

const char *mld_reason_name(mld_reason r) { return r < MLD_R_COUNT ? reason_names[r] : "?"; }

char *cb_layout(const mld_weight *w)
{
	mld__buf b = {0};
	char tmp[256];
	for (size_t i = 0; i < w->n_ops; i++) {
		const mil_op *op = w->ops[i];
		snprintf(tmp, sizeof tmp, "%s%s(", i ? "+" : "", op->type);
		mld__buf_append(&b, tmp, strlen(tmp));
		const char *keys[64];
		size_t n = 0;
		for (size_t k = 0; k < op->n_attributes && n < 64; k++)
			if (strcmp(op->attributes[k]->key, "name"))
				keys[n++] = op->attributes[k]->key;
		for (size_t k = 0; k < op->n_inputs && n < 64; k++)
			keys[n++] = op->inputs[k]->key;
		/* insertion sort: a handful of keys */
		for (size_t x = 1; x < n; x++)
			for (size_t y = x; y > 0 && strcmp(keys[y - 1], keys[y]) > 0; y--) {
				const char *t = keys[y];
				keys[y] = keys[y - 1];
				keys[y - 1] = t;
			}
		for (size_t k = 0; k < n; k++) {
			const mil_value *v;
			const char *ref;
			mil_op_param(op, keys[k], &v, &ref);
			if (ref) {
				snprintf(tmp, sizeof tmp, "%s=ref;", keys[k]);
			} else if (v) {
				mld_dtype dt = MLD_DT_INVALID;
				unsigned rank = 0;
				uint64_t shape[MLD_MAX_RANK], count;
				if (mil_tensor_shape(v->type, &dt, &rank, shape, &count, ""))
					mld__err_clear();
				int len = snprintf(tmp, sizeof tmp, "%s=%c%s[", keys[k],
				                   v->value_case == MIL_VALUE_BLOB ? 'b' : 'i', mld_dtype_name(dt));
				for (unsigned d = 0; d < rank && len < 200; d++)
					len += snprintf(tmp + len, sizeof tmp - (size_t)len, "%s%llu", d ? "," : "",
					                (unsigned long long)shape[d]);
				snprintf(tmp + len, sizeof tmp - (size_t)len, "];");
				/* small immediates (axes, output dtype) are part of the layout by value */
				if (v->value_case == MIL_VALUE_IMMEDIATE && count <= 8 && !mld__dtype_is_float(dt) &&
				    v->immediatevalue && v->immediatevalue->value_case == MIL_IMM_TENSOR) {
					size_t n2 = protobuf_c_message_get_packed_size(&v->immediatevalue->base);
					uint8_t buf[256];
					if (n2 <= sizeof buf) {
						protobuf_c_message_pack(&v->immediatevalue->base, buf);
						size_t l = strlen(tmp);
						for (size_t q = 0; q < n2 && l + 3 < sizeof tmp; q++, l += 2)
							snprintf(tmp + l, sizeof tmp - l, "%02x", buf[q]);
					}
				}
			} else {
				snprintf(tmp, sizeof tmp, "%s=?;", keys[k]);
			}
			mld__buf_append(&b, tmp, strlen(tmp));
		}
		mld__buf_append(&b, ")", 1);
	}
	snprintf(tmp, sizeof tmp, "->%s", mld_dtype_name(w->dtype));
	mld__buf_append(&b, tmp, strlen(tmp) + 1);
	return (char *)b.data;
}

static char *stem_of(const char *name)
{
	char *s = mld__strdup(name);
	if (!s)
		return NULL;
	size_t n = strlen(s), k = n;
	while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9')
		k--;
	if (k < n && k > 1 && s[k - 1] == '_')
		s[k - 1] = 0;
	return s;
}

/* ---- facts: digests and sketches --------------------------------------------- */

static void sketch_from_blob(float *out, const void *blob, int n)
{
	const uint8_t *p = blob;
	for (int k = 0; k < MLD_SKETCH_LEN && 4 * (k + 1) <= n; k++) {
		uint32_t u = mld__rd32(p + 4 * k);
		memcpy(&out[k], &u, 4);
	}
}

/* The store id of package p (0 if it is not there). */
static long long package_id(cb_ctx *cb, size_t p)
{
	char *path = realpath(mld_package_path(cb->pkgs[p]), NULL);
	sqlite3_stmt *q = NULL;
	long long id = 0;
	if (path && !mld__store_prepare(cb->opts->store, &q, "SELECT id FROM packages WHERE path = ?")) {
		sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			id = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	free(path);
	mld__err_clear();
	return id;
}

/* Each blob's own digest, as index recorded it: claims (see claims.c). */
static void blob_digests_from_store(cb_ctx *cb, cb_source *s, mld__strmap *byname)
{
	sqlite3_stmt *q = NULL;
	if (!cb->pkg_ids[s->pkg] ||
	    mld__store_prepare(cb->opts->store, &q,
	                       "SELECT w.name, b.seq, b.digest FROM functions f JOIN weights w ON w.function_id = f.id"
	                       " JOIN weight_blobs b ON b.weight_id = w.id WHERE f.package_id = ? AND f.name = ?")) {
		mld__err_clear();
		return;
	}
	sqlite3_bind_int64(q, 1, cb->pkg_ids[s->pkg]);
	sqlite3_bind_text(q, 2, cb->pkgs[s->pkg]->fns[s->fn].name, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		cb_weight *cw = mld__strmap_get(byname, (const char *)sqlite3_column_text(q, 0));
		sqlite3_int64 seq = sqlite3_column_int64(q, 1);
		if (!cw || seq < 0 || (size_t)seq >= cw->w->n_blobs || sqlite3_column_bytes(q, 2) != 16)
			continue;
		if (!cw->blob_dig && !(cw->blob_dig = mld__calloc(cw->w->n_blobs, sizeof *cw->blob_dig)))
			break;
		memcpy(cw->blob_dig[seq].bytes, sqlite3_column_blob(q, 2), 16);
		cw->blob_claimed = true;
	}
	sqlite3_finalize(q);
	mld__err_clear();
}

/* Fill facts of one source's weights from the store; false if not all found. */
static bool facts_from_store(cb_ctx *cb, cb_source *s)
{
	mld_store *st = cb->opts->store;
	const mld_package *pkg = cb->pkgs[s->pkg];
	char *path = realpath(mld_package_path(pkg), NULL);
	sqlite3_stmt *q = NULL;
	if (!path || mld__store_prepare(
			     st, &q,
			     "SELECT w.name, w.encoding_digest, w.content_digest, c.sketch FROM packages p"
			     " JOIN functions f ON f.package_id = p.id JOIN weights w ON w.function_id = f.id"
			     " LEFT JOIN contents c ON c.digest = w.content_digest WHERE p.path = ? AND f.name = ?")) {
		free(path);
		mld__err_clear();
		return false;
	}
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pkg->fns[s->fn].name, -1, SQLITE_STATIC);
	mld__strmap byname = {0};
	for (size_t i = 0; i < s->n_weights; i++)
		mld__strmap_put(&byname, cb->ws[s->first_weight + i].w->name, &cb->ws[s->first_weight + i]);
	size_t found = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		cb_weight *cw = mld__strmap_get(&byname, (const char *)sqlite3_column_text(q, 0));
		if (!cw || sqlite3_column_bytes(q, 1) != 16)
			continue;
		memcpy(cw->enc.bytes, sqlite3_column_blob(q, 1), 16);
		cw->content_claimed = true;
		if (sqlite3_column_bytes(q, 2) == 16) {
			memcpy(cw->content.bytes, sqlite3_column_blob(q, 2), 16);
			cw->has_content = true;
		}
		if (sqlite3_column_bytes(q, 3) >= 4 * MLD_SKETCH_LEN) {
			sketch_from_blob(cw->sketch, sqlite3_column_blob(q, 3), sqlite3_column_bytes(q, 3));
			cw->has_sketch = true;
		}
		found++;
	}
	sqlite3_finalize(q);
	if (found == s->n_weights)
		blob_digests_from_store(cb, s, &byname);
	mld__strmap_free(&byname);
	free(path);
	return found == s->n_weights;
}

/* Facts computed from the bytes: the encoding digest with each blob's own digest in
 * one pass, the content digest and sketch streamed; every weight on every core. */
typedef struct facts_work {
	cb_ctx *cb;
	cb_source *s;
} facts_work;

static int fact_one(void *ctx, size_t k)
{
	facts_work *fw = ctx;
	const mld_package *pkg = fw->cb->pkgs[fw->s->pkg];
	cb_weight *cw = &fw->cb->ws[fw->s->first_weight + k];
	free(cw->blob_dig);
	cw->blob_dig = NULL;
	cw->blob_claimed = false;
	cw->content_claimed = false;
	if (cw->w->n_blobs && !(cw->blob_dig = mld__calloc(cw->w->n_blobs, sizeof *cw->blob_dig)))
		return MLD_ENOMEM;
	int rc = mld__weight_encoding_digest_blobs(&cw->enc, cw->blob_dig, pkg, cw->w);
	uint64_t dense;
	if (!rc) {
		rc = mld_weight_content_digest(&cw->content, cw->sketch, &dense, pkg, cw->w);
		cw->has_content = cw->has_sketch = !rc;
		if (rc == MLD_EUNSUPPORTED) {
			mld__err_clear();
			rc = 0;
		}
	}
	mld__weight_release(pkg, cw->w);
	return rc;
}

static int facts_compute(cb_ctx *cb, cb_source *s)
{
	facts_work fw = {cb, s};
	int rc = mld__parallel_for(s->n_weights, 0, fact_one, &fw);
	cb->stats->weights_dequantized += s->n_weights;
	return rc;
}

int cb_load_facts(cb_ctx *cb)
{
	if (cb->opts->store && !cb->no_claims && !cb->pkg_ids) {
		if (!(cb->pkg_ids = mld__calloc(cb->n_pkgs, sizeof *cb->pkg_ids)))
			return MLD_ENOMEM;
		for (size_t p = 0; p < cb->n_pkgs; p++)
			cb->pkg_ids[p] = package_id(cb, p);
	}
	for (size_t i = 0; i < cb->n_srcs; i++) {
		cb_source *s = &cb->srcs[i];
		if (s->alias_of >= 0) {
			for (size_t k = 0; k < s->n_weights; k++) {
				cb_weight *cw = &cb->ws[s->first_weight + k],
					  *o = &cb->ws[cb->srcs[s->alias_of].first_weight + k];
				cw->enc = o->enc;
				cw->content = o->content;
				cw->has_content = o->has_content;
				cw->content_claimed = o->content_claimed;
				memcpy(cw->sketch, o->sketch, sizeof cw->sketch);
				cw->has_sketch = o->has_sketch;
			}
			continue;
		}
		if (cb->opts->store && !cb->no_claims && facts_from_store(cb, s))
			continue;
		int rc = facts_compute(cb, s);
		if (rc)
			return rc;
	}
	return cb_claims_init(cb);
}

/* ---- decisions cache ------------------------------------------------------------
 * A decision compares the dense values of two encodings. It is reused by content
 * digest when both digests were computed from the bytes in this run; when either
 * came from the store (a claim), only for the very encodings it was taken on, so a
 * wrong content digest in the store cannot borrow another pair's decision. */

static bool decision_get(cb_ctx *cb, const cb_weight *o, const cb_weight *cw, mld_metrics *m)
{
	mld_store *st = cb->opts->store;
	bool tied = o->content_claimed || cw->content_claimed;
	sqlite3_stmt *q;
	if (!st || mld__store_prepare(st, &q,
	                              "SELECT cos, max_abs, mean_abs, a_enc, b_enc, a = ?1 FROM decisions"
	                              " WHERE (a = ?1 AND b = ?2) OR (a = ?2 AND b = ?1) LIMIT 1")) {
		mld__err_clear();
		return false;
	}
	sqlite3_bind_blob(q, 1, o->content.bytes, 16, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, cw->content.bytes, 16, SQLITE_STATIC);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	if (found && tied) {
		bool fwd = sqlite3_column_int(q, 5); /* which side the row calls a */
		const mld_digest *ea = fwd ? &o->enc : &cw->enc, *eb = fwd ? &cw->enc : &o->enc;
		found = sqlite3_column_bytes(q, 3) == 16 && sqlite3_column_bytes(q, 4) == 16 &&
		        !memcmp(sqlite3_column_blob(q, 3), ea->bytes, 16) &&
		        !memcmp(sqlite3_column_blob(q, 4), eb->bytes, 16);
	}
	if (found) {
		m->cos = sqlite3_column_double(q, 0);
		m->max_abs = sqlite3_column_double(q, 1);
		m->mean_abs = sqlite3_column_double(q, 2);
	}
	sqlite3_finalize(q);
	return found;
}

/* A cache problem never breaks the combine: failures here are ignored. */
static void decision_put(cb_ctx *cb, const cb_weight *o, const cb_weight *cw, const mld_metrics *m, mld_reason r)
{
	mld_store *st = cb->opts->store;
	sqlite3_stmt *q;
	if (!st || mld__store_begin(st)) {
		mld__err_clear();
		return;
	}
	if (mld__store_prepare(st, &q,
	                       "INSERT OR REPLACE INTO decisions(a, b, cos, max_abs, mean_abs, mode, outcome,"
	                       " decided_at, a_enc, b_enc) VALUES (?,?,?,?,?,?,?,?,?,?)")) {
		mld__store_rollback(st);
		mld__err_clear();
		return;
	}
	sqlite3_bind_blob(q, 1, o->content.bytes, 16, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, cw->content.bytes, 16, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, m->cos);
	sqlite3_bind_double(q, 4, m->max_abs);
	sqlite3_bind_double(q, 5, m->mean_abs);
	sqlite3_bind_text(q, 6, cb->opts->strict ? "strict" : "relaxed", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, mld_reason_name(r), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)time(NULL));
	sqlite3_bind_blob(q, 9, o->enc.bytes, 16, SQLITE_STATIC);
	sqlite3_bind_blob(q, 10, cw->enc.bytes, 16, SQLITE_STATIC);
	int step = sqlite3_step(q);
	sqlite3_finalize(q);
	if (step != SQLITE_DONE || mld__store_commit(st)) {
		mld__store_rollback(st);
		mld__err_clear();
	}
}

/* Two encodings whose values were found bit-identical before (value_matches). */
static bool value_match_get(cb_ctx *cb, const mld_digest *a, const mld_digest *b)
{
	sqlite3_stmt *q;
	if (!cb->opts->store || mld__store_prepare(cb->opts->store, &q,
	                                           "SELECT 1 FROM value_matches WHERE (a = ?1 AND b = ?2)"
	                                           " OR (a = ?2 AND b = ?1)")) {
		mld__err_clear();
		return false;
	}
	sqlite3_bind_blob(q, 1, a->bytes, 16, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, b->bytes, 16, SQLITE_STATIC);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

static void value_match_put(cb_ctx *cb, const mld_digest *a, const mld_digest *b)
{
	mld_store *st = cb->opts->store;
	sqlite3_stmt *q;
	if (!st || mld__store_begin(st)) {
		mld__err_clear();
		return;
	}
	if (mld__store_prepare(st, &q, "INSERT OR IGNORE INTO value_matches(a, b) VALUES (?, ?)")) {
		mld__store_rollback(st);
		mld__err_clear();
		return;
	}
	sqlite3_bind_blob(q, 1, a->bytes, 16, SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, b->bytes, 16, SQLITE_STATIC);
	int step = sqlite3_step(q);
	sqlite3_finalize(q);
	if (step != SQLITE_DONE || mld__store_commit(st)) {
		mld__store_rollback(st);
		mld__err_clear();
	}
}

/* Is weight x's content digest the digest of its values? Computed from the bytes; a
 * store claim found false is reported (cb->lie: the driver decides afresh). */
static int content_holds(cb_ctx *cb, const cb_weight *x, bool *holds)
{
	const mld_package *pkg = cb->pkgs[cb->srcs[x->src].pkg];
	mld_digest d;
	uint64_t dense;
	int rc = mld_weight_content_digest(&d, NULL, &dense, pkg, x->w);
	mld__weight_release(pkg, x->w);
	cb->stats->weights_dequantized++;
	if (rc == MLD_EUNSUPPORTED) {
		mld__err_clear();
		*holds = false;
		return 0;
	}
	if (rc)
		return rc;
	*holds = !memcmp(d.bytes, x->content.bytes, 16);
	if (!*holds) {
		char *what = mld__sprintf(
			"the store's content digest of function \"%s\", weight \"%s\" does not match its values",
			cb->srcs[x->src].name, x->w->name);
		cb_claim_lied(cb, cb->srcs[x->src].pkg, what ? what : "a content digest does not match its values");
		free(what);
	}
	return 0;
}

/* A share by equal content digests (deq_identical) that rests on a store claim is
 * checked against the values once - both weights' digests recomputed from their
 * bytes - and remembered by encoding (value_matches). */
static int content_share_holds(cb_ctx *cb, const cb_weight *o, const cb_weight *cw, bool *holds)
{
	*holds = true;
	if (!o->content_claimed && !cw->content_claimed)
		return 0; /* both computed from the bytes in this run */
	if (value_match_get(cb, &o->enc, &cw->enc))
		return 0;
	bool ho = true, hc = true;
	int rc = (o->content_claimed ? content_holds(cb, o, &ho) : 0);
	if (!rc && cw->content_claimed)
		rc = content_holds(cb, cw, &hc);
	if (rc)
		return rc;
	*holds = ho && hc;
	if (*holds)
		value_match_put(cb, &o->enc, &cw->enc);
	return 0;
}

static mld_reason judge(const cb_ctx *cb, const mld_metrics *m)
{
	const mld_combine_opts *o = cb->opts; /* thresholds filled in by the driver */
	bool ok = m->cos >= o->cos_min && m->mean_abs <= o->mean_abs_max &&
	          (o->max_abs_max <= 0 || m->max_abs <= o->max_abs_max);
	return ok ? MLD_R_DEQ_CLOSE : MLD_R_REJECTED_THRESHOLD;
}

/* ---- plan ------------------------------------------------------------------------ */

/* Same encoding digest and equal bytes, blob by blob (claims.c knows which blobs
 * were compared before). */
static int blobs_equal(cb_ctx *cb, const cb_weight *x, const cb_weight *y, bool *eq)
{
	*eq = false;
	if (x->w->n_blobs != y->w->n_blobs)
		return 0;
	for (size_t i = 0; i < x->w->n_blobs; i++) {
		const mld_blob_ref *a = &x->w->blobs[i], *b = &y->w->blobs[i];
		if (a->size != b->size || a->dtype != b->dtype || a->padding_bits != b->padding_bits)
			return 0;
		cb_loc la = {cb->srcs[x->src].pkg, a->file, a->offset}, lb = {cb->srcs[y->src].pkg, b->file, b->offset};
		bool same;
		int rc = cb_blob_same(cb, &la, &lb, &same);
		if (rc || !same)
			return rc;
	}
	*eq = true;
	return 0;
}

static int digest_key(char out[40], const mld_digest *d)
{
	mld_digest_hex(out, d);
	return 0;
}

typedef struct index_maps {
	mld__strmap by_enc, by_content, by_stem, by_layout;
	char **keys; /* owned key strings */
	size_t n_keys, cap_keys;
	long *next_stem, *next_layout; /* chains of earlier weights with the same stem / layout */
} index_maps;

static void index_maps_free(index_maps *ix)
{
	mld__strmap_free(&ix->by_enc);
	mld__strmap_free(&ix->by_content);
	mld__strmap_free(&ix->by_stem);
	mld__strmap_free(&ix->by_layout);
	for (size_t k = 0; k < ix->n_keys; k++)
		free(ix->keys[k]);
	free(ix->keys);
	free(ix->next_stem);
	free(ix->next_layout);
}

static const char *own_key(index_maps *ix, const char *k)
{
	if (ix->n_keys == ix->cap_keys) {
		ix->cap_keys = ix->cap_keys ? ix->cap_keys * 2 : 256;
		char **p = mld__realloc(ix->keys, ix->cap_keys * sizeof *p);
		if (!p)
			return NULL;
		ix->keys = p;
	}
	return ix->keys[ix->n_keys++] = mld__strdup(k);
}

/* Maps hold (index + 1) so that 0 means absent. */
static long map_get(mld__strmap *m, const char *k) { return (long)(intptr_t)mld__strmap_get(m, k) - 1; }

static int map_put_first(index_maps *ix, mld__strmap *m, const char *k, long v)
{
	if (map_get(m, k) >= 0)
		return 0;
	const char *key = own_key(ix, k);
	return key ? mld__strmap_put(m, key, (void *)(intptr_t)(v + 1)) : MLD_ENOMEM;
}

/* Chained lists for stems and layouts: the map points at the newest entry. */
static int chain_push(index_maps *ix, mld__strmap *m, long *next, const char *k, long v)
{
	long head = map_get(m, k);
	next[v] = head;
	if (head >= 0) /* the map keeps its own copy of an existing key */
		return mld__strmap_put(m, k, (void *)(intptr_t)(v + 1));
	const char *key = own_key(ix, k);
	return key ? mld__strmap_put(m, key, (void *)(intptr_t)(v + 1)) : MLD_ENOMEM;
}

static int place(cb_ctx *cb, index_maps *ix, long i)
{
	cb_weight *cw = &cb->ws[i];
	char hex[40];
	cw->placed = i;
	digest_key(hex, &cw->enc);
	int rc = map_put_first(ix, &ix->by_enc, hex, i);
	if (!rc && cw->has_content) {
		digest_key(hex, &cw->content);
		rc = map_put_first(ix, &ix->by_content, hex, i);
	}
	return rc;
}

/* Remember a weight as a future candidate (by stem and by layout). */
static int remember(cb_ctx *cb, index_maps *ix, long i)
{
	int rc = chain_push(ix, &ix->by_stem, ix->next_stem, cb->ws[i].stem, i);
	if (!rc)
		rc = chain_push(ix, &ix->by_layout, ix->next_layout, cb->ws[i].layout, i);
	return rc;
}

static bool same_kind(const cb_weight *a, const cb_weight *b);
static void find_candidate(const cb_ctx *cb, const index_maps *ix, const cb_weight *cw, long *cand_out,
                           long *misfit_out);

static int verify_pair(cb_ctx *cb, cb_weight *cw, long cand)
{
	cb_weight *o = &cb->ws[cand];
	cw->candidate = cand;
	if (decision_get(cb, o, cw, &cw->m)) {
		cw->reused = true;
		cb->stats->decisions_reused++;
	} else if (cw->has_pre && cw->pre_cand == cand) { /* compared ahead, in parallel */
		cw->m = cw->pre_m;
		cb->stats->decisions_computed++;
	} else {
		mld__cmp_member mb = {cb->pkgs[cb->srcs[cw->src].pkg], cw->w, {0, 0, 0}};
		int rc = mld__compare_group(cb->pkgs[cb->srcs[o->src].pkg], o->w, &mb, 1,
		                            &cb->stats->weights_dequantized);
		if (rc)
			return rc;
		cw->m = mb.m;
		cb->stats->decisions_computed++;
	}
	cw->has_metrics = true;
	cw->reason = judge(cb, &cw->m);
	if (!cw->reused)
		decision_put(cb, o, cw, &cw->m, cw->reason);
	return 0;
}

/* ---- verification ahead, on every core ---------------------------------------------
 * Which pairs the sequential plan will verify is known before it runs for every
 * weight that no earlier weight shares an encoding or a content digest with: steps a
 * and b cannot take it, and its candidate does not depend on decisions. Those pairs
 * (not already decided in the store) are compared here, grouped by candidate - each
 * candidate decoded once for all the weights compared with it - the groups spread
 * over the cores. The plan then takes their metrics; any other pair it needs (rare:
 * a weight whose twin turned out not to be placed) it compares itself. */

typedef struct pre_group {
	long cand;
	long *members;
	size_t n, cap;
	uint64_t cost;
	uint64_t decoded;
} pre_group;

typedef struct pre_work {
	cb_ctx *cb;
	pre_group *g;
} pre_work;

static int pre_one(void *ctx, size_t gi)
{
	pre_work *pw = ctx;
	cb_ctx *cb = pw->cb;
	pre_group *g = &pw->g[gi];
	mld__cmp_member *mb = mld__calloc(g->n, sizeof *mb);
	if (!mb)
		return MLD_ENOMEM;
	for (size_t k = 0; k < g->n; k++) {
		const cb_weight *cw = &cb->ws[g->members[k]];
		mb[k] = (mld__cmp_member){cb->pkgs[cb->srcs[cw->src].pkg], cw->w, {0, 0, 0}};
	}
	const cb_weight *o = &cb->ws[g->cand];
	int rc = mld__compare_group(cb->pkgs[cb->srcs[o->src].pkg], o->w, mb, g->n, &g->decoded);
	for (size_t k = 0; !rc && k < g->n; k++) {
		cb_weight *cw = &cb->ws[g->members[k]];
		cw->pre_cand = g->cand;
		cw->pre_m = mb[k].m;
		cw->has_pre = true;
	}
	free(mb);
	return rc;
}

static int cmp_cost(const void *a, const void *b)
{
	const pre_group *x = a, *y = b;
	return x->cost < y->cost ? 1 : x->cost > y->cost ? -1 : (x->cand > y->cand) - (x->cand < y->cand);
}

static int preverify(cb_ctx *cb)
{
	if (cb->opts->identical_only)
		return 0; /* nothing is verified */
	index_maps sim = {0};
	mld__strmap seen_enc = {0}, seen_content = {0};
	char **keys = NULL;
	size_t n_keys = 0;
	long *group_of = mld__malloc((cb->n_ws ? cb->n_ws : 1) * sizeof *group_of);
	pre_group *groups = NULL;
	size_t n_groups = 0, cap_groups = 0;
	sim.next_stem = mld__calloc(cb->n_ws ? cb->n_ws : 1, sizeof *sim.next_stem);
	sim.next_layout = mld__calloc(cb->n_ws ? cb->n_ws : 1, sizeof *sim.next_layout);
	keys = mld__calloc(2 * cb->n_ws + 1, sizeof *keys);
	int rc = group_of && sim.next_stem && sim.next_layout && keys ? 0 : MLD_ENOMEM;
	for (size_t i = 0; !rc && i < cb->n_ws; i++)
		group_of[i] = -1;
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		cb_source *src = &cb->srcs[s];
		if (src->alias_of >= 0)
			continue;
		for (size_t k = 0; k < src->n_weights && !rc; k++) {
			long i = (long)(src->first_weight + k);
			cb_weight *cw = &cb->ws[i];
			char he[40], hc[40];
			digest_key(he, &cw->enc);
			digest_key(hc, &cw->content);
			bool twin = mld__strmap_get(&seen_enc, he) ||
			            (cw->has_content && mld__strmap_get(&seen_content, hc));
			if (!(keys[n_keys] = mld__strdup(he)) ||
			    mld__strmap_put(&seen_enc, keys[n_keys++], (void *)1)) {
				rc = MLD_ENOMEM;
				break;
			}
			if (cw->has_content && (!(keys[n_keys] = mld__strdup(hc)) ||
			                        mld__strmap_put(&seen_content, keys[n_keys++], (void *)1))) {
				rc = MLD_ENOMEM;
				break;
			}
			if (s == 0 || twin || !cw->has_content)
				continue;
			long cand, misfit;
			find_candidate(cb, &sim, cw, &cand, &misfit);
			mld_metrics m;
			if (cand < 0 || decision_get(cb, &cb->ws[cand], cw, &m))
				continue;
			if (group_of[cand] < 0) {
				if (n_groups == cap_groups) {
					size_t nc = cap_groups ? 2 * cap_groups : 64;
					pre_group *g = mld__realloc(groups, nc * sizeof *g);
					if (!g) {
						rc = MLD_ENOMEM;
						break;
					}
					groups = g;
					cap_groups = nc;
				}
				groups[n_groups] = (pre_group){cand, NULL, 0, 0, cb->ws[cand].w->count, 0};
				group_of[cand] = (long)n_groups++;
			}
			pre_group *g = &groups[group_of[cand]];
			if (g->n == g->cap) {
				size_t nc = g->cap ? 2 * g->cap : 4;
				long *m2 = mld__realloc(g->members, nc * sizeof *m2);
				if (!m2) {
					rc = MLD_ENOMEM;
					break;
				}
				g->members = m2;
				g->cap = nc;
			}
			g->members[g->n++] = i;
			g->cost += cw->w->count;
		}
		for (size_t k = 0; k < src->n_weights && !rc; k++)
			rc = remember(cb, &sim, (long)(src->first_weight + k));
	}
	if (!rc && n_groups) {
		qsort(groups, n_groups, sizeof *groups, cmp_cost); /* the biggest first: the cores end together */
		pre_work pw = {cb, groups};
		rc = mld__parallel_for(n_groups, 0, pre_one, &pw);
		for (size_t g = 0; g < n_groups; g++)
			cb->stats->weights_dequantized += groups[g].decoded;
	}
	for (size_t g = 0; g < n_groups; g++)
		free(groups[g].members);
	free(groups);
	free(group_of);
	for (size_t k = 0; k < n_keys; k++)
		free(keys[k]);
	free(keys);
	mld__strmap_free(&seen_enc);
	mld__strmap_free(&seen_content);
	index_maps_free(&sim);
	return rc;
}

static bool same_kind(const cb_weight *a, const cb_weight *b)
{
	return a->w->dtype == b->w->dtype && a->w->rank == b->w->rank &&
	       !memcmp(a->w->shape, b->w->shape, a->w->rank * sizeof *a->w->shape) && !strcmp(a->layout, b->layout);
}

/* c. by stem name: the oldest same-named weight of an earlier function with the same
 * layout (misfit: one of another shape or layout); else, renamed, the oldest of the
 * same layout whose sketch is close. Candidates depend only on the weights of the
 * functions before, never on decisions: the parallel stage below finds them ahead. */
static void find_candidate(const cb_ctx *cb, const index_maps *ix, const cb_weight *cw, long *cand_out,
                           long *misfit_out)
{
	long cand = -1, misfit = -1;
	for (long k = map_get((mld__strmap *)&ix->by_stem, cw->stem); k >= 0; k = ix->next_stem[k]) {
		if (cb->ws[k].src == cw->src || !cb->ws[k].has_content)
			continue;
		if (same_kind(&cb->ws[k], cw))
			cand = k; /* keep walking: older entries (the anchor) come last */
		else
			misfit = k;
	}
	if (cand < 0) { /* renamed? same layout and a close sketch */
		for (long k = map_get((mld__strmap *)&ix->by_layout, cw->layout); k >= 0; k = ix->next_layout[k])
			if (cb->ws[k].src != cw->src && cb->ws[k].has_content && same_kind(&cb->ws[k], cw) &&
			    cw->has_sketch && cb->ws[k].has_sketch && mld_sketch_close(cb->ws[k].sketch, cw->sketch))
				cand = k;
	}
	*cand_out = cand;
	*misfit_out = misfit;
}

static int decide(cb_ctx *cb, index_maps *ix, long i)
{
	cb_weight *cw = &cb->ws[i];
	char hex[40];
	digest_key(hex, &cw->enc);
	long m = map_get(&ix->by_enc, hex);
	bool eq = false;
	if (m >= 0) {
		int rc = blobs_equal(cb, &cb->ws[m], cw, &eq);
		if (rc) {
			/* unreadable bytes are not equal: as before, the weight keeps its own */
			if (rc == MLD_ENOMEM)
				return rc;
			mld__err_clear();
			eq = false;
		}
	}
	if (eq) {
		cw->reason = MLD_R_IDENTICAL;
		cw->placed = cb->ws[m].placed;
		cw->candidate = m;
		return 0;
	}
	if (!cw->has_content) {
		cw->reason = MLD_R_UNSUPPORTED;
		return place(cb, ix, i);
	}
	if (cb->opts->identical_only) { /* byte-identical blobs only: the writer shares them */
		cw->reason = MLD_R_OWN;
		return place(cb, ix, i);
	}
	digest_key(hex, &cw->content);
	m = map_get(&ix->by_content, hex);
	/* a different structure can be swapped only op for op (one-op chains) */
	bool holds = true;
	if (m >= 0 && (!strcmp(cb->ws[m].layout, cw->layout) || (cb->ws[m].w->n_ops == 1 && cw->w->n_ops == 1))) {
		int rc = content_share_holds(cb, &cb->ws[m], cw, &holds);
		if (rc)
			return rc;
	}
	if (m >= 0 && holds &&
	    (!strcmp(cb->ws[m].layout, cw->layout) || (cb->ws[m].w->n_ops == 1 && cw->w->n_ops == 1))) {
		cw->reason = MLD_R_DEQ_IDENTICAL;
		cw->placed = cb->ws[m].placed;
		cw->candidate = m;
		return 0;
	}
	long cand, misfit;
	find_candidate(cb, ix, cw, &cand, &misfit);
	if (cand >= 0) {
		int rc = verify_pair(cb, cw, cand);
		if (rc)
			return rc;
		if (cw->reason == MLD_R_DEQ_CLOSE) {
			cw->placed = cb->ws[cand].placed;
			return 0;
		}
	} else if (misfit >= 0) {
		cw->reason = MLD_R_REJECTED_SHAPE;
		cw->candidate = misfit;
	} else {
		cw->reason = MLD_R_OWN;
	}
	return place(cb, ix, i);
}

int cb_plan(cb_ctx *cb)
{
	index_maps ix = {0};
	int rc = 0;
	ix.next_stem = mld__calloc(cb->n_ws ? cb->n_ws : 1, sizeof *ix.next_stem);
	ix.next_layout = mld__calloc(cb->n_ws ? cb->n_ws : 1, sizeof *ix.next_layout);
	if (!ix.next_stem || !ix.next_layout) {
		free(ix.next_stem);
		free(ix.next_layout);
		return MLD_ENOMEM;
	}
	for (size_t i = 0; i < cb->n_ws && !rc; i++) {
		cb_weight *cw = &cb->ws[i];
		cw->placed = -1;
		cw->candidate = -1;
		if (!(cw->layout = cb_layout(cw->w)) || !(cw->stem = stem_of(cw->w->name)))
			rc = MLD_ENOMEM;
	}
	if (!rc)
		rc = preverify(cb);
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		cb_source *src = &cb->srcs[s];
		for (size_t k = 0; k < src->n_weights && !rc; k++) {
			long i = (long)(src->first_weight + k);
			cb_weight *cw = &cb->ws[i];
			if (src->alias_of >= 0) { /* the same function again: every blob is shared */
				long o = (long)(cb->srcs[src->alias_of].first_weight + k);
				cw->reason = MLD_R_IDENTICAL;
				cw->placed = cb->ws[o].placed;
				cw->candidate = o;
			} else if (s == 0) {
				cw->reason = cw->has_content ? MLD_R_ANCHOR : MLD_R_UNSUPPORTED;
				rc = place(cb, &ix, i);
			} else {
				rc = decide(cb, &ix, i);
			}
		}
		cb_release_all(cb); /* the pages its checks read */
		/* a function's weights become candidates only after the whole function:
		 * a weight never shares with a sibling of its own function */
		for (size_t k = 0; k < src->n_weights && !rc && src->alias_of < 0; k++)
			rc = remember(cb, &ix, (long)(src->first_weight + k));
	}
	for (size_t i = 0; i < cb->n_ws; i++)
		cb->stats->by_reason[cb->ws[i].reason]++;
	cb->stats->weights = cb->n_ws;
	index_maps_free(&ix);
	return rc;
}
