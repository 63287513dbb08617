/* mldedup dupes: weights with the same content, largest savings first, and the
 * near-duplicate pairs verification accepted. */
#include "qout.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_ACROSS = OPT_OWN, OPT_MIN_BYTES };

static const cli_opt dupes_opts[] = {
	{OPT_ACROSS, "across", 0, "WHAT", "only groups spanning several: weights (default), functions or packages"},
	{OPT_MIN_BYTES, "min-bytes", 0, "N", "only groups and pairs saving at least N bytes (suffixes k, M, G: x1000)"},
	{OPT_JSON, "json", 0, NULL, "print {groups, near, savings, near_savings} as JSON"},
	{0},
};

static int parse_bytes(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	const char *units = "kMG";
	const char *u = *end ? strchr(units, *end) : NULL;
	if (end == s || *s == '-' || (*end && (!u || end[1])))
		return -1;
	for (int k = u ? (int)(u - units) + 1 : 0; k > 0; k--)
		v *= 1000;
	*out = v;
	return 0;
}

static int print_groups(json_t *r, mld_store *st, out_style style, void *ctx)
{
	char b[32];
	size_t i, j;
	json_t *g, *w;
	printf("duplicate contents: %zu groups; one copy each would save %s\n",
	       json_array_size(json_object_get(r, "groups")),
	       out_bytes(b, json_integer_value(json_object_get(r, "savings"))));
	json_array_foreach(json_object_get(r, "groups"), i, g)
	{
		printf("%10s  %" JSON_INTEGER_FORMAT " weights, %" JSON_INTEGER_FORMAT " encoding%s  %s %s  %s\n",
		       out_bytes(b, json_integer_value(json_object_get(g, "savings"))),
		       json_integer_value(json_object_get(g, "occurrences")),
		       json_integer_value(json_object_get(g, "encodings")),
		       json_integer_value(json_object_get(g, "encodings")) == 1 ? "" : "s",
		       json_string_value(json_object_get(g, "dtype")), json_string_value(json_object_get(g, "shape")),
		       json_string_value(json_object_get(g, "digest")));
		json_array_foreach(json_object_get(g, "weights"), j, w)
			printf("            %s:%s:%s\n", cli_esc(json_string_value(json_object_get(w, "package"))),
		               cli_esc(json_string_value(json_object_get(w, "function"))),
		               cli_esc(json_string_value(json_object_get(w, "name"))));
	}
	json_t *near = json_object_get(r, "near");
	printf("\nnear-duplicates accepted by verification (deq_close): %zu pairs; sharing them would save %s\n",
	       json_array_size(near), out_bytes(b, json_integer_value(json_object_get(r, "near_savings"))));
	if (json_array_size(near)) {
		json_t *cols =
			json_pack("[s,s,s,s,s,s]", "savings", "cos", "mean_abs", "max_abs", "a_weight", "b_weight");
		out_rows(near, cols, OUT_TEXT, 2);
		json_decref(cols);
	}
	return EXIT_OK;
}

typedef struct dupes_args {
	mld_across across;
	uint64_t min_bytes;
} dupes_args;

static int option(const cli_cmd *cmd, int id, const char *arg, void *ctx)
{
	static const char *const across_names[] = {"weights", "functions", "packages"};
	dupes_args *a = ctx;
	if (id == OPT_MIN_BYTES)
		return parse_bytes(&a->min_bytes, arg)
		               ? cli_usage_error(cmd, "--min-bytes takes a byte count such as 4096 or 64k, not '%s'",
		                                 arg)
		               : EXIT_OK;
	for (a->across = 0; a->across < 3; a->across++)
		if (!strcmp(arg, across_names[a->across]))
			return EXIT_OK;
	return cli_usage_error(cmd, "--across takes weights, functions or packages, not '%s'", arg);
}

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	const dupes_args *a = ctx;
	return mld_query_dupes(out, st, a->across, a->min_bytes);
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_READ, 0, 0, option, query, print_groups, false, OUT_TEXT, NULL};
	dupes_args a = {MLD_ACROSS_WEIGHTS, 0};
	return out_run(cmd, argc, argv, &c, &a);
}

const cli_cmd cmd_dupes = {
	"dupes",
	"",
	"List groups of weights with the same content, largest savings first, and verified near-duplicates.",
	"A group is every indexed weight with one content digest (equal dtype, shape and dense values,\n"
	"whatever the encoding); its savings are the stored bytes of all its weights less one smallest copy.\n"
	"--across functions (packages) keeps the groups whose weights lie in more than one function\n"
	"(package): what a combine of those can share. Near-duplicates are the pairs of contents a combine\n"
	"verified within its thresholds (decisions with outcome deq_close: a placed, b the candidate); their\n"
	"savings are one stored copy of b. Weights are named PKG:FUNC:NAME, as 'mldedup show' takes them.\n",
	dupes_opts,
	run};
