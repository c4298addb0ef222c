/* Command-line splitting: quotes, separators, comments and errors. */
#include "config.h"

#include <string.h>

#include "lexer.h"
#include "tap.h"

/* Checks that line splits into the commands of expected, written as
 * words joined by '|' and commands joined by '/'. */
static void check_split(const char *line, const char *expected)
{
	lex_result r;
	char err[128];
	char got[512] = "";

	if (lex_line(line, &r, err, sizeof err) != 0) {
		ok(0, "split [%s]: unexpected error %s", line, err);
		return;
	}
	for (int i = 0; i < r.n; i++) {
		if (i)
			strcat(got, "/");
		for (int j = 0; j < r.cmds[i].argc; j++) {
			if (j)
				strcat(got, "|");
			strcat(got, r.cmds[i].argv[j]);
		}
	}
	lex_free(&r);
	if (!ok(strcmp(got, expected) == 0, "split [%s]", line))
		diag("got [%s], expected [%s]", got, expected);
}

static void check_error(const char *line, const char *fragment)
{
	lex_result r;
	char err[128] = "";
	int rc = lex_line(line, &r, err, sizeof err);

	ok(rc == -1, "error for [%s]", line);
	ok(strstr(err, fragment) != NULL, "message for [%s] mentions '%s': %s", line, fragment, err);
}

static void check_partial(const char *line, int n_expected, const char *last)
{
	char **words;
	int n;

	lex_partial(line, &words, &n);
	is_int(n, n_expected, "partial word count");
	ok(n > 0 && strcmp(words[n - 1], last) == 0, "partial [%s] completes '%s'", line, last);
	lex_free_words(words, n);
}

int main(void)
{
	check_split("train 5", "train|5");
	check_split("  noise   sym\t0.5  ", "noise|sym|0.5");
	check_split("load fashion-mnist; noise sym 0.5 ; train", "load|fashion-mnist/noise|sym|0.5/train");
	check_split("echo 'a; b' \"c d\"", "echo|a; b|c d");
	check_split("echo a\\;b", "echo|a;b");
	check_split("echo \"say \\\"hi\\\"\"", "echo|say \"hi\"");
	check_split("echo 'it''s'", "echo|its");
	check_split("echo '' x", "echo||x");
	check_split("train # a comment; not a command", "train");
	check_split("# only a comment", "");
	check_split(";;", "");
	check_split("echo a#b", "echo|a#b");
	check_error("echo 'open", "single quote");
	check_error("echo \"open", "double quote");
	check_error("echo x\\", "backslash");
	check_partial("noise sy", 2, "sy");
	check_partial("noise ", 2, "");
	check_partial("train; gmm st", 2, "st");
	check_partial("load features 'my fi", 3, "my fi");
	return done_testing();
}
