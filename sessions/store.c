/* The session store: opening and recognising the file, transactions,
 * checksums, sessions and the journal.  Runs, metrics and checkpoints are
 * in store_runs.c; the layout is described in store.h. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_db.h"

#define SCHEMA_VERSION 1

static const char schema_sql[] =
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created TEXT NOT NULL,"
	"  updated TEXT NOT NULL,"
	"  folder TEXT NOT NULL DEFAULT '',"
	"  origin TEXT NOT NULL DEFAULT '',"
	"  data_name TEXT NOT NULL DEFAULT '',"
	"  data_checksum TEXT NOT NULL DEFAULT '',"
	"  n_train INTEGER NOT NULL DEFAULT 0,"
	"  n_test INTEGER NOT NULL DEFAULT 0,"
	"  n_classes INTEGER NOT NULL DEFAULT 0,"
	"  dim INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE journal ("
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  seq INTEGER NOT NULL,"
	"  time TEXT NOT NULL,"
	"  line TEXT NOT NULL,"
	"  words BLOB NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  message TEXT NOT NULL,"
	"  epochs_after INTEGER NOT NULL,"
	"  PRIMARY KEY (session_id, seq));"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id),"
	"  created TEXT NOT NULL,"
	"  data_name TEXT NOT NULL,"
	"  data_checksum TEXT NOT NULL,"
	"  labels_checksum TEXT NOT NULL,"
	"  n_train INTEGER NOT NULL,"
	"  n_test INTEGER NOT NULL,"
	"  n_classes INTEGER NOT NULL,"
	"  dim INTEGER NOT NULL,"
	"  noise TEXT NOT NULL,"
	"  noise_rate REAL NOT NULL,"
	"  noise_seed INTEGER NOT NULL,"
	"  method TEXT NOT NULL,"
	"  epochs_planned INTEGER NOT NULL,"
	"  epochs_done INTEGER NOT NULL DEFAULT 0,"
	"  closed INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX runs_by_session ON runs(session_id);"
	"CREATE TABLE run_settings ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  seq INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (run_id, key));"
	"CREATE TABLE epochs ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  epoch INTEGER NOT NULL,"
	"  warmup INTEGER NOT NULL,"
	"  lr REAL, train_loss REAL,"
	"  test_acc_a REAL, test_acc_b REAL, test_acc_ensemble REAL,"
	"  target_acc REAL,"
	"  clean_used_a INTEGER, clean_used_b INTEGER,"
	"  seconds REAL, samples_per_second REAL,"
	"  PRIMARY KEY (run_id, epoch));"
	"CREATE TABLE gmm_states ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  epoch INTEGER NOT NULL,"
	"  head INTEGER NOT NULL,"
	"  valid INTEGER NOT NULL,"
	"  mean_clean REAL, mean_noisy REAL,"
	"  var_clean REAL, var_noisy REAL,"
	"  weight_clean REAL, weight_noisy REAL,"
	"  loglik REAL, iterations INTEGER, degenerate INTEGER,"
	"  n_pred_clean INTEGER,"
	"  n INTEGER, true_pos INTEGER, false_pos INTEGER, false_neg INTEGER, true_neg INTEGER,"
	"  precision REAL, recall REAL, f1 REAL, auroc_posterior REAL, auroc_loss REAL,"
	"  PRIMARY KEY (run_id, epoch, head));"
	"CREATE TABLE checkpoints ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
	"  epoch INTEGER NOT NULL,"
	"  in_epoch INTEGER NOT NULL,"
	"  step INTEGER NOT NULL,"
	"  time TEXT NOT NULL,"
	"  params_checksum TEXT NOT NULL,"
	"  state BLOB NOT NULL);";

int store_schema_version(void)
{
	return SCHEMA_VERSION;
}

const char *store_path(const store *s)
{
	return s->path;
}

/* ---- SQLite helpers ---- */

tp_status store_db_fail(store *s, const char *what, int rc)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return tp_fail(TP_ERR_IO, "store: %s: '%s' stayed locked by another process for %d s: try again when it has finished",
			       what, s->path, STORE_BUSY_MS / 1000);
	case SQLITE_READONLY:
		return tp_fail(TP_ERR_IO, "store: %s: '%s' is read-only: make it writable, or choose another file with --store",
			       what, s->path);
	case SQLITE_FULL:
		return tp_fail(TP_ERR_IO, "store: %s: the disk holding '%s' is full: free some space",
			       what, s->path);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return tp_fail(TP_ERR_FORMAT, "store: %s: '%s' is corrupt (%s): restore a backup, or move it away and start a new store",
			       what, s->path, msg);
	default:
		return tp_fail(TP_ERR_IO, "store: %s on '%s' failed: %s", what, s->path, msg);
	}
}

tp_status store_db_prepare(store *s, const char *what, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL);

	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return store_db_fail(s, what, rc);
	}
	return TP_OK;
}

tp_status store_db_run(store *s, const char *what, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);
	tp_status st = TP_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = store_db_fail(s, what, rc);
	sqlite3_finalize(stmt);
	return st;
}

void store_db_bind_real(sqlite3_stmt *stmt, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_double(stmt, i, v);
}

double store_db_real(sqlite3_stmt *stmt, int i)
{
	if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(stmt, i);
}

char *store_db_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *text = sqlite3_column_text(stmt, i);

	return strdup(text ? (const char *)text : "");
}

static tp_status exec_sql(store *s, const char *what, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? TP_OK : store_db_fail(s, what, rc);
}

/* Reads the integer of a one-row query ("PRAGMA user_version"); returns the
 * SQLite code so that the caller can tell a foreign file from other errors. */
static int query_int(store *s, const char *sql, long *value)
{
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*value = (long)sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* ---- transactions ---- */

tp_status store_begin(store *s)
{
	int rc;

	if (s->depth++ > 0)
		return TP_OK;
	/* IMMEDIATE takes the write lock now, waiting up to the busy timeout,
	 * so a transaction never fails halfway because another process wrote */
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		s->depth = 0;
		return store_db_fail(s, "begin a transaction", rc);
	}
	return TP_OK;
}

tp_status store_commit(store *s)
{
	int rc;

	if (s->depth == 0 || --s->depth > 0)
		return TP_OK;
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		tp_status st = store_db_fail(s, "commit", rc);

		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return st;
	}
	return TP_OK;
}

void store_rollback(store *s)
{
	if (s->depth == 0)
		return;
	s->depth = 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Ends the transaction that a write function began: commits when st is
 * TP_OK and rolls back otherwise, keeping the first error's message. */
static tp_status finish(store *s, tp_status st)
{
	if (st != TP_OK) {
		store_rollback(s);
		return st;
	}
	return store_commit(s);
}

/* ---- opening ---- */

/* Creates the tables in an empty file.  Another process may have done it
 * between our check and the write lock; then there is nothing to do. */
static tp_status schema_create(store *s)
{
	long app = 0;
	char pragmas[128];
	tp_status st;
	int rc;

	st = exec_sql(s, "switch to WAL mode", "PRAGMA journal_mode=WAL");
	if (st != TP_OK)
		return st;
	st = store_begin(s);
	if (st != TP_OK)
		return st;
	rc = query_int(s, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK)
		return finish(s, store_db_fail(s, "read the application id", rc));
	if (app == STORE_APPLICATION_ID)
		return finish(s, TP_OK);
	snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
		 STORE_APPLICATION_ID, SCHEMA_VERSION);
	st = exec_sql(s, "create the tables", schema_sql);
	if (st == TP_OK)
		st = exec_sql(s, "write the schema version", pragmas);
	return finish(s, st);
}

/* Runs PRAGMA quick_check: any result but "ok" means the file is damaged. */
static tp_status check_integrity(store *s)
{
	sqlite3_stmt *stmt;
	tp_status st = TP_OK;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &stmt, NULL);

	if (rc != SQLITE_OK)
		return store_db_fail(s, "check the file", rc);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *answer = sqlite3_column_text(stmt, 0);

		if (!answer || strcmp((const char *)answer, "ok") != 0)
			st = tp_fail(TP_ERR_FORMAT,
				     "store: '%s' is corrupt: SQLite's quick_check reports \"%s\": restore a backup, or move it away and start a new store",
				     s->path, answer ? (const char *)answer : "no answer");
	} else {
		st = store_db_fail(s, "check the file", rc);
	}
	sqlite3_finalize(stmt);
	return st;
}

/* Decides whether the open file is a store this build can use, creating
 * the tables when it is empty.  Writes nothing to any other file. */
static tp_status store_recognise(store *s)
{
	long app = 0, version = 0, tables = 0;
	int rc;

	rc = query_int(s, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = query_int(s, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(s, "SELECT count(*) FROM sqlite_master", &tables);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return tp_fail(TP_ERR_FORMAT,
			       "store: '%s' is not a twinprompt store (not an SQLite database): give another file with --store, or move it away",
			       s->path);
	if (rc != SQLITE_OK)
		return store_db_fail(s, "read the file header", rc);

	if (app == 0 && tables == 0)
		return schema_create(s);
	if (app != STORE_APPLICATION_ID)
		return tp_fail(TP_ERR_FORMAT,
			       "store: '%s' is an SQLite database of another program (application_id 0x%08lx, %ld tables), not a twinprompt store: give another file with --store",
			       s->path, (unsigned long)app, tables);
	if (version > SCHEMA_VERSION)
		return tp_fail(TP_ERR_FORMAT,
			       "store: '%s' has schema version %ld, written by a newer twinprompt; this build reads version %d: use that twinprompt, or another file with --store",
			       s->path, version, SCHEMA_VERSION);
	/* NOTE: version 1 is the first schema, so there is nothing to migrate
	 * yet; a later version adds its upgrade steps here */
	if (version < SCHEMA_VERSION)
		return tp_fail(TP_ERR_FORMAT,
			       "store: '%s' has schema version %ld, which this build cannot migrate to version %d: give another file with --store",
			       s->path, version, SCHEMA_VERSION);
	return check_integrity(s);
}

/* Refuses a path that SQLite could open but not write: a read-only file, or
 * a folder where it cannot create its -wal and -shm files. */
static tp_status check_writable(const char *path, int exists)
{
	char *copy = strdup(path);
	const char *folder;
	int folder_ok;

	if (!copy)
		return tp_fail(TP_ERR_NOMEM, "store: out of memory");
	if (exists && access(path, W_OK) != 0) {
		int err = errno;

		free(copy);
		return tp_fail(TP_ERR_IO, "store: '%s' is read-only (%s): make it writable, or choose another file with --store",
			       path, strerror(err));
	}
	folder = dirname(copy);
	folder_ok = access(folder, W_OK) == 0;
	if (!folder_ok) {
		tp_status st = tp_fail(TP_ERR_IO,
				       "store: the folder '%s' of '%s' is not writable (%s), and SQLite keeps its -wal file beside the store: choose a writable folder with --store",
				       folder, path, strerror(errno));

		free(copy);
		return st;
	}
	free(copy);
	return TP_OK;
}

tp_status store_open(const char *path, int create, store **out)
{
	struct stat sb;
	int exists = stat(path, &sb) == 0;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	store *s;
	tp_status st;
	int rc;

	*out = NULL;
	if (exists && S_ISDIR(sb.st_mode))
		return tp_fail(TP_ERR_IO, "store: '%s' is a folder: give a file name such as '%s/twinprompt.db'",
			       path, path);
	if (!exists && !create)
		return tp_fail(TP_ERR_IO, "store: '%s' does not exist yet: the first command that changes state creates it",
			       path);
	st = check_writable(path, exists);
	if (st != TP_OK)
		return st;

	s = calloc(1, sizeof *s);
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return tp_fail(TP_ERR_NOMEM, "store: out of memory");
	}
	if (!exists)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		st = store_db_fail(s, "open", rc);
		store_close(s);
		return st;
	}
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		st = tp_fail(TP_ERR_IO, "store: '%s' is read-only: make it writable, or choose another file with --store",
			     path);
		store_close(s);
		return st;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);

	st = store_recognise(s);
	if (st == TP_OK)
		st = exec_sql(s, "switch to WAL mode", "PRAGMA journal_mode=WAL");
	/* FULL also survives a power cut; NORMAL would only survive a crash */
	if (st == TP_OK)
		st = exec_sql(s, "set the sync mode", "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
	if (st != TP_OK) {
		store_close(s);
		return st;
	}
	*out = s;
	return TP_OK;
}

void store_close(store *s)
{
	if (!s)
		return;
	store_rollback(s);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* ---- checksums ---- */

/* A 64-bit hash of bytes, eight at a time: multiply-xorshift per word and a
 * final avalanche.  Detects changed data; it is not cryptographic, and
 * the words are read in the machine's byte order. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t size)
{
	const unsigned char *p = data;
	uint64_t word;

	h ^= size * 0x9e3779b97f4a7c15ULL;
	for (; size >= 8; size -= 8, p += 8) {
		memcpy(&word, p, 8);
		h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	for (; size > 0; size--, p++) {
		h = (h ^ *p) * 0x94d049bb133111ebULL;
		h ^= h >> 29;
	}
	return h;
}

static uint64_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t store_data_checksum(const dataset *d)
{
	int sizes[5] = { d->n_classes, d->dim, d->n_train, d->n_test, d->text_features != NULL };
	size_t train = (size_t)d->n_train, test = (size_t)d->n_test, dim = (size_t)d->dim;
	uint64_t h = hash_bytes(0, sizes, sizeof sizes);

	h = hash_bytes(h, d->x_train, train * dim * sizeof *d->x_train);
	h = hash_bytes(h, d->y_train, train * sizeof *d->y_train);
	h = hash_bytes(h, d->x_test, test * dim * sizeof *d->x_test);
	h = hash_bytes(h, d->y_test, test * sizeof *d->y_test);
	for (int c = 0; c < d->n_classes; c++)
		h = hash_bytes(h, d->class_names[c], strlen(d->class_names[c]) + 1);
	if (d->text_features)
		h = hash_bytes(h, d->text_features, (size_t)d->n_classes * dim * sizeof *d->text_features);
	return hash_final(h);
}

uint64_t store_labels_checksum(const int *labels, int n)
{
	return hash_final(hash_bytes(0, labels, (size_t)n * sizeof *labels));
}

uint64_t store_params_checksum(trainer *t)
{
	uint64_t h = 0;

	for (int k = 0; k < train_n_heads(t); k++) {
		const head *hd = train_head(t, k);

		h = hash_bytes(h, hd->param, hd->n_param * sizeof *hd->param);
	}
	return hash_final(h);
}

void store_checksum_format(uint64_t sum, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)sum);
}

/* ---- sessions ---- */

int store_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > STORE_NAME_MAX)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= '0' && name[0] <= '9')))
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* Returns 1 when a session is named name, 0 when not, -1 on an error. */
static int name_taken(store *s, const char *name)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_db_prepare(s, "look up a session", "SELECT 1 FROM sessions WHERE name = ?1", &stmt) != TP_OK)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_db_fail(s, "look up a session", rc);
		return -1;
	}
	return rc == SQLITE_ROW;
}

/* Picks the automatic name "session-ID" with the next free id.  A user may
 * have taken that name by hand, so the id moves on until the name is free. */
static tp_status auto_name(store *s, long *id, char *name, size_t size)
{
	long max_id = 0;
	int rc = query_int(s, "SELECT coalesce(max(id), 0) FROM sessions", &max_id);

	if (rc != SQLITE_OK)
		return store_db_fail(s, "number a new session", rc);
	for (*id = max_id + 1;; (*id)++) {
		int taken;

		snprintf(name, size, "session-%ld", *id);
		taken = name_taken(s, name);
		if (taken < 0)
			return TP_ERR_IO;
		if (!taken)
			return TP_OK;
	}
}

tp_status store_session_create(store *s, const char *name, const char *folder,
			       const char *origin, long *id)
{
	char auto_buf[STORE_NAME_MAX + 1];
	sqlite3_stmt *stmt;
	long new_id = 0;
	tp_status st = store_begin(s);

	if (st != TP_OK)
		return st;
	if (name) {
		int taken = name_taken(s, name);

		if (taken < 0)
			return finish(s, TP_ERR_IO);
		if (taken)
			return finish(s, tp_fail(TP_ERR_VALUE, "a session named '%s' exists already in '%s'",
						 name, s->path));
	} else {
		st = auto_name(s, &new_id, auto_buf, sizeof auto_buf);
		if (st != TP_OK)
			return finish(s, st);
		name = auto_buf;
	}
	st = store_db_prepare(s, "create a session",
			      "INSERT INTO sessions(id, name, created, updated, folder, origin) "
			      "VALUES (nullif(?1, 0), ?2, " STORE_NOW ", " STORE_NOW ", ?3, ?4)", &stmt);
	if (st != TP_OK)
		return finish(s, st);
	sqlite3_bind_int64(stmt, 1, new_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, folder ? folder : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 4, origin ? origin : "", -1, SQLITE_TRANSIENT);
	st = store_db_run(s, "create a session", stmt);
	if (st == TP_OK)
		new_id = (long)sqlite3_last_insert_rowid(s->db);
	st = finish(s, st);
	if (st == TP_OK)
		*id = new_id;
	return st;
}

#define SESSION_COLUMNS \
	"SELECT s.id, s.name, s.created, s.updated, s.folder, s.origin, s.data_name, s.data_checksum, " \
	"(SELECT count(*) FROM journal j WHERE j.session_id = s.id), " \
	"(SELECT coalesce(max(r.id), 0) FROM runs r WHERE r.session_id = s.id) FROM sessions s "

static int session_read_row(sqlite3_stmt *stmt, store_session *out)
{
	memset(out, 0, sizeof *out);
	out->id = (long)sqlite3_column_int64(stmt, 0);
	out->name = store_db_text(stmt, 1);
	out->created = store_db_text(stmt, 2);
	out->updated = store_db_text(stmt, 3);
	out->folder = store_db_text(stmt, 4);
	out->origin = store_db_text(stmt, 5);
	out->data_name = store_db_text(stmt, 6);
	out->data_checksum = store_db_text(stmt, 7);
	out->n_commands = sqlite3_column_int(stmt, 8);
	out->last_run = (long)sqlite3_column_int64(stmt, 9);
	return out->name && out->created && out->updated && out->folder && out->origin &&
	       out->data_name && out->data_checksum;
}

void store_session_clear(store_session *session)
{
	free(session->name);
	free(session->created);
	free(session->updated);
	free(session->folder);
	free(session->origin);
	free(session->data_name);
	free(session->data_checksum);
	memset(session, 0, sizeof *session);
}

/* Reads the one session that the bound statement selects. */
static tp_status session_read_one(store *s, sqlite3_stmt *stmt, const char *missing, store_session *out)
{
	int rc = sqlite3_step(stmt);
	tp_status st = TP_OK;

	memset(out, 0, sizeof *out);
	if (rc == SQLITE_ROW) {
		if (!session_read_row(stmt, out)) {
			store_session_clear(out);
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading a session");
		}
	} else if (rc == SQLITE_DONE) {
		st = tp_fail(TP_ERR_VALUE, "%s", missing);
	} else {
		st = store_db_fail(s, "read a session", rc);
	}
	sqlite3_finalize(stmt);
	return st;
}

tp_status store_session_find(store *s, const char *name, store_session *out)
{
	char missing[STORE_NAME_MAX + 512];
	sqlite3_stmt *stmt;
	tp_status st = store_db_prepare(s, "find a session", SESSION_COLUMNS "WHERE s.name = ?1", &stmt);

	memset(out, 0, sizeof *out);
	if (st != TP_OK)
		return st;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
	snprintf(missing, sizeof missing, "no session named '%.*s' in '%s': 'sessions' lists them",
		 STORE_NAME_MAX + 8, name, s->path);
	return session_read_one(s, stmt, missing, out);
}

tp_status store_session_get(store *s, long id, store_session *out)
{
	char missing[512];
	sqlite3_stmt *stmt;
	tp_status st = store_db_prepare(s, "read a session", SESSION_COLUMNS "WHERE s.id = ?1", &stmt);

	memset(out, 0, sizeof *out);
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, id);
	snprintf(missing, sizeof missing, "no session with id %ld in '%s'", id, s->path);
	return session_read_one(s, stmt, missing, out);
}

tp_status store_session_list(store *s, store_session **out, int *n)
{
	sqlite3_stmt *stmt;
	store_session *list = NULL;
	int count = 0, rc;
	tp_status st = store_db_prepare(s, "list the sessions", SESSION_COLUMNS "ORDER BY s.id", &stmt);

	*out = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_session *grown = realloc(list, (size_t)(count + 1) * sizeof *list);

		if (!grown) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory listing %d sessions", count + 1);
			break;
		}
		list = grown;
		if (!session_read_row(stmt, &list[count++])) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory listing %d sessions", count);
			break;
		}
	}
	if (st == TP_OK && rc != SQLITE_DONE)
		st = store_db_fail(s, "list the sessions", rc);
	sqlite3_finalize(stmt);
	if (st != TP_OK) {
		store_session_list_free(list, count);
		return st;
	}
	*out = list;
	*n = count;
	return TP_OK;
}

void store_session_list_free(store_session *list, int n)
{
	for (int i = 0; i < n; i++)
		store_session_clear(&list[i]);
	free(list);
}

tp_status store_session_rename(store *s, long id, const char *name)
{
	sqlite3_stmt *stmt;
	int taken;
	tp_status st = store_begin(s);

	if (st != TP_OK)
		return st;
	taken = name_taken(s, name);
	if (taken < 0)
		return finish(s, TP_ERR_IO);
	if (taken)
		return finish(s, tp_fail(TP_ERR_VALUE, "a session named '%s' exists already in '%s'",
					 name, s->path));
	st = store_db_prepare(s, "rename a session",
			      "UPDATE sessions SET name = ?2, updated = " STORE_NOW " WHERE id = ?1", &stmt);
	if (st != TP_OK)
		return finish(s, st);
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_TRANSIENT);
	return finish(s, store_db_run(s, "rename a session", stmt));
}

tp_status store_session_set_data(store *s, long id, const dataset *d)
{
	char sum[17];
	sqlite3_stmt *stmt;
	tp_status st;

	store_checksum_format(store_data_checksum(d), sum);
	st = store_db_prepare(s, "record the data set",
			      "UPDATE sessions SET data_name = ?2, data_checksum = ?3, n_train = ?4, n_test = ?5, "
			      "n_classes = ?6, dim = ?7, updated = " STORE_NOW " WHERE id = ?1", &stmt);
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, d->name ? d->name : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, sum, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 4, d->n_train);
	sqlite3_bind_int(stmt, 5, d->n_test);
	sqlite3_bind_int(stmt, 6, d->n_classes);
	sqlite3_bind_int(stmt, 7, d->dim);
	return store_db_run(s, "record the data set", stmt);
}

/* ---- the journal ---- */

/* Appends word to the display line, quoted when the REPL's lexer would
 * otherwise split or change it. */
static void line_append(char *line, size_t size, const char *word)
{
	size_t used = strlen(line);
	int plain = word[0] != '\0' && word[strcspn(word, " \t;'\"\\#")] == '\0';

	if (used > 0 && used + 1 < size)
		line[used++] = ' ';
	line[used] = '\0';
	if (plain) {
		snprintf(line + used, size - used, "%s", word);
	} else if (!strchr(word, '\'')) {
		snprintf(line + used, size - used, "'%s'", word);
	} else {
		/* double quotes: only " and \ need a backslash */
		if (used + 1 < size)
			line[used++] = '"';
		for (const char *c = word; *c && used + 3 < size; c++) {
			if (*c == '"' || *c == '\\')
				line[used++] = '\\';
			line[used++] = *c;
		}
		line[used++] = '"';
		line[used] = '\0';
	}
}

tp_status store_journal_append(store *s, long session, int argc, char *const *argv,
			       tp_status status, const char *message, int epochs_after)
{
	size_t words_size = 0, line_size = 1;
	char *words, *line;
	sqlite3_stmt *stmt;
	tp_status st;

	for (int i = 0; i < argc; i++) {
		words_size += strlen(argv[i]) + 1;
		line_size += 2 * strlen(argv[i]) + 3;
	}
	words = malloc(words_size + 1);
	line = malloc(line_size);
	if (!words || !line) {
		free(words);
		free(line);
		return tp_fail(TP_ERR_NOMEM, "store: out of memory for a journal entry");
	}
	line[0] = '\0';
	words_size = 0;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]) + 1;

		memcpy(words + words_size, argv[i], len);
		words_size += len;
		line_append(line, line_size, argv[i]);
	}

	st = store_begin(s);
	if (st == TP_OK)
		st = store_db_prepare(s, "append to the journal",
				      "INSERT INTO journal(session_id, seq, time, line, words, status, message, epochs_after) "
				      "SELECT ?1, coalesce(max(seq), 0) + 1, " STORE_NOW ", ?2, ?3, ?4, ?5, ?6 "
				      "FROM journal WHERE session_id = ?1", &stmt);
	if (st == TP_OK) {
		sqlite3_bind_int64(stmt, 1, session);
		sqlite3_bind_text(stmt, 2, line, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(stmt, 3, words, (int)words_size, SQLITE_TRANSIENT);
		sqlite3_bind_int(stmt, 4, (int)status);
		sqlite3_bind_text(stmt, 5, message ? message : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(stmt, 6, epochs_after);
		st = store_db_run(s, "append to the journal", stmt);
	}
	if (st == TP_OK)
		st = store_db_prepare(s, "append to the journal",
				      "UPDATE sessions SET updated = " STORE_NOW " WHERE id = ?1", &stmt);
	if (st == TP_OK) {
		sqlite3_bind_int64(stmt, 1, session);
		st = store_db_run(s, "append to the journal", stmt);
	}
	free(words);
	free(line);
	return finish(s, st);
}

/* Splits the words blob (each word ends with a NUL byte) into c->argv. */
static int words_split(const unsigned char *blob, int size, store_command *c)
{
	int n = 0;

	for (int i = 0; i < size; i++)
		n += blob[i] == '\0';
	c->argv = calloc((size_t)n + 1, sizeof *c->argv);
	if (!c->argv)
		return 0;
	for (int i = 0, start = 0; i < size; i++) {
		if (blob[i] != '\0')
			continue;
		c->argv[c->argc] = strdup((const char *)blob + start);
		if (!c->argv[c->argc])
			return 0;
		c->argc++;
		start = i + 1;
	}
	return 1;
}

tp_status store_journal_read(store *s, long session, store_command **out, int *n)
{
	sqlite3_stmt *stmt;
	store_command *cmds = NULL;
	int count = 0, rc;
	tp_status st = store_db_prepare(s, "read the journal",
					"SELECT seq, time, line, words, status, message, epochs_after "
					"FROM journal WHERE session_id = ?1 ORDER BY seq", &stmt);

	*out = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	sqlite3_bind_int64(stmt, 1, session);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		store_command *grown = realloc(cmds, (size_t)(count + 1) * sizeof *cmds);
		store_command *c;

		if (!grown) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading the journal");
			break;
		}
		cmds = grown;
		c = &cmds[count++];
		memset(c, 0, sizeof *c);
		c->seq = (long)sqlite3_column_int64(stmt, 0);
		c->time = store_db_text(stmt, 1);
		c->line = store_db_text(stmt, 2);
		c->status = sqlite3_column_int(stmt, 4);
		c->message = store_db_text(stmt, 5);
		c->epochs_after = sqlite3_column_int(stmt, 6);
		if (!c->time || !c->line || !c->message ||
		    !words_split(sqlite3_column_blob(stmt, 3), sqlite3_column_bytes(stmt, 3), c)) {
			st = tp_fail(TP_ERR_NOMEM, "store: out of memory reading the journal");
			break;
		}
	}
	if (st == TP_OK && rc != SQLITE_DONE)
		st = store_db_fail(s, "read the journal", rc);
	sqlite3_finalize(stmt);
	if (st != TP_OK) {
		store_journal_free(cmds, count);
		return st;
	}
	*out = cmds;
	*n = count;
	return TP_OK;
}

void store_journal_free(store_command *cmds, int n)
{
	for (int i = 0; i < n; i++) {
		for (int w = 0; w < cmds[i].argc; w++)
			free(cmds[i].argv[w]);
		free(cmds[i].argv);
		free(cmds[i].time);
		free(cmds[i].line);
		free(cmds[i].message);
	}
	free(cmds);
}
