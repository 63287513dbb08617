/* MIL blob storage v2 ("weight.bin"): checked random-access reads and the
 * canonical writer (64-byte header, 64-byte metadata records, 64-byte alignment). */
#ifndef MLD_BLOBFILE_H
#define MLD_BLOBFILE_H

#include "../core/common.h"

#define MLD_BLOB_SENTINEL 0xDEADBEEFu
#define MLD_BLOB_VERSION 2u

typedef struct mld__blob_view {
	const uint8_t *data; /* points into the mapped file */
	uint64_t size;       /* sizeInBytes */
	uint64_t data_offset;
	uint32_t padding_bits; /* meaningful for sub-byte dtypes only, else 0 */
	mld_dtype dtype;
	uint64_t count; /* elements, derived from size and padding */
} mld__blob_view;

/* Validate the 64-byte file header (version 2). `name` is used in messages. */
int mld__blobfile_check_header(const uint8_t *map, uint64_t len, uint32_t *count_out, const char *name);

/* Read the blob whose metadata is at `offset`, performing every check of the
 * reference reader: sentinel, dtype equal to `expect` (MLD_DT_INVALID = any),
 * data range inside the file, sub-byte padding rules. */
int mld__blobfile_read(mld__blob_view *out, const uint8_t *map, uint64_t len, uint64_t offset, mld_dtype expect,
                       const char *name);

/* Offsets of every metadata record, enumerated by the canonical packing
 * (first at 64, next at align64(data_offset + size)), `count` times. */
int mld__blobfile_enumerate(uint64_t **offsets_out, uint32_t *count_out, const uint8_t *map, uint64_t len,
                            const char *name);

/* The bytes the canonical writer puts in a file: the 64-byte header of a file of
 * `count` blobs, and the metadata record of a blob whose data starts at data_offset
 * (MLD_EUNSUPPORTED for a dtype without a blob code). */
void mld__blobfile_header_bytes(uint8_t out[64], uint32_t count);
int mld__blobfile_meta_bytes(uint8_t out[64], mld_dtype dt, uint64_t size, uint64_t data_offset, uint32_t padding_bits);

typedef struct mld__blobwriter mld__blobwriter;

/* Write a blob file to `fd` (a new, empty file: see mld__adir_create), which the
 * writer owns from now on; `name` names it in messages. */
int mld__blobwriter_open(mld__blobwriter **out, int fd, const char *name);
/* A writer into memory (for the in-memory package writer): mld__blobwriter_finish
 * hands the file's bytes over in *mem. */
int mld__blobwriter_open_mem(mld__blobwriter **out, mld__buf *mem, const char *name);
/* Append one blob; *meta_off gets the offset to store in BlobFileValue.offset. */
int mld__blobwriter_add(mld__blobwriter *w, uint64_t *meta_off, mld_dtype dt, const void *data, uint64_t size,
                        uint32_t padding_bits);
/* The same, hashing the data (XXH3-128) as it is written: *digest gets its digest. A
 * blob of 1 MiB or more is hashed on a second thread while this one writes it (with
 * a spare CPU, see mld__worker_new), a smaller one a piece at a time just before the
 * piece is written, while it is in cache. */
int mld__blobwriter_add_hashed(mld__blobwriter *w, uint64_t *meta_off, mld_dtype dt, const void *data, uint64_t size,
                               uint32_t padding_bits, mld_digest *digest);
uint64_t mld__blobwriter_size(const mld__blobwriter *w);
/* Rewrite the header count, flush, fsync and close; reports ENOSPC and friends. */
int mld__blobwriter_finish(mld__blobwriter *w);
void mld__blobwriter_free(mld__blobwriter *w); /* closes without finishing if needed */

#endif
