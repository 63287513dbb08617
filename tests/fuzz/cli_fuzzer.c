/* Fuzz target "cli": the option parsing of every command (src/cli/opts.c over each
 * command's option table, then the NAME=PKG[:FUNC] sources), without running the
 * command. Byte 0 picks the command; the rest is its arguments, separated by NUL.
 * Properties: every option returned is one of the command's own, with its argument
 * when it takes one; the positionals start within argv; parsing the same arguments
 * again gives the same answers (the parser keeps no state from the last run).
 * Arguments that would print the help and exit are left out. */
#define _GNU_SOURCE
#include "fuzz.h"

#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the command table of src/cli/cmdtab.c */

/* Would getopt_long take this as --help or -h (which exit)? */
static bool asks_help(const char *a) { return !strncmp(a, "--h", 3) || (a[0] == '-' && a[1] != '-' && strchr(a, 'h')); }

typedef struct result {
	int ids[64];
	const char *args[64];
	size_t n;
	int rest;
} result;

static void parse(const cli_cmd *cmd, int argc, char **argv, result *r)
{
	cli_optstate st;
	cli_opts_init(&st, cmd, argc, argv);
	r->n = 0;
	int c;
	while ((c = cli_opts_next(&st)) != -1 && c != '?' && r->n < 64) {
		const cli_opt *o = cmd->opts;
		while (o && o->name && o->id != c)
			o++;
		FZ_ASSERT(o && o->name, "%s: option id %d is not in its table", cmd->name, c);
		FZ_ASSERT(!o->arg || st.arg, "%s: --%s takes an argument but got none", cmd->name, o->name);
		r->ids[r->n] = c;
		r->args[r->n++] = o->arg ? st.arg : NULL;
	}
	r->rest = c == -1 ? cli_opts_rest(&st) : -1;
	FZ_ASSERT(r->rest == -1 || (r->rest >= 1 && r->rest <= argc), "%s: positionals start at %d of %d", cmd->name,
	          r->rest, argc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const cli_cmd *cmd = cli_commands[data[0] % cli_n_commands];
	char *argv[66], *copy[66];
	int argc = 0;
	argv[argc++] = (char *)cmd->name;
	for (size_t i = 1; i < size && argc < 64;) {
		size_t n = strnlen((const char *)data + i, size - i);
		char *a = strndup((const char *)data + i, n);
		FZ_ASSERT(a, "out of memory");
		if (asks_help(a))
			free(a);
		else
			argv[argc++] = a;
		i += n + 1;
	}
	argv[argc] = NULL;
	/* the parser permutes argv: keep the originals to free and to parse again */
	char *orig[66];
	memcpy(orig, argv, sizeof argv);
	memcpy(copy, argv, sizeof argv);
	result a, b;
	parse(cmd, argc, argv, &a);
	parse(cmd, argc, copy, &b);
	FZ_ASSERT(a.n == b.n && a.rest == b.rest, "%s: a second parse of the same arguments differs (%zu/%d vs %zu/%d)",
	          cmd->name, a.n, a.rest, b.n, b.rest);
	for (size_t i = 0; i < a.n; i++)
		FZ_ASSERT(a.ids[i] == b.ids[i] && (!a.args[i]) == (!b.args[i]) &&
		                  (!a.args[i] || !strcmp(a.args[i], b.args[i])),
		          "%s: option %zu differs on a second parse", cmd->name, i);
	/* the positionals, as combine and verify read sources */
	for (int i = a.rest > 0 ? a.rest : argc; i < argc; i++) {
		char *s = strdup(argv[i]);
		FZ_ASSERT(s, "out of memory");
		mld_source_spec sp;
		if (cli_parse_source(&sp, s) == 0)
			FZ_ASSERT(sp.name && *sp.name && sp.path && (!sp.function || sp.function > sp.path),
			          "cli_parse_source(\"%s\") gave a bad spec", argv[i]);
		free(s);
	}
	for (int i = 1; i < argc; i++)
		free(orig[i]);
	cli_verbose = 0;
	cli_quiet = false;
	cli_store_opt = NULL;
	return 0;
}
