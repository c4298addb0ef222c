/* The session store: recognising and refusing files (foreign, newer,
 * corrupt, read-only) without changing them, sessions and the journal,
 * runs with their metrics read back exactly, a checkpoint that resumes a
 * run bit for bit, checksums, and two processes writing at once. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "noise.h"
#include "store.h"
#include "synthetic.h"
#include "tap.h"
#include "train.h"

#define C 4
#define D 8
#define N_TRAIN 400
#define N_TEST 100

static char dir[] = "/tmp/tp_test_store_XXXXXX";
static float x_train[N_TRAIN * D], x_test[N_TEST * D];
static int y_train[N_TRAIN], y_test[N_TEST], y_noisy[N_TRAIN], index_map[N_TRAIN];
static char *class_names[C] = { "north", "east", "south", "west" };
static dataset data;

static const char *path_in(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void make_data(void)
{
	synthetic_dataset(&data, C, D, 0.6, 11, x_train, y_train, index_map, N_TRAIN, x_test, y_test, N_TEST);
	data.class_names = class_names;
	noise_apply(NOISE_SYM, 0.4, 3, y_train, N_TRAIN, C, y_noisy, NULL);
}

/* Reads a whole file; *size is -1 when it cannot be read. */
static unsigned char *read_all(const char *path, long *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;

	*size = -1;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)*size + 1);
	if (buf && fread(buf, 1, (size_t)*size, f) != (size_t)*size)
		*size = -1;
	fclose(f);
	return buf;
}

static int file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Opens path expecting failure with status want; checks that the message
 * contains text and the path, and that the file's bytes did not change. */
static void expect_refused(const char *path, tp_status want, const char *text, const char *name)
{
	long before_size, after_size;
	unsigned char *before = read_all(path, &before_size);
	unsigned char *after;
	char wal[300];
	store *s = NULL;
	tp_status st = store_open(path, 1, &s);

	ok(st == want && s == NULL, "%s: refused with status %d", name, (int)want);
	if (st != want)
		diag("got status %d: %s", (int)st, tp_last_error());
	ok(strstr(tp_last_error(), text) != NULL, "%s: message says '%s'", name, text);
	ok(strstr(tp_last_error(), path) != NULL, "%s: message names the file", name);
	if (!strstr(tp_last_error(), text))
		diag("message: %s", tp_last_error());
	after = read_all(path, &after_size);
	ok(before_size >= 0 && before_size == after_size && memcmp(before, after, (size_t)before_size) == 0,
	   "%s: file unchanged", name);
	snprintf(wal, sizeof wal, "%s-wal", path);
	ok(!file_exists(wal), "%s: no -wal file left beside it", name);
	store_close(s);
	free(before);
	free(after);
}

static long raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			v = (long)sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
	return v;
}

static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void test_create_and_reopen(void)
{
	const char *path = path_in("new.db");
	store *s = NULL;

	ok(store_open(path, 0, &s) == TP_ERR_IO && s == NULL, "missing store without create is refused");
	ok(!file_exists(path), "refusing creates no file");
	ok(store_open(path, 1, &s) == TP_OK && s != NULL, "new store created");
	store_close(s);
	is_int(raw_int(path, "PRAGMA application_id"), STORE_APPLICATION_ID, "application id written");
	is_int(raw_int(path, "PRAGMA user_version"), store_schema_version(), "schema version written");
	is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'checkpoints'"), 1, "tables created");
	ok(store_open(path, 0, &s) == TP_OK, "existing store reopens");
	store_close(s);
	ok(store_open(dir, 1, &s) == TP_ERR_IO && strstr(tp_last_error(), "folder"), "a folder is refused");
}

static void test_foreign_files(void)
{
	const char *text = path_in("notes.txt");
	const char *other = path_in("other.db");
	const char *newer = path_in("newer.db");
	FILE *f = fopen(text, "w");

	for (int i = 0; i < 200; i++)
		fprintf(f, "line %d of a file that is not a database\n", i);
	fclose(f);
	expect_refused(text, TP_ERR_FORMAT, "not a twinprompt store", "text file");

	raw_exec(other, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);");
	expect_refused(other, TP_ERR_FORMAT, "another program", "database of another program");

	raw_exec(newer, "PRAGMA application_id = 1414550355; PRAGMA user_version = 99; CREATE TABLE x(y);");
	expect_refused(newer, TP_ERR_FORMAT, "schema version 99", "store of a newer schema");

	raw_exec(newer, "PRAGMA user_version = 0;");
	expect_refused(newer, TP_ERR_FORMAT, "cannot migrate", "store of an unknown older schema");
}

/* Fills a store with enough journal to span many pages. */
static void fill_store(const char *path)
{
	store *s;
	long id;
	char word[200];
	char *argv[3] = { "echo", word, "end" };

	store_open(path, 1, &s);
	store_session_create(s, "filled", "/tmp", NULL, &id);
	for (int i = 0; i < 300; i++) {
		memset(word, 'a' + i % 26, sizeof word - 1);
		word[sizeof word - 1] = '\0';
		store_journal_append(s, id, 3, argv, TP_OK, "", -1);
	}
	store_close(s);
}

static void test_corrupt_files(void)
{
	const char *damaged = path_in("damaged.db");
	const char *cut = path_in("cut.db");
	unsigned char junk[4096];
	long size;
	unsigned char *bytes;
	FILE *f;
	int fd;

	fill_store(damaged);
	ok(raw_int(damaged, "SELECT count(*) FROM journal") == 300, "filled store has 300 entries");
	bytes = read_all(damaged, &size);
	ok(size > 8 * 4096, "filled store spans more than 8 pages (%ld bytes)", size);

	/* overwrite pages 3 to 5 with a pattern: b-tree headers become junk */
	memset(junk, 0xa5, sizeof junk);
	fd = open(damaged, O_WRONLY);
	for (int page = 2; page < 5; page++)
		if (pwrite(fd, junk, sizeof junk, (off_t)page * 4096) != (ssize_t)sizeof junk)
			diag("pwrite failed");
	close(fd);
	expect_refused(damaged, TP_ERR_FORMAT, "corrupt", "store with overwritten pages");

	/* a store cut to half its length */
	f = fopen(cut, "wb");
	fwrite(bytes, 1, (size_t)size / 2, f);
	fclose(f);
	expect_refused(cut, TP_ERR_FORMAT, "corrupt", "store cut in half");
	free(bytes);
}

static void test_read_only(void)
{
	const char *path = path_in("locked.db");
	store *s = NULL;

	if (geteuid() == 0) {
		ok(1, "read-only store refused # SKIP running as root, which may write any file");
		return;
	}
	store_open(path, 1, &s);
	store_close(s);
	chmod(path, 0444);
	s = NULL;
	ok(store_open(path, 1, &s) == TP_ERR_IO && s == NULL, "read-only store refused");
	ok(strstr(tp_last_error(), "read-only") != NULL, "message says read-only: %s", tp_last_error());
	chmod(path, 0644);
}

static void test_names(void)
{
	static const struct { const char *name; int valid; } cases[] = {
		{ "paper-table1", 1 }, { "run_2.b", 1 }, { "7up", 1 }, { "", 0 }, { "-x", 0 },
		{ "two words", 0 }, { "semi;colon", 0 }, { "a/b", 0 }, { ".hidden", 0 },
	};
	char longest[STORE_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(store_name_valid(cases[i].name), cases[i].valid, cases[i].name[0] ? cases[i].name : "(empty name)");
	memset(longest, 'n', sizeof longest);
	longest[STORE_NAME_MAX] = '\0';
	is_int(store_name_valid(longest), 1, "name of the maximum length");
	longest[STORE_NAME_MAX] = 'n';
	longest[STORE_NAME_MAX + 1] = '\0';
	is_int(store_name_valid(longest), 0, "name one over the maximum length");
}

static void test_sessions_and_journal(void)
{
	const char *path = path_in("journal.db");
	char *argv[] = { "load", "features", "my file.npy", "--labels", "it's;here.txt", "" };
	store_session info, *list;
	store_command *cmds;
	store *s;
	long first, second, named;
	int n;

	store_open(path, 1, &s);
	ok(store_session_create(s, NULL, "/data", NULL, &first) == TP_OK, "automatic session created");
	ok(store_session_create(s, NULL, "/data", "replay of x", &second) == TP_OK, "second automatic session");
	ok(store_session_create(s, "paper", "/data", NULL, &named) == TP_OK, "named session created");
	ok(store_session_create(s, "paper", "/data", NULL, &named) == TP_ERR_VALUE, "duplicate name refused");
	ok(store_session_rename(s, first, "paper") == TP_ERR_VALUE, "rename onto a taken name refused");
	ok(store_session_rename(s, first, "session-4") == TP_OK, "rename to a free name");
	/* the next automatic name would be session-4, which is taken now */
	ok(store_session_create(s, NULL, "", NULL, &second) == TP_OK, "automatic session after a clash");
	ok(store_session_get(s, second, &info) == TP_OK, "new session read back");
	ok(info.name && strcmp(info.name, "session-5") == 0, "automatic name skips a taken one (%s)",
	   info.name ? info.name : "?");
	store_session_clear(&info);

	ok(store_journal_append(s, named, 6, argv, TP_OK, "", -1) == TP_OK, "journal entry appended");
	ok(store_journal_append(s, named, 2, (char *[]){ "set", "lr" }, TP_ERR_VALUE, "set: missing VALUE", 3) == TP_OK,
	   "failed command appended");
	ok(store_journal_read(s, named, &cmds, &n) == TP_OK && n == 2, "journal read back (%d entries)", n);
	if (n == 2) {
		is_int(cmds[0].seq, 1, "first entry numbered 1");
		is_int(cmds[1].seq, 2, "second entry numbered 2");
		is_int(cmds[0].argc, 6, "words kept, the empty one too");
		ok(strcmp(cmds[0].argv[2], "my file.npy") == 0 && strcmp(cmds[0].argv[4], "it's;here.txt") == 0 &&
		   cmds[0].argv[5][0] == '\0', "words read back exactly");
		ok(strcmp(cmds[0].line, "load features 'my file.npy' --labels \"it's;here.txt\" ''") == 0,
		   "display line quoted as the lexer reads it: %s", cmds[0].line);
		is_int(cmds[0].epochs_after, -1, "no run: epochs -1");
		is_int(cmds[1].status, TP_ERR_VALUE, "status kept");
		ok(strcmp(cmds[1].message, "set: missing VALUE") == 0, "message kept");
		is_int(cmds[1].epochs_after, 3, "epochs after kept");
		store_journal_free(cmds, n);
	}

	ok(store_session_list(s, &list, &n) == TP_OK && n == 4, "four sessions listed (%d)", n);
	if (n == 4) {
		ok(strcmp(list[0].name, "session-4") == 0 && strcmp(list[2].name, "paper") == 0, "listed oldest first");
		is_int(list[2].n_commands, 2, "command count of a session");
		ok(strcmp(list[1].origin, "replay of x") == 0, "origin kept");
	}
	store_session_list_free(list, n);
	ok(store_session_find(s, "nobody", &info) == TP_ERR_VALUE && strstr(tp_last_error(), "'nobody'"),
	   "unknown session named in the error");
	store_session_set_data(s, named, &data);
	store_session_find(s, "paper", &info);
	ok(strcmp(info.data_name, "synthetic") == 0 && strlen(info.data_checksum) == 16, "data set recorded");
	store_session_clear(&info);
	store_close(s);
}

static void test_checksums(void)
{
	char a[17], b[17];
	uint64_t base = store_data_checksum(&data);
	uint64_t labels = store_labels_checksum(y_noisy, N_TRAIN);
	unsigned bits;

	is_int((long)(base == store_data_checksum(&data)), 1, "data checksum is stable");
	memcpy(&bits, &x_train[123], sizeof bits);
	bits ^= 1;
	memcpy(&x_train[123], &bits, sizeof bits);
	ok(store_data_checksum(&data) != base, "one flipped feature bit changes the data checksum");
	bits ^= 1;
	memcpy(&x_train[123], &bits, sizeof bits);
	y_test[7] = (y_test[7] + 1) % C;
	ok(store_data_checksum(&data) != base, "one test label changes the data checksum");
	y_test[7] = (y_test[7] + C - 1) % C;
	class_names[2] = "South";
	ok(store_data_checksum(&data) != base, "a class name changes the data checksum");
	class_names[2] = "south";
	ok(store_data_checksum(&data) == base, "restored data gives the checksum again");
	y_noisy[0] ^= 1;
	ok(store_labels_checksum(y_noisy, N_TRAIN) != labels, "one given label changes the labels checksum");
	y_noisy[0] ^= 1;
	store_checksum_format(0x0123456789abcdefULL, a);
	ok(strcmp(a, "0123456789abcdef") == 0, "checksum written as 16 hex digits");
	store_checksum_format(0, b);
	ok(strcmp(b, "0000000000000000") == 0, "zero checksum padded");
}

static epoch_report reports[16];
static int n_reports;

static void keep_report(const epoch_report *r, void *user)
{
	reports[n_reports++ % 16] = *r;
}

static int same_real(double x, double y)
{
	return (isnan(x) && isnan(y)) || x == y;
}

/* Compares the fields the store keeps; both reports from the same run. */
static int same_report(const epoch_report *x, const epoch_report *y)
{
	int same = x->epoch == y->epoch && x->warmup == y->warmup && same_real(x->lr, y->lr) &&
		   same_real(x->train_loss, y->train_loss) && same_real(x->target_acc, y->target_acc) &&
		   same_real(x->seconds, y->seconds);

	for (int k = 0; k < 3; k++)
		same &= same_real(x->test_acc[k], y->test_acc[k]);
	for (int k = 0; k < 2; k++) {
		const split_report *p = &x->split[k], *q = &y->split[k];

		same &= x->n_clean_used[k] == y->n_clean_used[k] && p->valid == q->valid &&
			p->iterations == q->iterations && p->n_pred_clean == q->n_pred_clean &&
			same_real(p->loglik, q->loglik) && p->quality.true_pos == q->quality.true_pos &&
			same_real(p->quality.f1, q->quality.f1) &&
			same_real(p->quality.auroc_posterior, q->quality.auroc_posterior) &&
			same_real(p->quality.auroc_loss, q->quality.auroc_loss);
		for (int c = 0; c < 2; c++)
			same &= same_real(p->mean[c], q->mean[c]) && same_real(p->var[c], q->var[c]) &&
				same_real(p->weight[c], q->weight[c]);
	}
	return same;
}

static void test_run_metrics(void)
{
	const char *path = path_in("runs.db");
	train_hooks hooks = { keep_report, NULL, NULL, NULL };
	store_run_spec spec = { &data, y_noisy, NOISE_SYM, 0.4, 3, NULL };
	train_config cfg;
	store_setting *set;
	epoch_report *back;
	store_run run, *list;
	trainer *t;
	store *s;
	long session, id;
	int n, n_set, all_same = 1;

	train_config_defaults(&cfg);
	cfg.method = METHOD_CE;
	cfg.epochs = 3;
	cfg.lr = 0.1;
	spec.config = &cfg;
	store_open(path, 1, &s);
	store_session_create(s, "metrics", "", NULL, &session);
	ok(store_run_create(s, session, &spec, &id) == TP_OK, "run recorded");
	train_create(&data, y_noisy, &cfg, &t);
	n_reports = 0;
	train_run(t, 0, &hooks);
	for (int i = 0; i < n_reports; i++)
		store_epoch_save(s, id, &reports[i]);
	ok(store_checkpoint_save(s, id, t) == TP_OK, "checkpoint written");

	ok(store_epoch_list(s, id, &back, &n) == TP_OK && n == 3, "three epochs read back (%d)", n);
	for (int i = 0; i < n && i < n_reports; i++)
		all_same &= same_report(&back[i], &reports[i]);
	ok(all_same, "every stored figure equals the trainer's report, NaN of head B included");
	ok(isnan(back[0].test_acc[1]), "one head: test accuracy of head B is NaN");
	free(back);

	ok(store_run_get(s, id, &run) == TP_OK, "run read back");
	is_int(run.epochs_done, 3, "epochs done");
	is_int(run.epochs_planned, 3, "epochs planned");
	ok(strcmp(run.noise, "sym") == 0 && run.noise_rate == 0.4 && run.noise_seed == 3, "noise spec kept");
	ok(strcmp(run.method, "ce") == 0, "method kept");
	ok(run.has_checkpoint && run.checkpoint_epoch == 3 && !run.checkpoint_in_epoch, "checkpoint at epoch 3");
	ok(same_real(run.last.test_acc[0], reports[2].test_acc[0]), "last metrics are the third epoch's");
	{
		char sum[17];

		store_checksum_format(store_params_checksum(t), sum);
		ok(strcmp(run.params_checksum, sum) == 0, "parameter checksum of the checkpoint");
	}
	store_run_clear(&run);

	ok(store_run_settings(s, id, &set, &n_set) == TP_OK && n_set > 20, "settings read back (%d)", n_set);
	for (int i = 0; i < n_set; i++) {
		if (strcmp(set[i].key, "lr") == 0)
			ok(strcmp(set[i].value, "0.1") == 0, "lr written as 0.1 (%s)", set[i].value);
		if (strcmp(set[i].key, "epochs") == 0)
			ok(strcmp(set[i].value, "3") == 0, "epochs written as 3 (%s)", set[i].value);
		if (strcmp(set[i].key, "codivide") == 0)
			ok(strcmp(set[i].value, "on") == 0 || strcmp(set[i].value, "off") == 0, "switch written as on/off");
	}
	store_settings_free(set, n_set);

	ok(store_run_close(s, id) == TP_OK, "run closed");
	ok(store_run_list(s, session, &list, &n) == TP_OK && n == 1 && list[0].closed, "closed run listed as closed");
	store_run_list_free(list, n);
	ok(store_run_get(s, 999, &run) == TP_ERR_VALUE && strstr(tp_last_error(), "999"), "unknown run named");
	train_free(t);
	store_close(s);
}

static void test_checkpoint_resume(void)
{
	const char *path = path_in("resume.db");
	store_run_spec spec = { &data, y_noisy, NOISE_SYM, 0.4, 3, NULL };
	train_config cfg;
	trainer *whole, *first, *second;
	unsigned char *state;
	size_t size;
	store *s;
	long session, id;
	int same = 1;

	train_config_defaults(&cfg);
	cfg.method = METHOD_TWIN;
	cfg.epochs = 6;
	cfg.warmup_epochs = 1;
	spec.config = &cfg;

	train_create(&data, y_noisy, &cfg, &whole);
	train_run(whole, 0, NULL);

	/* three epochs, a checkpoint, and a store closed as at quitting */
	store_open(path, 1, &s);
	store_session_create(s, "resume", "", NULL, &session);
	store_run_create(s, session, &spec, &id);
	train_create(&data, y_noisy, &cfg, &first);
	train_run(first, 3, NULL);
	ok(store_checkpoint_save(s, id, first) == TP_OK, "checkpoint after 3 epochs");
	train_free(first);
	store_close(s);

	store_open(path, 0, &s);
	ok(store_checkpoint_load(s, id, &state, &size) == TP_OK && size > 0, "checkpoint read back (%zu bytes)", size);
	train_create(&data, y_noisy, &cfg, &second);
	ok(train_state_restore(second, state, size) == TP_OK, "checkpoint restored into a new run");
	free(state);
	train_run(second, 0, NULL);
	is_int(train_epochs_done(second), 6, "resumed run finishes the schedule");
	for (int k = 0; k < 2; k++)
		same &= memcmp(train_head(whole, k)->param, train_head(second, k)->param,
			       train_head(whole, k)->n_param * sizeof(float)) == 0;
	ok(same, "3 epochs, store, restore, 3 more: parameters equal 6 in one go bit for bit");
	ok(store_params_checksum(whole) == store_params_checksum(second), "parameter checksums equal");
	{
		int n1, n2;
		const epoch_report *h1 = train_history(whole, &n1), *h2 = train_history(second, &n2);

		ok(n1 == 6 && n2 == 6 && same_real(h1[5].test_acc[2], h2[5].test_acc[2]) &&
		   same_real(h1[5].split[1].quality.f1, h2[5].split[1].quality.f1), "final metrics equal");
	}
	ok(store_checkpoint_load(s, id + 1, &state, &size) == TP_ERR_STATE, "run without checkpoint reported");
	train_free(whole);
	train_free(second);
	store_close(s);
}

/* One writer process: its own session, then entries in the shared one. */
static int writer(const char *path, long shared, int tag)
{
	store *s;
	long mine;
	char word[16];
	char *argv[2] = { "echo", word };
	int failures = 0;

	if (store_open(path, 1, &s) != TP_OK)
		return 100;
	if (store_session_create(s, NULL, "", NULL, &mine) != TP_OK)
		failures++;
	for (int i = 0; i < 150; i++) {
		snprintf(word, sizeof word, "%d-%d", tag, i);
		failures += store_journal_append(s, mine, 2, argv, TP_OK, "", -1) != TP_OK;
		failures += store_journal_append(s, shared, 2, argv, TP_OK, "", -1) != TP_OK;
	}
	store_close(s);
	return failures > 99 ? 99 : failures;
}

static void test_two_writers(void)
{
	const char *path = path_in("shared.db");
	pid_t pid[2];
	int status[2];
	long shared;
	store *s;

	store_open(path, 1, &s);
	store_session_create(s, "shared", "", NULL, &shared);
	store_close(s);
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		if (pid[w] == 0)
			_exit(writer(path, shared, w));
	}
	for (int w = 0; w < 2; w++) {
		waitpid(pid[w], &status[w], 0);
		ok(WIFEXITED(status[w]) && WEXITSTATUS(status[w]) == 0, "writer %d wrote all its entries (exit %d)",
		   w, WIFEXITED(status[w]) ? WEXITSTATUS(status[w]) : -1);
	}
	is_int(raw_int(path, "SELECT count(*) FROM journal WHERE session_id = 1"), 300, "shared session has both writers' 300 entries");
	is_int(raw_int(path, "SELECT max(seq) FROM journal WHERE session_id = 1"), 300, "shared entries numbered 1 to 300");
	is_int(raw_int(path, "SELECT count(*) FROM sessions"), 3, "each writer made its own session");
	is_int(raw_int(path, "SELECT count(*) FROM journal"), 600, "600 entries in all");
	{
		sqlite3 *db;
		sqlite3_stmt *stmt;
		int fine = 0;

		sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
		if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK) {
			fine = sqlite3_step(stmt) == SQLITE_ROW &&
			       strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") == 0;
			sqlite3_finalize(stmt);
		}
		sqlite3_close(db);
		ok(fine, "integrity check passes after two writers");
	}
}

static void remove_dir(void)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

int main(void)
{
	if (!mkdtemp(dir))
		return skip_all("cannot create a temporary folder in /tmp");
	make_data();
	test_create_and_reopen();
	test_foreign_files();
	test_corrupt_files();
	test_read_only();
	test_names();
	test_sessions_and_journal();
	test_checksums();
	test_run_metrics();
	test_checkpoint_resume();
	test_two_writers();
	remove_dir();
	return done_testing();
}
