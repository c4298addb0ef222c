/* Loss gradients and the cosine layer's backward pass against central
 * finite differences computed in double precision. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"
#include "loss.h"
#include "tap.h"

#define C 5

static double urand(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return ((*state >> 8) & 0xffffff) / (double)0x1000000;
}

/* Reference losses in double, written out from their definitions. */
static double ref_logsoftmax(const double *z, int c)
{
	double sum = 0.0;

	for (int j = 0; j < C; j++)
		sum += exp(z[j]);
	return z[c] - log(sum);
}

static double ref_soft_ce(const double *z, const float *t)
{
	double l = 0.0;

	for (int c = 0; c < C; c++)
		l -= t[c] * ref_logsoftmax(z, c);
	return l;
}

static double ref_gce(const double *z, int y, double q)
{
	return (1.0 - pow(exp(ref_logsoftmax(z, y)), q)) / q;
}

static double ref_kl(const double *a, const double *b)
{
	double kl = 0.0;

	for (int c = 0; c < C; c++)
		kl += exp(ref_logsoftmax(a, c)) * (ref_logsoftmax(a, c) - ref_logsoftmax(b, c));
	return kl;
}

static double ref_sym_kl(const double *a, const double *b)
{
	return 0.5 * (ref_kl(a, b) + ref_kl(b, a));
}

static void check_grad(const char *name, const float *analytic, const double *numeric, int n, double tol)
{
	double worst = 0.0;

	for (int i = 0; i < n; i++) {
		double err = fabs(analytic[i] - numeric[i]) / (1e-3 + fabs(numeric[i]));

		if (err > worst)
			worst = err;
	}
	if (!ok(worst < tol, "%s gradient matches finite differences", name))
		diag("worst relative error %.3g (tolerance %.3g)", worst, tol);
}

static void test_row_losses(unsigned *seed)
{
	float z[C], zb[C], dz[C], dzb[C], t[C];
	double zd[C], zbd[C], num[C], numb[C];
	const double h = 1e-5;
	double tsum = 0.0;

	for (int c = 0; c < C; c++) {
		z[c] = (float)(4.0 * urand(seed) - 2.0);
		zb[c] = (float)(4.0 * urand(seed) - 2.0);
		t[c] = (float)urand(seed);
		tsum += t[c];
	}
	for (int c = 0; c < C; c++)
		t[c] = (float)(t[c] / tsum);

	/* soft cross-entropy */
	for (int c = 0; c < C; c++)
		zd[c] = z[c];
	is_near(loss_soft_ce(z, t, C, dz), ref_soft_ce(zd, t), 1e-5, "soft CE value");
	for (int c = 0; c < C; c++) {
		double up, down;

		zd[c] += h; up = ref_soft_ce(zd, t);
		zd[c] -= 2 * h; down = ref_soft_ce(zd, t);
		zd[c] += h;
		num[c] = (up - down) / (2 * h);
	}
	check_grad("soft CE", dz, num, C, 1e-4);

	/* GCE with q = 0.5 and q = 0.7 */
	for (int qi = 0; qi < 2; qi++) {
		double q = qi ? 0.7 : 0.5;
		int y = qi ? 3 : 1;

		is_near(loss_gce(z, y, q, C, dz), ref_gce(zd, y, q), 1e-6, "GCE value");
		for (int c = 0; c < C; c++) {
			double up, down;

			zd[c] += h; up = ref_gce(zd, y, q);
			zd[c] -= 2 * h; down = ref_gce(zd, y, q);
			zd[c] += h;
			num[c] = (up - down) / (2 * h);
		}
		check_grad(qi ? "GCE q=0.7" : "GCE q=0.5", dz, num, C, 1e-4);
	}

	/* hard-label CE is the soft CE of a one-hot target */
	{
		float onehot[C] = { 0 };
		float dz2[C];

		onehot[2] = 1.0f;
		is_near(loss_ce(z, 2, C, dz), loss_soft_ce(z, onehot, C, dz2), 1e-9, "CE equals soft CE of one-hot");
	}

	/* symmetric KL, both arguments */
	for (int c = 0; c < C; c++)
		zbd[c] = zb[c];
	is_near(loss_sym_kl(z, zb, C, dz, dzb), ref_sym_kl(zd, zbd), 1e-6, "symmetric KL value");
	for (int c = 0; c < C; c++) {
		double up, down;

		zd[c] += h; up = ref_sym_kl(zd, zbd);
		zd[c] -= 2 * h; down = ref_sym_kl(zd, zbd);
		zd[c] += h;
		num[c] = (up - down) / (2 * h);
		zbd[c] += h; up = ref_sym_kl(zd, zbd);
		zbd[c] -= 2 * h; down = ref_sym_kl(zd, zbd);
		zbd[c] += h;
		numb[c] = (up - down) / (2 * h);
	}
	check_grad("symmetric KL (head A)", dz, num, C, 1e-4);
	check_grad("symmetric KL (head B)", dzb, numb, C, 1e-4);
}

static void test_targets(void)
{
	float t[C], p[C] = { 0.1f, 0.2f, 0.3f, 0.15f, 0.25f }, s[C];
	double sum = 0.0;

	loss_smooth_target(3, 0.1, C, t);
	is_near(t[3], 0.9 + 0.1 / C, 1e-7, "smoothed target of the label");
	is_near(t[0], 0.1 / C, 1e-7, "smoothed target of another class");
	loss_sharpen(p, 0.5, C, s);
	for (int c = 0; c < C; c++)
		sum += s[c];
	is_near(sum, 1.0, 1e-6, "sharpened distribution sums to 1");
	/* T = 0.5 squares: 0.3^2 / sum of squares */
	is_near(s[2], 0.09 / (0.01 + 0.04 + 0.09 + 0.0225 + 0.0625), 1e-6, "sharpening squares at T = 0.5");
	loss_sharpen(p, 1.0, C, s);
	is_near(s[4], 0.25, 1e-6, "T = 1 keeps the distribution");
}

/* The cosine layer: L(W) = mean_i softCE(s * <x_i, W_c / |W_c|>, t_i). */
#define NB 4
#define D 6

static double ref_batch_loss(const double *w, const float *x, const float *t, double scale)
{
	double total = 0.0;

	for (int i = 0; i < NB; i++) {
		double z[C];

		for (int c = 0; c < C; c++) {
			double dot = 0.0, norm = 0.0;

			for (int j = 0; j < D; j++) {
				dot += x[i * D + j] * w[c * D + j];
				norm += w[c * D + j] * w[c * D + j];
			}
			z[c] = scale * dot / sqrt(norm);
		}
		total += ref_soft_ce(z, t + i * C);
	}
	return total / NB;
}

static void test_cosine_layer(unsigned *seed)
{
	float x[NB * D], w[C * D], t[NB * C], z[NB * C], dz[NB * C], dw[C * D], work[C * D];
	float unit[C * D], norms[C];
	double wd[C * D], num[C * D];
	cosine_cache cache = { unit, norms };
	const double scale = 10.0, h = 1e-6;
	double loss = 0.0;

	for (int i = 0; i < NB; i++) {
		double norm = 0.0, tsum = 0.0;

		for (int j = 0; j < D; j++) {
			x[i * D + j] = (float)(urand(seed) - 0.5);
			norm += x[i * D + j] * x[i * D + j];
		}
		for (int j = 0; j < D; j++)
			x[i * D + j] = (float)(x[i * D + j] / sqrt(norm));
		for (int c = 0; c < C; c++) {
			t[i * C + c] = (float)urand(seed);
			tsum += t[i * C + c];
		}
		for (int c = 0; c < C; c++)
			t[i * C + c] = (float)(t[i * C + c] / tsum);
	}
	for (int k = 0; k < C * D; k++) {
		w[k] = (float)(urand(seed) - 0.5);
		wd[k] = w[k];
	}

	ok(cosine_forward(z, x, NB, w, C, D, scale, &cache) == TP_OK, "cosine forward runs");
	for (int i = 0; i < NB; i++) {
		loss += loss_soft_ce(z + i * C, t + i * C, C, dz + i * C);
		for (int c = 0; c < C; c++)
			dz[i * C + c] /= NB;
	}
	is_near(loss / NB, ref_batch_loss(wd, x, t, scale), 1e-4, "cosine layer loss matches the reference");
	cosine_backward(dw, dz, x, NB, C, D, scale, &cache, work);
	for (int k = 0; k < C * D; k++) {
		double up, down;

		wd[k] += h; up = ref_batch_loss(wd, x, t, scale);
		wd[k] -= 2 * h; down = ref_batch_loss(wd, x, t, scale);
		wd[k] += h;
		num[k] = (up - down) / (2 * h);
	}
	check_grad("cosine layer dL/dW", dw, num, C * D, 2e-3);

	memset(w, 0, D * sizeof *w);
	ok(cosine_forward(z, x, NB, w, C, D, scale, &cache) == TP_ERR_NUMERIC, "zero class weight rejected");
}

int main(void)
{
	unsigned seed = 12345;

	for (int r = 0; r < 3; r++)
		test_row_losses(&seed);
	test_targets();
	test_cosine_layer(&seed);
	return done_testing();
}
