/* twinprompt: an interactive workbench for prompt learning of CLIP-style
 * models on data with noisy labels. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "cmd_session.h"
#include "output.h"
#include "repl.h"
#include "workbench.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: twinprompt [-k] [--store FILE | --no-store] [-f FILE | -c COMMANDS]\n"
		"  (no option)      interactive prompt on a terminal; commands from standard input otherwise\n"
		"  -f, --file FILE  run the commands of FILE ('-' for standard input)\n"
		"  -c, --command C  run the commands C, separated by ';'\n"
		"  -k, --keep-going in -f, -c and standard input mode, go on after a failing command\n"
		"                   (the exit status is still 1); by default the first error stops\n"
		"  --store FILE     record the session in the session store FILE (default: the\n"
		"                   environment variable TWINPROMPT_STORE, else ./twinprompt.db)\n"
		"  --no-store       record nothing (also TWINPROMPT_STORE set to an empty value)\n"
		"  -h, --help       show this help\n"
		"  -V, --version    show the version\n"
		"Inside twinprompt, 'help' lists the commands.\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "command", required_argument, NULL, 'c' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "store", required_argument, NULL, 'S' },
		{ "no-store", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	const char *file = NULL, *commands = NULL;
	const char *store_file = getenv("TWINPROMPT_STORE");
	int no_store = store_file && !store_file[0];
	int keep_going = 0;
	int status = 0;
	int opt;
	workbench wb;

	while ((opt = getopt_long(argc, argv, "f:c:khV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'c': commands = optarg; break;
		case 'k': keep_going = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("twinprompt %s\n", PACKAGE_VERSION); return 0;
		case 'S': store_file = optarg; no_store = 0; break;
		case 'N': no_store = 1; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "twinprompt: unexpected argument '%s': use -f FILE to run a script\n", argv[optind]);
		return 2;
	}
	if (file && commands) {
		fprintf(stderr, "twinprompt: give -f or -c, not both\n");
		return 2;
	}

	/* GSL reports errors through return codes, never by aborting */
	gsl_set_error_handler_off();
	repl_install_signals();
	wb_init(&wb);
	if (no_store)
		store_file = NULL;
	else if (!store_file)
		store_file = "twinprompt.db";
	session_start(&wb, store_file, !commands && !file && isatty(STDIN_FILENO));

	if (commands) {
		status = repl_execute_line(&wb, commands, "-c", keep_going) == REPL_ERROR;
	} else if (file && strcmp(file, "-") != 0) {
		FILE *f = fopen(file, "r");

		if (!f) {
			fprintf(stderr, "twinprompt: cannot open the script '%s': %s: check the path given to -f\n",
				file, strerror(errno));
			session_stop();
			wb_free(&wb);
			return 2;
		}
		status = repl_stream(&wb, f, file, keep_going);
		fclose(f);
	} else if (!file && isatty(STDIN_FILENO)) {
		status = repl_interactive(&wb);
	} else {
		status = repl_stream(&wb, stdin, "stdin", keep_going);
	}
	session_stop();
	wb_free(&wb);
	return status;
}
