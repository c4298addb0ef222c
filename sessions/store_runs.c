/* The session store: runs, their settings, per-epoch metrics and GMM
 * states, and checkpoints.  The layout is described in store.h. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "store_db.h"

/* The training settings, named as the `set` command names them.
 * NOTE: a field added to train_config needs a line here to be listed by
 * `compare`; the checkpoint bytes hold every field regardless. */
typedef enum { KEY_INT, KEY_ULONG, KEY_REAL, KEY_BOOL, KEY_SELECTOR } key_type;

typedef struct config_key {
	const char *key;
	key_type type;
	size_t offset;
} config_key;

#define OFF(field) offsetof(train_config, field)

static const config_key config_keys[] = {
	{ "epochs", KEY_INT, OFF(epochs) },
	{ "batch", KEY_INT, OFF(batch_size) },
	{ "lr", KEY_REAL, OFF(lr) },
	{ "momentum", KEY_REAL, OFF(momentum) },
	{ "weight_decay", KEY_REAL, OFF(weight_decay) },
	{ "lr_warmup_epochs", KEY_INT, OFF(lr_warmup_epochs) },
	{ "lr_warmup_value", KEY_REAL, OFF(lr_warmup_value) },
	{ "scale", KEY_REAL, OFF(scale) },
	{ "init_std", KEY_REAL, OFF(init_std) },
	{ "seed", KEY_ULONG, OFF(seed) },
	{ "gce_q", KEY_REAL, OFF(gce_q) },
	{ "smoothing", KEY_REAL, OFF(smoothing) },
	{ "warmup", KEY_INT, OFF(warmup_epochs) },
	{ "tau", KEY_REAL, OFF(tau) },
	{ "temperature", KEY_REAL, OFF(temperature) },
	{ "codivide", KEY_BOOL, OFF(codivide) },
	{ "drop_noisy", KEY_BOOL, OFF(drop_noisy) },
	{ "kl_weight", KEY_REAL, OFF(kl_weight) },
	{ "gmm_reg_covar", KEY_REAL, OFF(gmm_reg_covar) },
	{ "gmm_tol", KEY_REAL, OFF(gmm_tol) },
	{ "gmm_max_iter", KEY_INT, OFF(gmm_max_iter) },
	{ "selector", KEY_SELECTOR, OFF(selector) },
	{ "loss_avg_epochs", KEY_INT, OFF(loss_avg_epochs) },
	{ "forget_rate", KEY_REAL, OFF(forget_rate) },
	{ "forget_epochs", KEY_INT, OFF(forget_epochs) },
	{ "ot_reg", KEY_REAL, OFF(ot_reg) },
	{ "ot_iters", KEY_INT, OFF(ot_iters) },
};

#define N_CONFIG_KEYS ((int)(sizeof config_keys / sizeof config_keys[0]))

/* Writes the shortest decimal that reads back as exactly v. */
static void format_real(char *buf, size_t size, double v)
{
	for (int digits = 6; digits <= 17; digits++) {
		snprintf(buf, size, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void config_value(const config_key *k, const train_config *c, char *buf, size_t size)
{
	const char *p = (const char *)c + k->offset;

	switch (k->type) {
	case KEY_INT:
		snprintf(buf, size, "%d", *(const int *)(const void *)p);
		break;
	case KEY_ULONG:
		snprintf(buf, size, "%lu", *(const unsigned long *)(const void *)p);
		break;
	case KEY_REAL:
		format_real(buf, size, *(const double *)(const void *)p);
		break;
	case KEY_BOOL:
		snprintf(buf, size, "%s", *(const int *)(const void *)p ? "on" : "off");
		break;
	case KEY_SELECTOR:
		snprintf(buf, size, "%s", selector_name((selector_kind)*(const int *)(const void *)p));
		break;
	}
}

/* Replaces the run's settings with those of c. */
static tp_status settings_write(store *s, long run, const train_config *c)
{
	for (int i = 0; i < N_CONFIG_KEYS; i++) {
		char value[64];
		sqlite3_stmt *stmt;
		tp_status st = store_db_prepare(s, "record the settings",
						"INSERT OR REPLACE INTO run_settings(run_id, seq, key, value) VALUES (?1, ?2, ?3, ?4)",
						&stmt);

		if (st != TP_OK)
			return st;
		config_value(&config_keys[i], c, value, sizeof value);
		sqlite3_bind_int64(stmt, 1, run);
		sqlite3_bind_int(stmt, 2, i);
		sqlite3_bind_text(stmt, 3, config_keys[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, value, -1, SQLITE_TRANSIENT);
		st = store_db_run(s, "record the settings", stmt);
		if (st != TP_OK)
			return st;
	}
	return TP_OK;
}

/* Ends a transaction begun by a write function (see store.c). */
static tp_status finish(store *s, tp_status st)
{
	if (st != TP_OK) {
		store_rollback(s);
		return st;
	}
	return store_commit(s);
}

/* ---- runs ---- */

tp_status store_run_create(store *s, long session, const store_run_spec *spec, long *id)
{
	const dataset *d = spec->data;
	char data_sum[17], labels_sum[17];
	sqlite3_stmt *stmt;
	tp_status st;

	store_checksum_format(store_data_checksum(d), data_sum);
	store_checksum_format(store_labels_checksum(spec->y_given, d->n_train), labels_sum);
	st = store_begin(s);
	if (st != TP_OK)
		return st;
	st = store_db_prepare(s, "record a new run",
			      "INSERT INTO runs(session_id, created, data_name, data_checksum, labels_checksum, "
			      "n_train, n_test, n_classes, dim, noise, noise_rate, noise_seed, method, epochs_planned) "
			      "VALUES (?1, " STORE_NOW ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", &stmt);
	if (st != TP_OK)
		return finish(s, st);
	sqlite3_bind_int64(stmt, 1, session);
	sqlite3_bind_text(stmt, 2, d->name ? d->name : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, data_sum, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, labels_sum, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 5, d->n_train);
	sqlite3_bind_int(stmt, 6, d->n_test);
	sqlite3_bind_int(stmt, 7, d->n_classes);
	sqlite3_bind_int(stmt, 8, d->dim);
	sqlite3_bind_text(stmt, 9, noise_kind_name(spec->noise), -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 10, spec->noise == NOISE_NONE ? 0.0 : spec->noise_rate);
	sqlite3_bind_int64(stmt, 11, spec->noise == NOISE_NONE ? 0 : (sqlite3_int64)spec->noise_seed);
	sqlite3_bind_text(stmt, 12, train_method_name(spec->config->method), -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 13, spec->config->epochs);
	st = store_db_run(s, "record a new run", stmt);
	if (st == TP_OK) {
		*id = (long)sqlite3_last_insert_rowid(s->db);
		st = settings_write(s, *id, spec->config);
	}
	return finish(s, st);
}

tp_status store_run_close(store *s, long run)
{
	sqlite3_stmt *stmt;
	tp_status st = store_db_prepare(s, "close a run", "UPDATE runs SET closed = 1 WHERE id = ?1", &stmt);

	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	return store_db_run(s, "close a run", stmt);
}

/* ---- epochs ---- */

#define EPOCH_COLUMNS \
	"SELECT e.epoch, e.warmup, e.lr, e.train_loss, e.test_acc_a, e.test_acc_b, e.test_acc_ensemble, " \
	"e.target_acc, e.clean_used_a, e.clean_used_b, e.seconds, e.samples_per_second FROM epochs e "

#define GMM_COLUMNS \
	"SELECT head, valid, mean_clean, mean_noisy, var_clean, var_noisy, weight_clean, weight_noisy, " \
	"loglik, iterations, degenerate, n_pred_clean, n, true_pos, false_pos, false_neg, true_neg, " \
	"precision, recall, f1, auroc_posterior, auroc_loss FROM gmm_states WHERE run_id = ?1 AND epoch = ?2"

static void epoch_read_row(sqlite3_stmt *stmt, epoch_report *r)
{
	memset(r, 0, sizeof *r);
	r->epoch = sqlite3_column_int(stmt, 0);
	r->warmup = sqlite3_column_int(stmt, 1);
	r->lr = store_db_real(stmt, 2);
	r->train_loss = store_db_real(stmt, 3);
	for (int k = 0; k < 3; k++)
		r->test_acc[k] = store_db_real(stmt, 4 + k);
	r->target_acc = store_db_real(stmt, 7);
	r->n_clean_used[0] = sqlite3_column_int(stmt, 8);
	r->n_clean_used[1] = sqlite3_column_int(stmt, 9);
	r->seconds = store_db_real(stmt, 10);
	r->samples_per_second = store_db_real(stmt, 11);
}

static void split_read_row(sqlite3_stmt *stmt, split_report *sp)
{
	split_quality *q = &sp->quality;

	sp->valid = sqlite3_column_int(stmt, 1);
	for (int c = 0; c < 2; c++) {
		sp->mean[c] = store_db_real(stmt, 2 + c);
		sp->var[c] = store_db_real(stmt, 4 + c);
		sp->weight[c] = store_db_real(stmt, 6 + c);
	}
	sp->loglik = store_db_real(stmt, 8);
	sp->iterations = sqlite3_column_int(stmt, 9);
	sp->degenerate = sqlite3_column_int(stmt, 10);
	sp->n_pred_clean = sqlite3_column_int(stmt, 11);
	q->n = sqlite3_column_int(stmt, 12);
	q->true_pos = sqlite3_column_int(stmt, 13);
	q->false_pos = sqlite3_column_int(stmt, 14);
	q->false_neg = sqlite3_column_int(stmt, 15);
	q->true_neg = sqlite3_column_int(stmt, 16);
	q->precision = store_db_real(stmt, 17);
	q->recall = store_db_real(stmt, 18);
	q->f1 = store_db_real(stmt, 19);
	q->auroc_posterior = store_db_real(stmt, 20);
	q->auroc_loss = store_db_real(stmt, 21);
}

/* Fills the GMM states of report r of run from gmm_states. */
static tp_status epoch_read_splits(store *s, long run, epoch_report *r)
{
	sqlite3_stmt *stmt;
	int rc;
	tp_status st = store_db_prepare(s, "read the GMM states", GMM_COLUMNS, &stmt);

	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, r->epoch);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int k = sqlite3_column_int(stmt, 0);

		if (k == 0 || k == 1)
			split_read_row(stmt, &r->split[k]);
	}
	if (rc != SQLITE_DONE)
		st = store_db_fail(s, "read the GMM states", rc);
	sqlite3_finalize(stmt);
	return st;
}

/* Reads the epochs of run, all of them or only the last. */
static tp_status epochs_read(store *s, long run, int last_only, epoch_report **out, int *n)
{
	sqlite3_stmt *stmt;
	epoch_report *list = NULL;
	int count = 0, rc;
	tp_status st = store_db_prepare(s, "read the epochs", last_only
					? EPOCH_COLUMNS "WHERE e.run_id = ?1 ORDER BY e.epoch DESC LIMIT 1"
					: EPOCH_COLUMNS "WHERE e.run_id = ?1 ORDER BY e.epoch", &stmt);

	*out = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		epoch_report *grown = realloc(list, (size_t)(count + 1) * sizeof *list);

		if (!grown) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading %d epochs", count + 1);
			break;
		}
		list = grown;
		epoch_read_row(stmt, &list[count++]);
	}
	if (st == TP_OK && rc != SQLITE_DONE)
		st = store_db_fail(s, "read the epochs", rc);
	sqlite3_finalize(stmt);
	for (int i = 0; i < count && st == TP_OK; i++)
		st = epoch_read_splits(s, run, &list[i]);
	if (st != TP_OK) {
		free(list);
		return st;
	}
	*out = list;
	*n = count;
	return TP_OK;
}

tp_status store_epoch_list(store *s, long run, epoch_report **out, int *n)
{
	return epochs_read(s, run, 0, out, n);
}

static tp_status split_write(store *s, long run, int epoch, int k, const split_report *sp)
{
	const split_quality *q = &sp->quality;
	sqlite3_stmt *stmt;
	tp_status st = store_db_prepare(s, "record a GMM state",
					"INSERT OR REPLACE INTO gmm_states(run_id, epoch, head, valid, mean_clean, mean_noisy, "
					"var_clean, var_noisy, weight_clean, weight_noisy, loglik, iterations, degenerate, "
					"n_pred_clean, n, true_pos, false_pos, false_neg, true_neg, precision, recall, f1, "
					"auroc_posterior, auroc_loss) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
					"?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)", &stmt);

	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, epoch);
	sqlite3_bind_int(stmt, 3, k);
	sqlite3_bind_int(stmt, 4, sp->valid);
	for (int c = 0; c < 2; c++) {
		store_db_bind_real(stmt, 5 + c, sp->mean[c]);
		store_db_bind_real(stmt, 7 + c, sp->var[c]);
		store_db_bind_real(stmt, 9 + c, sp->weight[c]);
	}
	store_db_bind_real(stmt, 11, sp->loglik);
	sqlite3_bind_int(stmt, 12, sp->iterations);
	sqlite3_bind_int(stmt, 13, sp->degenerate);
	sqlite3_bind_int(stmt, 14, sp->n_pred_clean);
	sqlite3_bind_int(stmt, 15, q->n);
	sqlite3_bind_int(stmt, 16, q->true_pos);
	sqlite3_bind_int(stmt, 17, q->false_pos);
	sqlite3_bind_int(stmt, 18, q->false_neg);
	sqlite3_bind_int(stmt, 19, q->true_neg);
	store_db_bind_real(stmt, 20, q->precision);
	store_db_bind_real(stmt, 21, q->recall);
	store_db_bind_real(stmt, 22, q->f1);
	store_db_bind_real(stmt, 23, q->auroc_posterior);
	store_db_bind_real(stmt, 24, q->auroc_loss);
	return store_db_run(s, "record a GMM state", stmt);
}

tp_status store_epoch_save(store *s, long run, const epoch_report *r)
{
	sqlite3_stmt *stmt;
	tp_status st = store_begin(s);

	if (st != TP_OK)
		return st;
	/* REPLACE: two instances that continue the same run write the same
	 * epoch twice, and the later one wins */
	st = store_db_prepare(s, "record an epoch",
			      "INSERT OR REPLACE INTO epochs(run_id, epoch, warmup, lr, train_loss, test_acc_a, "
			      "test_acc_b, test_acc_ensemble, target_acc, clean_used_a, clean_used_b, seconds, "
			      "samples_per_second) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			      &stmt);
	if (st != TP_OK)
		return finish(s, st);
	sqlite3_bind_int64(stmt, 1, run);
	sqlite3_bind_int(stmt, 2, r->epoch);
	sqlite3_bind_int(stmt, 3, r->warmup);
	store_db_bind_real(stmt, 4, r->lr);
	store_db_bind_real(stmt, 5, r->train_loss);
	for (int k = 0; k < 3; k++)
		store_db_bind_real(stmt, 6 + k, r->test_acc[k]);
	store_db_bind_real(stmt, 9, r->target_acc);
	sqlite3_bind_int(stmt, 10, r->n_clean_used[0]);
	sqlite3_bind_int(stmt, 11, r->n_clean_used[1]);
	store_db_bind_real(stmt, 12, r->seconds);
	store_db_bind_real(stmt, 13, r->samples_per_second);
	st = store_db_run(s, "record an epoch", stmt);
	if (st == TP_OK)
		st = store_db_prepare(s, "record an epoch",
				      "UPDATE runs SET epochs_done = max(epochs_done, ?2) WHERE id = ?1", &stmt);
	if (st == TP_OK) {
		sqlite3_bind_int64(stmt, 1, run);
		sqlite3_bind_int(stmt, 2, r->epoch);
		st = store_db_run(s, "record an epoch", stmt);
	}

	/* head B exists when it has a test accuracy or a fitted GMM */
	for (int k = 0; k < 2 && st == TP_OK; k++)
		if (k == 0 || r->split[k].valid || !isnan(r->test_acc[k]))
			st = split_write(s, run, r->epoch, k, &r->split[k]);
	return finish(s, st);
}

/* ---- reading runs ---- */

#define RUN_COLUMNS \
	"SELECT r.id, r.session_id, s.name, r.created, r.data_name, r.data_checksum, r.labels_checksum, " \
	"r.n_train, r.n_test, r.n_classes, r.dim, r.noise, r.noise_rate, r.noise_seed, r.method, " \
	"r.epochs_planned, r.epochs_done, r.closed, c.run_id IS NOT NULL, coalesce(c.epoch, 0), " \
	"coalesce(c.in_epoch, 0), coalesce(c.params_checksum, '') " \
	"FROM runs r JOIN sessions s ON s.id = r.session_id LEFT JOIN checkpoints c ON c.run_id = r.id "

static int run_read_row(sqlite3_stmt *stmt, store_run *r)
{
	memset(r, 0, sizeof *r);
	r->id = (long)sqlite3_column_int64(stmt, 0);
	r->session_id = (long)sqlite3_column_int64(stmt, 1);
	r->session_name = store_db_text(stmt, 2);
	r->created = store_db_text(stmt, 3);
	r->data_name = store_db_text(stmt, 4);
	r->data_checksum = store_db_text(stmt, 5);
	r->labels_checksum = store_db_text(stmt, 6);
	r->n_train = sqlite3_column_int(stmt, 7);
	r->n_test = sqlite3_column_int(stmt, 8);
	r->n_classes = sqlite3_column_int(stmt, 9);
	r->dim = sqlite3_column_int(stmt, 10);
	r->noise = store_db_text(stmt, 11);
	r->noise_rate = sqlite3_column_double(stmt, 12);
	r->noise_seed = (unsigned long)sqlite3_column_int64(stmt, 13);
	r->method = store_db_text(stmt, 14);
	r->epochs_planned = sqlite3_column_int(stmt, 15);
	r->epochs_done = sqlite3_column_int(stmt, 16);
	r->closed = sqlite3_column_int(stmt, 17);
	r->has_checkpoint = sqlite3_column_int(stmt, 18);
	r->checkpoint_epoch = sqlite3_column_int(stmt, 19);
	r->checkpoint_in_epoch = sqlite3_column_int(stmt, 20);
	r->params_checksum = store_db_text(stmt, 21);
	return r->session_name && r->created && r->data_name && r->data_checksum &&
	       r->labels_checksum && r->noise && r->method && r->params_checksum;
}

void store_run_clear(store_run *run)
{
	free(run->session_name);
	free(run->created);
	free(run->data_name);
	free(run->data_checksum);
	free(run->labels_checksum);
	free(run->noise);
	free(run->method);
	free(run->params_checksum);
	memset(run, 0, sizeof *run);
}

void store_run_list_free(store_run *runs, int n)
{
	for (int i = 0; i < n; i++)
		store_run_clear(&runs[i]);
	free(runs);
}

/* Reads the rows of a prepared RUN_COLUMNS statement, with the metrics of
 * each run's last epoch. */
static tp_status runs_read(store *s, sqlite3_stmt *stmt, store_run **out, int *n)
{
	store_run *list = NULL;
	int count = 0, rc;
	tp_status st = TP_OK;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_run *grown = realloc(list, (size_t)(count + 1) * sizeof *list);

		if (!grown) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory listing %d runs", count + 1);
			break;
		}
		list = grown;
		if (!run_read_row(stmt, &list[count++])) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory listing %d runs", count);
			break;
		}
	}
	if (st == TP_OK && rc != SQLITE_DONE)
		st = store_db_fail(s, "list the runs", rc);
	sqlite3_finalize(stmt);
	for (int i = 0; i < count && st == TP_OK; i++) {
		epoch_report *last;
		int n_last;

		st = epochs_read(s, list[i].id, 1, &last, &n_last);
		if (st == TP_OK && n_last == 1)
			list[i].last = last[0];
		if (st == TP_OK)
			free(last);
	}
	if (st != TP_OK) {
		store_run_list_free(list, count);
		return st;
	}
	*out = list;
	*n = count;
	return TP_OK;
}

tp_status store_run_list(store *s, long session, store_run **out, int *n)
{
	sqlite3_stmt *stmt;
	tp_status st = store_db_prepare(s, "list the runs",
					RUN_COLUMNS "WHERE ?1 = 0 OR r.session_id = ?1 ORDER BY r.id", &stmt);

	*out = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, session);
	return runs_read(s, stmt, out, n);
}

tp_status store_run_get(store *s, long run, store_run *out)
{
	sqlite3_stmt *stmt;
	store_run *list;
	int n;
	tp_status st = store_db_prepare(s, "read a run", RUN_COLUMNS "WHERE r.id = ?1", &stmt);

	memset(out, 0, sizeof *out);
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	st = runs_read(s, stmt, &list, &n);
	if (st != TP_OK)
		return st;
	if (n == 0) {
		free(list);
		return tp_fail(TP_ERR_VALUE, "run %ld is not in the store '%s': 'runs' lists the recorded runs", run, s->path);
	}
	*out = list[0];
	free(list);
	return TP_OK;
}

tp_status store_run_settings(store *s, long run, store_setting **out, int *n)
{
	sqlite3_stmt *stmt;
	store_setting *list = NULL;
	int count = 0, rc;
	tp_status st = store_db_prepare(s, "read the settings",
					"SELECT key, value FROM run_settings WHERE run_id = ?1 ORDER BY seq", &stmt);

	*out = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_setting *grown = realloc(list, (size_t)(count + 1) * sizeof *list);

		if (!grown) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading the settings");
			break;
		}
		list = grown;
		list[count].key = store_db_text(stmt, 0);
		list[count].value = store_db_text(stmt, 1);
		count++;
		if (!list[count - 1].key || !list[count - 1].value) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading the settings");
			break;
		}
	}
	if (st == TP_OK && rc != SQLITE_DONE)
		st = store_db_fail(s, "read the settings", rc);
	sqlite3_finalize(stmt);
	if (st != TP_OK) {
		store_settings_free(list, count);
		return st;
	}
	*out = list;
	*n = count;
	return TP_OK;
}

void store_settings_free(store_setting *settings, int n)
{
	for (int i = 0; i < n; i++) {
		free(settings[i].key);
		free(settings[i].value);
	}
	free(settings);
}

/* ---- checkpoints ---- */

tp_status store_checkpoint_save(store *s, long run, trainer *t)
{
	unsigned char *state;
	size_t size;
	char params[17];
	sqlite3_stmt *stmt;
	tp_status st;

	st = train_state_save(t, &state, &size);
	if (st != TP_OK)
		return st;
	if (size > (size_t)0x7fffffff) {
		free(state);
		return tp_fail(TP_ERR_VALUE, "store: the training state has %zu bytes, more than an SQLite blob holds",
			       size);
	}
	store_checksum_format(store_params_checksum(t), params);

	st = store_begin(s);
	if (st == TP_OK)
		st = store_db_prepare(s, "write the checkpoint",
				      "INSERT OR REPLACE INTO checkpoints(run_id, epoch, in_epoch, step, time, "
				      "params_checksum, state) VALUES (?1, ?2, ?3, ?4, " STORE_NOW ", ?5, ?6)", &stmt);
	if (st == TP_OK) {
		sqlite3_bind_int64(stmt, 1, run);
		sqlite3_bind_int(stmt, 2, train_epochs_done(t));
		sqlite3_bind_int(stmt, 3, train_in_epoch(t));
		sqlite3_bind_int64(stmt, 4, train_steps_done(t));
		sqlite3_bind_text(stmt, 5, params, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(stmt, 6, state, (int)size, SQLITE_STATIC);
		st = store_db_run(s, "write the checkpoint", stmt);
	}
	if (st == TP_OK)
		st = store_db_prepare(s, "write the checkpoint",
				      "UPDATE runs SET epochs_done = ?2, epochs_planned = ?3 WHERE id = ?1", &stmt);
	if (st == TP_OK) {
		sqlite3_bind_int64(stmt, 1, run);
		sqlite3_bind_int(stmt, 2, train_epochs_done(t));
		sqlite3_bind_int(stmt, 3, train_config_of(t)->epochs);
		st = store_db_run(s, "write the checkpoint", stmt);
	}
	if (st == TP_OK)
		st = settings_write(s, run, train_config_of(t));
	free(state);
	return finish(s, st);
}

tp_status store_checkpoint_load(store *s, long run, unsigned char **state, size_t *size)
{
	sqlite3_stmt *stmt;
	int rc;
	tp_status st = store_db_prepare(s, "read the checkpoint",
					"SELECT state FROM checkpoints WHERE run_id = ?1", &stmt);

	*state = NULL;
	*size = 0;
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, run);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		int bytes = sqlite3_column_bytes(stmt, 0);
		const void *blob = sqlite3_column_blob(stmt, 0);

		*state = malloc(bytes > 0 ? (size_t)bytes : 1);
		if (!*state)
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory for a checkpoint of %d bytes", bytes);
		else if (bytes > 0)
			memcpy(*state, blob, (size_t)bytes);
		*size = (size_t)bytes;
	} else if (rc == SQLITE_DONE) {
		st = tp_fail(TP_ERR_STATE, "run %ld has no checkpoint in '%s'", run, s->path);
	} else {
		st = store_db_fail(s, "read the checkpoint", rc);
	}
	sqlite3_finalize(stmt);
	return st;
}
