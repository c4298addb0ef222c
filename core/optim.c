#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "optim.h"

tp_status sgd_init(sgd *opt, size_t n, double momentum, double weight_decay)
{
	opt->n = n;
	opt->momentum = momentum;
	opt->weight_decay = weight_decay;
	opt->momentum_buf = calloc(n ? n : 1, sizeof *opt->momentum_buf);
	if (!opt->momentum_buf)
		return tp_fail(TP_ERR_NOMEM, "optimiser: out of memory for %zu parameters", n);
	return TP_OK;
}

void sgd_step(sgd *opt, float *param, float *grad, double lr)
{
	float mom = (float)opt->momentum;
	float wd = (float)opt->weight_decay;
	float rate = (float)lr;

	for (size_t i = 0; i < opt->n; i++) {
		float g = grad[i] + wd * param[i];

		opt->momentum_buf[i] = mom * opt->momentum_buf[i] + g;
		param[i] -= rate * opt->momentum_buf[i];
		grad[i] = 0.0f;
	}
}

void sgd_free(sgd *opt)
{
	free(opt->momentum_buf);
	opt->momentum_buf = NULL;
}

/* Dassl (CoOp's trainer) steps its cosine scheduler once per epoch after the
 * constant warm-up, so epoch e uses the cosine value at e. */
double lr_cosine(double base_lr, int epoch, int n_epochs, int warmup_epochs, double warmup_lr)
{
	if (epoch < warmup_epochs)
		return warmup_lr;
	return base_lr * 0.5 * (1.0 + cos(M_PI * epoch / n_epochs));
}
