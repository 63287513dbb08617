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
		int v = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
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

/* Feed a blob's bytes to the encoding digest, and to its own digest when asked:
 * the two in one pass, a cache-sized piece at a time. */
static void upd_blob(mld__hash *st, const uint8_t *p, uint64_t n, mld_digest *own)
{
	if (!own) {
		mld__hash_update(st, p, (size_t)n);
		return;
	}
	mld__hash bh;
	mld__hash_reset(&bh);
	for (uint64_t at = 0; at < n;) {
		size_t k = n - at > 65536 ? 65536 : (size_t)(n - at);
		mld__hash_update(st, p + at, k);
		mld__hash_update(&bh, p + at, k);
		at += k;
	}
	mld__hash_digest(own->bytes, &bh);
}

static int upd_value(mld__hash *st, const mld__enc_chain *c, const mil_value *v, const char *what)
{
	upd_type(st, v);
	if (v->value_case == MIL_VALUE_BLOB && v->blobfilevalue) {
		mld__blob_view bv;
		int rc = c->blob(c->ctx, v, &bv);
		if (rc)
			return mld__err_prefix("%s", what);
		mld__hash_update(st, "B", 1);
		upd_u64(st, bv.padding_bits);
		upd_u64(st, bv.size);
		mld_digest own;
		upd_blob(st, bv.data, bv.size, c->blob_digest ? &own : NULL);
		if (c->blob_digest)
			c->blob_digest(c->ctx, v, &own);
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

int mld__encoding_digest(mld_digest *out, const mld__enc_chain *c)
{
	mld__hash st;
	mld__hash_reset(&st);
	mld__hash_update(&st, "mlde1", 5);
	upd_u64(&st, c->out_index);
	for (size_t i = 0; i < c->n_ops; i++) {
		const mil_op *op = c->ops[i];
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
				const mil_op *pop = NULL;
				unsigned pout = 0;
				size_t pos = 0;
				if (c->ref(c->ctx, ref, &pop, &pout))
					while (pos < c->n_ops && c->ops[pos] != pop)
						pos++;
				mld__hash_update(&st, "R", 1);
				upd_u64(&st, pos);
				upd_u64(&st, pout);
				continue;
			}
			int rc = upd_value(&st, c, v, keys[k]);
			if (rc)
				return rc;
		}
	}
	finish(out, &st);
	return 0;
}

/* ---- the encoding digest of a weight of an opened package ------------------------ */

typedef struct pkg_chain {
	const mld_package *pkg;
	const mld_weight *w;
	mld_digest *blob_digests; /* per w->blobs[], or NULL */
} pkg_chain;

static bool pkg_ref(void *ctx, const char *name, const mil_op **op, unsigned *out_index)
{
	const pkg_chain *pc = ctx;
	return mld__chain_find(pc->w, name, op, out_index);
}

static int pkg_blob(void *ctx, const mil_value *v, mld__blob_view *bv)
{
	const pkg_chain *pc = ctx;
	const uint8_t *map;
	uint64_t len;
	char *disp = NULL;
	int rc = mld__package_blobfile(pc->pkg, v->blobfilevalue->filename, &map, &len, &disp);
	if (!rc && !(rc = mld__blobfile_check_header(map, len, NULL, disp)))
		rc = mld__blobfile_read(bv, map, len, v->blobfilevalue->offset, MLD_DT_INVALID, disp);
	free(disp);
	return rc;
}

static void pkg_blob_digest(void *ctx, const mil_value *v, const mld_digest *d)
{
	const pkg_chain *pc = ctx;
	for (size_t b = 0; b < pc->w->n_blobs; b++) {
		const mld_blob_ref *br = &pc->w->blobs[b];
		if (br->offset == v->blobfilevalue->offset && !strcmp(br->file, v->blobfilevalue->filename))
			pc->blob_digests[b] = *d;
	}
}

int mld__weight_encoding_digest_blobs(mld_digest *out, mld_digest *blob_digests, const mld_package *pkg,
                                      const mld_weight *w)
{
	pkg_chain pc = {pkg, w, blob_digests};
	mld__enc_chain c = {w->ops, w->n_ops, w->out_index, pkg_ref, pkg_blob, blob_digests ? pkg_blob_digest : NULL,
	                    &pc};
	int rc = mld__encoding_digest(out, &c);
	if (rc)
		return mld__err_prefix("%s: function \"%s\", weight \"%s\"", mld_package_path(pkg), w->function,
		                       w->name);
	return 0;
}

int mld_weight_encoding_digest(mld_digest *out, const mld_package *pkg, const mld_weight *w)
{
	return mld__weight_encoding_digest_blobs(out, NULL, pkg, w);
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
