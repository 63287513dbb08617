/* Option tables that drive both parsing (getopt_long) and --help text. */
#ifndef MLD_OPTS_H
#define MLD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "mldedup.h"

/* Exit codes: data on stdout, diagnostics on stderr. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct mld_opt {
	int id;             /* returned by mld_opts_next; use a char for short options */
	const char *name;   /* long name, without dashes */
	char short_name;    /* 0 if none */
	const char *arg;    /* argument placeholder, NULL for a flag */
	const char *help;
} mld_opt;

typedef struct mld_cmd {
	const char *name;
	const char *args;     /* positional usage, e.g. "PKG..." */
	const char *summary;  /* one line */
	const char *details;  /* paragraphs after the options, or NULL */
	const mld_opt *opts;  /* terminated by {0} */
	int (*run)(const struct mld_cmd *cmd, int argc, char **argv);
} mld_cmd;

/* Options every command takes (appended to each table when parsing). */
enum { OPT_HELP = 0x1000, OPT_STORE, OPT_VERBOSE, OPT_QUIET };

typedef struct mld_optstate {
	const mld_cmd *cmd;
	int argc;
	char **argv;
	const char *arg; /* argument of the last option */
} mld_optstate;

void mld_opts_init(mld_optstate *st, const mld_cmd *cmd, int argc, char **argv);
/* Next option id, -1 at the end, '?' after printing a usage error. */
int mld_opts_next(mld_optstate *st);
/* Index of the first positional argument (after mld_opts_next returned -1). */
int mld_opts_rest(const mld_optstate *st);

void mld_cmd_help(const mld_cmd *cmd, FILE *out);
/* Print "mldedup <cmd>: <msg>" and a hint to --help; returns EXIT_USAGE. */
int mld_usage_error(const mld_cmd *cmd, const char *fmt, ...);
/* Print "mldedup <cmd>: <last library error>"; returns EXIT_FAIL. */
int mld_fail(const mld_cmd *cmd);

/* The man page (roff) of the commands, from their tables. */
void mld_man_page(FILE *out, const mld_cmd *const *cmds, size_t n);
/* The command a mistyped name most likely meant, or NULL. */
const mld_cmd *mld_cmd_suggest(const char *typo, const mld_cmd *const *cmds, size_t n);

/* The options every command takes (--store, -v, -q, --help), terminated by {0}. */
extern const mld_opt common_opts[];

/* Parse "NAME=PKG[:FUNC]" in place (arg is modified); -1 if it has no NAME=. */
int mld_parse_source(mld_source_spec *sp, char *arg);

/* Shared settings of the global options. */
extern int mld_verbose;  /* -v count */
extern bool mld_quiet;   /* -q */
extern const char *mld_store_opt;

#endif
