/* mldedup verify: structural and numeric check of a combined package. */
#include "fields.h"
#include "opts.h"

#include "mldedup.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_STRICT = 1, OPT_JSON };

static const cli_opt verify_opts[] = {
	{OPT_STRICT, "strict", 0, NULL, "near-copies must also satisfy max |d| <= 0.01"},
	{OPT_JSON, "json", 0, NULL, "print the counts as one JSON object on stdout"},
	{0},
};

/* --json comes from this table. */
static const cli_field verify_fields[] = {
	CLI_FIELD(mld_verify_stats, functions, "functions", CLI_COUNT, 0),
	CLI_FIELD(mld_verify_stats, weights, "weights checked", CLI_COUNT, 0),
	CLI_FIELD(mld_verify_stats, exact, "bit-identical to the source", CLI_COUNT, 0),
	CLI_FIELD(mld_verify_stats, close, "within the thresholds", CLI_COUNT, 0),
	CLI_FIELD(mld_verify_stats, failures, "failures", CLI_COUNT, 0),
	{0},
};

static void on_problem(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "FAIL %s\n", cli_esc(msg));
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	int strict = 0, c;
	bool json = false;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		if (c == OPT_STRICT)
			strict = 1;
		else if (c == OPT_JSON)
			json = true;
		else
			return EXIT_USAGE;
	}
	int first = cli_opts_rest(&st);
	if (first >= argc)
		return cli_usage_error(cmd, "no package given");
	int n = argc - first - 1;
	mld_source_spec *specs = calloc((size_t)(n > 0 ? n : 1), sizeof *specs);
	if (!specs)
		return EXIT_FAIL;
	for (int i = 0; i < n; i++)
		if (cli_parse_source(&specs[i], argv[first + 1 + i])) {
			free(specs);
			return cli_usage_error(cmd, "source \"%s\" is not NAME=PKG[:FUNC]", argv[first + 1 + i]);
		}
	mld_verify_stats s;
	mld_verify_opts vo = MLD_VERIFY_OPTS_INIT;
	vo.strict = strict;
	vo.problem = on_problem;
	int rc = mld_verify(&s, argv[first], specs, (size_t)n, &vo);
	free(specs);
	if (rc)
		return cli_fail(cmd);
	if (json) {
		json_t *doc = cli_json_doc();
		json_object_set_new(doc, "package", json_string(argv[first]));
		json_object_set_new(doc, "ok", json_boolean(!s.failures));
		cli_fields_json(doc, verify_fields, &s);
		cli_json_emit(doc, NULL);
	}
	if (!cli_quiet)
		fprintf(stderr,
		        "%s: %s: %u functions, %llu weights checked (%llu exact, %llu within thresholds), %llu "
		        "failures\n",
		        cli_esc(argv[first]), s.failures ? "FAILED" : "ok", s.functions, (unsigned long long)s.weights,
		        (unsigned long long)s.exact, (unsigned long long)s.close, (unsigned long long)s.failures);
	return s.failures ? EXIT_FAIL : EXIT_OK;
}

const cli_cmd cmd_verify = {
	"verify",
	"OUT.mlpackage [NAME=PKG[:FUNC] ...]",
	"Check a combined package: structure, and every weight against its source's dense values.",
	"Without sources, checks the manifest, the functions and descriptions, that every blob offset is a\n"
	"valid blob of the canonically packed weight file, and that every weight decodes. With sources, every\n"
	"weight of function NAME must equal the source's exactly or lie within the thresholds; a source\n"
	"function that does not exist, a weight on one side only, or nothing compared at all is a failure.\n",
	verify_opts,
	run};
