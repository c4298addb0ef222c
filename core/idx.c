#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "idx.h"

/* Bytes requested per gzread.  The data buffer grows as it is read, so a
 * corrupt header that declares billions of elements fails on the short read,
 * not on one huge allocation. */
#define IDX_CHUNK (1 << 20)

/* Reads up to len bytes and returns the count read, or -1 on a zlib error. */
static long long idx_read_bytes(gzFile f, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < IDX_CHUNK ? len - done : IDX_CHUNK;
		int got = gzread(f, buf + done, (unsigned)want);

		if (got < 0)
			return -1;
		if (got == 0) {
			int code;

			/* At the end of a file cut inside a gzip stream, gzread returns
			 * 0, not -1, and gzerror reports Z_BUF_ERROR (zlib.h, 1.2.13). */
			gzerror(f, &code);
			if (code != Z_OK)
				return -1;
			break;
		}
		done += (size_t)got;
	}
	return (long long)done;
}

static tp_status idx_read_error(gzFile f, const char *operation, const char *path)
{
	int code;
	const char *message = gzerror(f, &code);

	/* Z_BUF_ERROR means the file ends inside a gzip stream, Z_DATA_ERROR corrupt data */
	if (code == Z_BUF_ERROR || code == Z_DATA_ERROR)
		return tp_fail(TP_ERR_FORMAT, "%s: '%s' is a truncated or corrupt gzip file (%s): download or copy it again",
			       operation, path, message);
	return tp_fail(TP_ERR_IO, "%s: reading '%s' failed: %s", operation, path,
		       code == Z_ERRNO ? strerror(errno) : message);
}

/* Opens path and reads the magic number and the ndim sizes into sizes. */
static tp_status idx_open(const char *path, const char *operation, int ndim, gzFile *out, long long *sizes)
{
	unsigned char head[4 + 4 * 3];
	long long got;
	gzFile f;

	errno = 0;
	f = gzopen(path, "rb");
	if (!f)
		return tp_fail(TP_ERR_IO, "%s: cannot open '%s': %s", operation, path,
			       errno ? strerror(errno) : "out of memory");
	got = idx_read_bytes(f, head, 4 + 4 * (size_t)ndim);
	if (got < 0) {
		tp_status st = idx_read_error(f, operation, path);

		gzclose(f);
		return st;
	}
	if (got < 4 || head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != ndim) {
		gzclose(f);
		return tp_fail(TP_ERR_FORMAT,
			       "%s: '%s' is not an IDX %s file of unsigned bytes (magic 0x0000080%d expected): check the file name",
			       operation, path, ndim == 3 ? "image" : "label", ndim);
	}
	if (got < 4 + 4 * ndim) {
		gzclose(f);
		return tp_fail(TP_ERR_FORMAT, "%s: '%s' is truncated inside its header", operation, path);
	}
	for (int i = 0; i < ndim; i++) {
		const unsigned char *b = head + 4 + 4 * i;

		sizes[i] = (long long)b[0] << 24 | (long long)b[1] << 16 | (long long)b[2] << 8 | b[3];
	}
	*out = f;
	return TP_OK;
}

/* Reads exactly count data bytes into a new buffer and checks that nothing
 * follows them. */
static tp_status idx_read_data(gzFile f, const char *operation, const char *path, size_t count, uint8_t **out)
{
	uint8_t *data = NULL;
	size_t done = 0;
	unsigned char extra;
	long long got;

	while (done < count) {
		size_t want = count - done < IDX_CHUNK ? count - done : IDX_CHUNK;
		uint8_t *grown = realloc(data, done + want);

		if (!grown) {
			free(data);
			return tp_fail(TP_ERR_NOMEM, "%s: no memory for the %zu data bytes of '%s'", operation, count, path);
		}
		data = grown;
		got = idx_read_bytes(f, data + done, want);
		if (got < 0) {
			free(data);
			return idx_read_error(f, operation, path);
		}
		done += (size_t)got;
		if ((size_t)got < want) {
			free(data);
			return tp_fail(TP_ERR_FORMAT, "%s: '%s' is truncated: its header declares %zu data bytes but it has %zu",
				       operation, path, count, done);
		}
	}
	got = idx_read_bytes(f, &extra, 1);
	if (got != 0) {
		free(data);
		if (got < 0)
			return idx_read_error(f, operation, path);
		return tp_fail(TP_ERR_FORMAT, "%s: '%s' has bytes after the %zu data bytes its header declares: the file is corrupt",
			       operation, path, count);
	}
	*out = data;
	return TP_OK;
}

tp_status idx_read_images(const char *path, uint8_t **pixels, int *n, int *rows, int *cols)
{
	const char *operation = "read images";
	long long sizes[3]; /* (n, rows, cols) */
	uint8_t *data;
	gzFile f;
	tp_status st = idx_open(path, operation, 3, &f, sizes);

	if (st != TP_OK)
		return st;
	if (sizes[0] == 0 || sizes[1] == 0 || sizes[2] == 0 || sizes[0] > INT_MAX || sizes[1] > INT_MAX || sizes[2] > INT_MAX
	    || sizes[0] * sizes[1] > INT_MAX || sizes[0] * sizes[1] * sizes[2] > INT_MAX) {
		gzclose(f);
		return tp_fail(TP_ERR_FORMAT, "%s: '%s' declares %lld images of %lld x %lld pixels: expected a non-empty set of at most %d bytes",
			       operation, path, sizes[0], sizes[1], sizes[2], INT_MAX);
	}
	st = idx_read_data(f, operation, path, (size_t)(sizes[0] * sizes[1] * sizes[2]), &data);
	gzclose(f);
	if (st != TP_OK)
		return st;
	*pixels = data;
	*n = (int)sizes[0];
	*rows = (int)sizes[1];
	*cols = (int)sizes[2];
	return TP_OK;
}

tp_status idx_read_labels(const char *path, uint8_t **labels, int *n)
{
	const char *operation = "read labels";
	long long count;
	uint8_t *data;
	gzFile f;
	tp_status st = idx_open(path, operation, 1, &f, &count);

	if (st != TP_OK)
		return st;
	if (count == 0 || count > INT_MAX) {
		gzclose(f);
		return tp_fail(TP_ERR_FORMAT, "%s: '%s' declares %lld labels: expected 1 to %d", operation, path, count, INT_MAX);
	}
	st = idx_read_data(f, operation, path, (size_t)count, &data);
	gzclose(f);
	if (st != TP_OK)
		return st;
	*labels = data;
	*n = (int)count;
	return TP_OK;
}
