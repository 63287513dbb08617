/*
 * combine_check: the C side of the combine/verify tests (tests/combine).
 *
 *   combine_check fixtures FIXTURES_DIR TMPDIR [SET ...]
 *       For every group of every SET/expected.json (all sets by default): combine the
 *       members with a fresh store and a JSON report, verify the output against the
 *       sources, and check it against the answer key: weight.bin within 1% of
 *       correct_min, every must_share (function, weight) shared with the anchor's copy,
 *       no must_not_share one, every near one shared (relaxed mode), and every
 *       byte_identical_sets / dequant_identical_sets group stored once.
 *   combine_check strict FIXTURES_DIR TMPDIR
 *       The same groups with --strict: deq_close count == near members with
 *       max_abs <= 0.01, the others rejected_threshold; verify --strict passes on the
 *       strict output and fails on the relaxed one exactly for the near > 0.01 weights.
 *   combine_check json FILE PATH
 *       Print the value(s) at PATH (keys/indices joined by ".", "*" = every element that has the rest,
 *       '#' = length), one per line. Exit 1 if PATH is absent.
 *   combine_check report REPORT.json STATS.json [REPORT.csv]
 *       The report's summary equals the --json statistics, its decisions tally to
 *       by_reason, one per weight; the CSV (if given) has the same rows in order.
 *   combine_check ls-blobs LS.json
 *       `mldedup ls --json` output as TSV: function name chain param dtype size.
 *   combine_check zip-ls ZIP           entries: name, size, store|deflate|...
 *   combine_check zip-cat ZIP ENTRY    an entry's bytes on stdout
 *   combine_check pkg PKG              spec version, default function, functions
 *   combine_check stamps FIXTURES_DIR TMPDIR [SET ...]
 *       For every group: the stamp combine writes (stamp_path) from its plan equals
 *       mld_package_stamp of the output with the store (indexed) and without one,
 *       for a cold run, a warm run, a run without a store, and --zip.
 *
 * Exit 0 pass, 1 failure, 2 usage, 77 skip (fixtures absent).
 */
#define _GNU_SOURCE /* vasprintf */
#include "../testc.h"
#include "mldedup.h"

#include "io/package.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static char *xsprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		fail("%s: cannot parse JSON: %s (line %d)", path, e.text, e.line);
	return j;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static long long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static int skip_if_absent(const char *fixdir)
{
	if (!is_dir(fixdir)) {
		printf("SKIP: fixtures not found at %s\n", fixdir);
		return 1;
	}
	return 0;
}

/* ---- the answer key ---------------------------------------------------------------- */

/* One group member: its target function, its package and the ref.json map
 * logical weight -> op (weight) name for its source function. */
typedef struct member {
	const char *function;
	char *package;
	const char *source_function;
	json_t *ref;     /* the package's ref.json */
	json_t *logical; /* object: logical_weight -> weight name */
} member;

typedef struct group {
	const char *set, *name, *anchor;
	json_t *g; /* the group object of expected.json */
	member *m;
	size_t n;
	long long correct_min;
} group;

static int load_group(group *G, const char *fixdir, const char *set, json_t *g)
{
	memset(G, 0, sizeof *G);
	G->set = set;
	G->g = g;
	G->name = json_string_value(json_object_get(g, "group"));
	G->anchor = json_string_value(json_object_get(g, "anchor_function"));
	G->correct_min =
		json_integer_value(json_object_get(json_object_get(g, "weight_bin_prediction"), "correct_min"));
	json_t *ms = json_object_get(g, "members");
	if (!G->name || !G->anchor || !json_is_array(ms) || json_array_size(ms) < 2 || G->correct_min <= 0) {
		fail("%s/expected.json: a group lacks group/anchor_function/members/correct_min", set);
		return -1;
	}
	G->n = json_array_size(ms);
	G->m = calloc(G->n, sizeof *G->m);
	for (size_t i = 0; i < G->n; i++) {
		json_t *mj = json_array_get(ms, i);
		member *m = &G->m[i];
		m->function = json_string_value(json_object_get(mj, "function"));
		const char *pkg = json_string_value(json_object_get(mj, "package"));
		m->source_function = json_string_value(json_object_get(mj, "source_function"));
		if (!m->function || !pkg || !m->source_function) {
			fail("%s/%s: member %zu lacks function/package/source_function", set, G->name, i);
			return -1;
		}
		m->package = xsprintf("%s/%s/%s", fixdir, set, pkg);
		size_t n = strlen(m->package);
		char *ref = n > 10 && !strcmp(m->package + n - 10, ".mlpackage")
		                    ? xsprintf("%.*s.ref.json", (int)(n - 10), m->package)
		                    : xsprintf("%s.ref.json", m->package);
		m->ref = load_json(ref);
		free(ref);
		m->logical = json_object();
		json_t *ws = m->ref ? json_object_get(
					      json_object_get(json_object_get(m->ref, "functions"), m->source_function),
					      "weights")
		                    : NULL;
		size_t k;
		json_t *w;
		json_array_foreach(ws, k, w)
		{
			const char *lw = json_string_value(json_object_get(w, "logical_weight"));
			json_t *nm = json_object_get(w, "name");
			if (lw && nm &&
			    !json_object_get(m->logical, lw)) /* the first op that produces it: the weight itself */
				json_object_set(m->logical, lw, nm);
		}
		if (json_object_size(m->logical) == 0) {
			fail("%s: no weights with logical_weight in its ref.json", m->package);
			return -1;
		}
	}
	if (strcmp(G->m[0].function, G->anchor))
		fail("%s/%s: the anchor %s is not the first member", set, G->name, G->anchor);
	return 0;
}

static void free_group(group *G)
{
	for (size_t i = 0; i < G->n; i++) {
		free(G->m[i].package);
		json_decref(G->m[i].ref);
		json_decref(G->m[i].logical);
	}
	free(G->m);
}

static const member *member_of(const group *G, const char *fn)
{
	for (size_t i = 0; i < G->n; i++)
		if (!strcmp(G->m[i].function, fn))
			return &G->m[i];
	return NULL;
}

/* The package's weight name of logical weight `key` in member `fn`: through the ref.json map,
 * else a name that is `key` or starts with `key_` (e.g. `_palettized`, `_quantized`). */
static const char *weight_name(const group *G, const mld_package *out, const char *fn, const char *key)
{
	const member *m = member_of(G, fn);
	if (m) {
		const char *n = json_string_value(json_object_get(m->logical, key));
		if (n)
			return n;
	}
	size_t kl = strlen(key);
	for (size_t i = 0; i < mld_package_weight_count(out); i++) {
		const mld_weight *w = mld_package_weight(out, i);
		const char *n = mld_weight_name(w);
		if (!strcmp(mld_weight_function(w), fn) && !strncmp(n, key, kl) && (n[kl] == 0 || n[kl] == '_'))
			return n;
	}
	return NULL;
}

static const mld_weight *out_weight(const group *G, const mld_package *out, const char *fn, const char *key)
{
	const char *n = weight_name(G, out, fn, key);
	const mld_weight *w = NULL;
	if (!n || mld_package_find_weight(&w, out, fn, n)) {
		fail("%s/%s: the output has no weight for %s:%s (%s)", G->set, G->name, fn, key, n ? n : "no name");
		return NULL;
	}
	return w;
}

/* Two weights of the output use the very same blobs (file and offset of each). */
static bool same_blobs(const mld_weight *a, const mld_weight *b)
{
	if (mld_weight_blob_count(a) != mld_weight_blob_count(b) || mld_weight_blob_count(a) == 0)
		return false;
	for (size_t i = 0; i < mld_weight_blob_count(a); i++) {
		const mld_blob_ref *x = mld_weight_blob(a, i), *y = mld_weight_blob(b, i);
		if (strcmp(x->file, y->file) || x->offset != y->offset)
			return false;
	}
	return true;
}

/* The report's decision of (function, weight name). */
static json_t *decision(json_t *report, const char *fn, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(report, "decisions"), i, d)
	{
		const char *f = json_string_value(json_object_get(d, "function")),
			   *w = json_string_value(json_object_get(d, "weight"));
		if (f && w && !strcmp(f, fn) && !strcmp(w, name))
			return d;
	}
	return NULL;
}

static const char *reason_of(json_t *d)
{
	const char *r = d ? json_string_value(json_object_get(d, "reason")) : NULL;
	return r ? r : "(no decision)";
}

static bool shared_reason(const char *r)
{
	return !strcmp(r, "identical") || !strcmp(r, "deq_identical") || !strcmp(r, "deq_close");
}

static void on_problem(void *ctx, const char *msg) { fprintf(stderr, "  verify %s: %s\n", (const char *)ctx, msg); }

static mld_source_spec *specs_of(const group *G)
{
	mld_source_spec *s = calloc(G->n, sizeof *s);
	for (size_t i = 0; i < G->n; i++)
		s[i] = (mld_source_spec){G->m[i].function, G->m[i].package, G->m[i].source_function};
	return s;
}

/* Run one combine of the group into TMPDIR/<prefix><group>.mlpackage with a fresh store. */
static int run_combine(const group *G, const char *tmp, const char *prefix, int strict, mld_combine_stats *st,
                       char **out_path, char **report_path)
{
	*out_path = xsprintf("%s/%s%s_%s.mlpackage", tmp, prefix, G->set, G->name);
	*report_path = xsprintf("%s/%s%s_%s.report.json", tmp, prefix, G->set, G->name);
	char *db = xsprintf("%s/%s%s_%s.db", tmp, prefix, G->set, G->name);
	rmtree(*out_path);
	unlink(db);
	unlink(*report_path);
	mld_store *store = NULL;
	if (mld_store_open(&store, db)) {
		fail("%s: cannot open a store: %s", db, mld_error_last());
		free(db);
		return -1;
	}
	mld_source_spec *specs = specs_of(G);
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.strict = strict, o.report_path = *report_path, o.store = store, o.replace = 1;
	int rc = mld_combine(st, specs, G->n, *out_path, &o);
	if (rc)
		fail("%s/%s: combine%s failed: %s", G->set, G->name, strict ? " --strict" : "", mld_error_last());
	free(specs);
	mld_store_free(store);
	free(db);
	return rc;
}

/* ---- fixtures: every group against its answer key ----------------------------------- */

static void check_group(const group *G, const char *tmp)
{
	int before = failures;
	mld_combine_stats st;
	char *out_path, *report_path;
	if (run_combine(G, tmp, "", 0, &st, &out_path, &report_path)) {
		free(out_path);
		free(report_path);
		return;
	}
	/* verify against the sources: every weight exact or within the thresholds */
	mld_source_spec *specs = specs_of(G);
	mld_verify_stats vs;
	if (mld_verify(&vs, out_path, specs, G->n,
	               &(mld_verify_opts){MLD_VERIFY_OPTS_VERSION, 0, on_problem, (void *)G->name}))
		fail("%s/%s: verify could not check the output: %s", G->set, G->name, mld_error_last());
	else if (vs.failures || vs.exact + vs.close != vs.weights || vs.weights != st.weights || vs.functions != G->n)
		fail("%s/%s: verify: %llu failures, %llu exact + %llu close of %llu weights (combine: %llu), %u "
		     "functions",
		     G->set, G->name, (unsigned long long)vs.failures, (unsigned long long)vs.exact,
		     (unsigned long long)vs.close, (unsigned long long)vs.weights, (unsigned long long)st.weights,
		     vs.functions);
	free(specs);

	/* weight.bin within 1% of correct_min */
	char *wbin = xsprintf("%s/Data/com.apple.CoreML/weights/weight.bin", out_path);
	long long size = file_size(wbin);
	double ratio = (double)size / (double)G->correct_min;
	printf("%-10s %-22s weight.bin %9lld  correct_min %9lld  after/correct_min %.4f\n", G->set, G->name, size,
	       G->correct_min, ratio);
	if (size < 0)
		fail("%s: missing", wbin);
	else if (fabs(ratio - 1.0) > 0.01)
		fail("%s/%s: weight.bin is %lld bytes, not within 1%% of correct_min %lld", G->set, G->name, size,
		     G->correct_min);
	/* real ANEMLL exports: no larger than ANEMLL's own combine_models.py output */
	json_t *anemll = json_object_get(json_object_get(G->g, "weight_bin_prediction"), "anemll_combined");
	if (anemll && size > json_integer_value(anemll))
		fail("%s/%s: weight.bin is %lld bytes, larger than ANEMLL's own combined output (%lld)", G->set,
		     G->name, size, (long long)json_integer_value(anemll));
	if (size >= 0 && (unsigned long long)size != st.bytes_after)
		fail("%s/%s: bytes_after %llu but weight.bin has %lld bytes", G->set, G->name,
		     (unsigned long long)st.bytes_after, size);
	free(wbin);

	json_t *report = load_json(report_path);
	mld_package *out = NULL;
	if (!report || mld_package_open(&out, out_path)) {
		if (report)
			fail("%s: cannot open: %s", out_path, mld_error_last());
		json_decref(report);
		free(out_path);
		free(report_path);
		return;
	}
	if (mld_package_function_count(out) != G->n)
		fail("%s/%s: %zu functions in the output, %zu members", G->set, G->name,
		     mld_package_function_count(out), G->n);

	unsigned n_must = 0, n_never = 0, n_near = 0, n_sets = 0, n_declared = 0;
	const char *key;
	json_t *wv;
	json_object_foreach(json_object_get(G->g, "weights"), key, wv)
	{
		const mld_weight *aw = out_weight(G, out, G->anchor, key);
		const char *fn;
		json_t *rel;
		json_object_foreach(json_object_get(wv, "members"), fn, rel)
		{
			const char *req = json_string_value(json_object_get(rel, "required"));
			const char *relation = json_string_value(json_object_get(rel, "relation"));
			const mld_weight *mw = out_weight(G, out, fn, key);
			n_declared++;
			if (!req || !relation || !mw || !aw)
				continue;
			json_t *d = decision(report, fn, mld_weight_name(mw));
			const char *reason = reason_of(d);
			const char *with =
				d ? json_string_value(json_object_get(json_object_get(d, "shared_with"), "function"))
				  : NULL;
			bool blobs = same_blobs(aw, mw);
			if (!strcmp(req, "must_share")) {
				n_must++;
				const char *want = !strcmp(relation, "exact") ? "identical" : "deq_identical";
				if (strcmp(reason, want) || !blobs || !with || strcmp(with, G->anchor))
					fail("%s/%s: must_share %s:%s (%s): reason %s (want %s), shared with %s, %s "
					     "the anchor's blobs",
					     G->set, G->name, fn, key, relation, reason, want, with ? with : "-",
					     blobs ? "uses" : "does NOT use");
			} else if (!strcmp(req, "must_not_share") || !strcmp(req, "must_never_share")) {
				n_never++;
				/* never the anchor's copy; sharing another function's identical copy (the RoPE
				 * tables of infer_ctxN and prefill_ctxN) is fine: verify checks the values */
				bool to_anchor = shared_reason(reason) && with && !strcmp(with, G->anchor);
				const char *want =
					!strcmp(relation, "shape_mismatch") ? "rejected_shape" : "rejected_threshold";
				if (blobs || to_anchor)
					fail("%s/%s: must_not_share %s:%s (%s) IS shared with the anchor (reason %s)",
					     G->set, G->name, fn, key, relation, reason);
				else if (!shared_reason(reason) && strcmp(reason, want))
					fail("%s/%s: must_not_share %s:%s (%s): reason %s, want %s", G->set, G->name,
					     fn, key, relation, reason, want);
			} else if (!strcmp(req, "may_share_after_verification")) {
				n_near++;
				/* relaxed mode, within both thresholds: verified and shared with the anchor */
				if (strcmp(reason, "deq_close") || !blobs)
					fail("%s/%s: near %s:%s (cos %.7f, mean %.3g): reason %s, %s the anchor's "
					     "blobs",
					     G->set, G->name, fn, key, json_number_value(json_object_get(rel, "cos")),
					     json_number_value(json_object_get(rel, "mean_abs")), reason,
					     blobs ? "uses" : "does not use");
			} else {
				fail("%s/%s: %s:%s: unknown requirement \"%s\"", G->set, G->name, fn, key, req);
			}
		}
		/* functions whose copies are identical to each other end up as one copy */
		static const char *const set_kinds[] = {"byte_identical_sets", "dequant_identical_sets"};
		for (int k = 0; k < 2; k++) {
			size_t i, j;
			json_t *set, *f;
			json_array_foreach(json_object_get(wv, set_kinds[k]), i, set)
			{
				const mld_weight *first = NULL;
				const char *first_fn = NULL;
				n_sets++;
				json_array_foreach(set, j, f)
				{
					const char *fname = json_string_value(f);
					const mld_weight *w = fname ? out_weight(G, out, fname, key) : NULL;
					if (!w)
						continue;
					if (!first) {
						first = w;
						first_fn = fname;
					} else if (!same_blobs(first, w)) {
						fail("%s/%s: %s: %s:%s and %s:%s are in %s but are stored twice",
						     G->set, G->name, key, first_fn, mld_weight_name(first), fname,
						     mld_weight_name(w), set_kinds[k]);
					}
				}
			}
		}
	}
	printf("%-10s %-22s %u must_share, %u must_not_share, %u near, %u identical sets checked%s\n", G->set, G->name,
	       n_must, n_never, n_near, n_sets, failures > before ? "  <-- FAILED" : "");
	/* Real ANEMLL exports share every weight and have no must_not_share pair; a key
	 * with no must_share pair, or pairs that named no weight of the output, checked nothing. */
	if (n_must == 0)
		fail("%s/%s: the answer key has no must_share pair: nothing was checked", G->set, G->name);
	if (n_must + n_never + n_near != n_declared)
		fail("%s/%s: %u of the answer key's %u pairs were not found in the output", G->set, G->name,
		     n_declared - (n_must + n_never + n_near), n_declared);
	mld_package_free(out);
	json_decref(report);
	free(out_path);
	free(report_path);
}

typedef void (*group_fn)(const group *G, const char *tmp, void *ctx);

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every set of the fixtures: each subdirectory holding an expected.json, sorted. */
static size_t find_sets(char ***out, const char *fixdir)
{
	char **sets = NULL;
	size_t n = 0;
	DIR *d = opendir(fixdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *ex = xsprintf("%s/%s/expected.json", fixdir, de->d_name);
		if (file_size(ex) > 0) {
			sets = realloc(sets, (n + 1) * sizeof *sets);
			sets[n++] = strdup(de->d_name);
		}
		free(ex);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(sets, n, sizeof *sets, cmp_str);
	*out = sets;
	return n;
}

/* Run fn on every group of the given sets (all sets when none are given). */
static int for_each_group(const char *fixdir, const char *tmp, char **only, int n_only, group_fn fn, void *ctx,
                          unsigned *n_groups)
{
	char **sets = NULL;
	size_t n = n_only ? (size_t)n_only : find_sets(&sets, fixdir);
	if (!n_only) {
		static const char *const known[] = {"blockwise", "chunked", "dense", "ios16", "multictx"};
		for (size_t k = 0; k < sizeof known / sizeof *known; k++) {
			bool found = false;
			for (size_t s = 0; s < n; s++)
				found |= !strcmp(sets[s], known[k]);
			if (!found)
				fail("%s: no %s/expected.json", fixdir, known[k]);
		}
	}
	for (size_t s = 0; s < n; s++) {
		const char *set = n_only ? only[s] : sets[s];
		char *path = xsprintf("%s/%s/expected.json", fixdir, set);
		json_t *ex = load_json(path);
		free(path);
		if (!ex)
			continue;
		size_t i;
		json_t *g;
		if (json_array_size(json_object_get(ex, "groups")) == 0)
			fail("%s/expected.json: no groups", set);
		json_array_foreach(json_object_get(ex, "groups"), i, g)
		{
			group G;
			if (!load_group(&G, fixdir, set, g))
				fn(&G, tmp, ctx);
			free_group(&G);
			(*n_groups)++;
		}
		json_decref(ex);
	}
	for (size_t s = 0; sets && s < n; s++)
		free(sets[s]);
	free(sets);
	return 0;
}

static void fixtures_group(const group *G, const char *tmp, void *ctx)
{
	check_group(G, tmp);
	if (!strcmp(G->set, "multictx") && G->n == 10)
		*(int *)ctx = 1; /* the 10-package group was among them */
}

static int cmd_fixtures(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (skip_if_absent(argv[0]))
		return 77;
	unsigned n = 0;
	int saw_multictx = 0;
	for_each_group(argv[0], argv[1], argv + 2, argc - 2, fixtures_group, &saw_multictx, &n);
	if (argc == 2 && !saw_multictx)
		fail("the 10-package multictx group was not among the %u groups checked", n);
	printf("%u groups checked, %d failures\n", n, failures);
	return failures ? 1 : 0;
}

/* ---- strict ------------------------------------------------------------------------------ */

typedef struct strict_totals {
	unsigned over; /* near pairs with max_abs > 0.01, over all groups */
} strict_totals;

static void strict_group(const group *G, const char *tmp, void *ctx)
{
	strict_totals *T = ctx;
	int before = failures;
	unsigned near_ok = 0, near_over = 0;
	const char *key;
	json_t *wv;
	json_object_foreach(json_object_get(G->g, "weights"), key, wv)
	{
		const char *fn;
		json_t *rel;
		json_object_foreach(json_object_get(wv, "members"), fn, rel)
		{
			const char *relation = json_string_value(json_object_get(rel, "relation"));
			if (!relation || strcmp(relation, "near"))
				continue;
			double cos = json_number_value(json_object_get(rel, "cos")),
			       mean = json_number_value(json_object_get(rel, "mean_abs")),
			       max = json_number_value(json_object_get(rel, "max_abs"));
			if (cos >= MLD_COS_MIN && mean <= MLD_MEAN_ABS_MAX && max <= MLD_MAX_ABS_MAX_STRICT)
				near_ok++;
			else
				near_over++;
		}
	}
	T->over += near_over;
	mld_combine_stats st;
	char *out_path, *report_path;
	if (run_combine(G, tmp, "strict_", 1, &st, &out_path, &report_path)) {
		free(out_path);
		free(report_path);
		return;
	}
	if (st.by_reason[MLD_R_DEQ_CLOSE] != near_ok)
		fail("%s/%s: --strict: %llu deq_close, but %u near members are within max |d| <= 0.01", G->set, G->name,
		     (unsigned long long)st.by_reason[MLD_R_DEQ_CLOSE], near_ok);
	json_t *report = load_json(report_path);
	mld_package *out = NULL;
	if (report && mld_package_open(&out, out_path))
		fail("%s: cannot open: %s", out_path, mld_error_last());
	const char *mode = json_string_value(json_object_get(report, "mode"));
	if (report && (!mode || strcmp(mode, "strict")))
		fail("%s: mode is %s, want strict", report_path, mode ? mode : "absent");
	json_object_foreach(json_object_get(G->g, "weights"), key, wv)
	{
		const char *fn;
		json_t *rel;
		json_object_foreach(json_object_get(wv, "members"), fn, rel)
		{
			const char *relation = json_string_value(json_object_get(rel, "relation"));
			if (!out || !relation || strcmp(relation, "near"))
				continue;
			double max = json_number_value(json_object_get(rel, "max_abs"));
			const char *name = weight_name(G, out, fn, key);
			json_t *d = name ? decision(report, fn, name) : NULL;
			const char *want = max <= MLD_MAX_ABS_MAX_STRICT ? "deq_close" : "rejected_threshold";
			if (strcmp(reason_of(d), want))
				fail("%s/%s: --strict: near %s:%s (max |d| %.6g): reason %s, want %s", G->set, G->name,
				     fn, key, max, reason_of(d), want);
			double got =
				d ? json_number_value(json_object_get(json_object_get(d, "metrics"), "max_abs")) : -1;
			if (d && fabs(got - max) > 1e-6)
				fail("%s/%s: %s:%s: report max_abs %.9g, answer key %.9g", G->set, G->name, fn, key,
				     got, max);
		}
	}
	/* verify --strict: the strict output passes; the relaxed one fails exactly for the near > 0.01 pairs */
	mld_source_spec *specs = specs_of(G);
	mld_verify_stats vs;
	if (mld_verify(&vs, out_path, specs, G->n,
	               &(mld_verify_opts){MLD_VERIFY_OPTS_VERSION, 1, on_problem, (void *)G->name}) ||
	    vs.failures)
		fail("%s/%s: verify --strict of the --strict output: %llu failures (%s)", G->set, G->name,
		     (unsigned long long)vs.failures, mld_error_last());
	char *relaxed = xsprintf("%s/%s_%s.mlpackage", tmp, G->set, G->name);
	mld_combine_stats rs;
	mld_combine_opts ro = MLD_COMBINE_OPTS_INIT;
	ro.replace = 1;
	if (mld_combine(&rs, specs, G->n, relaxed, &ro))
		fail("%s/%s: relaxed combine failed: %s", G->set, G->name, mld_error_last());
	else if (mld_verify(&vs, relaxed, specs, G->n, &(mld_verify_opts){MLD_VERIFY_OPTS_VERSION, 1, NULL, NULL}) ||
	         vs.failures != near_over)
		fail("%s/%s: verify --strict of the relaxed output: %llu failures, want %u (the near pairs with max "
		     "|d| > 0.01)",
		     G->set, G->name, (unsigned long long)vs.failures, near_over);
	printf("%-10s %-22s --strict: deq_close %llu (near within 0.01: %u), rejected_threshold %llu (near over 0.01: "
	       "%u)%s\n",
	       G->set, G->name, (unsigned long long)st.by_reason[MLD_R_DEQ_CLOSE], near_ok,
	       (unsigned long long)st.by_reason[MLD_R_REJECTED_THRESHOLD], near_over,
	       failures > before ? "  <-- FAILED" : "");
	free(relaxed);
	free(specs);
	mld_package_free(out);
	json_decref(report);
	free(out_path);
	free(report_path);
}

static int cmd_strict(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (skip_if_absent(argv[0]))
		return 77;
	unsigned n = 0;
	strict_totals T = {0};
	for_each_group(argv[0], argv[1], argv + 2, argc - 2, strict_group, &T, &n);
	if (T.over == 0)
		fail("no near pair of the fixtures has max |d| > 0.01: --strict was not exercised");
	printf("%u groups, %u near pairs over max |d| 0.01, %d failures\n", n, T.over, failures);
	return failures ? 1 : 0;
}

/* ---- json FILE PATH ------------------------------------------------------------------------ */

static void print_json(json_t *v)
{
	if (json_is_string(v))
		printf("%s\n", json_string_value(v));
	else if (json_is_integer(v))
		printf("%lld\n", (long long)json_integer_value(v));
	else if (json_is_real(v))
		printf("%.17g\n", json_real_value(v));
	else if (json_is_true(v))
		printf("true\n");
	else if (json_is_false(v))
		printf("false\n");
	else if (json_is_null(v))
		printf("null\n");
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s ? s : "?");
		free(s);
	}
}

static bool query(json_t *v, const char *path)
{
	if (!*path) {
		print_json(v);
		return true;
	}
	const char *dot = strchr(path, '.');
	size_t n = dot ? (size_t)(dot - path) : strlen(path);
	const char *rest = dot ? dot + 1 : "";
	char key[512];
	snprintf(key, sizeof key, "%.*s", (int)n, path);
	if (!strcmp(key, "#")) {
		if (!json_is_array(v) && !json_is_object(v))
			return false;
		printf("%zu\n", json_is_array(v) ? json_array_size(v) : json_object_size(v));
		return true;
	}
	/* every element that has the rest of the path (those that lack it are skipped) */
	if (!strcmp(key, "*")) {
		if (!json_is_array(v) && !json_is_object(v))
			return false;
		size_t i, hits = 0, len = json_is_array(v) ? json_array_size(v) : json_object_size(v);
		json_t *e;
		const char *k;
		if (json_is_array(v)) {
			json_array_foreach(v, i, e) hits += query(e, rest);
		} else {
			json_object_foreach(v, k, e) hits += query(e, rest);
		}
		return len == 0 || hits > 0;
	}
	json_t *next = NULL;
	if (json_is_array(v)) {
		char *end;
		long i = strtol(key, &end, 10);
		if (*end == 0 && i >= 0)
			next = json_array_get(v, (size_t)i);
	} else if (json_is_object(v)) {
		next = json_object_get(v, key);
	}
	return next && query(next, rest);
}

static int cmd_json(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	json_t *j = load_json(argv[0]);
	if (!j)
		return 1;
	bool ok = query(j, argv[1]);
	json_decref(j);
	if (!ok)
		fprintf(stderr, "%s: no value at %s\n", argv[0], argv[1]);
	return ok ? 0 : 1;
}

/* ---- report REPORT.json STATS.json [CSV] ----------------------------------------------------- */

static int cmd_report(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	json_t *rep = load_json(argv[0]), *stats = load_json(argv[1]);
	if (!rep || !stats)
		return 1;
	json_t *sum = json_object_get(rep, "summary");
	static const char *const keys[] = {
		"weights",          "bytes_before",       "bytes_after", "bytes_optimum", "decisions_computed",
		"decisions_reused", "weights_dequantized"};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		json_t *a = json_object_get(sum, keys[k]), *b = json_object_get(stats, keys[k]);
		if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) != json_integer_value(b))
			fail("summary.%s: report %lld, --json %lld", keys[k], (long long)json_integer_value(a),
			     (long long)json_integer_value(b));
	}
	json_t *ra = json_object_get(sum, "by_reason"), *rb = json_object_get(stats, "by_reason");
	if (json_object_size(ra) != MLD_R_COUNT || json_object_size(rb) != MLD_R_COUNT)
		fail("by_reason: %zu reasons in the report, %zu in --json, want %d", json_object_size(ra),
		     json_object_size(rb), MLD_R_COUNT);
	json_t *decisions = json_object_get(rep, "decisions");
	long long total = json_integer_value(json_object_get(stats, "weights"));
	if ((long long)json_array_size(decisions) != total || total <= 0)
		fail("%zu decisions for %lld weights", json_array_size(decisions), total);
	for (int r = 0; r < MLD_R_COUNT; r++) {
		const char *name = mld_reason_name((mld_reason)r);
		long long tally = 0;
		size_t i;
		json_t *d;
		json_array_foreach(decisions, i, d) tally += !strcmp(reason_of(d), name);
		long long want_a = json_integer_value(json_object_get(ra, name)),
			  want_b = json_integer_value(json_object_get(rb, name));
		if (tally != want_a || tally != want_b)
			fail("reason %s: %lld decisions, summary %lld, --json %lld", name, tally, want_a, want_b);
	}
	json_t *fns = json_object_get(rep, "functions");
	if ((long long)json_array_size(fns) != json_integer_value(json_object_get(stats, "functions")))
		fail("%zu functions in the report, %lld in --json", json_array_size(fns),
		     (long long)json_integer_value(json_object_get(stats, "functions")));
	if (argc >= 3) { /* the CSV: a header, then the same rows in the same order */
		FILE *f = fopen(argv[2], "r");
		if (!f) {
			fail("%s: %s", argv[2], strerror(errno));
		} else {
			char line[8192];
			size_t row = 0;
			if (!fgets(line, sizeof line, f) || strncmp(line, "function,weight,reason,", 23))
				fail("%s: no header row", argv[2]);
			while (fgets(line, sizeof line, f)) {
				json_t *d = json_array_get(decisions, row++);
				char *want =
					d ? xsprintf("%s,%s,%s,", json_string_value(json_object_get(d, "function")),
				                     json_string_value(json_object_get(d, "weight")), reason_of(d))
					  : NULL;
				if (!want || strncmp(line, want, strlen(want)))
					fail("%s row %zu: \"%.*s\" does not start with \"%s\"", argv[2], row,
					     (int)strcspn(line, "\n"), line, want ? want : "(no such decision)");
				free(want);
			}
			if (row != json_array_size(decisions))
				fail("%s: %zu rows, %zu decisions", argv[2], row, json_array_size(decisions));
			fclose(f);
		}
	}
	json_decref(rep);
	json_decref(stats);
	return failures ? 1 : 0;
}

/* ---- ls-blobs, zip-ls, zip-cat, pkg ---------------------------------------------------------- */

static int cmd_ls_blobs(int argc, char **argv)
{
	if (argc != 1)
		return 2;
	json_t *doc = load_json(argv[0]),
	       *a = json_object_get(doc, "weights"); /* ls --json: {format, package, weights} */
	if (!json_is_array(a))
		return 1;
	size_t i, k;
	json_t *w, *b;
	json_array_foreach(a, i, w)
	{
		json_array_foreach(json_object_get(w, "blobs"), k, b)
		{
			printf("%s\t%s\t%s\t%s\t%s\t%lld\n", json_string_value(json_object_get(w, "function")),
			       json_string_value(json_object_get(w, "name")),
			       json_string_value(json_object_get(w, "chain")),
			       json_string_value(json_object_get(b, "param")),
			       json_string_value(json_object_get(b, "dtype")),
			       (long long)json_integer_value(json_object_get(b, "size")));
		}
	}
	json_decref(doc);
	return 0;
}

static int cmd_zip_ls(int argc, char **argv)
{
	if (argc != 1)
		return 2;
	int err = 0;
	zip_t *z = zip_open(argv[0], ZIP_RDONLY, &err);
	if (!z) {
		fprintf(stderr, "%s: cannot open zip (libzip error %d)\n", argv[0], err);
		return 1;
	}
	zip_int64_t n = zip_get_num_entries(z, 0);
	for (zip_int64_t i = 0; i < n; i++) {
		zip_stat_t st;
		if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0)
			continue;
		printf("%s\t%llu\t%s\n", st.name, (unsigned long long)st.size,
		       st.comp_method == ZIP_CM_STORE     ? "store"
		       : st.comp_method == ZIP_CM_DEFLATE ? "deflate"
		                                          : "other");
	}
	zip_discard(z);
	return 0;
}

static int cmd_zip_cat(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int err = 0;
	zip_t *z = zip_open(argv[0], ZIP_RDONLY, &err);
	if (!z) {
		fprintf(stderr, "%s: cannot open zip (libzip error %d)\n", argv[0], err);
		return 1;
	}
	zip_file_t *f = zip_fopen(z, argv[1], 0);
	if (!f) {
		fprintf(stderr, "%s: no entry %s\n", argv[0], argv[1]);
		zip_discard(z);
		return 1;
	}
	char buf[65536];
	zip_int64_t k;
	while ((k = zip_fread(f, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)k, stdout);
	zip_fclose(f);
	zip_discard(z);
	return k < 0 ? 1 : 0;
}

static int cmd_pkg(int argc, char **argv)
{
	if (argc != 1)
		return 2;
	mld_package *p;
	if (mld_package_open(&p, argv[0])) {
		fprintf(stderr, "%s\n", mld_error_last());
		return 1;
	}
	const mil_model_desc *d = p->desc;
	printf("spec\t%d\n", mld_package_spec_version(p));
	printf("default\t%s\n",
	       d && d->defaultfunctionname && d->defaultfunctionname[0] ? d->defaultfunctionname : "-");
	for (size_t i = 0; i < mld_package_function_count(p); i++)
		printf("function\t%s\n", mld_package_function_name(p, i));
	const CoreML__Specification__Metadata *m = d ? d->metadata : NULL;
	if (m) { /* one line per metadata field: "meta <key> <value>" */
		printf("meta\tshortDescription\t%s\n", m->shortdescription ? m->shortdescription : "");
		printf("meta\tversionString\t%s\n", m->versionstring ? m->versionstring : "");
		printf("meta\tauthor\t%s\n", m->author ? m->author : "");
		printf("meta\tlicense\t%s\n", m->license ? m->license : "");
		for (size_t i = 0; i < m->n_userdefined; i++)
			printf("meta\t%s\t%s\n", m->userdefined[i]->key, m->userdefined[i]->value);
	}
	mld_package_free(p);
	return 0;
}

/* ---- stamps: combine's own equals index's, with and without a store -------------------- */

static char *stamp_file(const char *path)
{
	size_t n;
	uint8_t *b = slurp(path, &n);
	if (!b)
		return NULL;
	b = realloc(b, n + 1);
	b[n] = 0;
	return (char *)b;
}

/* First differing line of two stamps, for the message. */
static void stamp_diff(const char *what, const char *a, const char *b)
{
	size_t line = 1;
	while (*a && *a == *b) {
		line += *a == '\n';
		a++, b++;
	}
	fail("%s: stamps differ at line %zu: \"%.*s\" vs \"%.*s\"", what, line, (int)strcspn(a, "\n"), a,
	     (int)strcspn(b, "\n"), b);
}

static void stamps_run(const group *G, const char *tmp, const char *tag, mld_store *store, int zip)
{
	char *out = xsprintf("%s/stamp_%s_%s_%s.%s", tmp, G->set, G->name, tag, zip ? "zip" : "mlpackage");
	char *sp = xsprintf("%s/stamp_%s_%s_%s.stamp", tmp, G->set, G->name, tag);
	char *what = xsprintf("%s/%s (%s)", G->set, G->name, tag);
	mld_source_spec *specs = specs_of(G);
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.store = store, o.replace = 1, o.zip = zip, o.stamp_path = sp;
	mld_combine_stats st;
	char *mine = NULL, *with = NULL, *without = NULL;
	if (mld_combine(&st, specs, G->n, out, &o)) {
		fail("%s: combine failed: %s", what, mld_error_last());
		goto out;
	}
	if (!(mine = stamp_file(sp))) {
		fail("%s: no stamp written at %s", what, sp);
		goto out;
	}
	mld_index_stats is = {0};
	if (store && mld_store_index(store, out, &is, NULL, NULL))
		fail("%s: index of the output failed: %s", what, mld_error_last());
	else if (store && mld_package_stamp(&with, NULL, out, store))
		fail("%s: stamp with the store failed: %s", what, mld_error_last());
	else if (with && strcmp(mine, with))
		stamp_diff(xsprintf("%s: combine's vs index's (store)", what), mine, with);
	if (mld_package_stamp(&without, NULL, out, NULL))
		fail("%s: stamp without a store failed: %s", what, mld_error_last());
	else if (strcmp(mine, without))
		stamp_diff(xsprintf("%s: combine's vs index's (no store)", what), mine, without);
	if (strncmp(mine, "mldedup stamp 2\nmodel ", 22))
		fail("%s: the stamp does not start with its header: %.40s", what, mine);
out:
	free(mine);
	free(with);
	free(without);
	free(specs);
	free(what);
	free(sp);
	free(out);
}

static void stamps_group(const group *G, const char *tmp, void *ctx)
{
	char *db = xsprintf("%s/stamp_%s_%s.db", tmp, G->set, G->name);
	unlink(db);
	mld_store *store = NULL;
	if (mld_store_open(&store, db)) {
		fail("%s: cannot open a store: %s", db, mld_error_last());
		free(db);
		return;
	}
	stamps_run(G, tmp, "cold", store, 0);
	stamps_run(G, tmp, "warm", store, 0);
	stamps_run(G, tmp, "nostore", NULL, 0);
	stamps_run(G, tmp, "zip", store, 1);
	mld_store_free(store);
	free(db);
	(*(unsigned *)ctx)++;
}

static int cmd_stamps(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (skip_if_absent(argv[0]))
		return 77;
	unsigned n = 0, done = 0;
	for_each_group(argv[0], argv[1], argv + 2, argc - 2, stamps_group, &done, &n);
	printf("%u groups: stamps compared for %u, %d failures\n", n, done, failures);
	return failures || !done ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"fixtures", cmd_fixtures}, {"strict", cmd_strict},     {"json", cmd_json},
	            {"report", cmd_report},     {"ls-blobs", cmd_ls_blobs}, {"zip-ls", cmd_zip_ls},
	            {"zip-cat", cmd_zip_cat},   {"pkg", cmd_pkg},           {"stamps", cmd_stamps}};
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc >= 2 && i < sizeof cmds / sizeof *cmds; i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			int rc = cmds[i].fn(argc - 2, argv + 2);
			if (rc == 2)
				fprintf(stderr,
				        "combine_check %s: wrong arguments (see the comment at the top of "
				        "combine_check.c)\n",
				        argv[1]);
			return rc;
		}
	fprintf(stderr, "usage: combine_check fixtures|strict|json|report|ls-blobs|zip-ls|zip-cat|pkg|stamps ...\n");
	return 2;
}
