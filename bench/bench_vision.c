/* Times the C image encoder on random pixels; bench_vision.py drives it.
 *
 *   bench_vision DIR BATCH REPEATS
 * loads the model in DIR, runs one untimed batch of BATCH images, then
 * REPEATS timed batches, and an N x N x N sgemm (N = 1024) in the same
 * process.  Prints one line of key=value pairs: images per second, the
 * GFLOP/s of the forward pass (linear layers, patch embedding and attention
 * products), the sgemm GFLOP/s and the peak resident set in MB.  The thread
 * count is OpenBLAS's (OPENBLAS_NUM_THREADS). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "clip_model.h"
#include "clip_vision.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Floating-point operations of one image's forward pass (multiply-adds
 * counted as two). */
static double image_flops(const clip_model *m)
{
	const clip_vision_config *v = &m->vision;
	double W = v->width, F = v->mlp_width, p = v->patch_size;
	double G = v->image_size / v->patch_size, T = G * G + 1;
	double per_layer = T * (4.0 * W * W + 2.0 * W * F) * 2.0 + 2.0 * T * T * W * 2.0;

	return G * G * 3.0 * p * p * W * 2.0 + v->n_layers * per_layer + W * m->proj_dim * 2.0;
}

static double sgemm_rate(int n)
{
	float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
	float *c = malloc((size_t)n * n * sizeof *c);
	double start, seconds;
	int reps = 5;

	if (!a || !b || !c)
		return 0.0;
	for (size_t i = 0; i < (size_t)n * n; i++) {
		a[i] = (float)(i % 7) * 0.1f;
		b[i] = (float)(i % 5) * 0.1f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	start = now();
	for (int r = 0; r < reps; r++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	seconds = now() - start;
	free(a);
	free(b);
	free(c);
	return 2.0 * n * (double)n * n * reps / seconds / 1e9;
}

int main(int argc, char **argv)
{
	clip_model *m = NULL;
	clip_vision_work *w;
	float *pixels, *features;
	int batch, repeats, S;
	size_t count;
	double start, seconds;
	struct rusage usage;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_vision DIR BATCH REPEATS\n");
		return 2;
	}
	batch = atoi(argv[2]);
	repeats = atoi(argv[3]);
	if (clip_model_load(argv[1], &m) != TP_OK || !m->has_vision || batch < 1 || repeats < 1) {
		fprintf(stderr, "bench_vision: %s\n", m ? "the model has no image encoder" : tp_last_error());
		return 1;
	}
	S = m->vision.image_size;
	count = (size_t)batch * 3 * S * S;
	pixels = malloc(count * sizeof *pixels);
	features = malloc((size_t)batch * m->proj_dim * sizeof *features);
	w = clip_vision_work_create(m, batch);
	if (!pixels || !features || !w) {
		fprintf(stderr, "bench_vision: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < count; i++)
		pixels[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;

	clip_vision_forward(m, w, pixels, batch, features);
	start = now();
	for (int r = 0; r < repeats; r++)
		clip_vision_forward(m, w, pixels, batch, features);
	seconds = now() - start;
	getrusage(RUSAGE_SELF, &usage);
	printf("images_per_s=%.3f gflops=%.2f sgemm_gflops=%.2f peak_mb=%.0f\n",
	       batch * repeats / seconds, image_flops(m) * batch * repeats / seconds / 1e9, sgemm_rate(1024),
	       usage.ru_maxrss / 1024.0);
	clip_vision_work_free(w);
	clip_model_free(m);
	free(pixels);
	free(features);
	return 0;
}
