/* ANEMLL layouts: mld_anemll_expect gives combine_models.py's file names for every
 * form (chunked with and without LUT, 4 functions, split-rotate, monolithic) and
 * names each missing export; mld_anemll_scan finds what a group found by name
 * lacks; what no job reads is listed as left as it is. Packages are empty folders:
 * only their names matter here. */
#include "testutil.h"

#include "mldedup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void mk(const char *dir, const char *name)
{
	char *p = tu_fmt("%s/%s", dir, name);
	assert_int_equal(mkdir(p, 0777), 0);
	free(p);
}

/* "name=basename ..." of a job's sources */
static char *job_text(const mld_anemll_job *j)
{
	size_t n = 1;
	for (size_t k = 0; k < j->n_sources; k++)
		n += strlen(j->sources[k].name) + strlen(j->sources[k].path) + 2;
	char *s = calloc(1, n);
	for (size_t k = 0; k < j->n_sources; k++) {
		const char *b = strrchr(j->sources[k].path, '/');
		strcat(s, k ? " " : "");
		strcat(s, j->sources[k].name);
		strcat(s, "=");
		strcat(s, b ? b + 1 : j->sources[k].path);
	}
	return s;
}

static const char *base(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

static void assert_job(const mld_anemll_job *j, const char *output, const char *sources)
{
	assert_string_equal(base(j->output), output);
	char *t = job_text(j);
	assert_string_equal(t, sources);
	free(t);
}

static void test_expect_chunked(void **state)
{
	(void)state;
	char *d = tu_tempdir();
	mld_anemll_layout L;
	mld_anemll_opts o = {.version = MLD_ANEMLL_OPTS_VERSION, .prefix = "qwen25", .lut_bits = 6, .chunks = 2};
	assert_ok(mld_anemll_expect(&L, d, NULL, &o));
	assert_int_equal(L.n_jobs, 2);
	assert_job(&L.jobs[0], "qwen25_FFN_PF_lut6_chunk_01of02.mlpackage",
	           "infer=qwen25_FFN_lut6_chunk_01of02.mlpackage prefill=qwen25_prefill_lut6_chunk_01of02.mlpackage");
	assert_job(&L.jobs[1], "qwen25_FFN_PF_lut6_chunk_02of02.mlpackage",
	           "infer=qwen25_FFN_lut6_chunk_02of02.mlpackage prefill=qwen25_prefill_lut6_chunk_02of02.mlpackage");
	assert_int_equal(L.n_missing, 4); /* nothing exists yet */
	assert_string_equal(base(L.missing[0]), "qwen25_FFN_lut6_chunk_01of02.mlpackage");
	mld_anemll_layout_free(&L);
	assert_null(L.jobs);
	/* the exports, an earlier output and an embeddings package in the folder */
	mk(d, "qwen25_FFN_lut6_chunk_01of02.mlpackage");
	mk(d, "qwen25_prefill_lut6_chunk_01of02.mlpackage");
	mk(d, "qwen25_FFN_lut6_chunk_02of02.mlpackage");
	mk(d, "qwen25_FFN_PF_lut6_chunk_01of02.mlpackage");
	mk(d, "qwen25_embeddings.mlpackage");
	assert_ok(mld_anemll_expect(&L, d, NULL, &o));
	assert_int_equal(L.n_missing, 1);
	assert_string_equal(base(L.missing[0]), "qwen25_prefill_lut6_chunk_02of02.mlpackage");
	assert_int_equal(L.n_other, 1);
	assert_string_equal(base(L.other[0]), "qwen25_embeddings.mlpackage");
	mld_anemll_layout_free(&L);
	/* no LUT: no _lutN; the default prefix is llama; outputs in another folder */
	mld_anemll_opts n = {.version = MLD_ANEMLL_OPTS_VERSION, .chunks = 1};
	assert_ok(mld_anemll_expect(&L, d, "/elsewhere", &n));
	assert_int_equal(L.n_jobs, 1);
	assert_string_equal(L.jobs[0].output, "/elsewhere/llama_FFN_PF_chunk_01of01.mlpackage");
	assert_job(&L.jobs[0], "llama_FFN_PF_chunk_01of01.mlpackage",
	           "infer=llama_FFN_chunk_01of01.mlpackage prefill=llama_prefill_chunk_01of01.mlpackage");
	mld_anemll_layout_free(&L);
	tu_rmtree(d);
	free(d);
}

static void test_expect_rotate_forms(void **state)
{
	(void)state;
	char *d = tu_tempdir();
	mld_anemll_layout L;
	mld_anemll_opts o = {
		.version = MLD_ANEMLL_OPTS_VERSION, .prefix = "gemma3", .lut_bits = 4, .chunks = 1, .rotate = 1};
	assert_ok(mld_anemll_expect(&L, d, NULL, &o));
	assert_int_equal(L.n_jobs, 1);
	assert_job(&L.jobs[0], "gemma3_FFN_PF_lut4_chunk_01of01.mlpackage",
	           "infer=gemma3_FFN_lut4_chunk_01of01.mlpackage "
	           "infer_rotate=gemma3_FFN_rotate_lut4_chunk_01of01.mlpackage"
	           " prefill=gemma3_prefill_lut4_chunk_01of01.mlpackage"
	           " prefill_rotate=gemma3_prefill_rotate_lut4_chunk_01of01.mlpackage");
	assert_int_equal(L.n_missing, 4);
	mld_anemll_layout_free(&L);
	o.split_rotate = 1;
	assert_ok(mld_anemll_expect(&L, d, NULL, &o));
	assert_int_equal(L.n_jobs, 2);
	assert_job(&L.jobs[0], "gemma3_FFN_PF_lut4_chunk_01of01.mlpackage",
	           "infer=gemma3_FFN_lut4_chunk_01of01.mlpackage prefill=gemma3_prefill_lut4_chunk_01of01.mlpackage");
	assert_job(&L.jobs[1], "gemma3_FFN_PF_lut4_chunk_01of01_rot.mlpackage",
	           "infer_rotate=gemma3_FFN_rotate_lut4_chunk_01of01.mlpackage"
	           " prefill_rotate=gemma3_prefill_rotate_lut4_chunk_01of01.mlpackage");
	mld_anemll_layout_free(&L);
	mld_anemll_opts m = {.version = MLD_ANEMLL_OPTS_VERSION, .prefix = "gemma3", .lut_bits = 6, .monolithic = 1};
	assert_ok(mld_anemll_expect(&L, d, NULL, &m));
	assert_int_equal(L.n_jobs, 1);
	assert_job(&L.jobs[0], "gemma3_monolithic_full_lut6.mlpackage",
	           "infer=gemma3_monolithic_lut6.mlpackage prefill=gemma3_monolithic_prefill_lut6.mlpackage");
	mld_anemll_layout_free(&L);
	m.rotate = 1;
	m.lut_bits = 0;
	assert_ok(mld_anemll_expect(&L, d, NULL, &m));
	assert_job(&L.jobs[0], "gemma3_monolithic_full.mlpackage",
	           "infer=gemma3_monolithic.mlpackage infer_rotate=gemma3_monolithic_rotate.mlpackage"
	           " prefill=gemma3_monolithic_prefill.mlpackage "
	           "prefill_rotate=gemma3_monolithic_prefill_rotate.mlpackage");
	mld_anemll_layout_free(&L);
	tu_rmtree(d);
	free(d);
}

static void test_expect_usage(void **state)
{
	(void)state;
	mld_anemll_layout L;
	mld_anemll_opts o = {.version = MLD_ANEMLL_OPTS_VERSION, .lut_bits = 6}; /* chunked without a chunk count */
	assert_int_equal(mld_anemll_expect(&L, ".", NULL, &o), MLD_EUSAGE);
	assert_non_null(strstr(mld_error_last(), "--chunk is required"));
	o.chunks = 1;
	o.prefix = "a/b";
	assert_int_equal(mld_anemll_expect(&L, ".", NULL, &o), MLD_EUSAGE);
	o.prefix = NULL;
	o.version = MLD_ANEMLL_OPTS_VERSION + 1;
	assert_int_equal(mld_anemll_expect(&L, ".", NULL, &o), MLD_EUSAGE);
	assert_null(L.jobs);
	assert_int_equal(mld_anemll_expect(&L, ".", NULL, NULL), MLD_EUSAGE); /* defaults: chunked, no count */
}

static void test_scan_missing(void **state)
{
	(void)state;
	char *d = tu_tempdir();
	mk(d, "toy_FFN_lut6_chunk_01of03.mlpackage");
	mk(d, "toy_prefill_lut6_chunk_01of03.mlpackage");
	mk(d, "toy_prefill_lut6_chunk_02of03.mlpackage"); /* chunk 2 lacks its FFN, chunk 3 everything */
	mk(d, "toy_monolithic_lut6.mlpackage");           /* no monolithic prefill */
	mk(d, "toy_lm_head_lut6.mlpackage");
	char *notes = tu_fmt("%s/notes.txt", d);
	tu_write_file(notes, "x", 1);
	free(notes);
	mld_anemll_layout L;
	assert_ok(mld_anemll_scan(&L, d, NULL));
	assert_int_equal(L.n_jobs, 2); /* chunk 1, monolithic */
	assert_job(&L.jobs[0], "toy_FFN_PF_lut6_chunk_01of03.mlpackage",
	           "infer=toy_FFN_lut6_chunk_01of03.mlpackage prefill=toy_prefill_lut6_chunk_01of03.mlpackage");
	assert_job(&L.jobs[1], "toy_monolithic_full_lut6.mlpackage", "infer=toy_monolithic_lut6.mlpackage");
	const char *want[] = {"toy_FFN_lut6_chunk_02of03.mlpackage", "toy_FFN_lut6_chunk_03of03.mlpackage",
	                      "toy_prefill_lut6_chunk_03of03.mlpackage", "toy_monolithic_prefill_lut6.mlpackage"};
	assert_int_equal(L.n_missing, 4);
	for (size_t i = 0; i < 4; i++) {
		bool found = false;
		for (size_t k = 0; k < L.n_missing; k++)
			found |= !strcmp(base(L.missing[k]), want[i]);
		if (!found)
			fail_msg("%s not reported missing", want[i]);
	}
	/* left as they are: the LM head, the lone prefill of chunk 2, the notes */
	assert_int_equal(L.n_other, 3);
	assert_string_equal(base(L.other[0]), "notes.txt");
	assert_string_equal(base(L.other[1]), "toy_lm_head_lut6.mlpackage");
	assert_string_equal(base(L.other[2]), "toy_prefill_lut6_chunk_02of03.mlpackage");
	mld_anemll_layout_free(&L);
	/* only a prefill: no job, but the FFN is named */
	char *e = tu_tempdir();
	mk(e, "toy_prefill_chunk_01of01.mlpackage");
	assert_ok(mld_anemll_scan(&L, e, NULL));
	assert_int_equal(L.n_jobs, 0);
	assert_int_equal(L.n_missing, 1);
	assert_string_equal(base(L.missing[0]), "toy_FFN_chunk_01of01.mlpackage");
	mld_anemll_layout_free(&L);
	/* a rotate export makes the group need all four */
	mk(e, "toy_FFN_chunk_01of01.mlpackage");
	mk(e, "toy_FFN_rotate_chunk_01of01.mlpackage");
	assert_ok(mld_anemll_scan(&L, e, NULL));
	assert_int_equal(L.n_missing, 1);
	assert_string_equal(base(L.missing[0]), "toy_prefill_rotate_chunk_01of01.mlpackage");
	mld_anemll_layout_free(&L);
	tu_rmtree(e);
	free(e);
	/* nothing at all */
	char *z = tu_tempdir();
	assert_int_equal(mld_anemll_scan(&L, z, NULL), MLD_ENOTFOUND);
	assert_null(L.jobs);
	tu_rmtree(z);
	free(z);
	tu_rmtree(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expect_chunked),
		cmocka_unit_test(test_expect_rotate_forms),
		cmocka_unit_test(test_expect_usage),
		cmocka_unit_test(test_scan_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
