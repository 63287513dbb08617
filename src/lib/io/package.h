/* The opened package: manifest, model protobuf, functions and the weight list. */
#ifndef MLD_PACKAGE_H
#define MLD_PACKAGE_H

#include "../core/strmap.h"
#include "mil.h"
#include "source.h"

/* Packages name one weight file in practice; more than this many is refused. */
#define MLD_MAX_BLOB_FILES 16

typedef struct mld__function {
	char *name;
	const mil_function *fn;
	const mil_block *block;
	/* while the model is held (mld_package_open, until its weights are found): */
	mld__strmap producers; /* output name -> mld__producer* (const and constexpr ops) */
	struct mld__producer *prods;
	size_t n_prods;
	size_t n_nodes;  /* distinct producer ops */
	mil_op **copies; /* per producer op: the weights' copy of it, once made */
} mld__function;

/* A const/constexpr op output, addressable by name inside its function. */
typedef struct mld__producer {
	const mil_op *op;
	unsigned out_index;
	bool used_by_constexpr, used_by_other;
	size_t node; /* the op's index among the function's distinct producer ops */
} mld__producer;

struct mld_weight {
	size_t fn_index;
	const char *function;
	const char *name; /* borrowed from the op's output */
	char *chain;      /* op types, producers first, '+'-joined */
	mld_dtype dtype;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK];
	uint64_t count;
	const mil_op *op; /* the final op: the package's copy of it (chain_arena) */
	unsigned out_index;
	const mil_op **ops; /* the chain in evaluation order (copies, as op) */
	size_t n_ops;
	mld_blob_ref *blobs;
	size_t n_blobs;
	uint64_t encoded_bytes;
};

struct mld_package {
	mld__source *src;
	char *model_rel;      /* root model, relative to the package root ("Data/...") */
	char *model_dir;      /* its directory: what @model_path stands for */
	char *weights_rel;    /* the weights item directory, if the manifest has one */
	uint8_t *model_bytes; /* NULL once dropped (mld__package_drop_model_bytes) */
	size_t model_len;
	uint8_t model_digest[16]; /* of model_bytes, taken when they are dropped */
	/* The parsed model is held only while the package is opened: its weights keep
	 * copies of their chain ops (chain_arena), and what else is asked of the model
	 * afterwards is kept below, so a caller holding many packages holds no model.
	 * A writer parses its own copy from model_bytes. */
	mil_model *model; /* NULL once opened */
	struct mld__arena *model_arena;
	struct mld__arena *chain_arena; /* the weights' op copies and the description's */
	int spec_version;               /* Model.specificationVersion */
	int64_t program_version;        /* Program.version */
	const mil_model_desc *desc;     /* a copy of Model.description, or NULL */
	const uint8_t *touched;         /* discovery's last metadata read (mld__source_touched) */
	mld__function *fns;
	size_t n_fns;
	mld_weight *weights;
	size_t n_weights;
	/* every distinct blob file name the weights use, in order of first use */
	const char *blob_files[MLD_MAX_BLOB_FILES];
	size_t n_blob_files;
};

/* Map the blob file named by a BlobFileValue.fileName. Messages name it. */
int mld__package_blobfile(const mld_package *pkg, const char *file_name, const uint8_t **data, uint64_t *len,
                          char **display);
/* Hash bytes of a mapped blob file into h, MLD_HASH_PIECE at a time, letting each
 * piece's pages leave memory once hashed (mld__source_release): hashing a file of
 * any size keeps the resident size bounded. */
struct mld__hash;
#define MLD_HASH_PIECE (8u << 20)
void mld__package_hash_mapped(const mld_package *pkg, struct mld__hash *h, const uint8_t *p, uint64_t n);
/* The package-relative path of a BlobFileValue.fileName (@model_path resolved). */
int mld__package_blob_rel(const mld_package *pkg, const char *file_name, char **rel);

/* Let the pages of a weight's blobs leave memory (mld__source_release): for a stage
 * that is done reading them. The next read maps them again. */
void mld__weight_release(const mld_package *pkg, const mld_weight *w);

/* Let the model's bytes go (for a caller holding many packages, which needs them
 * again only to write), keeping their digest; mld__package_model_read gives them back. */
void mld__package_drop_model_bytes(mld_package *pkg);
/* The model's bytes: pkg->model_bytes, or (dropped) read again, into *owned for the
 * caller to free, and checked against the digest: a model changed since the package
 * was opened is an error, since the weights found then would not be its weights. */
int mld__package_model_read(const mld_package *pkg, const uint8_t **bytes, size_t *len, uint8_t **owned);

/* pkg->chain_arena, made on first use; NULL when out of memory. */
struct mld__arena *mld__package_keep_arena(mld_package *pkg);

/* Parse and validate Manifest.json; fills model_rel, model_dir, weights_rel. */
int mld__manifest_load(mld_package *pkg);
/* Discover weights of every function (weights.c). */
int mld__weights_discover(mld_package *pkg);
void mld__weights_free(mld_package *pkg);

#endif
