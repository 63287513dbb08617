/* mldedup packages, mldedup functions: what is indexed, when, from where, and
 * whether the files on disk still match. */
#include "qout.h"

static const cli_opt list_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print a JSON array of row objects"},
	{OPT_NO_HEADER, "no-header", 0, NULL, "omit the header row of the table"},
	{0},
};

extern const cli_cmd cmd_functions;

static int print(json_t *rows, mld_store *st, out_style style, void *ctx)
{
	out_rows(rows, NULL, style, 0);
	return EXIT_OK;
}

static int packages(json_t **out, mld_store *st, char **args, int n, void *ctx) { return mld_query_packages(out, st); }

static int functions(json_t **out, mld_store *st, char **args, int n, void *ctx)
{
	return mld_query_functions(out, st, n ? args[0] : NULL);
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	bool fns = cmd == &cmd_functions;
	out_cmd c = {STORE_READ, 0, fns, NULL, fns ? functions : packages, print, true, OUT_TSV, NULL};
	return out_run(cmd, argc, argv, &c, NULL);
}

const cli_cmd cmd_packages = {
	"packages",
	"",
	"List the indexed packages: where from, when, their counts, and whether they still match the disk.",
	"Columns: id, path, kind (dir or zip), spec_version, functions, weights, weight_bytes (stored bytes of\n"
	"every weight), weight_file_bytes, indexed (UTC), status: ok; stale (a file changed since it was\n"
	"indexed: 'mldedup index' it again); missing (gone: 'mldedup gc --missing' forgets it); unreadable.\n",
	list_opts,
	run};

const cli_cmd cmd_functions = {
	"functions",
	"[PKG]",
	"List the functions of an indexed package (default: of every package) with their counts.",
	"PKG is a package id (see 'mldedup packages'), its path, or a unique ending of its path\n"
	"(\"toy_FFN_chunk_01of02.mlpackage\", \"ctx512/toy_FFN_lut6_chunk_01of01.mlpackage\").\n"
	"Columns: package, function, weights, weight_bytes, contents (distinct), unsupported.\n",
	list_opts,
	run};
