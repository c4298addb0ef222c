#include "config.h"

#include <float.h>
#include <math.h>

#include "loss.h"

/* Writes log softmax(z) into logp (C), in double precision. */
static void log_softmax(const float *z, int n_classes, double *logp)
{
	double zmax = z[0];
	double sum = 0.0;
	double lse;

	for (int c = 1; c < n_classes; c++)
		if (z[c] > zmax)
			zmax = z[c];
	for (int c = 0; c < n_classes; c++)
		sum += exp((double)z[c] - zmax);
	lse = zmax + log(sum);
	for (int c = 0; c < n_classes; c++)
		logp[c] = (double)z[c] - lse;
}

void loss_softmax(const float *z, int n_classes, float *p)
{
	double logp[LOSS_MAX_CLASSES];

	log_softmax(z, n_classes, logp);
	for (int c = 0; c < n_classes; c++)
		p[c] = (float)exp(logp[c]);
}

double loss_soft_ce(const float *z, const float *target, int n_classes, float *dz)
{
	double logp[LOSS_MAX_CLASSES];
	double loss = 0.0;

	log_softmax(z, n_classes, logp);
	for (int c = 0; c < n_classes; c++)
		loss -= target[c] * logp[c];
	if (dz)
		for (int c = 0; c < n_classes; c++)
			dz[c] = (float)(exp(logp[c]) - target[c]);
	return loss;
}

double loss_ce(const float *z, int y, int n_classes, float *dz)
{
	double logp[LOSS_MAX_CLASSES];

	log_softmax(z, n_classes, logp);
	if (dz)
		for (int c = 0; c < n_classes; c++)
			dz[c] = (float)(exp(logp[c]) - (c == y));
	/* rounding can make log p_y a hair above 0; the loss is never negative */
	return logp[y] < 0.0 ? -logp[y] : 0.0;
}

double loss_gce(const float *z, int y, double q, int n_classes, float *dz)
{
	double logp[LOSS_MAX_CLASSES];
	double py_q;

	log_softmax(z, n_classes, logp);
	py_q = exp(q * logp[y]);
	if (dz)
		for (int c = 0; c < n_classes; c++)
			dz[c] = (float)(-py_q * ((c == y) - exp(logp[c])));
	return (1.0 - py_q) / q;
}

double loss_sym_kl(const float *za, const float *zb, int n_classes, float *dza, float *dzb)
{
	double la[LOSS_MAX_CLASSES], lb[LOSS_MAX_CLASSES];
	double kl_ab = 0.0, kl_ba = 0.0;

	log_softmax(za, n_classes, la);
	log_softmax(zb, n_classes, lb);
	for (int c = 0; c < n_classes; c++) {
		kl_ab += exp(la[c]) * (la[c] - lb[c]);
		kl_ba += exp(lb[c]) * (lb[c] - la[c]);
	}

	/* d KL(p||q) / d a = p (r - E_p[r]) with r = log p - log q, and
	 * d KL(p||q) / d b = q - p, where p = softmax(a), q = softmax(b). */
	if (dza && dzb) {
		for (int c = 0; c < n_classes; c++) {
			double pa = exp(la[c]), pb = exp(lb[c]);

			dza[c] = (float)(0.5 * (pa * ((la[c] - lb[c]) - kl_ab) + (pa - pb)));
			dzb[c] = (float)(0.5 * (pb * ((lb[c] - la[c]) - kl_ba) + (pb - pa)));
		}
	}
	return 0.5 * (kl_ab + kl_ba);
}

void loss_smooth_target(int y, double eps, int n_classes, float *target)
{
	for (int c = 0; c < n_classes; c++)
		target[c] = (float)(eps / n_classes + (c == y ? 1.0 - eps : 0.0));
}

void loss_sharpen(const float *p, double temperature, int n_classes, float *out)
{
	double sum = 0.0;

	for (int c = 0; c < n_classes; c++) {
		out[c] = (float)pow((double)p[c], 1.0 / temperature);
		sum += out[c];
	}
	if (!(sum > DBL_MIN)) {
		/* every entry underflowed: fall back to the argmax as a one-hot */
		int best = 0;

		for (int c = 1; c < n_classes; c++)
			if (p[c] > p[best])
				best = c;
		for (int c = 0; c < n_classes; c++)
			out[c] = c == best;
		return;
	}
	for (int c = 0; c < n_classes; c++)
		out[c] = (float)(out[c] / sum);
}
