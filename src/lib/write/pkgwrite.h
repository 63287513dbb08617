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

/* One distinct blob of a package whose model is already packed, in file order, with
 * the offset of its metadata record (mld__wblob_offset) that the model's Values hold. */
typedef struct mld__wblob {
	const uint8_t *data;
	uint64_t size, offset;
	uint32_t padding_bits;
	mld_dtype dtype;
} mld__wblob;

/* The file name the writer gives every blob Value. */
#define MLD_WEIGHT_FILE_NAME "@model_path/weights/weight.bin"

/* Where the canonical writer puts the metadata record of the blob that follows `end`
 * bytes of weight.bin (0: the first blob): known before anything is written. */
static inline uint64_t mld__wblob_offset(uint64_t end) { return mld__align64(end ? end : 64); }

/* What a write reports, and what it calls back. */
typedef struct mld__write_info {
	/* in: called after each distinct blob is written, with the bytes written (a caller
	 * lets their pages go); may be NULL */
	void (*written)(void *ctx, const uint8_t *data, uint64_t size);
	void *ctx;
	/* in: if non-NULL, digests[i] gets the XXH3-128 of the bytes written for blobs[i],
	 * hashed as they are written, so a caller can check what it assumed of them */
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

/* A package whose model.mlmodel is already packed (the n_model pieces of `model`, in
 * order, each in memory or a range of a scratch file: its blob Values name
 * MLD_WEIGHT_FILE_NAME at their blobs' offsets), with the
 * distinct `blobs` in file order, written as the directory `dir` inside an atomic tree
 * being built. A blob landing anywhere but at its offset is an error (the model would
 * point elsewhere). */
int mld__write_packed_into(mld__adir *d, const char *dir, const mld__piece *model, size_t n_model,
                           const mld__wblob *blobs, size_t n_blobs, const char *display, mld__write_info *info);

/* ---- a Model packed a piece at a time -------------------------------------------------
 * protobuf-c packs a message's known fields in field-number order (then its unknown
 * ones), and a map as one length-delimited entry per key. So a Model whose highest set
 * field is mlProgram (502) packs as the Model without it, then field 502 holding the
 * Program; and a Program as its version (1), each FunctionsEntry (2), then docString
 * (3) and attributes (4). Each function can so be packed while its model copy lives. */

/* Append field 2 of a Program, one FunctionsEntry (key -> fn), to *out. */
int mld__program_entry_pack(mld__buf *out, const char *key, const mil_function *fn);
/* The bytes around the packed entries, entries_len bytes in all (only their length
 * matters: they may be in a scratch file), of the Model `head` (mlProgram unset, no
 * unknown fields) whose Program is `rest` (no functions, no unknown fields) with those
 * entries: appended to *pre, the Model without its program, field 502's tag and
 * length, and the Program's version; to *post, its docString and attributes. pre, the
 * entries in order, then post are the whole Model packed at once, so it need never be
 * held in one piece. */
int mld__model_splice(mld__buf *pre, mld__buf *post, const mil_model *head, const mil_program *rest,
                      uint64_t entries_len);

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
