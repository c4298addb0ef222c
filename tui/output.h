/* Where the REPL's output goes: results to stdout, errors and progress to
 * stderr.  Every command prints through these, so that a full-screen view
 * can take them over later. */
#ifndef TP_OUTPUT_H
#define TP_OUTPUT_H

#include <stdio.h>

void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A destination for command output while a full-screen view owns the
 * terminal: text is what one out_printf() formatted (any number of lines),
 * or one out_error() message with its "error: " prefix and newline. */
typedef void (*out_sink_fn)(int is_error, const char *text, void *user);

/* Sends out_printf() and out_error() to fn instead of stdout and stderr
 * (NULL restores them).  out_progress() draws nothing while a sink is set. */
void out_set_sink(out_sink_fn fn, void *user);

/* Progress of long work: a bar redrawn in place when stderr is a terminal,
 * nothing otherwise (the work prints its own result lines). */
void out_progress(const char *label, int done, int total);

/* As out_progress(), with note (a rate, the time left) after the count. */
void out_progress_note(const char *label, int done, int total, const char *note);
void out_progress_end(void);

/* Formats a value with %.*f, or "-" for NaN, into buf. */
const char *out_num(char *buf, size_t size, double v, int decimals);

#endif
