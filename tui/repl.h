/* The read-eval-print loop: lines from readline, a script file, standard
 * input or -c, all executed the same way. */
#ifndef TP_REPL_H
#define TP_REPL_H

#include <stdio.h>

#include "workbench.h"

typedef enum {
	REPL_OK,
	REPL_ERROR,   /* a command failed; its message has been printed */
	REPL_QUIT     /* 'quit' or 'exit' was executed */
} repl_result;

/* Splits line into commands and runs them in order.  Stops at the first
 * failing command unless keep_going; where (may be NULL) prefixes error
 * messages, for example "demo.tp:12". */
repl_result repl_execute_line(workbench *wb, const char *line, const char *where, int keep_going);

/* Runs an interactive session on the terminal until quit or end of input. */
int repl_interactive(workbench *wb);

/* Runs every line of f; returns the process exit status: 0, or 1 after an
 * error (the script stops at the first error unless keep_going). */
int repl_stream(workbench *wb, FILE *f, const char *name, int keep_going);

/* Installs the SIGINT handler that stops long work at a safe point. */
void repl_install_signals(void);

#endif
