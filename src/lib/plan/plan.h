/* The combine plan: sources, facts, one decision per weight, preflight checks and
 * the report. Data flow (the driver is src/lib/combine/combine.c):
 *   sources -> facts (digests from the store, or computed) -> plan (one decision
 *   per weight) -> preflight -> [write/: combined Model + blob items -> writer] -> report. */
#ifndef MLD_PLAN_H
#define MLD_PLAN_H

#include "../io/package.h"
#include "../io/blobfile.h"
#include "../store/store.h"

typedef struct cb_source {
	const char *name;    /* target function */
	size_t pkg;          /* index into cb->pkgs */
	size_t fn;           /* function index in that package */
	int alias_of;        /* earlier source with the same package and function, or -1 */
	size_t first_weight; /* its weights are cb->ws[first_weight .. +n_weights) */
	size_t n_weights;
} cb_source;

typedef struct cb_weight {
	size_t src;
	const mld_weight *w;
	char *layout; /* op types and param dtype/shape/storage: equal => swappable */
	char *stem;   /* name without the exporter's trailing _<digits> */
	mld_digest enc, content;
	bool has_content;
	bool content_claimed; /* enc/content came from the store: a claim, checked before a share by value rests on it */
	float sketch[MLD_SKETCH_LEN];
	bool has_sketch;
	mld_reason reason;
	long placed;    /* weight whose encoding this one uses; itself when it is placed */
	long candidate; /* weight compared with (deq_close/rejected/...), or -1 */
	mld_metrics m;
	bool has_metrics, reused;
	char *note;    /* why (errors of unsupported forms, shape mismatch details) */
	long pre_cand; /* verified ahead, in parallel, against this candidate: pre_m */
	mld_metrics pre_m;
	bool has_pre;
	mld_digest *blob_dig; /* each blob's own digest (w->blobs[] order), or NULL: unknown */
	bool blob_claimed;    /* blob_dig came from the store: a claim, checked before it counts */
} cb_weight;

typedef struct cb_claims cb_claims; /* which blobs hold equal bytes (claims.c) */

typedef struct cb_ctx {
	const mld_combine_opts *opts;
	mld_combine_stats *stats;
	mld_package **pkgs;
	char **pkg_paths; /* as given */
	size_t n_pkgs;
	cb_source *srcs;
	size_t n_srcs;
	cb_weight *ws;
	size_t n_ws;
	size_t default_src;
	long long *pkg_ids; /* per package: its id in the store, 0 if none */
	bool no_claims;     /* deciding afresh: no store row about bytes is used */
	bool lie;           /* a store row was found to lie: decide afresh (the driver does) */
	cb_claims *cl;
} cb_ctx;

int cb_load_facts(cb_ctx *cb);
int cb_plan(cb_ctx *cb);
int cb_preflight(cb_ctx *cb);
int cb_report(cb_ctx *cb, const char *out_path);
/* Record what was written in the store (outputs tables); a failure is a warning. */
int cb_record(cb_ctx *cb, const char *out_path);

/* ---- claims.c: blob identity --------------------------------------------------------
 * Whether two blobs hold equal bytes, without reading them where the store already
 * knows: each blob's own digest (weight_blobs.digest, from index) and the byte
 * comparisons done before (blob_matches). What the store says is a claim: the bytes
 * combine copies anyway are hashed and compared with it, a pair it says is equal is
 * compared at a few places, and any mismatch sets cb->lie - the driver then warns,
 * drops the rows and decides afresh without them. */

/* A blob occurrence: package, file name as written in the model, metadata offset. */
typedef struct cb_loc {
	size_t pkg;
	const char *file;
	uint64_t offset;
} cb_loc;
/* After the facts: the blob digests they hold and the store's matches between them. */
int cb_claims_init(cb_ctx *cb);
void cb_claims_free(cb_ctx *cb);
/* The digest of the blob at `loc`, hashing its bytes unless it is known; *claimed
 * (may be NULL) tells whether the store claims it rather than a hash of this run. */
int cb_blob_digest(cb_ctx *cb, const cb_loc *loc, mld_digest *out, bool *claimed);
/* Whether two blobs of equal dtype, size and padding hold equal bytes: different
 * known digests say no; else a match found before says yes (a store's is spot-checked);
 * else they are compared and the match kept. A store claim found false sets cb->lie
 * and answers no. */
int cb_blob_same(cb_ctx *cb, const cb_loc *a, const cb_loc *b, bool *same);
/* A claim about package `pkg` was found false (the write's check of the bytes it copied). */
void cb_claim_lied(cb_ctx *cb, size_t pkg, const char *what);
/* Remember the byte comparisons of this run in the store (best effort). */
void cb_claims_record(cb_ctx *cb);
/* Warn about the rows that lied and delete their packages' rows (the next index
 * reads them again). */
void cb_claims_drop(cb_ctx *cb);
/* Let the pages of [p, p + len) go, in whichever source maps them; or every page. */
void cb_release(const cb_ctx *cb, const void *p, uint64_t len);
void cb_release_all(const cb_ctx *cb);
/* Where the blob at `loc` is and what it holds: from what weight discovery read of it
 * (no page of the package is touched), else from its metadata record. */
int cb_blob_view(const cb_ctx *cb, const cb_loc *loc, mld__blob_view *bv);

/* Layout signature of a weight (see cb_weight.layout). */
char *cb_layout(const mld_weight *w);
bool cb_valid_identifier(const char *s);

#endif
