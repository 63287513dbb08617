/* mldedup combine: one multifunction package from many, each shareable weight once. */
#include "fields.h"
#include "opts.h"
#include "config.h"

#include "mldedup.h"

#include "core/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_OUTPUT = 'o',
	OPT_DEFAULT = 1,
	OPT_STRICT,
	OPT_DRY_RUN,
	OPT_REPORT,
	OPT_NO_PREFLIGHT,
	OPT_ALLOW_LARGE,
	OPT_ZIP,
	OPT_ANEMLL,
	OPT_NO_STORE,
	OPT_JSON,
	OPT_STAMP,
	OPT_ALLOW_INCOMPLETE
};

static const cli_opt combine_opts[] = {
	{OPT_OUTPUT, "output", 'o', "OUT",
         "output .mlpackage (with --anemll: output directory, created if missing; default DIR)"},
	{OPT_DEFAULT, "default", 0, "NAME", "default function (default: the first source, the anchor)"},
	{OPT_STRICT, "strict", 0, NULL, "near-copies must also satisfy max |d| <= 0.01"},
	{OPT_DRY_RUN, "dry-run", 0, NULL, "plan and report only; write no package"},
	{OPT_REPORT, "report", 0, "FILE",
         "write every decision with its metrics (.json or .csv); several --anemll outputs: one each, STEM.OUTPUT.EXT"},
	{OPT_NO_PREFLIGHT, "no-preflight", 0, NULL, "skip the state/input/palette compatibility checks"},
	{OPT_ALLOW_LARGE, "allow-large", 0, NULL, "write a weight file above 2 GB"},
	{OPT_ZIP, "zip", 0, NULL, "write OUT.zip holding OUT.mlpackage (zipped, as models are shipped)"},
	{OPT_ANEMLL, "anemll", 0, "DIR",
         "combine every ANEMLL export found in DIR, named as ANEMLL names them;"
         " a group that lacks an export (a chunk, an FFN, a prefill) fails, naming it"},
	{OPT_ALLOW_INCOMPLETE, "allow-incomplete", 0, NULL,
         "with --anemll: warn about missing exports and combine what is there"},
	{OPT_NO_STORE, "no-store", 0, NULL, "use no store: compute digests here, keep no decisions"},
	{OPT_JSON, "json", 0, NULL,
         "print the statistics as one JSON object on stdout (--anemll: {format, outputs: [...]})"},
	{OPT_STAMP, "stamp", 0, "FILE", "build step: write OUT's digests to FILE, only if they changed (Ninja restat)"},
	{0},
};

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "mldedup combine: warning: %s\n", cli_esc(msg));
}

/* The statistics of a combine: --json and -v both come from this table (and by_reason). */
static const cli_field combine_fields[] = {
	CLI_FIELD(mld_combine_stats, functions, "functions", CLI_COUNT, 0),
	CLI_FIELD(mld_combine_stats, weights, "weights", CLI_COUNT, 0),
	CLI_FIELD(mld_combine_stats, bytes_before, "weight bytes of the sources", CLI_BYTES, 0),
	CLI_FIELD(mld_combine_stats, bytes_after, "weight bytes written", CLI_BYTES, 0),
	CLI_FIELD(mld_combine_stats, bytes_optimum, "one copy of each distinct content", CLI_BYTES, 0),
	CLI_FIELD(mld_combine_stats, decisions_computed, "decisions computed", CLI_COUNT, 0),
	CLI_FIELD(mld_combine_stats, decisions_reused, "decisions reused from the store", CLI_COUNT, 0),
	CLI_FIELD(mld_combine_stats, weights_dequantized, "weights dequantized", CLI_COUNT, 0),
	CLI_FIELD(mld_combine_stats, packages_indexed, "packages indexed first", CLI_COUNT, 1),
	{0},
};

void cli_combine_summary(const char *out, const mld_combine_stats *s, bool dry)
{
	char a[32], b[32], c[32], d[32];
	cli_human_bytes(a, (double)s->bytes_before);
	cli_human_bytes(b, (double)s->bytes_after);
	cli_human_bytes(c, (double)(s->bytes_before > s->bytes_after ? s->bytes_before - s->bytes_after : 0));
	cli_human_bytes(d, (double)s->bytes_optimum);
	fprintf(stderr, "%s %s: %u functions, %llu weights\n", dry ? "would write" : "wrote", cli_esc(out),
	        s->functions, (unsigned long long)s->weights);
	fprintf(stderr, "  shared:");
	for (int r = 0; r < MLD_R_COUNT; r++)
		if (s->by_reason[r])
			fprintf(stderr, " %s %llu", mld_reason_name((mld_reason)r),
			        (unsigned long long)s->by_reason[r]);
	fprintf(stderr, "\n  weight bytes: before %s, after %s, saved %s (%.1f%%); optimum %s, after/optimum %.3f\n", a,
	        b, c, s->bytes_before ? 100.0 * (1.0 - (double)s->bytes_after / (double)s->bytes_before) : 0.0, d,
	        s->bytes_optimum ? (double)s->bytes_after / (double)s->bytes_optimum : 1.0);
	fprintf(stderr, "  decisions: %llu computed, %llu reused; %llu weights dequantized\n",
	        (unsigned long long)s->decisions_computed, (unsigned long long)s->decisions_reused,
	        (unsigned long long)s->weights_dequantized);
	if (s->large_warning)
		fprintf(stderr, "  warning: the weight file exceeds 1 GB, which iOS devices may refuse to load\n");
	if (cli_verbose)
		cli_fields_print(stderr, combine_fields, s, cli_verbose, "  ");
}

/* One output's statistics as a JSON object (from the same table). */
json_t *cli_combine_stats_json(const char *out, const mld_combine_stats *s, bool dry)
{
	json_t *o = json_pack("{s:s?,s:b}", "output", out, "dry_run", dry);
	cli_fields_json(o, combine_fields, s);
	json_t *reasons = json_object();
	for (int r = 0; r < MLD_R_COUNT; r++)
		json_object_set_new(reasons, mld_reason_name((mld_reason)r), json_integer((json_int_t)s->by_reason[r]));
	json_object_set_new(o, "by_reason", reasons);
	json_object_set_new(o, "large_warning", json_boolean(s->large_warning));
	return o;
}

/* A usage error found by the library (a bad function name, output suffix, an output
 * that would overwrite a source, ...) exits 2 like the CLI's own. */
static int combine_fail(const cli_cmd *cmd)
{
	if (mld_error_code() == MLD_EUSAGE || mld_error_code() == MLD_EOVERLAP)
		return cli_usage_error(cmd, "%s", mld_error_last());
	return cli_fail(cmd);
}

/* --report R with several --anemll outputs: one report per output, R's stem + "." + the output's name
 * + R's extension (r.json -> r.toy_FFN_PF_lut6_chunk_01of02.json), so that none overwrites another. */
static char *job_report(const char *report, const char *output)
{
	const char *base = strrchr(output, '/'), *dot = strrchr(report, '.'), *slash = strrchr(report, '/');
	base = base ? base + 1 : output;
	size_t blen = strlen(base);
	if (blen > 10 && !strcmp(base + blen - 10, ".mlpackage"))
		blen -= 10;
	if (!dot || (slash && dot < slash))
		dot = report + strlen(report);
	size_t n = (size_t)(dot - report) + 1 + blen + strlen(dot) + 1;
	char *r = malloc(n);
	if (r)
		snprintf(r, n, "%.*s.%.*s%s", (int)(dot - report), report, (int)blen, base, dot);
	return r;
}

/* --anemll: an output inside (or holding) a source of any job would change what another job
 * reads; mld_combine checks each job's own sources, this checks them all before any is run. */
static bool anemll_overlap(const cli_cmd *cmd, const mld_anemll_job *jobs, size_t nj)
{
	for (size_t j = 0; j < nj; j++) {
		char *out = mld__path_canonical(jobs[j].output);
		for (size_t k = 0; out && k < nj; k++)
			for (size_t s = 0; s < jobs[k].n_sources; s++) {
				char *src = realpath(jobs[k].sources[s].path, NULL);
				const char *how = !src                         ? NULL
				                  : mld__path_within(out, src) ? "lies inside"
				                  : mld__path_within(src, out) ? "holds"
				                                               : NULL;
				if (how)
					fprintf(stderr,
					        "mldedup %s: %s: the output %s the source %s; it would overwrite it "
					        "(choose another -o)\n",
					        cmd->name, cli_esc(jobs[j].output), how,
					        cli_esc(jobs[k].sources[s].path));
				free(src);
				if (how) {
					free(out);
					return true;
				}
			}
		free(out);
	}
	return false;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.replace = 1; /* a build step writes its output again and again */
	const char *out = NULL, *anemll = NULL, *stamp = NULL;
	bool no_store = false, json = false, allow_incomplete = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		switch (c) {
		case OPT_OUTPUT: out = st.arg; break;
		case OPT_DEFAULT: o.default_name = st.arg; break;
		case OPT_STRICT: o.strict = 1; break;
		case OPT_DRY_RUN: o.dry_run = 1; break;
		case OPT_REPORT: o.report_path = st.arg; break;
		case OPT_NO_PREFLIGHT: o.no_preflight = 1; break;
		case OPT_ALLOW_LARGE: o.allow_large = 1; break;
		case OPT_ZIP: o.zip = 1; break;
		case OPT_ANEMLL: anemll = st.arg; break;
		case OPT_NO_STORE: no_store = true; break;
		case OPT_JSON: json = true; break;
		case OPT_STAMP: stamp = st.arg; break;
		case OPT_ALLOW_INCOMPLETE: allow_incomplete = true; break;
		default: return EXIT_USAGE;
		}
	}
	int first = cli_opts_rest(&st), n = argc - first;
	if (anemll && n)
		return cli_usage_error(cmd, "--anemll takes no NAME=PKG sources");
	if (allow_incomplete && !anemll)
		return cli_usage_error(cmd, "--allow-incomplete goes with --anemll");
	if (!anemll && n == 0)
		return cli_usage_error(cmd, "no sources given (NAME=PKG[:FUNC] ...)");
	if (!anemll && !out)
		return cli_usage_error(cmd, "-o OUT.mlpackage is required");
	if (stamp && (anemll || o.dry_run))
		return cli_usage_error(cmd, "--stamp goes with one -o OUT, not with --anemll or --dry-run");
	mld_source_spec *specs = calloc((size_t)(n ? n : 1), sizeof *specs);
	if (!specs)
		return EXIT_FAIL;
	for (int i = 0; i < n; i++)
		if (cli_parse_source(&specs[i], argv[first + i])) {
			free(specs);
			return cli_usage_error(cmd, "source \"%s\" is not NAME=PKG[:FUNC]", argv[first + i]);
		}
	o.warn = on_warn;
	mld_store *store = NULL;
	char *spath = NULL;
	if (!no_store) {
		if (cli_store_path(cmd, &spath)) { /* a bad config file: fix it first */
			free(specs);
			return EXIT_FAIL;
		}
		/* a store problem never stops a combine: warn and go on without it */
		if (mld_store_open(&store, spath)) {
			fprintf(stderr, "mldedup combine: warning: no store (%s); digests are computed here\n",
			        cli_esc(mld_error_last()));
			store = NULL;
		}
	}
	o.store = store;
	int rc = EXIT_OK;
	mld_combine_stats s;
	if (anemll) {
		mld_anemll_layout L = {0};
		bool no_dir = false;
		if (mld_anemll_scan(&L, anemll, out)) {
			rc = cli_fail(cmd);
			no_dir = true;
		} else if (L.n_missing) { /* a broken export fails the build, unless asked */
			for (size_t i = 0; i < L.n_missing; i++)
				fprintf(stderr, "mldedup combine: %s: %s\n",
				        allow_incomplete ? "warning: missing" : "missing", cli_esc(L.missing[i]));
			if (!allow_incomplete) {
				fprintf(stderr,
				        "mldedup combine: %zu expected export%s missing; nothing written"
				        " (--allow-incomplete combines what is there)\n",
				        L.n_missing, L.n_missing == 1 ? " is" : "s are");
				rc = EXIT_FAIL;
				no_dir = true;
			}
		}
		mld_anemll_job *jobs = L.jobs;
		size_t nj = L.n_jobs;
		if (!no_dir && !o.dry_run && anemll_overlap(cmd, jobs, nj)) {
			rc = EXIT_USAGE;
			no_dir = true;
		}
		if (!no_dir && out && !o.dry_run && mkdir(out, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "mldedup combine: %s: cannot create the output directory: %s\n", cli_esc(out),
			        strerror(errno));
			rc = EXIT_FAIL;
			no_dir = true;
		}
		const char *report = o.report_path;
		json_t *outputs = json_array(); /* --json: one document for every output */
		for (size_t j = 0; j < nj && !no_dir; j++) {
			if (cli_verbose) {
				fprintf(stderr, "%s:", cli_esc(jobs[j].output));
				for (size_t k = 0; k < jobs[j].n_sources; k++)
					fprintf(stderr, " %s=%s%s%s", cli_esc(jobs[j].sources[k].name),
					        cli_esc(jobs[j].sources[k].path),
					        jobs[j].sources[k].function ? ":" : "",
					        jobs[j].sources[k].function ? cli_esc(jobs[j].sources[k].function)
					                                    : "");
				fprintf(stderr, "\n");
			}
			if (jobs[j].n_sources < 2) {
				fprintf(stderr, "mldedup combine: %s: only one source found, skipped\n",
				        cli_esc(jobs[j].output));
				continue;
			}
			char *jr = report && nj > 1 ? job_report(report, jobs[j].output) : NULL;
			o.report_path = jr ? jr : report;
			int jrc = mld_combine(&s, jobs[j].sources, jobs[j].n_sources, jobs[j].output, &o);
			free(jr);
			o.report_path = report;
			if (jrc) {
				rc = combine_fail(cmd);
				continue;
			}
			if (!cli_quiet)
				cli_combine_summary(jobs[j].output, &s, o.dry_run);
			json_array_append_new(outputs, cli_combine_stats_json(jobs[j].output, &s, o.dry_run));
		}
		if (json) {
			json_t *doc = cli_json_doc(), *missing = json_array(), *left = json_array();
			for (size_t i = 0; i < L.n_missing; i++)
				json_array_append_new(missing, json_string(L.missing[i]));
			for (size_t i = 0; i < L.n_other; i++)
				json_array_append_new(left, json_string(L.other[i]));
			json_object_set_new(doc, "outputs", outputs);
			json_object_set_new(doc, "missing", missing);
			json_object_set_new(doc, "left_as_is", left);
			cli_json_emit(doc, NULL);
		} else {
			json_decref(outputs);
		}
		if (!no_dir && !cli_quiet && L.n_other) {
			fprintf(stderr, "left as they are (not combined):\n");
			for (size_t i = 0; i < L.n_other; i++)
				fprintf(stderr, "  %s\n", cli_esc(L.other[i]));
		}
		mld_anemll_layout_free(&L);
	} else if ((o.stamp_path = stamp), mld_combine(&s, specs, (size_t)n, out, &o)) {
		/* --stamp: the library writes OUT's stamp from its plan, only if it changed
		 * (so it keeps its mtime when OUT came out the same, and nothing after reruns) */
		rc = combine_fail(cmd);
	} else {
		if (!cli_quiet)
			cli_combine_summary(out, &s, o.dry_run);
		if (json) {
			json_t *doc = cli_json_doc();
			json_object_update_new(doc, cli_combine_stats_json(out, &s, o.dry_run));
			cli_json_emit(doc, NULL);
		}
	}
	mld_store_free(store);
	free(spath);
	free(specs);
	return rc;
}

const cli_cmd cmd_combine = {
	"combine",
	"-o OUT.mlpackage NAME=PKG[:FUNC] ... | --anemll DIR",
	"Combine functions of several packages into one multifunction package, each shareable weight stored once.",
	"The first source is the anchor. For every other weight, against everything already placed:\n"
	"  identical       same encoding, bytes equal: the blobs are shared;\n"
	"  deq_identical   same dense values in another encoding (a permuted palette): uses the placed encoding;\n"
	"  deq_close       a same-named (or same-shaped, similar) weight with the same layout, verified:\n"
	"                  cosine >= 0.9999 and mean |d| <= 0.001 (--strict: and max |d| <= 0.01);\n"
	"  rejected_*      compared but kept its own (threshold, shape or layout).\n"
	"FUNC defaults to the package's only function, or main. Decisions are kept in the store and reused.\n"
	"iOS16-form constexpr ops are rewritten into the iOS18 form with bit-identical values.\n",
	combine_opts,
	run};
