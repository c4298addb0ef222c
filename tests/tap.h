/* A minimal TAP producer for the C unit tests (run by automake's
 * tap-driver.sh).  Each check prints "ok N - name" or "not ok N - name"
 * followed by the observed and expected values as TAP diagnostics. */
#ifndef TP_TAP_H
#define TP_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count;
static int tap_failed;

static inline void tap_vresult(int pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

/* Records one check; returns pass so callers can add diagnostics. */
static inline int ok(int pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int ok(int pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(pass, fmt, ap);
	va_end(ap);
	return pass;
}

/* Checks |got - expected| <= tol (absolute), printing both on failure. */
static inline int is_near(double got, double expected, double tol, const char *name)
{
	int pass = fabs(got - expected) <= tol;

	ok(pass, "%s", name);
	if (!pass)
		printf("#   got      %.10g\n#   expected %.10g (tolerance %.3g)\n",
		       got, expected, tol);
	return pass;
}

/* Checks two integers for equality, printing both on failure. */
static inline int is_int(long got, long expected, const char *name)
{
	int pass = got == expected;

	ok(pass, "%s", name);
	if (!pass)
		printf("#   got      %ld\n#   expected %ld\n", got, expected);
	return pass;
}

static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Skips the whole file with a visible reason. */
static inline int skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	return 0;
}

/* Prints the plan and returns the exit status for main(). */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
