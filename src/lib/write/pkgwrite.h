/* The package writer: a Model plus the bytes of its blobs -> an .mlpackage
 * directory with the two standard manifest items and a canonical weight.bin. */
#ifndef MLD_PKGWRITE_H
#define MLD_PKGWRITE_H

#include "../core/atomic.h"
#include "../io/mil.h"

/* One blob-valued Value of the model being written, and the bytes it must hold.
 * Items with equal keys are the same blob: written once, referenced by all.
 * Blobs are written in ascending key order. */
typedef struct mld__blob_item {
	mil_value *v;
	uint64_t key_hi, key_lo;
	const uint8_t *data;
	uint64_t size;
	uint32_t padding_bits;
	mld_dtype dtype;
} mld__blob_item;

/* What a write reports, and what it calls back. */
typedef struct mld__write_info {
	/* in: called after each distinct blob is written, with the item whose bytes were
	 * written (a caller lets their pages go); may be NULL */
	void (*written)(void *ctx, const mld__blob_item *it);
	void *ctx;
	/* in: if non-NULL, digests[i] gets the XXH3-128 of the bytes written for items[i]'s
	 * blob, hashed as they are written, so a caller can check what it assumed of them */
	mld_digest *digests;
	/* out: the XXH3-128 of model.mlmodel as written, and weight.bin's length (0: none) */
	mld_digest model;
	uint64_t weights_len;
} mld__write_info;

/* Every Value in the model that is a BlobFileValue (op attributes and input
 * bindings, nested blocks included), in a deterministic walk order. */
int mld__model_blob_values(mil_value ***out, size_t *n, mil_model *model);

/* The same for one function only. */
int mld__function_blob_values(mil_value ***out, size_t *n, mil_function *fn);

/* Write `model` (its blob Values get their new offsets and the standard file
 * name) with `items` to `path` atomically. flags: MLD_WRITE_REPLACE. */
int mld__write_package(mil_model *model, mld__blob_item *items, size_t n_items, const char *path, unsigned flags);

/* The same package written as the directory `dir` ("" = the root) inside an atomic
 * tree being built; `display` names it in messages. `info` may be NULL. */
int mld__write_package_into(mld__adir *d, const char *dir, mil_model *model, mld__blob_item *items, size_t n_items,
                            const char *display, mld__write_info *info);

/* A package written into memory (the fuzzers' writer: no files): its model.mlmodel,
 * Manifest.json and, if it has blobs (has_weights), weights/weight.bin. */
typedef struct mld__pkgmem {
	mld__buf model, weights, manifest;
	bool has_weights;
} mld__pkgmem;
int mld__write_package_mem(mil_model *model, mld__blob_item *items, size_t n_items, const char *display,
                           mld__pkgmem *out);
/* mld_package_write, into memory. */
int mld__package_write_mem(const mld_package *pkg, mld__pkgmem *out);
void mld__pkgmem_free(mld__pkgmem *m);

#endif
