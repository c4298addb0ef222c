#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include "head.h"
#include "rng.h"

typedef struct vector_head {
	float *base;    /* (C, D) fixed class features, or NULL for B = 0 */
} vector_head;

static tp_status vector_weights(head *h, float *w)
{
	const vector_head *v = h->impl;
	size_t count = (size_t)h->n_classes * (size_t)h->dim;

	if (v->base) {
		for (size_t i = 0; i < count; i++)
			w[i] = v->base[i] + h->param[i];
	} else {
		memcpy(w, h->param, count * sizeof *w);
	}
	return TP_OK;
}

static tp_status vector_backward(head *h, const float *dw)
{
	/* dW/dU is the identity */
	for (size_t i = 0; i < h->n_param; i++)
		h->grad[i] += dw[i];
	return TP_OK;
}

static void vector_destroy(head *h)
{
	vector_head *v = h->impl;

	if (v)
		free(v->base);
	free(v);
}

static const head_ops vector_ops = {
	.name = "vector",
	.weights = vector_weights,
	.backward = vector_backward,
	.destroy = vector_destroy,
};

tp_status head_vector_create(int n_classes, int dim, const float *base,
			     double init_std, unsigned long seed, head **out)
{
	size_t count = (size_t)n_classes * (size_t)dim;
	head *h = calloc(1, sizeof *h);
	vector_head *v = calloc(1, sizeof *v);
	rng *gen = rng_create(seed);

	*out = NULL;
	if (h) {
		h->impl = v;
		h->ops = &vector_ops;
		h->param = malloc(count * sizeof *h->param);
		h->grad = calloc(count, sizeof *h->grad);
	}
	if (v && base) {
		v->base = malloc(count * sizeof *v->base);
		if (v->base)
			memcpy(v->base, base, count * sizeof *v->base);
	}
	if (!h || !v || !gen || !h->param || !h->grad || (base && !v->base)) {
		if (h)
			head_free(h);
		else
			free(v);
		rng_free(gen);
		return tp_fail(TP_ERR_NOMEM, "head: out of memory for %d x %d class weights",
			       n_classes, dim);
	}

	h->n_classes = n_classes;
	h->dim = dim;
	h->n_param = count;
	for (size_t i = 0; i < count; i++)
		h->param[i] = (float)rng_gaussian(gen, init_std);
	rng_free(gen);
	*out = h;
	return TP_OK;
}

void head_free(head *h)
{
	if (!h)
		return;
	if (h->ops && h->ops->destroy)
		h->ops->destroy(h);
	free(h->param);
	free(h->grad);
	free(h);
}

tp_status cosine_forward(float *z, const float *x, int n, const float *w,
			 int n_classes, int dim, double scale, cosine_cache *cache)
{
	for (int c = 0; c < n_classes; c++) {
		const float *wc = w + (size_t)c * dim;
		float *uc = cache->w_unit + (size_t)c * dim;
		float norm = cblas_snrm2(dim, wc, 1);

		if (!(norm > 0.0f) || !isfinite(norm))
			return tp_fail(TP_ERR_NUMERIC,
				       "cosine layer: class %d weight has norm %g: lower the learning rate or reset the run",
				       c, (double)norm);
		cache->w_norm[c] = norm;
		for (int j = 0; j < dim; j++)
			uc[j] = wc[j] / norm;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n_classes, dim,
		    (float)scale, x, dim, cache->w_unit, dim, 0.0f, z, n_classes);
	return TP_OK;
}

void cosine_backward(float *dw, const float *dz, const float *x, int n,
		     int n_classes, int dim, double scale,
		     const cosine_cache *cache, float *work)
{
	/* work = dL/dW_unit = s * dz^T x, shape (C, D) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_classes, dim, n,
		    (float)scale, dz, n_classes, x, dim, 0.0f, work, dim);

	/* through the normalisation: dW = (g - u <u, g>) / |W| */
	for (int c = 0; c < n_classes; c++) {
		const float *u = cache->w_unit + (size_t)c * dim;
		const float *g = work + (size_t)c * dim;
		float *d = dw + (size_t)c * dim;
		float proj = cblas_sdot(dim, u, 1, g, 1);
		float inv_norm = 1.0f / cache->w_norm[c];

		for (int j = 0; j < dim; j++)
			d[j] = (g[j] - u[j] * proj) * inv_norm;
	}
}
