/* mldtest helpers for the input-limit tests (input_limits.sh):
 *
 *   mldtest mkbomb OUT.zip PKGDIR REL EXTRA [DENSITY]
 *       zip the package directory PKGDIR as "<basename>/...", with EXTRA more bytes
 *       after the file REL (relative to PKGDIR): zeros, or DENSITY pseudo-random bytes
 *       in every 4 KiB. A 2 GiB zip bomb takes a second: the extra bytes are deflated
 *       one 1 MiB chunk at a time after a full flush, so every chunk's compressed
 *       form is the same and is computed once.
 *   mldtest maxrss OUTFILE CMD [ARG]...
 *       run CMD, write its peak resident size in KiB to OUTFILE, exit with its status
 *   mldtest depfile TARGET [FILE]...
 *       the depfile mldedup writes for TARGET and the FILEs (src/cli/buildfile.c) on
 *       stdout; exit 3 with the reason on stderr if a depfile cannot name one
 *   mldtest ops MODEL.mlmodel
 *       print each function ("function NAME OPSET spec N") and its ops, one a line:
 *       "TYPE OUTPUT KEY=NAME|KEY=[INTS]|KEY=\"STR\"|KEY=imm ..." (inputs, then
 *       attributes other than name; small integer immediates written out)
 *   mldtest mkdeep OUT DEPTH [block|type|value]
 *       write a model.mlmodel whose function "main" nests DEPTH levels deep:
 *       Block > Operation > Block ... (block, the default), a ValueType of lists of
 *       lists ... (type), or an immediate list of lists ... (value). A few bytes a
 *       level: 10000 levels is under 100 KB.
 */
#define _GNU_SOURCE
#include "inputgen.h"

#include "buildfile.h"

#include "io/mil.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1u << 20)

typedef struct entry {
	char *name;
	uint32_t crc;
	uint64_t csize, usize, off;
} entry;

typedef struct zw {
	FILE *f;
	entry *e;
	size_t n;
} zw;

static void put16(FILE *f, unsigned v) { fputc(v & 255, f), fputc(v >> 8 & 255, f); }
static void put32(FILE *f, uint32_t v) { put16(f, v & 0xffff), put16(f, v >> 16); }

static int die(const char *what, const char *arg)
{
	fprintf(stderr, "mldtest: %s %s: %s\n", what, arg, strerror(errno));
	return 1;
}

/* Deflate (raw) `len` bytes into `out` (grown), flushing with `flush`. */
static int deflate_into(z_stream *z, const uint8_t *in, size_t len, int flush, uint8_t **out, size_t *olen)
{
	z->next_in = (uint8_t *)in;
	z->avail_in = (uInt)len;
	do {
		uint8_t buf[1 << 16];
		z->next_out = buf;
		z->avail_out = sizeof buf;
		int r = deflate(z, flush);
		if (r == Z_STREAM_ERROR)
			return -1;
		size_t k = sizeof buf - z->avail_out;
		uint8_t *p = realloc(*out, *olen + k + 1);
		if (!p)
			return -1;
		memcpy(p + *olen, buf, k);
		*out = p;
		*olen += k;
	} while (z->avail_out == 0 || (flush == Z_FINISH && z->avail_in));
	return 0;
}

static void local_header(zw *w, const entry *e)
{
	fwrite("PK\3\4", 1, 4, w->f);
	put16(w->f, 20), put16(w->f, 0), put16(w->f, 8), put16(w->f, 0), put16(w->f, 0x21);
	put32(w->f, e->crc), put32(w->f, (uint32_t)e->csize), put32(w->f, (uint32_t)e->usize);
	put16(w->f, (unsigned)strlen(e->name)), put16(w->f, 0);
	fputs(e->name, w->f);
}

static int add_file(zw *w, const char *name, const char *fs, uint64_t extra, unsigned density)
{
	FILE *in = fopen(fs, "rb");
	if (!in)
		return die("cannot read", fs);
	uint8_t *data = NULL, *head = NULL, *mid = NULL, *tailz = NULL;
	size_t len = 0, cap = 0, hlen = 0, mlen = 0, tlen = 0;
	for (;;) {
		if (len == cap && !(data = realloc(data, cap = cap ? 2 * cap : 1 << 16)))
			return die("out of memory", fs);
		size_t k = fread(data + len, 1, cap - len, in);
		if (!k)
			break;
		len += k;
	}
	fclose(in);
	/* the extra bytes repeat one 1 MiB chunk: zeros, or `density` random bytes per 4 KiB */
	uint8_t *chunk = calloc(1, CHUNK);
	if (!chunk)
		return die("out of memory", fs);
	uint32_t seed = 12345;
	for (size_t i = 0; density && i < CHUNK; i += 4096)
		for (unsigned k = 0; k < density && k < 4096; k++) {
			seed = seed * 1664525u + 1013904223u;
			chunk[i + (seed >> 8) % 4096] = (uint8_t)(seed >> 24);
		}
	uint64_t whole = extra / CHUNK, tail = extra % CHUNK;
	z_stream z = {0};
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return die("deflateInit", fs);
	/* After a full flush deflate starts afresh (empty history, byte-aligned), so each
	 * whole chunk deflates to the same bytes: `mid`, written `whole` times. */
	int rc = deflate_into(&z, data, len, extra ? Z_FULL_FLUSH : Z_FINISH, &head, &hlen);
	if (!rc && whole)
		rc = deflate_into(&z, chunk, CHUNK, Z_FULL_FLUSH, &mid, &mlen);
	if (!rc && extra)
		rc = deflate_into(&z, chunk, (size_t)tail, Z_FINISH, &tailz, &tlen);
	deflateEnd(&z);
	if (rc)
		return die("deflate failed", fs);
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)len), ccrc = (uint32_t)crc32(0, chunk, CHUNK);
	for (uint64_t i = 0; i < whole; i++)
		crc = (uint32_t)crc32_combine(crc, ccrc, CHUNK);
	crc = (uint32_t)crc32_combine(crc, (uint32_t)crc32(0, chunk, (uInt)tail), (z_off_t)tail);
	entry *e = realloc(w->e, (w->n + 1) * sizeof *w->e);
	if (!e)
		return die("out of memory", fs);
	w->e = e;
	e = &w->e[w->n++];
	*e = (entry){strdup(name), crc, hlen + whole * mlen + tlen, len + extra, (uint64_t)ftello(w->f)};
	if (e->usize > 0xffffffffu || e->csize > 0xffffffffu) {
		fprintf(stderr, "mldtest: mkbomb: %s: 4 GiB or more needs zip64, not written here\n", name);
		return 1;
	}
	local_header(w, e);
	if (hlen)
		fwrite(head, 1, hlen, w->f);
	for (uint64_t i = 0; mlen && i < whole; i++)
		fwrite(mid, 1, mlen, w->f);
	if (tlen)
		fwrite(tailz, 1, tlen, w->f);
	free(head), free(mid), free(tailz), free(chunk), free(data);
	return ferror(w->f) ? die("write failed", name) : 0;
}

static int add_tree(zw *w, const char *fs, const char *name, const char *rel_here, const char *big, uint64_t extra,
                    unsigned density)
{
	DIR *d = opendir(fs);
	if (!d)
		return die("cannot open", fs);
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *cfs, *cname, *crel;
		if (asprintf(&cfs, "%s/%s", fs, de->d_name) < 0 || asprintf(&cname, "%s/%s", name, de->d_name) < 0 ||
		    asprintf(&crel, "%s%s%s", rel_here, *rel_here ? "/" : "", de->d_name) < 0)
			return 1;
		struct stat st;
		if (stat(cfs, &st) != 0)
			rc = die("cannot stat", cfs);
		else if (S_ISDIR(st.st_mode))
			rc = add_tree(w, cfs, cname, crel, big, extra, density);
		else
			rc = add_file(w, cname, cfs, strcmp(crel, big) ? 0 : extra, density);
		free(cfs), free(cname), free(crel);
	}
	closedir(d);
	return rc;
}

int ig_mkbomb(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: mldtest mkbomb OUT.zip PKGDIR REL EXTRA [DENSITY]\n");
		return 2;
	}
	zw w = {fopen(argv[0], "wb"), NULL, 0};
	if (!w.f)
		return die("cannot create", argv[0]);
	char *pkg = strdup(argv[1]);
	while (strlen(pkg) > 1 && pkg[strlen(pkg) - 1] == '/')
		pkg[strlen(pkg) - 1] = 0;
	const char *base = strrchr(pkg, '/');
	base = base ? base + 1 : pkg;
	int rc = add_tree(&w, pkg, base, "", argv[2], strtoull(argv[3], NULL, 10),
	                  argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0);
	uint64_t cd = (uint64_t)ftello(w.f);
	for (size_t i = 0; !rc && i < w.n; i++) {
		entry *e = &w.e[i];
		fwrite("PK\1\2", 1, 4, w.f);
		put16(w.f, 20), put16(w.f, 20), put16(w.f, 0), put16(w.f, 8), put16(w.f, 0), put16(w.f, 0x21);
		put32(w.f, e->crc), put32(w.f, (uint32_t)e->csize), put32(w.f, (uint32_t)e->usize);
		put16(w.f, (unsigned)strlen(e->name)), put16(w.f, 0), put16(w.f, 0), put16(w.f, 0), put16(w.f, 0);
		put32(w.f, 0), put32(w.f, (uint32_t)e->off);
		fputs(e->name, w.f);
	}
	uint64_t end = (uint64_t)ftello(w.f);
	fwrite("PK\5\6", 1, 4, w.f);
	put16(w.f, 0), put16(w.f, 0), put16(w.f, (unsigned)w.n), put16(w.f, (unsigned)w.n);
	put32(w.f, (uint32_t)(end - cd)), put32(w.f, (uint32_t)cd), put16(w.f, 0);
	for (size_t i = 0; i < w.n; i++)
		free(w.e[i].name);
	free(w.e);
	free(pkg);
	if (fclose(w.f) != 0 && !rc)
		rc = die("write failed", argv[0]);
	return rc;
}

int ig_maxrss(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mldtest maxrss OUTFILE CMD [ARG]...\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return die("cannot run", argv[1]);
	FILE *f = fopen(argv[0], "w");
	if (!f)
		return die("cannot write", argv[0]);
	fprintf(f, "%ld\n", ru.ru_maxrss); /* KiB on Linux */
	fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- deep protobufs ------------------------------------------------------------------ */

typedef struct pb {
	uint8_t *p;
	size_t n, cap;
} pb;

static void pb_put(pb *b, const void *d, size_t n)
{
	if (!n)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		if (!(b->p = realloc(b->p, b->cap)))
			abort();
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void pb_varint(pb *b, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		pb_put(b, &c, 1);
		v >>= 7;
	} while (v);
}

/* field `num` (length-delimited) holding `inner`: a new buffer */
static pb pb_wrap(unsigned num, const pb *inner)
{
	pb o = {0};
	pb_varint(&o, (uint64_t)num << 3 | 2);
	pb_varint(&o, inner->n);
	pb_put(&o, inner->p, inner->n);
	return o;
}

static pb pb_str(unsigned num, const char *s)
{
	pb t = {0};
	pb_put(&t, s, strlen(s));
	pb o = pb_wrap(num, &t);
	free(t.p);
	return o;
}

static pb pb_cat(pb a, pb b)
{
	pb_put(&a, b.p, b.n);
	free(b.p);
	return a;
}

static pb pb_wrapf(unsigned num, pb inner)
{
	pb o = pb_wrap(num, &inner);
	free(inner.p);
	return o;
}

int ig_mkdeep(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mldtest mkdeep OUT DEPTH [block|type|value]\n");
		return 2;
	}
	long depth = strtol(argv[1], NULL, 10);
	const char *kind = argc > 2 ? argv[2] : "block";
	pb x = {0}, block;
	if (!strcmp(kind, "block")) { /* Block{operations: Operation{type, blocks: Block{...}}} */
		for (long i = 0; i < depth; i++)
			x = pb_wrapf(3, pb_cat(pb_str(1, "cond"),
			                       pb_wrapf(4, x))); /* Block.operations(3) > Operation.blocks(4) */
		block = x;
	} else {
		/* ValueType{listType: ListType{type: ValueType{...}}} or
		 * Value{immediateValue: ImmediateValue{list: ListValue{values: Value{...}}}} */
		bool type = !strcmp(kind, "type");
		for (long i = 0; i < depth; i++)
			x = type ? pb_wrapf(2, pb_wrapf(1, x)) : pb_wrapf(3, pb_wrapf(3, pb_wrapf(1, x)));
		pb op = pb_str(1, "const");
		if (type) /* Operation.outputs(3): NamedValueType{name(1), type(2)} */
			op = pb_cat(op, pb_wrapf(3, pb_cat(pb_str(1, "deep"), pb_wrapf(2, x))));
		else /* Operation.attributes(5): entry{key(1) "val", value(2)} */
			op = pb_cat(op, pb_wrapf(5, pb_cat(pb_str(1, "val"), pb_wrapf(2, x))));
		block = pb_wrapf(3, op);
	}
	/* Function{opset(2), block_specializations(3): {key(1), value(2): block}} */
	pb fn = pb_cat(pb_str(2, "CoreML8"), pb_wrapf(3, pb_cat(pb_str(1, "CoreML8"), pb_wrapf(2, block))));
	/* Program{version(1)=1, functions(2): {key "main", value fn}} */
	pb prog = {0};
	pb_varint(&prog, 1 << 3);
	pb_varint(&prog, 1);
	prog = pb_cat(prog, pb_wrapf(2, pb_cat(pb_str(1, "main"), pb_wrapf(2, fn))));
	/* Model{specificationVersion(1)=9, mlProgram(502)} */
	pb model = {0};
	pb_varint(&model, 1 << 3);
	pb_varint(&model, 9);
	model = pb_cat(model, pb_wrapf(502, prog));
	FILE *f = fopen(argv[0], "wb");
	if (!f || fwrite(model.p, 1, model.n, f) != model.n || fclose(f) != 0)
		return die("cannot write", argv[0]);
	free(model.p);
	return 0;
}

/* ---- ops ------------------------------------------------------------------------------- */

static void print_value(const mil_value *v)
{
	const mil_tensor_value *tv =
		v && v->value_case == MIL_VALUE_IMMEDIATE && v->immediatevalue ? v->immediatevalue->tensor : NULL;
	if (v && v->value_case == MIL_VALUE_BLOB) {
		printf("blob");
	} else if (tv && tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS && tv->ints) {
		printf("[");
		for (size_t i = 0; i < tv->ints->n_values; i++)
			printf("%s%d", i ? "," : "", tv->ints->values[i]);
		printf("]");
	} else if (tv && tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS &&
	           tv->strings && tv->strings->n_values == 1) {
		printf("\"%s\"", tv->strings->values[0]);
	} else {
		printf("imm");
	}
}

static void print_block(const mil_block *b)
{
	for (size_t i = 0; b && i < b->n_operations; i++) {
		const mil_op *op = b->operations[i];
		printf("%s %s", op->type, op->n_outputs ? op->outputs[0]->name : "-");
		for (size_t k = 0; k < op->n_inputs; k++) {
			const mil_argument *a = op->inputs[k]->value;
			printf(" %s=", op->inputs[k]->key);
			for (size_t j = 0; a && j < a->n_arguments; j++) {
				const mil_binding *bd = a->arguments[j];
				if (bd->binding_case == MIL_BINDING_NAME)
					printf("%s%s", j ? "," : "", bd->name);
				else
					print_value(bd->value);
			}
		}
		for (size_t k = 0; k < op->n_attributes; k++)
			if (strcmp(op->attributes[k]->key, "name")) {
				printf(" @%s=", op->attributes[k]->key);
				print_value(op->attributes[k]->value);
			}
		printf("\n");
		for (size_t k = 0; k < op->n_blocks; k++)
			print_block(op->blocks[k]);
	}
}

int ig_ops(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: mldtest ops MODEL.mlmodel\n");
		return 2;
	}
	FILE *f = fopen(argv[0], "rb");
	if (!f)
		return die("cannot read", argv[0]);
	pb b = {0};
	uint8_t chunk[1 << 16];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		pb_put(&b, chunk, k);
	fclose(f);
	mil_model *m;
	if (mil_model_unpack(&m, b.p, b.n, argv[0])) {
		fprintf(stderr, "mldtest: %s\n", mld_error_last());
		return 1;
	}
	for (size_t i = 0; m->mlprogram && i < m->mlprogram->n_functions; i++) {
		const mil_function *fn = m->mlprogram->functions[i]->value;
		printf("function %s %s spec %d\n", m->mlprogram->functions[i]->key, fn->opset, m->specificationversion);
		print_block(mil_function_block(fn));
	}
	core_ml__specification__model__free_unpacked(m, NULL);
	free(b.p);
	return 0;
}

int ig_depfile(int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "usage: mldtest depfile TARGET [FILE]...\n");
		return 2;
	}
	pb files = {0};
	const char *why = bf_depfile_unsafe(argv[0], true);
	for (int i = 1; i < argc; i++) {
		pb_put(&files, argv[i], strlen(argv[i]));
		pb_put(&files, "\n", 1);
		if (!why)
			why = bf_depfile_unsafe(argv[i], false);
	}
	pb_put(&files, "", 1);
	if (why) {
		fprintf(stderr, "mldtest: a depfile cannot name these paths: %s\n", why);
		free(files.p);
		return 3;
	}
	bf_depfile_text(stdout, argv[0], (const char *)files.p);
	free(files.p);
	return 0;
}
