/* mldedup anemll: a drop-in for ANEMLL's combine step (anemll/utils/combine_models.py):
 * the same flags, the same file names, mldedup's sharing. */
#include "fields.h"
#include "opts.h"
#include "config.h"

#include "mldedup.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum {
	OPT_LUT = 1,
	OPT_CHUNK,
	OPT_MONOLITHIC,
	OPT_GEMMA3,
	OPT_ROTATE,
	OPT_SPLIT_ROTATE,
	OPT_INPUT,
	OPT_OUTPUT,
	OPT_PREFIX,
	OPT_DEDUP,
	OPT_SKIP_DEDUP,
	OPT_NO_STORE,
	OPT_JSON
};

static const cli_opt anemll_opts[] = {
	{OPT_LUT, "lut", 0, "BITS[,PER_CHANNEL]",
         "LUT bits of the exports: names carry _lutBITS (PER_CHANNEL is accepted"
         " and does not name files; \"none\" = no LUT)"},
	{OPT_CHUNK, "chunk", 0, "N",
         "number of chunks: chunks 1..N, each an FFN and a prefill (required unless --monolithic)"},
	{OPT_MONOLITHIC, "monolithic", 0, NULL,
         "combine {prefix}_monolithic{_lutN} and {prefix}_monolithic_prefill{_lutN}"
         " into {prefix}_monolithic_full{_lutN}"},
	{OPT_GEMMA3, "gemma3", 0, NULL,
         "4 functions per chunk: infer, infer_rotate, prefill, prefill_rotate (as --rotate)"},
	{OPT_ROTATE, "rotate", 0, NULL, "4 functions: also the _rotate exports (infer_rotate, prefill_rotate)"},
	{OPT_SPLIT_ROTATE, "split-rotate", 0, NULL,
         "2 outputs per chunk: ..._chunk_NNofMM (infer, prefill) and"
         " ..._chunk_NNofMM_rot (infer_rotate, prefill_rotate)"},
	{OPT_INPUT, "input", 0, "DIR", "directory holding the exports (default: .)"},
	{OPT_OUTPUT, "output", 0, "DIR",
         "directory for the combined packages, created if missing (default: the input)"},
	{OPT_PREFIX, "prefix", 0, "PREFIX", "model name prefix (default: llama)"},
	{OPT_DEDUP, "anemll-dedup", 0, NULL,
         "share identical, permuted and verified near-identical weights (the default)"},
	{OPT_SKIP_DEDUP, "skip-anemll-dedup", 0, NULL, "share only byte-identical blobs, as coremltools alone does"},
	{OPT_NO_STORE, "no-store", 0, NULL, "use no store: compute digests here, keep no decisions"},
	{OPT_JSON, "json", 0, NULL,
         "print one JSON document: every output with its statistics, what was left as it is"},
	{0},
};

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "mldedup anemll: warning: %s\n", cli_esc(msg));
}

/* A whole positive number, as argparse's type=int takes it. */
static bool parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (errno || end == s || *end || v < 0 || v > 99)
		return false;
	*out = (int)v;
	return true;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	mld_anemll_opts ao = {.version = MLD_ANEMLL_OPTS_VERSION};
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.replace = 1; /* as ANEMLL's combine does, a new output replaces the old one */
	const char *in = ".", *outdir = NULL;
	bool no_store = false, json = false, chunk_given = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		switch (c) {
		case OPT_LUT: {
			char bits[32];
			snprintf(bits, sizeof bits, "%s", st.arg);
			char *comma = strchr(bits, ',');
			if (comma)
				*comma = 0;
			if (!strcasecmp(bits, "none") && !comma)
				ao.lut_bits = 0;
			else if (!parse_int(bits, &ao.lut_bits) || ao.lut_bits == 0)
				return cli_usage_error(
					cmd, "--lut %s: expected BITS or BITS,PER_CHANNEL (e.g. 6 or 6,4)", st.arg);
			break;
		}
		case OPT_CHUNK:
			if (!parse_int(st.arg, &ao.chunks) || ao.chunks == 0)
				return cli_usage_error(cmd, "--chunk %s: expected a number of chunks from 1 to 99",
				                       st.arg);
			chunk_given = true;
			break;
		case OPT_MONOLITHIC: ao.monolithic = 1; break;
		case OPT_GEMMA3:
		case OPT_ROTATE: ao.rotate = 1; break;
		case OPT_SPLIT_ROTATE: ao.split_rotate = 1; break;
		case OPT_INPUT: in = st.arg; break;
		case OPT_OUTPUT: outdir = st.arg; break;
		case OPT_PREFIX: ao.prefix = st.arg; break;
		case OPT_DEDUP: o.identical_only = 0; break;
		case OPT_SKIP_DEDUP: o.identical_only = 1; break;
		case OPT_NO_STORE: no_store = true; break;
		case OPT_JSON: json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (cli_opts_rest(&st) != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\" (the exports are found by name in --input DIR)",
		                       argv[cli_opts_rest(&st)]);
	if (!ao.monolithic && !chunk_given)
		return cli_usage_error(cmd, "--chunk is required for chunked mode (or use --monolithic)");
	mld_anemll_layout L;
	if (mld_anemll_expect(&L, in, outdir, &ao))
		return mld_error_code() == MLD_EUSAGE ? cli_usage_error(cmd, "%s", mld_error_last()) : cli_fail(cmd);
	int rc = EXIT_OK;
	if (L.n_missing) { /* a broken export never passes a build: nothing is written */
		for (size_t i = 0; i < L.n_missing; i++)
			fprintf(stderr, "mldedup anemll: missing: %s\n", cli_esc(L.missing[i]));
		fprintf(stderr, "mldedup anemll: %zu expected export%s missing; nothing written\n", L.n_missing,
		        L.n_missing == 1 ? " is" : "s are");
		mld_anemll_layout_free(&L);
		return EXIT_FAIL;
	}
	if (outdir && mkdir(outdir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "mldedup anemll: %s: cannot create the output directory: %s\n", cli_esc(outdir),
		        strerror(errno));
		mld_anemll_layout_free(&L);
		return EXIT_FAIL;
	}
	o.warn = on_warn;
	mld_store *store = NULL;
	char *spath = NULL;
	if (!no_store && cli_store_path(cmd, &spath)) { /* a bad config file */
		mld_anemll_layout_free(&L);
		return EXIT_FAIL;
	}
	if (!no_store && mld_store_open(&store, spath)) {
		fprintf(stderr, "mldedup anemll: warning: no store (%s); digests are computed here\n",
		        cli_esc(mld_error_last()));
		store = NULL;
	}
	o.store = store;
	json_t *outputs = json_array();
	for (size_t j = 0; j < L.n_jobs; j++) {
		mld_combine_stats s;
		if (cli_verbose) {
			fprintf(stderr, "%s:", cli_esc(L.jobs[j].output));
			for (size_t k = 0; k < L.jobs[j].n_sources; k++)
				fprintf(stderr, " %s=%s", cli_esc(L.jobs[j].sources[k].name),
				        cli_esc(L.jobs[j].sources[k].path));
			fprintf(stderr, "\n");
		}
		if (mld_combine(&s, L.jobs[j].sources, L.jobs[j].n_sources, L.jobs[j].output, &o)) {
			rc = cli_fail(cmd);
			break; /* as ANEMLL stops at the first chunk that fails */
		}
		if (!cli_quiet)
			cli_combine_summary(L.jobs[j].output, &s, false);
		json_t *jo = cli_combine_stats_json(L.jobs[j].output, &s, false), *fns = json_array();
		for (size_t k = 0; k < L.jobs[j].n_sources; k++)
			json_array_append_new(fns, json_pack("{s:s, s:s}", "name", L.jobs[j].sources[k].name, "source",
			                                     L.jobs[j].sources[k].path));
		json_object_set_new(jo, "sources", fns);
		json_array_append_new(outputs, jo);
	}
	if (!cli_quiet && L.n_other) {
		fprintf(stderr, "left as they are (not combined):\n");
		for (size_t i = 0; i < L.n_other; i++)
			fprintf(stderr, "  %s\n", cli_esc(L.other[i]));
	}
	if (json) {
		json_t *left = json_array();
		for (size_t i = 0; i < L.n_other; i++)
			json_array_append_new(left, json_string(L.other[i]));
		json_t *doc = cli_json_doc();
		json_object_update_new(doc, json_pack("{s:s, s:s, s:b, s:o, s:o}", "input", in, "output",
		                                      outdir ? outdir : in, "anemll_dedup", !o.identical_only,
		                                      "outputs", outputs, "left_as_is", left));
		outputs = NULL;
		cli_json_emit(doc, NULL);
	}
	json_decref(outputs);
	mld_anemll_layout_free(&L);
	mld_store_free(store);
	free(spath);
	return rc;
}

const cli_cmd cmd_anemll = {
	"anemll",
	"[--lut BITS] [--chunk N | --monolithic] [--rotate|--gemma3] [--split-rotate] [--input DIR] [--output DIR] "
	"[--prefix P]",
	"ANEMLL's combine step (combine_models.py) with mldedup's sharing: the same flags, the same file names.",
	"In convert_model.sh, replace\n"
	"  python3 anemll/utils/combine_models.py ARGS...\n"
	"with\n"
	"  mldedup anemll ARGS...\n"
	"Chunked: {prefix}_FFN{_lutN}_chunk_NNofMM + {prefix}_prefill{_lutN}_chunk_NNofMM ->\n"
	"  {prefix}_FFN_PF{_lutN}_chunk_NNofMM (functions infer, prefill; with --rotate or --gemma3 also\n"
	"  infer_rotate and prefill_rotate from the _FFN_rotate/_prefill_rotate exports; with --split-rotate\n"
	"  those two go to {prefix}_FFN_PF{_lutN}_chunk_NNofMM_rot).\n"
	"Monolithic: {prefix}_monolithic{_lutN} + {prefix}_monolithic_prefill{_lutN} (+ _rotate variants) ->\n"
	"  {prefix}_monolithic_full{_lutN}.\n"
	"Every expected export must exist: each missing one is named and nothing is written (exit 1).\n"
	"The combined metadata merges every source's (com.anemll.* keys and the rest; the first non-empty\n"
	"value wins) and the short description is ANEMLL's \"Anemll Model: Multifunction FFN+Prefill\".\n"
	"Other entries of the input (embeddings, LM head, ...) are listed as left as they are.\n",
	anemll_opts,
	run};
