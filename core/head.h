/* Heads: learnable parameters that produce one weight vector per class.
 *
 * A head maps its parameters to class weights W (C, D); the cosine layer
 * turns W and a batch of L2-normalised features into logits
 *     z_ic = s * <x_i, W_c / |W_c|>.
 * The trainer calls head_weights() once per batch, runs the cosine layer
 * forward and backward, and hands dL/dW back to head_backward(), which
 * accumulates into the head's flat gradient array.  The optimiser works on
 * the flat arrays param and grad, whatever the head.
 *
 * The vector head is W = B + U with B fixed (zero-shot class text features,
 * or zero) and U learnable, initialised from N(0, init_std^2).  With B = 0 it
 * is a cosine classifier that stands in for CLIP's text side when no text
 * encoder is loaded. */
#ifndef TP_HEAD_H
#define TP_HEAD_H

#include <stddef.h>

#include "status.h"

typedef struct head head;

typedef struct head_ops {
	const char *name;
	/* Writes the class weights W (C, D). */
	tp_status (*weights)(head *h, float *w);
	/* Accumulates the gradient of dw (C, D) = dL/dW into h->grad. */
	tp_status (*backward)(head *h, const float *dw);
	void (*destroy)(head *h);
} head_ops;

struct head {
	const head_ops *ops;
	int n_classes;
	int dim;
	size_t n_param;
	float *param;   /* (n_param) learnable parameters */
	float *grad;    /* (n_param) their gradient, zeroed by the optimiser step */
	void *impl;     /* head-specific state */
};

/* Creates a vector head.  base (C, D) is copied when not NULL; U is drawn
 * from N(0, init_std^2) with a GSL mt19937 generator seeded with seed. */
tp_status head_vector_create(int n_classes, int dim, const float *base,
			     double init_std, unsigned long seed, head **out);

static inline tp_status head_weights(head *h, float *w) { return h->ops->weights(h, w); }
static inline tp_status head_backward(head *h, const float *dw) { return h->ops->backward(h, dw); }
void head_free(head *h);

/* Cached values of one cosine-layer forward pass, for the backward pass. */
typedef struct cosine_cache {
	float *w_unit;  /* (C, D) rows of W divided by their norms */
	float *w_norm;  /* (C) the norms |W_c| */
} cosine_cache;

/* Computes z (n, C) = s * x (n, D) w_unit^T after normalising w (C, D) into
 * the cache.  x rows must already be unit length.  Fails with TP_ERR_NUMERIC
 * when a class weight has zero norm. */
tp_status cosine_forward(float *z, const float *x, int n, const float *w,
			 int n_classes, int dim, double scale, cosine_cache *cache);

/* Writes dw (C, D) = dL/dW from dz (n, C) = dL/dz, using the cache of the
 * matching forward pass.  work is scratch of C * D floats. */
void cosine_backward(float *dw, const float *dz, const float *x, int n,
		     int n_classes, int dim, double scale,
		     const cosine_cache *cache, float *work);

#endif
