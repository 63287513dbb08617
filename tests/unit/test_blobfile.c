/* Blob storage v2 (format reference §3): the canonical writer reproduces the §3.7
 * worked example byte for byte; the reader enforces every §3.6 check. */
#include "testutil.h"

#include "core/hash.h"
#include "core/par.h"
#include "io/blobfile.h"
#include "tensor/subbyte.h"

#include <fcntl.h>
#include <unistd.h>

/* The writer takes a new file (the package writer creates it inside its atomic tree). */
static int open_new(mld__blobwriter **w, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	return mld__blobwriter_open(w, fd, path);
}

#define NAME "pkg.mlpackage/Data/com.apple.CoreML/weights/weight.bin"

/* A private, mutable copy of the example file. */
static uint8_t *example_copy(void)
{
	uint8_t *b = malloc(sizeof tu_example_blobfile);
	assert_non_null(b);
	memcpy(b, tu_example_blobfile, sizeof tu_example_blobfile);
	return b;
}

/* ---- writer ------------------------------------------------------------------------- */

static void test_writer_reproduces_worked_example(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/weight.bin", dir);
	mld__blobwriter *w = NULL;
	uint64_t off_a = 0, off_b = 0;
	assert_ok(open_new(&w, path));
	assert_int_equal(mld__blobwriter_size(w), 64);
	assert_ok(mld__blobwriter_add(w, &off_a, MLD_DT_FP16, tu_example_fp16_data, 8, 0));
	assert_int_equal(off_a, 64);
	assert_int_equal(mld__blobwriter_size(w), 136);
	assert_ok(mld__blobwriter_add(w, &off_b, MLD_DT_UINT4, tu_example_uint4_data, 3, 4));
	assert_int_equal(off_b, 192);
	assert_int_equal(mld__blobwriter_size(w), 259);
	assert_ok(mld__blobwriter_finish(w));
	mld__blobwriter_free(w);

	size_t len;
	uint8_t *f = tu_read_file(path, &len);
	assert_int_equal(len, 259); /* no trailing padding after the last blob */

	/* every field, as the §3.7 dump lists it */
	assert_int_equal(mld__rd32(f + 0x00), 2); /* header.count */
	assert_int_equal(mld__rd32(f + 0x04), 2); /* header.version */
	for (int i = 0x08; i < 0x40; i++)
		assert_int_equal(f[i], 0);                 /* header reserved */
	assert_int_equal(mld__rd32(f + 0x40), 0xDEADBEEF); /* A: sentinel */
	assert_memory_equal(f + 0x40, "\xEF\xBE\xAD\xDE", 4);
	assert_int_equal(mld__rd32(f + 0x44), 1);   /* A: dtype Float16 */
	assert_int_equal(mld__rd64(f + 0x48), 8);   /* A: sizeInBytes */
	assert_int_equal(mld__rd64(f + 0x50), 128); /* A: data offset */
	assert_int_equal(mld__rd64(f + 0x58), 0);   /* A: padding bits */
	for (int i = 0x60; i < 0x80; i++)
		assert_int_equal(f[i], 0); /* A: reserved */
	assert_memory_equal(f + 0x80, "\x00\x3C\x00\x40\x00\xB8\x00\x00", 8);
	for (int i = 0x88; i < 0xC0; i++)
		assert_int_equal(f[i], 0);                 /* zero fill up to 192 */
	assert_int_equal(mld__rd32(f + 0xC0), 0xDEADBEEF); /* B: sentinel */
	assert_int_equal(mld__rd32(f + 0xC4), 11);         /* B: dtype UInt4 */
	assert_int_equal(mld__rd64(f + 0xC8), 3);          /* B: sizeInBytes */
	assert_int_equal(mld__rd64(f + 0xD0), 256);        /* B: data offset */
	assert_int_equal(mld__rd64(f + 0xD8), 4);          /* B: padding bits */
	for (int i = 0xE0; i < 0x100; i++)
		assert_int_equal(f[i], 0); /* B: reserved */
	assert_memory_equal(f + 0x100, "\x21\xF3\x07", 3);

	/* and the whole file against the literal dump */
	assert_memory_equal(f, tu_example_blobfile, 259);
	free(f);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_writer_zeroes_padding_for_whole_byte_types(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/w.bin", dir);
	mld__blobwriter *w = NULL;
	uint64_t off = 0;
	uint8_t data[5] = {1, 2, 3, 4, 5};
	assert_ok(open_new(&w, path));
	assert_ok(mld__blobwriter_add(w, &off, MLD_DT_UINT8, data, 5, 3)); /* padding is meaningless here */
	assert_int_equal(off, 64);
	assert_ok(mld__blobwriter_add(w, &off, MLD_DT_INT8, data, 5, 0));
	assert_int_equal(off, 192); /* align64(128 + 5) */
	/* a dtype without a blob code is refused, naming the file */
	assert_mld_err(mld__blobwriter_add(w, &off, MLD_DT_BOOL, data, 5, 0), MLD_EUNSUPPORTED, path);
	assert_mld_err(mld__blobwriter_add(w, &off, MLD_DT_INT64, data, 5, 0), MLD_EUNSUPPORTED, "int64");
	assert_ok(mld__blobwriter_finish(w));
	mld__blobwriter_free(w);
	size_t len;
	uint8_t *f = tu_read_file(path, &len);
	assert_int_equal(len, 192 + 64 + 5);
	assert_int_equal(mld__rd32(f), 2);
	assert_int_equal(mld__rd32(f + 64 + 4), 3);  /* UInt8 code */
	assert_int_equal(mld__rd64(f + 64 + 24), 0); /* padding field written as 0 */
	assert_int_equal(mld__rd32(f + 192 + 4), 4); /* Int8 code */
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_ok(mld__blobfile_enumerate(&offs, &n, f, len, path));
	assert_int_equal(n, 2);
	assert_int_equal(offs[0], 64);
	assert_int_equal(offs[1], 192);
	free(offs);
	free(f);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_writer_open_failure_names_file(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/weight.bin", dir);
	tu_write_file(path, "", 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC); /* cannot take the header */
	assert_true(fd >= 0);
	mld__blobwriter *w = NULL;
	assert_mld_err(mld__blobwriter_open(&w, fd, path), MLD_EIO, path);
	assert_null(w);
	mld__blobwriter_free(NULL); /* NULL-safe */
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_writer_empty_file(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *path = tu_fmt("%s/w.bin", dir);
	mld__blobwriter *w = NULL;
	assert_ok(open_new(&w, path));
	assert_ok(mld__blobwriter_finish(w));
	mld__blobwriter_free(w);
	size_t len;
	uint8_t *f = tu_read_file(path, &len);
	assert_int_equal(len, 64);
	uint32_t count = 99;
	assert_ok(mld__blobfile_check_header(f, len, &count, path));
	assert_int_equal(count, 0);
	uint64_t *offs = NULL;
	uint32_t n = 99;
	assert_ok(mld__blobfile_enumerate(&offs, &n, f, len, path));
	assert_int_equal(n, 0);
	free(offs);
	free(f);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

/* Hashed as written: small blobs inline, large ones on the worker thread, and with one
 * thread (no worker) inline too; every way gives the digest of the bytes written, and
 * the same file. */
static void test_writer_hashes_what_it_writes(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	const uint64_t sizes[3] = {100, (3u << 20) + 5, 1u << 20};
	uint8_t *data = malloc(sizes[1] + 2); /* blob b starts at data + b */
	assert_non_null(data);
	for (uint64_t i = 0; i < sizes[1] + 2; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	uint8_t *files[2];
	size_t lens[2];
	for (int pass = 0; pass < 2; pass++) {
		setenv("MLD_THREADS", pass ? "1" : "2", 1);
		char *path = tu_fmt("%s/h%d.bin", dir, pass);
		mld__blobwriter *w = NULL;
		assert_ok(open_new(&w, path));
		for (int b = 0; b < 3; b++) {
			uint64_t off;
			mld_digest got, want;
			assert_ok(mld__blobwriter_add_hashed(w, &off, MLD_DT_UINT8, data + b, sizes[b], 0, &got));
			mld__hash128(want.bytes, data + b, (size_t)sizes[b]);
			assert_memory_equal(got.bytes, want.bytes, 16);
		}
		assert_ok(mld__blobwriter_finish(w));
		mld__blobwriter_free(w);
		files[pass] = tu_read_file(path, &lens[pass]);
		free(path);
	}
	unsetenv("MLD_THREADS");
	assert_int_equal(lens[0], lens[1]);
	assert_memory_equal(files[0], files[1], lens[0]);
	free(files[0]);
	free(files[1]);
	free(data);
	tu_rmtree(dir);
	free(dir);
}

/* The worker runs each job posted, once, by the time wait returns; free waits for a
 * job still running. */
static void add_one(void *arg) { ++*(int *)arg; }

static void test_worker_runs_jobs(void **state)
{
	(void)state;
	setenv("MLD_THREADS", "1", 1);
	assert_null(mld__worker_new()); /* no spare CPU: the caller works alone */
	setenv("MLD_THREADS", "2", 1);
	mld__worker *w = mld__worker_new();
	unsetenv("MLD_THREADS");
	assert_non_null(w);
	int n = 0;
	mld__worker_wait(w); /* nothing posted */
	for (int i = 0; i < 100; i++) {
		mld__worker_post(w, add_one, &n);
		mld__worker_wait(w);
		assert_int_equal(n, i + 1);
	}
	int last = 0;
	mld__worker_post(w, add_one, &last);
	mld__worker_free(w);
	assert_int_equal(last, 1);
	mld__worker_free(NULL);
}

/* ---- reader: the example reads back ----------------------------------------------------- */

static void test_read_worked_example(void **state)
{
	(void)state;
	const uint8_t *f = tu_example_blobfile;
	uint32_t count = 0;
	assert_ok(mld__blobfile_check_header(f, 259, &count, NAME));
	assert_int_equal(count, 2);

	mld__blob_view a, b;
	assert_ok(mld__blobfile_read(&a, f, 259, 64, MLD_DT_FP16, NAME));
	assert_int_equal(a.dtype, MLD_DT_FP16);
	assert_int_equal(a.size, 8);
	assert_int_equal(a.data_offset, 128);
	assert_int_equal(a.padding_bits, 0);
	assert_int_equal(a.count, 4);
	assert_ptr_equal(a.data, f + 128);
	assert_feq(mld__half_to_float(mld__rd16(a.data + 0)), 1.0);
	assert_feq(mld__half_to_float(mld__rd16(a.data + 2)), 2.0);
	assert_feq(mld__half_to_float(mld__rd16(a.data + 4)), -0.5);
	assert_feq(mld__half_to_float(mld__rd16(a.data + 6)), 0.0);

	assert_ok(mld__blobfile_read(&b, f, 259, 192, MLD_DT_UINT4, NAME));
	assert_int_equal(b.dtype, MLD_DT_UINT4);
	assert_int_equal(b.size, 3);
	assert_int_equal(b.data_offset, 256);
	assert_int_equal(b.padding_bits, 4);
	assert_int_equal(b.count, 5);
	uint8_t vals[5];
	mld__unpack(vals, b.data, 5, 4, false);
	assert_memory_equal(vals, ((uint8_t[]){1, 2, 3, 15, 7}), 5);

	/* MLD_DT_INVALID accepts any dtype */
	assert_ok(mld__blobfile_read(&b, f, 259, 192, MLD_DT_INVALID, NAME));
	assert_int_equal(b.dtype, MLD_DT_UINT4);

	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_ok(mld__blobfile_enumerate(&offs, &n, f, 259, NAME));
	assert_int_equal(n, 2);
	assert_int_equal(offs[0], 64);
	assert_int_equal(offs[1], 192);
	free(offs);
}

static void test_read_ignores_count_on_random_access(void **state)
{
	(void)state;
	uint8_t *f = example_copy();
	mld__wr32(f, 0); /* §3.6: random access does not check count */
	mld__blob_view v;
	assert_ok(mld__blobfile_read(&v, f, 259, 192, MLD_DT_UINT4, NAME));
	assert_int_equal(v.count, 5);
	free(f);
}

/* ---- reader: header checks ------------------------------------------------------------ */

static void test_bad_version(void **state)
{
	(void)state;
	static const uint32_t bad[] = {1, 3, 0, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint8_t *f = example_copy();
		mld__wr32(f + 4, bad[i]);
		char want[32];
		snprintf(want, sizeof want, "version %u", bad[i]);
		assert_mld_err(mld__blobfile_check_header(f, 259, NULL, NAME), MLD_EFORMAT, NAME);
		assert_non_null(strstr(mld_error_last(), want));
		uint64_t *offs = NULL;
		uint32_t n = 0;
		assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, 259, NAME), MLD_EFORMAT, NAME);
		assert_null(offs);
		free(f);
	}
	/* version 1 is called out as the old Espresso format */
	uint8_t *f = example_copy();
	mld__wr32(f + 4, 1);
	assert_mld_err(mld__blobfile_check_header(f, 259, NULL, NAME), MLD_EFORMAT, "Espresso");
	free(f);
}

static void test_truncated_header(void **state)
{
	(void)state;
	static const uint64_t lens[] = {0, 1, 8, 63};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		/* an exact-size heap copy, so ASan sees any read past the end */
		uint8_t *f = malloc(lens[i] ? lens[i] : 1);
		memcpy(f, tu_example_blobfile, lens[i]);
		assert_mld_err(mld__blobfile_check_header(f, lens[i], NULL, NAME), MLD_EFORMAT, NAME);
		assert_non_null(strstr(mld_error_last(), "truncated"));
		uint64_t *offs = NULL;
		uint32_t n = 0;
		assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, lens[i], NAME), MLD_EFORMAT, NAME);
		free(f);
	}
	/* exactly a header, count 0: valid */
	uint8_t hdr[64] = {[4] = 2};
	uint32_t count = 7;
	assert_ok(mld__blobfile_check_header(hdr, 64, &count, NAME));
	assert_int_equal(count, 0);
}

/* ---- reader: metadata checks ----------------------------------------------------------- */

static void test_wrong_sentinel(void **state)
{
	(void)state;
	mld__blob_view v;
	/* the data offset instead of the metadata offset */
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 128, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	assert_non_null(strstr(mld_error_last(), "sentinel"));
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 128, MLD_DT_INVALID, NAME), MLD_EFORMAT,
	               "sentinel");
	/* B's data offset: its metadata would cross the end of the file */
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 256, MLD_DT_UINT4, NAME), MLD_EFORMAT, NAME);
	/* a misaligned offset into A's metadata */
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 68, MLD_DT_INVALID, NAME), MLD_EFORMAT,
	               "sentinel");
	/* the header is never a blob */
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 0, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
	/* one flipped sentinel byte */
	uint8_t *f = example_copy();
	f[0xC3] = 0xDF;
	assert_mld_err(mld__blobfile_read(&v, f, 259, 192, MLD_DT_UINT4, NAME), MLD_EFORMAT, "0xDFADBEEF");
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, 259, NAME), MLD_EFORMAT, NAME);
	free(f);
}

static void test_dtype_mismatch(void **state)
{
	(void)state;
	mld__blob_view v;
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 64, MLD_DT_FP32, NAME), MLD_EFORMAT, NAME);
	assert_non_null(strstr(mld_error_last(), "fp16"));
	assert_non_null(strstr(mld_error_last(), "fp32"));
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 64, MLD_DT_BF16, NAME), MLD_EFORMAT, NAME);
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 64, MLD_DT_INT16, NAME), MLD_EFORMAT, NAME);
	/* int4 and uint4 have the same width but different codes */
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 192, MLD_DT_INT4, NAME), MLD_EFORMAT, "uint4");
	assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, 192, MLD_DT_UINT8, NAME), MLD_EFORMAT, NAME);
}

static void test_data_range_past_end(void **state)
{
	(void)state;
	mld__blob_view v;
	/* the file cut one byte short: B's data runs past the end, A is still fine */
	uint8_t *f = malloc(258);
	memcpy(f, tu_example_blobfile, 258);
	assert_mld_err(mld__blobfile_read(&v, f, 258, 192, MLD_DT_UINT4, NAME), MLD_EFORMAT, NAME);
	assert_non_null(strstr(mld_error_last(), "outside the file"));
	assert_ok(mld__blobfile_read(&v, f, 258, 64, MLD_DT_FP16, NAME));
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, 258, NAME), MLD_EFORMAT, NAME);
	free(f);

	/* sizeInBytes one too large */
	f = example_copy();
	mld__wr64(f + 0xC8, 4);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 192, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
	free(f);
	/* data offset beyond the file */
	f = example_copy();
	mld__wr64(f + 0x50, 300);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	free(f);
	/* data offset pointing back into its own metadata (or the header) */
	f = example_copy();
	mld__wr64(f + 0x50, 64);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	mld__wr64(f + 0x50, 0);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	free(f);
	/* data right after the metadata, not 64-aligned further on, is accepted: the
	 * reader checks ranges, not the writer's layout */
	f = example_copy();
	mld__wr64(f + 0x50, 136);
	assert_ok(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME));
	assert_int_equal(v.data_offset, 136);
	free(f);
}

static void test_offset_past_end(void **state)
{
	(void)state;
	mld__blob_view v;
	static const uint64_t offs_bad[] = {196, 259, 260, 320, 4096, 1ull << 40};
	for (size_t i = 0; i < sizeof offs_bad / sizeof *offs_bad; i++)
		assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, offs_bad[i], MLD_DT_INVALID, NAME),
		               MLD_EFORMAT, NAME);
	/* a header that claims more blobs than the canonical packing holds */
	uint8_t *f = example_copy();
	mld__wr32(f, 3);
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, 259, NAME), MLD_EFORMAT, NAME);
	assert_null(offs);
	mld__wr32(f, 0xFFFFFFFFu);
	assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, 259, NAME), MLD_EFORMAT, NAME);
	free(f);
}

static void test_offset_inside_header(void **state)
{
	(void)state;
	/* a header that happens to look like metadata (count 0xDEADBEEF, version 2 =
	 * "Float32", reserved words as size 4 at data offset 64) is still the header */
	uint8_t *f = example_copy();
	mld__wr32(f, MLD_BLOB_SENTINEL);
	mld__wr64(f + 8, 4);
	mld__wr64(f + 16, 64);
	uint32_t count = 0;
	assert_ok(mld__blobfile_check_header(f, 259, &count, NAME));
	assert_int_equal(count, 0xDEADBEEFu);
	mld__blob_view v;
	for (uint64_t off = 0; off < 64; off++)
		assert_mld_err(mld__blobfile_read(&v, f, 259, off, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
	assert_ok(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME));
	free(f);
}

static void test_offset_overflow(void **state)
{
	(void)state;
	mld__blob_view v;
	static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 63, UINT64_MAX - 64, 1ull << 63};
	for (size_t i = 0; i < sizeof huge / sizeof *huge; i++)
		assert_mld_err(mld__blobfile_read(&v, tu_example_blobfile, 259, huge[i], MLD_DT_INVALID, NAME),
		               MLD_EFORMAT, NAME);
	/* data offset + size wrapping around */
	uint8_t *f = example_copy();
	mld__wr64(f + 0x50, UINT64_MAX - 2);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	free(f);
	f = example_copy();
	mld__wr64(f + 0x48, UINT64_MAX - 127); /* 128 + size == 2^64 exactly: wraps to 0 */
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
	mld__wr64(f + 0x48, UINT64_MAX);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
	free(f);
	/* a sub-byte blob whose size*8 would overflow */
	f = example_copy();
	mld__wr64(f + 0xC8, (1ull << 61) + 1);
	assert_mld_err(mld__blobfile_read(&v, f, 259, 192, MLD_DT_UINT4, NAME), MLD_EFORMAT, NAME);
	free(f);
}

/* B of the example re-typed as `code` with `padding` bits; returns the read rc. */
static int read_b_as(uint32_t code, uint64_t padding, mld__blob_view *v)
{
	uint8_t *f = example_copy();
	mld__wr32(f + 0xC4, code);
	mld__wr64(f + 0xD8, padding);
	int rc = mld__blobfile_read(v, f, 259, 192, MLD_DT_INVALID, NAME);
	free(f);
	return rc;
}

static void test_subbyte_padding(void **state)
{
	(void)state;
	mld__blob_view v;
	/* padding >= 8 is never valid */
	static const uint64_t big[] = {8, 9, 64, 255, 1ull << 32, UINT64_MAX};
	static const uint32_t sub_codes[] = {8, 9, 10, 11, 12, 13}; /* int4 uint1 uint2 uint4 uint3 uint6 */
	for (size_t c = 0; c < 6; c++)
		for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
			assert_mld_err(read_b_as(sub_codes[c], big[i], &v), MLD_EFORMAT, NAME);
			assert_non_null(strstr(mld_error_last(), "padding"));
		}

	/* uint4 / int4 (3 bytes = 24 bits): padding must be 0 or 4 */
	assert_ok(read_b_as(11, 0, &v));
	assert_int_equal(v.count, 6);
	assert_ok(read_b_as(11, 4, &v));
	assert_int_equal(v.count, 5);
	assert_ok(read_b_as(8, 4, &v));
	assert_int_equal(v.dtype, MLD_DT_INT4);
	assert_int_equal(v.count, 5);
	for (uint64_t p = 1; p < 8; p++)
		if (p != 4) {
			assert_mld_err(read_b_as(11, p, &v), MLD_EFORMAT, "padding");
			assert_mld_err(read_b_as(8, p, &v), MLD_EFORMAT, NAME);
		}

	/* uint2: even paddings only */
	for (uint64_t p = 0; p < 8; p++) {
		if (p % 2 == 0) {
			assert_ok(read_b_as(10, p, &v));
			assert_int_equal(v.count, (24 - p) / 2);
			assert_int_equal(v.padding_bits, p);
		} else {
			assert_mld_err(read_b_as(10, p, &v), MLD_EFORMAT, "uint2");
		}
	}

	/* uint1: every padding below 8 is a multiple of 1 */
	for (uint64_t p = 0; p < 8; p++) {
		assert_ok(read_b_as(9, p, &v));
		assert_int_equal(v.count, 24 - p);
	}

	/* uint3: (24 - padding) must be divisible by 3 */
	for (uint64_t p = 0; p < 8; p++) {
		if ((24 - p) % 3 == 0) {
			assert_ok(read_b_as(12, p, &v));
			assert_int_equal(v.count, (24 - p) / 3);
		} else {
			assert_mld_err(read_b_as(12, p, &v), MLD_EFORMAT, "uint3");
		}
	}
	/* the §3.5 uint3 row: 3 elements in 2 bytes need exactly padding 7 */
	{
		uint8_t *f = example_copy();
		mld__wr32(f + 0xC4, 12);
		mld__wr64(f + 0xC8, 2);
		for (uint64_t p = 0; p < 8; p++) {
			mld__wr64(f + 0xD8, p);
			int rc = mld__blobfile_read(&v, f, 259, 192, MLD_DT_UINT3, NAME);
			if (p == 7 || p == 1 || p == 4) { /* 9, 15, 12 bits: 3, 5, 4 elements */
				assert_ok(rc);
				assert_int_equal(v.count, (16 - p) / 3);
			} else {
				assert_int_equal(rc, MLD_EFORMAT);
			}
		}
		free(f);
	}

	/* uint6: (24 - padding) divisible by 6 */
	for (uint64_t p = 0; p < 8; p++) {
		if ((24 - p) % 6 == 0) {
			assert_ok(read_b_as(13, p, &v));
			assert_int_equal(v.count, (24 - p) / 6);
		} else {
			assert_mld_err(read_b_as(13, p, &v), MLD_EFORMAT, "uint6");
		}
	}
}

static void test_unknown_dtype_code(void **state)
{
	(void)state;
	mld__blob_view v;
	static const uint32_t codes[] = {0, 18, 19, 99, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		uint8_t *f = example_copy();
		mld__wr32(f + 0x44, codes[i]);
		assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_INVALID, NAME), MLD_EFORMAT, NAME);
		assert_non_null(strstr(mld_error_last(), "unknown dtype"));
		assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
		free(f);
	}
	/* every documented code maps to its MIL dtype (§3.3) */
	static const struct {
		uint32_t code;
		mld_dtype dt;
	} map[] = {{1, MLD_DT_FP16},    {2, MLD_DT_FP32},   {3, MLD_DT_UINT8},   {4, MLD_DT_INT8},
	           {5, MLD_DT_BF16},    {6, MLD_DT_INT16},  {7, MLD_DT_UINT16},  {8, MLD_DT_INT4},
	           {9, MLD_DT_UINT1},   {10, MLD_DT_UINT2}, {11, MLD_DT_UINT4},  {12, MLD_DT_UINT3},
	           {13, MLD_DT_UINT6},  {14, MLD_DT_INT32}, {15, MLD_DT_UINT32}, {16, MLD_DT_FP8E4M3},
	           {17, MLD_DT_FP8E5M2}};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		assert_int_equal(mld__dtype_from_blob(map[i].code), map[i].dt);
		assert_int_equal(mld__dtype_to_blob(map[i].dt), map[i].code);
	}
	assert_int_equal(mld__dtype_to_blob(MLD_DT_BOOL), 0);
	assert_int_equal(mld__dtype_to_blob(MLD_DT_INT64), 0);
	assert_int_equal(mld__dtype_to_blob(MLD_DT_FP64), 0);
	assert_int_equal(mld__dtype_to_blob(MLD_DT_UINT64), 0);
}

static void test_whole_byte_size_must_be_whole_elements(void **state)
{
	(void)state;
	mld__blob_view v;
	uint8_t *f = example_copy();
	mld__wr64(f + 0x48, 7); /* 3.5 fp16 elements */
	assert_mld_err(mld__blobfile_read(&v, f, 259, 64, MLD_DT_FP16, NAME), MLD_EFORMAT, NAME);
	free(f);
}

static void test_reserved_fields_ignored(void **state)
{
	(void)state;
	uint8_t *f = example_copy();
	memset(f + 8, 0xA5, 56);    /* header reserved */
	memset(f + 0x60, 0x5A, 32); /* A reserved */
	memset(f + 0xE0, 0xFF, 32); /* B reserved */
	uint32_t count;
	assert_ok(mld__blobfile_check_header(f, 259, &count, NAME));
	assert_int_equal(count, 2);
	mld__blob_view a, b;
	assert_ok(mld__blobfile_read(&a, f, 259, 64, MLD_DT_FP16, NAME));
	assert_int_equal(a.size, 8);
	assert_int_equal(a.count, 4);
	assert_ok(mld__blobfile_read(&b, f, 259, 192, MLD_DT_UINT4, NAME));
	assert_int_equal(b.count, 5);
	assert_int_equal(b.padding_bits, 4);
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_ok(mld__blobfile_enumerate(&offs, &n, f, 259, NAME));
	assert_int_equal(n, 2);
	assert_int_equal(offs[1], 192);
	free(offs);
	free(f);
}

static void test_padding_ignored_for_whole_byte_types(void **state)
{
	(void)state;
	static const uint64_t pads[] = {5, 8, 0xDEADBEEFull, UINT64_MAX};
	for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
		uint8_t *f = example_copy();
		mld__wr64(f + 0x58, pads[i]); /* A is fp16: the slot was formerly reserved */
		mld__blob_view a;
		assert_ok(mld__blobfile_read(&a, f, 259, 64, MLD_DT_FP16, NAME));
		assert_int_equal(a.padding_bits, 0);
		assert_int_equal(a.count, 4);
		assert_int_equal(a.size, 8);
		uint64_t *offs = NULL;
		uint32_t n = 0;
		assert_ok(mld__blobfile_enumerate(&offs, &n, f, 259, NAME));
		assert_int_equal(n, 2);
		free(offs);
		free(f);
	}
}

static void test_enumerate_needs_canonical_packing(void **state)
{
	(void)state;
	/* move B one 64-byte slot later: random access still works, enumeration
	 * (which assumes align64 packing) does not */
	uint8_t f[259 + 64];
	memset(f, 0, sizeof f);
	memcpy(f, tu_example_blobfile, 192);
	memcpy(f + 256, tu_example_blobfile + 192, 67);
	mld__wr64(f + 256 + 16, 320);
	mld__blob_view v;
	assert_ok(mld__blobfile_read(&v, f, sizeof f, 256, MLD_DT_UINT4, NAME));
	assert_int_equal(v.count, 5);
	uint64_t *offs = NULL;
	uint32_t n = 0;
	assert_mld_err(mld__blobfile_enumerate(&offs, &n, f, sizeof f, NAME), MLD_EFORMAT, NAME);
	assert_null(offs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_reproduces_worked_example),
		cmocka_unit_test(test_writer_zeroes_padding_for_whole_byte_types),
		cmocka_unit_test(test_writer_open_failure_names_file),
		cmocka_unit_test(test_writer_empty_file),
		cmocka_unit_test(test_writer_hashes_what_it_writes),
		cmocka_unit_test(test_worker_runs_jobs),
		cmocka_unit_test(test_read_worked_example),
		cmocka_unit_test(test_read_ignores_count_on_random_access),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_wrong_sentinel),
		cmocka_unit_test(test_dtype_mismatch),
		cmocka_unit_test(test_data_range_past_end),
		cmocka_unit_test(test_offset_past_end),
		cmocka_unit_test(test_offset_inside_header),
		cmocka_unit_test(test_offset_overflow),
		cmocka_unit_test(test_subbyte_padding),
		cmocka_unit_test(test_unknown_dtype_code),
		cmocka_unit_test(test_whole_byte_size_must_be_whole_elements),
		cmocka_unit_test(test_reserved_fields_ignored),
		cmocka_unit_test(test_padding_ignored_for_whole_byte_types),
		cmocka_unit_test(test_enumerate_needs_canonical_packing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
