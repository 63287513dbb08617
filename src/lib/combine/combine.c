/* mld_combine, the driver above plan/ and write/:
 * sources -> index -> facts -> plan -> preflight -> write -> report -> record. */
#include "../core/dtype.h"
#include "../core/fsutil.h"
#include "../core/par.h"
#include "../write/combine_write.h"

#include <errno.h>
#include <stddef.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

bool cb_valid_identifier(const char *s)
{
	if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '@'))
			return false;
	return true;
}

static void warn(const mld_combine_opts *o, const char *msg)
{
	if (o->warn)
		o->warn(o->warn_ctx, msg);
}

/* Sum of the sizes of a package's weight files (stat only). */
static uint64_t weight_files_size(const mld_package *pkg)
{
	uint64_t total = 0;
	for (size_t f = 0; f < pkg->n_blob_files; f++) {
		char *rel;
		mld__file_id id;
		if (!mld__package_blob_rel(pkg, pkg->blob_files[f], &rel)) {
			if (!mld__source_stat(pkg->src, rel, &id))
				total += id.size;
			free(rel);
		}
	}
	mld__err_clear();
	return total;
}

/* Opening the packages (reading and parsing each model, finding its weights) on
 * every core before the sources are checked in order; the errors come out as the
 * sequential open gives them. */
typedef struct pre_open {
	const char *path; /* as given, the first time its real path is met */
	char *real;
	mld_package *pkg;
	int rc;
	char *msg;
} pre_open;

typedef struct pre_opens {
	pre_open *o;
	size_t n;
} pre_opens;

/* What an opened source keeps while the others are opened, indexed and planned: not
 * the blob metadata pages weight discovery read, nor the model's bytes (the writer
 * reads them again, checked against their digest). Held for every function, both grew
 * the peak by the function. */
static void held(mld_package *pkg)
{
	mld__source_release_all(pkg->src);
	mld__package_drop_model_bytes(pkg);
}

static int open_one(void *ctx, size_t i)
{
	pre_open *o = &((pre_opens *)ctx)->o[i];
	if ((o->rc = mld_package_open(&o->pkg, o->path)))
		o->msg = mld__strdup(mld_error_last());
	else
		held(o->pkg);
	mld__err_clear();
	return 0;
}

static void pre_open_all(pre_opens *po, const mld_source_spec *specs, size_t n)
{
	if (!(po->o = mld__calloc(n, sizeof *po->o))) {
		mld__err_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *real = specs[i].path ? realpath(specs[i].path, NULL) : NULL;
		size_t k = 0;
		while (real && k < po->n && strcmp(po->o[k].real, real))
			k++;
		if (!real || k < po->n) {
			free(real);
			continue;
		}
		po->o[po->n++] = (pre_open){specs[i].path, real, NULL, 0, NULL};
	}
	mld__parallel_for(po->n, 0, open_one, po);
}

/* The package opened ahead for this real path, handed over (NULL: not opened ahead). */
static pre_open *pre_opened(pre_opens *po, const char *real)
{
	for (size_t k = 0; k < po->n; k++)
		if (po->o[k].real && !strcmp(po->o[k].real, real))
			return &po->o[k];
	return NULL;
}

static void pre_free(pre_opens *po)
{
	for (size_t k = 0; k < po->n; k++) {
		mld_package_free(po->o[k].pkg);
		free(po->o[k].real);
		free(po->o[k].msg);
	}
	free(po->o);
}

static int open_sources_in_order(cb_ctx *cb, const mld_source_spec *specs, size_t n, pre_opens *po);

static int open_sources(cb_ctx *cb, const mld_source_spec *specs, size_t n)
{
	pre_opens po = {0};
	int rc = open_sources_in_order(cb, specs, n, (pre_open_all(&po, specs, n), &po));
	pre_free(&po);
	return rc;
}

static int open_sources_in_order(cb_ctx *cb, const mld_source_spec *specs, size_t n, pre_opens *po)
{
	if (n == 0)
		return mld__err(MLD_EUSAGE, "no sources given");
	if (!(cb->srcs = mld__calloc(n, sizeof *cb->srcs)) || !(cb->pkgs = mld__calloc(n, sizeof *cb->pkgs)) ||
	    !(cb->pkg_paths = mld__calloc(n, sizeof *cb->pkg_paths)))
		return MLD_ENOMEM;
	cb->n_srcs = n;
	for (size_t i = 0; i < n; i++) {
		const mld_source_spec *sp = &specs[i];
		cb_source *s = &cb->srcs[i];
		s->name = sp->name;
		s->alias_of = -1;
		if (!cb_valid_identifier(sp->name))
			return mld__err(MLD_EUSAGE,
			                "function name \"%s\" is not a valid MIL identifier ([A-Za-z_][A-Za-z0-9_@]*)",
			                sp->name ? sp->name : "");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(specs[k].name, sp->name))
				return mld__err(MLD_EUSAGE, "function name \"%s\" is given twice", sp->name);
		/* the same package path opens once */
		char *real = mld__source_realpath(sp->path); /* an in-memory package: its path */
		if (!real)
			return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", sp->path, strerror(errno));
		size_t p = 0;
		while (p < cb->n_pkgs && strcmp(cb->pkg_paths[p], real))
			p++;
		if (p == cb->n_pkgs) {
			cb->pkg_paths[p] = real;
			pre_open *o = pre_opened(po, real);
			int rc;
			if (o && !o->rc) {
				cb->pkgs[p] = o->pkg; /* handed over */
				o->pkg = NULL;
				rc = 0;
			} else if (o) {
				rc = mld__err(o->rc, "%s", o->msg ? o->msg : "cannot open the package");
			} else if (!(rc = mld_package_open(&cb->pkgs[p], sp->path))) {
				held(cb->pkgs[p]);
			}
			if (rc)
				return rc;
			cb->n_pkgs++;
		} else {
			free(real);
		}
		s->pkg = p;
		const mld_package *pkg = cb->pkgs[p];
		const char *want = sp->function;
		if (!want)
			want = pkg->n_fns == 1 ? pkg->fns[0].name : "main";
		size_t f = 0;
		while (f < pkg->n_fns && strcmp(pkg->fns[f].name, want))
			f++;
		if (f == pkg->n_fns) {
			const mld_weight *dummy;
			mld_package_find_weight(&dummy, pkg, want, ""); /* sets "no function ... (functions: ...)" */
			return mld__err_prefix("source %s=%s", sp->name, sp->path);
		}
		s->fn = f;
		for (size_t k = 0; k < i; k++)
			if (cb->srcs[k].pkg == p && cb->srcs[k].fn == f && cb->srcs[k].alias_of < 0) {
				s->alias_of = (int)k;
				break;
			}
	}
	return 0;
}

static int collect_weights(cb_ctx *cb)
{
	size_t total = 0;
	for (size_t i = 0; i < cb->n_srcs; i++) {
		const mld_package *pkg = cb->pkgs[cb->srcs[i].pkg];
		for (size_t k = 0; k < pkg->n_weights; k++)
			total += pkg->weights[k].fn_index == cb->srcs[i].fn;
	}
	if (!(cb->ws = mld__calloc(total ? total : 1, sizeof *cb->ws)))
		return MLD_ENOMEM;
	for (size_t i = 0; i < cb->n_srcs; i++) {
		cb_source *s = &cb->srcs[i];
		const mld_package *pkg = cb->pkgs[s->pkg];
		s->first_weight = cb->n_ws;
		for (size_t k = 0; k < pkg->n_weights; k++)
			if (pkg->weights[k].fn_index == s->fn) {
				cb->ws[cb->n_ws].src = i;
				cb->ws[cb->n_ws++].w = &pkg->weights[k];
			}
		s->n_weights = cb->n_ws - s->first_weight;
	}
	return 0;
}

/* The optimum: one copy of each distinct content, i.e. every placed weight once. */
static uint64_t optimum_bytes(const cb_ctx *cb)
{
	uint64_t end = 0;
	for (size_t i = 0; i < cb->n_ws; i++) {
		const cb_weight *w = &cb->ws[i];
		if (w->placed != (long)i)
			continue;
		for (size_t b = 0; b < w->w->n_blobs; b++)
			end = mld__align64(end ? end : 64) + 64 + w->w->blobs[b].size;
	}
	return end;
}

/* Forget every fact and decision, keeping the sources and their weights: for
 * deciding afresh. */
static void cb_reset(cb_ctx *cb)
{
	for (size_t i = 0; i < cb->n_ws; i++) {
		cb_weight *w = &cb->ws[i];
		free(w->layout);
		free(w->stem);
		free(w->note);
		free(w->blob_dig);
		*w = (cb_weight){.src = w->src, .w = w->w};
	}
	cb_claims_free(cb);
	cb->lie = false;
}

static void cb_free(cb_ctx *cb)
{
	cb_reset(cb);
	free(cb->pkg_ids);
	free(cb->ws);
	for (size_t p = 0; p < cb->n_pkgs; p++)
		mld_package_free(cb->pkgs[p]);
	for (size_t p = 0; cb->pkg_paths && p < cb->n_srcs; p++)
		free(cb->pkg_paths[p]);
	free(cb->pkg_paths);
	free(cb->pkgs);
	free(cb->srcs);
}

/* s ends in suf (trailing slashes ignored, as the writer does) */
static bool has_suffix(const char *s, const char *suf, bool nocase)
{
	size_t a = strlen(s), b = strlen(suf);
	while (a > 1 && s[a - 1] == '/')
		a--;
	return a >= b && !(nocase ? strncasecmp(s + a - b, suf, b) : strncmp(s + a - b, suf, b));
}

/* A file the combine writes (`what`: the output, the report, the stamp) must not be, hold or lie
 * inside a source, after resolving symlinks, or the write would destroy the input it
 * reads: refused before anything is read. */
static int check_not_a_source(const char *path, const char *what, const mld_source_spec *sources, size_t n)
{
	char *out = mld__path_canonical(path);
	if (!out)
		return mld__err(MLD_ENOMEM, "%s: cannot resolve the path", path);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char *src = sources[i].path ? realpath(sources[i].path, NULL) : NULL;
		if (!src)
			continue; /* a missing source fails when it is opened */
		const char *how = !strcmp(out, src)            ? "is"
		                  : mld__path_within(out, src) ? "lies inside"
		                  : mld__path_within(src, out) ? "holds"
		                                               : NULL;
		if (how)
			rc = mld__err(MLD_EOVERLAP,
			              "%s: the %s %s the source %s=%s%s%s; it would overwrite it (choose another path)",
			              path, what, how, sources[i].name ? sources[i].name : "", sources[i].path,
			              strcmp(src, sources[i].path) ? " -> " : "",
			              strcmp(src, sources[i].path) ? src : "");
		free(src);
	}
	free(out);
	return rc;
}

/* Digests come from the store: index the sources (unchanged ones are not re-read);
 * then the weights, their facts and the plan. */
static int index_and_plan(cb_ctx *cb, mld_combine_opts *o)
{
	mld_combine_stats *stats = cb->stats;
	for (size_t p = 0; o->store && p < cb->n_pkgs; p++) {
		mld_index_stats is = {0};
		if (mld_store_index(o->store, cb->pkg_paths[p], &is, o->progress, o->progress_ctx)) {
			char msg[1200];
			snprintf(msg, sizeof msg, "store unusable, computing digests without it: %s", mld_error_last());
			warn(o, msg);
			mld__err_clear();
			o->store = NULL;
			break;
		}
		stats->packages_indexed += is.packages_indexed;
		stats->weights_dequantized += is.weights_decoded;
	}
	for (size_t p = 0; p < cb->n_pkgs; p++) {
		stats->bytes_before += weight_files_size(cb->pkgs[p]);
		mld__source_release_all(cb->pkgs[p]->src); /* the blob metadata pages the open read */
	}
	return collect_weights(cb);
}

/* Facts, plan and `write` (with preflight for a combine), twice at most: a store row
 * found to lie about bytes (claims.c) means deciding afresh, from the bytes, before
 * anything is committed. */
static int plan_and_write(cb_ctx *cb, bool preflight, int (*write)(cb_ctx *cb, const void *arg), const void *arg)
{
	mld_combine_stats *stats = cb->stats;
	for (int attempt = 0;; attempt++) {
		if (attempt) {
			cb_claims_drop(cb);
			cb_reset(cb); /* the models were only read: the weights stand */
			cb->no_claims = true;
			memset(stats->by_reason, 0, sizeof stats->by_reason);
			stats->weights = stats->bytes_after = stats->bytes_optimum = 0;
			stats->decisions_computed = stats->decisions_reused = 0;
			stats->large_warning = 0;
		}
		int rc;
		if ((rc = cb_load_facts(cb)) || (rc = cb_plan(cb)))
			return rc;
		if (cb->lie && !attempt)
			continue;
		if (preflight && (rc = cb_preflight(cb)))
			return rc;
		stats->bytes_optimum = optimum_bytes(cb);
		rc = write(cb, arg);
		if (cb->lie && !attempt) {
			mld__err_clear();
			continue;
		}
		if (!rc)
			cb_claims_record(cb);
		return rc;
	}
}

static int write_combined(cb_ctx *cb, const void *out_path) { return cb_write(cb, out_path); }
static int write_aligned(cb_ctx *cb, const void *out_paths) { return cb_write_aligned(cb, out_paths); }

/* An output that is a source, or lies inside or holds one, is refused. */
static int check_output(const cb_ctx *cb, const char *out_path)
{
	char *abs = mld__sprintf("%s", out_path), *slash;
	if (!abs)
		return MLD_ENOMEM;
	size_t n = strlen(abs);
	while (n > 1 && abs[n - 1] == '/')
		abs[--n] = 0;
	slash = strrchr(abs, '/');
	char *dir = slash ? (slash == abs ? mld__strdup("/") : mld__sprintf("%.*s", (int)(slash - abs), abs))
	                  : mld__strdup(".");
	char *rdir = dir ? realpath(dir, NULL) : NULL;
	char *full = rdir ? mld__sprintf("%s/%s", strcmp(rdir, "/") ? rdir : "", slash ? slash + 1 : abs) : NULL;
	int rc = 0;
	for (size_t p = 0; full && p < cb->n_pkgs && !rc; p++) {
		const char *sp = cb->pkg_paths[p];
		size_t a = strlen(full), b = strlen(sp);
		if ((a <= b && !strncmp(sp, full, a) && (sp[a] == 0 || sp[a] == '/')) ||
		    (b < a && !strncmp(full, sp, b) && full[b] == '/'))
			rc = mld__err(MLD_EUSAGE, "%s: the output would replace, hold or lie inside the source %s",
			              out_path, sp);
	}
	free(abs);
	free(dir);
	free(rdir);
	free(full);
	return rc; /* a directory that does not exist yet is the writer's to report */
}

/* The caller's options by their version (a version-1 struct ends at `replace`, a
 * version-2 one at `max_abs_max`), with
 * the thresholds in force filled in. */
static int take_opts(mld_combine_opts *o, const mld_combine_opts *opts)
{
	mld_combine_opts d = MLD_COMBINE_OPTS_INIT;
	*o = d;
	if (opts && opts->version > MLD_COMBINE_OPTS_VERSION)
		return mld__err(MLD_EUSAGE, "mld_combine_opts version %u is newer than this library's %d",
		                opts->version, MLD_COMBINE_OPTS_VERSION);
	if (opts && opts->version == 1)
		memcpy(o, opts, offsetof(mld_combine_opts, replace) + sizeof opts->replace);
	else if (opts && opts->version == 2)
		memcpy(o, opts, offsetof(mld_combine_opts, max_abs_max) + sizeof opts->max_abs_max);
	else if (opts)
		*o = *opts;
	if (o->cos_min < 0 || o->cos_min > 1 || o->mean_abs_max < 0 || o->max_abs_max < 0)
		return mld__err(MLD_EUSAGE, "thresholds out of range (cosine in [0, 1], differences >= 0)");
	if (o->cos_min == 0)
		o->cos_min = MLD_COS_MIN;
	if (o->mean_abs_max == 0)
		o->mean_abs_max = MLD_MEAN_ABS_MAX;
	if (o->max_abs_max == 0 && o->strict)
		o->max_abs_max = MLD_MAX_ABS_MAX_STRICT;
	return 0;
}

int mld_combine(mld_combine_stats *stats, const mld_source_spec *sources, size_t n_sources, const char *out_path,
                const mld_combine_opts *opts)
{
	mld__err_clear();
	memset(stats, 0, sizeof *stats);
	mld_combine_opts o;
	int rc = take_opts(&o, opts);
	if (rc)
		return rc;
	cb_ctx cb = {0};
	cb.opts = &o;
	cb.stats = stats;
	/* Argument errors first: before any work, and before anything is written. */
	if (!out_path)
		return mld__err(MLD_EUSAGE, "no output path given");
	if (o.report_path && !has_suffix(o.report_path, ".json", true) && !has_suffix(o.report_path, ".csv", true))
		return mld__err(MLD_EUSAGE, "%s: the report must end in .json or .csv", o.report_path);
	if (o.stamp_path && o.dry_run)
		return mld__err(MLD_EUSAGE, "a stamp goes with a written output, not with a dry run");
	if (!o.dry_run && !has_suffix(out_path, o.zip ? ".zip" : ".mlpackage", false))
		return mld__err(MLD_EUSAGE, "%s: the output must end in %s", out_path,
		                o.zip ? ".zip (--zip)" : ".mlpackage");
	if ((!o.dry_run && (rc = check_not_a_source(out_path, "output", sources, n_sources))) ||
	    (o.report_path && (rc = check_not_a_source(o.report_path, "report", sources, n_sources))) ||
	    (o.stamp_path && (rc = check_not_a_source(o.stamp_path, "stamp", sources, n_sources))))
		return rc;
	struct stat ost;
	if (!o.dry_run && !o.replace && lstat(out_path, &ost) == 0)
		return mld__err(MLD_EEXISTS, "%s: already exists (not replaced without the replace option)", out_path);
	rc = open_sources(&cb, sources, n_sources);
	if (rc)
		goto out;
	stats->functions = (unsigned)n_sources;
	if ((rc = check_output(&cb, out_path)))
		goto out;
	for (size_t i = 0; i < n_sources; i++)
		if (o.default_name && !strcmp(sources[i].name, o.default_name))
			cb.default_src = i + 1;
	if (o.default_name && !cb.default_src) {
		rc = mld__err(MLD_EUSAGE, "--default %s is not one of the function names", o.default_name);
		goto out;
	}
	cb.default_src = cb.default_src ? cb.default_src - 1 : 0;
	if ((rc = index_and_plan(&cb, &o)) || (rc = plan_and_write(&cb, !o.no_preflight, write_combined, out_path)))
		goto out;
	if (o.report_path && (rc = cb_report(&cb, out_path)))
		goto out;
	if (cb_record(&cb, out_path)) {
		char msg[1200];
		snprintf(msg, sizeof msg, "the combine is not recorded in the store: %s", mld_error_last());
		warn(&o, msg);
		mld__err_clear();
	}
out:
	cb_free(&cb);
	return rc;
}

int mld_align(mld_combine_stats *stats, uint64_t *rewritten, const mld_source_spec *sources, size_t n_sources,
              const char *const *out_paths, const mld_combine_opts *opts)
{
	mld__err_clear();
	memset(stats, 0, sizeof *stats);
	mld_combine_opts o;
	int rc = take_opts(&o, opts);
	if (rc)
		return rc;
	if (o.dry_run || o.zip || o.report_path || o.default_name || o.no_preflight || o.stamp_path)
		return mld__err(MLD_EUSAGE, "align writes packages only: no dry run, zip, report, stamp, default "
		                            "function or preflight option");
	if (!out_paths)
		return mld__err(MLD_EUSAGE, "no output paths given");
	for (size_t i = 0; i < n_sources; i++) {
		if (!out_paths[i])
			continue;
		if (!has_suffix(out_paths[i], ".mlpackage", false))
			return mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", out_paths[i]);
		if ((rc = check_not_a_source(out_paths[i], "output", sources, n_sources)))
			return rc;
		struct stat ost;
		if (!o.replace && lstat(out_paths[i], &ost) == 0)
			return mld__err(MLD_EEXISTS, "%s: already exists (not replaced without the replace option)",
			                out_paths[i]);
		for (size_t k = 0; k < i; k++)
			if (out_paths[k] && !strcmp(out_paths[k], out_paths[i]))
				return mld__err(MLD_EUSAGE, "%s: the output of two sources", out_paths[i]);
	}
	cb_ctx cb = {0};
	cb.opts = &o;
	cb.stats = stats;
	if ((rc = open_sources(&cb, sources, n_sources)))
		goto out;
	stats->functions = (unsigned)n_sources;
	for (size_t i = 0; i < n_sources && !rc; i++)
		if (out_paths[i])
			rc = check_output(&cb, out_paths[i]);
	if (rc || (rc = index_and_plan(&cb, &o)) || (rc = plan_and_write(&cb, false, write_aligned, out_paths)))
		goto out;
	for (size_t i = 0; rewritten && i < n_sources; i++) {
		rewritten[i] = 0;
		for (size_t k = 0; k < cb.srcs[i].n_weights; k++) {
			mld_reason r = cb.ws[cb.srcs[i].first_weight + k].reason;
			rewritten[i] += r == MLD_R_DEQ_IDENTICAL || r == MLD_R_DEQ_CLOSE;
		}
	}
out:
	cb_free(&cb);
	return rc;
}
