#define _GNU_SOURCE /* asprintf */
#include "buildgen.h"
#include "config.h"

#include "core/platform.h" /* the CLI shares the library's platform layer */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_OUTPUT = 'o', OPT_ANEMLL = 1, OPT_REGENERATE };

const cli_opt bg_opts[] = {
	{OPT_OUTPUT, "output", 'o', "FILE", "the build file to write (required)"},
	{OPT_ANEMLL, "anemll", 0, "DIR", "the export directory, ANEMLL-named (the only layout; same as giving DIR)"},
	{OPT_REGENERATE, "regenerate", 0, NULL,
         "fail if a package the existing FILE builds from is gone (the file's own rule)"},
	{0},
};

#define PKG_LINE "# package: "

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const bg_pkg *)a)->path, ((const bg_pkg *)b)->path);
}
static int cmp_job(const void *a, const void *b)
{
	return strcmp(((const bg_job *)a)->stem, ((const bg_job *)b)->stem);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bg_pkg *find_pkg(const bg_plan *p, const char *path)
{
	bg_pkg key = {path, NULL};
	return bsearch(&key, p->pkgs, p->n_pkgs, sizeof key, cmp_pkg);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash == path ? strdup("/") : slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

/* Jobs with two or more sources, their packages, and the directories holding them. */
static int plan_build(bg_plan *p, const char *cmd)
{
	size_t cap = 0, n_dirs = 1;
	p->jobs = calloc(p->n_all ? p->n_all : 1, sizeof *p->jobs);
	for (size_t j = 0; j < p->n_all; j++)
		cap += p->all[j].n_sources;
	p->pkgs = calloc(cap ? cap : 1, sizeof *p->pkgs);
	p->dirs = calloc(cap + 1, sizeof *p->dirs);
	if (!p->jobs || !p->pkgs || !p->dirs || !(p->dirs[0] = strdup(p->dir)))
		return -1;
	size_t dlen = strlen(p->dir);
	for (size_t j = 0; j < p->n_all; j++) {
		const mld_anemll_job *a = &p->all[j];
		if (a->n_sources < 2) {
			if (!cli_quiet)
				fprintf(stderr, "mldedup %s: %s: only one source found, skipped\n", cmd,
				        cli_esc(a->output));
			continue;
		}
		const char *base = strrchr(a->output, '/');
		bg_job *bj = &p->jobs[p->n_jobs++];
		bj->job = a;
		if (!(bj->stem = strndup(base + 1, strlen(base + 1) - strlen(".mlpackage"))) ||
		    !(bj->pkgs = calloc(a->n_sources, sizeof *bj->pkgs)))
			return -1;
		for (size_t s = 0; s < a->n_sources; s++) {
			const char *path = a->sources[s].path;
			bool seen = false;
			for (size_t k = 0; k < p->n_pkgs && !seen; k++)
				seen = !strcmp(p->pkgs[k].path, path);
			if (seen)
				continue;
			bg_pkg *pk = &p->pkgs[p->n_pkgs++];
			pk->path = path; /* under DIR: mld_anemll_plan joined it */
			if (!(pk->name = strndup(path + dlen + 1, strlen(path) - dlen - 1 - strlen(".mlpackage"))) ||
			    !(p->dirs[n_dirs] = dir_of(path)))
				return -1;
			n_dirs++;
		}
	}
	qsort(p->pkgs, p->n_pkgs, sizeof *p->pkgs, cmp_pkg);
	qsort(p->jobs, p->n_jobs, sizeof *p->jobs, cmp_job);
	qsort(p->dirs, n_dirs, sizeof *p->dirs, cmp_str);
	for (size_t i = 0; i < n_dirs; i++) /* unique */
		if (p->n_dirs && !strcmp(p->dirs[p->n_dirs - 1], p->dirs[i]))
			free(p->dirs[i]);
		else
			p->dirs[p->n_dirs++] = p->dirs[i];
	for (size_t j = 0; j < p->n_jobs; j++) {
		bg_job *bj = &p->jobs[j];
		for (size_t s = 0; s < bj->job->n_sources; s++) {
			size_t k = (size_t)(find_pkg(p, bj->job->sources[s].path) - p->pkgs);
			bool seen = false;
			for (size_t i = 0; i < bj->n_pkgs; i++)
				seen |= bj->pkgs[i] == k;
			if (!seen)
				bj->pkgs[bj->n_pkgs++] = k;
		}
	}
	return 0;
}

static void plan_free(bg_plan *p)
{
	for (size_t i = 0; i < p->n_pkgs; i++)
		free(p->pkgs[i].name);
	for (size_t j = 0; p->jobs && j < p->n_all; j++) {
		free(p->jobs[j].stem);
		free(p->jobs[j].pkgs);
	}
	for (size_t i = 0; i < p->n_dirs; i++)
		free(p->dirs[i]);
	free(p->pkgs);
	free(p->jobs);
	free(p->dirs);
	mld_anemll_jobs_free(p->all, p->n_all);
	free(p->dir);
	free(p->self);
	free(p->store);
}

/* A package the old file lists that DIR no longer holds fails the build, naming it:
 * a combine quietly losing a function would be worse. */
static bool check_vanished(const cli_cmd *cmd, const bg_plan *p)
{
	FILE *f = fopen(p->out, "r");
	if (!f)
		return false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool gone = false;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, PKG_LINE, strlen(PKG_LINE)))
			continue;
		line[n - 1] = line[n - 1] == '\n' ? 0 : line[n - 1];
		const char *path = line + strlen(PKG_LINE);
		if (!find_pkg(p, path) && access(path, F_OK) != 0) {
			fprintf(stderr,
			        "mldedup %s: %s: package is gone (%s builds from it); restore it, or delete %s and "
			        "run 'mldedup %s' again to build without it\n",
			        cmd->name, cli_esc(path), cli_esc(p->out), cli_esc(p->out), cmd->name);
			gone = true;
		}
	}
	free(line);
	fclose(f);
	return gone;
}

/* Make rules cannot name every path; say which instead of writing a broken file. */
static bool check_make_paths(const cli_cmd *cmd, const bg_plan *p)
{
	const char *bad = !bf_make_plain(p->out) ? p->out : NULL;
	for (size_t i = 0; i < p->n_pkgs && !bad; i++)
		bad = bf_make_plain(p->pkgs[i].path) ? NULL : p->pkgs[i].path;
	if (bad)
		fprintf(stderr,
		        "mldedup %s: %s: GNU Make cannot name this path as it is (letters, digits and ._/+=@~- "
		        "only); use 'mldedup ninja'\n",
		        cmd->name, cli_esc(bad));
	return bad != NULL;
}

/* Ninja has no escape for a newline or '|' on a build line: refuse what it cannot name
 * rather than write a build file that does not parse. '$', ':' and ' ' are escaped. */
static bool check_ninja_paths(const cli_cmd *cmd, const bg_plan *p)
{
	const char *bad = NULL, *why = NULL;
	const char *fixed[] = {p->out, p->dir, p->self, p->store};
	for (size_t i = 0; i < 4 && !why; i++)
		if (fixed[i] && (why = bf_ninja_unnameable(fixed[i])))
			bad = fixed[i];
	for (size_t i = 0; i < p->n_pkgs && !why; i++)
		if ((why = bf_ninja_unnameable(p->pkgs[i].path)))
			bad = p->pkgs[i].path;
	for (size_t i = 0; i < p->n_dirs && !why; i++)
		if ((why = bf_ninja_unnameable(p->dirs[i])))
			bad = p->dirs[i];
	if (why)
		fprintf(stderr,
		        "mldedup %s: %s: Ninja cannot name a path holding %s (a build line has no escape for "
		        "it); rename it\n",
		        cmd->name, cli_esc(bad), why);
	/* nor can the depfiles of the index edges name every package path */
	for (size_t i = 0; i < p->n_pkgs && !why; i++)
		if ((why = bf_depfile_unsafe(p->pkgs[i].path, false)))
			fprintf(stderr, "mldedup %s: %s: a depfile cannot name this path: %s; rename it\n", cmd->name,
			        cli_esc(p->pkgs[i].path), why);
	return why != NULL;
}

void bg_sources(FILE *f, const bg_job *j)
{
	for (size_t s = 0; s < j->job->n_sources; s++) {
		const mld_source_spec *sp = &j->job->sources[s];
		char *word = NULL;
		if (asprintf(&word, "%s=%s%s%s", sp->name, sp->path, sp->function ? ":" : "",
		             sp->function ? sp->function : "") < 0)
			continue;
		fputc(' ', f);
		bf_shell_word(f, word);
		free(word);
	}
}

int bg_run(const cli_cmd *cmd, int argc, char **argv, bool make, void (*emit)(FILE *f, const bg_plan *p))
{
	cli_optstate st;
	bg_plan p = {0};
	const char *dir = NULL;
	bool regenerate = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) { /* options and DIR in any order */
		if (c == OPT_OUTPUT)
			p.out = st.arg;
		else if (c == OPT_ANEMLL && !dir)
			dir = st.arg;
		else if (c == OPT_REGENERATE)
			regenerate = true;
		else
			return c == OPT_ANEMLL ? cli_usage_error(cmd, "one export directory only") : EXIT_USAGE;
	}
	for (int i = cli_opts_rest(&st); i < argc; i++) {
		if (dir)
			return cli_usage_error(cmd, "one export directory only (got %s and %s)", dir, argv[i]);
		dir = argv[i];
	}
	if (!dir)
		return cli_usage_error(cmd, "no export directory given");
	if (!p.out)
		return cli_usage_error(cmd, "-o FILE is required");
	if (make && cli_store_opt)
		return cli_usage_error(cmd,
		                       "a Make build's store is $(MLDEDUP_STORE) (see ninja/mldedup.mk), not --store");
	char *base = NULL, *outdir = dir_of(p.out), *real_outdir = NULL;
	int rc = EXIT_FAIL;
	if (!outdir || (make && strchr(p.out, '/') && asprintf(&base, "%s/", outdir) < 0)) {
		fprintf(stderr, "mldedup %s: out of memory\n", cmd->name);
		goto out;
	}
	p.base = base ? base : "";
	if (!(p.dir = realpath(dir, NULL))) {
		fprintf(stderr, "mldedup %s: %s: %s\n", cmd->name, cli_esc(dir), strerror(errno));
		goto out;
	}
	p.self = mld__exe_path(); /* where this binary is: the build file runs it */
	if (!p.self)
		p.self = strdup("mldedup");
	char cwd[PATH_MAX];
	if (cli_store_opt && *cli_store_opt) { /* the build runs elsewhere: name the store absolutely */
		bool rel = *cli_store_opt != '/';
		if (rel && !getcwd(cwd, sizeof cwd)) {
			fprintf(stderr, "mldedup %s: cannot name the current directory: %s\n", cmd->name,
			        strerror(errno));
			goto out;
		}
		if (asprintf(&p.store, "%s%s%s", rel ? cwd : "", rel ? "/" : "", cli_store_opt) < 0)
			p.store = NULL;
	}
	if (mld_anemll_plan(&p.all, &p.n_all, p.dir, ".")) {
		rc = cli_fail(cmd);
		goto out;
	}
	if (plan_build(&p, cmd->name)) {
		fprintf(stderr, "mldedup %s: out of memory\n", cmd->name);
		goto out;
	}
	real_outdir = realpath(outdir, NULL);
	for (size_t i = 0; real_outdir && i < p.n_dirs; i++)
		if (!strcmp(real_outdir, p.dirs[i])) {
			fprintf(stderr,
			        "mldedup %s: %s: write the build file outside the export directories: its outputs "
			        "would "
			        "change the listing it watches\n",
			        cmd->name, cli_esc(p.out));
			goto out;
		}
	if ((regenerate && check_vanished(cmd, &p)) || (make ? check_make_paths(cmd, &p) : check_ninja_paths(cmd, &p)))
		goto out;
	bf_text t;
	FILE *f = bf_open(&t);
	if (!f) {
		fprintf(stderr, "mldedup %s: out of memory\n", cmd->name);
		goto out;
	}
	const char *slash = strrchr(p.out, '/');
	fprintf(f,
	        "# %s: written by mldedup %s from the exports in %s. Do not edit: it is\n"
	        "# written again when that directory's layout changes (a package added or removed).\n",
	        slash ? slash + 1 : p.out, MLD_VERSION, p.dir);
	for (size_t i = 0; i < p.n_pkgs; i++)
		fprintf(f, PKG_LINE "%s\n", p.pkgs[i].path);
	emit(f, &p);
	int w = bf_commit(&t, p.out);
	/* Make has no restat: an unchanged file must still look newer than the directories */
	if (w < 0 || (w == 0 && make && utimensat(AT_FDCWD, p.out, NULL, 0) != 0)) {
		fprintf(stderr, "mldedup %s: %s: %s\n", cmd->name, cli_esc(p.out),
		        cli_esc(w < 0 ? mld_error_last() : strerror(errno)));
		goto out;
	}
	/* mldedup.conf beside it: commands run in the build directory use the build's store */
	char *conf_store = NULL;
	const char *env_store = getenv("MLDEDUP_STORE");
	if (make && env_store && *env_store) { /* Make's $(MLDEDUP_STORE) ?= takes the environment's */
		if (*env_store == '/' ? !(p.store = strdup(env_store))
		                      : !getcwd(cwd, sizeof cwd) || asprintf(&p.store, "%s/%s", cwd, env_store) < 0)
			p.store = NULL;
	}
	const char *store_base = p.store ? strrchr(p.store, '/') : NULL;
	if (p.store && real_outdir && (size_t)(store_base - p.store) == strlen(real_outdir) &&
	    !strncmp(p.store, real_outdir, strlen(real_outdir)))
		conf_store = strdup(store_base + 1); /* in the build directory: relative, as the build names it */
	else
		conf_store = strdup(p.store ? p.store : "mldedup-store.db");
	if (!conf_store || cli_config_write_build(outdir, conf_store, cmd->name) < 0) {
		fprintf(stderr, "mldedup %s: %s/%s: %s\n", cmd->name, cli_esc(outdir), CLI_CONF_NAME,
		        conf_store ? cli_esc(mld_error_last()) : "out of memory");
		free(conf_store);
		goto out;
	}
	free(conf_store);
	rc = EXIT_OK;
out:
	plan_free(&p);
	free(base);
	free(outdir);
	free(real_outdir);
	return rc;
}
