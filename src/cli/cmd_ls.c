/* mldedup ls: one row per weight of a package. */
#include "opts.h"

#include "mldedup.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 1, OPT_NO_HEADER, OPT_NO_DIGEST };

static const mld_opt ls_opts[] = {
	{OPT_JSON, "json", 0, NULL, "JSON array of weights, with each blob's offset, dtype and size"},
	{OPT_NO_HEADER, "no-header", 0, NULL, "omit the header row of the table"},
	{OPT_NO_DIGEST, "no-digest", 0, NULL, "skip content digests (no dequantization; fast)"},
	{0},
};

static void shape_str(char *buf, size_t n, const mld_weight *w)
{
	size_t k = 0;
	buf[0] = 0;
	for (unsigned d = 0; d < mld_weight_rank(w) && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? "x" : "", (unsigned long long)mld_weight_shape(w)[d]);
	if (!mld_weight_rank(w))
		snprintf(buf, n, "scalar");
}

static int run(const mld_cmd *cmd, int argc, char **argv)
{
	mld_optstate st;
	bool json = false, header = true, digest = true;
	int c;
	mld_opts_init(&st, cmd, argc, argv);
	while ((c = mld_opts_next(&st)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_NO_HEADER: header = false; break;
		case OPT_NO_DIGEST: digest = false; break;
		default: return EXIT_USAGE;
		}
	}
	int i = mld_opts_rest(&st);
	if (argc - i != 1)
		return mld_usage_error(cmd, "expected one package, got %d arguments", argc - i);
	mld_package *pkg;
	if (mld_package_open(&pkg, argv[i]))
		return mld_fail(cmd);
	json_t *arr = json ? json_array() : NULL;
	if (!json && header)
		printf("function\tname\tchain\tdtype\tshape\tencoded_bytes\tcontent_digest\n");
	int rc = EXIT_OK;
	for (size_t k = 0; k < mld_package_weight_count(pkg); k++) {
		const mld_weight *w = mld_package_weight(pkg, k);
		char hex[33] = "-", shape[256];
		if (digest) {
			mld_tensor *t;
			if (mld_weight_decode(&t, pkg, w)) {
				rc = mld_fail(cmd);
				break;
			}
			mld_digest d;
			mld_tensor_digest(&d, t);
			mld_digest_hex(hex, &d);
			mld_tensor_free(t);
		}
		shape_str(shape, sizeof shape, w);
		if (!json) {
			printf("%s\t%s\t%s\t%s\t%s\t%llu\t%s\n", mld_weight_function(w), mld_weight_name(w), mld_weight_chain(w),
			       mld_dtype_name(mld_weight_dtype(w)), shape, (unsigned long long)mld_weight_encoded_bytes(w), hex);
			continue;
		}
		json_t *o = json_object(), *sh = json_array(), *blobs = json_array();
		for (unsigned d = 0; d < mld_weight_rank(w); d++)
			json_array_append_new(sh, json_integer((json_int_t)mld_weight_shape(w)[d]));
		for (size_t b = 0; b < mld_weight_blob_count(w); b++) {
			const mld_blob_ref *r = mld_weight_blob(w, b);
			json_array_append_new(blobs, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:i}", "op", r->op, "param", r->param,
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
		json_dumpf(arr, stdout, JSON_INDENT(1));
		printf("\n");
	}
	json_decref(arr);
	mld_package_free(pkg);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "mldedup ls: cannot write to stdout\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

const mld_cmd cmd_ls = {
	"ls", "PKG", "List every weight of a package: function, name, op chain, dtype, shape, encoded bytes, content digest.",
	"PKG is an .mlpackage directory or a .zip holding one. The table is tab-separated with a header row;\n"
	"--json prints an array of objects and adds every blob's offset, data offset, size, dtype and padding.\n",
	ls_opts, run};
