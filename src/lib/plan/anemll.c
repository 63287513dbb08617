/* Finding ANEMLL exports by name and the combine jobs they imply. */
#include "../core/common.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct entry {
	char *path;      /* package path */
	const char *dir; /* the folder it is in (borrowed from the list) */
	char *prefix;
	char *lut;     /* "_lut6" or "" */
	char kind[32]; /* FFN, prefill, FFN_rotate, prefill_rotate, FFN_PF, mono, mono_prefill, ... */
	int chunk, of;
	int ctx; /* 0 when not in a ctxN folder */
} entry;

static bool strip_suffix(char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	if (a < b || strcmp(s + a - b, suf))
		return false;
	s[a - b] = 0;
	return true;
}

/* "_lutN" at the end of s: cut it off into lut. */
static void take_lut(char *s, char *lut, size_t n)
{
	lut[0] = 0;
	char *p = strrchr(s, '_');
	if (!p || strncmp(p, "_lut", 4) || !p[4])
		return;
	for (const char *q = p + 4; *q; q++)
		if (!isdigit((unsigned char)*q))
			return;
	snprintf(lut, n, "%s", p);
	*p = 0;
}

static const char *const chunk_kinds[] = {"prefill_rotate", "FFN_rotate", "prefill", "FFN_PF", "FFN"};

/* Parse a package stem; false if it is not an ANEMLL export name. */
static bool parse(entry *e, const char *stem)
{
	char s[1024], lut[32];
	snprintf(s, sizeof s, "%s", stem);
	size_t n = strlen(s);
	/* chunked: ..._chunk_NNofMM */
	if (n > 13 && !strncmp(s + n - 13, "_chunk_", 7) && isdigit((unsigned char)s[n - 6]) &&
	    isdigit((unsigned char)s[n - 5]) && s[n - 4] == 'o' && s[n - 3] == 'f' &&
	    isdigit((unsigned char)s[n - 2]) && isdigit((unsigned char)s[n - 1])) {
		e->chunk = atoi(s + n - 6);
		e->of = atoi(s + n - 2);
		s[n - 13] = 0;
		take_lut(s, lut, sizeof lut);
		for (size_t k = 0; k < sizeof chunk_kinds / sizeof *chunk_kinds; k++) {
			char suf[32];
			snprintf(suf, sizeof suf, "_%s", chunk_kinds[k]);
			if (strip_suffix(s, suf)) {
				snprintf(e->kind, sizeof e->kind, "%s", chunk_kinds[k]);
				e->prefix = mld__strdup(s);
				e->lut = mld__strdup(lut);
				return e->prefix && e->lut;
			}
		}
		return false;
	}
	/* monolithic: {prefix}_monolithic[_prefill][_rotate][_lutN] */
	take_lut(s, lut, sizeof lut);
	static const char *const mono[][2] = {{"_monolithic_prefill_rotate", "prefill_rotate"},
	                                      {"_monolithic_prefill", "prefill"},
	                                      {"_monolithic_rotate", "infer_rotate"},
	                                      {"_monolithic", "infer"}};
	for (size_t k = 0; k < 4; k++)
		if (strip_suffix(s, mono[k][0])) {
			snprintf(e->kind, sizeof e->kind, "mono_%s", mono[k][1]);
			e->prefix = mld__strdup(s);
			e->lut = mld__strdup(lut);
			return e->prefix && e->lut;
		}
	return false;
}

static int ctx_of(const char *dirname)
{
	const char *p = strstr(dirname, "ctx");
	return p && isdigit((unsigned char)p[3]) ? atoi(p + 3) : 0;
}

typedef struct list {
	entry *e;
	size_t n, cap;
	char **dirs; /* the folders scanned (owned) */
	size_t n_dirs;
} list;

static int scan(list *l, const char *dir_in, int ctx, int depth)
{
	DIR *d = opendir(dir_in);
	if (!d)
		return mld__err(MLD_ENOTFOUND, "%s: cannot read directory", dir_in);
	char **dp = mld__realloc(l->dirs, (l->n_dirs + 1) * sizeof *dp);
	if (!dp || !(dp[l->n_dirs] = mld__strdup(dir_in))) {
		if (dp)
			l->dirs = dp;
		closedir(d);
		return MLD_ENOMEM;
	}
	l->dirs = dp;
	const char *dir = dp[l->n_dirs++];
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = mld__sprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (!path || stat(path, &st) != 0) {
			free(path);
			continue;
		}
		char stem[1024];
		snprintf(stem, sizeof stem, "%s", de->d_name);
		bool pkg = S_ISDIR(st.st_mode) && strip_suffix(stem, ".mlpackage");
		if (!pkg && S_ISDIR(st.st_mode) && depth == 0 && ctx_of(de->d_name)) {
			rc = scan(l, path, ctx_of(de->d_name), 1);
			free(path);
			continue;
		}
		entry e = {0};
		if (pkg && parse(&e, stem)) {
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 32;
				entry *p = mld__realloc(l->e, l->cap * sizeof *p);
				if (!p) {
					rc = MLD_ENOMEM;
					free(path);
					break;
				}
				l->e = p;
			}
			e.path = path;
			e.dir = dir;
			e.ctx = ctx;
			l->e[l->n++] = e;
			continue;
		}
		free(e.prefix);
		free(e.lut);
		free(path);
	}
	closedir(d);
	return rc;
}

static int add_job(mld_anemll_job **jobs, size_t *n, char *output)
{
	mld_anemll_job *j = mld__realloc(*jobs, (*n + 1) * sizeof *j);
	if (!j) {
		free(output);
		return MLD_ENOMEM;
	}
	*jobs = j;
	j[*n] = (mld_anemll_job){output, NULL, 0};
	(*n)++;
	return 0;
}

static int add_src(mld_anemll_job *j, const char *name, const char *path, const char *fn)
{
	mld_source_spec *s = mld__realloc(j->sources, (j->n_sources + 1) * sizeof *s);
	if (!s)
		return MLD_ENOMEM;
	j->sources = s;
	s[j->n_sources] = (mld_source_spec){mld__strdup(name), mld__strdup(path), fn ? mld__strdup(fn) : NULL};
	j->n_sources++;
	return 0;
}

static int cmp_ctx(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	if (x->ctx != y->ctx)
		return x->ctx < y->ctx ? -1 : 1;
	return strcmp(x->kind, y->kind);
}

static void list_free(list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].prefix);
		free(l->e[i].lut);
	}
	free(l->e);
	for (size_t i = 0; i < l->n_dirs; i++)
		free(l->dirs[i]);
	free(l->dirs);
	memset(l, 0, sizeof *l);
}

/* The jobs of the exports found in dir; the list stays for the caller (sorted). */
static int plan_list(list *lp, mld_anemll_job **jobs_out, size_t *n_out, const char *dir, const char *out_dir)
{
	list l = {0};
	mld_anemll_job *jobs = NULL;
	size_t nj = 0;
	int rc = scan(&l, dir, ctx_of(dir) ? 0 : 0, 0);
	if (rc)
		goto out;
	if (l.n) /* qsort(NULL, 0, ...) is undefined */
		qsort(l.e, l.n, sizeof *l.e, cmp_ctx);
	const char *od = out_dir ? out_dir : dir;
	bool *used = mld__calloc(l.n ? l.n : 1, sizeof *used);
	if (!used) {
		rc = MLD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n && !rc; i++) {
		entry *a = &l.e[i];
		if (used[i] || a->ctx || strncmp(a->kind, "mono_", 5) == 0 || strcmp(a->kind, "FFN"))
			continue;
		/* a chunk group: FFN is the anchor */
		static const char *const order[][2] = {{"FFN", "infer"},
		                                       {"FFN_rotate", "infer_rotate"},
		                                       {"prefill", "prefill"},
		                                       {"prefill_rotate", "prefill_rotate"}};
		char *outp = mld__sprintf("%s/%s_FFN_PF%s_chunk_%02dof%02d.mlpackage", od, a->prefix, a->lut, a->chunk,
		                          a->of);
		if (!outp || (rc = add_job(&jobs, &nj, outp)))
			break;
		for (size_t k = 0; k < 4 && !rc; k++)
			for (size_t m = 0; m < l.n && !rc; m++) {
				entry *b = &l.e[m];
				if (!b->ctx && !strcmp(b->kind, order[k][0]) && !strcmp(b->prefix, a->prefix) &&
				    !strcmp(b->lut, a->lut) && b->chunk == a->chunk && b->of == a->of) {
					used[m] = true;
					rc = add_src(&jobs[nj - 1], order[k][1], b->path, NULL);
				}
			}
	}
	for (size_t i = 0; i < l.n && !rc; i++) { /* monolithic */
		entry *a = &l.e[i];
		if (used[i] || a->ctx || strcmp(a->kind, "mono_infer"))
			continue;
		char *outp = mld__sprintf("%s/%s_monolithic_full%s.mlpackage", od, a->prefix, a->lut);
		if (!outp || (rc = add_job(&jobs, &nj, outp)))
			break;
		static const char *const order[] = {"infer", "infer_rotate", "prefill", "prefill_rotate"};
		for (size_t k = 0; k < 4 && !rc; k++)
			for (size_t m = 0; m < l.n && !rc; m++) {
				entry *b = &l.e[m];
				if (!b->ctx && !strcmp(b->kind + 5, order[k]) && !strcmp(b->prefix, a->prefix) &&
				    !strcmp(b->lut, a->lut)) {
					used[m] = true;
					rc = add_src(&jobs[nj - 1], order[k], b->path, NULL);
				}
			}
	}
	/* state transition: per chunk, every context's infer (+prefill), ascending */
	for (size_t i = 0; i < l.n && !rc; i++) {
		entry *a = &l.e[i];
		if (used[i] || !a->ctx)
			continue;
		char *outp =
			mld__sprintf("%s/%s_FFN_PF_statex_chunk_%02dof%02d.mlpackage", od, a->prefix, a->chunk, a->of);
		if (!outp || (rc = add_job(&jobs, &nj, outp)))
			break;
		mld_anemll_job *j = &jobs[nj - 1];
		int maxctx = 0;
		const char *last_infer = NULL, *last_prefill = NULL, *li_fn = NULL, *lp_fn = NULL;
		for (size_t m = i; m < l.n && !rc; m++) {
			entry *b = &l.e[m];
			if (!b->ctx || used[m] || strcmp(b->prefix, a->prefix) || b->chunk != a->chunk ||
			    b->of != a->of)
				continue;
			used[m] = true;
			char name[64];
			bool pf = !strcmp(b->kind, "FFN_PF");
			if (!strcmp(b->kind, "FFN") || pf) {
				snprintf(name, sizeof name, "infer_ctx%d", b->ctx);
				rc = add_src(j, name, b->path, pf ? "infer" : NULL);
				if (b->ctx >= maxctx)
					maxctx = b->ctx, last_infer = b->path, li_fn = pf ? "infer" : NULL;
			}
			if (!rc && (!strcmp(b->kind, "prefill") || pf)) {
				snprintf(name, sizeof name, "prefill_ctx%d", b->ctx);
				rc = add_src(j, name, b->path, pf ? "prefill" : NULL);
				if (b->ctx >= maxctx)
					last_prefill = b->path, lp_fn = pf ? "prefill" : NULL;
			}
		}
		/* sources are sorted by context, so infer_ctx<min> is first: the anchor */
		if (!rc && last_infer)
			rc = add_src(j, "infer", last_infer, li_fn);
		if (!rc && last_prefill)
			rc = add_src(j, "prefill", last_prefill, lp_fn);
	}
	free(used);
	if (!rc && nj == 0)
		rc = mld__err(
			MLD_ENOTFOUND,
			"%s: no ANEMLL exports found (expected names like {prefix}_FFN_lut6_chunk_01of02.mlpackage)",
			dir);
out:
	*lp = l;
	if (rc) {
		mld_anemll_jobs_free(jobs, nj);
		return rc;
	}
	*jobs_out = jobs;
	*n_out = nj;
	return 0;
}

int mld_anemll_plan(mld_anemll_job **jobs_out, size_t *n_out, const char *dir, const char *out_dir)
{
	mld__err_clear();
	list l;
	int rc = plan_list(&l, jobs_out, n_out, dir, out_dir);
	list_free(&l);
	return rc;
}

void mld_anemll_jobs_free(mld_anemll_job *jobs, size_t n)
{
	for (size_t i = 0; jobs && i < n; i++) {
		for (size_t k = 0; k < jobs[i].n_sources; k++) {
			free((char *)jobs[i].sources[k].name);
			free((char *)jobs[i].sources[k].path);
			free((char *)jobs[i].sources[k].function);
		}
		free(jobs[i].sources);
		free(jobs[i].output);
	}
	free(jobs);
}

/* ---- layouts: what a group lacks, what is left as it is --------------------------------- */

static int strv_add(char ***v, size_t *n, char *s)
{
	if (!s)
		return MLD_ENOMEM;
	char **p = mld__realloc(*v, (*n + 1) * sizeof *p);
	if (!p) {
		free(s);
		return MLD_ENOMEM;
	}
	*v = p;
	p[(*n)++] = s;
	return 0;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

void mld_anemll_layout_free(mld_anemll_layout *l)
{
	if (!l)
		return;
	mld_anemll_jobs_free(l->jobs, l->n_jobs);
	for (size_t i = 0; i < l->n_missing; i++)
		free(l->missing[i]);
	for (size_t i = 0; i < l->n_other; i++)
		free(l->other[i]);
	free(l->missing);
	free(l->other);
	memset(l, 0, sizeof *l);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Every non-hidden entry of dir that no job reads or writes (one level; a folder
 * some source lies in counts as read). */
static int list_other(mld_anemll_layout *L, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return mld__err(MLD_ENOTFOUND, "%s: cannot read directory", dir);
	struct dirent *de;
	int rc = 0;
	char **names = NULL;
	size_t n = 0;
	while (!rc && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = strv_add(&names, &n, mld__strdup(de->d_name));
	closedir(d);
	if (n > 1) /* a stable order for people and tests */
		for (size_t i = 1; i < n; i++)
			for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
				char *t = names[k];
				names[k] = names[k - 1];
				names[k - 1] = t;
			}
	for (size_t i = 0; i < n && !rc; i++) {
		char *path = mld__sprintf("%s/%s", dir, names[i]);
		if (!path) {
			rc = MLD_ENOMEM;
			break;
		}
		size_t pl = strlen(path);
		bool used = false;
		for (size_t j = 0; j < L->n_jobs && !used; j++) {
			used = !strcmp(L->jobs[j].output, path);
			for (size_t k = 0; k < L->jobs[j].n_sources && !used; k++) {
				const char *sp = L->jobs[j].sources[k].path;
				used = !strncmp(sp, path, pl) && (sp[pl] == 0 || sp[pl] == '/');
			}
		}
		if (!used)
			rc = strv_add(&L->other, &L->n_other, path);
		else
			free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static char *export_path(const char *dir, const char *prefix, const char *kind, const char *lut, int chunk, int of)
{
	return mld__sprintf("%s/%s_%s%s_chunk_%02dof%02d.mlpackage", dir, prefix, kind, lut, chunk, of);
}

static bool has_entry(const list *l, const entry *like, const char *kind, int chunk, int ctx)
{
	for (size_t m = 0; m < l->n; m++) {
		const entry *b = &l->e[m];
		if (b->ctx == ctx && !strcmp(b->kind, kind) && !strcmp(b->prefix, like->prefix) &&
		    !strcmp(b->lut, like->lut) && b->chunk == chunk && b->of == like->of)
			return true;
	}
	return false;
}

/* What every group found lacks, named as the export would be. */
static int find_missing(mld_anemll_layout *L, const list *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const entry *a = &l->e[i];
		char *p = NULL;
		if (!strncmp(a->kind, "mono_", 5)) {
			bool rot = false;
			for (size_t m = 0; m < l->n; m++)
				rot |= !l->e[m].ctx && !strncmp(l->e[m].kind, "mono_", 5) &&
				       strstr(l->e[m].kind, "rotate") && !strcmp(l->e[m].prefix, a->prefix) &&
				       !strcmp(l->e[m].lut, a->lut);
			static const char *const need[][2] = {{"mono_infer", ""},
			                                      {"mono_prefill", "_prefill"},
			                                      {"mono_infer_rotate", "_rotate"},
			                                      {"mono_prefill_rotate", "_prefill_rotate"}};
			for (size_t k = 0; k < (rot ? 4u : 2u) && !rc; k++) {
				bool found = false;
				for (size_t m = 0; m < l->n && !found; m++)
					found = !l->e[m].ctx && !strcmp(l->e[m].kind, need[k][0]) &&
					        !strcmp(l->e[m].prefix, a->prefix) && !strcmp(l->e[m].lut, a->lut);
				if (found)
					continue;
				if (!(p = mld__sprintf("%s/%s_monolithic%s%s.mlpackage", a->dir, a->prefix, need[k][1],
				                       a->lut)))
					rc = MLD_ENOMEM;
				else if (strv_has(L->missing, L->n_missing, p))
					free(p);
				else
					rc = strv_add(&L->missing, &L->n_missing, p);
			}
			continue;
		}
		if (!strcmp(a->kind, "FFN_PF") && !a->ctx)
			continue; /* an earlier output */
		if (a->ctx) {     /* every chunk's infer in this context folder */
			for (int c = 1; c <= a->of && !rc; c++) {
				if (has_entry(l, a, "FFN", c, a->ctx) || has_entry(l, a, "FFN_PF", c, a->ctx))
					continue;
				if (!(p = export_path(a->dir, a->prefix, "FFN", a->lut, c, a->of)))
					rc = MLD_ENOMEM;
				else if (strv_has(L->missing, L->n_missing, p))
					free(p);
				else
					rc = strv_add(&L->missing, &L->n_missing, p);
			}
			continue;
		}
		bool rot = false;
		for (size_t m = 0; m < l->n; m++) {
			const entry *b = &l->e[m];
			rot |= !b->ctx && strstr(b->kind, "rotate") && !strcmp(b->prefix, a->prefix) &&
			       !strcmp(b->lut, a->lut) && b->of == a->of;
		}
		static const char *const kinds[] = {"FFN", "prefill", "FFN_rotate", "prefill_rotate"};
		for (int c = 1; c <= a->of && !rc; c++)
			for (size_t k = 0; k < (rot ? 4u : 2u) && !rc; k++) {
				if (has_entry(l, a, kinds[k], c, 0))
					continue;
				if (!(p = export_path(a->dir, a->prefix, kinds[k], a->lut, c, a->of)))
					rc = MLD_ENOMEM;
				else if (strv_has(L->missing, L->n_missing, p))
					free(p);
				else
					rc = strv_add(&L->missing, &L->n_missing, p);
			}
	}
	return rc;
}

int mld_anemll_scan(mld_anemll_layout *out, const char *dir, const char *out_dir)
{
	mld__err_clear();
	memset(out, 0, sizeof *out);
	list l;
	int rc = plan_list(&l, &out->jobs, &out->n_jobs, dir, out_dir);
	if (rc == MLD_ENOTFOUND && l.n) { /* groups without their anchor: say what they lack */
		mld__err_clear();
		rc = 0;
	}
	if (!rc)
		rc = find_missing(out, &l);
	if (!rc)
		rc = list_other(out, dir);
	list_free(&l);
	if (rc)
		mld_anemll_layout_free(out);
	return rc;
}

static int add_expected(mld_anemll_job *j, const char *name, char *path)
{
	if (!path)
		return MLD_ENOMEM;
	int rc = add_src(j, name, path, NULL);
	free(path);
	return rc;
}

int mld_anemll_expect(mld_anemll_layout *out, const char *in_dir, const char *out_dir, const mld_anemll_opts *opts)
{
	mld__err_clear();
	memset(out, 0, sizeof *out);
	mld_anemll_opts o = {0};
	if (opts && opts->version > MLD_ANEMLL_OPTS_VERSION)
		return mld__err(MLD_EUSAGE, "mld_anemll_opts version %u is newer than this library's %d", opts->version,
		                MLD_ANEMLL_OPTS_VERSION);
	if (opts)
		o = *opts;
	const char *prefix = o.prefix ? o.prefix : "llama";
	if (!*prefix || strchr(prefix, '/'))
		return mld__err(MLD_EUSAGE, "prefix \"%s\" is not a file name prefix", prefix);
	if (o.lut_bits < 0 || o.chunks < 0)
		return mld__err(MLD_EUSAGE, "negative LUT bits or chunk count");
	if (!o.monolithic && o.chunks == 0)
		return mld__err(MLD_EUSAGE, "--chunk is required for chunked mode (or use --monolithic)");
	if (!in_dir)
		in_dir = ".";
	const char *od = out_dir ? out_dir : in_dir;
	char lut[32] = "";
	if (o.lut_bits)
		snprintf(lut, sizeof lut, "_lut%d", o.lut_bits);
	int rc = 0;
	if (o.monolithic) {
		char *outp = mld__sprintf("%s/%s_monolithic_full%s.mlpackage", od, prefix, lut);
		if (!outp || (rc = add_job(&out->jobs, &out->n_jobs, outp)))
			rc = MLD_ENOMEM;
		mld_anemll_job *j = rc ? NULL : &out->jobs[0];
		static const char *const f[][2] = {{"infer", ""},
		                                   {"infer_rotate", "_rotate"},
		                                   {"prefill", "_prefill"},
		                                   {"prefill_rotate", "_prefill_rotate"}};
		for (size_t k = 0; k < 4 && !rc; k++)
			if (o.rotate || !strstr(f[k][0], "rotate"))
				rc = add_expected(
					j, f[k][0],
					mld__sprintf("%s/%s_monolithic%s%s.mlpackage", in_dir, prefix, f[k][1], lut));
	} else {
		for (int c = 1; c <= o.chunks && !rc; c++) {
			char *outp =
				mld__sprintf("%s/%s_FFN_PF%s_chunk_%02dof%02d.mlpackage", od, prefix, lut, c, o.chunks);
			if (!outp || (rc = add_job(&out->jobs, &out->n_jobs, outp))) {
				rc = MLD_ENOMEM;
				break;
			}
			mld_anemll_job *j = &out->jobs[out->n_jobs - 1];
			rc = add_expected(j, "infer", export_path(in_dir, prefix, "FFN", lut, c, o.chunks));
			if (!rc && o.rotate && !o.split_rotate)
				rc = add_expected(j, "infer_rotate",
				                  export_path(in_dir, prefix, "FFN_rotate", lut, c, o.chunks));
			if (!rc)
				rc = add_expected(j, "prefill",
				                  export_path(in_dir, prefix, "prefill", lut, c, o.chunks));
			if (!rc && o.rotate && !o.split_rotate)
				rc = add_expected(j, "prefill_rotate",
				                  export_path(in_dir, prefix, "prefill_rotate", lut, c, o.chunks));
			if (rc || !o.split_rotate)
				continue;
			outp = mld__sprintf("%s/%s_FFN_PF%s_chunk_%02dof%02d_rot.mlpackage", od, prefix, lut, c,
			                    o.chunks);
			if (!outp || (rc = add_job(&out->jobs, &out->n_jobs, outp))) {
				rc = MLD_ENOMEM;
				break;
			}
			j = &out->jobs[out->n_jobs - 1];
			rc = add_expected(j, "infer_rotate",
			                  export_path(in_dir, prefix, "FFN_rotate", lut, c, o.chunks));
			if (!rc)
				rc = add_expected(j, "prefill_rotate",
				                  export_path(in_dir, prefix, "prefill_rotate", lut, c, o.chunks));
		}
	}
	for (size_t j = 0; j < out->n_jobs && !rc; j++)
		for (size_t k = 0; k < out->jobs[j].n_sources && !rc; k++)
			if (!exists(out->jobs[j].sources[k].path))
				rc = strv_add(&out->missing, &out->n_missing,
				              mld__strdup(out->jobs[j].sources[k].path));
	if (!rc && exists(in_dir))
		rc = list_other(out, in_dir);
	if (rc)
		mld_anemll_layout_free(out);
	return rc;
}
