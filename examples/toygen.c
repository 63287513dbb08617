/* mldedup-toygen: write an ANEMLL-style chunked toy decoder as CoreML packages
 * (infer + prefill per chunk, optionally per context) whose weights relate to the
 * anchor package in planned ways, plus toygen.json saying which. See --help. */
#include "toygen/toygen.h"

#include "core/fsutil.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PROG "mldedup-toygen"
#define EXIT_USAGE 2

enum {
	O_HIDDEN = 256,
	O_INTER,
	O_LAYERS,
	O_CHUNKS,
	O_HEADS,
	O_KV_HEADS,
	O_HEAD_DIM,
	O_LUT_BITS,
	O_GROUP,
	O_PREFILL,
	O_CONTEXT,
	O_CONTEXTS,
	O_SEED,
	O_PREFIX,
	O_ZIP,
	O_PRESET
};

static const struct option LONGOPTS[] = {
	{"output", required_argument, NULL, 'o'},
	{"hidden", required_argument, NULL, O_HIDDEN},
	{"intermediate", required_argument, NULL, O_INTER},
	{"layers", required_argument, NULL, O_LAYERS},
	{"chunks", required_argument, NULL, O_CHUNKS},
	{"heads", required_argument, NULL, O_HEADS},
	{"kv-heads", required_argument, NULL, O_KV_HEADS},
	{"head-dim", required_argument, NULL, O_HEAD_DIM},
	{"lut-bits", required_argument, NULL, O_LUT_BITS},
	{"group-size", required_argument, NULL, O_GROUP},
	{"prefill-len", required_argument, NULL, O_PREFILL},
	{"context", required_argument, NULL, O_CONTEXT},
	{"contexts", required_argument, NULL, O_CONTEXTS},
	{"seed", required_argument, NULL, O_SEED},
	{"prefix", required_argument, NULL, O_PREFIX},
	{"zip", no_argument, NULL, O_ZIP},
	{"preset", required_argument, NULL, O_PRESET},
	{"jobs", required_argument, NULL, 'j'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " -o DIR [options]\n\n"
	        "Write a small LLaMA-like decoder as ANEMLL-style CoreML ML Program packages (spec 9, CoreML8):\n"
	        "per chunk an infer package (<prefix>_FFN_lut<B>_chunk_NNofMM.mlpackage, seq 1) and a prefill\n"
	        "package (<prefix>_prefill_lut<B>_chunk_NNofMM.mlpackage), palettized with iOS18\n"
	        "constexpr_lut_to_dense. The infer package of the first context is each chunk's anchor; every\n"
	        "other package copies its weights exactly, with a permuted palette, with microscopic noise, or\n"
	        "not at all (different), following a seeded plan recorded in DIR/toygen.json (and, one line\n"
	        "per weight, DIR/toygen.tsv: package, anchor, weight, relation).\n\n"
	        "options:\n"
	        "  -o, --output DIR        output directory (required; created if missing)\n"
	        "      --preset NAME       small (the defaults, ~1 MB), qwen05b (896/4864, 24 layers, 14/2 heads)\n"
	        "                          or qwen15b (1536/8960, 28 layers, 12/2 heads); both 2 chunks\n"
	        "      --hidden N          hidden size (default 64)\n"
	        "      --intermediate N    MLP size (default 256)\n"
	        "      --layers N          decoder layers (default 4)\n"
	        "      --chunks N          chunks; layers are split evenly (default 2)\n"
	        "      --heads N           attention heads (default 4)\n"
	        "      --kv-heads N        key/value heads (default 2)\n"
	        "      --head-dim N        head size (default hidden/heads)\n"
	        "      --lut-bits 4|6|8    palette index bits (default 6)\n"
	        "      --group-size N      output rows per palette (default 8)\n"
	        "      --prefill-len N     prefill sequence length (default 64)\n"
	        "      --context N         context length (default 512)\n"
	        "      --contexts LIST     comma-separated contexts: one ctx<N>/ folder each (first is the anchor's)\n"
	        "      --seed N            seed of every random choice (default 1)\n"
	        "      --prefix NAME       package name prefix (default toy)\n"
	        "      --zip               also write <name>.mlpackage.zip (holding the .mlpackage) beside each\n"
	        "  -j, --jobs N            worker threads (default: online CPUs, at most 8)\n"
	        "  -q, --quiet             no progress, only errors\n"
	        "  -h, --help              show this help\n\n"
	        "Relations in toygen.json: exact (same bytes), permute (same values, palette shuffled),\n"
	        "micro (relative noise ~1e-4, own palette), different (new values), shape_mismatch (RoPE\n"
	        "tables of another context). The output is the same for the same options on any machine.\n\n"
	        "exit status: 0 success, 1 failure, 2 usage error\n");
}

_Noreturn void tg_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	va_end(ap);
	exit(EXIT_USAGE);
}

/* ---- options -------------------------------------------------------------------------- */

static long long parse_num(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_error("invalid value for --%s: '%s' (expected an integer in [%lld, %lld])", opt, s, lo, hi);
	return v;
}

static void parse_contexts(tg_params *p, const char *list)
{
	char *copy = tg_strdup(list), *save = NULL;
	p->n_ctx = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (p->n_ctx == TG_MAX_CTX)
			usage_error("--contexts: at most %d contexts", TG_MAX_CTX);
		int c = (int)parse_num("contexts", t, 1, 1 << 20);
		for (int i = 0; i < p->n_ctx; i++)
			if (p->ctx[i] == c)
				usage_error("--contexts: %d is listed twice", c);
		p->ctx[p->n_ctx++] = c;
	}
	free(copy);
	if (!p->n_ctx)
		usage_error("--contexts: empty list");
	p->ctx_dirs = true;
}

static void preset(tg_params *p, const char *name)
{
	if (!strcmp(name, "small"))
		return; /* the defaults */
	if (!strcmp(name, "qwen05b")) {
		p->hidden = 896;
		p->inter = 4864;
		p->layers = 24;
		p->heads = 14;
	} else if (!strcmp(name, "qwen15b")) { /* Qwen2.5-1.5B: about 490 MB of LUT6 weights per package */
		p->hidden = 1536;
		p->inter = 8960;
		p->layers = 28;
		p->heads = 12;
	} else {
		usage_error("unknown preset '%s' (small, qwen05b, qwen15b)", name);
	}
	p->kv_heads = 2;
	p->chunks = 2;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* One option (the preset was applied before). */
static void apply(tg_params *p, int c, const char *a, bool *ctx_set)
{
	const long long BIG = 1 << 20;
	switch (c) {
	case 'o': p->outdir = a; break;
	case O_HIDDEN: p->hidden = (int)parse_num("hidden", a, 1, BIG); break;
	case O_INTER: p->inter = (int)parse_num("intermediate", a, 1, BIG); break;
	case O_LAYERS: p->layers = (int)parse_num("layers", a, 1, 4096); break;
	case O_CHUNKS: p->chunks = (int)parse_num("chunks", a, 1, 99); break;
	case O_HEADS: p->heads = (int)parse_num("heads", a, 1, 4096); break;
	case O_KV_HEADS: p->kv_heads = (int)parse_num("kv-heads", a, 1, 4096); break;
	case O_HEAD_DIM: p->head_dim = (int)parse_num("head-dim", a, 2, 4096); break;
	case O_LUT_BITS: p->lut_bits = (int)parse_num("lut-bits", a, 4, 8); break;
	case O_GROUP: p->group_size = (int)parse_num("group-size", a, 1, BIG); break;
	case O_PREFILL: p->prefill_len = (int)parse_num("prefill-len", a, 1, BIG); break;
	case O_CONTEXT:
		p->ctx[0] = (int)parse_num("context", a, 1, BIG);
		p->n_ctx = 1;
		*ctx_set = true;
		break;
	case O_CONTEXTS: parse_contexts(p, a); break;
	case O_SEED: p->seed = (uint64_t)parse_num("seed", a, 0, LLONG_MAX); break;
	case O_PREFIX: p->prefix = a; break;
	case O_ZIP: p->zip = true; break;
	case 'j': p->jobs = (int)parse_num("jobs", a, 1, 256); break;
	case 'q': p->quiet = true; break;
	}
}

static void check(const tg_params *p)
{
	if (!p->outdir || !*p->outdir)
		usage_error("an output directory is required (-o DIR)");
	if (p->layers % p->chunks)
		usage_error("--layers %d does not split evenly into --chunks %d", p->layers, p->chunks);
	if (p->heads % p->kv_heads)
		usage_error("--heads %d is not a multiple of --kv-heads %d", p->heads, p->kv_heads);
	if (p->head_dim % 2)
		usage_error("--head-dim %d must be even (rotary embedding halves)", p->head_dim);
	if (p->lut_bits != 4 && p->lut_bits != 6 && p->lut_bits != 8)
		usage_error("--lut-bits must be 4, 6 or 8");
	const int outs[4] = {p->hidden, p->inter, p->heads * p->head_dim, p->kv_heads * p->head_dim};
	for (int i = 0; i < 4; i++)
		if (outs[i] % p->group_size)
			usage_error("--group-size %d does not divide the output size %d of a projection", p->group_size,
			            outs[i]);
	if ((long long)p->heads * p->head_dim > (1 << 20) || (long long)p->hidden * p->inter > (1LL << 32))
		usage_error("dimensions too large");
	for (int i = 0; i < p->n_ctx; i++)
		if (p->ctx[i] < p->prefill_len)
			usage_error("context %d is shorter than --prefill-len %d", p->ctx[i], p->prefill_len);
	for (const char *s = p->prefix; *s; s++)
		if (*s == '/' || *s == '\\')
			usage_error("--prefix must not contain '/'");
	if (!*p->prefix)
		usage_error("--prefix must not be empty");
}

static void parse(tg_params *p, int argc, char **argv)
{
	*p = (tg_params){.prefix = "toy",
	                 .hidden = 64,
	                 .inter = 256,
	                 .layers = 4,
	                 .chunks = 2,
	                 .heads = 4,
	                 .kv_heads = 2,
	                 .lut_bits = 6,
	                 .group_size = 8,
	                 .prefill_len = 64,
	                 .jobs = default_jobs(),
	                 .ctx = {512},
	                 .n_ctx = 1,
	                 .seed = 1};
	int c, idx;
	opterr = 0;
	/* pass 1: --help and --preset, so explicit options override the preset in any order */
	while ((c = getopt_long(argc, argv, ":o:j:qh", LONGOPTS, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?')
			usage_error("unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			usage_error("option '%s' needs a value", argv[optind - 1]);
		if (c == O_PRESET)
			preset(p, optarg);
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	bool ctx_set = false;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:j:qh", LONGOPTS, &idx)) != -1)
		apply(p, c, optarg, &ctx_set);
	if (ctx_set && p->ctx_dirs)
		usage_error("--context and --contexts cannot be combined");
	if (!p->head_dim) {
		if (p->hidden % p->heads)
			usage_error("--hidden %d is not a multiple of --heads %d: give --head-dim", p->hidden,
			            p->heads);
		p->head_dim = p->hidden / p->heads;
	}
	check(p);
}

/* ---- driver ----------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static tg_pkg new_pkg(const tg_params *p, int chunk, int ci, bool prefill)
{
	tg_pkg k = {.chunk = chunk,
	            .ctx_index = ci,
	            .ctx = p->ctx[ci],
	            .seq = prefill ? p->prefill_len : 1,
	            .prefill = prefill,
	            .anchor = !prefill && ci == 0};
	k.name = tg_fmt("%s_%s_lut%d_chunk_%02dof%02d", p->prefix, prefill ? "prefill" : "FFN", p->lut_bits, chunk + 1,
	                p->chunks);
	k.relpath = p->ctx_dirs ? tg_fmt("ctx%d/%s.mlpackage", k.ctx, k.name) : tg_fmt("%s.mlpackage", k.name);
	return k;
}

static void emit(const tg_params *p, tg_pkg *k, const tg_pkg *anchor, json_t *pkgs, json_t *members)
{
	double t0 = now();
	tg_plan_package(k, p, anchor);
	tg_build_weights(k, p, anchor);
	tg_write_package(p, k);
	json_array_append_new(pkgs, tg_pkg_json(p, k, anchor));
	json_array_append_new(members, json_string(k->relpath));
	if (!p->quiet)
		fprintf(stderr, "%s/%s (%.1fs)\n", p->outdir, k->relpath, now() - t0);
}

/* One chunk: its anchor first (the master weights), then every other package. */
static void emit_chunk(const tg_params *p, int chunk, json_t *pkgs, json_t *groups)
{
	json_t *members = json_array();
	tg_pkg anchor = new_pkg(p, chunk, 0, false);
	emit(p, &anchor, NULL, pkgs, members);
	for (int ci = 0; ci < p->n_ctx; ci++)
		for (int pre = 0; pre < 2; pre++) {
			if (ci == 0 && !pre)
				continue;
			tg_pkg k = new_pkg(p, chunk, ci, pre);
			emit(p, &k, &anchor, pkgs, members);
			tg_pkg_free(&k);
		}
	json_array_append_new(
		groups, json_pack("{s:i, s:s, s:o}", "chunk", chunk + 1, "anchor", anchor.relpath, "members", members));
	tg_pkg_free(&anchor);
}

int main(int argc, char **argv)
{
	tg_params p;
	parse(&p, argc, argv);
	double t0 = now();
	if (mld__mkdirs(p.outdir, 0755))
		tg_die("%s", mld_error_last());
	json_t *pkgs = json_array(), *groups = json_array();
	for (int c = 0; c < p.chunks; c++)
		emit_chunk(&p, c, pkgs, groups);
	size_t n = json_array_size(pkgs);
	tg_write_json(&p, pkgs, groups); /* takes pkgs and groups */
	if (!p.quiet)
		fprintf(stderr, "wrote %zu packages and %s/toygen.json in %.1fs\n", n, p.outdir, now() - t0);
	return 0;
}
