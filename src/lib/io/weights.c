/* Which values are weights.
 *
 * A weight is the output of a `const` op whose value lives in a blob file, or the
 * final output of a chain of `constexpr_*` ops: one that some ordinary op (or the
 * block's outputs) consumes, or that nothing consumes at all. Const/constexpr
 * outputs consumed only by other constexpr ops are pieces of a chain, not weights. */
#include "package.h"
#include "blobfile.h"
#include "../core/arena.h"
#include "../core/dtype.h"

#include <stdlib.h>

typedef struct walk {
	mld_package *pkg;
	mld__function *fn;
	size_t cap;
} walk;

static bool is_producer(const mil_op *op) { return mil_is_const(op) || mil_is_constexpr(op); }

static int collect_producers(walk *w, const mil_block *b)
{
	for (size_t i = 0; i < b->n_operations; i++) {
		const mil_op *op = b->operations[i];
		if (is_producer(op)) {
			for (size_t k = 0; k < op->n_outputs; k++) {
				if (w->fn->n_prods == w->cap) {
					/* the name map is built after this walk, so moving the array is safe */
					size_t cap = w->cap ? w->cap * 2 : 256;
					mld__producer *p = mld__realloc(w->fn->prods, cap * sizeof *p);
					if (!p)
						return MLD_ENOMEM;
					w->fn->prods = p;
					w->cap = cap;
				}
				w->fn->prods[w->fn->n_prods++] = (mld__producer){op, (unsigned)k, false, false, 0};
			}
		}
		for (size_t k = 0; k < op->n_blocks; k++) {
			int rc = collect_producers(w, op->blocks[k]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static void mark_use(mld__function *fn, const char *name, bool by_constexpr)
{
	mld__producer *p = mld__strmap_get(&fn->producers, name);
	if (!p)
		return;
	if (by_constexpr)
		p->used_by_constexpr = true;
	else
		p->used_by_other = true;
}

static void mark_uses(mld__function *fn, const mil_block *b)
{
	for (size_t i = 0; i < b->n_outputs; i++)
		mark_use(fn, b->outputs[i], false);
	for (size_t i = 0; i < b->n_operations; i++) {
		const mil_op *op = b->operations[i];
		bool cx = mil_is_constexpr(op);
		for (size_t k = 0; k < op->n_inputs; k++) {
			const mil_argument *a = op->inputs[k]->value;
			for (size_t j = 0; a && j < a->n_arguments; j++)
				if (a->arguments[j]->binding_case == MIL_BINDING_NAME)
					mark_use(fn, a->arguments[j]->name, cx);
		}
		for (size_t k = 0; k < op->n_blocks; k++)
			mark_uses(fn, op->blocks[k]);
	}
}

static const char *op_label(const mil_op *op)
{
	return op->n_outputs && op->outputs[0]->name ? op->outputs[0]->name : "?";
}

/* Constexpr ops that consume their own output, directly or through other constexpr
 * ops, never evaluate; their weight would otherwise vanish quietly, as every output
 * on the cycle is "used by a constexpr op" (a piece of a chain). A depth-first walk
 * over the producer ops with an explicit stack; the first cycle is reported with
 * every op on it. */
static int check_cycles(mld_package *pkg, mld__function *fn)
{
	size_t n = 0;
	for (size_t i = 0; i < fn->n_prods; i++) {
		if (i == 0 || fn->prods[i].op != fn->prods[i - 1].op)
			n++;
		fn->prods[i].node = n - 1; /* an op's outputs are consecutive in prods */
	}
	fn->n_nodes = n;
	const mil_op **ops = mld__calloc(n ? n : 1, sizeof *ops);
	uint8_t *state = mld__calloc(n ? n : 1, 1); /* 0 new, 1 on the stack, 2 done */
	typedef struct frame {
		size_t node, k, j; /* the input and argument to look at next */
	} frame;
	frame *st = mld__calloc(n ? n : 1, sizeof *st);
	int rc = 0;
	if (!ops || !state || !st) {
		rc = MLD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < fn->n_prods; i++)
		ops[fn->prods[i].node] = fn->prods[i].op;
	for (size_t root = 0; root < n && !rc; root++) {
		if (state[root] || !mil_is_constexpr(ops[root]))
			continue;
		size_t top = 0;
		st[0] = (frame){root, 0, 0};
		state[root] = 1;
		while (!rc) {
			frame *f = &st[top];
			const mil_op *op = ops[f->node];
			const mld__producer *next = NULL;
			while (!next && f->k < op->n_inputs) {
				const mil_argument *a = op->inputs[f->k]->value;
				if (!a || f->j >= a->n_arguments) {
					f->k++, f->j = 0;
					continue;
				}
				const mil_binding *b = a->arguments[f->j++];
				if (b->binding_case == MIL_BINDING_NAME)
					next = mld__strmap_get(&fn->producers, b->name);
			}
			if (!next) { /* every input visited */
				state[f->node] = 2;
				if (top-- == 0)
					break;
				continue;
			}
			if (state[next->node] == 2 || !mil_is_constexpr(next->op))
				continue;
			if (state[next->node] == 0) {
				state[next->node] = 1;
				st[++top] = (frame){next->node, 0, 0};
				continue;
			}
			/* back to an op on the stack: the cycle is the stack from it up */
			size_t from = top;
			while (st[from].node != next->node)
				from--;
			mld__buf path = {0};
			for (size_t i = from; i <= top + 1 && !rc; i++) {
				const mil_op *o = ops[i <= top ? st[i].node : next->node];
				char *part = mld__sprintf("%s%s \"%s\"", i > from ? " -> " : "", o->type, op_label(o));
				rc = part ? mld__buf_append(&path, part, strlen(part)) : MLD_ENOMEM;
				free(part);
			}
			if (!rc && !(rc = mld__buf_append(&path, "", 1)))
				rc = mld__err(
					MLD_EFORMAT,
					from == top ? "%s: function \"%s\": a constexpr op consumes its own output: %s"
						    : "%s: function \"%s\": constexpr ops consume each other's outputs "
						      "in a cycle: %s",
					mld_package_path(pkg), fn->name, (char *)path.data);
			mld__buf_free(&path);
		}
	}
out:
	free(ops);
	free(state);
	free(st);
	return rc;
}

/* The weights' own copy of a chain op, made once per op and package: a weight keeps
 * its chain when the model it was found in is freed (package.c), and two weights
 * sharing an op share its copy, as they shared the op. */
static int op_copy(mld_package *pkg, mld__function *fn, const mld__producer *p, mil_op **out)
{
	if (!fn->copies && !(fn->copies = mld__calloc(fn->n_nodes ? fn->n_nodes : 1, sizeof *fn->copies)))
		return MLD_ENOMEM;
	if (fn->copies[p->node]) {
		*out = fn->copies[p->node];
		return 0;
	}
	mld__arena *ar = mld__package_keep_arena(pkg);
	if (!ar)
		return MLD_ENOMEM;
	ProtobufCAllocator al = mld__pb_arena(ar);
	mil_op *c = mil_clone(&p->op->base, &al);
	if (!c)
		return mld__err(MLD_ENOMEM, "%s: cannot copy the %s op \"%s\"", mld_package_path(pkg), p->op->type,
		                op_label(p->op));
	*out = fn->copies[p->node] = c;
	return 0;
}

/* Append the op of producer p (after its producers) to the chain, once: its copy. */
static int chain_add(mld_package *pkg, mld_weight *wt, mld__function *fn, const mld__producer *p, unsigned depth)
{
	mil_op *copy;
	int rc = op_copy(pkg, fn, p, &copy);
	if (rc)
		return rc;
	for (size_t i = 0; i < wt->n_ops; i++)
		if (wt->ops[i] == copy)
			return 0;
	if (depth > 64)
		return mld__err(MLD_EFORMAT,
		                "function \"%s\": constexpr chain of \"%s\" is deeper than 64 ops (a cycle?)", fn->name,
		                wt->name);
	const mil_op *op = p->op;
	for (size_t k = 0; mil_is_constexpr(op) && k < op->n_inputs; k++) {
		const mil_argument *a = op->inputs[k]->value;
		for (size_t j = 0; a && j < a->n_arguments; j++) {
			if (a->arguments[j]->binding_case != MIL_BINDING_NAME)
				continue;
			mld__producer *q = mld__strmap_get(&fn->producers, a->arguments[j]->name);
			if (!q)
				return mld__err(
					MLD_EFORMAT,
					"function \"%s\": %s op feeding \"%s\" takes \"%s\", which is not a constant",
					fn->name, op->type, wt->name, a->arguments[j]->name);
			if ((rc = chain_add(pkg, wt, fn, q, depth + 1)))
				return rc;
		}
	}
	const mil_op **ops = mld__realloc(wt->ops, (wt->n_ops + 1) * sizeof *ops);
	if (!ops)
		return MLD_ENOMEM;
	wt->ops = ops;
	wt->ops[wt->n_ops++] = copy;
	return 0;
}

static uint64_t immediate_bytes(const mil_value *v)
{
	mld_dtype dt;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK], count, bytes = 0;
	if (mil_tensor_shape(v->type, &dt, &rank, shape, &count, "")) {
		mld__err_clear();
		return 0;
	}
	uint64_t bits = mld_dtype_bits(dt);
	if (!mld__mul_u64(count, bits, &bytes))
		return 0;
	return (bytes + 7) / 8;
}

/* Record the blob references and encoded size of one op's parameters. */
static int add_params(mld_package *pkg, mld_weight *wt, const mil_op *op)
{
	const mil_value *vals[MIL_MAX_PARAMS];
	const char *names[MIL_MAX_PARAMS];
	size_t n = mil_op_params(op, vals, names);
	for (size_t i = 0; i < n; i++) {
		const mil_value *v = vals[i];
		if (v->value_case == MIL_VALUE_IMMEDIATE) {
			wt->encoded_bytes += immediate_bytes(v);
			continue;
		}
		if (v->value_case != MIL_VALUE_BLOB || !v->blobfilevalue)
			continue;
		mld_blob_ref *b = mld__realloc(wt->blobs, (wt->n_blobs + 1) * sizeof *b);
		if (!b)
			return MLD_ENOMEM;
		wt->blobs = b;
		b = &wt->blobs[wt->n_blobs++];
		memset(b, 0, sizeof *b);
		b->param = names[i];
		b->op = op->type;
		b->file = v->blobfilevalue->filename;
		size_t f = 0;
		while (f < pkg->n_blob_files && strcmp(pkg->blob_files[f], b->file))
			f++;
		if (f == MLD_MAX_BLOB_FILES)
			return mld__err(MLD_EUNSUPPORTED, "%s: weights use more than %d blob files",
			                mld_package_path(pkg), MLD_MAX_BLOB_FILES);
		if (f == pkg->n_blob_files)
			pkg->blob_files[pkg->n_blob_files++] = b->file;
		b->offset = v->blobfilevalue->offset;
		/* Metadata is read now so ls can show it; bad blobs fail the open. */
		const uint8_t *map;
		uint64_t len;
		char *disp = NULL;
		unsigned rank;
		uint64_t shape[MLD_MAX_RANK], count;
		int rc = mil_tensor_shape(v->type, &b->dtype, &rank, shape, &count, names[i]);
		if (!rc)
			rc = mld__package_blobfile(pkg, b->file, &map, &len, &disp);
		if (!rc) {
			mld__blob_view bv;
			rc = mld__blobfile_check_header(map, len, NULL, disp);
			if (!rc)
				rc = mld__blobfile_read(&bv, map, len, b->offset, b->dtype, disp);
			if (!rc) /* far from the last one read: the pages around that one go */
				mld__source_touched(pkg->src, &pkg->touched, map + b->offset);
			if (!rc && bv.count != count)
				rc = mld__err(MLD_EFORMAT,
				              "%s: blob at offset %llu holds %llu elements, the model declares %llu",
				              disp, (unsigned long long)b->offset, (unsigned long long)bv.count,
				              (unsigned long long)count);
			if (!rc) {
				b->data_offset = bv.data_offset;
				b->size = bv.size;
				b->padding_bits = bv.padding_bits;
				wt->encoded_bytes += bv.size;
			}
		}
		free(disp);
		if (rc)
			return mld__err_prefix("function \"%s\", %s \"%s\", parameter \"%s\"", wt->function, op->type,
			                       wt->name, names[i]);
	}
	return 0;
}

static int build_chain_name(mld_weight *wt)
{
	mld__buf b = {0};
	for (size_t i = 0; i < wt->n_ops; i++) {
		if ((i && mld__buf_append(&b, "+", 1)) ||
		    mld__buf_append(&b, wt->ops[i]->type, strlen(wt->ops[i]->type)))
			goto oom;
	}
	if (mld__buf_append(&b, "", 1))
		goto oom;
	wt->chain = (char *)b.data;
	return 0;
oom:
	mld__buf_free(&b);
	return MLD_ENOMEM;
}

static int add_weight(mld_package *pkg, size_t fi, mld__producer *p, size_t *cap)
{
	mld__function *fn = &pkg->fns[fi];
	if (pkg->n_weights == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		mld_weight *w = mld__realloc(pkg->weights, *cap * sizeof *w);
		if (!w)
			return MLD_ENOMEM;
		pkg->weights = w;
	}
	mld_weight *wt = &pkg->weights[pkg->n_weights++];
	memset(wt, 0, sizeof *wt);
	wt->fn_index = fi;
	wt->function = fn->name;
	wt->out_index = p->out_index;
	wt->name = p->op->outputs[p->out_index]->name; /* for messages until the copy is made */
	mil_op *copy;
	int rc = op_copy(pkg, fn, p, &copy);
	if (rc)
		return rc;
	wt->op = copy; /* the weight's ops and strings are its copies: they outlive the model */
	const mil_named_type *out = copy->outputs[p->out_index];
	wt->name = out->name;
	rc = mil_tensor_shape(out->type, &wt->dtype, &wt->rank, wt->shape, &wt->count, out->name);
	if (!rc)
		rc = chain_add(pkg, wt, fn, p, 0);
	for (size_t i = 0; !rc && i < wt->n_ops; i++)
		rc = add_params(pkg, wt, wt->ops[i]);
	if (!rc)
		rc = build_chain_name(wt);
	if (rc)
		return mld__err_prefix("%s", mld_package_path(pkg));
	return 0;
}

int mld__weights_discover(mld_package *pkg)
{
	size_t cap = 0;
	for (size_t fi = 0; fi < pkg->n_fns; fi++) {
		mld__function *fn = &pkg->fns[fi];
		walk w = {pkg, fn, 0};
		int rc = collect_producers(&w, fn->block);
		if (rc)
			return rc;
		for (size_t i = 0; i < fn->n_prods; i++) {
			mld__producer *p = &fn->prods[i];
			const mil_named_type *o = p->op->outputs[p->out_index];
			if (!o->name || !o->name[0])
				return mld__err(MLD_EFORMAT, "%s: function \"%s\": a %s op has an unnamed output",
				                mld_package_path(pkg), fn->name, p->op->type);
			if (mld__strmap_get(&fn->producers, o->name))
				return mld__err(MLD_EFORMAT, "%s: function \"%s\": output name \"%s\" is defined twice",
				                mld_package_path(pkg), fn->name, o->name);
			if ((rc = mld__strmap_put(&fn->producers, o->name, p)))
				return rc;
		}
		mark_uses(fn, fn->block);
		if ((rc = check_cycles(pkg, fn)))
			return rc;
		for (size_t i = 0; i < fn->n_prods; i++) {
			mld__producer *p = &fn->prods[i];
			if (p->used_by_constexpr && !p->used_by_other)
				continue; /* a piece of a chain */
			if (mil_is_const(p->op)) {
				const mil_value *v = mil_op_attr(p->op, "val");
				if (!v || v->value_case != MIL_VALUE_BLOB)
					continue; /* an immediate: axes, shapes, scalars */
			}
			if ((rc = add_weight(pkg, fi, p, &cap)))
				return rc;
		}
	}
	return 0;
}

void mld__weights_free(mld_package *pkg)
{
	for (size_t i = 0; i < pkg->n_weights; i++) {
		free(pkg->weights[i].chain);
		free(pkg->weights[i].ops);
		free(pkg->weights[i].blobs);
	}
	free(pkg->weights);
	pkg->weights = NULL;
	pkg->n_weights = 0;
}
