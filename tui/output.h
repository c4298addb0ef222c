/* Where the REPL's output goes: results to stdout, errors and progress to
 * stderr.  Every command prints through these, so that a full-screen view
 * can take them over later. */
#ifndef TP_OUTPUT_H
#define TP_OUTPUT_H

#include <stdio.h>

void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress of long work: a bar redrawn in place when stderr is a terminal,
 * nothing otherwise (the work prints its own result lines). */
void out_progress(const char *label, int done, int total);
void out_progress_end(void);

/* Formats a value with %.*f, or "-" for NaN, into buf. */
const char *out_num(char *buf, size_t size, double v, int decimals);

#endif
