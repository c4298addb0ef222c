/* Commands that configure and run training. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd_model.h"
#include "commands.h"
#include "output.h"
#include "selector.h"

typedef enum { SET_INT, SET_REAL, SET_BOOL, SET_SELECTOR } setting_type;

/* A setting of train_config.  new_run: changing it drops the run, because
 * it defines the heads or the optimiser state; the others apply from the
 * next epoch (or batch) of the current run. */
typedef struct setting {
	const char *name;
	setting_type type;
	size_t offset;
	double lo, hi;
	int new_run;
	const char *help;
} setting;

#define OFF(field) offsetof(train_config, field)

static const setting settings[] = {
	{ "epochs", SET_INT, OFF(epochs), 1, 100000, 0, "length of the schedule in epochs" },
	{ "batch", SET_INT, OFF(batch_size), 1, 65536, 1, "mini-batch size" },
	{ "lr", SET_REAL, OFF(lr), 1e-9, 100, 0, "base learning rate of the cosine schedule" },
	{ "momentum", SET_REAL, OFF(momentum), 0, 0.999, 1, "SGD momentum" },
	{ "weight_decay", SET_REAL, OFF(weight_decay), 0, 1, 1, "SGD weight decay" },
	{ "lr_warmup_epochs", SET_INT, OFF(lr_warmup_epochs), 0, 100000, 0, "epochs at the constant warm-up learning rate" },
	{ "lr_warmup_value", SET_REAL, OFF(lr_warmup_value), 0, 100, 0, "the constant warm-up learning rate" },
	{ "scale", SET_REAL, OFF(scale), 1e-3, 1e4, 1, "logit scale s of the cosine logits" },
	{ "init_std", SET_REAL, OFF(init_std), 1e-6, 10, 1, "standard deviation of the initial head weights" },
	{ "seed", SET_INT, OFF(seed), 0, 4294967295.0, 1, "seed of the head initialisation and the batch order" },
	{ "gce_q", SET_REAL, OFF(gce_q), 1e-3, 1, 0, "q of generalised cross-entropy" },
	{ "smoothing", SET_REAL, OFF(smoothing), 0, 0.999, 0, "label smoothing eps (ls, and twin's clean targets)" },
	{ "warmup", SET_INT, OFF(warmup_epochs), 0, 100000, 0, "twin: epochs of plain cross-entropy before the split is used" },
	{ "tau", SET_REAL, OFF(tau), 0, 1, 0, "a sample is clean when its clean probability >= tau" },
	{ "temperature", SET_REAL, OFF(temperature), 1e-3, 100, 0, "twin: sharpening temperature T of the ensemble labels" },
	{ "codivide", SET_BOOL, OFF(codivide), 0, 1, 0, "twin: each head uses its partner's split (off: its own)" },
	{ "drop_noisy", SET_BOOL, OFF(drop_noisy), 0, 1, 0, "twin: drop samples called noisy instead of relabelling them" },
	{ "kl_weight", SET_REAL, OFF(kl_weight), 0, 100, 0, "twin: weight of a symmetric KL term between the heads (0 = off)" },
	{ "gmm_reg_covar", SET_REAL, OFF(gmm_reg_covar), 1e-12, 1, 0, "GMM variance floor" },
	{ "gmm_tol", SET_REAL, OFF(gmm_tol), 0, 1e3, 0, "GMM convergence threshold on the mean log-likelihood" },
	{ "gmm_max_iter", SET_INT, OFF(gmm_max_iter), 0, 100000, 0, "GMM iterations of 'gmm fit' and of each epoch's fit" },
	{ "selector", SET_SELECTOR, OFF(selector), 0, 0, 0, "how a split is made: gmm, gmm-class, joapr, ot, small-loss, oracle" },
	{ "loss_avg_epochs", SET_INT, OFF(loss_avg_epochs), 1, TRAIN_MAX_LOSS_AVG, 0, "epochs of losses averaged before selecting" },
	{ "forget_rate", SET_REAL, OFF(forget_rate), -1, 0.999, 0, "small-loss: final forget rate (-1: the GMM's noise estimate)" },
	{ "forget_epochs", SET_INT, OFF(forget_epochs), 0, 100000, 0, "small-loss: epochs over which the forget rate ramps up" },
	{ "ot_reg", SET_REAL, OFF(ot_reg), 1e-3, 100, 0, "ot: entropic regularisation of the transport" },
	{ "ot_iters", SET_INT, OFF(ot_iters), 1, 100000, 0, "ot: Sinkhorn iterations" },
	{ NULL, 0, 0, 0, 0, 0, NULL }
};

const char *const setting_names[] = {
	"epochs", "batch", "lr", "momentum", "weight_decay", "lr_warmup_epochs",
	"lr_warmup_value", "scale", "init_std", "seed", "gce_q", "smoothing", "warmup",
	"tau", "temperature", "codivide", "drop_noisy", "kl_weight", "gmm_reg_covar",
	"gmm_tol", "gmm_max_iter", "selector", "loss_avg_epochs", "forget_rate", "forget_epochs",
	"ot_reg", "ot_iters",
	/* the CLIP model's settings, handled in cmd_model.c */
	"head", "n_ctx", "csc", "class_position", "ctx_init", "coop_mode", "chunk_mb", NULL
};

static void setting_format(const setting *s, const train_config *c, char *buf, size_t size)
{
	const char *p = (const char *)c + s->offset;

	switch (s->type) {
	case SET_INT:
		if (s->offset == OFF(seed))
			snprintf(buf, size, "%lu", *(const unsigned long *)(const void *)p);
		else
			snprintf(buf, size, "%d", *(const int *)(const void *)p);
		break;
	case SET_REAL:
		snprintf(buf, size, "%g", *(const double *)(const void *)p);
		break;
	case SET_BOOL:
		snprintf(buf, size, "%s", *(const int *)(const void *)p ? "on" : "off");
		break;
	case SET_SELECTOR:
		snprintf(buf, size, "%s", selector_name((selector_kind)*(const int *)(const void *)p));
		break;
	}
}

static tp_status setting_parse(const setting *s, const char *text, train_config *c)
{
	char *p = (char *)c + s->offset;
	char what[64];
	tp_status st;

	snprintf(what, sizeof what, "set %s", s->name);
	if (s->type == SET_SELECTOR) {
		selector_kind kind;

		if (selector_parse(text, &kind) != 0)
			return tp_fail(TP_ERR_VALUE, "%s: unknown selector '%s': choose gmm, gmm-class, joapr, ot, small-loss or oracle",
				       what, text);
		*(int *)(void *)p = (int)kind;
		return TP_OK;
	}
	if (s->type == SET_BOOL) {
		int v;

		if (!strcasecmp(text, "on") || !strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "yes"))
			v = 1;
		else if (!strcasecmp(text, "off") || !strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "no"))
			v = 0;
		else
			return tp_fail(TP_ERR_VALUE, "%s: '%s' is not on or off", what, text);
		*(int *)(void *)p = v;
		return TP_OK;
	}
	if (s->type == SET_INT) {
		long v;

		st = parse_long(what, text, (long)s->lo, (long)s->hi, &v);
		if (st != TP_OK)
			return st;
		if (s->offset == OFF(seed))
			*(unsigned long *)(void *)p = (unsigned long)v;
		else
			*(int *)(void *)p = (int)v;
		return TP_OK;
	}
	{
		double v;

		st = parse_double(what, text, s->lo, s->hi, &v);
		if (st != TP_OK)
			return st;
		*(double *)(void *)p = v;
	}
	return TP_OK;
}

tp_status cmd_set(workbench *wb, const command *cmd, const cmd_args *a)
{
	const setting *s = NULL;
	train_config next;
	char value[64];
	tp_status st;

	for (const setting *it = settings; it->name; it++)
		if (strcmp(it->name, a->argv[0]) == 0)
			s = it;
	if (!s && cmd_model_set(wb, a->argv[0], a->argv[1], &st))
		return st;
	if (!s)
		return tp_fail(TP_ERR_VALUE, "set: unknown setting '%s': 'show config' lists the settings", a->argv[0]);

	next = wb->config;
	st = setting_parse(s, a->argv[1], &next);
	if (st != TP_OK)
		return st;
	if (wb->run && train_epochs_done(wb->run) > next.epochs)
		return tp_fail(TP_ERR_VALUE, "set epochs: the run has done %d epochs already: give at least %d or 'reset'",
			       train_epochs_done(wb->run), train_epochs_done(wb->run));
	wb->config = next;
	setting_format(s, &wb->config, value, sizeof value);
	if (s->new_run && wb_drop_run(wb))
		out_printf("the run was reset: %s defines the heads or the optimiser\n", s->name);
	else if (wb->run)
		*train_config_of(wb->run) = wb->config;
	out_printf("%s = %s\n", s->name, value);
	return TP_OK;
}

tp_status cmd_show_config(workbench *wb, const command *cmd, const cmd_args *a)
{
	const dataset *d = wb->data;

	if (d) {
		out_printf("data:    %s, %d train / %d test, %d classes, %d dims\n",
			   d->name, d->n_train, d->n_test, d->n_classes, d->dim);
		out_printf("         %s\n", d->encoder);
		if (wb->noise == NOISE_NONE)
			out_printf("noise:   none\n");
		else
			out_printf("noise:   %s %g (seed %lu), realised rate %.4f\n",
				   noise_kind_name(wb->noise), wb->noise_rate, wb->noise_seed,
				   noise_realised_rate(d->y_train, wb->y_given, d->n_train));
	} else {
		out_printf("data:    none ('load fashion-mnist' or 'load features')\n");
	}
	if (!cmd_model_show_head(wb))
		out_printf("head:    vector%s\n", d && d->text_features ? " (B = loaded text features)" : " (B = 0, cosine classifier)");
	out_printf("method:  %s\n", train_method_name(wb->config.method));
	out_printf("split:   selector %s\n", selector_name((selector_kind)wb->config.selector));
	if (wb->run)
		out_printf("run:     %d of %d epochs done%s\n", train_epochs_done(wb->run), wb->config.epochs,
			   train_in_epoch(wb->run) ? ", one interrupted" : "");
	else
		out_printf("run:     not started\n");
	out_printf("settings ('set KEY VALUE'; * starts a new run):\n");
	for (const setting *s = settings; s->name; s++) {
		char value[64];

		setting_format(s, &wb->config, value, sizeof value);
		out_printf("  %-17s %-10s %s%s\n", s->name, value, s->help, s->new_run ? " *" : "");
	}
	return TP_OK;
}

tp_status cmd_method(workbench *wb, const command *cmd, const cmd_args *a)
{
	train_method m;

	if (train_method_parse(a->argv[0], &m) != 0)
		return tp_fail(TP_ERR_VALUE, "method: unknown method '%s': choose one of ce, gce, ls, twin, single", a->argv[0]);
	wb->config.method = m;
	if (wb_drop_run(wb))
		out_printf("the run was reset for the new method\n");
	out_printf("method = %s\n", train_method_name(m));
	return TP_OK;
}

tp_status cmd_reset(workbench *wb, const command *cmd, const cmd_args *a)
{
	wb_drop_run(wb);
	out_printf("run reset: the next 'train' starts from epoch 1 with fresh heads\n");
	return TP_OK;
}

static void print_epoch_header(int n_heads)
{
	out_printf("epoch        lr     loss  test A  test B  ensem  target  clean A  clean B    F1 A  AUROC A    time\n");
	(void)n_heads;
}

static void print_gmm_line(char head_name, const split_report *s)
{
	char p[16], r[16], f[16], au[16];

	if (!s->valid)
		return;
	out_printf("      GMM %c: mean %.4f/%.4f  var %.5f/%.5f  weight %.3f/%.3f  loglik %.4f  "
		   "P %s R %s F1 %s AUROC %s\n", head_name,
		   s->mean[0], s->mean[1], s->var[0], s->var[1], s->weight[0], s->weight[1], s->loglik,
		   out_num(p, sizeof p, s->quality.precision, 3), out_num(r, sizeof r, s->quality.recall, 3),
		   out_num(f, sizeof f, s->quality.f1, 3), out_num(au, sizeof au, s->quality.auroc_posterior, 3));
}

static void on_epoch(const epoch_report *r, void *user)
{
	workbench *wb = user;
	char b[8][16];
	int two = !isnan(r->test_acc[1]);

	/* record first, so that a printed epoch is always a saved one */
	wb_notify_epoch(wb, r);
	out_progress_end();
	out_printf("%5d  %8.2e  %7.4f  %6s  %6s  %5s  %6s  %7d  %7s  %6s  %7s  %5.2fs%s\n",
		   r->epoch, r->lr, r->train_loss,
		   out_num(b[0], 16, r->test_acc[0], 4), out_num(b[1], 16, r->test_acc[1], 4),
		   out_num(b[2], 16, r->test_acc[2], 3), out_num(b[3], 16, r->target_acc, 4),
		   r->n_clean_used[0],
		   two ? (snprintf(b[4], 16, "%d", r->n_clean_used[1]), b[4]) : "-",
		   out_num(b[5], 16, r->split[0].quality.f1, 4),
		   out_num(b[6], 16, r->split[0].quality.auroc_posterior, 4),
		   r->seconds, r->warmup ? "  warm-up" : "");
	if (wb->verbose) {
		print_gmm_line('A', &r->split[0]);
		if (two)
			print_gmm_line('B', &r->split[1]);
	}
}

static int should_stop(void *user)
{
	return interrupt_requested;
}

static void on_batch(int batch, int n_batches, void *user)
{
	if (batch % 64 == 0 || batch == n_batches)
		out_progress("epoch", batch, n_batches);
}

tp_status cmd_train(workbench *wb, const command *cmd, const cmd_args *a)
{
	train_hooks hooks = { on_epoch, should_stop, on_batch, wb };
	long n = 0;
	int done;
	tp_status st;

	if (a->argc == 1 && (st = parse_long("train: EPOCHS", a->argv[0], 1, 100000, &n)) != TP_OK)
		return st;
	st = wb_ensure_run(wb);
	if (st != TP_OK)
		return st;
	done = train_epochs_done(wb->run);
	if (done >= wb->config.epochs)
		return tp_fail(TP_ERR_STATE, "train: all %d epochs of the schedule are done: 'set epochs E' to extend it or 'reset'",
			       wb->config.epochs);
	if (done == 0 && !train_in_epoch(wb->run)) {
		out_printf("run: method %s, %d epochs, %d training samples, logit scale %g, seed %lu\n",
			   train_method_name(wb->config.method), wb->config.epochs, wb->data->n_train,
			   wb->config.scale, wb->config.seed);
		if (!wb->data->text_features && !wb->config.create_head)
			out_printf("head: vector with B = 0, a cosine classifier that stands in for CLIP's text side (no text encoder is loaded)\n");
	}
	wb->verbose = cmd_has(cmd, a, "verbose");
	print_epoch_header(train_n_heads(wb->run));
	st = train_run(wb->run, (int)n, &hooks);
	out_progress_end();
	if (st != TP_OK)
		return st;
	if (train_epochs_done(wb->run) == wb->config.epochs) {
		wb_record_result(wb);
		out_printf("schedule complete: %d epochs ('results' compares the finished runs)\n", wb->config.epochs);
	}
	return TP_OK;
}

tp_status cmd_eval(workbench *wb, const command *cmd, const cmd_args *a)
{
	eval_report r;
	char b[3][16];
	tp_status st = wb_ensure_run(wb);

	if (st == TP_OK)
		st = train_evaluate(wb->run, &r);
	if (st != TP_OK)
		return st;
	out_printf("after %d epochs: test accuracy A %s  B %s  ensemble %s\n", train_epochs_done(wb->run),
		   out_num(b[0], 16, r.test_acc[0], 4), out_num(b[1], 16, r.test_acc[1], 4),
		   out_num(b[2], 16, r.test_acc[2], 4));
	out_printf("head A on the training set: %.4f agree with the given labels, %.4f with the true labels\n",
		   r.train_acc_given, r.train_acc_true);
	return TP_OK;
}

tp_status cmd_results(workbench *wb, const command *cmd, const cmd_args *a)
{
	if (wb->n_results == 0) {
		out_printf("no finished runs yet: 'train' a whole schedule first\n");
		return TP_OK;
	}
	out_printf("method           noise          epochs  test A  test B  ensemble  precision  recall      F1   AUROC    time\n");
	for (int i = 0; i < wb->n_results; i++) {
		const run_result *r = &wb->results[i];
		const split_quality *q = &r->split[0];
		char b[7][16];

		out_printf("%-15s  %-13s  %6d  %6s  %6s  %8s  %9s  %6s  %6s  %6s  %5.1fs\n",
			   r->method, r->noise, r->epochs,
			   out_num(b[0], 16, r->test_acc[0], 4), out_num(b[1], 16, r->test_acc[1], 4),
			   out_num(b[2], 16, r->test_acc[2], 4), out_num(b[3], 16, q->precision, 4),
			   out_num(b[4], 16, q->recall, 4), out_num(b[5], 16, q->f1, 4),
			   out_num(b[6], 16, q->auroc_posterior, 4), r->seconds);
	}
	out_printf("(split columns: head A's split at the last epoch, made by the run's selector, noisy class against the truth)\n");
	return TP_OK;
}
