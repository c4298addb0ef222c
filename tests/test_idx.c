#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "tap.h"

/* Fixture files live in one temporary folder, removed at the end. */
static char tmp_dir[] = "/tmp/tp_test_idx_XXXXXX";
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

static void error_mentions(const char *text, const char *name)
{
	if (!ok(strstr(tp_last_error(), text) != NULL, "%s", name))
		diag("message '%s' lacks '%s'", tp_last_error(), text);
}

/* Builds an IDX file in memory: magic 0x0000 08 ndim, big-endian sizes, then
 * data_bytes bytes of data.  Returns the total length. */
static size_t build_idx(unsigned char *out, int ndim, const uint32_t *sizes, const uint8_t *data, size_t data_bytes)
{
	size_t len = 0;

	out[len++] = 0;
	out[len++] = 0;
	out[len++] = 0x08;
	out[len++] = (unsigned char)ndim;
	for (int i = 0; i < ndim; i++) {
		out[len++] = (unsigned char)(sizes[i] >> 24);
		out[len++] = (unsigned char)(sizes[i] >> 16 & 0xff);
		out[len++] = (unsigned char)(sizes[i] >> 8 & 0xff);
		out[len++] = (unsigned char)(sizes[i] & 0xff);
	}
	memcpy(out + len, data, data_bytes);
	return len + data_bytes;
}

static void write_plain(const char *path, const unsigned char *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(bytes, 1, len, f);
	fclose(f);
}

static void write_gz(const char *path, const unsigned char *bytes, size_t len)
{
	gzFile f = gzopen(path, "wb");

	gzwrite(f, bytes, (unsigned)len);
	gzclose(f);
}

/* Three 2 x 4 images with pixel (i, r, c) = 37 i + 5 r + c + 1. */
static uint8_t image_pixel(int i, int r, int c)
{
	return (uint8_t)(37 * i + 5 * r + c + 1);
}

static size_t build_images(unsigned char *out, size_t data_bytes)
{
	uint32_t sizes[3] = { 3, 2, 4 };
	uint8_t data[3 * 2 * 4];

	for (int i = 0; i < 3; i++)
		for (int r = 0; r < 2; r++)
			for (int c = 0; c < 4; c++)
				data[(i * 2 + r) * 4 + c] = image_pixel(i, r, c);
	return build_idx(out, 3, sizes, data, data_bytes);
}

static void check_images(const char *path, const char *kind)
{
	uint8_t *pixels = NULL;
	int n = 0, rows = 0, cols = 0, same = 1;

	is_int(idx_read_images(path, &pixels, &n, &rows, &cols), TP_OK, kind);
	is_int(n, 3, "image count");
	is_int(rows, 2, "image rows");
	is_int(cols, 4, "image cols");
	for (int i = 0; pixels && i < 3; i++)
		for (int r = 0; r < 2; r++)
			for (int c = 0; c < 4; c++)
				same &= pixels[(i * 2 + r) * 4 + c] == image_pixel(i, r, c);
	ok(pixels && same, "every pixel matches");
	free(pixels);
}

static void test_good_files(void)
{
	unsigned char bytes[256];
	uint32_t count[1] = { 5 };
	uint8_t labels_in[5] = { 9, 0, 3, 3, 7 };
	uint8_t *labels = NULL;
	size_t len = build_images(bytes, 24);
	int n = 0, same = 1;

	write_gz(tmp_path("images.gz"), bytes, len);
	check_images(tmp_paths[tmp_count - 1], "read gzip images succeeds");
	write_plain(tmp_path("images"), bytes, len);
	check_images(tmp_paths[tmp_count - 1], "read plain images succeeds");

	len = build_idx(bytes, 1, count, labels_in, 5);
	write_gz(tmp_path("labels.gz"), bytes, len);
	is_int(idx_read_labels(tmp_paths[tmp_count - 1], &labels, &n), TP_OK, "read gzip labels succeeds");
	is_int(n, 5, "label count");
	for (int i = 0; labels && i < 5; i++)
		same &= labels[i] == labels_in[i];
	ok(labels && same, "every label matches");
	free(labels);
}

static void test_truncated(void)
{
	unsigned char bytes[256];
	uint8_t *pixels = NULL;
	size_t len = build_images(bytes, 20); /* 4 of 24 data bytes missing */
	int n, rows, cols;
	long gz_size;
	FILE *f;
	char *gz_bytes;
	const char *cut;

	write_plain(tmp_path("short"), bytes, len);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "short plain file is rejected");
	error_mentions("truncated", "message says truncated");
	error_mentions("24 data bytes", "message gives the declared size");

	write_gz(tmp_path("short.gz"), bytes, len);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "short gzip content is rejected");

	/* a gzip file cut in its compressed stream */
	len = build_images(bytes, 24);
	write_gz(tmp_path("cut_source.gz"), bytes, len);
	f = fopen(tmp_paths[tmp_count - 1], "rb");
	fseek(f, 0, SEEK_END);
	gz_size = ftell(f);
	rewind(f);
	gz_bytes = malloc((size_t)gz_size);
	ok(fread(gz_bytes, 1, (size_t)gz_size, f) == (size_t)gz_size, "gzip fixture is readable");
	fclose(f);
	cut = tmp_path("cut.gz");
	write_plain(cut, (unsigned char *)gz_bytes, (size_t)gz_size - 12);
	free(gz_bytes);
	is_int(idx_read_images(cut, &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "gzip file cut in its stream is rejected");
	error_mentions("cut.gz", "message names the cut file");

	/* cut inside the sizes */
	write_plain(tmp_path("header_cut"), bytes, 9);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "file cut in its header is rejected");
	ok(pixels == NULL, "no buffer on failure");
}

static void test_wrong_magic(void)
{
	unsigned char bytes[256];
	uint8_t *pixels = NULL, *labels = NULL;
	size_t len = build_images(bytes, 24);
	int n, rows, cols;

	write_plain(tmp_path("images_as_labels"), bytes, len);
	is_int(idx_read_labels(tmp_paths[tmp_count - 1], &labels, &n), TP_ERR_FORMAT, "image file read as labels is rejected");
	error_mentions("not an IDX label file", "message says not a label file");

	bytes[2] = 0x0d; /* float elements */
	write_plain(tmp_path("float_images"), bytes, len);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "float IDX is rejected");

	write_plain(tmp_path("text"), (const unsigned char *)"hello world, not idx", 20);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "text file is rejected");
	error_mentions("text", "message names the file");
}

static void test_extra_and_empty(void)
{
	unsigned char bytes[256];
	uint32_t zero[3] = { 0, 28, 28 };
	uint8_t *pixels = NULL;
	size_t len = build_images(bytes, 24);
	int n, rows, cols;

	bytes[len] = 0xff;
	write_plain(tmp_path("extra"), bytes, len + 1);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "trailing byte is rejected");

	len = build_idx(bytes, 3, zero, bytes, 0);
	write_plain(tmp_path("empty"), bytes, len);
	is_int(idx_read_images(tmp_paths[tmp_count - 1], &pixels, &n, &rows, &cols), TP_ERR_FORMAT, "zero images are rejected");

	is_int(idx_read_images(tmp_path("absent"), &pixels, &n, &rows, &cols), TP_ERR_IO, "missing file is an I/O error");
	error_mentions("absent", "message names the missing file");
}

int main(void)
{
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good_files();
	test_truncated();
	test_wrong_magic();
	test_extra_and_empty();
	tmp_cleanup();
	return done_testing();
}
