/* Per-sample losses on one row of logits, with their gradients.
 *
 * Every function takes the logits z (C) of one sample and, when dz is not
 * NULL, writes the gradient of the returned loss with respect to z (the
 * caller scales it by the batch average).  Arithmetic is in double; the
 * softmax subtracts the maximum logit first. */
#ifndef TP_LOSS_H
#define TP_LOSS_H

/* Largest class count the loss functions accept: they keep one row of
 * log-probabilities on the stack (ImageNet has 1000 classes). */
#define LOSS_MAX_CLASSES 4096

/* Writes softmax(z) into p (C). */
void loss_softmax(const float *z, int n_classes, float *p);

/* Soft-label cross-entropy -sum_c t_c log softmax(z)_c.  t must sum to 1,
 * so the gradient is softmax(z) - t. */
double loss_soft_ce(const float *z, const float *target, int n_classes, float *dz);

/* Cross-entropy under the hard label y. */
double loss_ce(const float *z, int y, int n_classes, float *dz);

/* Generalised cross-entropy (1 - p_y^q) / q, q in (0, 1]; its gradient is
 * -p_y^q (onehot(y) - p). */
double loss_gce(const float *z, int y, double q, int n_classes, float *dz);

/* Symmetric KL divergence (KL(pa || pb) + KL(pb || pa)) / 2 between the
 * softmaxes of two heads, with gradients into both logit rows. */
double loss_sym_kl(const float *za, const float *zb, int n_classes, float *dza, float *dzb);

/* Smoothed one-hot target: (1 - eps) onehot(y) + eps / C. */
void loss_smooth_target(int y, double eps, int n_classes, float *target);

/* Sharpened distribution p^(1/T) renormalised, T > 0. */
void loss_sharpen(const float *p, double temperature, int n_classes, float *out);

#endif
