#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "clip_ops.h"
#include "clip_vision.h"

struct clip_vision_work {
	int max_batch;
	float *block;      /* every buffer below, one allocation */

	/* T = batch * (G G + 1) tokens, N = batch * G G patches */
	float *patches;    /* (N, 3 p p) im2col of the batch */
	float *x;          /* (T, W) residual stream */
	float *ln;         /* (T, W) LayerNorm output, also the patch embeddings */
	float *qkv;        /* (T, 3W) queries, keys, values */
	float *att;        /* (T, W) attention output before out_proj */
	float *h;          /* (T, F) MLP hidden layer */
	float *scores;     /* (G G + 1, G G + 1) attention of one head of one image */
	float *pooled;     /* (batch, W) post_layernorm of the class tokens */
};

/* Floats of the work block for n images. */
static size_t work_floats(const clip_model *m, int n)
{
	const clip_vision_config *v = &m->vision;
	size_t G = (size_t)(v->image_size / v->patch_size), p = (size_t)v->patch_size;
	size_t W = (size_t)v->width, F = (size_t)v->mlp_width;
	size_t tokens = G * G + 1, T = (size_t)n * tokens, N = (size_t)n * G * G;

	return N * 3 * p * p + T * W * 3 + T * 3 * W + T * F + tokens * tokens + (size_t)n * W;
}

size_t clip_vision_work_bytes(const clip_model *m, int n)
{
	return work_floats(m, n) * sizeof(float);
}

int clip_vision_batch_size(const clip_model *m, size_t max_bytes)
{
	int n = 64;

	while (n > 1 && clip_vision_work_bytes(m, n) > max_bytes)
		n /= 2;
	return n;
}

clip_vision_work *clip_vision_work_create(const clip_model *m, int max_batch)
{
	const clip_vision_config *v = &m->vision;
	size_t G = (size_t)(v->image_size / v->patch_size), p = (size_t)v->patch_size;
	size_t W = (size_t)v->width, F = (size_t)v->mlp_width;
	size_t tokens = G * G + 1, T = (size_t)max_batch * tokens;
	clip_vision_work *w;
	float *b;

	if (!m->has_vision || max_batch < 1)
		return NULL;
	w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->block = malloc(clip_vision_work_bytes(m, max_batch));
	if (!w->block) {
		free(w);
		return NULL;
	}
	w->max_batch = max_batch;
	b = w->block;
	w->patches = b; b += (size_t)max_batch * G * G * 3 * p * p;
	w->x = b;       b += T * W;
	w->ln = b;      b += T * W;
	w->qkv = b;     b += T * 3 * W;
	w->att = b;     b += T * W;
	w->h = b;       b += T * F;
	w->scores = b;  b += tokens * tokens;
	w->pooled = b;
	return w;
}

void clip_vision_work_free(clip_vision_work *w)
{
	if (!w)
		return;
	free(w->block);
	free(w);
}

/* ---- embeddings ---- */

/* Copies the patches of n images pixels (n, 3, S, S) into rows (n G G, 3 p p)
 * of w->patches, each row (channel, y, x) as the convolution's weights. */
static void patches_gather(const clip_model *m, clip_vision_work *w, const float *pixels, int n)
{
	int S = m->vision.image_size, p = m->vision.patch_size, G = S / p;
	size_t row_len = (size_t)3 * p * p;

	for (int i = 0; i < n; i++) {
		const float *img = pixels + (size_t)i * 3 * S * S;

		for (int gy = 0; gy < G; gy++)
			for (int gx = 0; gx < G; gx++) {
				float *row = w->patches + ((size_t)i * G * G + (size_t)gy * G + gx) * row_len;

				for (int c = 0; c < 3; c++)
					for (int y = 0; y < p; y++) {
						const float *src = img + ((size_t)c * S + (size_t)gy * p + y) * S + (size_t)gx * p;

						memcpy(row + ((size_t)c * p + y) * p, src, (size_t)p * sizeof *src);
					}
			}
	}
}

/* Writes w->x (T, W): for each image the class embedding, then its patch
 * embeddings (in w->ln), plus the position embeddings; then pre_layrnorm
 * in place (through w->ln). */
static void tokens_build(const clip_model *m, clip_vision_work *w, int n)
{
	const clip_vision_weights *v = &m->vis;
	int W = m->vision.width, G = m->vision.image_size / m->vision.patch_size;
	int tokens = G * G + 1;

	for (int i = 0; i < n; i++) {
		float *x = w->x + (size_t)i * tokens * W;
		const float *emb = w->ln + (size_t)i * G * G * W;

		for (int j = 0; j < W; j++)
			x[j] = v->class_emb[j] + v->pos_emb[j];
		for (int t = 1; t < tokens; t++)
			for (int j = 0; j < W; j++)
				x[(size_t)t * W + j] = emb[(size_t)(t - 1) * W + j] + v->pos_emb[(size_t)t * W + j];
	}
	clip_layernorm_forward(w->ln, NULL, w->x, n * tokens, W, v->pre_ln_w, v->pre_ln_b, m->vision.ln_eps);
	memcpy(w->x, w->ln, (size_t)n * tokens * W * sizeof *w->x);
}

/* ---- the transformer ---- */

/* Rows of x (n, len) become their softmax. */
static void softmax_rows(float *x, int n, int len)
{
	for (int i = 0; i < n; i++) {
		float *r = x + (size_t)i * len;
		float max = r[0], sum = 0.0f;

		for (int j = 1; j < len; j++)
			if (r[j] > max)
				max = r[j];
		for (int j = 0; j < len; j++) {
			r[j] = expf(r[j] - max);
			sum += r[j];
		}
		for (int j = 0; j < len; j++)
			r[j] /= sum;
	}
}

/* Full self-attention of each image and head: w->att (T, W) from w->qkv
 * (T, 3W), two sgemm calls per image and head. */
static void attention_forward(const clip_model *m, clip_vision_work *w, int n)
{
	int W = m->vision.width, H = m->vision.n_heads, hd = W / H;
	int G = m->vision.image_size / m->vision.patch_size, tokens = G * G + 1;
	float scale = 1.0f / sqrtf((float)hd);

	for (int i = 0; i < n; i++) {
		const float *qkv = w->qkv + (size_t)i * tokens * 3 * W;
		float *out = w->att + (size_t)i * tokens * W;

		for (int h = 0; h < H; h++) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, tokens, hd, scale,
				    qkv + h * hd, 3 * W, qkv + W + h * hd, 3 * W, 0.0f, w->scores, tokens);
			softmax_rows(w->scores, tokens, tokens);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tokens, hd, tokens, 1.0f,
				    w->scores, tokens, qkv + 2 * W + h * hd, 3 * W, 0.0f, out + h * hd, W);
		}
	}
}

/* One transformer block on the n images of w->x, in place. */
static void layer_forward(const clip_model *m, clip_vision_work *w, const clip_layer *L, int n)
{
	int W = m->vision.width, F = m->vision.mlp_width;
	int G = m->vision.image_size / m->vision.patch_size, T = n * (G * G + 1);
	double eps = m->vision.ln_eps;

	/* attention block */
	clip_layernorm_forward(w->ln, NULL, w->x, T, W, L->ln1_w, L->ln1_b, eps);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, 3 * W, W, 1.0f, w->ln, W,
		    L->qkv_w, W, 0.0f, w->qkv, 3 * W);
	clip_add_bias(w->qkv, L->qkv_b, T, 3 * W);
	attention_forward(m, w, n);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W, W, 1.0f, w->att, W,
		    L->out_w, W, 1.0f, w->x, W);
	clip_add_bias(w->x, L->out_b, T, W);

	/* MLP block */
	clip_layernorm_forward(w->ln, NULL, w->x, T, W, L->ln2_w, L->ln2_b, eps);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, F, W, 1.0f, w->ln, W,
		    L->fc1_w, W, 0.0f, w->h, F);
	clip_add_bias(w->h, L->fc1_b, T, F);
	clip_activation_forward(w->h, w->h, (size_t)T * F, m->vision.act);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W, F, 1.0f, w->h, F,
		    L->fc2_w, F, 1.0f, w->x, W);
	clip_add_bias(w->x, L->fc2_b, T, W);
}

tp_status clip_vision_forward(const clip_model *m, clip_vision_work *w, const float *pixels,
			      int n, float *features)
{
	const clip_vision_config *v = &m->vision;
	int W = v->width, p = v->patch_size, G = v->image_size / p, tokens = G * G + 1;

	if (!m->has_vision)
		return tp_fail(TP_ERR_STATE, "image encoder: the model '%s' has no vision_model tensors: load a full CLIP checkpoint",
			       m->dir);
	if (n < 1 || n > w->max_batch)
		return tp_fail(TP_ERR_VALUE, "image encoder: batch of %d images is outside 1..%d", n, w->max_batch);

	/* patch embedding: one sgemm over all patches of the batch */
	patches_gather(m, w, pixels, n);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n * G * G, W, 3 * p * p, 1.0f,
		    w->patches, 3 * p * p, m->vis.patch_w, 3 * p * p, 0.0f, w->ln, W);
	tokens_build(m, w, n);

	for (int l = 0; l < v->n_layers; l++)
		layer_forward(m, w, &m->vis.layers[l], n);

	/* the class token of each image, normalised and projected */
	for (int i = 0; i < n; i++)
		clip_layernorm_forward(w->pooled + (size_t)i * W, NULL, w->x + (size_t)i * tokens * W, 1, W,
				       m->vis.post_ln_w, m->vis.post_ln_b, v->ln_eps);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m->proj_dim, W, 1.0f, w->pooled, W,
		    m->vis.proj, W, 0.0f, features, m->proj_dim);
	return TP_OK;
}

tp_status clip_vision_encode(const clip_model *m, const float *pixels, int n, float *features)
{
	int batch = n < 32 ? n : 32;
	size_t image_floats = (size_t)3 * m->vision.image_size * m->vision.image_size;
	clip_vision_work *w;
	tp_status st = TP_OK;

	if (!m->has_vision)
		return tp_fail(TP_ERR_STATE, "image encoder: the model '%s' has no vision_model tensors: load a full CLIP checkpoint",
			       m->dir);
	if (n < 1)
		return TP_OK;
	w = clip_vision_work_create(m, batch);
	if (!w)
		return tp_fail(TP_ERR_NOMEM, "image encoder: out of memory for %zu MB of activations",
			       clip_vision_work_bytes(m, batch) >> 20);
	for (int first = 0; first < n && st == TP_OK; first += batch) {
		int count = n - first < batch ? n - first : batch;

		st = clip_vision_forward(m, w, pixels + (size_t)first * image_floats, count,
					 features + (size_t)first * m->proj_dim);
	}
	clip_vision_work_free(w);
	return st;
}
