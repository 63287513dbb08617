/* Finding ANEMLL exports by name and the combine jobs they imply. */
#include "../core/common.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct entry {
	char *path;   /* package path */
	char *prefix;
	char *lut;    /* "_lut6" or "" */
	char kind[32];/* FFN, prefill, FFN_rotate, prefill_rotate, FFN_PF, mono, mono_prefill, ... */
	int chunk, of;
	int ctx;      /* 0 when not in a ctxN folder */
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
	    isdigit((unsigned char)s[n - 5]) && s[n - 4] == 'o' && s[n - 3] == 'f' && isdigit((unsigned char)s[n - 2]) &&
	    isdigit((unsigned char)s[n - 1])) {
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
} list;

static int scan(list *l, const char *dir, int ctx, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return mld__err(MLD_ENOTFOUND, "%s: cannot read directory", dir);
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

int mld_anemll_plan(mld_anemll_job **jobs_out, size_t *n_out, const char *dir, const char *out_dir)
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
		static const char *const order[][2] = {{"FFN", "infer"}, {"FFN_rotate", "infer_rotate"},
		                                       {"prefill", "prefill"}, {"prefill_rotate", "prefill_rotate"}};
		char *outp = mld__sprintf("%s/%s_FFN_PF%s_chunk_%02dof%02d.mlpackage", od, a->prefix, a->lut, a->chunk, a->of);
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
				if (!b->ctx && !strcmp(b->kind + 5, order[k]) && !strcmp(b->prefix, a->prefix) && !strcmp(b->lut, a->lut)) {
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
		char *outp = mld__sprintf("%s/%s_FFN_PF_statex_chunk_%02dof%02d.mlpackage", od, a->prefix, a->chunk, a->of);
		if (!outp || (rc = add_job(&jobs, &nj, outp)))
			break;
		mld_anemll_job *j = &jobs[nj - 1];
		int maxctx = 0;
		const char *last_infer = NULL, *last_prefill = NULL, *li_fn = NULL, *lp_fn = NULL;
		for (size_t m = i; m < l.n && !rc; m++) {
			entry *b = &l.e[m];
			if (!b->ctx || used[m] || strcmp(b->prefix, a->prefix) || b->chunk != a->chunk || b->of != a->of)
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
		rc = mld__err(MLD_ENOTFOUND, "%s: no ANEMLL exports found (expected names like {prefix}_FFN_lut6_chunk_01of02.mlpackage)", dir);
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.e[i].path);
		free(l.e[i].prefix);
		free(l.e[i].lut);
	}
	free(l.e);
	if (rc) {
		mld_anemll_jobs_free(jobs, nj);
		return rc;
	}
	*jobs_out = jobs;
	*n_out = nj;
	return 0;
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
