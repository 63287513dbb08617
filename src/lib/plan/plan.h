/* The combine plan: sources, facts, one decision per weight, preflight checks and
 * the report. Data flow (the driver is src/lib/combine/combine.c):
 *   sources -> facts (digests from the store, or computed) -> plan (one decision
 *   per weight) -> preflight -> [write/: combined Model + blob items -> writer] -> report. */
#ifndef MLD_PLAN_H
#define MLD_PLAN_H

#include "../io/package.h"
#include "../store/store.h"

typedef struct cb_source {
	const char *name;     /* target function */
	size_t pkg;           /* index into cb->pkgs */
	size_t fn;            /* function index in that package */
	int alias_of;         /* earlier source with the same package and function, or -1 */
	size_t first_weight;  /* its weights are cb->ws[first_weight .. +n_weights) */
	size_t n_weights;
} cb_source;

typedef struct cb_weight {
	size_t src;
	const mld_weight *w;
	char *layout;         /* op types and param dtype/shape/storage: equal => swappable */
	char *stem;           /* name without the exporter's trailing _<digits> */
	mld_digest enc, content;
	bool has_content;
	float sketch[MLD_SKETCH_LEN];
	bool has_sketch;
	mld_reason reason;
	long placed;          /* weight whose encoding this one uses; itself when it is placed */
	long candidate;       /* weight compared with (deq_close/rejected/...), or -1 */
	mld_metrics m;
	bool has_metrics, reused;
	char *note;           /* why (errors of unsupported forms, shape mismatch details) */
} cb_weight;

typedef struct cb_ctx {
	const mld_combine_opts *opts;
	mld_combine_stats *stats;
	mld_package **pkgs;
	char **pkg_paths;     /* as given */
	size_t n_pkgs;
	cb_source *srcs;
	size_t n_srcs;
	cb_weight *ws;
	size_t n_ws;
	size_t default_src;
} cb_ctx;

int cb_load_facts(cb_ctx *cb);
int cb_plan(cb_ctx *cb);
int cb_preflight(cb_ctx *cb);
int cb_report(cb_ctx *cb, const char *out_path);
/* Record what was written in the store (outputs tables); a failure is a warning. */
int cb_record(cb_ctx *cb, const char *out_path);

/* Layout signature of a weight (see cb_weight.layout). */
char *cb_layout(const mld_weight *w);
bool cb_valid_identifier(const char *s);

#endif
