#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "commands.h"
#include "lexer.h"
#include "output.h"
#include "repl.h"

#define HISTORY_MAX 2000

static volatile sig_atomic_t at_prompt;

static void on_sigint(int sig)
{
	(void)sig;
	interrupt_requested = 1;
	if (at_prompt) {
		/* Ctrl-C at the prompt clears the line */
		if (write(STDOUT_FILENO, "\n", 1) < 0)
			return;
		rl_on_new_line();
		rl_replace_line("", 0);
		rl_redisplay();
	}
}

void repl_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

repl_result repl_execute_line(workbench *wb, const char *line, const char *where, int keep_going)
{
	lex_result lex;
	char err[256];
	repl_result result = REPL_OK;

	if (lex_line(line, &lex, err, sizeof err) != 0) {
		out_error("%s%s%s", where ? where : "", where ? ": " : "", err);
		return REPL_ERROR;
	}
	for (int i = 0; i < lex.n; i++) {
		lex_command *c = &lex.cmds[i];
		tp_status st;

		if (strcmp(c->argv[0], "quit") == 0 || strcmp(c->argv[0], "exit") == 0) {
			result = REPL_QUIT;
			break;
		}
		tp_clear_error();
		st = command_execute(wb, c->argc, c->argv);
		if (st == TP_OK)
			continue;
		if (st == TP_ERR_INTERRUPTED)
			out_printf("%s\n", tp_last_error());
		else
			out_error("%s%s%s", where ? where : "", where ? ": " : "",
				  tp_last_error()[0] ? tp_last_error() : tp_status_name(st));
		result = REPL_ERROR;
		if (!keep_going)
			break;
	}
	lex_free(&lex);
	return result;
}

int repl_stream(workbench *wb, FILE *f, const char *name, int keep_going)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	int status = 0;

	while (getline(&line, &cap, f) >= 0) {
		char where[512];
		repl_result r;

		lineno++;
		snprintf(where, sizeof where, "%s:%d", name, lineno);
		r = repl_execute_line(wb, line, where, keep_going);
		if (r == REPL_QUIT)
			break;
		if (r == REPL_ERROR) {
			status = 1;
			if (!keep_going)
				break;
		}
	}
	free(line);
	return status;
}

/* ---- tab completion ---- */

#define MAX_CANDIDATES 128

static const char *candidates[MAX_CANDIDATES];
static int n_candidates;
static char candidate_buf[MAX_CANDIDATES][48];

static void add_candidate(const char *word)
{
	for (int i = 0; i < n_candidates; i++)
		if (strcmp(candidates[i], word) == 0)
			return;
	if (n_candidates < MAX_CANDIDATES)
		candidates[n_candidates++] = word;
}

static char *candidate_generator(const char *text, int state)
{
	static int next;
	size_t len = strlen(text);

	if (state == 0)
		next = 0;
	while (next < n_candidates) {
		const char *c = candidates[next++];

		if (strncmp(c, text, len) == 0)
			return strdup(c);
	}
	return NULL;
}

/* Adds the first word of every command ("gmm" once for all gmm commands). */
static void add_first_words(void)
{
	int k = 0;

	for (int i = 0; i < command_count() && k < MAX_CANDIDATES; i++, k++) {
		const command *c = command_at(i);
		const char *space = strchr(c->name, ' ');
		size_t len = space ? (size_t)(space - c->name) : strlen(c->name);

		snprintf(candidate_buf[k], sizeof candidate_buf[k], "%.*s", (int)len, c->name);
		add_candidate(candidate_buf[k]);
	}
	add_candidate("exit");
}

/* Fills the candidates for the last of words; returns 1 to fall back to
 * file name completion. */
static int collect_candidates(char **words, int n)
{
	const command *cmd;
	int used = 0;
	int k = 0;

	n_candidates = 0;
	if (n <= 1) {
		add_first_words();
		return 0;
	}
	if (n == 2) {
		size_t len = strlen(words[0]);

		for (int i = 0; i < command_count() && k < MAX_CANDIDATES; i++) {
			const command *c = command_at(i);

			if (strncmp(c->name, words[0], len) == 0 && c->name[len] == ' ') {
				add_candidate(c->name + len + 1);
				k++;
			}
		}
		if (k > 0)
			return 0;
		if (strcmp(words[0], "help") == 0) {
			add_first_words();
			return 0;
		}
	}
	cmd = command_find(n - 1, words, &used);
	if (!cmd)
		return 0;

	/* the value of an option */
	if (n - 1 > used && strncmp(words[n - 2], "--", 2) == 0) {
		for (const cmd_option *o = cmd->options; o && o->name; o++) {
			if (strcmp(o->name, words[n - 2] + 2) != 0 || o->type == OPT_FLAG)
				continue;
			if (o->type == OPT_PATH)
				return 1;
			for (const char *const *c = o->choices; c && *c; c++)
				add_candidate(*c);
			return 0;
		}
	}
	for (const cmd_option *o = cmd->options; o && o->name && k < MAX_CANDIDATES; o++, k++) {
		snprintf(candidate_buf[k], sizeof candidate_buf[k], "--%s", o->name);
		add_candidate(candidate_buf[k]);
	}
	if (n - 1 == used && cmd->arg_words) {
		for (const char *const *w = cmd->arg_words; *w; w++)
			add_candidate(*w);
		return 0;
	}
	/* positional file names ("load features FILE.npy", "export split FILE.csv") */
	return words[n - 1][0] != '-' && cmd->max_args > 0 && !cmd->arg_words;
}

static char **complete(const char *text, int start, int end)
{
	char *prefix = strndup(rl_line_buffer, (size_t)end);
	char **words;
	int n;
	int files;

	(void)start;
	rl_attempted_completion_over = 1;
	if (!prefix)
		return NULL;
	lex_partial(prefix, &words, &n);
	free(prefix);
	files = collect_candidates(words, n);
	lex_free_words(words, n);
	if (files) {
		rl_attempted_completion_over = 0;
		return NULL;
	}
	return rl_completion_matches(text, candidate_generator);
}

static char *history_path(void)
{
	const char *env = getenv("TWINPROMPT_HISTORY");
	const char *home = getenv("HOME");
	char *path;

	if (env)
		return strdup(env);
	if (!home)
		return NULL;
	path = malloc(strlen(home) + sizeof "/.twinprompt_history");
	if (path)
		sprintf(path, "%s/.twinprompt_history", home);
	return path;
}

int repl_interactive(workbench *wb)
{
	char *hist = history_path();
	int status = 0;

	rl_readline_name = "twinprompt";
	rl_attempted_completion_function = complete;
	using_history();
	stifle_history(HISTORY_MAX);
	if (hist)
		read_history(hist);
	out_printf("twinprompt %s: robust prompt learning under label noise. Type 'help' for the commands.\n",
		   PACKAGE_VERSION);

	for (;;) {
		char *line;
		repl_result r;

		at_prompt = 1;
		interrupt_requested = 0;
		line = readline("twinprompt> ");
		at_prompt = 0;
		if (!line) {
			out_printf("\n");
			break;
		}
		if (line[strspn(line, " \t")] != '\0') {
			add_history(line);
			if (hist)
				append_history(1, hist);
		}
		r = repl_execute_line(wb, line, NULL, 0);
		free(line);
		if (r == REPL_QUIT)
			break;
	}
	if (hist)
		history_truncate_file(hist, HISTORY_MAX);
	free(hist);
	return status;
}
