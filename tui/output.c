#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "output.h"

static int progress_shown;

void out_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

void out_error(const char *fmt, ...)
{
	va_list ap;

	out_progress_end();
	fflush(stdout);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void out_progress(const char *label, int done, int total)
{
	enum { WIDTH = 30 };
	int filled;

	if (!isatty(STDERR_FILENO) || total <= 0)
		return;
	filled = (int)((long)WIDTH * done / total);
	fprintf(stderr, "\r%s [", label);
	for (int i = 0; i < WIDTH; i++)
		fputc(i < filled ? '#' : '.', stderr);
	fprintf(stderr, "] %d/%d", done, total);
	fflush(stderr);
	progress_shown = 1;
}

void out_progress_end(void)
{
	if (!progress_shown)
		return;
	/* erase the bar line */
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress_shown = 0;
}

const char *out_num(char *buf, size_t size, double v, int decimals)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f", decimals, v);
	return buf;
}
