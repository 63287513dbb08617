/* mldedup cat: a weight's dense values, for checking against other tools. */
#include "opts.h"

#include "mldedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1)
		return EXIT_USAGE;
	int i = cli_opts_rest(&st);
	if (argc - i != 3)
		return cli_usage_error(cmd, "expected PKG FUNCTION NAME, got %d arguments", argc - i);
	if (isatty(STDOUT_FILENO))
		return cli_usage_error(cmd, "refusing to write binary tensor data to a terminal; pipe or redirect it");
	mld_package *pkg;
	const mld_weight *w;
	mld_tensor *t;
	if (mld_package_open(&pkg, argv[i]))
		return cli_fail(cmd);
	if (mld_package_find_weight(&w, pkg, argv[i + 1], argv[i + 2]) || mld_weight_decode(&t, pkg, w)) {
		mld_package_free(pkg);
		return cli_fail(cmd);
	}
	int rc = EXIT_OK;
	if (fwrite(t->data, 1, t->nbytes, stdout) != t->nbytes || fflush(stdout) != 0) {
		if (errno != EPIPE)
			fprintf(stderr, "mldedup cat: cannot write to stdout: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	}
	if (cli_verbose)
		fprintf(stderr, "%s %s: %s, %llu elements, %zu bytes\n", cli_esc(argv[i + 1]), cli_esc(argv[i + 2]),
		        mld_dtype_name(t->dtype), (unsigned long long)t->count, t->nbytes);
	mld_tensor_free(t);
	mld_package_free(pkg);
	return rc;
}

const cli_cmd cmd_cat = {
	"cat",
	"PKG FUNCTION NAME",
	"Write a weight's dense values to stdout: little-endian, row-major, in its output dtype.",
	"Sub-byte types are written one element per byte (int4 sign-extended). Compare with another tool:\n"
	"  mldedup cat model.mlpackage main layers_0_mlp_up_proj_weight | sha256sum\n",
	NULL,
	run};
