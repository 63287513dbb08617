/* mldedup ls: one row per weight of a package. */
#include "fields.h"
#include "opts.h"

#include "mldedup.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1, OPT_NO_HEADER, OPT_NO_DIGEST, OPT_FORMS };

static const cli_opt ls_opts[] = {
	{OPT_JSON, "json", 0, NULL, "JSON {format, package, weights[]}, with each blob's offset, dtype and size"},
	{OPT_NO_HEADER, "no-header", 0, NULL, "omit the header row of the table"},
	{OPT_NO_DIGEST, "no-digest", 0, NULL, "skip content digests (no dequantization; fast)"},
	{OPT_FORMS, "forms", 0, NULL, "one row per op chain instead: weights, decoded, unsupported, encoded bytes"},
	{0},
};

static void shape_str(char *buf, size_t n, const mld_weight *w)
{
	size_t k = 0;
	buf[0] = 0;
	for (unsigned d = 0; d < mld_weight_rank(w) && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? "x" : "",
		                      (unsigned long long)mld_weight_shape(w)[d]);
	if (!mld_weight_rank(w))
		snprintf(buf, n, "scalar");
}

/* Which forms the package uses and whether each decodes: the completeness report. */
static int list_forms(const cli_cmd *cmd, mld_package *pkg, bool json, bool header)
{
	enum { MAX_FORMS = 64 };
	struct form {
		const char *chain;
		uint64_t n, ok, bad, bytes;
	} f[MAX_FORMS];
	size_t nf = 0;
	int rc = EXIT_OK;
	for (size_t k = 0; k < mld_package_weight_count(pkg); k++) {
		const mld_weight *w = mld_package_weight(pkg, k);
		size_t i = 0;
		while (i < nf && strcmp(f[i].chain, mld_weight_chain(w)))
			i++;
		if (i == nf) {
			if (nf == MAX_FORMS)
				continue;
			f[nf++] = (struct form){mld_weight_chain(w), 0, 0, 0, 0};
		}
		mld_tensor *t;
		int drc = mld_weight_decode(&t, pkg, w);
		if (drc && drc != MLD_EUNSUPPORTED) {
			rc = cli_fail(cmd);
			break;
		}
		mld_tensor_free(t);
		f[i].n++;
		f[i].ok += drc == 0;
		f[i].bad += drc != 0;
		f[i].bytes += mld_weight_encoded_bytes(w);
	}
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < nf; i++)
			json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I,s:I}", "chain", f[i].chain, "weights",
			                                     (json_int_t)f[i].n, "decoded", (json_int_t)f[i].ok,
			                                     "unsupported", (json_int_t)f[i].bad, "encoded_bytes",
			                                     (json_int_t)f[i].bytes));
		json_t *doc = cli_json_doc();
		json_object_set_new(doc, "package", json_string(mld_package_path(pkg)));
		json_object_set_new(doc, "forms", arr);
		cli_json_emit(doc, NULL);
	} else {
		if (header)
			printf("chain\tweights\tdecoded\tunsupported\tencoded_bytes\n");
		for (size_t i = 0; i < nf; i++)
			printf("%s\t%llu\t%llu\t%llu\t%llu\n", f[i].chain, (unsigned long long)f[i].n,
			       (unsigned long long)f[i].ok, (unsigned long long)f[i].bad,
			       (unsigned long long)f[i].bytes);
	}
	for (size_t i = 0; i < nf; i++)
		if (f[i].bad)
			rc = EXIT_FAIL;
	mld_package_free(pkg);
	return rc;
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	bool json = false, header = true, digest = true, forms = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_NO_HEADER: header = false; break;
		case OPT_NO_DIGEST: digest = false; break;
		case OPT_FORMS: forms = true; break;
		default: return EXIT_USAGE;
		}
	}
	int i = cli_opts_rest(&st);
	if (argc - i != 1)
		return cli_usage_error(cmd, "expected one package, got %d arguments", argc - i);
	mld_package *pkg;
	if (mld_package_open(&pkg, argv[i]))
		return cli_fail(cmd);
	if (forms)
		return list_forms(cmd, pkg, json, header);
	json_t *arr = json ? json_array() : NULL;
	if (!json && header)
		printf("function\tname\tchain\tdtype\tshape\tencoded_bytes\tcontent_digest\n");
	int rc = EXIT_OK;
	for (size_t k = 0; k < mld_package_weight_count(pkg); k++) {
		const mld_weight *w = mld_package_weight(pkg, k);
		char hex[33] = "-", shape[256];
		if (digest) {
			mld_digest d;
			uint64_t dense;
			int drc = mld_weight_content_digest(&d, NULL, &dense, pkg, w);
			if (drc == MLD_EUNSUPPORTED) { /* reported, never guessed */
				fprintf(stderr, "mldedup ls: %s\n", cli_esc(mld_error_last()));
				snprintf(hex, sizeof hex, "unsupported");
				rc = EXIT_FAIL;
			} else if (drc) {
				rc = cli_fail(cmd);
				break;
			} else {
				mld_digest_hex(hex, &d);
			}
		}
		shape_str(shape, sizeof shape, w);
		if (!json) {
			printf("%s\t%s\t%s\t%s\t%s\t%llu\t%s\n", cli_esc(mld_weight_function(w)),
			       cli_esc(mld_weight_name(w)), mld_weight_chain(w), mld_dtype_name(mld_weight_dtype(w)),
			       shape, (unsigned long long)mld_weight_encoded_bytes(w), hex);
			continue;
		}
		json_t *o = json_object(), *sh = json_array(), *blobs = json_array();
		for (unsigned d = 0; d < mld_weight_rank(w); d++)
			json_array_append_new(sh, json_integer((json_int_t)mld_weight_shape(w)[d]));
		for (size_t b = 0; b < mld_weight_blob_count(w); b++) {
			const mld_blob_ref *r = mld_weight_blob(w, b);
			json_array_append_new(
				blobs, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:i}", "op", r->op, "param", r->param,
			                         "file", r->file, "offset", (json_int_t)r->offset, "data_offset",
			                         (json_int_t)r->data_offset, "size", (json_int_t)r->size, "dtype",
			                         mld_dtype_name(r->dtype), "padding_bits", (int)r->padding_bits));
		}
		json_object_set_new(o, "function", json_string(mld_weight_function(w)));
		json_object_set_new(o, "name", json_string(mld_weight_name(w)));
		json_object_set_new(o, "chain", json_string(mld_weight_chain(w)));
		json_object_set_new(o, "dtype", json_string(mld_dtype_name(mld_weight_dtype(w))));
		json_object_set_new(o, "shape", sh);
		json_object_set_new(o, "encoded_bytes", json_integer((json_int_t)mld_weight_encoded_bytes(w)));
		json_object_set_new(o, "content_digest", digest ? json_string(hex) : json_null());
		json_object_set_new(o, "blobs", blobs);
		json_array_append_new(arr, o);
	}
	if (json && rc == EXIT_OK) {
		json_t *doc = cli_json_doc();
		json_object_set_new(doc, "package", json_string(mld_package_path(pkg)));
		json_object_set_new(doc, "weights", arr);
		cli_json_emit(doc, NULL);
	} else {
		json_decref(arr);
	}
	mld_package_free(pkg);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "mldedup ls: cannot write to stdout\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

const cli_cmd cmd_ls = {
	"ls",
	"PKG",
	"List every weight of a package: function, name, op chain, dtype, shape, encoded bytes, content digest.",
	"PKG is an .mlpackage directory or a .zip holding one. The table is tab-separated with a header row;\n"
	"--json prints {format, package, weights: [...]} and adds every blob's offset, data offset, size, dtype\n"
	"and padding (with --forms: {format, package, forms: [...]}).\n",
	ls_opts,
	run};
