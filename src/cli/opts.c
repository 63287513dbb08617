#include "opts.h"

#include "mldedup.h"

#include <getopt.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_verbose;
bool cli_quiet;
const char *cli_store_opt;

const cli_opt common_opts[] = {
	{OPT_STORE, "store", 0, "PATH",
         "SQLite store (default: $MLDEDUP_STORE, else the nearest mldedup.conf's, else "
         "$XDG_CACHE_HOME/mldedup/store.db; see 'mldedup config')"},
	{OPT_VERBOSE, "verbose", 'v', NULL, "say more (repeat for more)"},
	{OPT_QUIET, "quiet", 'q', NULL, "no progress or summary, only errors"},
	{OPT_HELP, "help", 'h', NULL, "show this help"},
	{0},
};

static struct option longopts[64];
static char shortopts[128];
static const cli_opt *table[64];

void cli_opts_init(cli_optstate *st, const cli_cmd *cmd, int argc, char **argv)
{
	size_t n = 0, s = 0;
	/* GNU permutation: options may follow the positionals (mldedup ls PKG --json) */
	shortopts[s++] = ':';
	const cli_opt *lists[2] = {cmd->opts, common_opts};
	for (int l = 0; l < 2; l++)
		for (const cli_opt *o = lists[l]; o && o->name && n < 63; o++) {
			table[n] = o;
			longopts[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
			                              0x2000 + (int)n};
			n++;
			if (o->short_name && s < sizeof shortopts - 3) {
				shortopts[s++] = o->short_name;
				if (o->arg)
					shortopts[s++] = ':';
			}
		}
	longopts[n] = (struct option){0};
	shortopts[s] = 0;
	table[n] = NULL;
	st->cmd = cmd;
	st->argc = argc;
	st->argv = argv;
	optind = 0; /* a full reset (glibc, musl, the BSDs): 1 keeps the place inside the last -abc cluster */
	opterr = 0;
}

int cli_opts_next(cli_optstate *st)
{
	for (;;) {
		int c = getopt_long(st->argc, st->argv, shortopts, longopts, NULL);
		if (c == -1)
			return -1;
		st->arg = optarg;
		const cli_opt *o = NULL;
		if (c >= 0x2000 && c < 0x2000 + 64)
			o = table[c - 0x2000];
		else if (c != '?' && c != ':')
			for (int i = 0; table[i]; i++)
				if (table[i]->short_name == c)
					o = table[i];
		if (!o) {
			const char *bad = st->argv[optind - 1];
			if (c == ':')
				cli_usage_error(st->cmd, "option %s needs an argument", bad);
			else if (optopt)
				cli_usage_error(st->cmd, "unknown option -%c", optopt);
			else
				cli_usage_error(st->cmd, "unknown option %s", bad);
			return '?';
		}
		switch (o->id) {
		case OPT_HELP: cli_cmd_help(st->cmd, stdout); exit(EXIT_OK);
		case OPT_STORE: cli_store_opt = optarg; continue;
		case OPT_VERBOSE: cli_verbose++; continue;
		case OPT_QUIET: cli_quiet = true; continue;
		default: return o->id;
		}
	}
}

int cli_opts_rest(const cli_optstate *st) { return optind; }

static void print_opts(const cli_opt *o, FILE *out)
{
	for (; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : "",
		         o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
		fprintf(out, "  %-28s %s\n", o->short_name ? left : left + 1, o->help);
	}
}

void cli_cmd_help(const cli_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: mldedup %s [options] %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
	if (cmd->opts && cmd->opts->name) {
		fprintf(out, "\noptions:\n");
		print_opts(cmd->opts, out);
	}
	fprintf(out, "\ncommon options:\n");
	print_opts(common_opts, out);
	if (cmd->details)
		fprintf(out, "\n%s", cmd->details);
	fprintf(out, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

const char *cli_esc(const char *s)
{
	static char *ring[8];
	static unsigned next;
	char **slot = &ring[next++ % 8];
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += ((unsigned char)*p < 0x20 || *p == 0x7f) ? 4 : 1;
	char *out = realloc(*slot, n);
	if (!out)
		return "(out of memory)";
	*slot = out;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != 0x7f)
			*out++ = (char)c;
		else if (c == '\n' || c == '\r' || c == '\t' || c == 0x1b)
			out += sprintf(out, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 'e');
		else
			out += sprintf(out, "\\x%02x", c);
	}
	*out = 0;
	return *slot;
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "mldedup %s: %s\n(see 'mldedup %s --help')\n", cmd->name, cli_esc(msg), cmd->name);
	return EXIT_USAGE;
}

int cli_fail(const cli_cmd *cmd)
{
	fprintf(stderr, "mldedup %s: %s\n", cmd->name, mld_error_last()[0] ? cli_esc(mld_error_last()) : "failed");
	return EXIT_FAIL;
}

int cli_parse_source(mld_source_spec *sp, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return -1;
	*eq = 0;
	sp->name = arg;
	sp->path = eq + 1;
	sp->function = NULL;
	struct stat st;
	char *colon = strrchr(sp->path, ':');
	if (colon && stat(sp->path, &st) != 0) { /* a path that exists as given keeps its ':' */
		*colon = 0;
		sp->function = colon + 1;
	}
	return 0;
}

void cli_split_function(char *arg, const char **path, const char **function)
{
	struct stat st;
	char *colon = strrchr(arg, ':');
	*path = arg;
	*function = NULL;
	if (colon && stat(arg, &st) != 0) {
		*colon = 0;
		*function = colon + 1;
	}
}
