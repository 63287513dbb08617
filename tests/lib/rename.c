/* rename PKG OUT OLD NEW: rewrite PKG to OUT with value OLD renamed NEW everywhere
 * (op outputs, bindings, block outputs, the op's name attribute). Used to check that
 * combine finds renamed near-copies by shape and sketch. */
#include "io/package.h"
#include "io/blobfile.h"
#include "write/pkgwrite.h"

#include <stdio.h>
#include <stdlib.h>

static void swap_name(char **slot, const char *old, const char *new_name)
{
	if (*slot && !strcmp(*slot, old)) {
		free(*slot);
		*slot = strdup(new_name);
	}
}

static void rename_block(mil_block *b, const char *old, const char *new_name)
{
	for (size_t i = 0; i < b->n_outputs; i++)
		swap_name(&b->outputs[i], old, new_name);
	for (size_t i = 0; i < b->n_operations; i++) {
		mil_op *op = b->operations[i];
		bool mine = false;
		for (size_t k = 0; k < op->n_outputs; k++) {
			mine |= !strcmp(op->outputs[k]->name, old);
			swap_name(&op->outputs[k]->name, old, new_name);
		}
		for (size_t k = 0; k < op->n_inputs; k++)
			for (size_t j = 0; op->inputs[k]->value && j < op->inputs[k]->value->n_arguments; j++)
				if (op->inputs[k]->value->arguments[j]->binding_case == MIL_BINDING_NAME)
					swap_name(&op->inputs[k]->value->arguments[j]->name, old, new_name);
		const mil_value *nv = mil_op_attr(op, "name");
		if (mine && nv && nv->immediatevalue && nv->immediatevalue->tensor &&
		    nv->immediatevalue->tensor->strings)
			swap_name(&nv->immediatevalue->tensor->strings->values[0], old, new_name);
		for (size_t k = 0; k < op->n_blocks; k++)
			rename_block(op->blocks[k], old, new_name);
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: rename PKG OUT OLD NEW\n");
		return 2;
	}
	mld_package *pkg;
	if (mld_package_open(&pkg, argv[1])) {
		fprintf(stderr, "%s\n", mld_error_last());
		return 1;
	}
	mil_model *m = core_ml__specification__model__unpack(NULL, pkg->model_len, pkg->model_bytes);
	for (size_t f = 0; f < m->mlprogram->n_functions; f++) {
		mil_function *fn = m->mlprogram->functions[f]->value;
		for (size_t b = 0; b < fn->n_block_specializations; b++)
			rename_block(fn->block_specializations[b]->value, argv[3], argv[4]);
	}
	/* same blobs, same order: keyed by their source offsets */
	mil_value **vals;
	size_t n;
	if (mld__model_blob_values(&vals, &n, m))
		return 1;
	mld__blob_item *items = calloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *map;
		uint64_t len;
		mld__blob_view bv;
		if (mld__package_blobfile(pkg, vals[i]->blobfilevalue->filename, &map, &len, NULL) ||
		    mld__blobfile_read(&bv, map, len, vals[i]->blobfilevalue->offset, MLD_DT_INVALID, "weight.bin"))
			return 1;
		items[i] = (mld__blob_item){vals[i],         0,       vals[i]->blobfilevalue->offset, bv.data, bv.size,
		                            bv.padding_bits, bv.dtype};
	}
	int rc = mld__write_package(m, items, n, argv[2], MLD_WRITE_REPLACE);
	if (rc)
		fprintf(stderr, "%s\n", mld_error_last());
	free(items);
	free(vals);
	core_ml__specification__model__free_unpacked(m, NULL);
	mld_package_free(pkg);
	return rc ? 1 : 0;
}
