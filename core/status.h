/* Status codes, the last error message, and the log sink of the core library.
 *
 * Core functions never print and never exit.  A failing function records a
 * message that names the operation, the offending value and the fix with
 * tp_fail(), and returns the status; the caller (the REPL, a test) reads the
 * message with tp_last_error() and decides what to do.  Log lines go through
 * one redirectable function so that a full-screen UI can capture them. */
#ifndef TP_STATUS_H
#define TP_STATUS_H

typedef enum {
	TP_OK = 0,
	TP_ERR_IO,          /* a file could not be opened, read or written */
	TP_ERR_FORMAT,      /* a file's content is corrupt, truncated or of another format */
	TP_ERR_SHAPE,       /* array dimensions or counts do not match */
	TP_ERR_VALUE,       /* an argument or data value is out of range (NaN, bad label) */
	TP_ERR_STATE,       /* the operation needs state that is not there (no data loaded) */
	TP_ERR_NOMEM,       /* an allocation failed */
	TP_ERR_NUMERIC,     /* a numerical routine failed (LAPACK info != 0) */
	TP_ERR_INTERRUPTED  /* the user interrupted a long operation */
} tp_status;

/* Returns a short fixed name for a status ("I/O error", ...). */
const char *tp_status_name(tp_status status);

/* Records a printf-style error message and returns status unchanged, so that
 * a failing path reads `return tp_fail(TP_ERR_IO, "...", ...);`. */
tp_status tp_fail(tp_status status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns the message of the most recent tp_fail() (an empty string if none).
 * The buffer stays valid until the next tp_fail() or tp_clear_error(). */
const char *tp_last_error(void);
void tp_clear_error(void);

typedef enum {
	TP_LOG_DEBUG,
	TP_LOG_INFO,
	TP_LOG_WARN,
	TP_LOG_ERROR
} tp_log_level;

/* A log sink receives one line without the trailing newline. */
typedef void (*tp_log_fn)(tp_log_level level, const char *line, void *user);

/* Sends log lines to fn (NULL restores the default, stderr). */
void tp_log_set(tp_log_fn fn, void *user);
/* Sets the minimum level that reaches the sink (default TP_LOG_INFO). */
void tp_log_set_level(tp_log_level level);
void tp_log(tp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
