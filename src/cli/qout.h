/* Shared by the query commands (stats, packages, functions, show, dupes, explain,
 * gc, fsck, sql): opening the store and printing results. A result is a jansson
 * value from the library; one value drives the table, the text and --json. */
#ifndef MLD_QOUT_H
#define MLD_QOUT_H

#include "opts.h"

#include "mldedup_query.h"

#include <jansson.h>

typedef enum { OUT_TSV, OUT_TSV_NO_HEADER, OUT_TEXT, OUT_JSON } out_style;

/* How a command opens the store --store names; never creating one. */
typedef enum { STORE_READ, STORE_AS_IS, STORE_WRITE } store_mode;
/* STORE_READ: read-only, migrated first if older; STORE_AS_IS: read-only, not migrated. */
int out_open_store(const cli_cmd *cmd, mld_store **st, store_mode mode);
/* Options out_run handles, when in a command's table; the command's own follow. */
enum { OPT_JSON = 1, OPT_NO_HEADER, OPT_OWN };

/* A query command: options, positionals, one library call on the store, output. */
typedef struct out_cmd {
	store_mode mode;
	int min_args, max_args;
	/* An option of the command's own: 0, or an exit status. */
	int (*option)(const cli_cmd *cmd, int id, const char *arg, void *ctx);
	int (*query)(json_t **out, mld_store *st, char **args, int n_args, void *ctx);
	/* Prints the result (for --json too when print_json); returns the exit status. */
	int (*print)(json_t *result, mld_store *st, out_style style, void *ctx);
	bool print_json;
	out_style style;      /* without --json */
	const char *json_key; /* a result array goes under this key of the --json document (NULL: the command's name) */
} out_cmd;
/* Parse, open the store, query, print: a whole query command. */
int out_run(const cli_cmd *cmd, int argc, char **argv, const out_cmd *c, void *ctx);

/* The library's last error: a usage error (exit 2) or a failure (exit 1). */
int out_fail(const cli_cmd *cmd);
/* Rows (objects) under `columns` (NULL: the first row's keys): TSV with a header,
 * aligned text indented by `indent` (sizes in units), or the JSON array. */
void out_rows(json_t *rows, json_t *columns, out_style style, int indent);
/* Statistics [{id, label, value, unit}]: "label  value" lines, or a JSON object keyed
 * by id (with `rows`: the rows themselves, under "stats"). */
void out_stats(json_t *stats, out_style style, bool rows);
/* The --json document of a result: {"format": N, ...}; an array goes under the command's key. */
void out_json(json_t *v);
/* "1.23 MB": 1000-based units. */
const char *out_bytes(char buf[32], json_int_t b);
/* Flush stdout: `rc`, or EXIT_FAIL when the output could not be written. */
int out_done(const cli_cmd *cmd, int rc);

#endif
