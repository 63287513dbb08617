/* mldedup index: record packages' weights in the content-addressed store. */
#include "buildfile.h"
#include "fields.h"
#include "opts.h"
#include "config.h"

#include "mldedup.h"

#include "core/fsutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_JSON = 1, OPT_STAMP, OPT_DEPFILE, OPT_DEPFILE_TARGET };

static const cli_opt index_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print the statistics as one JSON object on stdout"},
	{OPT_STAMP, "stamp", 0, "FILE", "write the package's weights and digests to FILE, only if they changed"},
	{OPT_DEPFILE, "depfile", 0, "FILE", "with --stamp: write the files read as a Make/Ninja depfile"},
	{OPT_DEPFILE_TARGET, "depfile-target", 0, "NAME", "the target the depfile names (default: the stamp)"},
	{0},
};

/* The statistics of a run: --json and -v both come from this table. */
static const cli_field index_fields[] = {
	CLI_FIELD(mld_index_stats, packages_indexed, "packages indexed (read)", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, packages_unchanged, "packages unchanged (not read)", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, weights, "weights recorded", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, weights_decoded, "weights dequantized and hashed", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, bytes_read, "weight bytes read", CLI_BYTES, 0),
	CLI_FIELD(mld_index_stats, new_contents, "contents new to the store", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, new_encodings, "encodings new to the store", CLI_COUNT, 0),
	CLI_FIELD(mld_index_stats, unsupported, "weights in a form mldedup cannot decode", CLI_COUNT, 0),
	{0},
};

typedef struct progress {
	bool tty;
	double last;
} progress;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	progress *p = ctx;
	double t = now();
	if (!p->tty || (t - p->last < 0.1 && done < total))
		return;
	p->last = t;
	fprintf(stderr, "\r\033[Kindexing %s: %3.0f%% of %.1f MB", cli_esc(what),
	        total ? 100.0 * (double)done / (double)total : 100.0, (double)total / 1e6);
	if (done >= total)
		fprintf(stderr, "\r\033[K");
}

/* The build step's outputs: the depfile first, then the stamp, which keeps its mtime
 * when its content is unchanged (Ninja's restat prunes everything downstream). */
static int write_stamp(mld_store *store, const char *pkg, const char *stamp, const char *depfile, const char *target)
{
	char *text, *files = NULL;
	if (mld_package_stamp(&text, depfile ? &files : NULL, pkg, store))
		return -1;
	int rc = depfile ? bf_write_depfile(depfile, target ? target : stamp, files) : 0;
	if (!rc && mld_write_if_changed(stamp, text, strlen(text)) < 0)
		rc = -1;
	free(files);
	free(text);
	return rc;
}

/* The stamp or depfile must not be, hold or lie inside the package it describes (after
 * resolving symlinks): writing it would destroy the input. Checked before anything is read. */
static bool overlaps_package(const cli_cmd *cmd, const char *file, const char *what, const char *pkg)
{
	char *out = mld__path_canonical(file), *src = realpath(pkg, NULL);
	const char *how = !out || !src                 ? NULL
	                  : !strcmp(out, src)          ? "is"
	                  : mld__path_within(out, src) ? "lies inside"
	                  : mld__path_within(src, out) ? "holds"
	                                               : NULL;
	if (how)
		cli_usage_error(cmd, "%s: the %s %s the package %s; it would overwrite it (choose another path)",
		                cli_esc(file), what, how, cli_esc(pkg));
	free(out);
	free(src);
	return how != NULL;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	bool json = false;
	const char *stamp = NULL, *depfile = NULL, *target = NULL;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		if (c == OPT_JSON)
			json = true;
		else if (c == OPT_STAMP)
			stamp = st.arg;
		else if (c == OPT_DEPFILE)
			depfile = st.arg;
		else if (c == OPT_DEPFILE_TARGET)
			target = st.arg;
		else
			return EXIT_USAGE;
	}
	int first = cli_opts_rest(&st);
	if (first >= argc)
		return cli_usage_error(cmd, "no packages given");
	if ((depfile || target) && !stamp)
		return cli_usage_error(cmd, "--depfile and --depfile-target go with --stamp");
	if (stamp && argc - first != 1)
		return cli_usage_error(cmd, "--stamp takes exactly one package");
	if ((stamp && overlaps_package(cmd, stamp, "stamp", argv[first])) ||
	    (depfile && overlaps_package(cmd, depfile, "depfile", argv[first])))
		return EXIT_USAGE;
	char *path;
	mld_store *store;
	if (cli_store_path(cmd, &path))
		return EXIT_FAIL;
	if (mld_store_open(&store, path)) {
		/* As a build step a store problem must not break the build: the stamp can be
		 * computed from the package itself, to the same text. */
		if (!stamp) {
			free(path);
			return cli_fail(cmd);
		}
		fprintf(stderr, "mldedup index: warning: %s; writing the stamp without the store\n",
		        cli_esc(mld_error_last()));
		int rc = write_stamp(NULL, argv[first], stamp, depfile, target) ? cli_fail(cmd) : EXIT_OK;
		free(path);
		return rc;
	}
	/* Silent on success under a build tool; progress only on an interactive terminal. */
	progress prog = {isatty(STDERR_FILENO) && !cli_quiet && !getenv("NINJA_STATUS") && !getenv("MAKELEVEL"), 0};
	mld_index_stats total = {0};
	int rc = EXIT_OK;
	double t0 = now();
	for (int i = first; i < argc; i++) {
		mld_index_stats s = {0};
		if (mld_store_index(store, argv[i], &s, on_progress, &prog)) {
			if (prog.tty)
				fprintf(stderr, "\r\033[K");
			if (stamp && mld_error_code() == MLD_ESTORE) { /* as above: the build goes on */
				fprintf(stderr, "mldedup index: warning: %s; writing the stamp without the store\n",
				        cli_esc(mld_error_last()));
				if (write_stamp(NULL, argv[i], stamp, depfile, target))
					rc = cli_fail(cmd);
				continue;
			}
			cli_fail(cmd);
			rc = EXIT_FAIL;
			continue;
		}
		if (stamp && write_stamp(store, argv[i], stamp, depfile, target)) {
			cli_fail(cmd);
			rc = EXIT_FAIL;
			continue;
		}
		if (cli_verbose)
			fprintf(stderr, "%s: %s (%llu weights, %llu decoded, %llu bytes read)\n", cli_esc(argv[i]),
			        s.packages_unchanged ? "unchanged, not read" : "indexed", (unsigned long long)s.weights,
			        (unsigned long long)s.weights_decoded, (unsigned long long)s.bytes_read);
		if (s.unsupported)
			fprintf(stderr,
			        "mldedup index: %s: %llu weight(s) in a form mldedup cannot decode (see 'mldedup "
			        "ls')\n",
			        cli_esc(argv[i]), (unsigned long long)s.unsupported);
		total.packages_indexed += s.packages_indexed;
		total.packages_unchanged += s.packages_unchanged;
		total.weights += s.weights;
		total.weights_decoded += s.weights_decoded;
		total.bytes_read += s.bytes_read;
		total.new_contents += s.new_contents;
		total.new_encodings += s.new_encodings;
		total.unsupported += s.unsupported;
	}
	double secs = now() - t0;
	if (json) {
		json_t *doc = cli_json_doc();
		json_object_set_new(doc, "store", json_string(path));
		cli_fields_json(doc, index_fields, &total);
		json_object_set_new(doc, "seconds", json_real(secs));
		cli_json_emit(doc, NULL);
	} else if (cli_verbose) {
		cli_fields_print(stderr, index_fields, &total, cli_verbose, "");
		fprintf(stderr, "in %.2f s\n", secs);
	}
	mld_store_free(store);
	free(path);
	return rc;
}

const cli_cmd cmd_index = {
	"index",
	"PKG...",
	"Record every weight of each package (content and encoding digests) in the store.",
	"A package whose files have the same size, mtime and inode as when it was last indexed is not read\n"
	"again (-v says so). Hashing and reading happen outside the store's transactions, so many index\n"
	"processes can share one store.\n"
	"As a build step: 'index --stamp OUT --depfile OUT.d PKG' (one package) writes OUT, the package's\n"
	"model and weight digests and each weight's digests, only when they changed, so a re-exported\n"
	"package with the same content rebuilds nothing downstream (Ninja: restat = 1), and OUT.d, the\n"
	"files read, for Ninja's depfile or Make's include (a package is a directory, which neither watches).\n",
	index_opts,
	run};
