/* The image feature cache (layout in feature_cache.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "feature_cache.h"

#define MAGIC "TPFEAT01"
#define HEADER_BYTES 32
#define MAX_PATH_BYTES 4096

typedef struct cache_record {
	char *path;
	file_stamp stamp;
	size_t row;           /* row of its features in the cache's feature block */
} cache_record;

struct feature_cache {
	char *path;
	FILE *file;           /* open for appending; NULL after a write error */
	uint64_t model_key, list_key;
	int dim;
	cache_record *records;
	int n_records, cap_records;
	float *features;      /* (cap_records, dim) */
	int *slots;           /* (n_slots) open addressing: index of the latest record of a path, or -1 */
	int n_slots;
	feature_cache_warn_fn warn;
	void *user;
};

/* ---- little-endian fields ---- */

static void put_u32(unsigned char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *b)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint64_t get_u64(const unsigned char *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

uint64_t feature_cache_list_key(const char *const *paths, int n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (int i = 0; i < n; i++)
		h = hash_bytes(h, paths[i], strlen(paths[i]) + 1);
	return h;
}

tp_status file_stamp_read(const char *path, file_stamp *stamp)
{
	struct stat info;

	if (stat(path, &info) != 0)
		return tp_fail(TP_ERR_IO, "image: cannot read '%s': %s", path, strerror(errno));
	if (!S_ISREG(info.st_mode))
		return tp_fail(TP_ERR_IO, "image: '%s' is not a regular file", path);
	stamp->size = (uint64_t)info.st_size;
	stamp->mtime_ns = (int64_t)info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec;
	return TP_OK;
}

/* ---- the in-memory table ---- */

static int slot_of(const feature_cache *c, const char *path)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325u, path, strlen(path));
	int s = (int)(h % (uint64_t)c->n_slots);

	while (c->slots[s] >= 0 && strcmp(c->records[c->slots[s]].path, path) != 0)
		s = (s + 1) % c->n_slots;
	return s;
}

static int table_grow(feature_cache *c)
{
	int cap = c->cap_records ? 2 * c->cap_records : 256;
	cache_record *r = realloc(c->records, (size_t)cap * sizeof *r);
	float *f;

	if (!r)
		return -1;
	c->records = r;
	f = realloc(c->features, (size_t)cap * c->dim * sizeof *f);
	if (!f)
		return -1;
	c->features = f;
	free(c->slots);
	c->n_slots = 2 * cap + 1;
	c->slots = malloc((size_t)c->n_slots * sizeof *c->slots);
	if (!c->slots)
		return -1;
	c->cap_records = cap;
	for (int s = 0; s < c->n_slots; s++)
		c->slots[s] = -1;
	for (int i = 0; i < c->n_records; i++)
		c->slots[slot_of(c, c->records[i].path)] = i;
	return 0;
}

/* Adds a record to the table; the latest record of a path wins. */
static tp_status table_add(feature_cache *c, const char *path, const file_stamp *stamp, const float *features)
{
	cache_record *r;

	if (c->n_records == c->cap_records && table_grow(c) != 0)
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory for %d entries", c->n_records + 1);
	r = &c->records[c->n_records];
	r->path = strdup(path);
	if (!r->path)
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
	r->stamp = *stamp;
	r->row = (size_t)c->n_records;
	memcpy(c->features + r->row * c->dim, features, (size_t)c->dim * sizeof *features);
	c->slots[slot_of(c, path)] = c->n_records++;
	return TP_OK;
}

static void table_clear(feature_cache *c)
{
	for (int i = 0; i < c->n_records; i++)
		free(c->records[i].path);
	c->n_records = 0;
	for (int s = 0; s < c->n_slots; s++)
		c->slots[s] = -1;
}

/* ---- reading and writing ---- */

static void header_encode(const feature_cache *c, unsigned char *h)
{
	memset(h, 0, HEADER_BYTES);
	memcpy(h, MAGIC, 8);
	put_u64(h + 8, c->model_key);
	put_u32(h + 16, (uint32_t)c->dim);
	put_u64(h + 24, c->list_key);
}

/* Encodes one record into buf (record_bytes long); returns its length. */
static size_t record_encode(const feature_cache *c, unsigned char *buf, const char *path,
			    const file_stamp *stamp, const float *features)
{
	size_t n = strlen(path), at = 0;

	put_u32(buf, (uint32_t)n);
	put_u64(buf + 4, stamp->size);
	put_u64(buf + 12, (uint64_t)stamp->mtime_ns);
	at = 20;
	memcpy(buf + at, path, n);
	at += n;
	for (int j = 0; j < c->dim; j++) {
		uint32_t bits;

		memcpy(&bits, &features[j], sizeof bits);
		put_u32(buf + at, bits);
		at += 4;
	}
	put_u32(buf + at, (uint32_t)crc32(0L, buf, (uInt)at));
	return at + 4;
}

typedef enum { READ_OK, READ_PARTIAL, READ_CORRUPT } read_outcome;

/* Reads records from f after the header into the table; *good_end is the
 * offset after the last complete record. */
static read_outcome records_read(feature_cache *c, FILE *f, long *good_end, int *bad_record, tp_status *st)
{
	size_t max_bytes = 24 + MAX_PATH_BYTES + (size_t)c->dim * 4;
	unsigned char *buf = malloc(max_bytes);
	float *row = malloc((size_t)c->dim * sizeof *row);
	char path[MAX_PATH_BYTES + 1];
	read_outcome out = READ_OK;

	*st = TP_OK;
	*good_end = HEADER_BYTES;
	if (!buf || !row) {
		free(buf);
		free(row);
		*st = tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
		return READ_CORRUPT;
	}
	for (;;) {
		size_t got = fread(buf, 1, 20, f), n, body;
		file_stamp stamp;

		if (got == 0)
			break;
		n = get_u32(buf);
		if (got < 20) {
			out = READ_PARTIAL;
			break;
		}
		if (n < 1 || n > MAX_PATH_BYTES) {
			out = READ_CORRUPT;
			break;
		}
		body = n + (size_t)c->dim * 4 + 4;
		got = fread(buf + 20, 1, body, f);
		if (got < body) {
			out = READ_PARTIAL;
			break;
		}
		if (get_u32(buf + 20 + body - 4) != (uint32_t)crc32(0L, buf, (uInt)(20 + body - 4))) {
			out = READ_CORRUPT;
			break;
		}
		stamp.size = get_u64(buf + 4);
		stamp.mtime_ns = (int64_t)get_u64(buf + 12);
		memcpy(path, buf + 20, n);
		path[n] = '\0';
		for (int j = 0; j < c->dim; j++) {
			uint32_t bits = get_u32(buf + 20 + n + 4 * (size_t)j);

			memcpy(&row[j], &bits, sizeof bits);
		}
		*st = table_add(c, path, &stamp, row);
		if (*st != TP_OK) {
			out = READ_CORRUPT;
			break;
		}
		*good_end += (long)(20 + body);
	}
	*bad_record = c->n_records;
	free(buf);
	free(row);
	return out;
}

static void warnf(const feature_cache *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(const feature_cache *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	c->warn(line, c->user);
}

/* Starts the file afresh: header only. */
static tp_status file_create(feature_cache *c)
{
	unsigned char h[HEADER_BYTES];

	table_clear(c);
	if (c->file)
		fclose(c->file);
	c->file = fopen(c->path, "wb");
	if (!c->file)
		return tp_fail(TP_ERR_IO, "feature cache: cannot create '%s': %s: give a writable folder with --cache DIR",
			       c->path, strerror(errno));
	header_encode(c, h);
	if (fwrite(h, 1, HEADER_BYTES, c->file) != HEADER_BYTES || fflush(c->file) != 0)
		return tp_fail(TP_ERR_IO, "feature cache: cannot write '%s': %s", c->path, strerror(errno));
	return TP_OK;
}

/* Reads an existing file; returns 1 when it is usable (possibly cut after
 * its complete records), 0 when it must be rebuilt. */
static int file_load(feature_cache *c, tp_status *st)
{
	FILE *f = fopen(c->path, "rb");
	unsigned char h[HEADER_BYTES], want[HEADER_BYTES];
	long good_end;
	int n_good;
	read_outcome outcome;

	*st = TP_OK;
	if (!f)
		return 0;
	header_encode(c, want);
	if (fread(h, 1, HEADER_BYTES, f) != HEADER_BYTES || memcmp(h, MAGIC, 8) != 0) {
		fclose(f);
		warnf(c, "feature cache '%s' has a truncated or corrupt header: rebuilding it", c->path);
		return 0;
	}
	if (memcmp(h, want, HEADER_BYTES) != 0) {
		fclose(f);
		warnf(c, "feature cache '%s' was written for another model or image list: rebuilding it", c->path);
		return 0;
	}
	outcome = records_read(c, f, &good_end, &n_good, st);
	fclose(f);
	if (*st != TP_OK)
		return 0;
	if (outcome == READ_CORRUPT) {
		warnf(c, "feature cache '%s' is corrupt after %d valid entries (a record fails its checksum): rebuilding it",
		      c->path, n_good);
		return 0;
	}
	if (outcome == READ_PARTIAL) {
		warnf(c, "feature cache '%s' ends in a partial entry, as left by an interrupted encoding: keeping its %d complete entries",
		      c->path, n_good);
		if (truncate(c->path, good_end) != 0) {
			warnf(c, "feature cache '%s' cannot be cut to its complete entries (%s): rebuilding it",
			      c->path, strerror(errno));
			return 0;
		}
	}
	return 1;
}

tp_status feature_cache_open(const char *dir, uint64_t model_key, uint64_t list_key, int dim,
			     feature_cache_warn_fn warn, void *user, feature_cache **out)
{
	feature_cache *c = calloc(1, sizeof *c);
	size_t size = strlen(dir) + 64;
	tp_status st = TP_OK;

	*out = NULL;
	if (!c || !(c->path = malloc(size))) {
		feature_cache_close(c);
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
	}
	c->dim = dim;
	if (table_grow(c) != 0) {
		feature_cache_close(c);
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
	}
	c->model_key = model_key;
	c->list_key = list_key;
	c->warn = warn;
	c->user = user;
	snprintf(c->path, size, "%s/features-%016llx-%016llx.tpc", dir,
		 (unsigned long long)model_key, (unsigned long long)list_key);
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		st = tp_fail(TP_ERR_IO, "feature cache: cannot create the folder '%s': %s: give a writable folder with --cache DIR",
			     dir, strerror(errno));
		feature_cache_close(c);
		return st;
	}

	if (file_load(c, &st)) {
		c->file = fopen(c->path, "ab");
		if (!c->file)
			st = tp_fail(TP_ERR_IO, "feature cache: cannot write '%s': %s: give a writable folder with --cache DIR",
				     c->path, strerror(errno));
	} else if (st == TP_OK) {
		st = file_create(c);
	}
	if (st != TP_OK) {
		feature_cache_close(c);
		return st;
	}
	*out = c;
	return TP_OK;
}

const char *feature_cache_path(const feature_cache *c)
{
	return c->path;
}

int feature_cache_find(const feature_cache *c, const char *path, const file_stamp *stamp, float *features)
{
	int i = c->slots[slot_of(c, path)];

	if (i < 0 || c->records[i].stamp.size != stamp->size || c->records[i].stamp.mtime_ns != stamp->mtime_ns)
		return 0;
	memcpy(features, c->features + c->records[i].row * c->dim, (size_t)c->dim * sizeof *features);
	return 1;
}

tp_status feature_cache_add(feature_cache *c, const char *path, const file_stamp *stamp,
			    const float *features)
{
	unsigned char *buf;
	size_t n;
	tp_status st;

	if (strlen(path) < 1 || strlen(path) > MAX_PATH_BYTES)
		return TP_OK;  /* such a path is never cached, only encoded */
	st = table_add(c, path, stamp, features);
	if (st != TP_OK || !c->file)
		return st;
	buf = malloc(24 + strlen(path) + (size_t)c->dim * 4);
	if (!buf)
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
	n = record_encode(c, buf, path, stamp, features);
	if (fwrite(buf, 1, n, c->file) != n || fflush(c->file) != 0) {
		st = tp_fail(TP_ERR_IO, "feature cache: cannot write '%s': %s: free some space or give another folder with --cache DIR",
			     c->path, strerror(errno));
		fclose(c->file);
		c->file = NULL;
	}
	free(buf);
	return st;
}

/* Marks in keep_rec (n_records) the latest record of each path in keep. */
static int mark_kept(const feature_cache *c, const char *const *keep, int n, unsigned char *keep_rec)
{
	int kept = 0;

	memset(keep_rec, 0, (size_t)c->n_records);
	for (int i = 0; i < n; i++) {
		int r = c->slots[slot_of(c, keep[i])];

		if (r >= 0 && !keep_rec[r]) {
			keep_rec[r] = 1;
			kept++;
		}
	}
	return kept;
}

int feature_cache_stale(const feature_cache *c, const char *const *keep, int n)
{
	unsigned char *keep_rec = malloc((size_t)c->n_records + 1);
	int kept;

	if (!keep_rec)
		return 0;
	kept = mark_kept(c, keep, n, keep_rec);
	free(keep_rec);
	return c->n_records - kept;
}

tp_status feature_cache_compact(feature_cache *c, const char *const *keep, int n)
{
	unsigned char *keep_rec = malloc((size_t)c->n_records + 1);
	unsigned char *buf = malloc(24 + MAX_PATH_BYTES + (size_t)c->dim * 4);
	unsigned char h[HEADER_BYTES];
	size_t size = strlen(c->path) + 8;
	char *temp = malloc(size);
	FILE *f = NULL;
	int failed = 0;

	if (!keep_rec || !buf || !temp) {
		free(keep_rec);
		free(buf);
		free(temp);
		return tp_fail(TP_ERR_NOMEM, "feature cache: out of memory");
	}
	mark_kept(c, keep, n, keep_rec);
	snprintf(temp, size, "%s.new", c->path);
	f = fopen(temp, "wb");
	header_encode(c, h);
	failed = !f || fwrite(h, 1, HEADER_BYTES, f) != HEADER_BYTES;
	for (int i = 0; i < c->n_records && !failed; i++) {
		const cache_record *r = &c->records[i];
		size_t len;

		if (!keep_rec[i])
			continue;
		len = record_encode(c, buf, r->path, &r->stamp, c->features + r->row * c->dim);
		failed = fwrite(buf, 1, len, f) != len;
	}
	if (f && fclose(f) != 0)
		failed = 1;
	if (!failed && rename(temp, c->path) != 0)
		failed = 1;
	if (failed)
		remove(temp);
	free(keep_rec);
	free(buf);
	free(temp);
	if (failed)
		return tp_fail(TP_ERR_IO, "feature cache: cannot rewrite '%s': %s", c->path, strerror(errno));
	if (c->file) {
		fclose(c->file);
		c->file = fopen(c->path, "ab");
	}
	return TP_OK;
}

void feature_cache_close(feature_cache *c)
{
	if (!c)
		return;
	if (c->file)
		fclose(c->file);
	for (int i = 0; i < c->n_records; i++)
		free(c->records[i].path);
	free(c->records);
	free(c->features);
	free(c->slots);
	free(c->path);
	free(c);
}
