/* mldedup fsck: check the store, and with --deep the packages it indexed. */
#include "qout.h"

enum { OPT_DEEP = OPT_OWN };

static const cli_opt fsck_opts[] = {
	{OPT_DEEP, "deep", 0, NULL, "also re-read every indexed package still on disk and compare its digests"},
	{OPT_JSON, "json", 0, NULL, "print {problems, skipped, packages_checked, weights_checked} as JSON"},
	{0},
};

static int option(const cli_cmd *cmd, int id, const char *arg, void *ctx)
{
	*(int *)ctx = 1; /* --deep */
	return EXIT_OK;
}

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	return mld_store_fsck(out, st, *(int *)ctx);
}

/* Problems on stdout (text or JSON), notes on stderr; exit 1 when there is any. */
static int print(json_t *r, mld_store *st, out_style style, void *ctx)
{
	json_t *problems = json_object_get(r, "problems"), *p;
	size_t i, n = json_array_size(problems);
	if (style == OUT_JSON)
		out_json(r);
	else
		json_array_foreach(problems, i, p) printf("%s: %s\n", json_string_value(json_object_get(p, "check")),
		                                          cli_esc(json_string_value(json_object_get(p, "message"))));
	json_array_foreach(json_object_get(r, "skipped"), i, p) if (!cli_quiet)
		fprintf(stderr, "mldedup fsck: not re-read (%s): %s\n", json_string_value(json_object_get(p, "status")),
	                cli_esc(json_string_value(json_object_get(p, "path"))));
	if (n)
		fprintf(stderr, "mldedup fsck: %zu problem%s\n", n, n == 1 ? "" : "s");
	else if (cli_verbose)
		fprintf(stderr, "mldedup fsck: no problems%s\n", *(int *)ctx ? " (deep)" : "");
	return n ? EXIT_FAIL : EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_AS_IS, 0, 0, option, query, print, true, OUT_TEXT, NULL};
	int deep = 0;
	return out_run(cmd, argc, argv, &c, &deep);
}

const cli_cmd cmd_fsck = {
	"fsck",
	"",
	"Check the store: SQLite integrity, its schema, and its invariants; --deep re-checks digests.",
	"Invariants: every function and weight has its package and function; every weight's content and\n"
	"encoding digest has a row, and the encoding decodes to the weight's content; dtypes and shapes\n"
	"agree; decisions name known contents. --deep re-reads each indexed package whose files still match\n"
	"(stale and missing ones are listed on stderr and skipped) and recomputes every weight's digests.\n"
	"Problems go to stdout, one per line; the exit status is 1 when there is any.\n",
	fsck_opts,
	run};
