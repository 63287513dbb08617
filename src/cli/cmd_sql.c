/* mldedup sql: read-only SQL over the store's documented views. */
#include "qout.h"

#include "fields.h"

static const cli_opt sql_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print {format, columns, rows: [row objects]} as JSON"},
	{OPT_NO_HEADER, "no-header", 0, NULL, "omit the header row of the table"},
	{0},
};

static int query(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	static const char views[] = "SELECT name AS view, sql FROM sqlite_schema WHERE type = 'view' AND name GLOB "
				    "'q[0-9]*_*' ORDER BY name";
	json_t *cols, *rows;
	if (mld_query_sql(&cols, &rows, st, n ? args[0] : views))
		return -1;
	*out = json_pack("{s:o,s:o,s:b}", "columns", cols, "rows", rows, "views", !n);
	return 0;
}

static int print(json_t *r, mld_store *st, out_style style, void *ctx)
{
	json_t *rows = json_object_get(r, "rows"), *v;
	size_t i;
	if (style == OUT_JSON) { /* the column order is in "columns": row objects cannot keep duplicates apart */
		json_t *doc = cli_json_doc();
		json_object_set(doc, "columns", json_object_get(r, "columns"));
		json_object_set(doc, "rows", rows);
		cli_json_emit(doc, NULL);
	} else if (json_is_true(json_object_get(r, "views")))
		json_array_foreach(rows, i, v) printf("%s;\n\n", json_string_value(json_object_get(v, "sql")));
	else
		out_rows(rows, json_object_get(r, "columns"), style, 0);
	return EXIT_OK;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	static const out_cmd c = {STORE_READ, 0, 1, NULL, query, print, true, OUT_TSV, "rows"};
	return out_run(cmd, argc, argv, &c, NULL);
}

const cli_cmd cmd_sql = {
	"sql",
	"[QUERY]",
	"Run one read-only SQL query over the store's views; without QUERY, print the views.",
	"The views q1_packages, q1_functions, q1_weights, q1_contents, q1_encodings, q1_decisions,\n"
	"q1_outputs, q1_output_functions and q1_output_weights are the documented interface (run\n"
	"'mldedup sql' for their columns, with comments). q1 is their version: columns may be added, never\n"
	"renamed, removed or redefined; an incompatible change adds q2_ views beside them. The tables\n"
	"below them are internal and may change with any release. Digests are lowercase hex, times unix\n"
	"seconds, sizes bytes. The store is opened read-only: statements that write are refused.\n"
	"Output: tab-separated with a header row (tabs, newlines and backslashes escaped as \\t, \\n, \\\\).\n",
	sql_opts,
	run};
