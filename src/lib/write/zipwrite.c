/* Zipping a package tree. libzip writes the archive through a source of ours that
 * puts every byte into an atomic file (core/atomic.h), so the zip gets the same
 * temp name, durability and signal cleanup as everything else mldedup writes. */
#include "zipwrite.h"

#include "../core/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

typedef struct zout {
	mld__afile *f;
	uint64_t pos, size;
	zip_error_t error;
} zout;

static zip_int64_t zout_fail(zout *z)
{
	zip_error_set(&z->error, ZIP_ER_WRITE, EIO);
	return -1;
}

/* The archive's backing store: empty to read (ZIP_TRUNCATE), written via the afile. */
static zip_int64_t zout_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	zout *z = ud;
	switch (cmd) {
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(
			ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
			ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, ZIP_SOURCE_BEGIN_WRITE,
			ZIP_SOURCE_COMMIT_WRITE, ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_WRITE, ZIP_SOURCE_SEEK_WRITE,
			ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, -1);
	case ZIP_SOURCE_STAT: {
		if (len < sizeof(zip_stat_t))
			return -1;
		zip_stat_t *st = data;
		zip_stat_init(st);
		st->size = 0;
		st->valid |= ZIP_STAT_SIZE;
		return sizeof(zip_stat_t);
	}
	case ZIP_SOURCE_OPEN:
	case ZIP_SOURCE_CLOSE:
	case ZIP_SOURCE_FREE:
	case ZIP_SOURCE_REMOVE:
	case ZIP_SOURCE_ROLLBACK_WRITE: /* the afile is discarded by its owner */ return 0;
	case ZIP_SOURCE_READ:
	case ZIP_SOURCE_TELL:
	case ZIP_SOURCE_SEEK: /* an empty archive: always at offset 0 */ return 0;
	case ZIP_SOURCE_BEGIN_WRITE: z->pos = z->size = 0; return 0;
	case ZIP_SOURCE_WRITE:
		if (mld__afile_pwrite(z->f, data, (size_t)len, z->pos))
			return zout_fail(z);
		z->pos += len;
		if (z->pos > z->size)
			z->size = z->pos;
		return (zip_int64_t)len;
	case ZIP_SOURCE_SEEK_WRITE: {
		zip_source_args_seek_t *a = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &z->error);
		if (!a)
			return -1;
		int64_t base = a->whence == SEEK_SET ? 0 : a->whence == SEEK_CUR ? (int64_t)z->pos : (int64_t)z->size;
		if (base + a->offset < 0) {
			zip_error_set(&z->error, ZIP_ER_INVAL, 0);
			return -1;
		}
		z->pos = (uint64_t)(base + a->offset);
		return 0;
	}
	case ZIP_SOURCE_TELL_WRITE: return (zip_int64_t)z->pos;
	case ZIP_SOURCE_COMMIT_WRITE: return mld__afile_commit(z->f) ? zout_fail(z) : 0;
	case ZIP_SOURCE_ERROR: return zip_error_to_data(&z->error, data, len);
	default: zip_error_set(&z->error, ZIP_ER_OPNOTSUPP, 0); return -1;
	}
}

static int add_tree(zip_t *z, const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return mld__err(MLD_EIO, "%s: %s", dir, strerror(errno));
	if (zip_dir_add(z, prefix, ZIP_FL_ENC_UTF_8) < 0) {
		closedir(d);
		return mld__err(MLD_EIO, "zip: cannot add %s/: %s", prefix, zip_strerror(z));
	}
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = mld__sprintf("%s/%s", dir, de->d_name), *name = mld__sprintf("%s/%s", prefix, de->d_name);
		struct stat st;
		if (!path || !name)
			rc = MLD_ENOMEM;
		else if (lstat(path, &st) != 0)
			rc = mld__err(MLD_EIO, "%s: %s", path, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = add_tree(z, path, name);
		else {
			zip_source_t *src = zip_source_file(z, path, 0, -1);
			zip_int64_t idx = src ? zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8) : -1;
			if (idx < 0) {
				if (src)
					zip_source_free(src);
				rc = mld__err(MLD_EIO, "zip: cannot add %s: %s", path, zip_strerror(z));
			} else if (strstr(name, "/weights/")) {
				zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
			}
		}
		free(path);
		free(name);
	}
	closedir(d);
	return rc;
}

int mld__zip_tree(const char *dir, const char *prefix, const char *zip_path)
{
	zout z = {0};
	zip_error_init(&z.error);
	int rc = mld__afile_open(&z.f, zip_path, 0);
	if (rc)
		return rc;
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_function_create(zout_cb, &z, &ze);
	zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
	if (!za) {
		rc = mld__err(MLD_EIO, "%s: cannot create zip: %s", zip_path, zip_error_strerror(&ze));
		if (src)
			zip_source_free(src);
	} else if ((rc = add_tree(za, dir, prefix))) {
		zip_discard(za);
	} else if ((mld__err_clear(), zip_close(za) != 0)) {
		/* a write error of the afile has the better message (ENOSPC, ...) */
		if (!mld_error_code())
			mld__err(MLD_EIO, "%s: cannot write zip: %s", zip_path, zip_strerror(za));
		rc = mld_error_code();
		zip_discard(za);
	}
	mld__afile_free(z.f); /* discards the temp unless committed */
	zip_error_fini(&ze);
	zip_error_fini(&z.error);
	return rc;
}
