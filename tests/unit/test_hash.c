/* The XXH3-128 builds (core/hash.c) give the system libxxhash's digests, on every
 * path this machine runs: one-shot and streamed in random pieces, sizes 0 to ~1 MB
 * at odd alignments. */
#include "testutil.h"

#include "core/hash.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static uint64_t rng = 0x243F6A8885A308D3u;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void reference(uint8_t out[16], const void *p, size_t n)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(out, c.digest, 16);
}

static void check_impl(const mld__hash_impl *h, const uint8_t *buf, size_t off, size_t n)
{
	uint8_t want[16], got[16];
	reference(want, buf + off, n);
	h->oneshot(got, buf + off, n);
	if (memcmp(got, want, 16))
		fail_msg("%s: one-shot of %zu bytes at +%zu differs from libxxhash", h->name, n, off);
	mld__hash st;
	h->reset(&st);
	for (size_t done = 0; done < n;) {
		size_t piece = rnd() % 4 == 0 ? (size_t)(rnd() % 70000) : (size_t)(rnd() % 300);
		if (piece > n - done)
			piece = n - done;
		h->update(&st, buf + off + done, piece);
		done += piece;
	}
	h->digest(got, &st);
	if (memcmp(got, want, 16))
		fail_msg("%s: %zu bytes at +%zu streamed in pieces differ from libxxhash", h->name, n, off);
}

static void test_every_build_equals_libxxhash(void **state)
{
	(void)state;
	const size_t cap = (1 << 20) + 1000;
	uint8_t *buf = malloc(cap + 64);
	assert_non_null(buf);
	for (size_t i = 0; i < cap + 64; i++)
		buf[i] = (uint8_t)rnd();
	const mld__hash_impl *impls[] = {&mld__hash_base, &mld__hash_avx2, &mld__hash_avx512};
	int ran = 0;
	for (size_t k = 0; k < sizeof impls / sizeof *impls; k++) {
		const mld__hash_impl *h = impls[k];
		if (!h->update || !mld__cpu_has(h->isa)) {
			print_message("%s: not built or not this CPU's, skipped\n", h->name);
			continue;
		}
		/* every size around XXH3's internal boundaries, then random ones */
		for (size_t n = 0; n <= 2200; n++)
			check_impl(h, buf, n % 7, n);
		for (int r = 0; r < 300; r++)
			check_impl(h, buf, (size_t)(rnd() % 64), (size_t)(rnd() % cap));
		check_impl(h, buf, 3, cap);
		print_message("%s: equal to libxxhash\n", h->name);
		ran++;
	}
	assert_true(ran >= 1);
	free(buf);
}

/* The dispatched entry points, as the library uses them. */
static void test_dispatched_api(void **state)
{
	(void)state;
	uint8_t buf[5000], want[16], got[16];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rnd();
	for (size_t n = 0; n <= sizeof buf; n += 97) {
		reference(want, buf, n);
		mld__hash128(got, buf, n);
		assert_memory_equal(got, want, 16);
		mld__hash st;
		mld__hash_reset(&st);
		mld__hash_update(&st, buf, n / 3);
		mld__hash_digest(got, &st); /* a digest midway leaves the state usable */
		mld__hash_update(&st, buf + n / 3, n - n / 3);
		mld__hash_digest(got, &st);
		assert_memory_equal(got, want, 16);
	}
	print_message("in use: %s\n", mld__hash_active()->name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_build_equals_libxxhash),
		cmocka_unit_test(test_dispatched_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
