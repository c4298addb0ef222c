/* Private to the session store: the handle and the SQLite helpers that
 * store.c (opening, sessions, journal) and store_runs.c (runs, metrics,
 * checkpoints) share. */
#ifndef TP_STORE_DB_H
#define TP_STORE_DB_H

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	char *path;
	int depth;   /* nesting of store_begin(); 0 outside a transaction */
};

/* The current local time as SQLite writes it, for the time columns. */
#define STORE_NOW "strftime('%Y-%m-%d %H:%M:%S', 'now', 'localtime')"

/* Records why an SQLite call failed (rc, with sqlite3_errmsg()) while doing
 * what, and returns the tp_status for it. */
tp_status store_db_fail(store *s, const char *what, int rc);

/* Prepares sql; on failure records the error and returns it. */
tp_status store_db_prepare(store *s, const char *what, const char *sql, sqlite3_stmt **stmt);

/* Steps a statement that returns no rows and finalizes it. */
tp_status store_db_run(store *s, const char *what, sqlite3_stmt *stmt);

/* Binds v, or NULL for NaN. */
void store_db_bind_real(sqlite3_stmt *stmt, int i, double v);
/* Reads a column that may be NULL: NaN for a NULL real. */
double store_db_real(sqlite3_stmt *stmt, int i);
/* A malloc'd copy of a text column ("" for NULL); NULL when out of memory. */
char *store_db_text(sqlite3_stmt *stmt, int i);

#endif
