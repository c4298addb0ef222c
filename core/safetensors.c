#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "safetensors.h"

struct safetensors {
	char *path;
	const unsigned char *map;   /* the whole file, read-only */
	size_t map_size;
	const unsigned char *data;  /* start of the data buffer inside map */
	size_t data_size;
	int n_tensors;
	safetensors_tensor *tensors;  /* (n_tensors) */
};

static const struct { const char *name; int size; } dtype_sizes[] = {
	{ "F64", 8 }, { "F32", 4 }, { "F16", 2 }, { "BF16", 2 },
	{ "I64", 8 }, { "I32", 4 }, { "I16", 2 }, { "I8", 1 },
	{ "U64", 8 }, { "U32", 4 }, { "U16", 2 }, { "U8", 1 },
	{ "BOOL", 1 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 },
};

static int dtype_size(const char *name)
{
	for (size_t i = 0; i < sizeof dtype_sizes / sizeof dtype_sizes[0]; i++)
		if (strcmp(dtype_sizes[i].name, name) == 0)
			return dtype_sizes[i].size;
	return 0;
}

/* Reads a non-negative integer JSON number that fits in 53 bits. */
static int json_size(const cJSON *item, uint64_t *value)
{
	double v;

	if (!cJSON_IsNumber(item))
		return 0;
	v = item->valuedouble;
	if (!(v >= 0.0) || v > 9007199254740992.0 || floor(v) != v)
		return 0;
	*value = (uint64_t)v;
	return 1;
}

static tp_status parse_entry(safetensors *st, const cJSON *entry, safetensors_tensor *t)
{
	const char *path = st->path;
	const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
	const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
	const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
	const cJSON *dim;
	uint64_t begin, end, count = 1;

	if (!cJSON_IsObject(entry) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
	    !cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2)
		return tp_fail(TP_ERR_FORMAT,
			       "load: '%s': tensor '%s' lacks a string dtype, a shape list or two data_offsets: the file is corrupt, download it again",
			       path, t->name);
	t->elem_size = dtype_size(dtype->valuestring);
	if (t->elem_size == 0 || strlen(dtype->valuestring) >= sizeof t->dtype)
		return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' has unknown dtype '%.20s': the file is corrupt or of a newer format",
			       path, t->name, dtype->valuestring);
	strcpy(t->dtype, dtype->valuestring);

	if (cJSON_GetArraySize(shape) > SAFETENSORS_MAX_DIMS)
		return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' has %d dimensions, more than the %d supported",
			       path, t->name, cJSON_GetArraySize(shape), SAFETENSORS_MAX_DIMS);
	t->ndim = 0;
	cJSON_ArrayForEach(dim, shape) {
		uint64_t n;

		if (!json_size(dim, &n) || (n > 0 && count > (UINT64_C(1) << 62) / n))
			return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' has an invalid shape entry: the file is corrupt",
				       path, t->name);
		t->shape[t->ndim++] = (int64_t)n;
		count *= n;
	}
	if (!json_size(cJSON_GetArrayItem(offsets, 0), &begin) ||
	    !json_size(cJSON_GetArrayItem(offsets, 1), &end))
		return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' has invalid data_offsets: the file is corrupt",
			       path, t->name);
	if (begin > end || end > st->data_size)
		return tp_fail(TP_ERR_FORMAT,
			       "load: '%s': tensor '%s' has data_offsets [%llu, %llu] outside the %zu-byte data buffer: the file is truncated or corrupt, download it again",
			       path, t->name, (unsigned long long)begin, (unsigned long long)end, st->data_size);
	if (end - begin != count * (uint64_t)t->elem_size)
		return tp_fail(TP_ERR_FORMAT,
			       "load: '%s': tensor '%s' spans %llu bytes but its shape and dtype %s need %llu: the file is corrupt",
			       path, t->name, (unsigned long long)(end - begin), t->dtype,
			       (unsigned long long)(count * (uint64_t)t->elem_size));
	t->count = (size_t)count;
	t->begin = (size_t)begin;
	t->end = (size_t)end;
	return TP_OK;
}

static int compare_begin(const void *a, const void *b)
{
	const safetensors_tensor *x = *(const safetensors_tensor *const *)a;
	const safetensors_tensor *y = *(const safetensors_tensor *const *)b;

	return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Sorts the tensors by offset and rejects any two whose byte ranges meet. */
static tp_status check_overlap(safetensors *st)
{
	const safetensors_tensor **order;
	tp_status status = TP_OK;

	if (st->n_tensors < 2)
		return TP_OK;
	order = malloc((size_t)st->n_tensors * sizeof *order);
	if (!order)
		return tp_fail(TP_ERR_NOMEM, "load: out of memory for %d tensor entries", st->n_tensors);
	for (int i = 0; i < st->n_tensors; i++)
		order[i] = &st->tensors[i];
	qsort(order, (size_t)st->n_tensors, sizeof *order, compare_begin);
	for (int i = 1; i < st->n_tensors; i++) {
		const safetensors_tensor *prev = order[i - 1], *cur = order[i];

		if (cur->begin < prev->end && cur->end > cur->begin && prev->end > prev->begin) {
			status = tp_fail(TP_ERR_FORMAT,
					 "load: '%s': tensors '%s' [%zu, %zu) and '%s' [%zu, %zu) overlap: the file is corrupt, download it again",
					 st->path, prev->name, prev->begin, prev->end, cur->name, cur->begin, cur->end);
			break;
		}
	}
	free(order);
	return status;
}

static tp_status parse_header(safetensors *st, const char *text, size_t length)
{
	cJSON *root = cJSON_ParseWithLength(text, length);
	const cJSON *entry;
	tp_status status = TP_OK;
	int n = 0;

	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tp_fail(TP_ERR_FORMAT, "load: '%s': the header is not a JSON object: the file is not a safetensors file or is corrupt",
			       st->path);
	}
	st->tensors = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof *st->tensors);
	if (!st->tensors) {
		cJSON_Delete(root);
		return tp_fail(TP_ERR_NOMEM, "load: out of memory for the header of '%s'", st->path);
	}
	cJSON_ArrayForEach(entry, root) {
		safetensors_tensor *t = &st->tensors[n];

		if (strcmp(entry->string, "__metadata__") == 0)
			continue;
		t->name = strdup(entry->string);
		if (!t->name) {
			status = tp_fail(TP_ERR_NOMEM, "load: out of memory for the header of '%s'", st->path);
			break;
		}
		n++;
		status = parse_entry(st, entry, t);
		if (status != TP_OK)
			break;
	}
	st->n_tensors = n;
	cJSON_Delete(root);
	if (status == TP_OK)
		status = check_overlap(st);
	return status;
}

static tp_status map_file(safetensors *st)
{
	struct stat info;
	void *map;
	int fd = open(st->path, O_RDONLY);

	if (fd < 0)
		return tp_fail(TP_ERR_IO, "load: cannot open '%s': %s", st->path, strerror(errno));
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
		close(fd);
		return tp_fail(TP_ERR_IO, "load: '%s' is not a regular file", st->path);
	}
	if (info.st_size < 8) {
		close(fd);
		return tp_fail(TP_ERR_FORMAT, "load: '%s' has %lld bytes, fewer than the 8-byte header length: the file is truncated, download it again",
			       st->path, (long long)info.st_size);
	}
	map = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return tp_fail(TP_ERR_IO, "load: cannot map '%s': %s", st->path, strerror(errno));
	st->map = map;
	st->map_size = (size_t)info.st_size;
	return TP_OK;
}

tp_status safetensors_open(const char *path, safetensors **out)
{
	safetensors *st = calloc(1, sizeof *st);
	uint64_t header = 0;
	tp_status status;

	*out = NULL;
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return tp_fail(TP_ERR_NOMEM, "load: out of memory opening '%s'", path);
	}
	status = map_file(st);
	if (status != TP_OK) {
		safetensors_close(st);
		return status;
	}

	/* the header length, then the header */
	for (int i = 7; i >= 0; i--)
		header = header << 8 | st->map[i];
	if (header > SAFETENSORS_MAX_HEADER || header > st->map_size - 8) {
		status = tp_fail(TP_ERR_FORMAT,
				 "load: '%s': header length %llu exceeds the %zu bytes after it (or the %llu-byte limit): the file is truncated or not a safetensors file",
				 path, (unsigned long long)header, st->map_size - 8,
				 (unsigned long long)SAFETENSORS_MAX_HEADER);
		safetensors_close(st);
		return status;
	}
	st->data = st->map + 8 + header;
	st->data_size = st->map_size - 8 - (size_t)header;
	status = parse_header(st, (const char *)st->map + 8, (size_t)header);
	if (status != TP_OK) {
		safetensors_close(st);
		return status;
	}
	*out = st;
	return TP_OK;
}

void safetensors_close(safetensors *st)
{
	if (!st)
		return;
	if (st->map)
		munmap((void *)(uintptr_t)st->map, st->map_size);
	if (st->tensors)
		for (int i = 0; i < st->n_tensors; i++)
			free(st->tensors[i].name);
	free(st->tensors);
	free(st->path);
	free(st);
}

int safetensors_count(const safetensors *st)
{
	return st->n_tensors;
}

const safetensors_tensor *safetensors_at(const safetensors *st, int i)
{
	return &st->tensors[i];
}

const safetensors_tensor *safetensors_find(const safetensors *st, const char *name)
{
	for (int i = 0; i < st->n_tensors; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i];
	return NULL;
}

const char *safetensors_path(const safetensors *st)
{
	return st->path;
}

float safetensors_f16_to_f32(uint16_t h)
{
	int sign = h >> 15;
	int exponent = (h >> 10) & 0x1f;
	int mantissa = h & 0x3ff;
	float v;

	if (exponent == 0)
		v = ldexpf((float)mantissa, -24);          /* subnormal or zero */
	else if (exponent == 31)
		v = mantissa ? NAN : INFINITY;
	else
		v = ldexpf((float)(mantissa | 0x400), exponent - 25);
	return sign ? -v : v;
}

float safetensors_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float v;

	memcpy(&v, &bits, sizeof v);
	return v;
}

tp_status safetensors_read_f32(const safetensors *st, const safetensors_tensor *t, float *dst)
{
	const unsigned char *p = st->data + t->begin;

	if (strcmp(t->dtype, "F32") == 0) {
		for (size_t i = 0; i < t->count; i++) {
			uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
					(uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;

			memcpy(&dst[i], &bits, sizeof bits);
		}
	} else if (strcmp(t->dtype, "F16") == 0 || strcmp(t->dtype, "BF16") == 0) {
		int half = t->dtype[0] == 'F';

		for (size_t i = 0; i < t->count; i++) {
			uint16_t bits = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);

			dst[i] = half ? safetensors_f16_to_f32(bits) : safetensors_bf16_to_f32(bits);
		}
	} else {
		return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' has dtype %s, expected F32, F16 or BF16: convert the checkpoint to a floating-point type",
			       st->path, t->name, t->dtype);
	}
	for (size_t i = 0; i < t->count; i++)
		if (!isfinite(dst[i]))
			return tp_fail(TP_ERR_FORMAT, "load: '%s': tensor '%s' holds a NaN or infinite value at element %zu: the checkpoint is damaged",
				       st->path, t->name, i);
	return TP_OK;
}
