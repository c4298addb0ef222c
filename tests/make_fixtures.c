/* Writes the small feature files the command-line tests load:
 *   good.npy (N, D) float32   separable clusters, one per class
 *   labels.txt, labels.npy    the N labels (text and int32 .npy)
 *   classes.txt               C class names
 *   nan.npy                   good.npy with one NaN at row 5, column 2
 *   truncated.npy             good.npy cut in the middle of the data
 *   short_labels.txt          N - 1 labels
 *   bad_labels.txt            a label equal to C at line 8
 * usage: make_fixtures DIR */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define N 400
#define D 8
#define C 4

static char path_buf[4096];

static const char *path_in(const char *dir, const char *name)
{
	snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
	return path_buf;
}

static int write_labels(const char *path, const int *y, int n, int bad_line)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		fprintf(f, "%d\n", i + 1 == bad_line ? C : y[i]);
	return fclose(f);
}

int main(int argc, char **argv)
{
	static float x[N * D];
	static int y[N];
	unsigned state = 99;
	const char *dir;
	FILE *f;
	long size;
	char *bytes;

	if (argc != 2) {
		fprintf(stderr, "usage: make_fixtures DIR\n");
		return 2;
	}
	dir = argv[1];
	for (int i = 0; i < N; i++) {
		y[i] = i % C;
		for (int j = 0; j < D; j++) {
			state = state * 1103515245u + 12345u;
			x[i * D + j] = (float)(0.4 * (((state >> 8) & 0xffff) / 65536.0 - 0.5) + (j == y[i]));
		}
	}
	if (npy_write_f32(path_in(dir, "good.npy"), x, N, D) != TP_OK ||
	    npy_write_i32(path_in(dir, "labels.npy"), y, N) != TP_OK ||
	    write_labels(path_in(dir, "labels.txt"), y, N, 0) != 0 ||
	    write_labels(path_in(dir, "short_labels.txt"), y, N - 1, 0) != 0 ||
	    write_labels(path_in(dir, "bad_labels.txt"), y, N, 8) != 0) {
		fprintf(stderr, "make_fixtures: %s\n", tp_last_error());
		return 1;
	}
	f = fopen(path_in(dir, "classes.txt"), "w");
	if (!f)
		return 1;
	fputs("circle\nsquare\ntriangle\nstar\n", f);
	fclose(f);

	x[5 * D + 2] = NAN;
	if (npy_write_f32(path_in(dir, "nan.npy"), x, N, D) != TP_OK)
		return 1;

	/* truncated.npy: the first half of good.npy */
	f = fopen(path_in(dir, "good.npy"), "rb");
	if (!f)
		return 1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	bytes = malloc((size_t)size);
	if (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size)
		return 1;
	fclose(f);
	f = fopen(path_in(dir, "truncated.npy"), "wb");
	if (!f)
		return 1;
	fwrite(bytes, 1, (size_t)size / 2, f);
	fclose(f);
	free(bytes);
	return 0;
}
