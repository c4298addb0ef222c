/* Selectors: how a head decides which of its training samples are clean.
 *
 * Every selector turns per-sample losses (and, for some, the head's softmax
 * outputs or the truth) into a clean probability p_i in [0, 1]; a sample is
 * clean when p_i >= tau.  Hard selectors output 0 or 1.
 *
 *   gmm         the global two-component GMM on min-max normalised losses;
 *               p is the posterior of the low-mean component
 *   gmm-class   one such GMM per given class, on that class's losses
 *   joapr       the global GMM, read in the manner of JoAPR: clean when the
 *               loss lies below the point where the two weighted Gaussians
 *               cross, or when the posterior reaches a threshold equal to the
 *               estimated noise rate (the noisy component's weight), never
 *               below tau and at most 0.95
 *   ot          in the manner of NLPrompt: an entropic optimal transport plan
 *               between the samples (mass 1/N each) and the classes (mass 1/C
 *               each) with cost -log softmax, solved by Sinkhorn iterations;
 *               clean when the row's largest transported mass is at the
 *               given label
 *   small-loss  in the manner of Co-teaching: the (1 - R) fraction with the
 *               smallest losses is clean, R = forget_rate * min(1, e / E_k)
 *               at epoch e; forget_rate < 0 uses the GMM's noisy weight
 *   oracle      the truth: clean when the given label is the true one */
#ifndef TP_SELECTOR_H
#define TP_SELECTOR_H

#include "gmm.h"
#include "status.h"

typedef enum {
	SELECTOR_GMM,
	SELECTOR_GMM_CLASS,
	SELECTOR_JOAPR,
	SELECTOR_OT,
	SELECTOR_SMALL_LOSS,
	SELECTOR_ORACLE
} selector_kind;

#define SELECTOR_COUNT 6

/* Returns the command-line name of a selector ("gmm", "gmm-class", ...). */
const char *selector_name(selector_kind kind);
/* Parses a selector name; returns 0 and sets *kind, or -1 when unknown. */
int selector_parse(const char *name, selector_kind *kind);

typedef struct selector_settings {
	double tau;              /* clean when p >= tau */
	double forget_rate;      /* small-loss: final forget rate; < 0 = estimate from the GMM */
	int forget_epochs;       /* small-loss: epochs over which the rate ramps up (E_k) */
	double ot_reg;           /* ot: entropic regularisation epsilon > 0 */
	int ot_iters;            /* ot: Sinkhorn iterations */
} selector_settings;

typedef struct selector_input {
	int n;
	int n_classes;
	const double *loss;      /* (n) per-sample losses the selector judges */
	const int *given;        /* (n) given labels */
	const int *truth;        /* (n) true labels, for the oracle */
	const float *prob;       /* (n, C) the head's softmax; needed by ot */
	int epoch;               /* epochs completed, 1 at the end of the first */
} selector_input;

/* Writes the clean probability of every sample into p (n).  g must hold the
 * global GMM fitted on in->loss (gmm_init and gmm_fit); gmm, joapr and
 * small-loss read it.  Fails on a missing input or an invalid setting. */
tp_status selector_apply(selector_kind kind, const selector_settings *s,
			 const selector_input *in, const gmm *g, double *p);

/* Sinkhorn's algorithm for the entropic transport of n samples (mass 1/n)
 * to C classes (mass 1/C) with cost -log prob: writes the row-normalised
 * plan (n, C) into plan.  prob rows must be positive probabilities. */
tp_status selector_sinkhorn(const float *prob, int n, int n_classes, double reg,
			    int iters, double *plan);

/* Returns the loss (in the GMM's normalised units) between the two means
 * where the weighted component densities are equal.  When they do not cross
 * there, returns the midpoint of the means. */
double selector_gmm_crossing(const gmm *g);

#endif
