/* Palette decode kernels: every path this machine runs gives the scalar reference's
 * bytes, for every form, palette size and length (odd ones, tails, long runs), at
 * odd alignments, reading no byte past its input and writing none past its output;
 * and the dispatcher honours MLD_CPU. */
#include "testutil.h"

#include "core/hash.h"
#include "tensor/lutkern.h"
#include "tensor/cmpkern.h"
#include "core/dtype.h"
#include <math.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *self; /* argv[0], re-run with another MLD_CPU */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An input buffer whose last byte is the last of a page followed by an inaccessible
 * page: a kernel reading past its input faults. */
typedef struct guarded {
	uint8_t *map;
	size_t maplen;
} guarded;

static uint8_t *guarded_alloc(guarded *g, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), body = (len + pg - 1) / pg * pg;
	g->maplen = body + pg;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + body, pg, PROT_NONE), 0);
	return g->map + body - len;
}

static void guarded_free(guarded *g) { munmap(g->map, g->maplen); }

enum { F_U4, F_U6, F_U8, F_B64, F_COUNT };
static const char *const form_name[F_COUNT] = {"u4", "u6", "u8", "b64"};
static const unsigned form_group[F_COUNT] = {2, 4, 1, 1};

static mld__lut_fn form_fn(const mld__lutkern *k, int f)
{
	return f == F_U4 ? k->u4 : f == F_U6 ? k->u6 : f == F_U8 ? k->u8 : k->b64;
}

static size_t src_bytes(int f, size_t n) { return f == F_U4 ? n / 2 : f == F_U6 ? n / 4 * 3 : n; }

/* Run form f of kernel k and of the scalar reference on the same random input of n
 * elements; `entries` live palette entries (the rest of the table zero, as callers
 * pad it), b64 indices below `entries` unless `wild` (then any byte). */
static void check_one(const mld__lutkern *k, int f, size_t n, unsigned entries, bool wild, size_t dst_off)
{
	uint16_t pal[256] = {0};
	for (unsigned e = 0; e < entries; e++)
		pal[e] = (uint16_t)rnd();
	size_t nb = src_bytes(f, n);
	guarded g;
	uint8_t *src = guarded_alloc(&g, nb);
	for (size_t i = 0; i < nb; i++)
		src[i] = (uint8_t)rnd();
	if (f == F_B64 && !wild)
		for (size_t i = 0; i < nb; i++)
			src[i] %= entries;
	enum { CANARY = 67 };
	uint16_t *ref = malloc((n + 1) * sizeof *ref), *out = malloc((n + dst_off + CANARY) * sizeof *out);
	assert_non_null(ref);
	assert_non_null(out);
	for (size_t i = 0; i < n + dst_off + CANARY; i++)
		out[i] = 0xA5A5;
	form_fn(&mld__lutkern_scalar, f)(ref, src, n, pal);
	form_fn(k, f)(out + dst_off, src, n, pal);
	for (size_t i = 0; i < n; i++)
		if (out[dst_off + i] != ref[i])
			fail_msg("%s %s: n=%zu entries=%u dst+%zu: element %zu = %04x, scalar gives %04x", k->name,
			         form_name[f], n, entries, dst_off, i, out[dst_off + i], ref[i]);
	for (size_t i = 0; i < dst_off; i++)
		if (out[i] != 0xA5A5)
			fail_msg("%s %s: n=%zu wrote before its output", k->name, form_name[f], n);
	for (size_t i = n + dst_off; i < n + dst_off + CANARY; i++)
		if (out[i] != 0xA5A5)
			fail_msg("%s %s: n=%zu wrote element %zu past its output", k->name, form_name[f], n,
			         i - dst_off);
	free(ref);
	free(out);
	guarded_free(&g);
}

static unsigned palette_of(int f) { return f == F_U4 ? 16 : f == F_U8 ? 256 : 64; }

static void check_kernel(const mld__lutkern *k)
{
	for (int f = 0; f < F_COUNT; f++) {
		size_t grp = form_group[f];
		/* every length up to a few vectors, then random ones, then long runs */
		for (size_t n = 0; n <= 300; n += grp)
			check_one(k, f, n, palette_of(f), false, n % 3);
		for (int r = 0; r < 200; r++)
			check_one(k, f, (size_t)(rnd() % 20000) / grp * grp, palette_of(f), false, (size_t)(rnd() % 8));
		check_one(k, f, 1 << 20, palette_of(f), false, 0);
		check_one(k, f, (1 << 20) + 3 * grp, palette_of(f), false, 1);
	}
	/* unpacked narrower indices through palettes of 2..64 entries padded to 64 */
	for (unsigned bits = 1; bits <= 6; bits++)
		for (int r = 0; r < 50; r++)
			check_one(k, F_B64, (size_t)(rnd() % 5000), 1u << bits, false, (size_t)(rnd() % 4));
	/* b64 uses only the low 6 bits of each byte */
	for (int r = 0; r < 50; r++)
		check_one(k, F_B64, (size_t)(rnd() % 5000), 64, true, 0);
}

static const mld__lutkern *const tables[MLD_ISA_COUNT] = {&mld__lutkern_scalar, &mld__lutkern_neon, &mld__lutkern_avx2,
                                                          &mld__lutkern_avx512};

static void test_every_path_equals_scalar(void **state)
{
	(void)state;
	int ran = 0;
	for (int i = 0; i < MLD_ISA_COUNT; i++) {
		const mld__lutkern *k = tables[i];
		assert_int_equal(k->isa, i);
		if (!k->u6 || !mld__cpu_has((mld__isa)i)) {
			print_message("%s: not built or not this CPU's, skipped\n", k->name);
			continue;
		}
		check_kernel(k);
		print_message("%s: equal to scalar\n", k->name);
		ran++;
	}
	assert_true(ran >= 1);
}

/* The scalar twin itself against the plain definition: element i is bits
 * [i*n, i*n+n) of the LSB-first stream, looked up. */
static void test_scalar_is_the_definition(void **state)
{
	(void)state;
	uint8_t src[300];
	uint16_t pal[256], out[400];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)rnd();
	for (int e = 0; e < 256; e++)
		pal[e] = (uint16_t)rnd();
	const unsigned bits[3] = {4, 6, 8};
	const mld__lut_fn fns[3] = {mld__lutkern_scalar.u4, mld__lutkern_scalar.u6, mld__lutkern_scalar.u8};
	for (int b = 0; b < 3; b++) {
		size_t n = sizeof src * 8 / bits[b];
		n = (n < 400 ? n : 400) / 4 * 4;
		fns[b](out, src, n, pal);
		for (size_t i = 0; i < n; i++) {
			uint64_t bit = i * bits[b];
			unsigned v = (unsigned)(src[bit / 8] | (bit / 8 + 1 < sizeof src ? src[bit / 8 + 1] << 8 : 0));
			v = (v >> (bit % 8)) & ((1u << bits[b]) - 1);
			assert_int_equal(out[i], pal[v]);
		}
	}
}

/* ---- comparison kernels ------------------------------------------------------------ */

static uint16_t half_of(int kind)
{
	switch (kind) {
	case 0: return 0x7C00;                            /* +inf */
	case 1: return 0xFC00;                            /* -inf */
	case 2: return 0x7E00 | (uint16_t)(rnd() & 0xFF); /* NaN */
	case 3: return 0x8000;                            /* -0 */
	case 4: return (uint16_t)(rnd() & 0x83FF);        /* subnormal */
	default: return (uint16_t)(rnd() & 0xBBFF);       /* ordinary, |x| < 2 */
	}
}

/* a and b of n fp16 values, near each other as verification sees them, with a few
 * special values when `special` */
static void cmp_inputs(uint16_t *a, uint16_t *b, size_t n, bool special)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = special && rnd() % 97 == 0 ? half_of((int)(rnd() % 5)) : half_of(9);
		b[i] = rnd() % 3 ? a[i] : (uint16_t)(a[i] ^ (rnd() & 3));
	}
}

static void feed_split(mld__cmpacc *acc, const mld__cmpkern *k, const uint16_t *a, const uint16_t *b, size_t n)
{
	mld__cmpacc_init(acc);
	for (size_t at = 0; at < n;) { /* blocks that start on multiples of 8, as wread's do */
		size_t piece = (size_t)(rnd() % 40) * 8;
		piece = piece > n - at ? n - at : piece;
		mld__cmpacc_feed(acc, k, MLD_DT_FP16, a + at, MLD_DT_FP16, b + at, piece);
		at += piece;
	}
}

/* Bitwise equal sums, NaN payloads aside (the fp16 conversions may quiet a NaN
 * differently; a NaN sum means the same to verification whatever its bits). */
static bool same_sums(const mld__cmpacc *x, const mld__cmpacc *y)
{
	const double *p = x->dot, *q = y->dot;
	for (size_t i = 0; i < 5 * MLD_CMP_LANES; i++)
		if (memcmp(&p[i], &q[i], sizeof *p) && !(isnan(p[i]) && isnan(q[i])))
			return false;
	return x->count == y->count && x->nan == y->nan;
}

/* Every comparison path gives the scalar path's bits, however the values are split. */
static void test_cmpkern_paths_equal_scalar(void **state)
{
	(void)state;
	const mld__cmpkern *ks[] = {&mld__cmpkern_neon, &mld__cmpkern_avx2};
	size_t cap = 70000;
	uint16_t *a = malloc(cap * 2), *b = malloc(cap * 2);
	int ran = 0;
	for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
		if (!ks[k]->f16 || mld__cmpkern_for(ks[k]->isa) != ks[k]) {
			print_message("cmpkern %s: not built or not this CPU's, skipped\n", ks[k]->name);
			continue;
		}
		for (int r = 0; r < 300; r++) {
			size_t n = r < 100 ? (size_t)r : (size_t)(rnd() % cap);
			cmp_inputs(a, b, n, r % 2);
			mld__cmpacc x, y;
			feed_split(&x, &mld__cmpkern_scalar, a, b, n);
			feed_split(&y, ks[k], a, b, n);
			if (!same_sums(&x, &y))
				fail_msg("cmpkern %s: %zu values: the sums differ from the scalar path's", ks[k]->name,
				         n);
		}
		print_message("cmpkern %s: equal to scalar\n", ks[k]->name);
		ran++;
	}
	free(a);
	free(b);
	(void)ran;
}

/* The kernels' metrics are mld_tensor_compare's definition - cosine, mean and max of
 * |a - b| over every element in double precision - summed in another order: equal
 * to a plain sequential sum within a few ulps, max exactly, NaN kept. */
static void test_cmpkern_is_the_definition(void **state)
{
	(void)state;
	const float *h = mld__half_table();
	size_t cap = 50000;
	uint16_t *a = malloc(cap * 2), *b = malloc(cap * 2);
	for (int r = 0; r < 200; r++) {
		size_t n = (size_t)(rnd() % cap);
		bool special = r % 4 == 0;
		cmp_inputs(a, b, n, special);
		double dot = 0, na = 0, nb = 0, sd = 0, mx = 0;
		for (size_t i = 0; i < n; i++) {
			double x = h[a[i]], y = h[b[i]], d = fabs(x - y);
			dot += x * y, na += x * x, nb += y * y, sd += d;
			if (d > mx || isnan(d))
				mx = d;
		}
		double cos = na == 0 && nb == 0 ? 1 : na == 0 || nb == 0 ? 0 : dot / (sqrt(na) * sqrt(nb));
		mld__cmpacc acc;
		feed_split(&acc, mld__cmpkern_get(), a, b, n);
		mld_metrics m;
		mld__cmpacc_result(&acc, &m);
		if (isnan(mx) || isnan(cos)) {
			assert_true(isnan(m.max_abs) == isnan(mx));
			continue;
		}
		assert_true(m.max_abs == mx);
		assert_true(fabs(m.cos - cos) <= 1e-12);
		assert_true(fabs(m.mean_abs - (n ? sd / (double)n : 0)) <= 1e-12 * (fabs(m.mean_abs) + 1e-300));
	}
	free(a);
	free(b);
}

static void test_dispatch_choice(void **state)
{
	(void)state;
	assert_int_equal(mld__cpu_cap_parse("scalar"), MLD_ISA_SCALAR);
	assert_int_equal(mld__cpu_cap_parse("neon"), MLD_ISA_NEON);
	assert_int_equal(mld__cpu_cap_parse("avx2"), MLD_ISA_AVX2);
	assert_int_equal(mld__cpu_cap_parse("avx512"), MLD_ISA_AVX512);
	assert_int_equal(mld__cpu_cap_parse(NULL), MLD_ISA_COUNT - 1);
	assert_int_equal(mld__cpu_cap_parse("bogus"), MLD_ISA_COUNT - 1);
	assert_int_equal(mld__lutkern_for(MLD_ISA_SCALAR)->isa, MLD_ISA_SCALAR);
	assert_int_equal(mld__hash_impl_for(MLD_ISA_SCALAR)->isa, MLD_ISA_SCALAR);
	for (int i = 0; i < MLD_ISA_COUNT; i++) {
		const mld__lutkern *k = mld__lutkern_for((mld__isa)i);
		assert_true(k->isa <= (mld__isa)i);
		assert_true(k->isa == MLD_ISA_SCALAR || mld__cpu_has(k->isa));
		if (tables[i]->u6 && mld__cpu_has((mld__isa)i))
			assert_int_equal(k->isa, i); /* never below what was asked for and is there */
		const mld__hash_impl *h = mld__hash_impl_for((mld__isa)i);
		assert_true(h->isa <= (mld__isa)i);
		assert_true(h->isa == MLD_ISA_SCALAR || mld__cpu_has(h->isa));
	}
	/* what a process started with MLD_CPU=<value> uses: this program again, which
	 * exits with the chosen ISAs (see main) */
	const char *values[] = {NULL, "scalar", "neon", "avx2", "avx512", "bogus"};
	for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (values[v])
				setenv("MLD_CPU", values[v], 1);
			else
				unsetenv("MLD_CPU");
			/* under an emulator (a cross build's ctest) through it: the host cannot
			 * exec this binary itself */
			const char *emu = getenv("MLD_TEST_EMULATOR");
			if (emu && *emu)
				execl("/bin/sh", "sh", "-c", "exec $MLD_TEST_EMULATOR \"$0\" --dispatch", self,
				      (char *)NULL);
			else
				execl(self, self, "--dispatch", (char *)NULL);
			_exit(127);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		mld__isa cap = mld__cpu_cap_parse(values[v]);
		int want = (int)mld__lutkern_for(cap)->isa | (int)mld__hash_impl_for(cap)->isa << 4;
		if (WEXITSTATUS(st) != want)
			fail_msg("MLD_CPU=%s: the child chose %#x, expected %#x", values[v] ? values[v] : "(unset)",
			         WEXITSTATUS(st), want);
	}
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 2 && !strcmp(argv[1], "--dispatch"))
		return (int)mld__lutkern_get()->isa | (int)mld__hash_active()->isa << 4;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar_is_the_definition),  cmocka_unit_test(test_every_path_equals_scalar),
		cmocka_unit_test(test_dispatch_choice),           cmocka_unit_test(test_cmpkern_paths_equal_scalar),
		cmocka_unit_test(test_cmpkern_is_the_definition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
