/* mldedup ninja: a build.ninja that indexes, combines and verifies the exports of a directory. */
#include "buildgen.h"

#include "rules_ninja.h" /* cli_rules_ninja: ninja/mldedup.ninja, embedded at build time */

#include <string.h>

static void stamp_path(FILE *f, const char *name, const char *ext)
{
	fputs("stamps/", f);
	bf_ninja_path(f, name);
	fputs(ext, f);
}

/* pkgout and sources of a combine or verify edge. */
static void job_vars(FILE *f, const bg_job *j)
{
	fputs("  pkgout = ", f);
	bf_shell_word(f, j->stem);
	fputs(".mlpackage\n  sources =", f);
	bg_sources(f, j);
	fputc('\n', f);
}

/* The combined package's files: outputs of its combine edge, inputs of its verify edge. */
static void package_files(FILE *f, const bg_job *j)
{
	for (const char *const *file = bf_package_files; *file; file++) {
		fputc(' ', f);
		bf_ninja_path(f, j->stem);
		fprintf(f, ".mlpackage/%s", *file);
	}
}

static void job_inputs(FILE *f, const bg_plan *p, const bg_job *j)
{
	for (size_t k = 0; k < j->n_pkgs; k++) {
		fputc(' ', f);
		stamp_path(f, p->pkgs[j->pkgs[k]].name, ".index");
	}
}

static void phony(FILE *f, const bg_plan *p, const char *name, const char *ext)
{
	fprintf(f, "build %s: phony", name);
	for (size_t j = 0; j < p->n_jobs; j++) {
		fputc(' ', f);
		stamp_path(f, p->jobs[j].stem, ext);
	}
	fputc('\n', f);
}

static void emit(FILE *f, const bg_plan *p)
{
	const char *slash = strrchr(p->out, '/'), *self = slash ? slash + 1 : p->out;
	fputs("# Run ninja in this directory: `ninja` combines, `ninja check` verifies, `ninja NAME` builds\n"
	      "# one output (NAME.mlpackage).\n\nninja_required_version = 1.7\n\nmldedup = ",
	      f);
	bf_shell_word(f, p->self);
	fputs("\nstore = ", f);
	bf_shell_word(f, p->store ? p->store : "mldedup-store.db");
	fputs("\nmldedup_combine_depth = 2\nregen_args = --anemll ", f);
	bf_shell_word(f, p->dir);
	if (p->store) {
		fputs(" --store ", f);
		bf_shell_word(f, p->store);
	}
	fputs("\n\n", f);
	fputs(cli_rules_ninja, f);
	fputs("\n# ---- one index per package ----\n", f);
	for (size_t i = 0; i < p->n_pkgs; i++) {
		fputs("build ", f);
		stamp_path(f, p->pkgs[i].name, ".index");
		fputs(": mldedup_index ", f);
		bf_ninja_path(f, p->pkgs[i].path);
		fputs("\n  pkg = ", f);
		bf_shell_word(f, p->pkgs[i].path);
		fputc('\n', f);
	}
	fputs("\n# ---- one combine (and its verify) per output ----\n", f);
	for (size_t j = 0; j < p->n_jobs; j++) {
		const bg_job *bj = &p->jobs[j];
		fputs("build ", f);
		stamp_path(f, bj->stem, ".combine");
		fputs(" |", f);
		package_files(f, bj);
		fputs(": mldedup_combine", f);
		job_inputs(f, p, bj);
		fputc('\n', f);
		job_vars(f, bj);
		fputs("build ", f);
		stamp_path(f, bj->stem, ".verified");
		fputs(": mldedup_verify ", f);
		stamp_path(f, bj->stem, ".combine");
		package_files(f, bj);
		job_inputs(f, p, bj);
		fputc('\n', f);
		job_vars(f, bj);
		fputs("build ", f);
		bf_ninja_path(f, bj->stem);
		fputs(": phony ", f);
		stamp_path(f, bj->stem, ".combine");
		fputs("\n\n", f);
	}
	phony(f, p, "all", ".combine");
	phony(f, p, "check", ".verified");
	fputs("default all\n\n# ---- this file, when a package is added or removed ----\nbuild ", f);
	bf_ninja_path(f, self);
	fputs(": mldedup_regenerate |", f);
	for (size_t i = 0; i < p->n_dirs; i++) {
		fputc(' ', f);
		bf_ninja_path(f, p->dirs[i]);
	}
	fputc('\n', f);
}

static int run(const cli_cmd *cmd, int argc, char **argv) { return bg_run(cmd, argc, argv, false, emit); }

const cli_cmd cmd_ninja = {
	"ninja",
	"[--anemll] DIR -o build.ninja",
	"Write a build.ninja that indexes, combines and verifies the ANEMLL exports in DIR, redoing only what changed.",
	"One index edge per package (its stamp changes only when its weights do), one combine edge per output\n"
	"(inputs: its sources' stamps; outputs: a stamp of the combined package, so an unchanged result stops\n"
	"there, and the package's files, so a deleted one is rebuilt and 'ninja -t clean' removes them), a\n"
	"verify edge per output under 'check' (inputs: the package's files too), a phony target per output\n"
	"and 'all'. Paths may hold '$', ':' and spaces, not a newline, a tab or '|'. Run ninja in\n"
	"the directory of the file: outputs, stamps/ and the build's store (mldedup-store.db, or --store)\n"
	"go there, and an mldedup.conf naming that store, so mldedup commands run there use it. The file regenerates "
	"itself when a package is added to DIR or its ctxN folders; when a\n"
	"package it builds from is gone, the build fails naming it. Combines run at most 2 at a time\n"
	"(pool mldedup_combine_pool). The rules are those of ninja/mldedup.ninja.\n",
	bg_opts,
	run};
