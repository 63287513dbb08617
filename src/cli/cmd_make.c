/* mldedup make: the GNU Make rules (for ninja/mldedup.mk) that index, combine and verify the
 * exports of a directory. Paths are checked to need no escaping (buildgen.c). */
#include "buildgen.h"

/* Target-specific variables of a combine or verify target. Not `private` (GNU Make 3.82):
 * macOS ships Make 3.81. A prerequisite inherits them, and that is harmless: each recipe
 * reads only variables its own target sets (index: pkg; combine and verify: pkgout and
 * sources, the same values on both). */
static void job_vars(FILE *f, const bg_plan *p, const bg_job *j, const char *target)
{
	fprintf(f, "%sstamps/%s%s: pkgout := %s%s.mlpackage\n", p->base, j->stem, target, p->base, j->stem);
	fprintf(f, "%sstamps/%s%s: sources :=", p->base, j->stem, target);
	bg_sources(f, j);
	fputc('\n', f);
}

static void job_inputs(FILE *f, const bg_plan *p, const bg_job *j)
{
	for (size_t k = 0; k < j->n_pkgs; k++)
		fprintf(f, " %sstamps/%s.index", p->base, p->pkgs[j->pkgs[k]].name);
	fputc('\n', f);
}

/* The combined package's files, as Make names them (from where it runs). */
static void package_files(FILE *f, const bg_plan *p, const char *stem)
{
	for (const char *const *file = bf_package_files; *file; file++)
		fprintf(f, " %s%s.mlpackage/%s", p->base, stem, *file);
}

static void phony(FILE *f, const bg_plan *p, const char *name, const char *ext)
{
	fprintf(f, "%s:", name);
	for (size_t j = 0; j < p->n_jobs; j++)
		fprintf(f, " %sstamps/%s%s", p->base, p->jobs[j].stem, ext);
	fputc('\n', f);
}

static void emit(FILE *f, const bg_plan *p)
{
	const char *b = p->base;
	fprintf(f,
	        "# Included by ninja/mldedup.mk, which holds the recipes. A step whose stamp may come out\n"
	        "# unchanged also touches STAMP.ran: Make has no restat.\n\n%s:",
	        p->out);
	for (size_t i = 0; i < p->n_dirs; i++)
		fprintf(f, " %s", p->dirs[i]);
	fputs("\n\n# ---- one index per package ----\n", f);
	for (size_t i = 0; i < p->n_pkgs; i++) {
		const char *n = p->pkgs[i].name, *path = p->pkgs[i].path;
		fprintf(f, "%sstamps/%s.index.ran: %s\n\t$(mldedup_index)\n", b, n, path);
		fprintf(f, "%sstamps/%s.index.ran: pkg := %s\n", b, n, path);
		fprintf(f, "%sstamps/%s.index: %sstamps/%s.index.ran ;\n", b, n, b, n);
		fprintf(f, "-include %sstamps/%s.index.d\n", b, n);
	}
	fputs("\n# ---- one combine (and its verify) per output ----\n", f);
	for (size_t j = 0; j < p->n_jobs; j++) {
		const char *s = p->jobs[j].stem;
		/* the package's files are outputs of the combine: one missing forces it to run again */
		fprintf(f, "%sstamps/%s.combine.ran: $(if $(filter-out $(wildcard", b, s);
		package_files(f, p, s);
		fputs("),", f);
		package_files(f, p, s);
		fputs("),mldedup-force)", f);
		job_inputs(f, p, &p->jobs[j]);
		fputs("\t$(mldedup_combine)\n", f);
		job_vars(f, p, &p->jobs[j], ".combine.ran");
		fprintf(f, "%sstamps/%s.combine", b, s);
		package_files(f, p, s);
		fprintf(f, ": %sstamps/%s.combine.ran ;\n", b, s);
		fprintf(f, "%sstamps/%s.verified: %sstamps/%s.combine", b, s, b, s);
		package_files(f, p, s);
		job_inputs(f, p, &p->jobs[j]);
		fputs("\t$(mldedup_verify)\n", f);
		job_vars(f, p, &p->jobs[j], ".verified");
		fprintf(f, ".PHONY: %s\n%s: %sstamps/%s.combine\n\n", s, s, b, s);
	}
	fputs(".PHONY: mldedup-all mldedup-check mldedup-force\nmldedup-force:\n", f);
	phony(f, p, "mldedup-all", ".combine");
	phony(f, p, "mldedup-check", ".verified");
}

static int run(const cli_cmd *cmd, int argc, char **argv) { return bg_run(cmd, argc, argv, true, emit); }

const cli_cmd cmd_make = {
	"make",
	"[--anemll] DIR -o FILE.mk",
	"Write GNU Make rules that index, combine and verify the ANEMLL exports in DIR, redoing only what changed.",
	"The rules are for ninja/mldedup.mk, which writes FILE.mk with this command, includes it and holds\n"
	"the recipes; see its header. Paths in FILE.mk are as seen from the directory make runs in: run this\n"
	"from there. The mldedup.conf written beside FILE.mk names the build's store, for the commands\n"
	"run there: $MLDEDUP_STORE (ninja/mldedup.mk sets it to $(MLDEDUP_STORE)), else mldedup-store.db\n"
	"beside FILE.mk. Targets: mldedup-all (the combined packages, in FILE.mk's directory), mldedup-check\n"
	"(verify them), and one per output. Each package's files are targets of its combine: one missing\n"
	"runs the combine again, and a changed one runs its verify again. A package FILE.mk builds from\n"
	"that is gone fails the build, naming it.\n",
	bg_opts,
	run};
