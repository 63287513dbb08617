/* Option tables that drive both parsing (getopt_long) and --help text. */
#ifndef MLD_OPTS_H
#define MLD_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "mldedup.h"

/* Exit codes: data on stdout, diagnostics on stderr. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct cli_opt {
	int id;           /* returned by cli_opts_next; use a char for short options */
	const char *name; /* long name, without dashes */
	char short_name;  /* 0 if none */
	const char *arg;  /* argument placeholder, NULL for a flag */
	const char *help;
} cli_opt;

typedef struct cli_cmd {
	const char *name;
	const char *args;    /* positional usage, e.g. "PKG..." */
	const char *summary; /* one line */
	const char *details; /* paragraphs after the options, or NULL */
	const cli_opt *opts; /* terminated by {0} */
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
} cli_cmd;

/* Options every command takes (appended to each table when parsing). */
enum { OPT_HELP = 0x1000, OPT_STORE, OPT_VERBOSE, OPT_QUIET };

typedef struct cli_optstate {
	const cli_cmd *cmd;
	int argc;
	char **argv;
	const char *arg; /* argument of the last option */
} cli_optstate;

void cli_opts_init(cli_optstate *st, const cli_cmd *cmd, int argc, char **argv);
/* Next option id, -1 at the end, '?' after printing a usage error. */
int cli_opts_next(cli_optstate *st);
/* Index of the first positional argument (after cli_opts_next returned -1). */
int cli_opts_rest(const cli_optstate *st);

void cli_cmd_help(const cli_cmd *cmd, FILE *out);
/* Print "mldedup <cmd>: <msg>" and a hint to --help; returns EXIT_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...);
/* Print "mldedup <cmd>: <last library error>"; returns EXIT_FAIL. */
int cli_fail(const cli_cmd *cmd);

/* `s` fit for a terminal: control characters (ESC, newline, ...) written as \e, \n, \r,
 * \t or \xHH, so a name or path echoed in a message cannot move the cursor, recolour
 * or split the line. Every message that echoes user input (names, paths, library
 * messages) passes it through here. The result lives until the 8th call after. */
const char *cli_esc(const char *s);

/* The man page (roff) of the commands, from their tables. */
void cli_man_page(FILE *out, const cli_cmd *const *cmds, size_t n);
/* The shell completion script ("bash" or "zsh") of the commands, from their tables;
 * -1 for another shell. */
int cli_completion(FILE *out, const char *shell, const cli_cmd *const *cmds, size_t n);
/* The command table (cmdtab.c), in the order `mldedup --help` lists it. */
extern const cli_cmd *const cli_commands[];
extern const size_t cli_n_commands;
/* The command a mistyped name most likely meant, or NULL. */
const cli_cmd *cli_cmd_suggest(const char *typo, const cli_cmd *const *cmds, size_t n);

/* The options every command takes (--store, -v, -q, --help), terminated by {0}. */
extern const cli_opt common_opts[];

/* Parse "NAME=PKG[:FUNC]" in place (arg is modified); -1 if it has no NAME=. */
int cli_parse_source(mld_source_spec *sp, char *arg);

/* The summary of one combine (stderr), as `mldedup combine` prints it. */
void cli_combine_summary(const char *out, const mld_combine_stats *s, bool dry);
/* A combine's statistics as a new JSON object (jansson's json_t, declared opaque here). */
struct json_t;
struct json_t *cli_combine_stats_json(const char *out, const mld_combine_stats *s, bool dry);
/* "PKG[:FUNC]" in place into path and function (a path that exists keeps its ':'). */
void cli_split_function(char *arg, const char **path, const char **function);

/* Shared settings of the global options. */
extern int cli_verbose; /* -v count */
extern bool cli_quiet;  /* -q */
extern const char *cli_store_opt;

#endif
