/* mldedup stats: what the store holds and how much deduplication could save. */
#include "qout.h"

static const cli_opt stats_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print the statistics as a JSON array of {id, label, value, unit}"},
	{0},
};

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx) { return mld_query_stats(out, st); }

static int print(json_t *stats, mld_store *st, out_style style, void *ctx)
{
	out_stats(stats, style);
	json_t *pkgs = NULL;
	if (!cli_verbose || style == OUT_JSON)
		return EXIT_OK;
	if (mld_query_packages(&pkgs, st))
		return cli_fail(ctx);
	printf("\n");
	out_rows(pkgs, NULL, OUT_TEXT, 0);
	json_decref(pkgs);
	return EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {.mode = STORE_READ, .query = query, .print = print, .print_json = true};
	return out_run(cmd, argc, argv, &c, (void *)cmd);
}

const cli_cmd cmd_stats = {
	"stats", "",
	"Count what the store holds and how many bytes one copy per content would save.",
	"The weight bytes are the stored (encoded) bytes of every weight occurrence; \"one copy per content\"\n"
	"keeps the smallest encoding of each distinct dense tensor, \"one copy per encoding\" each distinct\n"
	"stored form (what CoreML's own blob sharing achieves). -v adds a row per package (as 'mldedup\n"
	"packages' prints them). The same table drives the text and --json; ids are stable.\n",
	stats_opts, run};
