/* Splitting a command line into commands and words, as a shell quotes them.
 *
 *   'single quotes'  keep everything literally
 *   "double quotes"  keep everything but \" and \\, which become " and \
 *   backslash        outside quotes makes the next character literal
 *   ;                separates commands unless quoted or escaped
 *   #                at the start of a word begins a comment to the end of line
 * Words are separated by unquoted spaces and tabs; empty commands are dropped. */
#ifndef TP_LEXER_H
#define TP_LEXER_H

typedef struct lex_command {
	int argc;
	char **argv;   /* (argc) malloc'd words */
} lex_command;

typedef struct lex_result {
	int n;
	lex_command *cmds;  /* (n) */
} lex_result;

/* Splits line into r.  Returns 0, or -1 with a message in err (an
 * unterminated quote or a trailing backslash) and nothing allocated. */
int lex_line(const char *line, lex_result *r, char *err, int err_size);

void lex_free(lex_result *r);

/* Splits line like lex_line() but keeps a trailing unfinished word, for tab
 * completion: *words contains the words of the last command and *n their
 * count; the last word is the one being completed (may be empty).  Quotes are
 * removed; an unterminated quote is closed at the end. */
void lex_partial(const char *line, char ***words, int *n);

void lex_free_words(char **words, int n);

#endif
