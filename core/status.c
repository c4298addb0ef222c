#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "status.h"

static char last_error[1024];

static tp_log_fn log_sink;
static void *log_user;
static tp_log_level log_min_level = TP_LOG_INFO;

const char *tp_status_name(tp_status status)
{
	switch (status) {
	case TP_OK: return "success";
	case TP_ERR_IO: return "I/O error";
	case TP_ERR_FORMAT: return "invalid file format";
	case TP_ERR_SHAPE: return "shape mismatch";
	case TP_ERR_VALUE: return "invalid value";
	case TP_ERR_STATE: return "invalid state";
	case TP_ERR_NOMEM: return "out of memory";
	case TP_ERR_NUMERIC: return "numerical failure";
	case TP_ERR_INTERRUPTED: return "interrupted";
	}
	return "unknown status";
}

tp_status tp_fail(tp_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return status;
}

const char *tp_last_error(void)
{
	return last_error;
}

void tp_clear_error(void)
{
	last_error[0] = '\0';
}

void tp_log_set(tp_log_fn fn, void *user)
{
	log_sink = fn;
	log_user = user;
}

void tp_log_set_level(tp_log_level level)
{
	log_min_level = level;
}

void tp_log(tp_log_level level, const char *fmt, ...)
{
	static const char *prefix[] = { "debug: ", "", "warning: ", "error: " };
	char line[1024];
	va_list ap;

	if (level < log_min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (log_sink) {
		log_sink(level, line, log_user);
		return;
	}
	fprintf(stderr, "%s%s\n", prefix[level], line);
}
