/* mldedup: git-style verbs over libmldedup. */
#include "opts.h"

#include "mldedup.h"
/* internal, for --version only: which SIMD builds the dispatchers chose (core/cpu.h) */
#include "core/cpu.h"
#include "core/hash.h"
#include "tensor/lutkern.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: mldedup <command> [options] [args]\n\n"
	             "Make CoreML multifunction packages as small as they can be.\n\ncommands:\n");
	for (size_t i = 0; i < cli_n_commands; i++)
		fprintf(out, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
	fprintf(out, "\n'mldedup <command> --help' describes a command. 'mldedup --version' prints the version.\n");
}

/* mldedup -V | --version | version: what a bug report needs. The first line alone is the
 * version, for scripts. */
static int version(void)
{
	const char *cap = getenv("MLD_CPU");
	printf("mldedup %s\n", MLD_VERSION);
	printf("library: libmldedup %s\n", mld_version(NULL, NULL, NULL));
	printf("SIMD: palette decode %s, XXH3 %s (MLD_CPU=%s)\n", mld__lutkern_get()->name, mld__hash_active()->name,
	       cap && *cap ? cap : "unset: the best this CPU runs");
	return EXIT_OK;
}

/* An unknown verb (also after "help"): say so, and suggest the nearest one. */
static int not_a_command(const char *name)
{
	const cli_cmd *meant = cli_cmd_suggest(name, cli_commands, cli_n_commands);
	fprintf(stderr, "mldedup: '%s' is not a command\n", cli_esc(name));
	if (meant)
		fprintf(stderr, "did you mean 'mldedup %s'?\n", meant->name);
	else {
		fputc('\n', stderr);
		usage(stderr);
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	mld_cleanup_on_signals(); /* Ctrl-C during a write leaves no temp behind */
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && !strcmp(argv[1], "help")) {
			for (size_t i = 0; i < cli_n_commands; i++)
				if (!strcmp(argv[2], cli_commands[i]->name)) {
					cli_cmd_help(cli_commands[i], stdout);
					return EXIT_OK;
				}
			return not_a_command(argv[2]);
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version"))
		return version();
	if (!strcmp(argv[1], "--man")) { /* hidden: docs/mldedup.1 */
		cli_man_page(stdout, cli_commands, cli_n_commands);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--completion")) { /* hidden: completions/ (bash, zsh) */
		if (argc != 3 || cli_completion(stdout, argv[2], cli_commands, cli_n_commands)) {
			fprintf(stderr, "usage: mldedup --completion bash|zsh\n");
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	for (size_t i = 0; i < cli_n_commands; i++)
		if (!strcmp(argv[1], cli_commands[i]->name))
			return cli_commands[i]->run(cli_commands[i], argc - 1, argv + 1);
	return not_a_command(argv[1]);
}
