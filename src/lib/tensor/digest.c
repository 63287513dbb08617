/* Digests (XXH3-128).
 *   content  = H("mldc1", dtype, rank, dims, dense values LE row-major)
 *   encoding = H("mlde1", for each op of the chain: type, then its parameters in
 *              name order: name, dtype, shape, and the stored bytes of the blob
 *              (with its padding bits) or the serialized immediate; a reference to
 *              another chain op is recorded by its position in the chain).
 * Op and weight names are not hashed: the same bytes under another name are the
 * same encoding. */
#include "../core/hash.h"
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "tensor.h"

#include <stdlib.h>

void mld_digest_hex(char out[33], const mld_digest *d)
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[d->bytes[i] >> 4];
		out[2 * i + 1] = hx[d->bytes[i] & 15];
	}
	out[32] = 0;
}

int mld_digest_from_hex(mld_digest *out, const char *hex)
{
	if (strlen(hex) != 32)
		return mld__err(MLD_EUSAGE, "digest \"%s\" is not 32 hex digits", hex);
	for (int i = 0; i < 32; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return mld__err(MLD_EUSAGE, "digest \"%s\" is not 32 hex digits", hex);
		if (i & 1)
			out->bytes[i / 2] |= (uint8_t)v;
		else
			out->bytes[i / 2] = (uint8_t)(v << 4);
	}
	return 0;
}

static void finish(mld_digest *out, mld__hash *st) { mld__hash_digest(out->bytes, st); }

static void upd_u64(mld__hash *st, uint64_t v)
{
	uint8_t b[8];
	mld__wr64(b, v);
	mld__hash_update(st, b, 8);
}

static void upd_str(mld__hash *st, const char *s) { mld__hash_update(st, s, strlen(s) + 1); }

void mld_tensor_digest(mld_digest *out, const mld_tensor *t)
{
	mld__hash st;
	mld__hash_reset(&st);
	mld__hash_update(&st, "mldc1", 5);
	upd_u64(&st, (uint64_t)t->dtype);
	upd_u64(&st, t->rank);
	for (unsigned d = 0; d < t->rank; d++)
		upd_u64(&st, t->shape[d]);
	mld__hash_update(&st, t->data, t->nbytes);
	finish(out, &st);
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void upd_type(mld__hash *st, const mil_value *v)
{
	mld_dtype dt = MLD_DT_INVALID;
	unsigned rank = 0;
	uint64_t shape[MLD_MAX_RANK], count;
	if (mil_tensor_shape(v->type, &dt, &rank, shape, &count, "")) {
		mld__err_clear();
		rank = 0;
	}
	upd_u64(st, (uint64_t)dt);
	upd_u64(st, rank);
	for (unsigned d = 0; d < rank; d++)
		upd_u64(st, shape[d]);
}

static int upd_value(mld__hash *st, const mld_package *pkg, const mil_value *v, const char *what)
{
	upd_type(st, v);
	if (v->value_case == MIL_VALUE_BLOB && v->blobfilevalue) {
		const uint8_t *map;
		uint64_t len;
		char *disp = NULL;
		mld__blob_view bv;
		int rc = mld__package_blobfile(pkg, v->blobfilevalue->filename, &map, &len, &disp);
		if (!rc && !(rc = mld__blobfile_check_header(map, len, NULL, disp)))
			rc = mld__blobfile_read(&bv, map, len, v->blobfilevalue->offset, MLD_DT_INVALID, disp);
		free(disp);
		if (rc)
			return mld__err_prefix("%s", what);
		mld__hash_update(st, "B", 1);
		upd_u64(st, bv.padding_bits);
		upd_u64(st, bv.size);
		mld__hash_update(st, bv.data, bv.size);
	} else if (v->value_case == MIL_VALUE_IMMEDIATE && v->immediatevalue) {
		size_t n = protobuf_c_message_get_packed_size(&v->immediatevalue->base);
		uint8_t stackbuf[512], *buf = n <= sizeof stackbuf ? stackbuf : mld__malloc(n);
		if (!buf)
			return MLD_ENOMEM;
		protobuf_c_message_pack(&v->immediatevalue->base, buf);
		mld__hash_update(st, "I", 1);
		upd_u64(st, n);
		mld__hash_update(st, buf, n);
		if (buf != stackbuf)
			free(buf);
	} else {
		mld__hash_update(st, "?", 1);
	}
	return 0;
}

int mld_weight_encoding_digest(mld_digest *out, const mld_package *pkg, const mld_weight *w)
{
	const mld__function *fn = &pkg->fns[w->fn_index];
	mld__hash st;
	mld__hash_reset(&st);
	mld__hash_update(&st, "mlde1", 5);
	upd_u64(&st, w->out_index);
	for (size_t i = 0; i < w->n_ops; i++) {
		const mil_op *op = w->ops[i];
		upd_str(&st, op->type);
		const char *keys[128];
		size_t n = 0;
		for (size_t k = 0; k < op->n_attributes && n < 128; k++)
			if (strcmp(op->attributes[k]->key, "name"))
				keys[n++] = op->attributes[k]->key;
		for (size_t k = 0; k < op->n_inputs && n < 128; k++)
			keys[n++] = op->inputs[k]->key;
		qsort(keys, n, sizeof *keys, cmp_key);
		for (size_t k = 0; k < n; k++) {
			const mil_value *v;
			const char *ref;
			upd_str(&st, keys[k]);
			if (!mil_op_param(op, keys[k], &v, &ref))
				continue;
			if (ref) {
				const mld__producer *p = mld__strmap_get(&fn->producers, ref);
				size_t pos = 0;
				while (p && pos < w->n_ops && w->ops[pos] != p->op)
					pos++;
				mld__hash_update(&st, "R", 1);
				upd_u64(&st, pos);
				upd_u64(&st, p ? p->out_index : 0);
				continue;
			}
			int rc = upd_value(&st, pkg, v, keys[k]);
			if (rc)
				return mld__err_prefix("%s: function \"%s\", weight \"%s\"", mld_package_path(pkg), w->function,
				                      w->name);
		}
	}
	finish(out, &st);
	return 0;
}

int mld_package_weights_digest(mld_digest *out, uint64_t *size_out, const mld_package *pkg)
{
	mld__hash st;
	mld__hash_reset(&st);
	uint64_t total = 0;
	for (size_t f = 0; f < pkg->n_blob_files; f++) {
		const uint8_t *map;
		uint64_t len;
		int rc = mld__package_blobfile(pkg, pkg->blob_files[f], &map, &len, NULL);
		if (rc)
			return rc;
		mld__package_hash_mapped(pkg, &st, map, len);
		total += len;
	}
	finish(out, &st);
	if (size_out)
		*size_out = total;
	return 0;
}
