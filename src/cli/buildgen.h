/* What `mldedup ninja` and `mldedup make` share: the exports found in DIR, the
 * combine jobs they imply, and the checks and writing around the emitted file. */
#ifndef MLD_BUILDGEN_H
#define MLD_BUILDGEN_H

#include "buildfile.h"
#include "opts.h"

#include "mldedup.h"

typedef struct bg_pkg {
	const char *path; /* absolute, borrowed from a job's sources */
	char *name;       /* path under DIR without ".mlpackage": names its stamp */
} bg_pkg;

typedef struct bg_job {
	const mld_anemll_job *job;
	char *stem;   /* output name without ".mlpackage" */
	size_t *pkgs; /* its distinct packages (indices into bg_plan.pkgs), in source order */
	size_t n_pkgs;
} bg_job;

typedef struct bg_plan {
	const char *out;  /* the build file, as given */
	const char *base; /* prefix of every build product (Make: the build file's directory) */
	char *dir;        /* the export directory, absolute */
	char *self;       /* this mldedup, absolute */
	char *store;      /* --store made absolute, or NULL: the build's own */
	bg_pkg *pkgs;     /* sorted by path */
	size_t n_pkgs;
	bg_job *jobs; /* sorted by stem */
	size_t n_jobs;
	char **dirs; /* DIR and every directory holding a package: their listings decide the plan */
	size_t n_dirs;
	mld_anemll_job *all;
	size_t n_all;
} bg_plan;

extern const cli_opt bg_opts[];

/* Parse the options, discover DIR, refuse a package that vanished (--regenerate),
 * emit the file and write it; Make's file is touched even when unchanged, as Make
 * has no restat. Returns an exit code. */
int bg_run(const cli_cmd *cmd, int argc, char **argv, bool make, void (*emit)(FILE *f, const bg_plan *p));

/* " NAME=PKG[:FUNC]" for every source of the job, as shell words. */
void bg_sources(FILE *f, const bg_job *j);

#endif
