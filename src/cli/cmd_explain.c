/* mldedup explain: why a weight of a combined package was or was not shared. */
#include "qout.h"

#include <string.h>

static const cli_opt explain_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print one JSON object"},
	{0},
};

static const char *str(json_t *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r, key));
	return s ? cli_esc(s) : "-"; /* names and paths: no raw control characters on a terminal */
}

/* "cos  0.99912  (>= 0.9999: fails)" */
static void metric(json_t *r, const char *label, const char *key, const char *bound_key, const char *op)
{
	json_t *v = json_object_get(r, key), *bound = json_object_get(r, bound_key);
	if (!json_is_number(v))
		return;
	bool failed = false;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(r, "failed"), i, f) failed |= !strcmp(json_string_value(f), key);
	printf("  %-10s %.10g", label, json_number_value(v));
	if (json_is_number(bound))
		printf("  (%s %g: %s)\n", op, json_number_value(bound), failed ? "fails" : "ok");
	else
		printf("  (no bound in %s mode)\n", str(r, "mode"));
}

static int print_text(json_t *r, mld_store *st, out_style style, void *ctx)
{
	char b[32];
	bool shared = json_is_string(json_object_get(r, "shared_function"));
	printf("%s: written %s by a %s combine\n", str(r, "output"), str(r, "written"), str(r, "mode"));
	printf("%s:%s (from %s:%s)\n", str(r, "function"), str(r, "name"), str(r, "source_package"),
	       str(r, "source_function"));
	printf("  %-10s %s: %s\n", "reason", str(r, "reason"), str(r, "description"));
	if (shared) /* str() is valid for a few calls: not kept */
		printf("  %-10s uses the encoding of %s:%s\n", "shared", str(r, "shared_function"),
		       str(r, "shared_name"));
	else
		printf("  %-10s its own encoding, %s\n", "stored",
		       out_bytes(b, json_integer_value(json_object_get(r, "encoded_bytes"))));
	if (json_is_string(json_object_get(r, "compared_function")))
		printf("  %-10s %s:%s\n", "compared", str(r, "compared_function"), str(r, "compared_name"));
	metric(r, "cos", "cos", "cos_min", ">=");
	metric(r, "mean |d|", "mean_abs", "mean_abs_max", "<=");
	metric(r, "max |d|", "max_abs", "max_abs_max", "<=");
	printf("  %-10s %s\n", "content", str(r, "content_digest"));
	return EXIT_OK;
}

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	return mld_query_explain(out, st, args[0], args[1], args[2]);
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_READ, 3, 3, NULL, query, print_text, false, OUT_TEXT, NULL};
	return out_run(cmd, argc, argv, &c, NULL);
}

const cli_cmd cmd_explain = {
	"explain",
	"OUT FUNC NAME",
	"Say why weight NAME of function FUNC in combined package OUT was or was not shared.",
	"From the record the last combine that wrote OUT left in the store: the reason (anchor, own,\n"
	"identical, deq_identical, deq_close, rejected_threshold, rejected_shape, unsupported), whose\n"
	"encoding it uses, what it was compared with, the metrics and the thresholds in force.\n",
	explain_opts,
	run};
