#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "tap.h"

/* Fixture files live in one temporary folder, removed at the end. */
static char tmp_dir[] = "/tmp/tp_test_npy_XXXXXX";
static char tmp_paths[64][256];
static int tmp_count;

static const char *tmp_path(const char *name)
{
	char *path = tmp_paths[tmp_count++];

	snprintf(path, sizeof tmp_paths[0], "%s/%s", tmp_dir, name);
	return path;
}

static void tmp_cleanup(void)
{
	for (int i = 0; i < tmp_count; i++)
		remove(tmp_paths[i]);
	rmdir(tmp_dir);
}

/* Writes a .npy file byte by byte, independently of npy_write_*: version
 * major.0, the given dict text padded to a multiple of 64 bytes, then data. */
static void write_raw_npy(const char *path, int major, const char *dict, const void *data, size_t data_bytes)
{
	FILE *f = fopen(path, "wb");
	size_t preamble = major == 1 ? 10 : 12;
	size_t total = (preamble + strlen(dict) + 1 + 63) / 64 * 64;
	size_t header_len = total - preamble;
	unsigned char head[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0 };

	head[8] = (unsigned char)(header_len & 0xff);
	head[9] = (unsigned char)(header_len >> 8 & 0xff);
	head[10] = (unsigned char)(header_len >> 16 & 0xff);
	head[11] = (unsigned char)(header_len >> 24 & 0xff);
	fwrite(head, 1, preamble, f);
	fputs(dict, f);
	for (size_t i = preamble + strlen(dict); i + 1 < total; i++)
		fputc(' ', f);
	fputc('\n', f);
	fwrite(data, 1, data_bytes, f);
	fclose(f);
}

/* Encodes v little-endian into out (size bytes). */
static void put_le(unsigned char *out, uint64_t v, int size)
{
	for (int i = 0; i < size; i++)
		out[i] = (unsigned char)(v >> (8 * i) & 0xff);
}

static void put_f64(unsigned char *out, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof bits);
	put_le(out, bits, 8);
}

static void put_f32(unsigned char *out, float f)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof bits);
	put_le(out, bits, 4);
}

/* Checks that the last error message contains text. */
static void error_mentions(const char *text, const char *name)
{
	if (!ok(strstr(tp_last_error(), text) != NULL, "%s", name))
		diag("message '%s' lacks '%s'", tp_last_error(), text);
}

static void test_f32_round_trip(void)
{
	const char *path = tmp_path("round.npy");
	float x[3 * 4]; /* (3, 4) */
	float *back = NULL;
	int rows = 0, cols = 0, same = 1;
	FILE *f;
	unsigned char head[10];
	long size;

	for (int i = 0; i < 12; i++)
		x[i] = (float)(i * 0.25 - 1.5);
	is_int(npy_write_f32(path, x, 3, 4), TP_OK, "write f32 succeeds");
	is_int(npy_read_matrix(path, &back, &rows, &cols), TP_OK, "read f32 succeeds");
	is_int(rows, 3, "round trip rows");
	is_int(cols, 4, "round trip cols");
	for (int i = 0; back && i < 12; i++)
		same &= back[i] == x[i];
	ok(back && same, "round trip values are identical");
	free(back);

	/* the written file is version 1.0 with data aligned to 64 bytes */
	f = fopen(path, "rb");
	ok(fread(head, 1, 10, f) == 10, "written file has a preamble");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	ok(memcmp(head, "\x93NUMPY", 6) == 0, "written file starts with the magic");
	is_int(head[6], 1, "written file is version 1");
	is_int((10 + head[8] + 256 * head[9]) % 64, 0, "written data starts at a multiple of 64");
	is_int(size, 10 + head[8] + 256 * head[9] + 12 * 4, "written file size is header plus data");
}

static void test_i32_round_trip(void)
{
	const char *path = tmp_path("labels_i32.npy");
	int y[5] = { 0, 3, -2, 7, 2147483647 };
	int *back = NULL;
	int n = 0, same = 1;

	is_int(npy_write_i32(path, y, 5), TP_OK, "write i32 succeeds");
	is_int(npy_read_labels(path, &back, &n), TP_OK, "read i32 labels succeeds");
	is_int(n, 5, "i32 label count");
	for (int i = 0; back && i < 5; i++)
		same &= back[i] == y[i];
	ok(back && same, "i32 labels are identical");
	free(back);
}

static void test_f64_read(void)
{
	const char *path = tmp_path("f64.npy");
	double v[2 * 3] = { 0.1, -2.5, 1e-3, 3.0, 1e10, -0.75 }; /* (2, 3) */
	unsigned char data[6 * 8];
	float *x = NULL;
	int rows = 0, cols = 0;

	for (int i = 0; i < 6; i++)
		put_f64(data + 8 * i, v[i]);
	write_raw_npy(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_OK, "read f64 succeeds");
	is_int(rows, 2, "f64 rows");
	is_int(cols, 3, "f64 cols");
	for (int i = 0; x && i < 6; i++)
		ok(x[i] == (float)v[i], "f64 element %d converts to the nearest float", i);
	free(x);
}

static void test_fortran_order(void)
{
	const char *path = tmp_path("fortran.npy");
	unsigned char data[2 * 3 * 4];
	float *x = NULL;
	int rows = 0, cols = 0, k = 0;

	/* element (r, c) = 10 r + c, stored column after column */
	for (int c = 0; c < 3; c++)
		for (int r = 0; r < 2; r++)
			put_f32(data + 4 * k++, (float)(10 * r + c));
	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_OK, "read Fortran order succeeds");
	is_int(rows, 2, "Fortran order rows");
	is_int(cols, 3, "Fortran order cols");
	for (int r = 0; x && r < 2; r++)
		for (int c = 0; c < 3; c++)
			is_near(x[r * 3 + c], 10 * r + c, 0.0, "Fortran order element in C order");
	free(x);
}

static void test_version2_header(void)
{
	const char *path = tmp_path("v2.npy");
	unsigned char data[3 * 1 * 4];
	float *x = NULL;
	int rows = 0, cols = 0;

	for (int i = 0; i < 3; i++)
		put_f32(data + 4 * i, (float)(i + 1) / 8.0f);
	/* double quotes and no trailing comma are valid Python dicts too */
	write_raw_npy(path, 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3, 1)}", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_OK, "read version 2.0 succeeds");
	is_int(rows, 3, "version 2.0 rows");
	is_int(cols, 1, "version 2.0 cols");
	if (x) {
		is_near(x[0], 0.125, 0.0, "version 2.0 first value");
		is_near(x[2], 0.375, 0.0, "version 2.0 last value");
	}
	free(x);
}

static void test_label_types(void)
{
	const char *path64 = tmp_path("labels_i64.npy");
	const char *path8 = tmp_path("labels_u8.npy");
	const char *path_big = tmp_path("labels_big.npy");
	long long v64[4] = { 0, 9, -3, 5 };
	unsigned char data64[4 * 8], data8[3] = { 1, 200, 0 };
	int *y = NULL;
	int n = 0;

	for (int i = 0; i < 4; i++)
		put_le(data64 + 8 * i, (uint64_t)v64[i], 8);
	write_raw_npy(path64, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4, 1), }", data64, sizeof data64);
	is_int(npy_read_labels(path64, &y, &n), TP_OK, "read (N, 1) int64 labels succeeds");
	is_int(n, 4, "(N, 1) int64 label count");
	for (int i = 0; y && i < 4; i++)
		is_int(y[i], v64[i], "int64 label value");
	free(y);
	y = NULL;

	write_raw_npy(path8, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", data8, sizeof data8);
	is_int(npy_read_labels(path8, &y, &n), TP_OK, "read 1-D uint8 labels succeeds");
	is_int(n, 3, "1-D uint8 label count");
	for (int i = 0; y && i < 3; i++)
		is_int(y[i], data8[i], "uint8 label value");
	free(y);
	y = NULL;

	put_le(data64, (uint64_t)1 << 40, 8);
	write_raw_npy(path_big, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", data64, sizeof data64);
	is_int(npy_read_labels(path_big, &y, &n), TP_ERR_VALUE, "int64 label beyond int is rejected");
	error_mentions("1099511627776", "message names the value beyond int");
}

static void test_truncated(void)
{
	const char *path = tmp_path("truncated.npy");
	const char *tiny = tmp_path("tiny.npy");
	unsigned char data[4 * 4 * 4];
	float *x = NULL;
	int rows, cols;

	memset(data, 0, sizeof data);
	/* the header declares 16 floats, the file has 15 and a half */
	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", data, sizeof data - 2);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_FORMAT, "truncated data is rejected");
	error_mentions("truncated", "message says truncated");
	ok(x == NULL, "no buffer on failure");

	/* a file cut inside the preamble */
	{
		FILE *f = fopen(tiny, "wb");

		fwrite("\x93NUMPY\x01", 1, 7, f);
		fclose(f);
	}
	is_int(npy_read_matrix(tiny, &x, &rows, &cols), TP_ERR_FORMAT, "file cut in the preamble is rejected");
}

static void test_bad_magic(void)
{
	const char *path = tmp_path("magic.npy");
	FILE *f = fopen(path, "wb");
	float *x = NULL;
	int rows, cols;

	fputs("rows,cols\n1,2\n3,4\n", f);
	fclose(f);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_FORMAT, "a CSV file is rejected");
	error_mentions("not a .npy file", "message says not a .npy file");
	error_mentions(path, "message names the file");
}

static void test_unsupported_dtype(void)
{
	const char *path = tmp_path("dtype.npy");
	unsigned char data[2 * 2 * 8];
	float *x = NULL;
	int *y = NULL;
	int rows, cols, n;

	memset(data, 0, sizeof data);
	write_raw_npy(path, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_FORMAT, "complex64 is rejected");
	error_mentions("'<c8'", "message names the complex dtype");

	write_raw_npy(path, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", data, 16);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_FORMAT, "big-endian float32 is rejected");
	error_mentions("big-endian", "message says big-endian");

	write_raw_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", data, 16);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_FORMAT, "integer features are rejected");

	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data, 16);
	is_int(npy_read_labels(path, &y, &n), TP_ERR_FORMAT, "float labels are rejected");

	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1, }", data, 16);
	is_int(npy_read_labels(path, &y, &n), TP_ERR_FORMAT, "unknown header key is rejected");
	ok(x == NULL && y == NULL, "no buffers on failure");
}

static void test_shapes_rejected(void)
{
	const char *path = tmp_path("shape.npy");
	unsigned char data[2 * 2 * 2 * 4];
	float *x = NULL;
	int *y = NULL;
	int rows, cols, n;

	memset(data, 0, sizeof data);
	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_SHAPE, "3-D features are rejected");
	error_mentions("(2, 2, 2)", "message shows the 3-D shape");

	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", data, sizeof data);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_SHAPE, "1-D features are rejected");

	write_raw_npy(path, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 2), }", data, 32);
	is_int(npy_read_labels(path, &y, &n), TP_ERR_SHAPE, "(N, 2) labels are rejected");

	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", data, 0);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_SHAPE, "empty features are rejected");
}

static void test_non_finite(void)
{
	const char *path = tmp_path("nan.npy");
	unsigned char data[2 * 3 * 8];
	float *x = NULL;
	int rows, cols;

	for (int i = 0; i < 6; i++)
		put_f32(data + 4 * i, 1.0f);
	put_f32(data + 4 * 5, NAN); /* (1, 2) */
	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data, 24);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_VALUE, "NaN is rejected");
	error_mentions("row 1 column 2 is NaN", "message names the NaN's row and column");

	/* in Fortran order, (1, 0) comes before (0, 2) in the file but after it in C order */
	for (int i = 0; i < 6; i++)
		put_f32(data + 4 * i, 1.0f);
	put_f32(data + 4 * 1, INFINITY); /* (1, 0) */
	put_f32(data + 4 * 4, -INFINITY); /* (0, 2) */
	write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data, 24);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_VALUE, "infinity is rejected");
	error_mentions("row 0 column 2 is infinite", "message names the first infinity in C order");

	for (int i = 0; i < 6; i++)
		put_f64(data + 8 * i, 0.5);
	put_f64(data + 8 * 3, 1e300); /* (1, 0) */
	write_raw_npy(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data, 48);
	is_int(npy_read_matrix(path, &x, &rows, &cols), TP_ERR_VALUE, "float64 beyond float32 range is rejected");
	error_mentions("row 1 column 0", "message names the out-of-range element");
	ok(x == NULL, "no buffer on failure");
}

static void test_missing_file(void)
{
	float *x = NULL;
	int rows, cols;

	is_int(npy_read_matrix(tmp_path("absent.npy"), &x, &rows, &cols), TP_ERR_IO, "missing file is an I/O error");
	error_mentions("absent.npy", "message names the missing file");
}

int main(void)
{
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_f32_round_trip();
	test_i32_round_trip();
	test_f64_read();
	test_fortran_order();
	test_version2_header();
	test_label_types();
	test_truncated();
	test_bad_magic();
	test_unsupported_dtype();
	test_shapes_rejected();
	test_non_finite();
	test_missing_file();
	tmp_cleanup();
	return done_testing();
}
