/* The CLIP image side against the PIL and PyTorch reference
 * (tests/ref/make_vision_fixtures.py): decoding against PIL's RGB pixels,
 * the bicubic resize against PIL's, the whole preprocessing against
 * CLIPImageProcessor's steps, and the vision transformer against a float64
 * PyTorch forward pass, on five images (not square, greyscale, JPEG, palette,
 * RGBA) and two random models (F32 quick_gelu; F16 and BF16 weights, gelu,
 * a patch grid that leaves pixels unused).  Also the vision loader's errors
 * and the decoder's handling of bad files. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_model.h"
#include "clip_vision.h"
#include "image.h"
#include "npy.h"
#include "tap.h"

#define FIXTURES TP_SRCDIR "/tests/fixtures/clip/vision"

static const char *const image_names[] = { "a.png", "b.png", "c.jpg", "d.png", "e.png" };
#define N_IMAGES 5

/* max |got - want| / max |want| over n values */
static double rel_error(const float *got, const float *want, size_t n)
{
	double diff = 0.0, scale = 0.0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (d > diff || isnan(d))
			diff = isnan(d) ? INFINITY : d;
		if (fabs(want[i]) > scale)
			scale = fabs(want[i]);
	}
	return scale > 0.0 ? diff / scale : diff;
}

/* Counts the bytes of got (n) that differ from want, and the largest difference. */
static int bytes_differ(const unsigned char *got, const float *want, size_t n, int *max_diff)
{
	int count = 0;

	*max_diff = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)got[i] - (int)want[i]);

		count += d != 0;
		if (d > *max_diff)
			*max_diff = d;
	}
	return count;
}

static int read_image(const char *name, image_rgb *im)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/images/%s", FIXTURES, name);
	return image_read(path, im) == TP_OK;
}

static void test_decode(void)
{
	for (int i = 0; i < N_IMAGES; i++) {
		char path[1024], stem[16];
		image_rgb im;
		float *want = NULL;
		int rows, cols, max_diff;

		snprintf(stem, sizeof stem, "%.*s", (int)(strchr(image_names[i], '.') - image_names[i]), image_names[i]);
		snprintf(path, sizeof path, "%s/decoded/%s.npy", FIXTURES, stem);
		if (!ok(read_image(image_names[i], &im), "decode %s", image_names[i])) {
			printf("#   %s\n", tp_last_error());
			continue;
		}
		if (ok(npy_read_matrix(path, &want, &rows, &cols) == TP_OK && rows == im.height && cols == 3 * im.width,
		       "decode %s: size %d x %d as PIL", image_names[i], im.width, im.height))
			is_int(bytes_differ(im.pixels, want, (size_t)rows * cols, &max_diff), 0,
			       "decode: RGB bytes equal PIL's convert(\"RGB\")");
		free(want);
		image_free(&im);
	}
}

static void test_resize(void)
{
	static const struct { const char *image; int w, h; } cases[] = {
		{ "a.png", 17, 11 }, { "a.png", 90, 61 }, { "b.png", 20, 31 }, { "c.jpg", 13, 10 },
		{ "c.jpg", 64, 7 }, { "d.png", 48, 62 }, { "e.png", 40, 17 },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char path[1024];
		image_rgb im, out;
		float *want = NULL;
		int rows, cols, max_diff, differ;

		snprintf(path, sizeof path, "%s/resize/%.1s_%dx%d.npy", FIXTURES, cases[k].image, cases[k].w, cases[k].h);
		if (!read_image(cases[k].image, &im) || npy_read_matrix(path, &want, &rows, &cols) != TP_OK) {
			ok(0, "resize fixture %s read", path);
			continue;
		}
		if (ok(image_resize_bicubic(&im, cases[k].w, cases[k].h, &out) == TP_OK,
		       "resize %s %dx%d -> %dx%d runs", cases[k].image, im.width, im.height, cases[k].w, cases[k].h)) {
			differ = bytes_differ(out.pixels, want, (size_t)rows * cols, &max_diff);
			if (!ok(differ == 0, "resize %s to %dx%d: bytes equal PIL's bicubic", cases[k].image, cases[k].w, cases[k].h))
				printf("#   %d of %d bytes differ, by at most %d\n", differ, rows * cols, max_diff);
			image_free(&out);
		}
		free(want);
		image_free(&im);
	}
}

/* Reads the model's fixture pixels (n, 3 S S) and features (n, P). */
static int read_case(const char *model, float **pixels, float **features, int *dim)
{
	char path[1024];
	int rows, cols, frows;

	snprintf(path, sizeof path, "%s/%s/pixels.npy", FIXTURES, model);
	if (npy_read_matrix(path, pixels, &rows, &cols) != TP_OK || rows != N_IMAGES)
		return 0;
	snprintf(path, sizeof path, "%s/%s/features.npy", FIXTURES, model);
	return npy_read_matrix(path, features, &frows, dim) == TP_OK && frows == N_IMAGES;
}

static void test_model(const char *name, const char *what)
{
	char dir[1024];
	clip_model *m = NULL;
	float *pixels = NULL, *want = NULL, *got = NULL, *mine = NULL;
	int dim = 0, S;
	size_t image_floats;
	double e;

	snprintf(dir, sizeof dir, "%s/%s", FIXTURES, name);
	if (!ok(clip_model_load(dir, &m) == TP_OK, "%s (%s) loads", name, what)) {
		printf("#   %s\n", tp_last_error());
		return;
	}
	ok(m->has_vision && m->vis.layers && m->vision_checksum != 0, "%s: image encoder present", name);
	if (!ok(read_case(name, &pixels, &want, &dim) && dim == m->proj_dim, "%s: fixture read", name))
		goto done;
	S = m->vision.image_size;
	image_floats = (size_t)3 * S * S;
	got = malloc((size_t)N_IMAGES * dim * sizeof *got);
	mine = malloc((size_t)N_IMAGES * image_floats * sizeof *mine);

	/* the transformer alone, on PIL's pixels */
	if (ok(clip_vision_encode(m, pixels, N_IMAGES, got) == TP_OK, "%s: encode runs", name)) {
		e = rel_error(got, want, (size_t)N_IMAGES * dim);
		if (!ok(e < 1e-4, "%s: features of PIL's pixels match PyTorch", name))
			printf("#   relative error %.3g\n", e);
	}

	/* batches of one give the same as one batch of five */
	{
		clip_vision_work *w = clip_vision_work_create(m, 1);
		float one[64];
		int same = w != NULL && dim <= 64;

		for (int i = 0; same && i < N_IMAGES; i++)
			same = clip_vision_forward(m, w, pixels + i * image_floats, 1, one) == TP_OK &&
			       rel_error(one, got + (size_t)i * dim, (size_t)dim) < 1e-6;
		ok(same, "%s: batch of one agrees with the batch of five", name);
		clip_vision_work_free(w);
	}

	/* our preprocessing, then the whole pipeline */
	for (int i = 0; i < N_IMAGES; i++) {
		image_rgb im;

		if (!read_image(image_names[i], &im) ||
		    image_clip_preprocess(&im, S, mine + i * image_floats) != TP_OK) {
			ok(0, "%s: preprocess %s", name, image_names[i]);
			continue;
		}
		e = rel_error(mine + i * image_floats, pixels + i * image_floats, image_floats);
		if (!ok(e < 1e-6, "%s: preprocessed %s equals the PIL pipeline", name, image_names[i]))
			printf("#   relative error %.3g\n", e);
		image_free(&im);
	}
	if (ok(clip_vision_encode(m, mine, N_IMAGES, got) == TP_OK, "%s: encode of our pixels runs", name)) {
		e = rel_error(got, want, (size_t)N_IMAGES * dim);
		if (!ok(e < 1e-4, "%s: features from the files match PIL and PyTorch", name))
			printf("#   relative error %.3g\n", e);
	}

done:
	free(pixels);
	free(want);
	free(got);
	free(mine);
	clip_model_free(m);
}

static void test_text_only(void)
{
	clip_model *m = NULL;
	float pixels[3 * 32 * 32] = { 0 }, f[32];

	if (!ok(clip_model_load(TP_SRCDIR "/tests/fixtures/clip/model_a", &m) == TP_OK, "text-only model loads"))
		return;
	ok(!m->has_vision && m->vision_checksum == 0, "text-only model has no image encoder");
	ok(clip_vision_encode(m, pixels, 1, f) == TP_ERR_STATE && strstr(tp_last_error(), "no vision_model"),
	   "encoding images with a text-only model is rejected");
	clip_model_free(m);
}

int main(void)
{
	test_decode();
	test_resize();
	test_model("vis_a", "F32, quick_gelu");
	test_model("vis_b", "F16 and BF16, gelu, 3 x 3 grid of 12 on 40 pixels");
	test_text_only();
	printf("1..%d\n", tap_count);
	return tap_failed != 0;
}
