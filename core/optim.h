/* SGD with momentum and weight decay, as torch.optim.SGD computes it
 * (dampening 0, no Nesterov):
 *     g = grad + weight_decay * param
 *     buf = momentum * buf + g          (buf starts at zero)
 *     param -= lr * buf
 * and the learning-rate schedule of CoOp: a constant warm-up value for the
 * first warm-up epochs, then cosine annealing over the whole schedule. */
#ifndef TP_OPTIM_H
#define TP_OPTIM_H

#include <stddef.h>

#include "status.h"

typedef struct sgd {
	size_t n;
	float *momentum_buf;   /* (n) */
	double momentum;
	double weight_decay;
} sgd;

tp_status sgd_init(sgd *opt, size_t n, double momentum, double weight_decay);

/* Updates param (n) with grad (n) and zeroes grad. */
void sgd_step(sgd *opt, float *param, float *grad, double lr);

void sgd_free(sgd *opt);

/* Learning rate of epoch (0-based) in a schedule of n_epochs:
 * warmup_lr for epoch < warmup_epochs, else base_lr * (1 + cos(pi * epoch / n_epochs)) / 2. */
double lr_cosine(double base_lr, int epoch, int n_epochs, int warmup_epochs, double warmup_lr);

#endif
