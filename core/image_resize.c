/* PIL's antialiased bicubic resize and CLIP's preprocessing (image.h).
 *
 * The resize reproduces Pillow's two-pass resampling of 8-bit images
 * (Pillow 9.4, libImaging/Resample.c, read for its arithmetic, not copied):
 * for each output pixel x of an axis scaled by s = in / out, the centre is
 * (x + 0.5) s; with f = max(s, 1) the filter support is 2 f input pixels
 * each side, the weights are cubic(a = -0.5) of (i - centre + 0.5) / f over
 * the input pixels i in [round(centre - 2f), round(centre + 2f)), clipped to
 * the image and normalised to sum 1.  Weights are then rounded to integers
 * with 22 fraction bits, each output is the integer sum plus one half,
 * shifted down and clamped to 0..255.  The horizontal pass runs first over
 * only the input rows the vertical pass needs. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define FIXED_BITS 22

const float image_clip_mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
const float image_clip_std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };

/* The weights of one axis: output o reads count[o] inputs from first[o]. */
typedef struct resample_axis {
	int taps;          /* weights stored per output */
	int *first;        /* (out) */
	int *count;        /* (out) */
	int32_t *weight;   /* (out, taps) fixed point */
} resample_axis;

static double cubic(double x)
{
	const double a = -0.5;

	x = fabs(x);
	if (x < 1.0)
		return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
	if (x < 2.0)
		return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
	return 0.0;
}

static void axis_free(resample_axis *ax)
{
	free(ax->first);
	free(ax->count);
	free(ax->weight);
}

static int axis_build(resample_axis *ax, int in, int out)
{
	double scale = (double)in / out;
	double filter_scale = scale < 1.0 ? 1.0 : scale;
	double support = 2.0 * filter_scale;
	double *w;

	ax->taps = (int)ceil(support) * 2 + 1;
	ax->first = malloc((size_t)out * sizeof *ax->first);
	ax->count = malloc((size_t)out * sizeof *ax->count);
	ax->weight = calloc((size_t)out * ax->taps, sizeof *ax->weight);
	w = malloc((size_t)ax->taps * sizeof *w);
	if (!ax->first || !ax->count || !ax->weight || !w) {
		free(w);
		return -1;
	}
	for (int o = 0; o < out; o++) {
		double centre = (o + 0.5) * scale, total = 0.0;
		int lo = (int)(centre - support + 0.5), hi = (int)(centre + support + 0.5);

		if (lo < 0)
			lo = 0;
		if (hi > in)
			hi = in;
		for (int i = lo; i < hi; i++) {
			w[i - lo] = cubic((i - centre + 0.5) / filter_scale);
			total += w[i - lo];
		}
		for (int i = 0; i < hi - lo; i++) {
			double v = total != 0.0 ? w[i] / total : w[i];

			/* round half away from zero, as Pillow's normalize_coeffs_8bpc */
			ax->weight[(size_t)o * ax->taps + i] =
				(int32_t)(v < 0 ? -0.5 + v * (1 << FIXED_BITS) : 0.5 + v * (1 << FIXED_BITS));
		}
		ax->first[o] = lo;
		ax->count[o] = hi - lo;
	}
	free(w);
	return 0;
}

static unsigned char clamp8(int64_t acc)
{
	int64_t v = acc >> FIXED_BITS;

	if (v < 0)
		return 0;
	if (v > 255)
		return 255;
	return (unsigned char)v;
}

/* dst (rows, out_w, 3) from rows row0.. of src (., in_w, 3) along x. */
static void pass_horizontal(unsigned char *dst, const unsigned char *src, int in_w, int row0, int rows,
			    int out_w, const resample_axis *ax)
{
	for (int y = 0; y < rows; y++) {
		const unsigned char *s = src + (size_t)(row0 + y) * in_w * 3;
		unsigned char *d = dst + (size_t)y * out_w * 3;

		for (int o = 0; o < out_w; o++) {
			const int32_t *k = ax->weight + (size_t)o * ax->taps;
			int64_t acc[3] = { 1 << (FIXED_BITS - 1), 1 << (FIXED_BITS - 1), 1 << (FIXED_BITS - 1) };

			for (int i = 0; i < ax->count[o]; i++) {
				const unsigned char *p = s + (size_t)(ax->first[o] + i) * 3;

				acc[0] += (int64_t)p[0] * k[i];
				acc[1] += (int64_t)p[1] * k[i];
				acc[2] += (int64_t)p[2] * k[i];
			}
			for (int c = 0; c < 3; c++)
				d[(size_t)o * 3 + c] = clamp8(acc[c]);
		}
	}
}

/* dst (out_h, w, 3) from src (., w, 3) along y; the axis's first rows are
 * relative to src, less row0. */
static void pass_vertical(unsigned char *dst, const unsigned char *src, int w, int out_h, int row0,
			  const resample_axis *ax)
{
	for (int o = 0; o < out_h; o++) {
		const int32_t *k = ax->weight + (size_t)o * ax->taps;
		unsigned char *d = dst + (size_t)o * w * 3;

		for (int x = 0; x < w * 3; x++) {
			int64_t acc = 1 << (FIXED_BITS - 1);

			for (int i = 0; i < ax->count[o]; i++)
				acc += (int64_t)src[(size_t)(ax->first[o] - row0 + i) * w * 3 + x] * k[i];
			d[x] = clamp8(acc);
		}
	}
}

tp_status image_resize_bicubic(const image_rgb *in, int width, int height, image_rgb *out)
{
	resample_axis ax = { 0 }, ay = { 0 };
	unsigned char *temp = NULL;
	const unsigned char *src = in->pixels;
	int src_w = in->width, row0 = 0, rows;
	tp_status st = TP_OK;

	out->width = out->height = 0;
	out->pixels = NULL;
	if (width < 1 || height < 1 || (double)width * height > (double)IMAGE_MAX_PIXELS)
		return tp_fail(TP_ERR_VALUE, "resize: %d x %d is not a valid image size", width, height);
	if (axis_build(&ax, in->width, width) != 0 || axis_build(&ay, in->height, height) != 0) {
		st = tp_fail(TP_ERR_NOMEM, "resize: out of memory");
		goto done;
	}
	out->pixels = malloc((size_t)width * height * 3);
	if (!out->pixels) {
		st = tp_fail(TP_ERR_NOMEM, "resize: out of memory for %d x %d pixels", width, height);
		goto done;
	}

	/* horizontal pass over the rows the vertical pass reads */
	if (width != in->width) {
		row0 = ay.first[0];
		rows = ay.first[height - 1] + ay.count[height - 1] - row0;
		temp = malloc((size_t)width * rows * 3);
		if (!temp) {
			st = tp_fail(TP_ERR_NOMEM, "resize: out of memory for %d x %d pixels", width, rows);
			goto done;
		}
		pass_horizontal(temp, in->pixels, in->width, row0, rows, width, &ax);
		src = temp;
		src_w = width;
	}
	if (height != in->height)
		pass_vertical(out->pixels, src, src_w, height, row0, &ay);
	else
		memcpy(out->pixels, src, (size_t)width * height * 3);
	out->width = width;
	out->height = height;

done:
	if (st != TP_OK)
		image_free(out);
	free(temp);
	axis_free(&ax);
	axis_free(&ay);
	return st;
}

tp_status image_clip_preprocess(const image_rgb *in, int size, float *out)
{
	int short_side = in->width <= in->height ? in->width : in->height;
	int long_side = in->width <= in->height ? in->height : in->width;
	int long_new = (int)((double)size * long_side / short_side);
	int w = in->width <= in->height ? size : long_new;
	int h = in->width <= in->height ? long_new : size;
	int top = (h - size) / 2, left = (w - size) / 2;
	image_rgb resized;
	tp_status st;

	/* int(size * long / short) in Python truncates the same quotient */
	st = image_resize_bicubic(in, w, h, &resized);
	if (st != TP_OK)
		return st;
	for (int c = 0; c < 3; c++) {
		float *plane = out + (size_t)c * size * size;

		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++) {
				float v = resized.pixels[((size_t)(top + y) * w + left + x) * 3 + c] / 255.0f;

				plane[(size_t)y * size + x] = (v - image_clip_mean[c]) / image_clip_std[c];
			}
	}
	image_free(&resized);
	return TP_OK;
}
