/* The clean/noisy split: a two-component 1-D Gaussian mixture on per-sample
 * losses, fitted by EM one iteration at a time.
 *
 * States and the functions that move between them:
 *   empty       -- gmm_init() -->      initialised (iter 0)
 *   initialised -- gmm_step() -->      iter 1, 2, ... (converged when the mean
 *                                       log-likelihood moved by less than tol)
 *   any         -- gmm_fit() -->       steps until converged or iter == max_iter
 *   any         -- gmm_init() -->      initialised again on new losses
 *
 * gmm_init() min-max normalises the raw losses to [0, 1] and initialises with
 * the optimal 1-D 2-means split of the sorted values, the parameters taken
 * from that hard assignment.  When every loss is equal there is nothing to
 * split: the model is marked degenerate, every sample is clean (probability
 * 1) and stepping does nothing.
 *
 * After every call the parameters, the weights and `loglik` describe the same
 * model: loglik is the mean log-likelihood of the data under the current
 * parameters.  The clean component is the one with the smaller mean. */
#ifndef TP_GMM_H
#define TP_GMM_H

#include "status.h"

#define GMM_DEFAULT_REG_COVAR 5e-4
#define GMM_DEFAULT_MAX_ITER 10
#define GMM_DEFAULT_TOL 1e-2

typedef struct gmm {
	int n;
	double *loss;        /* (n) raw losses as given to gmm_init, owned */
	double *x;           /* (n) min-max normalised losses, owned */
	double loss_min, loss_max;
	double mean[2];      /* component 0 has the smaller mean after init */
	double var[2];       /* variances, each at least reg_covar */
	double weight[2];    /* mixing weights, summing to 1 */
	double loglik;       /* mean log-likelihood per sample */
	double prev_loglik;  /* before the last step; NAN after init */
	int iter;            /* EM iterations since init */
	int converged;       /* |loglik - prev_loglik| < tol after a step */
	int degenerate;      /* all losses equal: everything clean */
	double reg_covar;    /* variance floor */
	double tol;          /* convergence threshold on the mean log-likelihood */
	int max_iter;        /* gmm_fit stops after this many iterations */
} gmm;

/* Sets the default settings and an empty state; g owns nothing yet. */
void gmm_defaults(gmm *g);

/* Copies loss (n >= 1, all finite) into g, normalises it and initialises the
 * mixture.  Keeps reg_covar, tol and max_iter.  Fails with TP_ERR_VALUE on a
 * NaN or infinite loss (naming its index) or n < 1. */
tp_status gmm_init(gmm *g, const double *loss, int n);

/* One EM iteration: E-step with the current parameters, M-step, then the
 * log-likelihood of the new parameters.  TP_ERR_STATE before gmm_init. */
tp_status gmm_step(gmm *g);

/* Steps until converged or iter reaches max_iter.  A model that has already
 * converged does not step again. */
tp_status gmm_fit(gmm *g);

/* Index (0 or 1) of the component with the smaller mean. */
int gmm_clean_component(const gmm *g);

/* Writes the posterior probability of the clean component for every sample
 * into p (n); 1 for every sample when degenerate. */
void gmm_clean_prob(const gmm *g, double *p);

/* Releases the loss arrays and returns g to the empty state, settings kept. */
void gmm_clear(gmm *g);

#endif
