/* mldedup stats: what the store holds and how much deduplication could save. */
#include "qout.h"

extern const cli_cmd cmd_stats;

enum { OPT_ROWS = OPT_OWN };

static const cli_opt stats_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print the statistics as one JSON object keyed by id"},
	{OPT_ROWS, "rows", 0, NULL, "with --json: {format, stats: [{id, label, value, unit}]} instead"},
	{0},
};

static int option(const cli_cmd *cmd, int id, const char *arg, void *ctx)
{
	*(bool *)ctx = true; /* --rows, the only option of its own */
	return EXIT_OK;
}

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx) { return mld_query_stats(out, st); }

static int print(json_t *stats, mld_store *st, out_style style, void *ctx)
{
	out_stats(stats, style, *(bool *)ctx);
	json_t *pkgs = NULL;
	if (!cli_verbose || style == OUT_JSON)
		return EXIT_OK;
	if (mld_query_packages(&pkgs, st))
		return out_fail(&cmd_stats);
	printf("\n");
	out_rows(pkgs, NULL, OUT_TEXT, 0);
	json_decref(pkgs);
	return EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {.mode = STORE_READ,
	                          .option = option,
	                          .query = query,
	                          .print = print,
	                          .print_json = true,
	                          .json_key = "stats"};
	bool rows = false;
	return out_run(cmd, argc, argv, &c, &rows);
}

const cli_cmd cmd_stats = {
	"stats",
	"",
	"Count what the store holds and how many bytes one copy per content would save.",
	"The weight bytes are the stored (encoded) bytes of every weight occurrence; \"one copy per content\"\n"
	"keeps the smallest encoding of each distinct dense tensor, \"one copy per encoding\" each distinct\n"
	"stored form (what CoreML's own blob sharing achieves). -v adds a row per package (as 'mldedup\n"
	"packages' prints them). The same table drives the text and --json (an object keyed by id; --rows\n"
	"keeps each row's label and unit); ids are stable.\n",
	stats_opts,
	run};
