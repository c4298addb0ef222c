/* The trainer: one run of a method on a data set with given labels.
 *
 * States and the functions that move between them:
 *   created      -- train_create(): heads initialised from the seed, epoch 0
 *   mid-epoch    -- train_run() stopped by its stop hook at a batch boundary;
 *                   the next train_run() finishes the epoch first
 *   epoch e done -- train_run() ran whole epochs; the reports are in history
 *   finished     -- epoch == config.epochs; train_run() does nothing more
 *
 * A run is fixed by its data, its given labels and its configuration; the
 * REPL makes a new trainer when any of those changes, except the settings
 * that only affect later epochs (learning rate, schedule length, twin
 * hyperparameters), which train_run() reads at each epoch start.
 *
 * Methods (all share the optimiser, the schedule and the batches):
 *   ce    cross-entropy on the given labels (CoOp)
 *   gce   generalised cross-entropy, q = gce_q (PTNL)
 *   ls    cross-entropy on smoothed labels, eps = smoothing
 *   twin  two heads A and B from different seeds; after warmup_epochs of
 *         cross-entropy, each epoch uses the clean/noisy split of the
 *         partner head (co-divide): samples it calls clean get smoothed
 *         labels, the others the sharpened ensemble of both heads' softmax.
 *   single one head with the twin method's targets on its own split, its own
 *         softmax standing in for the ensemble.
 *
 * The split of each head comes from a selector (selector.h) on its
 * per-sample losses under the given labels, averaged over the last
 * loss_avg_epochs epochs; the global GMM (gmm.h) on those losses is always
 * fitted too.  The split is computed at the end of every epoch, for every
 * method, so that each report carries the split quality; twin and single
 * train their next epoch on it.  With the gmm selector, stepping a head's
 * GMM by hand (train_gmm()) between epochs changes the split the next epoch
 * uses. */
#ifndef TP_TRAIN_H
#define TP_TRAIN_H

#include "dataset.h"
#include "gmm.h"
#include "head.h"
#include "metrics.h"
#include "optim.h"
#include "status.h"

typedef enum {
	METHOD_CE,
	METHOD_GCE,
	METHOD_LS,
	METHOD_TWIN,
	METHOD_SINGLE
} train_method;

/* Most epochs whose losses a split can average (setting loss_avg_epochs). */
#define TRAIN_MAX_LOSS_AVG 10

const char *train_method_name(train_method m);
int train_method_parse(const char *name, train_method *m);

typedef struct train_config {
	train_method method;
	int epochs;             /* schedule length E */
	int batch_size;
	double lr;              /* base learning rate of the cosine schedule */
	double momentum;
	double weight_decay;
	int lr_warmup_epochs;   /* epochs at the constant lr_warmup_value */
	double lr_warmup_value;
	double scale;           /* logit scale s */
	double init_std;        /* standard deviation of the initial U */
	unsigned long seed;     /* head initialisation and batch order */
	double gce_q;
	double smoothing;       /* eps of ls and of the twin method's clean targets */
	int warmup_epochs;      /* twin: epochs of plain cross-entropy first */
	double tau;             /* clean when p_clean >= tau */
	double temperature;     /* twin: sharpening temperature T */
	int codivide;           /* twin: 1 = use the partner's split, 0 = own split */
	int drop_noisy;         /* twin: 1 = drop samples called noisy instead of relabelling */
	double kl_weight;       /* twin: weight of the symmetric KL between heads; 0 = off */
	double gmm_reg_covar;
	double gmm_tol;
	int gmm_max_iter;
	int selector;           /* selector_kind of selector.h: how a split is made */
	int loss_avg_epochs;    /* epochs of losses averaged before selecting, 1..TRAIN_MAX_LOSS_AVG */
	double forget_rate;     /* small-loss: final forget rate; < 0 = estimated from the GMM */
	int forget_epochs;      /* small-loss: epochs over which the forget rate ramps up */
	double ot_reg;          /* ot: entropic regularisation */
	int ot_iters;           /* ot: Sinkhorn iterations */
	/* Creates head k (0 = A, 1 = B) of a run; NULL means the vector head.
	 * head_user is passed through; neither is saved with the state. */
	tp_status (*create_head)(void *user, const dataset *data, int k,
				 unsigned long seed, head **out);
	void *head_user;
} train_config;

/* Fills c with the defaults: CoOp's optimiser and schedule, s = 100, a twin
 * warm-up of 2 epochs; train.c lists every value with its source. */
void train_config_defaults(train_config *c);

/* The split of one head as fitted at the end of an epoch. */
typedef struct split_report {
	int valid;              /* 0 when the head has no fit yet */
	double mean[2], var[2], weight[2];  /* component 0 = clean (smaller mean) */
	double loglik;
	int iterations;
	int degenerate;
	split_quality quality;  /* against the true labels */
	int n_pred_clean;       /* samples with p_clean >= tau */
} split_report;

/* What every epoch reports: accuracy, target quality, each head's split and
 * its quality, the learning rate, the loss and the time. */
typedef struct epoch_report {
	int epoch;              /* 1-based */
	int warmup;             /* twin: this epoch was plain cross-entropy */
	double lr;
	double train_loss;      /* mean per-sample training loss over batches and heads */
	double test_acc[3];     /* head A, head B, ensemble; B and ensemble NAN with one head */
	double target_acc;      /* fraction of training targets whose argmax is the true label */
	int n_clean_used[2];    /* samples each head trained on as clean (twin, after warm-up) */
	split_report split[2];  /* GMM of each head's losses at the end of the epoch */
	double seconds;         /* wall time of the epoch, evaluation included */
	double samples_per_second;
} epoch_report;

typedef struct trainer trainer;

/* Progress hooks; any may be NULL. */
typedef struct train_hooks {
	/* Called after every epoch with its report. */
	void (*on_epoch)(const epoch_report *r, void *user);
	/* Called after every batch; returns nonzero to stop at this boundary. */
	int (*should_stop)(void *user);
	/* Called after every batch with the batches done in this epoch. */
	void (*on_batch)(int batch, int n_batches, void *user);
	void *user;
} train_hooks;

/* Creates a run.  data must outlive the trainer; y_given (n_train) is
 * copied.  Fails on a configuration value out of range (naming it) or a
 * data set the loss functions cannot take. */
tp_status train_create(const dataset *data, const int *y_given,
		       const train_config *config, trainer **out);
void train_free(trainer *t);

/* Runs up to n_epochs more epochs of the schedule (n_epochs <= 0: the rest),
 * finishing an interrupted epoch first.  Returns TP_ERR_INTERRUPTED when the
 * stop hook asked, with the state at that batch boundary kept. */
tp_status train_run(trainer *t, int n_epochs, const train_hooks *hooks);

/* The configuration in use; settings that only affect later epochs may be
 * changed through it between calls to train_run(). */
train_config *train_config_of(trainer *t);

int train_epochs_done(const trainer *t);
int train_in_epoch(const trainer *t);   /* 1 when an epoch was interrupted */
int train_n_heads(const trainer *t);
const epoch_report *train_history(const trainer *t, int *n);

/* The GMM of head k (0 = A, 1 = B); its loss array is what the last fit used. */
gmm *train_gmm(trainer *t, int k);

/* Computes head k's per-sample cross-entropy under the given labels on the
 * training set and re-initialises its GMM on them (no EM step yet). */
tp_status train_gmm_init(trainer *t, int k);

/* Test accuracy of A, B and the ensemble (NAN where absent) and the
 * training accuracy of head A against the given and the true labels. */
typedef struct eval_report {
	double test_acc[3];
	double train_acc_given;
	double train_acc_true;
} eval_report;
tp_status train_evaluate(trainer *t, eval_report *r);

const int *train_given_labels(const trainer *t);

/* Runs at most max_batches batches (at least 1), crossing into the next
 * epoch and ending epochs as needed, up to the end of the schedule.  For
 * callers that interleave training with other work (a full-screen view). */
tp_status train_advance(trainer *t, int max_batches, const train_hooks *hooks);

long train_steps_done(const trainer *t);
/* Samples of the current epoch already trained on (0 between epochs). */
int train_batch_position(const trainer *t);

/* Writes the predicted class of every test sample into pred (n_test):
 * which = 0 head A, 1 head B, 2 the ensemble (mean of softmaxes). */
tp_status train_test_predictions(trainer *t, int which, int *pred);

/* The clean probabilities head k's partner reads (n_train), or NULL before
 * the first fit. */
const double *train_clean_prob(const trainer *t, int k);

/* Like train_clean_prob(), but first re-reads a gmm selector's split from the
 * GMM, so that EM steps taken by hand show. */
const double *train_split_prob(trainer *t, int k);

/* Head k, or NULL when the run has no such head. */
head *train_head(trainer *t, int k);

/* Serialises everything a run needs to continue bit for bit: configuration,
 * parameters, momentum, the batch-order generator, the epoch in progress,
 * the GMMs and the history.  *data is malloc'd.  The bytes are for the same
 * build on the same platform (structs are stored as they are in memory). */
tp_status train_state_save(const trainer *t, unsigned char **data, size_t *size);

/* Restores a state into a run created from the same data set, given labels
 * and method; checks the shapes and fails with TP_ERR_FORMAT on truncated
 * or foreign bytes. */
tp_status train_state_restore(trainer *t, const unsigned char *data, size_t size);

#endif
