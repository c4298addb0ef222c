/* The trainer on synthetic, separable data: every method learns, the twin
 * method's split finds the noise, and training in pieces or after an
 * interruption gives the same run as training in one go. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "synthetic.h"
#include "tap.h"
#include "train.h"

#define C 4
#define D 16
#define N_TRAIN 1200
#define N_TEST 400

static float x_train[N_TRAIN * D], x_test[N_TEST * D];
static int y_train[N_TRAIN], y_test[N_TEST], y_noisy[N_TRAIN], index_map[N_TRAIN];
static dataset data;

static void make_data(void)
{
	synthetic_dataset(&data, C, D, 0.3, 7, x_train, y_train, index_map, N_TRAIN, x_test, y_test, N_TEST);
}

static const epoch_report *last_report(trainer *t)
{
	int n;
	const epoch_report *h = train_history(t, &n);

	return n ? &h[n - 1] : NULL;
}

static void test_methods_learn(void)
{
	static const train_method methods[] = { METHOD_CE, METHOD_GCE, METHOD_LS, METHOD_TWIN };

	for (int m = 0; m < 4; m++) {
		train_config cfg;
		trainer *t;
		const epoch_report *r;

		train_config_defaults(&cfg);
		cfg.method = methods[m];
		cfg.epochs = 8;
		/* s = 100 leaves label smoothing a logit gap of 0.04 in cosine
		 * terms, too small for this jitter; s = 16 suits the data */
		cfg.scale = 16;
		cfg.lr = 0.01;
		ok(train_create(&data, y_train, &cfg, &t) == TP_OK, "%s: trainer created", train_method_name(methods[m]));
		ok(train_run(t, 0, NULL) == TP_OK, "%s: trains", train_method_name(methods[m]));
		r = last_report(t);
		is_int(r->epoch, 8, "ran the whole schedule");
		if (!ok(r->test_acc[0] > 0.97, "%s: clean separable data reaches high accuracy",
			train_method_name(methods[m])))
			diag("test accuracy %.4f", r->test_acc[0]);
		if (methods[m] == METHOD_TWIN) {
			ok(r->test_acc[1] > 0.97, "twin: head B learns too (%.4f)", r->test_acc[1]);
			ok(r->test_acc[2] > 0.97, "twin: the ensemble learns (%.4f)", r->test_acc[2]);
		} else {
			ok(isnan(r->test_acc[1]), "%s: no head B", train_method_name(methods[m]));
		}
		train_free(t);
	}
}

static void test_twin_split(void)
{
	train_config cfg;
	trainer *t;
	const epoch_report *r;

	ok(noise_apply(NOISE_SYM, 0.4, 3, y_train, N_TRAIN, C, y_noisy, NULL) == TP_OK, "noise applied");
	train_config_defaults(&cfg);
	cfg.method = METHOD_TWIN;
	cfg.epochs = 10;
	/* with D = 16 the initial |W| is 0.08, so the step on the unit
	 * weights is large: a small learning rate keeps the warm-up from
	 * memorising the noise */
	cfg.lr = 0.0003;
	cfg.scale = 30;
	ok(train_create(&data, y_noisy, &cfg, &t) == TP_OK, "twin trainer on noisy labels");
	ok(train_run(t, 0, NULL) == TP_OK, "twin trains on noisy labels");
	r = last_report(t);
	if (!ok(r->test_acc[2] > 0.95, "twin ensemble is accurate under 40%% noise"))
		diag("ensemble accuracy %.4f", r->test_acc[2]);
	if (!ok(r->split[0].quality.f1 > 0.9, "head A's split finds the noisy labels"))
		diag("F1 %.4f, AUROC %.4f", r->split[0].quality.f1, r->split[0].quality.auroc_posterior);
	ok(r->split[1].valid && r->split[1].quality.auroc_loss > 0.95, "head B's losses rank the noisy labels");
	ok(r->n_clean_used[0] > 0 && r->n_clean_used[0] < N_TRAIN, "head A trains on a part as clean (%d)",
	   r->n_clean_used[0]);
	ok(r->target_acc > 0.9, "most training targets match the truth (%.4f)", r->target_acc);
	train_free(t);
}

/* Every selector drives the twin and single methods; the oracle's split is
 * the truth itself. */
static void test_selectors_in_training(void)
{
	static const char *const names[] = { "gmm", "gmm-class", "joapr", "ot", "small-loss", "oracle" };

	for (int sel = 0; sel < 6; sel++) {
		for (int single = 0; single < 2; single++) {
			train_config cfg;
			trainer *t;
			const epoch_report *r;
			tp_status st;

			train_config_defaults(&cfg);
			cfg.method = single ? METHOD_SINGLE : METHOD_TWIN;
			cfg.selector = sel;
			cfg.epochs = 5;
			cfg.lr = 0.0003;
			cfg.scale = 30;
			cfg.loss_avg_epochs = 2;
			train_create(&data, y_noisy, &cfg, &t);
			st = train_run(t, 0, NULL);
			r = last_report(t);
			ok(st == TP_OK && r && r->split[0].valid, "%s with selector %s trains",
			   single ? "single" : "twin", names[sel]);
			if (r && sel == 5)
				is_near(r->split[0].quality.f1, 1.0, 1e-12, "oracle split has F1 1");
			if (r && !single)
				ok(r->test_acc[2] > 0.9, "twin with %s learns (ensemble %.4f)", names[sel], r->test_acc[2]);
			if (r && single)
				ok(isnan(r->test_acc[1]) && r->test_acc[0] > 0.9, "single with %s learns with one head (%.4f)",
				   names[sel], r->test_acc[0]);
			train_free(t);
		}
	}
}

/* Stops after a fixed number of batches. */
static int stop_after;
static int batches_seen;
static int stop_hook(void *user)
{
	(void)user;
	return ++batches_seen == stop_after;
}

static int same_history(trainer *a, trainer *b)
{
	int na, nb;
	const epoch_report *ha = train_history(a, &na);
	const epoch_report *hb = train_history(b, &nb);

	if (na != nb)
		return 0;
	for (int e = 0; e < na; e++) {
		if (ha[e].train_loss != hb[e].train_loss || ha[e].test_acc[0] != hb[e].test_acc[0] ||
		    ha[e].test_acc[2] != hb[e].test_acc[2] || ha[e].split[0].loglik != hb[e].split[0].loglik)
			return 0;
	}
	return 1;
}

static void test_pieces_equal_one_run(void)
{
	train_config cfg;
	trainer *whole, *pieces, *stopped;
	train_hooks hooks = { NULL, stop_hook, NULL, NULL };
	tp_status st;

	train_config_defaults(&cfg);
	cfg.method = METHOD_TWIN;
	cfg.epochs = 6;
	cfg.lr = 0.02;
	train_create(&data, y_noisy, &cfg, &whole);
	train_create(&data, y_noisy, &cfg, &pieces);
	train_create(&data, y_noisy, &cfg, &stopped);

	train_run(whole, 0, NULL);
	train_run(pieces, 2, NULL);
	is_int(train_epochs_done(pieces), 2, "train 2 runs two epochs");
	train_run(pieces, 3, NULL);
	train_run(pieces, 0, NULL);
	ok(same_history(whole, pieces), "2 + 3 + rest epochs give the same reports as one run");
	ok(memcmp(train_gmm(whole, 1)->x, train_gmm(pieces, 1)->x, N_TRAIN * sizeof(double)) == 0,
	   "and the same final losses, bit for bit");

	stop_after = 50;
	st = train_run(stopped, 0, &hooks);
	ok(st == TP_ERR_INTERRUPTED, "stop hook interrupts training");
	ok(train_in_epoch(stopped), "interrupted mid-epoch");
	is_int(train_epochs_done(stopped), 1, "one epoch finished before the stop (38 batches each)");
	stop_after = -1;
	ok(train_run(stopped, 0, &hooks) == TP_OK, "training resumes after the interruption");
	ok(same_history(whole, stopped), "an interrupted run equals an uninterrupted one");

	ok(train_run(whole, 0, NULL) == TP_OK && train_epochs_done(whole) == 6, "a finished schedule does nothing more");
	train_free(whole);
	train_free(pieces);
	train_free(stopped);
}

/* Saving mid-epoch, restoring into a new run and finishing equals one run. */
static void test_state_round_trip(void)
{
	train_config cfg;
	trainer *whole, *first, *second;
	train_hooks hooks = { NULL, stop_hook, NULL, NULL };
	unsigned char *state;
	size_t size;

	train_config_defaults(&cfg);
	cfg.method = METHOD_TWIN;
	cfg.epochs = 5;
	cfg.lr = 0.001;
	train_create(&data, y_noisy, &cfg, &whole);
	train_create(&data, y_noisy, &cfg, &first);
	train_create(&data, y_noisy, &cfg, &second);
	train_run(whole, 0, NULL);

	batches_seen = 0;
	stop_after = 100;   /* in epoch 3 */
	ok(train_run(first, 0, &hooks) == TP_ERR_INTERRUPTED, "first run interrupted");
	ok(train_state_save(first, &state, &size) == TP_OK, "state saved (%zu bytes)", size);
	ok(train_state_restore(second, state, size - 1) == TP_ERR_FORMAT, "truncated state rejected");
	ok(train_state_restore(second, state, size) == TP_OK, "state restored into a new run");
	is_int(train_epochs_done(second), 2, "restored run knows its epochs");
	stop_after = -1;
	ok(train_run(second, 0, &hooks) == TP_OK, "restored run finishes");
	ok(same_history(whole, second), "save, restore and finish equals one run");
	ok(memcmp(train_head(whole, 1)->param, train_head(second, 1)->param,
		  train_head(whole, 1)->n_param * sizeof(float)) == 0, "final parameters identical bit for bit");
	state[0] ^= 0xff;
	ok(train_state_restore(second, state, size) == TP_ERR_FORMAT, "foreign bytes rejected");
	free(state);
	train_free(whole);
	train_free(first);
	train_free(second);
}

static void test_config_errors(void)
{
	train_config cfg;
	trainer *t = NULL;
	int bad_labels[N_TRAIN];

	train_config_defaults(&cfg);
	cfg.lr = -1;
	ok(train_create(&data, y_train, &cfg, &t) == TP_ERR_VALUE && t == NULL, "negative lr rejected");
	ok(strstr(tp_last_error(), "lr") != NULL, "message names lr: %s", tp_last_error());
	train_config_defaults(&cfg);
	cfg.tau = 1.5;
	ok(train_create(&data, y_train, &cfg, &t) == TP_ERR_VALUE, "tau above 1 rejected");
	train_config_defaults(&cfg);
	memcpy(bad_labels, y_train, sizeof bad_labels);
	bad_labels[17] = C;
	ok(train_create(&data, bad_labels, &cfg, &t) == TP_ERR_VALUE, "given label out of range rejected");
	ok(strstr(tp_last_error(), "17") != NULL, "message names the sample: %s", tp_last_error());
}

static void test_gmm_init_of_run(void)
{
	train_config cfg;
	trainer *t;

	train_config_defaults(&cfg);
	train_create(&data, y_noisy, &cfg, &t);
	ok(train_gmm_init(t, 1) == TP_ERR_STATE, "no head B in a single-head run");
	ok(train_gmm_init(t, 0) == TP_OK, "GMM of head A initialised from the run's losses");
	is_int(train_gmm(t, 0)->n, N_TRAIN, "one loss per training sample");
	train_free(t);
}

int main(void)
{
	make_data();
	test_methods_learn();
	test_twin_split();
	test_selectors_in_training();
	test_pieces_equal_one_run();
	test_state_round_trip();
	test_config_errors();
	test_gmm_init_of_run();
	return done_testing();
}
