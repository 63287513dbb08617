#include "blobfile.h"

#include "../core/atomic.h"
#include "../core/platform.h"
#include "../core/hash.h"
#include "../core/par.h"

#include "../core/dtype.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int mld__blobfile_check_header(const uint8_t *map, uint64_t len, uint32_t *count_out, const char *name)
{
	if (len < 64)
		return mld__err(MLD_EFORMAT, "%s: truncated blob file: %llu bytes, header needs 64", name,
		                (unsigned long long)len);
	uint32_t count = mld__rd32(map), version = mld__rd32(map + 4);
	if (version != MLD_BLOB_VERSION)
		return mld__err(MLD_EFORMAT, "%s: blob storage version %u, only version 2 is supported%s", name,
		                version, version == 1 ? " (version 1 is the old Espresso format)" : "");
	if (count_out)
		*count_out = count;
	return 0;
}

int mld__blobfile_read(mld__blob_view *out, const uint8_t *map, uint64_t len, uint64_t offset, mld_dtype expect,
                       const char *name)
{
	uint64_t end;
	if (offset < 64 || !mld__add_u64(offset, 64, &end) || end > len)
		return mld__err(MLD_EFORMAT, "%s: blob offset %llu is outside the file (%llu bytes)", name,
		                (unsigned long long)offset, (unsigned long long)len);
	const uint8_t *m = map + offset;
	uint32_t sentinel = mld__rd32(m), code = mld__rd32(m + 4);
	if (sentinel != MLD_BLOB_SENTINEL)
		return mld__err(MLD_EFORMAT,
		                "%s: no blob metadata at offset %llu (sentinel 0x%08X, expected 0xDEADBEEF)", name,
		                (unsigned long long)offset, sentinel);
	mld_dtype dt = mld__dtype_from_blob(code);
	if (dt == MLD_DT_INVALID)
		return mld__err(MLD_EFORMAT, "%s: blob at offset %llu has unknown dtype code %u", name,
		                (unsigned long long)offset, code);
	if (expect != MLD_DT_INVALID && dt != expect)
		return mld__err(MLD_EFORMAT, "%s: blob at offset %llu holds %s but the model declares %s", name,
		                (unsigned long long)offset, mld_dtype_name(dt), mld_dtype_name(expect));
	uint64_t size = mld__rd64(m + 8), data_off = mld__rd64(m + 16), pad = mld__rd64(m + 24);
	uint64_t data_end;
	if (!mld__add_u64(data_off, size, &data_end) || data_end > len || data_off < end)
		return mld__err(MLD_EFORMAT,
		                "%s: blob at offset %llu: data [%llu, +%llu) lies outside the file (%llu bytes)", name,
		                (unsigned long long)offset, (unsigned long long)data_off, (unsigned long long)size,
		                (unsigned long long)len);
	unsigned bits = mld_dtype_bits(dt);
	uint64_t count;
	if (bits < 8) {
		if (pad >= 8 || (bits != 3 && bits != 6 && pad % bits) || size == 0 || (size * 8 - pad) % bits)
			return mld__err(
				MLD_EFORMAT,
				"%s: blob at offset %llu: invalid padding of %llu bits for %s data of %llu bytes", name,
				(unsigned long long)offset, (unsigned long long)pad, mld_dtype_name(dt),
				(unsigned long long)size);
		count = (size * 8 - pad) / bits;
	} else {
		pad = 0; /* a former reserved slot: ignored for whole-byte types */
		if (size % (bits / 8))
			return mld__err(MLD_EFORMAT,
			                "%s: blob at offset %llu: %llu bytes is not a whole number of %s elements",
			                name, (unsigned long long)offset, (unsigned long long)size, mld_dtype_name(dt));
		count = size / (bits / 8);
	}
	out->data = map + data_off;
	out->size = size;
	out->data_offset = data_off;
	out->padding_bits = (uint32_t)pad;
	out->dtype = dt;
	out->count = count;
	return 0;
}

int mld__blobfile_enumerate(uint64_t **offsets_out, uint32_t *count_out, const uint8_t *map, uint64_t len,
                            const char *name)
{
	uint32_t count;
	int rc = mld__blobfile_check_header(map, len, &count, name);
	if (rc)
		return rc;
	if ((uint64_t)count > len / 128)
		return mld__err(MLD_EFORMAT, "%s: header claims %u blobs, more than the file can hold", name, count);
	uint64_t *offs = mld__calloc(count, sizeof *offs), off = 64;
	if (!offs)
		return MLD_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		mld__blob_view v;
		if ((rc = mld__blobfile_read(&v, map, len, off, MLD_DT_INVALID, name))) {
			free(offs);
			return rc;
		}
		offs[i] = off;
		off = mld__align64(v.data_offset + v.size);
	}
	*offsets_out = offs;
	*count_out = count;
	return 0;
}

/* ---- writer ---------------------------------------------------------------- */

void mld__blobfile_header_bytes(uint8_t out[64], uint32_t count)
{
	memset(out, 0, 64);
	mld__wr32(out, count);
	mld__wr32(out + 4, MLD_BLOB_VERSION);
}

int mld__blobfile_meta_bytes(uint8_t out[64], mld_dtype dt, uint64_t size, uint64_t data_offset, uint32_t padding_bits)
{
	uint32_t code = mld__dtype_to_blob(dt);
	if (!code)
		return MLD_EUNSUPPORTED;
	memset(out, 0, 64);
	mld__wr32(out, MLD_BLOB_SENTINEL);
	mld__wr32(out + 4, code);
	mld__wr64(out + 8, size);
	mld__wr64(out + 16, data_offset);
	mld__wr64(out + 24, mld__dtype_is_subbyte(dt) ? padding_bits : 0);
	return 0;
}

struct mld__blobwriter {
	int fd;
	mld__buf *mem; /* or into memory */
	char *path;
	uint64_t end;     /* current end of file */
	uint64_t started; /* [0, started) is on its way to the disk */
	uint32_t count;
	mld__worker *hasher; /* hashes a large blob while it is written; NULL: inline */
	bool hasher_tried;
};

/* A blob hashed on the worker while the caller writes it: the same bytes read twice
 * at once, so the write is not held up by the hash (the pages are in memory for the
 * one that comes second). */
#define ASYNC_HASH_MIN (1u << 20)
typedef struct hash_job {
	mld__hash *h;
	const uint8_t *p;
	uint64_t n;
} hash_job;

static void hash_run(void *arg)
{
	const hash_job *j = arg;
	for (uint64_t at = 0; at < j->n;) {
		size_t k = j->n - at < (1u << 20) ? (size_t)(j->n - at) : (1u << 20);
		mld__hash_update(j->h, j->p + at, k);
		at += k;
	}
}

/* Blobs are written in order: what is behind the end goes to the disk while the rest is
 * copied, and the final fsync waits for less. */
#define WRITEBACK_STEP (8u << 20)
static void write_behind(mld__blobwriter *w, uint64_t written)
{
	if (w->mem || written - w->started < WRITEBACK_STEP)
		return;
	mld__writeback_start(w->fd, w->started, written - w->started);
	w->started = written;
}

static int write_all(mld__blobwriter *w, const void *p, size_t n, uint64_t at)
{
	if (w->mem) {
		if (at > w->mem->len) { /* writes are at the end or inside, never past it */
			static const uint8_t zeros[64];
			while (w->mem->len < at)
				if (mld__buf_append(w->mem, zeros,
				                    at - w->mem->len < 64 ? (size_t)(at - w->mem->len) : 64))
					return MLD_ENOMEM;
		}
		size_t inside = at + n <= w->mem->len ? n : (size_t)(w->mem->len - at);
		if (inside)
			memcpy(w->mem->data + at, p, inside);
		return inside < n && mld__buf_append(w->mem, (const uint8_t *)p + inside, n - inside) ? MLD_ENOMEM : 0;
	}
	if (mld__pwrite_all(w->fd, p, n, at) != 0)
		return mld__err(MLD_EIO, "%s: write failed: %s", w->path, strerror(errno));
	return 0;
}

/* A writer into the file fd (owned) or, fd < 0, into mem; the header written. */
static int writer_new(mld__blobwriter **out, int fd, mld__buf *mem, const char *name)
{
	mld__blobwriter *w = mld__calloc(1, sizeof *w);
	if (!w || !(w->path = mld__strdup(name))) {
		free(w);
		if (fd >= 0)
			close(fd);
		return MLD_ENOMEM;
	}
	w->fd = fd;
	w->mem = mem;
	if (mem)
		mem->len = 0;
	uint8_t hdr[64];
	mld__blobfile_header_bytes(hdr, 0);
	int rc = write_all(w, hdr, 64, 0);
	if (rc) {
		mld__blobwriter_free(w);
		return rc;
	}
	w->end = 64;
	*out = w;
	return 0;
}

int mld__blobwriter_open(mld__blobwriter **out, int fd, const char *name) { return writer_new(out, fd, NULL, name); }

int mld__blobwriter_open_mem(mld__blobwriter **out, mld__buf *mem, const char *name)
{
	return writer_new(out, -1, mem, name);
}

/* One blob: padding to 64 bytes, its metadata, its data a piece at a time (hashed into
 * *digest as it is written, if digest is not NULL). */
static int add_blob(mld__blobwriter *w, uint64_t *meta_off, mld_dtype dt, const void *data, uint64_t size,
                    uint32_t padding_bits, mld_digest *digest)
{
	uint64_t moff = mld__align64(w->end);
	uint8_t meta[64];
	if (mld__blobfile_meta_bytes(meta, dt, size, moff + 64, padding_bits))
		return mld__err(MLD_EUNSUPPORTED, "%s: %s has no blob storage code", w->path, mld_dtype_name(dt));
	static const uint8_t zeros[64];
	int rc;
	if (moff > w->end && (rc = write_all(w, zeros, (size_t)(moff - w->end), w->end)))
		return rc;
	if ((rc = write_all(w, meta, 64, moff)))
		return rc;
	mld__hash h;
	if (digest)
		mld__hash_reset(&h);
	const uint8_t *p = data;
	if (digest && size >= ASYNC_HASH_MIN && !w->hasher_tried) {
		w->hasher = mld__worker_new();
		w->hasher_tried = true;
	}
	hash_job job = {&h, p, size};
	bool async = digest && size >= ASYNC_HASH_MIN && w->hasher;
	if (async)
		mld__worker_post(w->hasher, hash_run, &job);
	for (uint64_t at = 0; at < size && !rc;) {
		size_t k = size - at < (1u << 20) ? (size_t)(size - at) : (1u << 20);
		if (digest && !async)
			mld__hash_update(&h, p + at, k);
		if (!(rc = write_all(w, p + at, k, moff + 64 + at))) {
			at += k;
			write_behind(w, moff + 64 + at);
		}
	}
	if (async)
		mld__worker_wait(w->hasher); /* job and h live on this stack */
	if (rc)
		return rc;
	if (digest)
		mld__hash_digest(digest->bytes, &h);
	w->end = moff + 64 + size;
	w->count++;
	*meta_off = moff;
	write_behind(w, w->end);
	return 0;
}

int mld__blobwriter_add(mld__blobwriter *w, uint64_t *meta_off, mld_dtype dt, const void *data, uint64_t size,
                        uint32_t padding_bits)
{
	return add_blob(w, meta_off, dt, data, size, padding_bits, NULL);
}

int mld__blobwriter_add_hashed(mld__blobwriter *w, uint64_t *meta_off, mld_dtype dt, const void *data, uint64_t size,
                               uint32_t padding_bits, mld_digest *digest)
{
	return add_blob(w, meta_off, dt, data, size, padding_bits, digest);
}

uint64_t mld__blobwriter_size(const mld__blobwriter *w) { return w->end; }

int mld__blobwriter_finish(mld__blobwriter *w)
{
	uint8_t cnt[4];
	mld__wr32(cnt, w->count);
	int rc = write_all(w, cnt, 4, 0);
	if (rc || w->mem)
		return rc;
	if (mld__sys.fsync(w->fd) != 0)
		return mld__err(MLD_EIO, "%s: cannot flush to disk: %s", w->path, strerror(errno));
	int fd = w->fd;
	w->fd = -1;
	if (close(fd) != 0)
		return mld__err(MLD_EIO, "%s: close failed: %s", w->path, strerror(errno));
	return 0;
}

void mld__blobwriter_free(mld__blobwriter *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	mld__worker_free(w->hasher);
	free(w->path);
	free(w);
}
