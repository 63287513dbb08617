/* A weight's dense values, a block at a time: what the streaming content digest and
 * the streaming comparison of verification read, so that a weight's values are never
 * all in memory when its form allows (stream.c). */
#ifndef MLD_WREAD_H
#define MLD_WREAD_H

#include "../io/package.h"
#include "lutkern.h"

/* Elements per block (the last block of a weight may be shorter): a multiple of 8,
 * so that sub-byte index streams and the 8-lane comparison stay aligned. */
#define MLD_WREAD_BLOCK 16384

typedef struct mld__wread {
	const mld_package *pkg;
	const mld_weight *w;
	int kind;
	mld_dtype dtype;    /* of the values handed out */
	uint64_t count, at; /* elements, and the next one to read */
	uint64_t let_go;    /* bytes of src whose pages were let go (streaming forms) */
	/* buffered (mld__wread_buffer): src read with pread into chunk, never mapped */
	uint8_t *chunk, *lut_copy;
	uint64_t c0, clen, src_len, lut_len;
	unsigned width;     /* bytes per value */
	const uint8_t *src; /* const: the values; lut: the packed indices; whole: the tensor */
	mld_tensor *t;      /* whole: the decoded tensor */
	/* lut */
	const uint8_t *lut, *pal;
	uint8_t *idx, *buf;
	unsigned bits, lw, irank, s;
	uint64_t P, run, cur_run;
	uint64_t ishape[MLD_MAX_RANK], bs[MLD_MAX_RANK], gstr[MLD_MAX_RANK];
	bool fused;
	const mld__lutkern *kern;
	uint16_t pal16[256];
} mld__wread;

/* Start reading w's values. Plain whole-byte consts and iOS18 scalar-palette LUTs
 * stream; other forms are decoded whole when `whole` is set, else the reader has
 * nothing to give (mld__wread_streams false) and the caller decodes them itself. */
int mld__wread_open(mld__wread *r, const mld_package *pkg, const mld_weight *w, bool whole);
bool mld__wread_streams(const mld__wread *r);
/* Read the source bytes of a streaming reader into a buffer of its own (256 KiB)
 * instead of through the mapping, which maps a whole large folio ahead of the reader
 * (Linux 6.x): for a comparison reading a weight in every function at once, whose
 * resident size would otherwise grow by a folio a function. Nothing for other forms. */
int mld__wread_buffer(mld__wread *r);
/* The next block: *n values (0 at the end) at *data, valid until the next call. The
 * source pages of the blocks before are let go as the reader moves on, so reading a
 * weight holds about a block of it in memory, however large it is: a comparison
 * reading a weight in every function at once holds no more per function. */
int mld__wread_next(mld__wread *r, const void **data, uint64_t *n);
/* Free what the reader holds and let the weight's pages go (mld__weight_release). */
void mld__wread_close(mld__wread *r);

#endif
