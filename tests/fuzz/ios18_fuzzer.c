/* Fuzz target "ios18": the op-set upgrade alone (mld__function_to_ios18, which
 * combine runs on every source function). The input is a model.mlmodel; each of
 * its functions is upgraded and relabelled CoreML8 as combine does. Properties:
 *  - the upgraded model packs and reads back;
 *  - a second upgrade of the result changes nothing (idempotent);
 *  - the values are the same: read with the weight.bin of a base package (the
 *    iOS16 one for specification version 8 or less), every weight that decodes
 *    before the upgrade decodes after it to the same content digest. */
#include "fuzz.h"

#include "core/dtype.h"
#include "io/blobfile.h"
#include "io/mil.h"
#include "write/ios18.h"
#include "write/pkgwrite.h"

#include <stdlib.h>
#include <string.h>

typedef struct sum {
	char key[600];
	int rc;
	mld_digest d;
} sum;

/* The upgrade retypes an iOS16 packed uint8 index stream as uintN, and combine's
 * writer then stores it under that type with its padding bits (combine_write.c,
 * resolve): patch a copy of the weight file the same way. NULL (skip the check)
 * when a blob would need two types. */
static uint8_t *retyped_weights(mil_model *m, const fz_files *base)
{
	size_t len = base->len[FZ_WEIGHTS];
	uint8_t *w = malloc(len ? len : 1), *seen = calloc(len ? len : 1, 1);
	FZ_ASSERT(w && seen, "out of memory");
	memcpy(w, base->data[FZ_WEIGHTS], len);
	mil_value **vals = NULL;
	size_t n = 0;
	bool ok = !mld__model_blob_values(&vals, &n, m);
	for (size_t i = 0; ok && i < n; i++) {
		mld_dtype dt;
		unsigned rank;
		uint64_t shape[MLD_MAX_RANK], count, off = vals[i]->blobfilevalue ? vals[i]->blobfilevalue->offset : 0;
		mld__blob_view bv;
		if (mil_tensor_shape(vals[i]->type, &dt, &rank, shape, &count, "") ||
		    mld__blobfile_read(&bv, base->data[FZ_WEIGHTS], len, off, MLD_DT_INVALID, "weight.bin")) {
			mld__err_clear();
			continue; /* the reader will say so, before and after alike */
		}
		unsigned bits = mld_dtype_bits(dt);
		if (bv.dtype == dt) {
			ok = seen[off] != 2;
			seen[off] = 1;
			continue;
		}
		uint64_t need = (count * bits + 7) / 8;
		if (bv.dtype != MLD_DT_UINT8 || bits >= 8 || need != bv.size || seen[off] == 1) {
			ok = false;
			break;
		}
		seen[off] = 2;
		mld__wr32(w + off + 4, mld__dtype_to_blob(dt));
		mld__wr64(w + off + 24, need * 8 - count * bits);
	}
	free(vals);
	free(seen);
	if (!ok) {
		free(w);
		return NULL;
	}
	return w;
}

/* The content digests of a package made of `model`, `weights` (NULL: base `which`'s)
 * and base `which`'s manifest. */
static sum *digests(const uint8_t *model, size_t len, const uint8_t *weights, int which, const char *path, size_t *n)
{
	fz_files f = *fz_base(which);
	f.data[FZ_MODEL] = (uint8_t *)model;
	f.len[FZ_MODEL] = len;
	if (weights)
		f.data[FZ_WEIGHTS] = (uint8_t *)weights;
	fz_register_files(path, &f);
	mld_package *p;
	*n = 0;
	if (mld_package_open(&p, path))
		return NULL;
	*n = mld_package_weight_count(p);
	sum *s = calloc(*n ? *n : 1, sizeof *s);
	for (size_t i = 0; s && i < *n; i++) {
		const mld_weight *w = mld_package_weight(p, i);
		uint64_t dense;
		snprintf(s[i].key, sizeof s[i].key, "%s/%s", mld_weight_function(w), mld_weight_name(w));
		s[i].rc = mld_weight_content_digest(&s[i].d, NULL, &dense, p, w);
	}
	mld_package_free(p);
	return s;
}

static uint8_t *pack(const mil_model *m, size_t *len)
{
	*len = core_ml__specification__model__get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	FZ_ASSERT(b, "out of memory");
	core_ml__specification__model__pack(m, b);
	return b;
}

/* Upgrade every function as combine does; 0 or the first failure. */
static int upgrade(mil_model *m)
{
	if (m->type_case != CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM || !m->mlprogram)
		return 1;
	for (size_t f = 0; f < m->mlprogram->n_functions; f++) {
		mil_function *fn = m->mlprogram->functions[f]->value;
		if (!fn)
			continue;
		int rc = mld__function_to_ios18(fn, m->mlprogram->functions[f]->key);
		if (rc)
			return rc;
	}
	return 0;
}

/* Relabel as combine's set_opset does (combine_write.c): the active block alone,
 * under "CoreML8". */
static void relabel(mil_model *m)
{
	m->specificationversion = 9;
	for (size_t f = 0; f < m->mlprogram->n_functions; f++) {
		mil_function *fn = m->mlprogram->functions[f]->value;
		const mil_block *active = fn ? mil_function_block(fn) : NULL;
		if (!active)
			continue; /* a package with it does not open */
		for (size_t i = 0; i < fn->n_block_specializations; i++) {
			CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry *e =
				fn->block_specializations[i];
			if (e->value != active)
				continue;
			char *k = strdup("CoreML8");
			FZ_ASSERT(k, "out of memory");
			if (e->key != protobuf_c_empty_string)
				free(e->key);
			e->key = k;
			for (size_t j = 0; j < fn->n_block_specializations; j++)
				if (j != i)
					protobuf_c_message_free_unpacked(&fn->block_specializations[j]->base, NULL);
			fn->block_specializations[0] = e;
			fn->n_block_specializations = 1;
			break;
		}
		char *o = strdup("CoreML8");
		FZ_ASSERT(o, "out of memory");
		if (fn->opset != protobuf_c_empty_string)
			free(fn->opset);
		fn->opset = o;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mil_model *m;
	if (mil_model_unpack(&m, data, size, "model.mlmodel"))
		return 0;
	int which = m->specificationversion <= 8 ? FZ_BASE_IOS16 : FZ_BASE_ALL;
	int rc = upgrade(m);
	if (rc < 0)
		fz_check_error(rc, "function");
	if (rc == 0) {
		relabel(m);
		size_t l1, l2;
		uint8_t *b1 = pack(m, &l1);
		mil_model *again;
		FZ_ASSERT(!mil_model_unpack(&again, b1, l1, "upgraded"), "the upgraded model does not read back: %s",
		          mld_error_last());
		FZ_ASSERT(!upgrade(again), "upgrading the upgraded model fails: %s", mld_error_last());
		uint8_t *b2 = pack(again, &l2);
		FZ_ASSERT(l1 == l2 && !memcmp(b1, b2, l1), "a second upgrade changes the model (%zu -> %zu bytes)", l1,
		          l2);
		core_ml__specification__model__free_unpacked(again, NULL);
		free(b2);
		/* the same values before and after */
		size_t na, nb;
		uint8_t *w = retyped_weights(m, fz_base(which));
		sum *a = w ? digests(data, size, NULL, which, "/fz/before.mlpackage", &na) : NULL;
		sum *b = a ? digests(b1, l1, w, which, "/fz/after.mlpackage", &nb) : NULL;
		if (a) {
			FZ_ASSERT(b, "the upgraded package does not open: %s", mld_error_last());
			FZ_ASSERT(na == nb, "%zu weights before the upgrade, %zu after", na, nb);
			for (size_t i = 0; i < na; i++) {
				size_t j = 0;
				while (j < nb && strcmp(a[i].key, b[j].key))
					j++;
				FZ_ASSERT(j < nb, "%s is gone after the upgrade", a[i].key);
				FZ_ASSERT(a[i].rc || (!b[j].rc && !memcmp(&a[i].d, &b[j].d, sizeof a[i].d)),
				          "%s: the upgrade changed its values (%s)", a[i].key,
				          b[j].rc ? mld_error_last() : "differ");
			}
		}
		free(a);
		free(b);
		free(b1);
		free(w);
		fz_reset();
	}
	core_ml__specification__model__free_unpacked(m, NULL);
	return 0;
}
