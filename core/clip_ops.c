/* The element-wise kernels shared by the CLIP text and image encoders. */
#include "config.h"

#include <math.h>
#include <stddef.h>

#include "clip_ops.h"

void clip_layernorm_forward(float *y, float *stats, const float *x, int n, int W,
			    const float *w, const float *b, double eps)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * W;
		float *yi = y + (size_t)i * W;
		double mean = 0.0, var = 0.0;
		float rstd;

		for (int j = 0; j < W; j++)
			mean += xi[j];
		mean /= W;
		for (int j = 0; j < W; j++)
			var += ((double)xi[j] - mean) * ((double)xi[j] - mean);
		var /= W;
		rstd = (float)(1.0 / sqrt(var + eps));
		for (int j = 0; j < W; j++)
			yi[j] = ((xi[j] - (float)mean) * rstd) * w[j] + b[j];
		if (stats) {
			stats[2 * i] = (float)mean;
			stats[2 * i + 1] = rstd;
		}
	}
}

void clip_layernorm_backward(float *dx, const float *dy, const float *x, const float *stats,
			     int n, int W, const float *w)
{
	for (int i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * W, *dyi = dy + (size_t)i * W;
		float *dxi = dx + (size_t)i * W;
		float mean = stats[2 * i], rstd = stats[2 * i + 1];
		double g_mean = 0.0, gx_mean = 0.0;

		for (int j = 0; j < W; j++) {
			float g = dyi[j] * w[j];
			float xhat = (xi[j] - mean) * rstd;

			g_mean += g;
			gx_mean += (double)g * xhat;
		}
		g_mean /= W;
		gx_mean /= W;
		for (int j = 0; j < W; j++) {
			float g = dyi[j] * w[j];
			float xhat = (xi[j] - mean) * rstd;

			dxi[j] += rstd * (g - (float)g_mean - xhat * (float)gx_mean);
		}
	}
}

void clip_add_bias(float *y, const float *b, int n, int width)
{
	for (int i = 0; i < n; i++) {
		float *row = y + (size_t)i * width;

		for (int j = 0; j < width; j++)
			row[j] += b[j];
	}
}

void clip_activation_forward(float *y, const float *h, size_t count, clip_activation act)
{
	if (act == CLIP_ACT_QUICK_GELU) {
		for (size_t i = 0; i < count; i++)
			y[i] = h[i] / (1.0f + expf(-1.702f * h[i]));
	} else {
		for (size_t i = 0; i < count; i++)
			y[i] = 0.5f * h[i] * (1.0f + erff(h[i] * (float)M_SQRT1_2));
	}
}

void clip_activation_backward(float *d, const float *h, size_t count, clip_activation act)
{
	if (act == CLIP_ACT_QUICK_GELU) {
		for (size_t i = 0; i < count; i++) {
			float s = 1.0f / (1.0f + expf(-1.702f * h[i]));

			d[i] *= s + 1.702f * h[i] * s * (1.0f - s);
		}
	} else {
		const float inv_sqrt_2pi = 0.3989422804014327f;

		for (size_t i = 0; i < count; i++) {
			float cdf = 0.5f * (1.0f + erff(h[i] * (float)M_SQRT1_2));

			d[i] *= cdf + h[i] * inv_sqrt_2pi * expf(-0.5f * h[i] * h[i]);
		}
	}
}
