/* mldedup show: one content, everywhere it occurs and everything decided about it. */
#include "qout.h"

static const cli_opt show_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print one JSON object"},
	{0},
};

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	return mld_query_show(out, st, args[0]);
}

static int print(json_t *r, mld_store *st, out_style style, void *ctx)
{
	static const char *const parts[][2] = {{"occurrences", "occurrences"},
	                                       {"encodings", "encodings"},
	                                       {"decisions", "decisions (verification against other contents)"},
	                                       {"outputs", "written to combined packages"}};
	char b[32];
	printf("content      %s\ndtype        %s\nshape        %s\nelements     %" JSON_INTEGER_FORMAT
	       "\ndense bytes  %s\n",
	       json_string_value(json_object_get(r, "digest")), json_string_value(json_object_get(r, "dtype")),
	       json_string_value(json_object_get(r, "shape")), json_integer_value(json_object_get(r, "elements")),
	       out_bytes(b, json_integer_value(json_object_get(r, "dense_bytes"))));
	for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
		json_t *rows = json_object_get(r, parts[k][0]);
		printf("\n%s: %zu\n", parts[k][1], json_array_size(rows));
		if (json_array_size(rows))
			out_rows(rows, NULL, OUT_TEXT, 2);
	}
	return EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_READ, 1, 1, NULL, query, print, false, OUT_TEXT, NULL};
	return out_run(cmd, argc, argv, &c, NULL);
}

const cli_cmd cmd_show = {
	"show",
	"DIGEST|PKG:FUNC:NAME",
	"Show one content: dtype, shape, every weight that has it, its encodings, decisions and outputs.",
	"DIGEST is a content digest (as 'mldedup ls' prints it) or an encoding digest, or a unique prefix\n"
	"of either with at least 8 hex digits. PKG:FUNC:NAME names a weight of an indexed package (PKG as\n"
	"'mldedup functions' takes it) and shows its content.\n",
	show_opts,
	run};
