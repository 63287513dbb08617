#include "source.h"

#include "../core/atomic.h"
#include "../core/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

typedef struct mapping {
	char *rel;
	uint8_t *data;
	uint64_t len;
	bool munmap;
	int fd; /* the mapped file, kept for mld__source_copy; -1 for memory */
} mapping;

/* ---- in-memory packages (a test hook, see source.h) ---------------------------------- */

typedef struct memfile {
	char *rel;
	uint8_t *data;
	size_t len;
} memfile;

typedef struct mempkg {
	char *path;
	bool zip; /* a zip held in memory: files[0] is the archive */
	memfile *files;
	size_t n_files;
} mempkg;

static mempkg **mem_pkgs; /* each allocated alone: sources point at them */
static size_t n_mem_pkgs;

static mempkg *mem_find(const char *path)
{
	for (size_t i = 0; i < n_mem_pkgs; i++)
		if (!strcmp(mem_pkgs[i]->path, path))
			return mem_pkgs[i];
	return NULL;
}

static int mem_add(const char *path, bool zip, const char *rel, const void *data, size_t len)
{
	mempkg *m = mem_find(path);
	if (m && m->zip != zip)
		return mld__err(MLD_EUSAGE, "%s: registered in memory as another kind of package", path);
	if (!m) {
		mempkg **p = mld__realloc(mem_pkgs, (n_mem_pkgs + 1) * sizeof *p);
		if (!p)
			return MLD_ENOMEM;
		mem_pkgs = p;
		if (!(m = mld__calloc(1, sizeof *m)) || !(m->path = mld__strdup(path))) {
			free(m);
			return MLD_ENOMEM;
		}
		m->zip = zip;
		mem_pkgs[n_mem_pkgs++] = m;
	}
	if (!rel)
		return 0;
	memfile *f = mld__realloc(m->files, (m->n_files + 1) * sizeof *f);
	if (!f)
		return MLD_ENOMEM;
	m->files = f;
	f = &m->files[m->n_files];
	f->rel = mld__strdup(rel);
	f->data = mld__malloc(len ? len : 1);
	f->len = len;
	if (!f->rel || !f->data) {
		free(f->rel);
		free(f->data);
		return MLD_ENOMEM;
	}
	if (len)
		memcpy(f->data, data, len);
	m->n_files++;
	return 0;
}

int mld__memsrc_add(const char *path, const char *rel, const void *data, size_t len)
{
	return mem_add(path, false, rel, data, len);
}

int mld__memsrc_add_zip(const char *path, const void *data, size_t len)
{
	mempkg *m = mem_find(path);
	if (m && m->n_files)
		return mld__err(MLD_EUSAGE, "%s: a zip is already registered there", path);
	return mem_add(path, true, "", data, len);
}

void mld__memsrc_clear(void)
{
	for (size_t i = 0; i < n_mem_pkgs; i++) {
		for (size_t k = 0; k < mem_pkgs[i]->n_files; k++) {
			free(mem_pkgs[i]->files[k].rel);
			free(mem_pkgs[i]->files[k].data);
		}
		free(mem_pkgs[i]->files);
		free(mem_pkgs[i]->path);
		free(mem_pkgs[i]);
	}
	free(mem_pkgs);
	mem_pkgs = NULL;
	n_mem_pkgs = 0;
}

char *mld__source_realpath(const char *path)
{
	if (n_mem_pkgs && mem_find(path))
		return mld__strdup(path);
	return realpath(path, NULL);
}

/* ---- sources ------------------------------------------------------------------------------ */

struct mld__source {
	char *path; /* as given */
	char *root; /* directory: realpath of the package; zip: entry prefix "X.mlpackage/" */
	zip_t *zip;
	const mempkg *mem; /* an in-memory package (zip: the archive is mem->files[0]) */
	mapping *maps;
	size_t n_maps;
};

bool mld__source_is_zip(const mld__source *src) { return src->zip != NULL; }
const char *mld__source_path(const mld__source *src) { return src->path; }

char *mld__source_display(const mld__source *src, const char *rel)
{
	if (src->zip)
		return mld__sprintf("%s:%s%s", src->path, src->root, rel);
	size_t n = strlen(src->path);
	return mld__sprintf("%s%s%s", src->path, n && src->path[n - 1] == '/' ? "" : "/", rel);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* Find the single "<prefix>X.mlpackage/Manifest.json" entry in the zip. */
static int zip_find_root(mld__source *src)
{
	zip_int64_t n = zip_get_num_entries(src->zip, 0);
	char *found = NULL;
	int nfound = 0;
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(src->zip, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
		if (!name || !strncmp(name, "__MACOSX/", 9) || strstr(name, "/__MACOSX/"))
			continue; /* Finder's resource-fork shadows */
		if (!ends_with(name, ".mlpackage/Manifest.json"))
			continue;
		size_t plen = strlen(name) - strlen("Manifest.json");
		/* a package nested inside another package's folder is not a second root */
		if (found && !strncmp(name, found, strlen(found)))
			continue;
		nfound++;
		if (!found) {
			found = mld__malloc(plen + 1);
			if (!found)
				return MLD_ENOMEM;
			memcpy(found, name, plen);
			found[plen] = 0;
		}
	}
	if (nfound == 0) {
		free(found);
		return mld__err(MLD_EFORMAT, "%s: zip holds no .mlpackage (no <name>.mlpackage/Manifest.json entry)",
		                src->path);
	}
	if (nfound > 1) {
		int rc = mld__err(MLD_EFORMAT, "%s: zip holds %d .mlpackage folders, expected one", src->path, nfound);
		free(found);
		return rc;
	}
	src->root = found;
	return 0;
}

/* Open a zip read-only without blocking: a FIFO or a device in place of the zip is
 * refused by mld__open_regular, never waited on (zip_open would fopen it). */
static int zip_open_file(mld__source *src, const char *path)
{
	int fd, zerr = 0;
	struct stat st;
	int rc = mld__open_regular(&fd, &st, path);
	if (rc)
		return rc;
	src->zip = zip_fdopen(fd, ZIP_RDONLY, &zerr); /* takes fd on success */
	if (!src->zip) {
		close(fd);
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		rc = mld__err(MLD_EFORMAT, "%s: not an .mlpackage directory and not a readable zip: %s", path,
		              zip_error_strerror(&ze));
		zip_error_fini(&ze);
	}
	return rc;
}

static int zip_open_memory(mld__source *src, const mempkg *m)
{
	zip_error_t ze;
	zip_error_init(&ze);
	const memfile *f = m->n_files ? &m->files[0] : NULL;
	zip_source_t *zs = zip_source_buffer_create(f ? f->data : NULL, f ? f->len : 0, 0, &ze);
	if (zs && !(src->zip = zip_open_from_source(zs, ZIP_RDONLY, &ze)))
		zip_source_free(zs);
	int rc = 0;
	if (!src->zip)
		rc = mld__err(MLD_EFORMAT, "%s: not an .mlpackage directory and not a readable zip: %s", m->path,
		              zip_error_strerror(&ze));
	zip_error_fini(&ze);
	return rc;
}

int mld__source_open(mld__source **out, const char *path)
{
	const mempkg *mem = n_mem_pkgs ? mem_find(path) : NULL;
	struct stat st;
	if (!mem && stat(path, &st) != 0)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", path, strerror(errno));
	mld__source *src = mld__calloc(1, sizeof *src);
	if (!src || !(src->path = mld__strdup(path))) {
		free(src);
		return MLD_ENOMEM;
	}
	int rc = 0;
	if (mem && !mem->zip) {
		src->mem = mem;
		if (!(src->root = mld__strdup(path)))
			rc = MLD_ENOMEM;
	} else if (mem) {
		src->mem = mem;
		if (!(rc = zip_open_memory(src, mem)))
			rc = zip_find_root(src);
	} else if (S_ISDIR(st.st_mode)) {
		char *real = realpath(path, NULL);
		if (!real) {
			rc = mld__err(MLD_EIO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		src->root = real;
	} else if (!(rc = zip_open_file(src, path))) {
		rc = zip_find_root(src);
	}
	if (rc)
		goto fail;
	*out = src;
	return 0;
fail:
	mld__source_free(src);
	return rc;
}

void mld__source_free(mld__source *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < src->n_maps; i++) {
		if (src->maps[i].fd >= 0)
			close(src->maps[i].fd);
		if (src->maps[i].munmap)
			munmap(src->maps[i].data, src->maps[i].len);
		else
			free(src->maps[i].data);
		free(src->maps[i].rel);
	}
	free(src->maps);
	if (src->zip)
		zip_discard(src->zip);
	free(src->root);
	free(src->path);
	free(src);
}

int mld__source_check_rel(const mld__source *src, const char *rel)
{
	if (!rel[0] || rel[0] == '/')
		return mld__err(MLD_EFORMAT, "%s: path '%s' is not relative to the package", src->path, rel);
	for (const char *p = rel; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 2 && !strncmp(p, "..", 2)))
			return mld__err(MLD_EFORMAT, "%s: path '%s' points outside the package", src->path, rel);
		if (n == 0 && e)
			return mld__err(MLD_EFORMAT, "%s: path '%s' has an empty component", src->path, rel);
		p = e ? e + 1 : p + n;
	}
	return 0;
}

/* Directory source: the absolute path of rel, which must resolve inside the root
 * even through symlinks. */
static int dir_resolve(mld__source *src, const char *rel, char **out)
{
	int rc = mld__source_check_rel(src, rel);
	if (rc)
		return rc;
	char *joined = mld__sprintf("%s/%s", src->root, rel);
	if (!joined)
		return MLD_ENOMEM;
	char *real = realpath(joined, NULL);
	if (!real) {
		char *disp = mld__source_display(src, rel);
		rc = mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "%s: %s", disp ? disp : rel,
		              errno == ENOENT ? "missing" : strerror(errno));
		free(disp);
		free(joined);
		return rc;
	}
	free(joined);
	size_t rl = strlen(src->root);
	if (strncmp(real, src->root, rl) || (real[rl] != '/' && real[rl] != 0)) {
		rc = mld__err(MLD_EFORMAT, "%s: '%s' resolves outside the package (%s)", src->path, rel, real);
		free(real);
		return rc;
	}
	*out = real;
	return 0;
}

/* ---- in-memory directory packages ---------------------------------------------------- */

static const memfile *mem_file(const mempkg *m, const char *rel)
{
	size_t n = strlen(rel);
	for (size_t i = 0; n && rel[n - 1] != '/' && i < m->n_files; i++) /* "dir/" registers a directory */
		if (!strcmp(m->files[i].rel, rel))
			return &m->files[i];
	return NULL;
}

/* Some file lies under rel/: rel is a directory of the package. */
static bool mem_is_dir(const mempkg *m, const char *rel)
{
	size_t n = strlen(rel);
	for (size_t i = 0; i < m->n_files; i++)
		if (!strncmp(m->files[i].rel, rel, n) && m->files[i].rel[n] == '/')
			return true;
	return false;
}

/* The file rel of an in-memory directory package; messages as for a real one. */
static int mem_get(mld__source *src, const char *rel, const memfile **out)
{
	int rc = mld__source_check_rel(src, rel);
	if (rc)
		return rc;
	if ((*out = mem_file(src->mem, rel)))
		return 0;
	char *disp = mld__source_display(src, rel);
	rc = mem_is_dir(src->mem, rel)
	             ? mld__err(MLD_EFORMAT, "%s: is a directory, not a regular file", disp ? disp : rel)
	             : mld__err(MLD_ENOTFOUND, "%s: missing", disp ? disp : rel);
	free(disp);
	return rc;
}

/* ---- zips ------------------------------------------------------------------------------ */

/* Zip entries are inflated as they are read, never trusted for their size. An entry
 * that inflates past MLD_ZIP_FREE_BYTES must not be more than MLD_ZIP_MAX_RATIO times
 * its compressed size: weights compress less than 2:1, and a 2 MB zip claiming a
 * 2 GiB weight.bin is a zip bomb. Whole-file reads (manifest, model) stop at
 * MLD_READ_MAX_BYTES. */
#define MLD_ZIP_FREE_BYTES (UINT64_C(64) << 20)
#define MLD_ZIP_MAX_RATIO 100
#define MLD_READ_MAX_BYTES (UINT64_C(1) << 30)

static bool zip_has_prefix(mld__source *src, const char *rel)
{
	/* zips made without directory entries still "contain" the directory */
	char *pre = mld__sprintf("%s%s/", src->root, rel);
	bool found = false;
	zip_int64_t n = zip_get_num_entries(src->zip, 0);
	for (zip_int64_t i = 0; pre && i < n && !found; i++) {
		const char *name = zip_get_name(src->zip, (zip_uint64_t)i, 0);
		found = name && !strncmp(name, pre, strlen(pre));
	}
	free(pre);
	return found;
}

/* The entry of rel: a file, or (*is_dir) a directory, with or without its own entry
 * (then *idx is not set). */
static int zip_locate(mld__source *src, const char *rel, zip_uint64_t *idx, zip_stat_t *zs, bool *is_dir)
{
	int rc = mld__source_check_rel(src, rel);
	if (rc)
		return rc;
	char *name = mld__sprintf("%s%s", src->root, rel);
	if (!name)
		return MLD_ENOMEM;
	*is_dir = false;
	zip_int64_t i = zip_name_locate(src->zip, name, 0);
	if (i < 0) { /* a directory entry, if the zip has one */
		char *dname = mld__sprintf("%s/", name);
		i = dname ? zip_name_locate(src->zip, dname, 0) : -1;
		free(dname);
		*is_dir = i >= 0;
	}
	free(name);
	if (i < 0 && zip_has_prefix(src, rel)) {
		*is_dir = true;
		zip_stat_init(zs);
		return 0;
	}
	if (i < 0) {
		char *disp = mld__source_display(src, rel);
		rc = mld__err(MLD_ENOTFOUND, "%s: missing", disp ? disp : rel);
		free(disp);
		return rc;
	}
	*idx = (zip_uint64_t)i;
	if (zip_stat_index(src->zip, *idx, 0, zs) != 0)
		return mld__err(MLD_EFORMAT, "%s: cannot stat zip entry for %s: %s", src->path, rel,
		                zip_strerror(src->zip));
	return 0;
}

bool mld__source_exists(mld__source *src, const char *rel)
{
	if (mld__source_check_rel(src, rel))
		return false;
	if (src->mem && !src->zip)
		return mem_file(src->mem, rel) || mem_is_dir(src->mem, rel);
	if (src->zip) {
		zip_uint64_t idx;
		zip_stat_t zs;
		bool dir;
		if (zip_locate(src, rel, &idx, &zs, &dir) == 0)
			return true;
		mld__err_clear();
		return false;
	}
	char *abs = NULL;
	if (dir_resolve(src, rel, &abs)) {
		/* "missing" is an answer; a path resolving outside the package stays an error */
		if (mld_error_code() == MLD_ENOTFOUND)
			mld__err_clear();
		return false;
	}
	free(abs);
	return true;
}

/* Copy a zip entry into `fd` (a temp file) or a buffer, 64 KiB at a time. */
static int zip_extract(mld__source *src, const char *rel, uint8_t **buf, int fd, uint64_t *len)
{
	zip_uint64_t idx;
	zip_stat_t zs;
	bool dir;
	int rc = zip_locate(src, rel, &idx, &zs, &dir);
	if (rc)
		return rc;
	char *disp = mld__source_display(src, rel);
	if (!disp)
		return MLD_ENOMEM;
	uint64_t want = (zs.valid & ZIP_STAT_SIZE) ? zs.size : 0,
		 packed = (zs.valid & ZIP_STAT_COMP_SIZE) ? zs.comp_size : 0;
	if (dir) /* not "truncated: 0 bytes" */
		rc = mld__err(MLD_EFORMAT, "%s: is a directory in the zip, not a file", disp);
	else if (want > MLD_ZIP_FREE_BYTES && want / MLD_ZIP_MAX_RATIO > packed)
		rc = mld__err(
			MLD_EFORMAT,
			"%s: zip entry inflates to %llu bytes from %llu, more than %d:1: refused as a likely zip bomb"
			" (unzip the package and pass the directory if it is genuine)",
			disp, (unsigned long long)want, (unsigned long long)packed, MLD_ZIP_MAX_RATIO);
	else if (buf && want > MLD_READ_MAX_BYTES)
		rc = mld__err(MLD_EFORMAT, "%s: %llu bytes, more than the %llu mldedup reads into memory", disp,
		              (unsigned long long)want, (unsigned long long)MLD_READ_MAX_BYTES);
	if (rc) {
		free(disp);
		return rc;
	}
	zip_file_t *zf = zip_fopen_index(src->zip, idx, 0);
	if (!zf) {
		rc = mld__err(MLD_EFORMAT, "%s: cannot open zip entry: %s", disp, zip_strerror(src->zip));
		free(disp);
		return rc;
	}
	uint64_t got = 0, cap = 0;
	uint8_t *data = NULL;
	uint8_t *chunk = mld__malloc(1 << 16);
	if (!chunk) {
		rc = MLD_ENOMEM;
		goto out;
	}
	for (;;) {
		zip_int64_t k = zip_fread(zf, chunk, 1 << 16);
		if (k < 0) {
			rc = mld__err(MLD_EFORMAT, "%s: corrupt zip entry: %s", disp, zip_file_strerror(zf));
			goto out;
		}
		if (k == 0)
			break;
		if (got + (uint64_t)k > want) {
			rc = mld__err(MLD_EFORMAT, "%s: zip entry is longer than its recorded size", disp);
			goto out;
		}
		if (buf) {
			/* grow with the bytes actually read: the size recorded in the zip is not
			 * trusted for an allocation (a 3 KB zip can claim a 4 GB entry) */
			if (got + (uint64_t)k > cap) {
				cap = cap ? cap * 2 : 1 << 16;
				if (cap > want)
					cap = want;
				uint8_t *p = mld__realloc(data, (size_t)cap + 1);
				if (!p) {
					rc = MLD_ENOMEM;
					goto out;
				}
				data = p;
			}
			memcpy(data + got, chunk, (size_t)k);
		} else if (pwrite(fd, chunk, (size_t)k, (off_t)got) != k) {
			rc = mld__err(MLD_EIO, "%s: cannot extract to a temp file: %s", disp, strerror(errno));
			goto out;
		}
		got += (uint64_t)k;
	}
	if (got != want) {
		rc = mld__err(MLD_EFORMAT, "%s: zip entry is truncated (%llu of %llu bytes)", disp,
		              (unsigned long long)got, (unsigned long long)want);
		goto out;
	}
	*len = got;
	if (buf) {
		if (!data && !(data = mld__malloc(1))) {
			rc = MLD_ENOMEM;
			goto out;
		}
		*buf = data;
		data = NULL;
	}
out:
	free(chunk);
	free(data);
	zip_fclose(zf);
	free(disp);
	return rc;
}

int mld__source_read(mld__source *src, const char *rel, uint8_t **data, size_t *len)
{
	if (src->zip) {
		uint64_t n;
		int rc = zip_extract(src, rel, data, -1, &n);
		if (!rc)
			*len = (size_t)n;
		return rc;
	}
	if (src->mem) {
		const memfile *f;
		int rc = mem_get(src, rel, &f);
		if (rc)
			return rc;
		if (!(*data = mld__malloc(f->len ? f->len : 1)))
			return MLD_ENOMEM;
		memcpy(*data, f->data, f->len);
		*len = f->len;
		return 0;
	}
	char *abs;
	int rc = dir_resolve(src, rel, &abs);
	if (rc)
		return rc;
	int fd;
	struct stat st;
	if ((rc = mld__open_regular(&fd, &st, abs))) {
		free(abs);
		return rc;
	}
	mld__buf b = {0};
	/* sized to the file (it may still grow while read): a model's bytes are held as
	 * long as its package, and a doubled buffer held a third more */
	if (st.st_size > 0 && (uint64_t)st.st_size <= MLD_READ_MAX_BYTES &&
	    (b.data = mld__malloc((size_t)st.st_size + 1)))
		b.cap = (size_t)st.st_size + 1;
	mld__err_clear();
	char chunk[1 << 16];
	for (;;) {
		ssize_t k = read(fd, chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = mld__err(MLD_EIO, "%s: read failed: %s", abs, strerror(errno));
		else if (b.len + (uint64_t)k > MLD_READ_MAX_BYTES)
			rc = mld__err(MLD_EFORMAT, "%s: more than the %llu bytes mldedup reads into memory", abs,
			              (unsigned long long)MLD_READ_MAX_BYTES);
		if (k <= 0 || rc || (rc = mld__buf_append(&b, chunk, (size_t)k)))
			break;
	}
	close(fd);
	free(abs);
	if (rc) {
		mld__buf_free(&b);
		return rc;
	}
	if (!b.data && !(b.data = mld__malloc(1)))
		return MLD_ENOMEM;
	*data = b.data;
	*len = b.len;
	return 0;
}

static int add_mapping(mld__source *src, const char *rel, uint8_t *data, uint64_t len, bool mm, int fd)
{
	mapping *m = mld__realloc(src->maps, (src->n_maps + 1) * sizeof *m);
	if (!m)
		return MLD_ENOMEM;
	src->maps = m;
	m[src->n_maps] = (mapping){mld__strdup(rel), data, len, mm, fd};
	if (!m[src->n_maps].rel)
		return MLD_ENOMEM;
	src->n_maps++;
	return 0;
}

static int map_fd(int fd, uint64_t len, uint8_t **out, const char *name)
{
	if (len == 0) {
		*out = NULL;
		return 0;
	}
	if (len > SIZE_MAX)
		return mld__err(MLD_EFORMAT, "%s: %llu bytes cannot be mapped here", name, (unsigned long long)len);
	void *p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return mld__err(MLD_EIO, "%s: mmap failed: %s", name, strerror(errno));
	madvise(p, (size_t)len, MADV_SEQUENTIAL);
	*out = p;
	return 0;
}

int mld__source_map(mld__source *src, const char *rel, const uint8_t **data, uint64_t *len)
{
	for (size_t i = 0; i < src->n_maps; i++)
		if (!strcmp(src->maps[i].rel, rel)) {
			*data = src->maps[i].data;
			*len = src->maps[i].len;
			return 0;
		}
	int rc, fd = -1;
	uint8_t *p = NULL;
	uint64_t n = 0;
	char *name = NULL;
	if (src->mem && !src->zip) {
		const memfile *f;
		if ((rc = mem_get(src, rel, &f)))
			return rc;
		*data = f->data; /* lives as long as the registration */
		*len = f->len;
		return 0;
	}
	if (src->mem) {
		/* an in-memory zip is extracted into memory: nothing touches the disk */
		if ((rc = zip_extract(src, rel, &p, -1, &n)))
			return rc;
		if ((rc = add_mapping(src, rel, p, n, false, -1))) {
			free(p);
			return rc;
		}
		*data = p;
		*len = n;
		return 0;
	}
	if (src->zip) {
		/* Large weights go to an unlinked temp file, so memory stays flat. */
		const char *tmp = getenv("TMPDIR");
		name = mld__sprintf("%s/mldedup-zip-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!name)
			return MLD_ENOMEM;
		fd = mkstemp(name);
		if (fd < 0) {
			rc = mld__err(MLD_EIO, "%s: cannot create temp file to extract %s: %s", name, rel,
			              strerror(errno));
			goto out;
		}
		unlink(name);
		if ((rc = zip_extract(src, rel, NULL, fd, &n)))
			goto out;
	} else {
		if ((rc = dir_resolve(src, rel, &name)))
			goto out;
		struct stat st;
		if ((rc = mld__open_regular(&fd, &st, name)))
			goto out;
		n = (uint64_t)st.st_size;
	}
	if ((rc = map_fd(fd, n, &p, name)))
		goto out;
	if ((rc = add_mapping(src, rel, p, n, n > 0, n > 0 ? fd : -1))) {
		if (p)
			munmap(p, (size_t)n);
		goto out;
	}
	if (n > 0)
		fd = -1; /* the mapping's now */
	*data = p;
	*len = n;
out:
	if (fd >= 0)
		close(fd);
	free(name);
	return rc;
}

int mld__source_copy(const mld__source *src, void *buf, const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	for (size_t i = 0; src && i < src->n_maps; i++) {
		const mapping *m = &src->maps[i];
		uintptr_t lo = (uintptr_t)m->data;
		if (m->fd < 0 || a < lo || a - lo > m->len || n > m->len - (a - lo))
			continue;
		if (mld__pread_all(m->fd, buf, n, a - lo) == 0)
			return 0;
		int e = errno;
		char *disp = mld__source_display(src, m->rel);
		int rc = mld__err(MLD_EIO, "%s: read failed: %s", disp ? disp : m->rel, strerror(e));
		free(disp);
		return rc;
	}
	memcpy(buf, p, n); /* memory, not a file */
	return 0;
}

void mld__source_release(mld__source *src, const void *p, uint64_t len)
{
	const uint8_t *a = p;
	for (size_t i = 0; src && a && i < src->n_maps; i++) {
		const mapping *m = &src->maps[i];
		if (!m->munmap || a + len <= m->data || a >= m->data + m->len)
			continue;
		const uint8_t *lo = a < m->data ? m->data : a,
			      *hi = a + len > m->data + m->len ? m->data + m->len : a + len;
		mld__mem_release(lo, (size_t)(hi - lo));
	}
}

void mld__source_release_wide(mld__source *src, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p, e = a + (uintptr_t)len;
	for (size_t i = 0; src && i < src->n_maps; i++) {
		const mapping *m = &src->maps[i];
		uintptr_t lo = (uintptr_t)m->data, hi = lo + (uintptr_t)m->len;
		if (!m->munmap || a < lo || a >= hi)
			continue;
		uintptr_t from = a - lo > MLD_FOLIO_MAX ? a - MLD_FOLIO_MAX : lo,
			  to = e < hi && hi - e > MLD_FOLIO_MAX ? e + MLD_FOLIO_MAX : hi;
		mld__mem_release((const void *)from, (size_t)(to - from));
	}
}

void mld__source_touched(mld__source *src, const uint8_t **last, const uint8_t *at)
{
	uintptr_t l = (uintptr_t)*last, a = (uintptr_t)at;
	if (l && (a > l ? a - l : l - a) <= MLD_FOLIO_MAX)
		return;
	if (l)
		mld__source_release_wide(src, *last, 1);
	*last = at;
}

void mld__source_release_all(mld__source *src)
{
	for (size_t i = 0; src && i < src->n_maps; i++)
		if (src->maps[i].munmap)
			mld__mem_release(src->maps[i].data, (size_t)src->maps[i].len);
}

int mld__source_stat(mld__source *src, const char *rel, mld__file_id *id)
{
	struct stat st;
	char *abs = NULL;
	int rc = 0;
	if (src->mem && !src->zip) {
		const memfile *f = NULL;
		if ((rc = mld__source_check_rel(src, rel)))
			return rc;
		if (!(f = mem_file(src->mem, rel)) && !mem_is_dir(src->mem, rel))
			return mem_get(src, rel, &f); /* the "missing" message */
		*id = (mld__file_id){f ? f->len : 0, 0, 0};
		return 0;
	}
	if (src->zip) {
		if (src->mem)
			st = (struct stat){.st_size = (off_t)src->mem->files[0].len};
		else if (stat(src->path, &st) != 0)
			return mld__err(MLD_EIO, "%s: %s", src->path, strerror(errno));
		zip_uint64_t idx;
		zip_stat_t zs;
		bool dir;
		if ((rc = zip_locate(src, rel, &idx, &zs, &dir)))
			return rc;
		id->size = (zs.valid & ZIP_STAT_SIZE) ? zs.size : 0;
		id->mtime_ns = mld__mtime_ns(&st);
		id->inode = (uint64_t)st.st_ino;
		return 0;
	}
	if ((rc = dir_resolve(src, rel, &abs)))
		return rc;
	if (stat(abs, &st) != 0)
		rc = mld__err(MLD_EIO, "%s: %s", abs, strerror(errno));
	else {
		id->size = (uint64_t)st.st_size;
		id->mtime_ns = mld__mtime_ns(&st);
		id->inode = (uint64_t)st.st_ino;
	}
	free(abs);
	return rc;
}
