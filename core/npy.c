#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"

/* Maximum header length read.  The header of a plain numeric array is under
 * 200 bytes, so a longer one means a corrupt file or a structured dtype. */
#define NPY_MAX_HEADER (1 << 20)
/* Elements decoded per fread. */
#define NPY_CHUNK 65536

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

enum npy_kind { NPY_FLOAT, NPY_SIGNED, NPY_UNSIGNED };

/* The parsed header of an open file, whose stream is at the first data byte. */
typedef struct npy_header {
	char descr[16];
	enum npy_kind kind;
	int itemsize;          /* bytes per element: 1, 2, 4 or 8 */
	int fortran_order;
	int ndim;
	long long shape[8];    /* (ndim) */
	long long count;       /* product of shape */
	long long data_offset; /* bytes before the data */
} npy_header;

/* A cursor over the header's dict literal. */
typedef struct npy_parser {
	const char *p;
	const char *end;
} npy_parser;

static void npy_skip_space(npy_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int npy_accept(npy_parser *ps, char c)
{
	npy_skip_space(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return 1;
	}
	return 0;
}

/* Parses a quoted Python string into out (size n); returns 0 on a malformed
 * or too long string. */
static int npy_parse_string(npy_parser *ps, char *out, size_t n)
{
	char quote;
	size_t len = 0;

	npy_skip_space(ps);
	if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
		return 0;
	quote = *ps->p++;
	while (ps->p < ps->end && *ps->p != quote) {
		if (len + 1 >= n)
			return 0;
		out[len++] = *ps->p++;
	}
	if (ps->p >= ps->end)
		return 0;
	ps->p++;
	out[len] = '\0';
	return 1;
}

/* Parses a shape tuple such as "(100, 512)", "(7,)" or "()". */
static int npy_parse_shape(npy_parser *ps, npy_header *h)
{
	h->ndim = 0;
	if (!npy_accept(ps, '('))
		return 0;
	for (;;) {
		long long v = 0;
		int digits = 0;

		if (npy_accept(ps, ')'))
			return 1;
		npy_skip_space(ps);
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
			if (v > (LLONG_MAX - 9) / 10)
				return 0;
			v = v * 10 + (*ps->p - '0');
			ps->p++;
			digits++;
		}
		if (digits == 0 || h->ndim == (int)(sizeof h->shape / sizeof h->shape[0]))
			return 0;
		h->shape[h->ndim++] = v;
		if (npy_accept(ps, ')'))
			return 1;
		if (!npy_accept(ps, ','))
			return 0;
	}
}

static int npy_parse_bool(npy_parser *ps, int *value)
{
	npy_skip_space(ps);
	if (ps->end - ps->p >= 4 && memcmp(ps->p, "True", 4) == 0) {
		ps->p += 4;
		*value = 1;
		return 1;
	}
	if (ps->end - ps->p >= 5 && memcmp(ps->p, "False", 5) == 0) {
		ps->p += 5;
		*value = 0;
		return 1;
	}
	return 0;
}

/* Maps a descr such as '<f4' or '|u1' to a kind and item size. */
static tp_status npy_parse_descr(const char *path, npy_header *h)
{
	const char *d = h->descr;

	if (strlen(d) == 3 && (d[0] == '<' || d[0] == '|')) {
		int size = d[2] - '0';

		if (d[1] == 'f' && (size == 4 || size == 8)) {
			h->kind = NPY_FLOAT;
			h->itemsize = size;
			return TP_OK;
		}
		if ((d[1] == 'i' || d[1] == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) {
			h->kind = d[1] == 'i' ? NPY_SIGNED : NPY_UNSIGNED;
			h->itemsize = size;
			return TP_OK;
		}
	}
	if (d[0] == '>')
		return tp_fail(TP_ERR_FORMAT,
			       "read npy: '%s' has big-endian dtype '%s': save it little-endian, e.g. with x.astype('<%s')",
			       path, d, d + 1);
	return tp_fail(TP_ERR_FORMAT,
		       "read npy: '%s' has unsupported dtype '%s': expected float32/float64 ('<f4', '<f8') or an integer type ('<i8', '|u1', ...)",
		       path, d);
}

/* Parses the dict literal of the header text (len bytes). */
static tp_status npy_parse_dict(const char *path, const char *text, size_t len, npy_header *h)
{
	npy_parser ps = { text, text + len };
	int have_descr = 0, have_order = 0, have_shape = 0;
	const char *missing = NULL;

	if (!npy_accept(&ps, '{'))
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s': header does not start with '{': the file is corrupt", path);
	while (!npy_accept(&ps, '}')) {
		char key[32];

		if (!npy_parse_string(&ps, key, sizeof key) || !npy_accept(&ps, ':'))
			return tp_fail(TP_ERR_FORMAT, "read npy: '%s': header is not a dict of quoted keys: the file is corrupt", path);
		if (strcmp(key, "descr") == 0) {
			if (!npy_parse_string(&ps, h->descr, sizeof h->descr))
				return tp_fail(TP_ERR_FORMAT,
					       "read npy: '%s': 'descr' is not a simple dtype string (structured arrays are not read): save a plain numeric array",
					       path);
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0) {
			if (!npy_parse_bool(&ps, &h->fortran_order))
				return tp_fail(TP_ERR_FORMAT, "read npy: '%s': 'fortran_order' is not True or False", path);
			have_order = 1;
		} else if (strcmp(key, "shape") == 0) {
			if (!npy_parse_shape(&ps, h))
				return tp_fail(TP_ERR_FORMAT, "read npy: '%s': 'shape' is not a tuple of at most 8 integers", path);
			have_shape = 1;
		} else {
			return tp_fail(TP_ERR_FORMAT,
				       "read npy: '%s': unknown header key '%s': expected only 'descr', 'fortran_order' and 'shape'",
				       path, key);
		}
		if (!npy_accept(&ps, ',')) {
			if (!npy_accept(&ps, '}'))
				return tp_fail(TP_ERR_FORMAT, "read npy: '%s': header dict is not closed by '}'", path);
			break;
		}
	}
	if (!have_descr)
		missing = "'descr'";
	else if (!have_order)
		missing = "'fortran_order'";
	else if (!have_shape)
		missing = "'shape'";
	if (missing)
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s': header lacks %s: the file was not written by numpy.save",
			       path, missing);
	return npy_parse_descr(path, h);
}

/* Reads the magic, version and header of f and checks that the file size
 * matches the declared data size. */
static tp_status npy_read_header(FILE *f, const char *path, npy_header *h)
{
	unsigned char pre[12];
	size_t len_bytes, header_len, got;
	char *text;
	struct stat st;
	long long data_bytes;
	tp_status st_parse;

	memset(h, 0, sizeof *h);
	got = fread(pre, 1, 10, f);
	if (got < 8 || memcmp(pre, npy_magic, sizeof npy_magic) != 0)
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s' is not a .npy file (no \\x93NUMPY magic): save it with numpy.save", path);
	if (pre[6] < 1 || pre[6] > 3)
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s' has format version %d.%d: only 1.0, 2.0 and 3.0 are read",
			       path, pre[6], pre[7]);

	/* the header length: uint16 in version 1, uint32 from version 2 on */
	len_bytes = pre[6] == 1 ? 2 : 4;
	if (len_bytes == 4 && got == 10)
		got += fread(pre + 10, 1, 2, f);
	if (got < 8 + len_bytes)
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s' is truncated inside its preamble", path);
	header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
	if (len_bytes == 4)
		header_len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
	if (header_len > NPY_MAX_HEADER)
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s' declares a header of %zu bytes (limit %d): the file is corrupt",
			       path, header_len, NPY_MAX_HEADER);

	text = malloc(header_len + 1);
	if (!text)
		return tp_fail(TP_ERR_NOMEM, "read npy: no memory for the %zu-byte header of '%s'", header_len, path);
	if (fread(text, 1, header_len, f) != header_len) {
		free(text);
		return tp_fail(TP_ERR_FORMAT, "read npy: '%s' is truncated inside its %zu-byte header", path, header_len);
	}
	text[header_len] = '\0';
	st_parse = npy_parse_dict(path, text, header_len, h);
	free(text);
	if (st_parse != TP_OK)
		return st_parse;

	/* the element count, checked for overflow */
	h->count = 1;
	for (int i = 0; i < h->ndim; i++) {
		if (h->shape[i] != 0 && h->count > LLONG_MAX / 8 / h->shape[i])
			return tp_fail(TP_ERR_FORMAT, "read npy: '%s': shape dimension %d (%lld) is too large", path, i, h->shape[i]);
		h->count *= h->shape[i];
	}

	h->data_offset = (long long)(8 + len_bytes + header_len);
	data_bytes = h->count * h->itemsize;
	if (fstat(fileno(f), &st) != 0)
		return tp_fail(TP_ERR_IO, "read npy: cannot stat '%s': %s", path, strerror(errno));
	if (S_ISREG(st.st_mode) && (long long)st.st_size != h->data_offset + data_bytes)
		return tp_fail(TP_ERR_FORMAT,
			       "read npy: '%s' has %lld data bytes but its header declares %lld (%lld elements of '%s'): the file is %s",
			       path, (long long)st.st_size - h->data_offset, data_bytes, h->count, h->descr,
			       (long long)st.st_size < h->data_offset + data_bytes ? "truncated" : "followed by extra bytes");
	return TP_OK;
}

static FILE *npy_open(const char *path, const char *mode, tp_status *st, const char *operation)
{
	FILE *f = fopen(path, mode);

	if (!f)
		*st = tp_fail(TP_ERR_IO, "%s: cannot open '%s': %s", operation, path, strerror(errno));
	return f;
}

/* Decodes one little-endian element as a double (floats) or integer. */
static uint64_t npy_load_le(const unsigned char *b, int size)
{
	uint64_t v = 0;

	for (int i = size - 1; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static double npy_decode_float(const unsigned char *b, int size)
{
	uint64_t bits = npy_load_le(b, size);

	if (size == 4) {
		uint32_t u = (uint32_t)bits;
		float f;

		memcpy(&f, &u, sizeof f);
		return f;
	} else {
		double d;

		memcpy(&d, &bits, sizeof d);
		return d;
	}
}

/* Reads the data of a (rows, cols) float array into out (rows, cols) in C
 * order.  The first non-finite value in C order is reported. */
static tp_status npy_read_floats(FILE *f, const char *path, const npy_header *h,
				 long long rows, long long cols, float *out)
{
	unsigned char *buf = malloc((size_t)NPY_CHUNK * (size_t)h->itemsize); /* (NPY_CHUNK * itemsize) raw bytes */
	long long bad = -1;          /* C-order index of the first non-finite value */
	int bad_overflow = 0;        /* the bad value is a finite float64 beyond float32's range */
	long long done = 0;

	if (!buf)
		return tp_fail(TP_ERR_NOMEM, "read npy: no memory for a read buffer of '%s'", path);
	while (done < h->count) {
		size_t want = (size_t)(h->count - done < NPY_CHUNK ? h->count - done : NPY_CHUNK);

		if (fread(buf, (size_t)h->itemsize, want, f) != want) {
			free(buf);
			return tp_fail(TP_ERR_IO, "read npy: reading the data of '%s' failed after %lld of %lld elements",
				       path, done, h->count);
		}
		for (size_t i = 0; i < want; i++) {
			long long src = done + (long long)i;
			/* a Fortran-order file stores column after column */
			long long dst = h->fortran_order ? (src % rows) * cols + src / rows : src;
			double v = npy_decode_float(buf + i * (size_t)h->itemsize, h->itemsize);
			float fv = (float)v;

			out[dst] = fv;
			if (!isfinite(fv) && (bad < 0 || dst < bad)) {
				bad = dst;
				bad_overflow = isfinite(v);
			}
		}
		done += (long long)want;
	}
	free(buf);
	if (bad >= 0) {
		if (bad_overflow)
			return tp_fail(TP_ERR_VALUE,
				       "read npy: '%s' row %lld column %lld is outside the float32 range: rescale the features",
				       path, bad / cols, bad % cols);
		return tp_fail(TP_ERR_VALUE,
			       "read npy: '%s' row %lld column %lld is %s: remove or replace non-finite values",
			       path, bad / cols, bad % cols, isnan(out[bad]) ? "NaN" : "infinite");
	}
	return TP_OK;
}

tp_status npy_read_matrix(const char *path, float **data, int *rows, int *cols)
{
	tp_status st = TP_OK;
	npy_header h;
	float *out;
	FILE *f = npy_open(path, "rb", &st, "read npy");

	if (!f)
		return st;
	st = npy_read_header(f, path, &h);
	if (st == TP_OK && h.kind != NPY_FLOAT)
		st = tp_fail(TP_ERR_FORMAT, "read npy: '%s' has dtype '%s': features must be float32 or float64, e.g. x.astype('float32')",
			     path, h.descr);
	if (st == TP_OK && h.ndim != 2) {
		char shape[128] = "(";

		for (int i = 0; i < h.ndim; i++) {
			size_t used = strlen(shape);

			snprintf(shape + used, sizeof shape - used, "%s%lld", i ? ", " : "", h.shape[i]);
		}
		strncat(shape, h.ndim == 1 ? ",)" : ")", sizeof shape - strlen(shape) - 1);
		st = tp_fail(TP_ERR_SHAPE, "read npy: '%s' has shape %s: expected a 2-D array (rows, cols), e.g. x.reshape(len(x), -1)",
			     path, shape);
	}
	if (st == TP_OK && (h.shape[0] == 0 || h.shape[1] == 0))
		st = tp_fail(TP_ERR_SHAPE, "read npy: '%s' has shape (%lld, %lld): the array is empty", path, h.shape[0], h.shape[1]);
	if (st == TP_OK && (h.shape[0] > INT_MAX || h.shape[1] > INT_MAX || h.count > INT_MAX))
		st = tp_fail(TP_ERR_SHAPE, "read npy: '%s' has shape (%lld, %lld): at most %d elements are read",
			     path, h.shape[0], h.shape[1], INT_MAX);
	if (st != TP_OK) {
		fclose(f);
		return st;
	}

	out = malloc((size_t)h.count * sizeof *out);
	if (!out) {
		fclose(f);
		return tp_fail(TP_ERR_NOMEM, "read npy: no memory for the (%lld, %lld) array of '%s'", h.shape[0], h.shape[1], path);
	}
	st = npy_read_floats(f, path, &h, h.shape[0], h.shape[1], out);
	fclose(f);
	if (st != TP_OK) {
		free(out);
		return st;
	}
	*data = out;
	*rows = (int)h.shape[0];
	*cols = (int)h.shape[1];
	return TP_OK;
}

/* Reads n integer elements into out, rejecting values outside int's range. */
static tp_status npy_read_ints(FILE *f, const char *path, const npy_header *h, int *out)
{
	unsigned char buf[8 * 4096]; /* (4096 * itemsize) raw bytes */
	size_t per_read = sizeof buf / (size_t)h->itemsize;
	long long done = 0;

	while (done < h->count) {
		size_t want = (size_t)(h->count - done) < per_read ? (size_t)(h->count - done) : per_read;

		if (fread(buf, (size_t)h->itemsize, want, f) != want)
			return tp_fail(TP_ERR_IO, "read npy: reading the data of '%s' failed after %lld of %lld elements",
				       path, done, h->count);
		for (size_t i = 0; i < want; i++) {
			uint64_t bits = npy_load_le(buf + i * (size_t)h->itemsize, h->itemsize);
			long long index = done + (long long)i;

			if (h->kind == NPY_UNSIGNED) {
				if (bits > (uint64_t)INT_MAX)
					return tp_fail(TP_ERR_VALUE, "read npy: '%s' element %lld is %llu, which does not fit an int",
						       path, index, (unsigned long long)bits);
				out[index] = (int)bits;
			} else {
				/* sign-extend from itemsize bytes */
				int shift = 64 - 8 * h->itemsize;
				int64_t v = shift ? (int64_t)(bits << shift) / ((int64_t)1 << shift) : (int64_t)bits;

				if (v > INT_MAX || v < INT_MIN)
					return tp_fail(TP_ERR_VALUE, "read npy: '%s' element %lld is %lld, which does not fit an int",
						       path, index, (long long)v);
				out[index] = (int)v;
			}
		}
		done += (long long)want;
	}
	return TP_OK;
}

tp_status npy_read_labels(const char *path, int **labels, int *n)
{
	tp_status st = TP_OK;
	npy_header h;
	int *out;
	FILE *f = npy_open(path, "rb", &st, "read npy labels");

	if (!f)
		return st;
	st = npy_read_header(f, path, &h);
	if (st == TP_OK && h.kind == NPY_FLOAT)
		st = tp_fail(TP_ERR_FORMAT, "read npy labels: '%s' has dtype '%s': labels must be integers, e.g. y.astype('int64')",
			     path, h.descr);
	if (st == TP_OK && !(h.ndim == 1 || (h.ndim == 2 && h.shape[1] == 1)))
		st = tp_fail(TP_ERR_SHAPE, "read npy labels: '%s' has %d dimensions%s: expected shape (N,) or (N, 1)",
			     path, h.ndim, h.ndim == 2 ? " with more than one column" : "");
	if (st == TP_OK && h.count == 0)
		st = tp_fail(TP_ERR_SHAPE, "read npy labels: '%s' contains no labels", path);
	if (st == TP_OK && h.count > INT_MAX)
		st = tp_fail(TP_ERR_SHAPE, "read npy labels: '%s' has %lld labels: at most %d are read", path, h.count, INT_MAX);
	if (st != TP_OK) {
		fclose(f);
		return st;
	}

	out = malloc((size_t)h.count * sizeof *out);
	if (!out) {
		fclose(f);
		return tp_fail(TP_ERR_NOMEM, "read npy labels: no memory for the %lld labels of '%s'", h.count, path);
	}
	st = npy_read_ints(f, path, &h, out);
	fclose(f);
	if (st != TP_OK) {
		free(out);
		return st;
	}
	*labels = out;
	*n = (int)h.count;
	return TP_OK;
}

/* Writes the version 1.0 preamble and header for descr and shape text, padded
 * with spaces so that the data starts at a multiple of 64 bytes. */
static tp_status npy_write_header(FILE *f, const char *path, const char *descr, const char *shape)
{
	char dict[256];
	unsigned char preamble[10];
	int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
	size_t total = 10 + (size_t)len + 1;
	size_t padded = (total + 63) / 64 * 64;
	size_t header_len = padded - 10;

	memcpy(preamble, npy_magic, sizeof npy_magic);
	preamble[6] = 1;
	preamble[7] = 0;
	preamble[8] = (unsigned char)(header_len & 0xff);
	preamble[9] = (unsigned char)(header_len >> 8);
	if (fwrite(preamble, 1, sizeof preamble, f) != sizeof preamble || fwrite(dict, 1, (size_t)len, f) != (size_t)len)
		return tp_fail(TP_ERR_IO, "write npy: writing '%s' failed: %s", path, strerror(errno));
	for (size_t i = 10 + (size_t)len; i + 1 < padded; i++)
		if (fputc(' ', f) == EOF)
			return tp_fail(TP_ERR_IO, "write npy: writing '%s' failed: %s", path, strerror(errno));
	if (fputc('\n', f) == EOF)
		return tp_fail(TP_ERR_IO, "write npy: writing '%s' failed: %s", path, strerror(errno));
	return TP_OK;
}

/* Writes count native 4-byte elements (float or int) little-endian. */
static tp_status npy_write_words(FILE *f, const char *path, const unsigned char *elements, size_t count)
{
	unsigned char buf[4 * 4096]; /* (4096 * 4) encoded bytes */
	size_t done = 0;

	while (done < count) {
		size_t chunk = count - done < 4096 ? count - done : 4096;

		for (size_t i = 0; i < chunk; i++) {
			uint32_t w;

			memcpy(&w, elements + 4 * (done + i), sizeof w);
			buf[4 * i] = (unsigned char)(w & 0xff);
			buf[4 * i + 1] = (unsigned char)(w >> 8 & 0xff);
			buf[4 * i + 2] = (unsigned char)(w >> 16 & 0xff);
			buf[4 * i + 3] = (unsigned char)(w >> 24 & 0xff);
		}
		if (fwrite(buf, 4, chunk, f) != chunk)
			return tp_fail(TP_ERR_IO, "write npy: writing '%s' failed: %s", path, strerror(errno));
		done += chunk;
	}
	return TP_OK;
}

_Static_assert(sizeof(float) == 4 && sizeof(int) == 4, "npy_write_* store float and int as 4-byte words");

static tp_status npy_write(const char *path, const char *descr, const char *shape, const void *data, size_t count)
{
	tp_status st = TP_OK;
	FILE *f = npy_open(path, "wb", &st, "write npy");

	if (!f)
		return st;
	st = npy_write_header(f, path, descr, shape);
	if (st == TP_OK)
		st = npy_write_words(f, path, data, count);
	if (fclose(f) != 0 && st == TP_OK)
		st = tp_fail(TP_ERR_IO, "write npy: closing '%s' failed: %s", path, strerror(errno));
	return st;
}

tp_status npy_write_f32(const char *path, const float *data, int rows, int cols)
{
	char shape[64];

	if (rows < 0 || cols < 0)
		return tp_fail(TP_ERR_VALUE, "write npy: '%s': negative shape (%d, %d)", path, rows, cols);
	snprintf(shape, sizeof shape, "(%d, %d)", rows, cols);
	return npy_write(path, "<f4", shape, data, (size_t)rows * (size_t)cols);
}

tp_status npy_write_i32(const char *path, const int *data, int n)
{
	char shape[64];

	if (n < 0)
		return tp_fail(TP_ERR_VALUE, "write npy: '%s': negative length %d", path, n);
	snprintf(shape, sizeof shape, "(%d,)", n);
	return npy_write(path, "<i4", shape, data, (size_t)n);
}
