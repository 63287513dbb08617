/*
 * mldedup.h - the public header of libmldedup (the query API, which returns
 * jansson values, is in mldedup_query.h).
 *
 * Data flow: open a package (directory or zip) -> enumerate its weights ->
 * decode a weight to dense values / compute its digests -> record them in the
 * content-addressed store -> combine packages -> write them back.
 *
 * Conventions (after libgit2):
 *   - functions return 0 on success and a negative MLD_E* code on failure;
 *     mld_error_last() then holds a message naming the file and the problem;
 *   - out-parameters come first; owned objects come back through `**out` and are
 *     released with the matching NULL-safe `_free`;
 *   - structs are opaque unless they are plain records (mld_blob_ref, mld_digest);
 *   - options structs start with a `version`; initialise them with their
 *     MLD_*_OPTS_INIT macro. A zeroed struct is valid too and means the defaults,
 *     which never delete, replace or forget anything;
 *   - every name here starts with mld_/MLD_; names with mld__ are internal.
 */
#ifndef MLDEDUP_H
#define MLDEDUP_H

#include <stddef.h>
#include <stdint.h>

/* The library is built with hidden visibility: only what this header (and
 * mldedup_query.h) declares is exported from the shared library. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; mld_version() tells the library's. */
#define MLD_VERSION_MAJOR 0
#define MLD_VERSION_MINOR 2
#define MLD_VERSION_PATCH 0
#define MLD_VERSION "0.2.0"
/* One number to compare: 0.2.0 is 200, 1.12.3 is 11203. */
#define MLD_VERSION_NUMBER (MLD_VERSION_MAJOR * 10000 + MLD_VERSION_MINOR * 100 + MLD_VERSION_PATCH)

/* The library's version string; each non-NULL pointer gets its part. */
const char *mld_version(int *major, int *minor, int *patch);

#define MLD_MAX_RANK 16

/* ---- errors ---------------------------------------------------------------- */

enum {
	MLD_OK = 0,
	MLD_ERROR = -1,        /* generic failure */
	MLD_ENOTFOUND = -2,    /* a file, function or weight that does not exist */
	MLD_EFORMAT = -3,      /* malformed input: bad JSON, protobuf, blob file, shape */
	MLD_EIO = -4,          /* an operating-system I/O error */
	MLD_EUNSUPPORTED = -5, /* well-formed input in a form mldedup cannot decode */
	MLD_ENOMEM = -6,
	MLD_ESTORE = -7,    /* the SQLite store failed or is corrupt */
	MLD_EUSAGE = -8,    /* bad arguments from the caller */
	MLD_EEXISTS = -9,   /* an output exists and was not to be replaced */
	MLD_EBUSY = -10,    /* the store stayed locked by other writers past the busy timeout */
	MLD_EREFUSED = -11, /* valid input that cannot be done as asked (preflight, size limit) */
	MLD_EOVERLAP = -12  /* an output that is, holds or lies inside an input: writing it would destroy the input */
};

/* Message of the last error on this thread ("" when none). */
const char *mld_error_last(void);
/* Code of the last error on this thread. */
int mld_error_code(void);
/* Short name of an error code ("EFORMAT", ...). */
const char *mld_error_name(int code);

/* Remove the temp files and trees of unfinished writes when the process gets
 * SIGINT, SIGTERM or SIGHUP, then die of the signal as before. Installs a handler
 * only where the signal's disposition is the default. Programs call it once. */
void mld_cleanup_on_signals(void);

/* ---- data types -------------------------------------------------------------- */

/* Values are the MIL DataType enum numbers of the CoreML format. */
typedef enum mld_dtype {
	MLD_DT_INVALID = 0,
	MLD_DT_BOOL = 1,
	MLD_DT_STRING = 2,
	MLD_DT_FP16 = 10,
	MLD_DT_FP32 = 11,
	MLD_DT_FP64 = 12,
	MLD_DT_BF16 = 13,
	MLD_DT_INT8 = 21,
	MLD_DT_INT16 = 22,
	MLD_DT_INT32 = 23,
	MLD_DT_INT64 = 24,
	MLD_DT_INT4 = 25,
	MLD_DT_UINT8 = 31,
	MLD_DT_UINT16 = 32,
	MLD_DT_UINT32 = 33,
	MLD_DT_UINT64 = 34,
	MLD_DT_UINT4 = 35,
	MLD_DT_UINT2 = 36,
	MLD_DT_UINT1 = 37,
	MLD_DT_UINT6 = 38,
	MLD_DT_UINT3 = 39,
	MLD_DT_FP8E4M3 = 40,
	MLD_DT_FP8E5M2 = 41
} mld_dtype;

/* Short name ("fp16", "uint6", ...) or "?" for an unknown code. */
const char *mld_dtype_name(mld_dtype dt);
/* Bits per element as stored in a blob (4 for int4, 16 for fp16), 0 if unknown. */
unsigned mld_dtype_bits(mld_dtype dt);
/* Bytes per element in a dense tensor: sub-byte types widen to one byte. */
unsigned mld_dtype_dense_width(mld_dtype dt);

/* ---- digests ------------------------------------------------------------------- */

typedef struct mld_digest {
	uint8_t bytes[16]; /* XXH3-128, big-endian canonical form */
} mld_digest;

/* 32 lowercase hex digits + NUL. */
void mld_digest_hex(char out[33], const mld_digest *d);
int mld_digest_from_hex(mld_digest *out, const char *hex);

/* ---- packages ------------------------------------------------------------------- */

typedef struct mld_package mld_package;
typedef struct mld_weight mld_weight;

/* A blob a weight is built from. */
typedef struct mld_blob_ref {
	const char *param;    /* op parameter ("val", "indices", "lut", ...) */
	const char *op;       /* op type that holds it */
	const char *file;     /* fileName as written in the model */
	uint64_t offset;      /* metadata offset (the BlobFileValue.offset) */
	uint64_t data_offset; /* where its bytes start */
	uint64_t size;        /* sizeInBytes */
	uint32_t padding_bits;
	mld_dtype dtype;
} mld_blob_ref;

/* Open an .mlpackage directory, or a .zip holding one .mlpackage. */
int mld_package_open(mld_package **out, const char *path);
void mld_package_free(mld_package *pkg);

const char *mld_package_path(const mld_package *pkg);
int mld_package_spec_version(const mld_package *pkg);
size_t mld_package_function_count(const mld_package *pkg);
const char *mld_package_function_name(const mld_package *pkg, size_t i);

size_t mld_package_weight_count(const mld_package *pkg);
const mld_weight *mld_package_weight(const mld_package *pkg, size_t i);
/* MLD_ENOTFOUND when the function or the weight does not exist. */
int mld_package_find_weight(const mld_weight **out, const mld_package *pkg, const char *function, const char *name);

const char *mld_weight_function(const mld_weight *w);
const char *mld_weight_name(const mld_weight *w);
/* Op types of the chain, producers first, joined by '+'. */
const char *mld_weight_chain(const mld_weight *w);
mld_dtype mld_weight_dtype(const mld_weight *w);
unsigned mld_weight_rank(const mld_weight *w);
const uint64_t *mld_weight_shape(const mld_weight *w);
uint64_t mld_weight_element_count(const mld_weight *w);
/* Sum of the stored bytes of its blobs and immediates. */
uint64_t mld_weight_encoded_bytes(const mld_weight *w);
size_t mld_weight_blob_count(const mld_weight *w);
const mld_blob_ref *mld_weight_blob(const mld_weight *w, size_t i);

/* ---- dense values ---------------------------------------------------------------- */

/* A dense tensor: row-major, little-endian, elements of mld_dtype_dense_width(). */
typedef struct mld_tensor {
	mld_dtype dtype;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK];
	uint64_t count; /* elements */
	size_t nbytes;  /* count * dense width */
	void *data;
} mld_tensor;

void mld_tensor_free(mld_tensor *t);

/* Reconstruct a weight's dense values (evaluating its constexpr chain). */
int mld_weight_decode(mld_tensor **out, const mld_package *pkg, const mld_weight *w);

/* Encoding digest: the exact stored bytes of every blob and immediate the weight is
 * built from, with op types, dtypes and shapes, in chain order. No dequantization. */
int mld_weight_encoding_digest(mld_digest *out, const mld_package *pkg, const mld_weight *w);

/* Content digest of a dense tensor: dtype, shape and values. */
void mld_tensor_digest(mld_digest *out, const mld_tensor *t);

/* The same content digest (and sketch, if non-NULL) computed straight from the
 * stored bytes: plain consts are hashed in place, scalar-palette LUTs are decoded
 * a cache-sized block at a time, so a weight's dense values are never all in
 * memory. Other forms are decoded whole. *dense_bytes gets the dense size. */
int mld_weight_content_digest(mld_digest *out, float *sketch, uint64_t *dense_bytes, const mld_package *pkg,
                              const mld_weight *w);

/* A cheap 16-float fingerprint of a dense tensor (mean, rms, 14 sampled values),
 * used to find renamed near-copies without dequantizing everything. */
#define MLD_SKETCH_LEN 16
void mld_tensor_sketch(float out[MLD_SKETCH_LEN], const mld_tensor *t);
/* True when two sketches could belong to near-identical tensors. */
int mld_sketch_close(const float a[MLD_SKETCH_LEN], const float b[MLD_SKETCH_LEN]);

/* Closeness of two tensors of equal shape, over all elements in double precision. */
typedef struct mld_metrics {
	double cos;      /* cosine similarity (1 when both are all zero) */
	double max_abs;  /* max |a - b| */
	double mean_abs; /* mean |a - b| */
} mld_metrics;
int mld_tensor_compare(mld_metrics *out, const mld_tensor *a, const mld_tensor *b);

/* Digest of the whole weight file(s) of a package, as stored. */
int mld_package_weights_digest(mld_digest *out, uint64_t *size_out, const mld_package *pkg);

/* ---- writing ------------------------------------------------------------------------ */

/* Write the package's model and weights as a new .mlpackage directory at `path`,
 * with weight.bin in the canonical layout (every referenced blob once, in source
 * order). The output appears atomically: a temp directory beside it, then rename.
 * An existing `path` is replaced only with `MLD_WRITE_REPLACE`. */
enum { MLD_WRITE_REPLACE = 1 };
int mld_package_write(const mld_package *pkg, const char *path, unsigned flags);

/* ---- store ----------------------------------------------------------------------------- */

typedef struct mld_store mld_store;

/* Resolve the store path: explicit, else $MLDEDUP_STORE, else
 * $XDG_CACHE_HOME/mldedup/store.db, else ~/.cache/mldedup/store.db. */
int mld_store_default_path(char **out, const char *explicit_path);
/* Open (creating and migrating as needed) the store at `path`. */
int mld_store_open(mld_store **out, const char *path);
void mld_store_free(mld_store *st);
/* Open an existing store through a read-only connection (no statement can change
 * it). With `migrate`, a store at an older schema version is migrated first (by a
 * normal open); without, it is read as it is (for fsck). */
int mld_store_open_readonly(mld_store **out, const char *path, int migrate);
/* Schema version the store is at (PRAGMA user_version). */
int mld_store_schema_version(mld_store *st);

typedef struct mld_index_stats {
	unsigned packages_indexed;   /* read and recorded */
	unsigned packages_unchanged; /* skipped: files identical to the recorded ones */
	uint64_t weights;            /* weights recorded */
	uint64_t weights_decoded;    /* weights whose dense values were reconstructed */
	uint64_t bytes_read;         /* weight-file bytes read */
	uint64_t new_contents;       /* content digests new to the store */
	uint64_t new_encodings;      /* encoding digests new to the store */
	uint64_t unsupported;        /* weights whose form cannot be decoded */
} mld_index_stats;

typedef void (*mld_progress_fn)(void *ctx, const char *what, uint64_t done, uint64_t total);

/* Index one package: skip if its files are unchanged since the last index,
 * else read, digest every weight (outside any transaction) and record it all in
 * one short BEGIN IMMEDIATE transaction. Stats are accumulated into *stats. */
int mld_store_index(mld_store *st, const char *pkg_path, mld_index_stats *stats, mld_progress_fn progress,
                    void *progress_ctx);

/* ---- combine ----------------------------------------------------------------------------- */

/* Why a weight of the combined package uses the encoding it uses. */
typedef enum mld_reason {
	MLD_R_ANCHOR = 0,         /* a weight of the anchor function: placed as is */
	MLD_R_OWN,                /* nothing to share with: placed as is */
	MLD_R_IDENTICAL,          /* same encoding digest, bytes equal */
	MLD_R_DEQ_IDENTICAL,      /* same dense values under another encoding */
	MLD_R_DEQ_CLOSE,          /* verified within thresholds */
	MLD_R_REJECTED_THRESHOLD, /* compared, outside thresholds: keeps its own */
	MLD_R_REJECTED_SHAPE,     /* a same-named candidate of another shape/layout */
	MLD_R_UNSUPPORTED,        /* its form cannot be decoded */
	MLD_R_COUNT
} mld_reason;
const char *mld_reason_name(mld_reason r);

typedef struct mld_source_spec {
	const char *name;     /* target function name */
	const char *path;     /* package */
	const char *function; /* source function; NULL = its only function, or "main" */
} mld_source_spec;

#define MLD_COMBINE_OPTS_VERSION 3
typedef struct mld_combine_opts {
	unsigned version;         /* MLD_COMBINE_OPTS_VERSION (0: a zeroed struct, the defaults; 1: the fields up to
	                           * `replace`, 2: up to `max_abs_max`, the rest at their defaults) */
	const char *default_name; /* NULL = first source */
	int strict;               /* also require max |d| <= 0.01 */
	int dry_run;              /* plan and report only */
	int no_preflight;
	int allow_large;         /* allow a weight file above 2 GB */
	int zip;                 /* write OUT as a .zip holding the .mlpackage */
	const char *report_path; /* .json or .csv; NULL = none */
	mld_store *store;        /* NULL = no store: digests computed here, decisions not kept */
	mld_progress_fn progress;
	void *progress_ctx;
	/* Non-fatal problems (the store is unusable, ...); may be NULL. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* Replace an existing OUT (the default: MLD_EEXISTS if OUT exists). An output
	 * (or report) that is, holds or lies inside a source, symlinks resolved, is
	 * refused either way with MLD_EOVERLAP, before anything is read. */
	int replace;
	/* ---- version 2 ---- */
	/* Share only byte-identical blobs, as coremltools' save_multifunction alone does:
	 * no deq_identical or deq_close sharing. */
	int identical_only;
	/* Verification thresholds; 0 = the defaults (MLD_COS_MIN, MLD_MEAN_ABS_MAX, and
	 * MLD_MAX_ABS_MAX_STRICT with `strict`, else no bound on max |d|). */
	double cos_min;
	double mean_abs_max;
	double max_abs_max;
	/* ---- version 3 ---- */
	/* Write OUT's build stamp to this file, only if its content changed
	 * (mld_write_if_changed). The text is the one mld_package_stamp gives for OUT,
	 * derived from the plan's digests and the layout written, without reading OUT
	 * back. NULL = none. Not with dry_run. */
	const char *stamp_path;
} mld_combine_opts;
#define MLD_COMBINE_OPTS_INIT                                                                                          \
	{                                                                                                              \
		.version = MLD_COMBINE_OPTS_VERSION                                                                    \
	}

typedef struct mld_combine_stats {
	unsigned functions;
	uint64_t weights;
	uint64_t by_reason[MLD_R_COUNT];
	uint64_t bytes_before;  /* sum of the sources' weight files (each package once) */
	uint64_t bytes_after;   /* the combined weight.bin */
	uint64_t bytes_optimum; /* one copy of each distinct content (after accepted sharing) */
	uint64_t decisions_computed;
	uint64_t decisions_reused;
	uint64_t weights_dequantized;
	uint64_t packages_indexed;
	int large_warning; /* the weight file exceeds 1 GB */
} mld_combine_stats;

/* Combine the sources (the first is the anchor) into one multifunction package at
 * `out_path`, each shareable weight stored once. `opts` may be NULL (the defaults). */
int mld_combine(mld_combine_stats *stats, const mld_source_spec *sources, size_t n_sources, const char *out_path,
                const mld_combine_opts *opts);

/* Align: the same plan as mld_combine over the same sources (the first is the
 * anchor), but instead of one combined package, each source i with a non-NULL
 * out_paths[i] is written as its own single-function package, in which every weight
 * the plan shares (deq_identical, deq_close) carries the exact encoding and bytes of
 * the weight it shares with. coremltools' save_multifunction, which shares only
 * byte-identical blobs, then shares them too. Each output keeps its source's model
 * description and metadata (only the source function is kept; iOS16-form ops are
 * rewritten into the iOS18 form as in mld_combine). `rewritten` (may be NULL) gets,
 * per source, the number of weights given another's bytes. Of `opts`, dry_run, zip,
 * report_path, default_name and no_preflight must be unset; stats->bytes_after is the
 * sum of the written weight files. Each output appears atomically. */
int mld_align(mld_combine_stats *stats, uint64_t *rewritten, const mld_source_spec *sources, size_t n_sources,
              const char *const *out_paths, const mld_combine_opts *opts);

/* Verify a (combined) package: structure (manifest, functions, every blob offset,
 * dtype and size, the canonical weight file) and, given the sources, that every
 * weight of every function equals its source's dense values exactly, or within
 * the thresholds (`strict` adds the max |d| bound). Each problem is passed to
 * `problem`; the return is 0 when the package could be checked at all. */
typedef struct mld_verify_stats {
	unsigned functions;
	uint64_t weights;
	uint64_t exact; /* bit-identical to the source */
	uint64_t close; /* within the thresholds */
	uint64_t failures;
} mld_verify_stats;
#define MLD_VERIFY_OPTS_VERSION 1
typedef struct mld_verify_opts {
	unsigned version;                            /* MLD_VERIFY_OPTS_VERSION (0: a zeroed struct, the defaults) */
	int strict;                                  /* also require max |d| <= 0.01 */
	void (*problem)(void *ctx, const char *msg); /* each problem found; may be NULL */
	void *problem_ctx;
} mld_verify_opts;
#define MLD_VERIFY_OPTS_INIT                                                                                           \
	{                                                                                                              \
		.version = MLD_VERIFY_OPTS_VERSION                                                                     \
	}
/* `opts` may be NULL (the defaults). */
int mld_verify(mld_verify_stats *stats, const char *pkg_path, const mld_source_spec *sources, size_t n_sources,
               const mld_verify_opts *opts);

/* ANEMLL layouts: the combine jobs implied by the export names in `dir`
 * (see mldedup-combine(1)): FFN+prefill chunks -> {prefix}_FFN_PF{_lutN}_chunk_NNofMM
 * (infer, prefill, and Gemma's infer_rotate/prefill_rotate), monolithic variants ->
 * {prefix}_monolithic_full{_lutN}, per-context folders (ctxN) ->
 * {prefix}_FFN_PF_statex_chunk_NNofMM with infer_ctxN/prefill_ctxN plus infer/prefill
 * aliases of the largest context. */
typedef struct mld_anemll_job {
	char *output;             /* output package path */
	mld_source_spec *sources; /* names and paths owned by the job */
	size_t n_sources;
} mld_anemll_job;
int mld_anemll_plan(mld_anemll_job **jobs, size_t *n_jobs, const char *dir, const char *out_dir);
void mld_anemll_jobs_free(mld_anemll_job *jobs, size_t n_jobs);

/* A layout: the jobs, every source they need that does not exist, and every entry
 * of the input directory that no job reads (embeddings, LM head, other files; the
 * jobs' own outputs and hidden entries are not listed). */
typedef struct mld_anemll_layout {
	mld_anemll_job *jobs;
	size_t n_jobs;
	char **missing; /* paths of expected sources that do not exist */
	size_t n_missing;
	char **other; /* paths left as they are */
	size_t n_other;
} mld_anemll_layout;
/* Free what a layout holds (NULL-safe) and zero it. */
void mld_anemll_layout_free(mld_anemll_layout *l);

/* The layout found by name, as mld_anemll_plan finds it, with what each group it
 * found lacks: a chunked group {prefix}{_lutN} ..._chunk_NNofMM needs chunks 1..MM,
 * each with FFN and prefill (and FFN_rotate and prefill_rotate when the group has
 * any rotate export); a monolithic group needs infer and prefill (and both rotates
 * likewise); a per-context group needs every chunk's infer in each context folder.
 * A job lists only the sources that exist. MLD_ENOTFOUND when there is no export. */
int mld_anemll_scan(mld_anemll_layout *out, const char *dir, const char *out_dir);

/* ANEMLL's combine_models.py: the same flags, the same file names. */
#define MLD_ANEMLL_OPTS_VERSION 1
typedef struct mld_anemll_opts {
	unsigned version;   /* MLD_ANEMLL_OPTS_VERSION (0: a zeroed struct, the defaults) */
	const char *prefix; /* NULL = "llama" */
	int lut_bits;       /* 0 = names without _lutN */
	int chunks;         /* chunked mode: chunks 1..chunks (required unless monolithic) */
	int monolithic;     /* {prefix}_monolithic[_prefill][_rotate]{_lutN} -> {prefix}_monolithic_full{_lutN} */
	int rotate;         /* 4 functions: infer, infer_rotate, prefill, prefill_rotate (--rotate, --gemma3) */
	int split_rotate;   /* chunked: 2 outputs per chunk, {prefix}_FFN_PF{_lutN}_chunk_NNofMM (infer, prefill)
	                     * and the same name ending _rot (infer_rotate, prefill_rotate) */
} mld_anemll_opts;
/* The layout combine_models.py would combine from in_dir into out_dir (NULL = in_dir).
 * Every job lists all of its expected sources, present or not; `missing` names those
 * that are absent (the caller decides). MLD_EUSAGE for options ANEMLL refuses (no
 * chunk count in chunked mode) or a prefix that is not a plain file name. */
int mld_anemll_expect(mld_anemll_layout *out, const char *in_dir, const char *out_dir, const mld_anemll_opts *opts);

/* ---- build integration (Ninja, Make) ----------------------------------------------------- */

/* A build stamp of a package: text that changes exactly when what a combine reads
 * from the package does. Format version 2, digests as 32 lowercase hex digits:
 *
 *   mldedup stamp 2
 *   model <XXH3-128 of the model file>
 *   weights <weights identity> <bytes of the weight file(s)>
 *   <function>\t<weight>\t<dtype>\t<shape>\t<encoding digest>\t<content digest>
 *
 * one weight line per weight, sorted bytewise by function, then name; shape is a
 * JSON array, the content digest "-" for a form that cannot be decoded. The weights
 * identity digests the weight files from the encoding digests of the blobs weights
 * read plus every other byte (the store's packages.weights_digest), so no stamp
 * reads a weight file twice. Given the store it was indexed into (after
 * mld_store_index) the stamp comes from there; with st NULL it is computed from the
 * package, to the same text; combine's stamp_path option writes the same text for
 * its output. `files` (may be NULL) gets the files read, one path under `pkg_path`
 * per line: a depfile's. */
int mld_package_stamp(char **stamp, char **files, const char *pkg_path, mld_store *st);

/* Write `len` bytes to `path` (creating its directory) unless it already holds
 * exactly them, so a stamp keeps its mtime when its content did not change. A new
 * file appears atomically. Returns 1 when written, 0 when unchanged, < 0 on error. */
int mld_write_if_changed(const char *path, const void *data, size_t len);

/* Verification thresholds (the same as the reference script's). */
#define MLD_COS_MIN 0.9999
#define MLD_MEAN_ABS_MAX 0.001
#define MLD_MAX_ABS_MAX_STRICT 0.01

#ifdef __cplusplus
}
#endif
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#endif
