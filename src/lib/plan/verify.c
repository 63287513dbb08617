/* mld_verify: is a combined package well-formed, and does it still compute what
 * its sources computed? */
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>

typedef struct vctx {
	mld_verify_stats *st;
	void (*problem)(void *, const char *);
	void *ctx;
} vctx;

static void fail(vctx *v, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->st->failures++;
	if (v->problem)
		v->problem(v->ctx, msg);
}

static void check_structure(vctx *v, const mld_package *pkg)
{
	const mil_model_desc *d = pkg->desc;
	const char *path = mld_package_path(pkg);
	size_t nf = d ? d->n_functions : 0;
	if (nf || (d && d->defaultfunctionname && d->defaultfunctionname[0])) {
		if (pkg->spec_version < 9)
			fail(v, "%s: multifunction description needs specification version >= 9, found %d", path,
			     pkg->spec_version);
		if (d->n_input || d->n_output || d->n_state || d->n_traininginput)
			fail(v, "%s: multifunction model also declares top-level inputs/outputs/states", path);
		bool found = false;
		for (size_t i = 0; i < nf; i++)
			found |= !strcmp(d->functions[i]->name, d->defaultfunctionname);
		if (!found)
			fail(v, "%s: defaultFunctionName \"%s\" is not one of the described functions", path,
			     d->defaultfunctionname);
		for (size_t i = 0; i < nf; i++) {
			size_t k = 0;
			while (k < pkg->n_fns && strcmp(pkg->fns[k].name, d->functions[i]->name))
				k++;
			if (k == pkg->n_fns)
				fail(v, "%s: described function \"%s\" is not in the program", path,
				     d->functions[i]->name);
		}
		for (size_t k = 0; k < pkg->n_fns; k++) {
			size_t i = 0;
			while (i < nf && strcmp(pkg->fns[k].name, d->functions[i]->name))
				i++;
			if (i == nf)
				fail(v, "%s: program function \"%s\" has no description", path, pkg->fns[k].name);
		}
	}
	if (pkg->program_version != 1)
		fail(v, "%s: program version %lld (expected 1)", path, (long long)pkg->program_version);
	/* the weight file must enumerate in canonical packing, and every offset be a blob of it */
	const char *const *files = pkg->blob_files;
	size_t n_files = pkg->n_blob_files;
	for (size_t k = 0; k < n_files; k++) {
		const uint8_t *map;
		uint64_t len, *offs = NULL;
		uint32_t count;
		char *disp = NULL;
		if (mld__package_blobfile(pkg, files[k], &map, &len, &disp) ||
		    mld__blobfile_enumerate(&offs, &count, map, len, disp)) {
			fail(v, "%s", mld_error_last());
			free(disp);
			continue;
		}
		uint64_t end = 64;
		for (uint32_t b = 0; b < count; b++) {
			mld__blob_view bv;
			if (!mld__blobfile_read(&bv, map, len, offs[b], MLD_DT_INVALID, disp))
				end = bv.data_offset + bv.size;
		}
		if (count && end != len)
			fail(v, "%s: %llu bytes after the last blob (the canonical layout has none)", disp,
			     (unsigned long long)(len - end));
		for (size_t i = 0; i < pkg->n_weights; i++)
			for (size_t j = 0; j < pkg->weights[i].n_blobs; j++) {
				const mld_blob_ref *r = &pkg->weights[i].blobs[j];
				if (strcmp(r->file, files[k]))
					continue;
				bool ok = false;
				for (uint32_t b = 0; b < count && !ok; b++)
					ok = offs[b] == r->offset;
				if (!ok)
					fail(v,
					     "%s: function \"%s\", weight \"%s\": offset %llu is not a blob of the "
					     "enumerated file",
					     disp, pkg->weights[i].function, pkg->weights[i].name,
					     (unsigned long long)r->offset);
			}
		free(offs);
		free(disp);
	}
}

static void compare_source(vctx *v, const mld_package *out, const mld_source_spec *sp, int strict)
{
	mld_package *src;
	if (mld_package_open(&src, sp->path)) {
		fail(v, "source %s: %s", sp->name, mld_error_last());
		return;
	}
	const char *fn = sp->function ? sp->function : src->n_fns == 1 ? src->fns[0].name : "main";
	size_t f = 0;
	while (f < src->n_fns && strcmp(src->fns[f].name, fn))
		f++;
	if (f == src->n_fns) { /* a misspelt :FUNC compares nothing: that is no pass */
		const mld_weight *dummy;
		mld_package_find_weight(&dummy, src, fn, ""); /* "no function ... (functions: ...)" */
		fail(v, "source %s=%s: %s", sp->name, sp->path, mld_error_last());
		mld__err_clear();
		mld_package_free(src);
		return;
	}
	/* every weight of the output's function must come from this source */
	for (size_t i = 0; i < out->n_weights; i++) {
		const mld_weight *ow = &out->weights[i], *sw;
		if (!strcmp(ow->function, sp->name) && mld_package_find_weight(&sw, src, fn, ow->name)) {
			fail(v, "function \"%s\": weight \"%s\" is not in %s (function \"%s\")", sp->name, ow->name,
			     sp->path, fn);
			mld__err_clear();
		}
	}
	for (size_t i = 0; i < src->n_weights; i++) {
		const mld_weight *sw = &src->weights[i], *ow;
		if (strcmp(sw->function, fn))
			continue;
		if (mld_package_find_weight(&ow, out, sp->name, sw->name)) {
			fail(v, "function \"%s\": weight \"%s\" of %s is missing", sp->name, sw->name, sp->path);
			continue;
		}
		mld_tensor *a = NULL, *b = NULL;
		if (mld_weight_decode(&a, src, sw) || mld_weight_decode(&b, out, ow)) {
			fail(v, "function \"%s\", weight \"%s\": %s", sp->name, sw->name, mld_error_last());
		} else if (a->dtype == b->dtype && a->nbytes == b->nbytes && a->rank == b->rank &&
		           !memcmp(a->shape, b->shape, a->rank * sizeof *a->shape) &&
		           !memcmp(a->data, b->data, a->nbytes)) {
			v->st->exact++;
		} else {
			mld_metrics m;
			if (mld_tensor_compare(&m, a, b) || a->dtype != b->dtype) {
				fail(v, "function \"%s\", weight \"%s\": %s %s in the source, %s in the output",
				     sp->name, sw->name, mld_dtype_name(a->dtype), "of another shape or dtype",
				     mld_dtype_name(b->dtype));
			} else if (m.cos >= MLD_COS_MIN && m.mean_abs <= MLD_MEAN_ABS_MAX &&
			           (!strict || m.max_abs <= MLD_MAX_ABS_MAX_STRICT)) {
				v->st->close++;
			} else {
				fail(v,
				     "function \"%s\", weight \"%s\": differs from %s beyond the thresholds (cos %.6f, "
				     "max |d| %.4g, mean |d| %.4g)",
				     sp->name, sw->name, sp->path, m.cos, m.max_abs, m.mean_abs);
			}
		}
		v->st->weights++;
		mld_tensor_free(a);
		mld_tensor_free(b);
	}
	mld_package_free(src);
}

int mld_verify(mld_verify_stats *stats, const char *pkg_path, const mld_source_spec *sources, size_t n_sources,
               const mld_verify_opts *opts)
{
	mld__err_clear();
	memset(stats, 0, sizeof *stats);
	mld_verify_opts o = MLD_VERIFY_OPTS_INIT;
	if (opts && opts->version > MLD_VERIFY_OPTS_VERSION)
		return mld__err(MLD_EUSAGE, "mld_verify_opts version %u is newer than this library's %d", opts->version,
		                MLD_VERIFY_OPTS_VERSION);
	if (opts)
		o = *opts;
	int strict = o.strict;
	vctx v = {stats, o.problem, o.problem_ctx};
	mld_package *pkg;
	int rc = mld_package_open(&pkg, pkg_path);
	if (rc)
		return rc;
	stats->functions = (unsigned)pkg->n_fns;
	check_structure(&v, pkg);
	if (!n_sources) { /* structure only: every weight must still decode */
		for (size_t i = 0; i < pkg->n_weights; i++) {
			mld_tensor *t;
			if (mld_weight_decode(&t, pkg, &pkg->weights[i]))
				fail(&v, "%s", mld_error_last());
			mld_tensor_free(t);
			stats->weights++;
		}
	}
	for (size_t s = 0; s < n_sources; s++) {
		size_t k = 0;
		while (k < pkg->n_fns && strcmp(pkg->fns[k].name, sources[s].name))
			k++;
		if (k == pkg->n_fns)
			fail(&v, "%s: no function \"%s\"", pkg_path, sources[s].name);
		else
			compare_source(&v, pkg, &sources[s], strict);
	}
	if (n_sources && !stats->weights && !stats->failures)
		fail(&v, "%s: nothing was compared: the sources' functions have no weights", pkg_path);
	mld_package_free(pkg);
	return 0;
}
