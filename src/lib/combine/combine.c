/* mld_combine, the driver above plan/ and write/:
 * sources -> index -> facts -> plan -> preflight -> write -> report -> record. */
#include "../core/dtype.h"
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
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '@'))
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
	const char *path;   /* as given, the first time its real path is met */
	char *real;
	mld_package *pkg;
	int rc;
	char *msg;
} pre_open;

typedef struct pre_opens {
	pre_open *o;
	size_t n;
} pre_opens;

static int open_one(void *ctx, size_t i)
{
	pre_open *o = &((pre_opens *)ctx)->o[i];
	if ((o->rc = mld_package_open(&o->pkg, o->path)))
		o->msg = mld__strdup(mld_error_last());
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
			return mld__err(MLD_EUSAGE, "function name \"%s\" is not a valid MIL identifier ([A-Za-z_][A-Za-z0-9_@]*)",
			               sp->name ? sp->name : "");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(specs[k].name, sp->name))
				return mld__err(MLD_EUSAGE, "function name \"%s\" is given twice", sp->name);
		/* the same package path opens once */
		char *real = realpath(sp->path, NULL);
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
			} else {
				rc = mld_package_open(&cb->pkgs[p], sp->path);
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
	cb_write_discard(cb);
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

int mld_combine(mld_combine_stats *stats, const mld_source_spec *sources, size_t n_sources, const char *out_path,
                const mld_combine_opts *opts)
{
	mld__err_clear();
	memset(stats, 0, sizeof *stats);
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	if (opts && opts->version > MLD_COMBINE_OPTS_VERSION)
		return mld__err(MLD_EUSAGE, "mld_combine_opts version %u is newer than this library's %d", opts->version,
		                MLD_COMBINE_OPTS_VERSION);
	if (opts) /* a version-1 caller's struct ends before stamp_path */
		memcpy(&o, opts, opts->version >= 2 ? sizeof o : offsetof(mld_combine_opts, stamp_path));
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
		return mld__err(MLD_EUSAGE, "%s: the output must end in %s", out_path, o.zip ? ".zip (--zip)" : ".mlpackage");
	struct stat ost;
	if (!o.dry_run && !o.replace && lstat(out_path, &ost) == 0)
		return mld__err(MLD_EEXISTS, "%s: already exists (not replaced without the replace option)", out_path);
	int rc = open_sources(&cb, sources, n_sources);
	if (rc)
		goto out;
	stats->functions = (unsigned)n_sources;
	for (size_t i = 0; i < n_sources; i++)
		if (o.default_name && !strcmp(sources[i].name, o.default_name))
			cb.default_src = i + 1;
	if (o.default_name && !cb.default_src) {
		rc = mld__err(MLD_EUSAGE, "--default %s is not one of the function names", o.default_name);
		goto out;
	}
	cb.default_src = cb.default_src ? cb.default_src - 1 : 0;
	/* Digests come from the store: index the sources (unchanged ones are not re-read). */
	for (size_t p = 0; o.store && p < cb.n_pkgs; p++) {
		mld_index_stats is = {0};
		if (mld_store_index(o.store, cb.pkg_paths[p], &is, o.progress, o.progress_ctx)) {
			char msg[1200];
			snprintf(msg, sizeof msg, "store unusable, computing digests without it: %s", mld_error_last());
			warn(&o, msg);
			mld__err_clear();
			o.store = NULL;
			break;
		}
		stats->packages_indexed += is.packages_indexed;
		stats->weights_dequantized += is.weights_decoded;
	}
	for (size_t p = 0; p < cb.n_pkgs; p++) {
		stats->bytes_before += weight_files_size(cb.pkgs[p]);
		mld__source_release_all(cb.pkgs[p]->src); /* the blob metadata pages the open read */
	}
	if ((rc = collect_weights(&cb)))
		goto out;
	cb_write_prepare(&cb); /* the write's model copies, made while the plan is */
	/* Twice at most: a store row found to lie about bytes (claims.c) means deciding
	 * afresh, from the bytes, before anything is committed. */
	for (int attempt = 0;; attempt++) {
		if (attempt) {
			cb_claims_drop(&cb);
			cb_reset(&cb);
			cb.no_claims = true;
			memset(stats->by_reason, 0, sizeof stats->by_reason);
			stats->weights = stats->bytes_after = stats->bytes_optimum = 0;
			stats->decisions_computed = stats->decisions_reused = 0;
			stats->large_warning = 0;
		}
		if ((rc = cb_load_facts(&cb)) || (rc = cb_plan(&cb)))
			goto out;
		if (cb.lie && !attempt)
			continue;
		if (!o.no_preflight && (rc = cb_preflight(&cb)))
			goto out;
		stats->bytes_optimum = optimum_bytes(&cb);
		rc = cb_write(&cb, out_path);
		if (cb.lie && !attempt) {
			mld__err_clear();
			rc = 0;
			continue;
		}
		if (rc)
			goto out;
		break;
	}
	cb_claims_record(&cb);
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
