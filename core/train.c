#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loss.h"
#include "rng.h"
#include "selector.h"
#include "train.h"

/* Rows per chunk of the evaluation passes over the training and test sets. */
#define EVAL_CHUNK 4096

static const char *const method_names[] = { "ce", "gce", "ls", "twin", "single" };

const char *train_method_name(train_method m)
{
	if (m < METHOD_CE || m > METHOD_SINGLE)
		return "unknown";
	return method_names[m];
}

int train_method_parse(const char *name, train_method *m)
{
	for (int k = METHOD_CE; k <= METHOD_SINGLE; k++) {
		if (strcmp(name, method_names[k]) == 0) {
			*m = (train_method)k;
			return 0;
		}
	}
	return -1;
}

/* Defaults: the optimiser and schedule are CoOp's (SGD, lr 0.002, momentum
 * 0.9, weight decay 5e-4, batch 32, one warm-up epoch at 1e-5, cosine);
 * s = 100 is CLIP's logit scale; smoothing 0.1, T = 0.5, tau = 0.5 and the
 * GMM settings are the method's own.  The twin warm-up of 2 epochs is one
 * epoch of real learning after the near-zero learning rate of the schedule's
 * warm-up epoch. */
void train_config_defaults(train_config *c)
{
	memset(c, 0, sizeof *c);
	c->method = METHOD_CE;
	c->epochs = 20;
	c->batch_size = 32;
	c->lr = 0.002;
	c->momentum = 0.9;
	c->weight_decay = 5e-4;
	c->lr_warmup_epochs = 1;
	c->lr_warmup_value = 1e-5;
	c->scale = 100.0;
	c->init_std = 0.02;
	c->seed = 1;
	c->gce_q = 0.5;
	c->smoothing = 0.1;
	c->warmup_epochs = 2;
	c->tau = 0.5;
	c->temperature = 0.5;
	c->codivide = 1;
	c->drop_noisy = 0;
	c->kl_weight = 0.0;
	c->gmm_reg_covar = GMM_DEFAULT_REG_COVAR;
	c->gmm_tol = GMM_DEFAULT_TOL;
	c->gmm_max_iter = GMM_DEFAULT_MAX_ITER;
	c->selector = SELECTOR_GMM;
	c->loss_avg_epochs = 1;
	c->forget_rate = -1.0;
	c->forget_epochs = 5;
	c->ot_reg = 1.0;
	c->ot_iters = 50;
}

struct trainer {
	const dataset *data;
	train_config cfg;
	int n_heads;
	int *y_given;            /* (n_train) */
	head *heads[2];
	sgd opt[2];
	rng *order_rng;          /* batch order */
	gmm gmms[2];
	double *p_clean[2];      /* (n_train) split each head's partner reads; valid when has_split */
	int has_split[2];
	double *loss_hist[2];    /* (TRAIN_MAX_LOSS_AVG, n_train) ring of past epochs' losses */
	int hist_count[2];       /* filled rows of the ring */
	int hist_next[2];        /* row the next epoch writes */
	float *train_prob;       /* (n_train, C) softmax of one head, for the ot selector; lazily allocated */

	int epoch;               /* completed epochs */
	long step;               /* SGD steps taken, over all epochs */

	/* the epoch in progress */
	int in_epoch;
	int batch_pos;           /* next sample position in order */
	int *order;              /* (n_train) this epoch's permutation */
	int epoch_warmup;
	double epoch_lr;
	double loss_sum;
	long loss_count;
	long target_hits;
	long target_count;
	int clean_used[2];
	double epoch_seconds;    /* time spent in this epoch before an interruption */

	/* buffers of one batch */
	float *xb;               /* (B, D) */
	float *w[2];             /* (C, D) class weights of each head */
	float *dw;               /* (C, D) */
	float *work;             /* (C, D) */
	cosine_cache cache[2];   /* w_unit (C, D), w_norm (C) */
	float *z[2];             /* (B, C) logits */
	float *q[2];             /* (B, C) softmax */
	float *dz[2];            /* (B, C) */
	float *target;           /* (C) */
	float *mix;              /* (C) */
	float *kl_grad;          /* (2, C) gradients of the agreement term */
	float *zeval;            /* (EVAL_CHUNK, C) */

	epoch_report *history;
	int n_history;
	int cap_history;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Checks every configuration value; the message names the setting. */
static tp_status config_check(const train_config *c)
{
	if (c->epochs < 1)
		return tp_fail(TP_ERR_VALUE, "epochs is %d: set it to 1 or more", c->epochs);
	if (c->batch_size < 1)
		return tp_fail(TP_ERR_VALUE, "batch is %d: set it to 1 or more", c->batch_size);
	if (!(c->lr > 0.0) || !isfinite(c->lr))
		return tp_fail(TP_ERR_VALUE, "lr is %g: set a positive learning rate", c->lr);
	if (!(c->momentum >= 0.0 && c->momentum < 1.0))
		return tp_fail(TP_ERR_VALUE, "momentum is %g: set a value in [0, 1)", c->momentum);
	if (!(c->weight_decay >= 0.0))
		return tp_fail(TP_ERR_VALUE, "weight_decay is %g: set 0 or more", c->weight_decay);
	if (!(c->scale > 0.0) || !isfinite(c->scale))
		return tp_fail(TP_ERR_VALUE, "scale is %g: set a positive logit scale such as 100", c->scale);
	if (!(c->gce_q > 0.0 && c->gce_q <= 1.0))
		return tp_fail(TP_ERR_VALUE, "gce_q is %g: set a value in (0, 1]", c->gce_q);
	if (!(c->smoothing >= 0.0 && c->smoothing < 1.0))
		return tp_fail(TP_ERR_VALUE, "smoothing is %g: set a value in [0, 1)", c->smoothing);
	if (!(c->temperature > 0.0))
		return tp_fail(TP_ERR_VALUE, "temperature is %g: set a positive value such as 0.5", c->temperature);
	if (!(c->tau >= 0.0 && c->tau <= 1.0))
		return tp_fail(TP_ERR_VALUE, "tau is %g: set a probability in [0, 1]", c->tau);
	if (!(c->kl_weight >= 0.0))
		return tp_fail(TP_ERR_VALUE, "kl_weight is %g: set 0 (off) or more", c->kl_weight);
	if (c->loss_avg_epochs < 1 || c->loss_avg_epochs > TRAIN_MAX_LOSS_AVG)
		return tp_fail(TP_ERR_VALUE, "loss_avg_epochs is %d: set 1 to %d", c->loss_avg_epochs,
			       TRAIN_MAX_LOSS_AVG);
	if (!(c->ot_reg > 0.0))
		return tp_fail(TP_ERR_VALUE, "ot_reg is %g: set a positive value such as 1", c->ot_reg);
	if (!(c->forget_rate < 1.0))
		return tp_fail(TP_ERR_VALUE, "forget_rate is %g: set a value below 1, or -1 to estimate it",
			       c->forget_rate);
	return TP_OK;
}

train_config *train_config_of(trainer *t) { return &t->cfg; }
int train_epochs_done(const trainer *t) { return t->epoch; }
int train_in_epoch(const trainer *t) { return t->in_epoch; }
int train_n_heads(const trainer *t) { return t->n_heads; }
const int *train_given_labels(const trainer *t) { return t->y_given; }

const epoch_report *train_history(const trainer *t, int *n)
{
	*n = t->n_history;
	return t->history;
}

gmm *train_gmm(trainer *t, int k)
{
	return &t->gmms[k];
}

void train_free(trainer *t)
{
	if (!t)
		return;
	for (int k = 0; k < 2; k++) {
		head_free(t->heads[k]);
		sgd_free(&t->opt[k]);
		gmm_clear(&t->gmms[k]);
		free(t->p_clean[k]);
		free(t->loss_hist[k]);
		free(t->w[k]);
		free(t->cache[k].w_unit);
		free(t->cache[k].w_norm);
		free(t->z[k]);
		free(t->q[k]);
		free(t->dz[k]);
	}
	rng_free(t->order_rng);
	free(t->y_given);
	free(t->order);
	free(t->xb);
	free(t->dw);
	free(t->work);
	free(t->target);
	free(t->mix);
	free(t->kl_grad);
	free(t->train_prob);
	free(t->zeval);
	free(t->history);
	free(t);
}

static tp_status alloc_buffers(trainer *t)
{
	const dataset *d = t->data;
	size_t cd = (size_t)d->n_classes * (size_t)d->dim;
	size_t bc = (size_t)t->cfg.batch_size * (size_t)d->n_classes;
	int ok = 1;

	t->y_given = malloc((size_t)d->n_train * sizeof *t->y_given);
	t->order = malloc((size_t)d->n_train * sizeof *t->order);
	t->xb = malloc((size_t)t->cfg.batch_size * (size_t)d->dim * sizeof *t->xb);
	t->dw = malloc(cd * sizeof *t->dw);
	t->work = malloc(cd * sizeof *t->work);
	t->target = malloc((size_t)d->n_classes * sizeof *t->target);
	t->mix = malloc((size_t)d->n_classes * sizeof *t->mix);
	t->kl_grad = malloc(2 * (size_t)d->n_classes * sizeof *t->kl_grad);
	t->zeval = malloc((size_t)EVAL_CHUNK * (size_t)d->n_classes * sizeof *t->zeval);
	ok = t->y_given && t->order && t->xb && t->dw && t->work && t->target && t->mix && t->kl_grad && t->zeval;
	for (int k = 0; k < 2 && ok; k++) {
		t->w[k] = malloc(cd * sizeof *t->w[k]);
		t->cache[k].w_unit = malloc(cd * sizeof *t->cache[k].w_unit);
		t->cache[k].w_norm = malloc((size_t)d->n_classes * sizeof *t->cache[k].w_norm);
		t->z[k] = malloc(bc * sizeof *t->z[k]);
		t->q[k] = malloc(bc * sizeof *t->q[k]);
		t->dz[k] = malloc(bc * sizeof *t->dz[k]);
		t->p_clean[k] = malloc((size_t)d->n_train * sizeof *t->p_clean[k]);
		t->loss_hist[k] = malloc((size_t)TRAIN_MAX_LOSS_AVG * (size_t)d->n_train * sizeof *t->loss_hist[k]);
		ok = t->loss_hist[k] && t->w[k] && t->cache[k].w_unit && t->cache[k].w_norm && t->z[k] && t->q[k] &&
		     t->dz[k] && t->p_clean[k];
	}
	if (!ok)
		return tp_fail(TP_ERR_NOMEM, "train: out of memory for the buffers of %d samples", d->n_train);
	return TP_OK;
}

tp_status train_create(const dataset *data, const int *y_given,
		       const train_config *config, trainer **out)
{
	trainer *t;
	tp_status st;

	*out = NULL;
	st = config_check(config);
	if (st != TP_OK)
		return st;
	if (data->n_train < 1)
		return tp_fail(TP_ERR_STATE, "train: the training set is empty: load a data set with samples");
	if (data->n_classes > LOSS_MAX_CLASSES)
		return tp_fail(TP_ERR_VALUE, "train: %d classes exceed the supported %d",
			       data->n_classes, LOSS_MAX_CLASSES);
	for (int i = 0; i < data->n_train; i++) {
		if (y_given[i] < 0 || y_given[i] >= data->n_classes)
			return tp_fail(TP_ERR_VALUE, "train: given label %d of sample %d is outside 0..%d",
				       y_given[i], i, data->n_classes - 1);
	}

	t = calloc(1, sizeof *t);
	if (!t)
		return tp_fail(TP_ERR_NOMEM, "train: out of memory");
	t->data = data;
	t->cfg = *config;
	t->n_heads = config->method == METHOD_TWIN ? 2 : 1;
	st = alloc_buffers(t);
	if (st != TP_OK) {
		train_free(t);
		return st;
	}
	memcpy(t->y_given, y_given, (size_t)data->n_train * sizeof *y_given);

	/* Head A starts from the seed and head B from a seed derived from it.
	 * The batch order has its own generator, so every method sees the same
	 * batches. */
	t->order_rng = rng_create(config->seed);
	if (!t->order_rng) {
		train_free(t);
		return tp_fail(TP_ERR_NOMEM, "train: out of memory");
	}
	for (int k = 0; k < 2; k++) {
		gmm_defaults(&t->gmms[k]);
		if (k >= t->n_heads)
			continue;
		unsigned long head_seed = config->seed + (unsigned long)k * 7919;

		if (config->create_head)
			st = config->create_head(config->head_user, data, k, head_seed, &t->heads[k]);
		else
			st = head_vector_create(data->n_classes, data->dim, data->text_features,
						config->init_std, head_seed, &t->heads[k]);
		if (st == TP_OK)
			st = sgd_init(&t->opt[k], t->heads[k]->n_param, config->momentum, config->weight_decay);
		if (st != TP_OK) {
			train_free(t);
			return st;
		}
	}
	*out = t;
	return TP_OK;
}

/* Writes logits (n, C) of head k for the rows x (n, D); n <= EVAL_CHUNK or
 * the batch size, matching the buffer z. */
static tp_status head_logits(trainer *t, int k, const float *x, int n, float *z)
{
	tp_status st = head_weights(t->heads[k], t->w[k]);

	if (st != TP_OK)
		return st;
	return cosine_forward(z, x, n, t->w[k], t->data->n_classes, t->data->dim,
			      t->cfg.scale, &t->cache[k]);
}

/* Per-sample cross-entropy of head k under the given labels on the training
 * set; also its softmax (n_train, C) into prob when prob is not NULL. */
static tp_status train_losses(trainer *t, int k, double *loss, float *prob)
{
	const dataset *d = t->data;
	int C = d->n_classes;

	for (int start = 0; start < d->n_train; start += EVAL_CHUNK) {
		int n = d->n_train - start < EVAL_CHUNK ? d->n_train - start : EVAL_CHUNK;
		tp_status st = head_logits(t, k, d->x_train + (size_t)start * d->dim, n, t->zeval);

		if (st != TP_OK)
			return st;
		for (int i = 0; i < n; i++) {
			const float *zi = t->zeval + (size_t)i * C;

			loss[start + i] = loss_ce(zi, t->y_given[start + i], C, NULL);
			if (prob)
				loss_softmax(zi, C, prob + (size_t)(start + i) * C);
		}
	}
	return TP_OK;
}

tp_status train_gmm_init(trainer *t, int k)
{
	double *loss;
	gmm *g = &t->gmms[k];
	tp_status st;

	if (k >= t->n_heads)
		return tp_fail(TP_ERR_STATE, "gmm: head B exists only with method twin: use head A or 'method twin'");
	loss = malloc((size_t)t->data->n_train * sizeof *loss);
	if (!loss)
		return tp_fail(TP_ERR_NOMEM, "gmm: out of memory for %d losses", t->data->n_train);
	st = train_losses(t, k, loss, NULL);
	if (st == TP_OK) {
		g->reg_covar = t->cfg.gmm_reg_covar;
		g->tol = t->cfg.gmm_tol;
		g->max_iter = t->cfg.gmm_max_iter;
		st = gmm_init(g, loss, t->data->n_train);
	}
	free(loss);
	return st;
}

/* Re-reads the clean probabilities of head k from its GMM, so that EM steps
 * taken by hand between epochs count.  Other selectors keep the split they
 * computed at the end of the last epoch. */
static void refresh_split(trainer *t, int k)
{
	gmm *g = &t->gmms[k];

	if (t->cfg.selector != SELECTOR_GMM)
		return;
	if (g->n != t->data->n_train) {
		t->has_split[k] = 0;
		return;
	}
	gmm_clean_prob(g, t->p_clean[k]);
	t->has_split[k] = 1;
}

static void fill_split_report(trainer *t, int k, split_report *r)
{
	const gmm *g = &t->gmms[k];
	int clean = gmm_clean_component(g);

	memset(r, 0, sizeof *r);
	if (!t->has_split[k])
		return;
	r->valid = 1;
	r->mean[0] = g->mean[clean];
	r->mean[1] = g->mean[1 - clean];
	r->var[0] = g->var[clean];
	r->var[1] = g->var[1 - clean];
	r->weight[0] = g->weight[clean];
	r->weight[1] = g->weight[1 - clean];
	r->loglik = g->loglik;
	r->iterations = g->iter;
	r->degenerate = g->degenerate;
	metrics_split_quality(t->p_clean[k], g->loss, t->y_given, t->data->y_train,
			      t->data->n_train, t->cfg.tau, &r->quality);
	for (int i = 0; i < t->data->n_train; i++)
		r->n_pred_clean += t->p_clean[k][i] >= t->cfg.tau;
}

/* Test accuracy of each head and of the ensemble (mean of softmaxes). */
static tp_status test_accuracy(trainer *t, double acc[3])
{
	const dataset *d = t->data;
	int C = d->n_classes;
	long hits[3] = { 0, 0, 0 };
	float *prob = malloc((size_t)EVAL_CHUNK * (size_t)C * sizeof *prob);

	if (!prob)
		return tp_fail(TP_ERR_NOMEM, "eval: out of memory");
	for (int start = 0; start < d->n_test; start += EVAL_CHUNK) {
		int n = d->n_test - start < EVAL_CHUNK ? d->n_test - start : EVAL_CHUNK;

		memset(prob, 0, (size_t)n * (size_t)C * sizeof *prob);
		for (int k = 0; k < t->n_heads; k++) {
			tp_status st = head_logits(t, k, d->x_test + (size_t)start * d->dim, n, t->zeval);

			if (st != TP_OK) {
				free(prob);
				return st;
			}
			for (int i = 0; i < n; i++) {
				float *zi = t->zeval + (size_t)i * C;
				float *pi = prob + (size_t)i * C;
				int best = 0;

				for (int c = 1; c < C; c++)
					if (zi[c] > zi[best])
						best = c;
				hits[k] += best == d->y_test[start + i];
				loss_softmax(zi, C, t->mix);
				for (int c = 0; c < C; c++)
					pi[c] += t->mix[c] / (float)t->n_heads;
			}
		}
		for (int i = 0; i < n && t->n_heads == 2; i++) {
			const float *pi = prob + (size_t)i * C;
			int best = 0;

			for (int c = 1; c < C; c++)
				if (pi[c] > pi[best])
					best = c;
			hits[2] += best == d->y_test[start + i];
		}
	}
	free(prob);
	for (int k = 0; k < 3; k++)
		acc[k] = d->n_test > 0 ? (double)hits[k] / d->n_test : NAN;
	if (t->n_heads == 1)
		acc[1] = acc[2] = NAN;
	return TP_OK;
}

tp_status train_evaluate(trainer *t, eval_report *r)
{
	const dataset *d = t->data;
	int C = d->n_classes;
	long hit_given = 0, hit_true = 0;
	tp_status st = test_accuracy(t, r->test_acc);

	if (st != TP_OK)
		return st;
	for (int start = 0; start < d->n_train; start += EVAL_CHUNK) {
		int n = d->n_train - start < EVAL_CHUNK ? d->n_train - start : EVAL_CHUNK;

		st = head_logits(t, 0, d->x_train + (size_t)start * d->dim, n, t->zeval);
		if (st != TP_OK)
			return st;
		for (int i = 0; i < n; i++) {
			const float *zi = t->zeval + (size_t)i * C;
			int best = 0;

			for (int c = 1; c < C; c++)
				if (zi[c] > zi[best])
					best = c;
			hit_given += best == t->y_given[start + i];
			hit_true += best == d->y_train[start + i];
		}
	}
	r->train_acc_given = (double)hit_given / d->n_train;
	r->train_acc_true = (double)hit_true / d->n_train;
	return TP_OK;
}

/* The methods that train on a clean/noisy split. */
static int uses_split(train_method m)
{
	return m == METHOD_TWIN || m == METHOD_SINGLE;
}

/* Fits head k's split at the end of an epoch: the losses (averaged over the
 * last loss_avg_epochs epochs), the global GMM, then the selector. */
static tp_status split_fit(trainer *t, int k)
{
	const dataset *d = t->data;
	int n = d->n_train;
	int window = t->cfg.loss_avg_epochs;
	double *row = t->loss_hist[k] + (size_t)t->hist_next[k] * n;
	double *avg = malloc((size_t)n * sizeof *avg);
	gmm *g = &t->gmms[k];
	selector_settings ss;
	selector_input in;
	tp_status st;

	if (!avg)
		return tp_fail(TP_ERR_NOMEM, "split: out of memory for %d losses", n);
	if (t->cfg.selector == SELECTOR_OT && !t->train_prob) {
		t->train_prob = malloc((size_t)n * (size_t)d->n_classes * sizeof *t->train_prob);
		if (!t->train_prob) {
			free(avg);
			return tp_fail(TP_ERR_NOMEM, "split: out of memory for the softmax of %d samples", n);
		}
	}
	st = train_losses(t, k, row, t->cfg.selector == SELECTOR_OT ? t->train_prob : NULL);
	if (st != TP_OK) {
		free(avg);
		return st;
	}

	/* the ring keeps TRAIN_MAX_LOSS_AVG epochs; average the newest `window` */
	t->hist_next[k] = (t->hist_next[k] + 1) % TRAIN_MAX_LOSS_AVG;
	if (t->hist_count[k] < TRAIN_MAX_LOSS_AVG)
		t->hist_count[k]++;
	if (window > t->hist_count[k])
		window = t->hist_count[k];
	memset(avg, 0, (size_t)n * sizeof *avg);
	for (int e = 0; e < window; e++) {
		int slot = (t->hist_next[k] - 1 - e + 2 * TRAIN_MAX_LOSS_AVG) % TRAIN_MAX_LOSS_AVG;
		const double *past = t->loss_hist[k] + (size_t)slot * n;

		for (int i = 0; i < n; i++)
			avg[i] += past[i] / window;
	}

	g->reg_covar = t->cfg.gmm_reg_covar;
	g->tol = t->cfg.gmm_tol;
	g->max_iter = t->cfg.gmm_max_iter;
	st = gmm_init(g, avg, n);
	if (st == TP_OK)
		st = gmm_fit(g);
	free(avg);
	if (st != TP_OK)
		return st;

	ss.tau = t->cfg.tau;
	ss.forget_rate = t->cfg.forget_rate;
	ss.forget_epochs = t->cfg.forget_epochs;
	ss.ot_reg = t->cfg.ot_reg;
	ss.ot_iters = t->cfg.ot_iters;
	in.n = n;
	in.n_classes = d->n_classes;
	in.loss = g->loss;
	in.given = t->y_given;
	in.truth = d->y_train;
	in.prob = t->train_prob;
	in.epoch = t->epoch + 1;
	st = selector_apply((selector_kind)t->cfg.selector, &ss, &in, g, t->p_clean[k]);
	if (st != TP_OK)
		return st;
	t->has_split[k] = 1;
	return TP_OK;
}

const double *train_split_prob(trainer *t, int k)
{
	if (k >= t->n_heads)
		return NULL;
	refresh_split(t, k);
	return t->has_split[k] ? t->p_clean[k] : NULL;
}

/* Starts epoch t->epoch: learning rate, warm-up flag, split, batch order. */
static void epoch_begin(trainer *t)
{
	const train_config *c = &t->cfg;

	t->in_epoch = 1;
	t->batch_pos = 0;
	t->epoch_lr = lr_cosine(c->lr, t->epoch, c->epochs, c->lr_warmup_epochs, c->lr_warmup_value);
	t->epoch_warmup = uses_split(c->method) && t->epoch < c->warmup_epochs;
	t->loss_sum = 0.0;
	t->loss_count = 0;
	t->target_hits = 0;
	t->target_count = 0;
	t->clean_used[0] = t->clean_used[1] = 0;
	t->epoch_seconds = 0.0;
	for (int k = 0; k < t->n_heads; k++)
		refresh_split(t, k);
	for (int i = 0; i < t->data->n_train; i++)
		t->order[i] = i;
	rng_shuffle_int(t->order_rng, t->order, (size_t)t->data->n_train);
}

/* Fills the target of head k for sample i (batch row b); returns 0 when the
 * sample is dropped.  With one head (method single) the head reads its own
 * split and its own softmax replaces the ensemble. */
static int twin_target(trainer *t, int k, int i, int b)
{
	const train_config *c = &t->cfg;
	int C = t->data->n_classes;
	int partner = c->codivide && t->n_heads == 2 ? 1 - k : k;

	if (t->p_clean[partner][i] >= c->tau) {
		loss_smooth_target(t->y_given[i], c->smoothing, C, t->target);
		return 1;
	}
	if (c->drop_noisy)
		return 0;
	for (int j = 0; j < C; j++) {
		float qa = t->q[0][(size_t)b * C + j];

		t->mix[j] = t->n_heads == 2 ? 0.5f * (qa + t->q[1][(size_t)b * C + j]) : qa;
	}
	loss_sharpen(t->mix, c->temperature, C, t->target);
	return 1;
}

/* Loss and dL/dz of head k for batch row b holding sample i. */
static double sample_loss(trainer *t, int k, int i, int b, int *used)
{
	const train_config *c = &t->cfg;
	int C = t->data->n_classes;
	const float *z = t->z[k] + (size_t)b * C;
	float *dz = t->dz[k] + (size_t)b * C;
	int y = t->y_given[i];
	int best = y;

	*used = 1;
	if (c->method == METHOD_GCE || c->method == METHOD_CE || t->epoch_warmup) {
		/* the target is the given label itself */
		t->target_hits += y == t->data->y_train[i];
		t->target_count++;
		if (c->method == METHOD_GCE)
			return loss_gce(z, y, c->gce_q, C, dz);
		return loss_ce(z, y, C, dz);
	}
	if (c->method == METHOD_LS) {
		loss_smooth_target(y, c->smoothing, C, t->target);
	} else if (!twin_target(t, k, i, b)) {
		memset(dz, 0, (size_t)C * sizeof *dz);
		*used = 0;
		return 0.0;
	}
	for (int j = 0; j < C; j++)
		if (t->target[j] > t->target[best])
			best = j;
	t->target_hits += best == t->data->y_train[i];
	t->target_count++;
	return loss_soft_ce(z, t->target, C, dz);
}

/* One SGD step of every head on the samples order[pos .. pos + n). */
static tp_status train_batch(trainer *t, int pos, int n)
{
	const dataset *d = t->data;
	int C = d->n_classes;
	int D = d->dim;
	tp_status st;

	for (int b = 0; b < n; b++)
		memcpy(t->xb + (size_t)b * D, d->x_train + (size_t)t->order[pos + b] * D,
		       (size_t)D * sizeof *t->xb);

	/* forward both heads before any update: the twin targets need both */
	for (int k = 0; k < t->n_heads; k++) {
		st = head_logits(t, k, t->xb, n, t->z[k]);
		if (st != TP_OK)
			return st;
		for (int b = 0; b < n; b++)
			loss_softmax(t->z[k] + (size_t)b * C, C, t->q[k] + (size_t)b * C);
	}

	for (int k = 0; k < t->n_heads; k++) {
		int kept = 0;
		double loss = 0.0;

		for (int b = 0; b < n; b++) {
			int used;

			loss += sample_loss(t, k, t->order[pos + b], b, &used);
			kept += used;
			if (used && uses_split(t->cfg.method) && !t->epoch_warmup &&
			    t->p_clean[t->cfg.codivide && t->n_heads == 2 ? 1 - k : k][t->order[pos + b]] >= t->cfg.tau)
				t->clean_used[k]++;
		}
		if (kept == 0)
			continue;
		for (size_t j = 0; j < (size_t)n * C; j++)
			t->dz[k][j] /= (float)kept;
		t->loss_sum += loss;
		t->loss_count += kept;
	}

	/* optional agreement term between the two heads */
	if (t->n_heads == 2 && t->cfg.kl_weight > 0.0 && !t->epoch_warmup) {
		float scale = (float)(t->cfg.kl_weight / n);

		for (int b = 0; b < n; b++) {
			float *gza = t->kl_grad, *gzb = t->kl_grad + C;

			loss_sym_kl(t->z[0] + (size_t)b * C, t->z[1] + (size_t)b * C, C, gza, gzb);
			for (int j = 0; j < C; j++) {
				t->dz[0][(size_t)b * C + j] += scale * gza[j];
				t->dz[1][(size_t)b * C + j] += scale * gzb[j];
			}
		}
	}

	for (int k = 0; k < t->n_heads; k++) {
		cosine_backward(t->dw, t->dz[k], t->xb, n, C, D, t->cfg.scale, &t->cache[k], t->work);
		st = head_backward(t->heads[k], t->dw);
		if (st != TP_OK)
			return st;
		sgd_step(&t->opt[k], t->heads[k]->param, t->heads[k]->grad, t->epoch_lr);
	}
	return TP_OK;
}

static tp_status history_push(trainer *t, const epoch_report *r)
{
	if (t->n_history == t->cap_history) {
		int cap = t->cap_history ? 2 * t->cap_history : 32;
		epoch_report *h = realloc(t->history, (size_t)cap * sizeof *h);

		if (!h)
			return tp_fail(TP_ERR_NOMEM, "train: out of memory for the epoch history");
		t->history = h;
		t->cap_history = cap;
	}
	t->history[t->n_history++] = *r;
	return TP_OK;
}

/* Ends the epoch: the GMM of every head, test accuracy, the report. */
static tp_status epoch_end(trainer *t, const train_hooks *hooks)
{
	epoch_report r;
	double start = now_seconds();
	tp_status st;

	for (int k = 0; k < t->n_heads; k++) {
		st = split_fit(t, k);
		if (st != TP_OK)
			return st;
	}

	memset(&r, 0, sizeof r);
	st = test_accuracy(t, r.test_acc);
	if (st != TP_OK)
		return st;
	r.epoch = t->epoch + 1;
	r.warmup = t->epoch_warmup;
	r.lr = t->epoch_lr;
	r.train_loss = t->loss_count ? t->loss_sum / (double)t->loss_count : NAN;
	r.target_acc = t->target_count ? (double)t->target_hits / (double)t->target_count : NAN;
	for (int k = 0; k < t->n_heads; k++) {
		int twin_epoch = uses_split(t->cfg.method) && !t->epoch_warmup;

		r.n_clean_used[k] = twin_epoch ? t->clean_used[k] : t->data->n_train;
		fill_split_report(t, k, &r.split[k]);
	}
	r.seconds = t->epoch_seconds + (now_seconds() - start);
	r.samples_per_second = r.seconds > 0.0 ? t->data->n_train / r.seconds : NAN;

	st = history_push(t, &r);
	if (st != TP_OK)
		return st;
	t->epoch++;
	t->in_epoch = 0;
	if (hooks && hooks->on_epoch)
		hooks->on_epoch(&r, hooks->user);
	return TP_OK;
}

/* Runs batches until the epoch count reaches target_epoch, the stop hook
 * returns nonzero (*stopped = 1), or max_batches batches ran (*stopped = 2).
 * A negative max_batches means no limit. */
static tp_status run_batches(trainer *t, int target_epoch, long max_batches,
			     const train_hooks *hooks, int *stopped)
{
	int n_train = t->data->n_train;
	int batch = t->cfg.batch_size;
	int n_batches = (n_train + batch - 1) / batch;
	long done = 0;

	*stopped = 0;
	if (config_check(&t->cfg) != TP_OK)
		return TP_ERR_VALUE;
	if (target_epoch > t->cfg.epochs)
		target_epoch = t->cfg.epochs;

	while (t->epoch < target_epoch) {
		double start;
		tp_status st;

		if (!t->in_epoch) {
			if (uses_split(t->cfg.method) && t->epoch >= t->cfg.warmup_epochs) {
				/* a twin epoch needs a split from each head */
				for (int k = 0; k < t->n_heads; k++) {
					if (t->gmms[k].n == n_train)
						continue;
					st = train_gmm_init(t, k);
					if (st == TP_OK)
						st = gmm_fit(&t->gmms[k]);
					if (st != TP_OK)
						return st;
				}
			}
			epoch_begin(t);
		}

		start = now_seconds();
		while (t->batch_pos < n_train) {
			int n = n_train - t->batch_pos < batch ? n_train - t->batch_pos : batch;

			st = train_batch(t, t->batch_pos, n);
			if (st != TP_OK)
				return st;
			t->batch_pos += n;
			t->step++;
			done++;
			if (hooks && hooks->on_batch)
				hooks->on_batch((t->batch_pos + batch - 1) / batch, n_batches, hooks->user);
			if (t->batch_pos >= n_train)
				break;
			if (hooks && hooks->should_stop && hooks->should_stop(hooks->user))
				*stopped = 1;
			else if (max_batches >= 0 && done >= max_batches)
				*stopped = 2;
			if (*stopped) {
				t->epoch_seconds += now_seconds() - start;
				return TP_OK;
			}
		}
		t->epoch_seconds += now_seconds() - start;
		st = epoch_end(t, hooks);
		if (st != TP_OK)
			return st;
		if (max_batches >= 0 && done >= max_batches) {
			*stopped = 2;
			return TP_OK;
		}
	}
	return TP_OK;
}

tp_status train_run(trainer *t, int n_epochs, const train_hooks *hooks)
{
	int stopped;
	tp_status st;

	st = run_batches(t, n_epochs <= 0 ? t->cfg.epochs : t->epoch + n_epochs, -1, hooks, &stopped);
	if (st == TP_OK && stopped)
		return tp_fail(TP_ERR_INTERRUPTED,
			       "train: interrupted in epoch %d after %d of %d samples: 'train' finishes it",
			       t->epoch + 1, t->batch_pos, t->data->n_train);
	return st;
}

tp_status train_advance(trainer *t, int max_batches, const train_hooks *hooks)
{
	int stopped;

	return run_batches(t, t->cfg.epochs, max_batches < 1 ? 1 : max_batches, hooks, &stopped);
}

long train_steps_done(const trainer *t)
{
	return t->step;
}

int train_batch_position(const trainer *t)
{
	return t->in_epoch ? t->batch_pos : 0;
}

tp_status train_test_predictions(trainer *t, int which, int *pred)
{
	const dataset *d = t->data;
	int C = d->n_classes;
	float *prob;

	if (which < 0 || which > 2 || (which > 0 && t->n_heads == 1))
		return tp_fail(TP_ERR_STATE, "predictions: %s exists only with method twin",
			       which == 1 ? "head B" : "the ensemble");
	prob = malloc((size_t)EVAL_CHUNK * (size_t)C * sizeof *prob);
	if (!prob)
		return tp_fail(TP_ERR_NOMEM, "predictions: out of memory");
	for (int start = 0; start < d->n_test; start += EVAL_CHUNK) {
		int n = d->n_test - start < EVAL_CHUNK ? d->n_test - start : EVAL_CHUNK;
		int first = which == 2 ? 0 : which;
		int last = which == 2 ? 1 : which;

		memset(prob, 0, (size_t)n * (size_t)C * sizeof *prob);
		for (int k = first; k <= last; k++) {
			tp_status st = head_logits(t, k, d->x_test + (size_t)start * d->dim, n, t->zeval);

			if (st != TP_OK) {
				free(prob);
				return st;
			}
			for (int i = 0; i < n; i++) {
				loss_softmax(t->zeval + (size_t)i * C, C, t->mix);
				for (int c = 0; c < C; c++)
					prob[(size_t)i * C + c] += t->mix[c];
			}
		}
		for (int i = 0; i < n; i++) {
			const float *pi = prob + (size_t)i * C;
			int best = 0;

			for (int c = 1; c < C; c++)
				if (pi[c] > pi[best])
					best = c;
			pred[start + i] = best;
		}
	}
	free(prob);
	return TP_OK;
}

const double *train_clean_prob(const trainer *t, int k)
{
	return k < t->n_heads && t->has_split[k] ? t->p_clean[k] : NULL;
}

head *train_head(trainer *t, int k)
{
	return k < t->n_heads ? t->heads[k] : NULL;
}

/* ---- saving and restoring the whole state ---- */

#define STATE_MAGIC 0x52545054u   /* "TPTR" read as little-endian bytes */
#define STATE_VERSION 2u

typedef struct blob {
	unsigned char *data;
	size_t size, cap;
	size_t pos;              /* read position */
	int failed;
} blob;

static void blob_put(blob *b, const void *p, size_t n)
{
	if (b->failed)
		return;
	if (b->size + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *d;

		while (cap < b->size + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->size, p, n);
	b->size += n;
}

static void blob_get(blob *b, void *p, size_t n)
{
	if (b->failed || b->pos + n > b->size) {
		b->failed = 1;
		memset(p, 0, n);
		return;
	}
	memcpy(p, b->data + b->pos, n);
	b->pos += n;
}

#define PUT(b, v) blob_put((b), &(v), sizeof(v))
#define GET(b, v) blob_get((b), &(v), sizeof(v))

static void put_gmm(blob *b, const gmm *g)
{
	PUT(b, g->n);
	if (g->n > 0) {
		blob_put(b, g->loss, (size_t)g->n * sizeof *g->loss);
		blob_put(b, g->x, (size_t)g->n * sizeof *g->x);
	}
	PUT(b, g->loss_min); PUT(b, g->loss_max);
	PUT(b, g->mean); PUT(b, g->var); PUT(b, g->weight);
	PUT(b, g->loglik); PUT(b, g->prev_loglik);
	PUT(b, g->iter); PUT(b, g->converged); PUT(b, g->degenerate);
	PUT(b, g->reg_covar); PUT(b, g->tol); PUT(b, g->max_iter);
}

static tp_status get_gmm(blob *b, gmm *g, int n_train)
{
	int n;

	GET(b, n);
	gmm_clear(g);
	if (n != 0 && n != n_train)
		return tp_fail(TP_ERR_FORMAT, "restore: a GMM holds %d losses but the training set has %d samples",
			       n, n_train);
	if (n > 0) {
		g->loss = malloc((size_t)n * sizeof *g->loss);
		g->x = malloc((size_t)n * sizeof *g->x);
		if (!g->loss || !g->x)
			return tp_fail(TP_ERR_NOMEM, "restore: out of memory");
		blob_get(b, g->loss, (size_t)n * sizeof *g->loss);
		blob_get(b, g->x, (size_t)n * sizeof *g->x);
	}
	g->n = n;
	GET(b, g->loss_min); GET(b, g->loss_max);
	GET(b, g->mean); GET(b, g->var); GET(b, g->weight);
	GET(b, g->loglik); GET(b, g->prev_loglik);
	GET(b, g->iter); GET(b, g->converged); GET(b, g->degenerate);
	GET(b, g->reg_covar); GET(b, g->tol); GET(b, g->max_iter);
	return TP_OK;
}

tp_status train_state_save(const trainer *t, unsigned char **data, size_t *size)
{
	blob b = { 0 };
	unsigned magic = STATE_MAGIC, version = STATE_VERSION;
	train_config cfg = t->cfg;
	size_t rng_size = rng_state_size(t->order_rng);
	unsigned char *rng_state = malloc(rng_size);

	if (!rng_state)
		return tp_fail(TP_ERR_NOMEM, "save: out of memory");
	cfg.create_head = NULL;
	cfg.head_user = NULL;
	PUT(&b, magic); PUT(&b, version);
	PUT(&b, t->data->n_train); PUT(&b, t->data->n_classes); PUT(&b, t->data->dim);
	PUT(&b, cfg);
	PUT(&b, t->n_heads);
	for (int k = 0; k < t->n_heads; k++) {
		PUT(&b, t->heads[k]->n_param);
		blob_put(&b, t->heads[k]->param, t->heads[k]->n_param * sizeof(float));
		blob_put(&b, t->opt[k].momentum_buf, t->opt[k].n * sizeof(float));
		put_gmm(&b, &t->gmms[k]);
		PUT(&b, t->has_split[k]);
		blob_put(&b, t->p_clean[k], (size_t)t->data->n_train * sizeof(double));
		PUT(&b, t->hist_count[k]);
		PUT(&b, t->hist_next[k]);
		blob_put(&b, t->loss_hist[k], (size_t)TRAIN_MAX_LOSS_AVG * (size_t)t->data->n_train * sizeof(double));
	}
	rng_state_get(t->order_rng, rng_state);
	PUT(&b, rng_size);
	blob_put(&b, rng_state, rng_size);
	free(rng_state);
	PUT(&b, t->epoch); PUT(&b, t->step);
	PUT(&b, t->in_epoch); PUT(&b, t->batch_pos);
	blob_put(&b, t->order, (size_t)t->data->n_train * sizeof *t->order);
	PUT(&b, t->epoch_warmup); PUT(&b, t->epoch_lr);
	PUT(&b, t->loss_sum); PUT(&b, t->loss_count);
	PUT(&b, t->target_hits); PUT(&b, t->target_count);
	PUT(&b, t->clean_used); PUT(&b, t->epoch_seconds);
	PUT(&b, t->n_history);
	if (t->n_history > 0)
		blob_put(&b, t->history, (size_t)t->n_history * sizeof *t->history);
	if (b.failed) {
		free(b.data);
		return tp_fail(TP_ERR_NOMEM, "save: out of memory for the training state");
	}
	*data = b.data;
	*size = b.size;
	return TP_OK;
}

tp_status train_state_restore(trainer *t, const unsigned char *data, size_t size)
{
	blob b = { (unsigned char *)(uintptr_t)data, size, size, 0, 0 };
	unsigned magic, version;
	int n_train, n_classes, dim, n_heads, n_history;
	train_config cfg;
	size_t rng_size;
	unsigned char *rng_state;
	tp_status st;

	GET(&b, magic); GET(&b, version);
	if (b.failed || magic != STATE_MAGIC)
		return tp_fail(TP_ERR_FORMAT, "restore: not a twinprompt training state");
	if (version != STATE_VERSION)
		return tp_fail(TP_ERR_FORMAT, "restore: training state version %u, this build reads %u",
			       version, STATE_VERSION);
	GET(&b, n_train); GET(&b, n_classes); GET(&b, dim);
	if (n_train != t->data->n_train || n_classes != t->data->n_classes || dim != t->data->dim)
		return tp_fail(TP_ERR_SHAPE,
			       "restore: the state is of %d samples, %d classes, %d dims but the data set has %d, %d, %d: load the data set it was saved with",
			       n_train, n_classes, dim, t->data->n_train, t->data->n_classes, t->data->dim);
	GET(&b, cfg);
	GET(&b, n_heads);
	if (n_heads != t->n_heads || cfg.method != t->cfg.method || cfg.batch_size != t->cfg.batch_size)
		return tp_fail(TP_ERR_STATE, "restore: the state is of method %s with batch %d; create the run with the same settings",
			       train_method_name(cfg.method), cfg.batch_size);
	cfg.create_head = t->cfg.create_head;
	cfg.head_user = t->cfg.head_user;
	t->cfg = cfg;
	for (int k = 0; k < n_heads; k++) {
		size_t n_param;

		GET(&b, n_param);
		if (n_param != t->heads[k]->n_param)
			return tp_fail(TP_ERR_SHAPE, "restore: head %c has %zu parameters in the state, %zu here",
				       'A' + k, n_param, t->heads[k]->n_param);
		blob_get(&b, t->heads[k]->param, n_param * sizeof(float));
		blob_get(&b, t->opt[k].momentum_buf, n_param * sizeof(float));
		st = get_gmm(&b, &t->gmms[k], n_train);
		if (st != TP_OK)
			return st;
		GET(&b, t->has_split[k]);
		blob_get(&b, t->p_clean[k], (size_t)n_train * sizeof(double));
		GET(&b, t->hist_count[k]);
		GET(&b, t->hist_next[k]);
		if (t->hist_count[k] < 0 || t->hist_count[k] > TRAIN_MAX_LOSS_AVG ||
		    t->hist_next[k] < 0 || t->hist_next[k] >= TRAIN_MAX_LOSS_AVG)
			return tp_fail(TP_ERR_FORMAT, "restore: the loss history of head %c is corrupt", 'A' + k);
		blob_get(&b, t->loss_hist[k], (size_t)TRAIN_MAX_LOSS_AVG * (size_t)n_train * sizeof(double));
	}
	GET(&b, rng_size);
	if (b.failed || rng_size != rng_state_size(t->order_rng))
		return tp_fail(TP_ERR_FORMAT, "restore: the random generator state has the wrong size");
	rng_state = malloc(rng_size);
	if (!rng_state)
		return tp_fail(TP_ERR_NOMEM, "restore: out of memory");
	blob_get(&b, rng_state, rng_size);
	rng_state_set(t->order_rng, rng_state);
	free(rng_state);
	GET(&b, t->epoch); GET(&b, t->step);
	GET(&b, t->in_epoch); GET(&b, t->batch_pos);
	blob_get(&b, t->order, (size_t)n_train * sizeof *t->order);
	GET(&b, t->epoch_warmup); GET(&b, t->epoch_lr);
	GET(&b, t->loss_sum); GET(&b, t->loss_count);
	GET(&b, t->target_hits); GET(&b, t->target_count);
	GET(&b, t->clean_used); GET(&b, t->epoch_seconds);
	GET(&b, n_history);
	if (b.failed || n_history < 0 || (size_t)n_history * sizeof *t->history > size - b.pos)
		return tp_fail(TP_ERR_FORMAT, "restore: the training state is truncated");
	free(t->history);
	t->history = NULL;
	t->n_history = t->cap_history = 0;
	if (n_history > 0) {
		t->history = malloc((size_t)n_history * sizeof *t->history);
		if (!t->history)
			return tp_fail(TP_ERR_NOMEM, "restore: out of memory");
		blob_get(&b, t->history, (size_t)n_history * sizeof *t->history);
		t->n_history = t->cap_history = n_history;
	}
	if (b.failed || b.pos != size)
		return tp_fail(TP_ERR_FORMAT, "restore: the training state is truncated or has trailing bytes");
	return TP_OK;
}
