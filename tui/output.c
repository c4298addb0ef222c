#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

static int progress_shown;
static out_sink_fn sink;
static void *sink_user;

void out_set_sink(out_sink_fn fn, void *user)
{
	sink = fn;
	sink_user = user;
}

/* Formats into a malloc'd string for the sink; NULL when out of memory. */
static char *format_text(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	va_list copy;
	size_t head = strlen(prefix), tail = strlen(suffix);
	int len;
	char *text;

	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		return NULL;
	text = malloc(head + (size_t)len + tail + 1);
	if (!text)
		return NULL;
	memcpy(text, prefix, head);
	vsnprintf(text + head, (size_t)len + 1, fmt, ap);
	memcpy(text + head + (size_t)len, suffix, tail + 1);
	return text;
}

static void sink_send(int is_error, const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	char *text = format_text(prefix, fmt, ap, suffix);

	if (text)
		sink(is_error, text, sink_user);
	free(text);
}

void out_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (sink)
		sink_send(0, "", fmt, ap, "");
	else
		vfprintf(stdout, fmt, ap);
	va_end(ap);
	if (!sink)
		fflush(stdout);
}

void out_error(const char *fmt, ...)
{
	va_list ap;

	if (sink) {
		va_start(ap, fmt);
		sink_send(1, "error: ", fmt, ap, "\n");
		va_end(ap);
		return;
	}
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
	out_progress_note(label, done, total, NULL);
}

void out_progress_note(const char *label, int done, int total, const char *note)
{
	enum { WIDTH = 30 };
	int filled;

	if (sink || !isatty(STDERR_FILENO) || total <= 0)
		return;
	filled = (int)((long)WIDTH * done / total);
	fprintf(stderr, "\r%s [", label);
	for (int i = 0; i < WIDTH; i++)
		fputc(i < filled ? '#' : '.', stderr);
	fprintf(stderr, "] %d/%d", done, total);
	if (note)
		fprintf(stderr, " %s\033[K", note);
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
