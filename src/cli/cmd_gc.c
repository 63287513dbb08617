/* mldedup gc: forget packages that are gone or stale with age, and what only they used. */
#include "qout.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_DRY_RUN = OPT_OWN, OPT_OLDER_THAN, OPT_MISSING };

static const cli_opt gc_opts[] = {
	{OPT_MISSING, "missing", 0, NULL, "forget packages and combined outputs that no longer exist"},
	{OPT_OLDER_THAN, "older-than", 0, "DURATION",
         "forget packages not indexed or seen for DURATION (30d, 12h, 90m, 1w2d)"},
	{OPT_DRY_RUN, "dry-run", 'n', NULL, "count what would go, change nothing"},
	{OPT_JSON, "json", 0, NULL, "print {dry_run, packages, outputs, removed} as JSON"},
	{0},
};

/* "1w2d12h30m15s" -> seconds; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
	static const char units[] = "smhdw";
	static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long long v = strtoll(s, &end, 10);
		const char *u = end > s && *end ? strchr(units, *end) : NULL;
		if (!u || v < 0 || *s == '-' || *s == '+' || v > INT64_MAX / 604800 / 1000)
			return -1;
		total += v * secs[u - units];
		s = end + 1;
	}
	return total;
}

static int option(const cli_cmd *cmd, int id, const char *arg, void *ctx)
{
	mld_gc_opts *g = ctx;
	if (id == OPT_DRY_RUN)
		g->dry_run = 1;
	else if (id == OPT_MISSING)
		g->missing = 1;
	else if ((g->forget_old = 1, g->older_than = parse_duration(arg)) < 0)
		return cli_usage_error(cmd, "--older-than takes a duration such as 30d, 12h or 90m, not '%s'", arg);
	return EXIT_OK;
}

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx) { return mld_store_gc(out, st, ctx); }

static int print(json_t *r, mld_store *st, out_style style, void *ctx)
{
	static const char *const kinds[] = {"packages", "outputs"};
	if (cli_quiet) /* -q: nothing but errors; --json still prints its document */
		return EXIT_OK;
	bool dry = json_is_true(json_object_get(r, "dry_run"));
	size_t i;
	json_t *p;
	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(r, kinds[k]), i, p)
			printf("%s %s\n", dry ? "would forget" : "forgot",
		               cli_esc(json_string_value(json_object_get(p, "path"))));
	printf("%s:\n", dry ? "would remove (dry run)" : "removed");
	out_stats(json_object_get(r, "removed"), OUT_TEXT, false);
	return EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_WRITE, 0, 0, option, query, print, false, OUT_TEXT, NULL};
	mld_gc_opts g = MLD_GC_OPTS_INIT;
	return out_run(cmd, argc, argv, &c, &g);
}

const cli_cmd cmd_gc = {
	"gc",
	"",
	"Forget packages that are gone (--missing) or old (--older-than), and every row only they used.",
	"Then contents, encodings and decisions that no weight references any more are removed too (that\n"
	"alone is what a plain 'mldedup gc' does). It all happens in one exclusive transaction: other\n"
	"writers (index, combine, another gc) wait for it, and readers see the store before or after.\n"
	"--older-than counts from the last time 'mldedup index' (or a combine) met the package, read or\n"
	"found unchanged. Freed pages stay in the store file for reuse.\n",
	gc_opts,
	run};
