/* Times one CoOp training step of the C implementation; bench_coop.py
 * drives it, one process per configuration so that the peak memory is that
 * configuration's.
 *
 *   bench_coop step DIR CLASSES MODE REPEATS   MODE: full, eot or shared
 *   bench_coop sgemm N                         rate of an N x N x N sgemm
 * Each prints one line of key=value pairs.  A step is what the trainer does
 * per batch: head_weights(), the cosine logits of 32 cached features,
 * cross-entropy, and head_backward() into the 16 context vectors. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>
#include "clip_model.h"
#include "coop.h"
#include "head.h"
#include "loss.h"

#define BATCH 32
#define N_CTX 16

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kb(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

static int bench_sgemm(int n)
{
	float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
	float *c = malloc((size_t)n * n * sizeof *c);
	double start, seconds;
	int reps = 5;

	if (!a || !b || !c)
		return 1;
	for (size_t i = 0; i < (size_t)n * n; i++) {
		a[i] = (float)(i % 7) * 0.1f;
		b[i] = (float)(i % 5) * 0.1f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	start = now();
	for (int r = 0; r < reps; r++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	seconds = (now() - start) / reps;
	printf("sgemm_gflops=%.2f\n", 2.0 * n * (double)n * n / seconds / 1e9);
	free(a);
	free(b);
	free(c);
	return 0;
}

/* Linear-layer FLOPs of one forward pass over the given token count. */
static double layer_flops(const clip_model *m, double tokens)
{
	double W = m->text.width, F = m->text.mlp_width;

	return tokens * m->text.n_layers * 2.0 * (4.0 * W * W + 2.0 * W * F);
}

static int bench_step(const char *dir, int n_classes, const char *mode_name, int repeats)
{
	clip_model *m = NULL;
	coop_config cfg;
	head *h = NULL;
	int **names = malloc((size_t)n_classes * sizeof *names);
	int *lens = malloc((size_t)n_classes * sizeof *lens);
	int tail = 269;  /* "." in CLIP's vocabulary */
	int P, C = n_classes;
	unsigned seed = 5;
	double tokens = 0.0, start, seconds, loss = 0.0;
	float *x, *w, *z, *dz, *dw, *work;
	int y[BATCH];
	cosine_cache cache;

	if (clip_model_load(dir, &m) != TP_OK) {
		fprintf(stderr, "bench_coop: %s\n", tp_last_error());
		return 1;
	}
	P = m->proj_dim;
	coop_config_defaults(&cfg);
	cfg.n_ctx = N_CTX;
	cfg.tail_ids = &tail;
	cfg.n_tail = 1;
	cfg.mode = !strcmp(mode_name, "full") ? COOP_FULL : !strcmp(mode_name, "eot") ? COOP_EOT : COOP_SHARED;

	/* class names of 1 to 3 tokens, as most data sets' names are */
	for (int c = 0; c < C; c++) {
		lens[c] = 1 + c % 3;
		names[c] = malloc(3 * sizeof **names);
		for (int k = 0; k < lens[c]; k++) {
			seed = seed * 1103515245u + 12345u;
			names[c][k] = 1000 + (int)(seed >> 8) % 40000;
		}
		if (cfg.mode == COOP_FULL)
			tokens += 77;
		else if (cfg.mode == COOP_EOT)
			tokens += 3 + N_CTX + lens[c];
		else
			tokens += 2 + lens[c];
	}
	if (cfg.mode == COOP_SHARED)
		tokens += 1 + N_CTX;
	if (coop_create(m, &cfg, C, (const int *const *)names, lens, NULL, 1, &h) != TP_OK) {
		fprintf(stderr, "bench_coop: %s\n", tp_last_error());
		return 1;
	}

	x = malloc((size_t)BATCH * P * sizeof *x);
	w = malloc((size_t)C * P * sizeof *w);
	z = malloc((size_t)BATCH * C * sizeof *z);
	dz = malloc((size_t)BATCH * C * sizeof *dz);
	dw = malloc((size_t)C * P * sizeof *dw);
	work = malloc((size_t)C * P * sizeof *work);
	cache.w_unit = malloc((size_t)C * P * sizeof(float));
	cache.w_norm = malloc((size_t)C * sizeof(float));
	for (int b = 0; b < BATCH; b++) {
		double norm = 0.0;

		y[b] = b % C;
		for (int j = 0; j < P; j++) {
			seed = seed * 1103515245u + 12345u;
			x[b * P + j] = (float)((seed >> 8) % 1000) / 1000.0f - 0.5f;
			norm += (double)x[b * P + j] * x[b * P + j];
		}
		for (int j = 0; j < P; j++)
			x[b * P + j] = (float)(x[b * P + j] / sqrt(norm));
	}

	start = now();
	for (int r = 0; r <= repeats; r++) {
		/* the first step allocates the activations and is not timed */
		if (r == 1)
			start = now();
		/* a different context each step, as after an optimiser step */
		h->param[r % h->n_param] += 1e-3f;
		if (head_weights(h, w) != TP_OK || cosine_forward(z, x, BATCH, w, C, P, 100.0, &cache) != TP_OK) {
			fprintf(stderr, "bench_coop: %s\n", tp_last_error());
			return 1;
		}
		loss = 0.0;
		for (int b = 0; b < BATCH; b++) {
			loss += loss_ce(z + (size_t)b * C, y[b], C, dz + (size_t)b * C) / BATCH;
			for (int c = 0; c < C; c++)
				dz[b * C + c] /= BATCH;
		}
		cosine_backward(dw, dz, x, BATCH, C, P, 100.0, &cache, work);
		memset(h->grad, 0, h->n_param * sizeof *h->grad);
		head_backward(h, dw);
	}
	seconds = (now() - start) / repeats;
	/* forward plus backward to the inputs: twice the forward's FLOPs */
	printf("seconds=%.4f tokens=%.0f gflop=%.2f loss=%.4f peak_mb=%.0f activations_mb=%.0f\n",
	       seconds, tokens, 2.0 * layer_flops(m, tokens) / 1e9, loss,
	       peak_rss_kb() / 1024.0, coop_memory_bytes(h) / 1048576.0);
	head_free(h);
	clip_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "sgemm"))
		return bench_sgemm(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "step"))
		return bench_step(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
	fprintf(stderr, "usage: bench_coop step DIR CLASSES full|eot|shared REPEATS | bench_coop sgemm N\n");
	return 2;
}
