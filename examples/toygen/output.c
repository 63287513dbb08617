/* Writing: each package through the library's writer (canonical weight.bin, blobs
 * in program order), optionally a .zip of it, and toygen.json describing what
 * every non-anchor weight is meant to be relative to its anchor. */
#include "toygen.h"

#include "core/atomic.h"
#include "core/fsutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define ZIP_MTIME ((time_t)1704067200) /* fixed 2024-01-01: same input, same zip */

static void mkdirs_or_die(const char *dir)
{
	if (mld__mkdirs(dir, 0755))
		tg_die("%s", mld_error_last());
}

/* ---- zip ------------------------------------------------------------------------------ */

static void zip_fail(zip_t *z, const char *what, const char *path)
{
	tg_die("%s: cannot %s: %s", path, what, zip_strerror(z));
}

/* Add `fsdir` recursively under `prefix` (ending in '/'), names sorted for stable output.
 * weight.bin is stored, not deflated: packed indices do not compress and this is fast. */
static void zip_tree(zip_t *z, const char *zpath, const char *fsdir, const char *prefix)
{
	struct dirent **ents;
	int n = scandir(fsdir, &ents, NULL, alphasort);
	if (n < 0)
		tg_die("%s: cannot list directory", fsdir);
	zip_int64_t di = zip_dir_add(z, prefix, ZIP_FL_ENC_UTF_8);
	if (di < 0)
		zip_fail(z, "add a directory", zpath);
	zip_file_set_mtime(z, (zip_uint64_t)di, ZIP_MTIME, 0);
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		if (strcmp(nm, ".") && strcmp(nm, "..")) {
			char *fs = tg_fmt("%s/%s", fsdir, nm), *zn = tg_fmt("%s%s", prefix, nm);
			struct stat sb;
			if (stat(fs, &sb))
				tg_die("%s: cannot stat", fs);
			if (S_ISDIR(sb.st_mode)) {
				char *sub = tg_fmt("%s/", zn);
				zip_tree(z, zpath, fs, sub);
				free(sub);
			} else {
				zip_source_t *src = zip_source_file(z, fs, 0, -1);
				zip_int64_t fi =
					src ? zip_file_add(z, zn, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) : -1;
				if (fi < 0) {
					zip_source_free(src);
					zip_fail(z, "add a file", zpath);
				}
				zip_set_file_compression(z, (zip_uint64_t)fi,
				                         strcmp(nm, "weight.bin") ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
				zip_file_set_mtime(z, (zip_uint64_t)fi, ZIP_MTIME, 0);
			}
			free(fs);
			free(zn);
		}
		free(ents[i]);
	}
	free(ents);
}

/* <package>.zip holding "<name>.mlpackage/..."; libzip writes a temp file and renames. */
static void write_zip(const char *pkgdir, const char *name)
{
	char *zpath = tg_fmt("%s.zip", pkgdir), *prefix = tg_fmt("%s.mlpackage/", name);
	int err = 0;
	zip_t *z = zip_open(zpath, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!z) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, err);
		tg_die("%s: cannot create: %s", zpath, zip_error_strerror(&ze));
	}
	zip_tree(z, zpath, pkgdir, prefix);
	if (zip_close(z))
		zip_fail(z, "write", zpath);
	free(zpath);
	free(prefix);
}

/* ---- packages --------------------------------------------------------------------------- */

void tg_write_package(const tg_params *p, const tg_pkg *pkg)
{
	tg_fn fn = {0};
	mil_model *m = tg_build_model(&fn, p, pkg);
	char *path = tg_fmt("%s/%s", p->outdir, pkg->relpath);
	char *dir = tg_strdup(path);
	*strrchr(dir, '/') = 0;
	mkdirs_or_die(dir);
	if (mld__write_package(m, fn.items, fn.n_items, path, MLD_WRITE_REPLACE))
		tg_die("%s: %s", path, mld_error_last());
	core_ml__specification__model__free_unpacked(m, NULL);
	free(fn.items);
	if (p->zip)
		write_zip(path, pkg->name);
	free(dir);
	free(path);
}

/* ---- toygen.json ------------------------------------------------------------------------ */

static json_t *shape_json(const tg_weight *w)
{
	switch (w->kind) {
	case W_LUT: return json_pack("[I,I,i,i]", (json_int_t)w->rows, (json_int_t)w->cols, 1, 1);
	case W_GAMMA: return json_pack("[i,I,i,i]", 1, (json_int_t)w->rows, 1, 1);
	default: return json_pack("[I,I]", (json_int_t)w->rows, (json_int_t)w->cols);
	}
}

static json_t *weight_json(const tg_weight *w)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "logical", w->name, "kind", w->kind == W_LUT ? "lut" : "dense",
	                      "relation", tg_rel_name(w->rel), "shape", shape_json(w));
	if (w->rel == REL_ANCHOR || w->rel == REL_SHAPE)
		return o;
	json_object_set_new(o, "values_identical", json_boolean(w->diff.identical));
	json_object_set_new(o, "cos", json_real(w->diff.cos));
	json_object_set_new(o, "mean_abs", json_real(w->diff.mean_abs));
	json_object_set_new(o, "max_abs", json_real(w->diff.max_abs));
	if (w->rel == REL_MICRO) {
		json_object_set_new(o, "noise", json_real(w->noise));
		json_object_set_new(o, "method",
		                    json_string(w->kind != W_LUT ? "dense"
		                                : w->refit       ? "refit"
		                                                 : "kmeans"));
	}
	return o;
}

json_t *tg_pkg_json(const tg_params *p, const tg_pkg *pkg, const tg_pkg *anchor)
{
	json_t *ws = json_object();
	char opn[128];
	for (size_t i = 0; i < pkg->n_w; i++)
		json_object_set_new(ws, tg_weight_op_name(&pkg->w[i], opn, sizeof opn), weight_json(&pkg->w[i]));
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:s, s:b, s:s, s:o}", "path", pkg->relpath, "name",
	                      pkg->name, "chunk", pkg->chunk + 1, "variant", pkg->prefill ? "prefill" : "infer",
	                      "context", pkg->ctx, "seq_len", pkg->seq, "function", "main", "anchor", pkg->anchor,
	                      "anchor_path", anchor ? anchor->relpath : pkg->relpath, "weights", ws);
	if (p->zip)
		json_object_set_new(o, "zip", json_sprintf("%s.zip", pkg->relpath));
	return o;
}

static json_t *params_json(const tg_params *p)
{
	json_t *ctx = json_array();
	for (int i = 0; i < p->n_ctx; i++)
		json_array_append_new(ctx, json_integer(p->ctx[i]));
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:b, s:I, s:s, s:b}", "hidden",
	                 p->hidden, "intermediate", p->inter, "layers", p->layers, "chunks", p->chunks,
	                 "layers_per_chunk", tg_layers_per_chunk(p), "heads", p->heads, "kv_heads", p->kv_heads,
	                 "head_dim", p->head_dim, "lut_bits", p->lut_bits, "group_size", p->group_size, "prefill_len",
	                 p->prefill_len, "contexts", ctx, "context_dirs", p->ctx_dirs, "seed", (json_int_t)p->seed,
	                 "prefix", p->prefix, "zip", p->zip);
}

/* Write a whole file through the library's atomic-file module (one temp pattern, cleaned on signals). */
static void write_atomic(const char *path, const char *text)
{
	mld__afile *f;
	if (mld__afile_open(&f, path, 0) || mld__afile_write(f, text, strlen(text)) || mld__afile_commit(f))
		tg_die("%s", mld_error_last());
	mld__afile_free(f);
}

/* The same relations as toygen.json, one line per weight, for shell tests. */
static void write_tsv(const tg_params *p, json_t *packages)
{
	char *path = tg_fmt("%s/toygen.tsv", p->outdir), *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		tg_die("%s: out of memory", path);
	fprintf(f, "package\tanchor\tweight\trelation\n");
	size_t i;
	json_t *pk;
	json_array_foreach(packages, i, pk)
	{
		const char *key;
		json_t *w;
		json_object_foreach(json_object_get(pk, "weights"), key, w)
			fprintf(f, "%s\t%s\t%s\t%s\n", json_string_value(json_object_get(pk, "path")),
		                json_string_value(json_object_get(pk, "anchor_path")), key,
		                json_string_value(json_object_get(w, "relation")));
	}
	if (fclose(f))
		tg_die("%s: cannot build", path);
	write_atomic(path, text);
	free(text);
	free(path);
}

void tg_write_json(const tg_params *p, json_t *packages, json_t *groups)
{
	write_tsv(p, packages);
	json_t *root = json_pack("{s:s, s:i, s:o, s:o, s:o}", "generator", "mldedup-toygen", "format", 1, "params",
	                         params_json(p), "groups", groups, "packages", packages);
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
	if (!text)
		tg_die("cannot build toygen.json");
	char *path = tg_fmt("%s/toygen.json", p->outdir);
	write_atomic(path, text);
	json_decref(root);
	free(text);
	free(path);
}
