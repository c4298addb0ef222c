/* Kernels shared by the CLIP text and image transformers: LayerNorm, the
 * MLP's activation and the bias of a linear layer, each with its backward
 * pass where the text encoder needs one.  The linear layers themselves are
 * cblas_sgemm calls in the encoders. */
#ifndef TP_CLIP_OPS_H
#define TP_CLIP_OPS_H

#include <stddef.h>

#include "clip_model.h"

/* y (n, W) = LayerNorm(x (n, W)) * w + b, with variance eps added.  stats
 * (n, 2) gets each row's mean and 1/std for the backward pass; NULL skips
 * them.  y may not alias x. */
void clip_layernorm_forward(float *y, float *stats, const float *x, int n, int W,
			    const float *w, const float *b, double eps);

/* dx (n, W) += dL/dx of the LayerNorm given dy (n, W), its input x and the
 * stats of its forward pass. */
void clip_layernorm_backward(float *dx, const float *dy, const float *x, const float *stats,
			     int n, int W, const float *w);

/* Adds b (width) to every row of y (n, width). */
void clip_add_bias(float *y, const float *b, int n, int width);

/* y = act(h) for count values; y may equal h. */
void clip_activation_forward(float *y, const float *h, size_t count, clip_activation act);

/* d (count) *= act'(h). */
void clip_activation_backward(float *d, const float *h, size_t count, clip_activation act);

#endif
