/* mldedup align: rewrite packages so that their shareable weights carry the anchor's
 * exact bytes, for tools (coremltools' save_multifunction) that share only those. */
#include "fields.h"
#include "opts.h"
#include "config.h"

#include "mldedup.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_OUTPUT = 'o',
	OPT_ANCHOR = 1,
	OPT_STRICT,
	OPT_COS,
	OPT_MEAN_ABS,
	OPT_MAX_ABS,
	OPT_NO_STORE,
	OPT_JSON,
	OPT_REPLACE
};

static const cli_opt align_opts[] = {
	{OPT_ANCHOR, "anchor", 0, "PKG[:FUNC]", "the anchor: its weights are the ones shared (required)"},
	{OPT_OUTPUT, "output", 'o', "OUT",
         "one PKG: the rewritten .mlpackage; several: a directory (created) holding"
         " STEM.mlpackage for each PKG (STEM.FUNC.mlpackage when FUNC is given)"},
	{OPT_STRICT, "strict", 0, NULL, "near-copies must also satisfy max |d| <= 0.01"},
	{OPT_COS, "cos-min", 0, "X", "share a near-copy only with cosine >= X (default 0.9999)"},
	{OPT_MEAN_ABS, "mean-abs-max", 0, "X", "share a near-copy only with mean |d| <= X (default 0.001)"},
	{OPT_MAX_ABS, "max-abs-max", 0, "X",
         "share a near-copy only with max |d| <= X (default: no bound, 0.01 with --strict)"},
	{OPT_REPLACE, "replace", 0, NULL, "replace outputs that exist (default: refuse)"},
	{OPT_NO_STORE, "no-store", 0, NULL, "use no store: compute digests here, keep no decisions"},
	{OPT_JSON, "json", 0, NULL, "print what was written as JSON on stdout"},
	{0},
};

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "mldedup align: warning: %s\n", cli_esc(msg));
}

static int threshold(const cli_cmd *cmd, const char *arg, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || *out <= 0)
		return cli_usage_error(cmd, "\"%s\" is not a positive number", arg);
	return 0;
}

/* OUT/STEM[.FUNC].mlpackage, STEM being PKG's name without .mlpackage or .zip */
static char *out_name(const char *dir, const char *pkg, const char *fn, int dup)
{
	size_t n = strlen(pkg);
	while (n > 1 && pkg[n - 1] == '/')
		n--;
	const char *base = pkg;
	for (size_t i = 0; i < n; i++)
		if (pkg[i] == '/')
			base = pkg + i + 1;
	size_t bl = n - (size_t)(base - pkg);
	if (bl > 10 && !strncmp(base + bl - 10, ".mlpackage", 10))
		bl -= 10;
	else if (bl > 4 && !strncmp(base + bl - 4, ".zip", 4))
		bl -= 4;
	size_t len = strlen(dir) + bl + (fn ? strlen(fn) : 0) + 40;
	char *r = malloc(len);
	if (r)
		snprintf(r, len, "%s/%.*s%s%s%.0d.mlpackage", dir, (int)bl, base, fn ? "." : "", fn ? fn : "", dup);
	return r;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	const char *out = NULL;
	char *anchor = NULL;
	bool no_store = false, json = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		switch (c) {
		case OPT_ANCHOR: anchor = st.arg ? (char *)st.arg : NULL; break;
		case OPT_OUTPUT: out = st.arg; break;
		case OPT_STRICT: o.strict = 1; break;
		case OPT_COS:
			if (threshold(cmd, st.arg, &o.cos_min))
				return EXIT_USAGE;
			break;
		case OPT_MEAN_ABS:
			if (threshold(cmd, st.arg, &o.mean_abs_max))
				return EXIT_USAGE;
			break;
		case OPT_MAX_ABS:
			if (threshold(cmd, st.arg, &o.max_abs_max))
				return EXIT_USAGE;
			break;
		case OPT_REPLACE: o.replace = 1; break;
		case OPT_NO_STORE: no_store = true; break;
		case OPT_JSON: json = true; break;
		default: return EXIT_USAGE;
		}
	}
	int first = cli_opts_rest(&st), n = argc - first;
	if (!anchor)
		return cli_usage_error(cmd, "--anchor PKG is required");
	if (n == 0)
		return cli_usage_error(cmd, "no packages to align given (PKG[:FUNC] ...)");
	if (!out)
		return cli_usage_error(cmd, "-o OUT is required");
	size_t ns = (size_t)n + 1;
	size_t ol = strlen(out);
	bool one = n == 1 && ol >= 10 && !strcmp(out + ol - 10, ".mlpackage");
	mld_source_spec *specs = calloc(ns, sizeof *specs);
	char **names = calloc(ns, sizeof *names), **outs = calloc(ns, sizeof *outs);
	int rc = EXIT_OK;
	if (!specs || !names || !outs) {
		rc = EXIT_FAIL;
		goto done;
	}
	for (size_t i = 0; i < ns; i++) {
		cli_split_function(i ? argv[first + (int)i - 1] : anchor, &specs[i].path, &specs[i].function);
		if (!(names[i] = malloc(32))) {
			rc = EXIT_FAIL;
			goto done;
		}
		if (i)
			snprintf(names[i], 32, "source_%zu", i);
		else
			snprintf(names[i], 32, "anchor");
		specs[i].name = names[i];
		if (!i) {
			/* An iOS16-form anchor (spec < 9) is written too, in the iOS18 form the others get,
			 * so that one tool can load them all (directory output only). */
			mld_package *ap = NULL;
			if (one || mld_package_open(&ap, specs[0].path) || mld_package_spec_version(ap) >= 9) {
				mld_package_free(ap);
				continue;
			}
			mld_package_free(ap);
		}
		if (one) {
			outs[i] = strdup(out);
		} else {
			for (int dup = 1;; dup++) { /* two sources of one name: STEM2, STEM3, ... */
				if (!(outs[i] = out_name(out, specs[i].path, specs[i].function, dup > 1 ? dup : 0)))
					break;
				bool clash = false;
				for (size_t k = 0; k < i; k++)
					clash |= outs[k] && !strcmp(outs[k], outs[i]);
				if (!clash)
					break;
				free(outs[i]);
			}
		}
		if (!outs[i]) {
			rc = EXIT_FAIL;
			goto done;
		}
	}
	if (!one && mkdir(out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "mldedup align: %s: cannot create the output directory: %s\n", cli_esc(out),
		        strerror(errno));
		rc = EXIT_FAIL;
		goto done;
	}
	o.warn = on_warn;
	mld_store *store = NULL;
	char *spath = NULL;
	if (!no_store && cli_store_path(cmd, &spath)) { /* a bad config file */
		rc = EXIT_FAIL;
		goto done;
	}
	if (!no_store && mld_store_open(&store, spath)) {
		fprintf(stderr, "mldedup align: warning: no store (%s); digests are computed here\n",
		        cli_esc(mld_error_last()));
		store = NULL;
	}
	o.store = store;
	mld_combine_stats s;
	uint64_t *rew = calloc(ns, sizeof *rew);
	if (!rew)
		rc = EXIT_FAIL;
	else if (mld_align(&s, rew, specs, ns, (const char *const *)outs, &o))
		rc = mld_error_code() == MLD_EUSAGE || mld_error_code() == MLD_EOVERLAP
		             ? cli_usage_error(cmd, "%s", mld_error_last())
		             : cli_fail(cmd);
	if (rc == EXIT_OK) {
		if (!cli_quiet && outs[0])
			fprintf(stderr, "wrote %s: the anchor in the iOS18 form\n", cli_esc(outs[0]));
		if (!cli_quiet)
			for (size_t i = 1; i < ns; i++)
				fprintf(stderr, "wrote %s: %llu weights given the shared bytes\n", cli_esc(outs[i]),
				        (unsigned long long)rew[i]);
		if (json) {
			json_t *doc = cli_json_doc(), *arr = json_array();
			json_object_update_new(doc, cli_combine_stats_json(NULL, &s, false));
			json_object_del(doc, "output");
			json_object_del(doc, "dry_run");
			json_object_set_new(doc, "anchor", json_string(specs[0].path));
			json_object_set_new(doc, "anchor_output", outs[0] ? json_string(outs[0]) : json_null());
			for (size_t i = 1; i < ns && arr; i++)
				json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:I}", "source", specs[i].path,
				                                     "function", specs[i].function, "output", outs[i],
				                                     "rewritten", (json_int_t)rew[i]));
			json_object_set_new(doc, "outputs", arr);
			cli_json_emit(doc, NULL);
		}
	}
	free(rew);
	mld_store_free(store);
	free(spath);
done:
	for (size_t i = 0; i < ns && names; i++)
		free(names[i]);
	for (size_t i = 0; i < ns && outs; i++)
		free(outs[i]);
	free(names);
	free(outs);
	free(specs);
	return rc;
}

const cli_cmd cmd_align = {
	"align",
	"--anchor A[:FUNC] -o OUT PKG[:FUNC]...",
	"Rewrite packages so that every weight combine would share carries the anchor's exact bytes.",
	"The same plan as 'mldedup combine' over A, PKG... (A is the anchor; every weight is checked against\n"
	"everything placed before it). Instead of one combined package, each PKG is written as a single-function\n"
	"package of its own in which each shared weight (deq_identical, deq_close) carries the encoding and bytes\n"
	"of the weight it shares with. Tools that share only byte-identical blobs, such as coremltools'\n"
	"save_multifunction, then store it once. Everything else of PKG (model description, metadata, other\n"
	"weights) is kept; 'mldedup verify OUT x=PKG' checks the values against the source.\n"
	"iOS16-form packages (specification < 9) come out in the iOS18 form, as combine writes them; with a\n"
	"directory OUT, such an anchor is written there too (--json: anchor_output).\n",
	align_opts,
	run};
