#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

typedef struct strbuf {
	char *s;
	size_t len, cap;
} strbuf;

static int sb_put(strbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 32;
		char *s = realloc(b->s, cap);

		if (!s)
			return -1;
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

typedef struct word_list {
	char **w;
	int n, cap;
} word_list;

static int wl_push(word_list *l, char *word)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		char **w = realloc(l->w, (size_t)cap * sizeof *w);

		if (!w)
			return -1;
		l->w = w;
		l->cap = cap;
	}
	l->w[l->n++] = word;
	return 0;
}

void lex_free_words(char **words, int n)
{
	for (int i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

void lex_free(lex_result *r)
{
	for (int i = 0; i < r->n; i++)
		lex_free_words(r->cmds[i].argv, r->cmds[i].argc);
	free(r->cmds);
	r->cmds = NULL;
	r->n = 0;
}

static int push_command(lex_result *r, word_list *l)
{
	lex_command *c;

	if (l->n == 0)
		return 0;
	c = realloc(r->cmds, (size_t)(r->n + 1) * sizeof *c);
	if (!c)
		return -1;
	r->cmds = c;
	r->cmds[r->n].argc = l->n;
	r->cmds[r->n].argv = l->w;
	r->n++;
	memset(l, 0, sizeof *l);
	return 0;
}

/* Completion inside a comment: nothing to complete, an empty last word. */
static int lex_partial_comment(word_list *cur, word_list *last)
{
	lex_free_words(cur->w, cur->n);
	memset(last, 0, sizeof *last);
	return -1;
}

/* The scanner shared by lex_line and lex_partial.  partial = 1 keeps the
 * last command only and tolerates unterminated quotes. */
static int scan(const char *line, lex_result *r, word_list *last, int partial,
		char *err, int err_size)
{
	word_list cur = { 0 };
	strbuf word = { 0 };
	int in_word = 0;
	const char *p = line;
	char quote = 0;

	for (;; p++) {
		char c = *p;

		if (quote) {
			if (c == '\0') {
				if (!partial) {
					snprintf(err, (size_t)err_size,
						 "unterminated %s quote: close it with %c",
						 quote == '\'' ? "single" : "double", quote);
					goto fail;
				}
				break;
			}
			if (c == quote) {
				quote = 0;
			} else if (quote == '"' && c == '\\' && (p[1] == '"' || p[1] == '\\')) {
				if (sb_put(&word, *++p))
					goto nomem;
			} else if (sb_put(&word, c)) {
				goto nomem;
			}
			continue;
		}
		if (c == '\0' && partial)
			break;
		if (c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';') {
			if (in_word) {
				if (wl_push(&cur, word.s ? word.s : strdup("")))
					goto nomem;
				memset(&word, 0, sizeof word);
				in_word = 0;
			}
			if (c == ';' && !partial && push_command(r, &cur))
				goto nomem;
			if (c == ';' && partial) {
				lex_free_words(cur.w, cur.n);
				memset(&cur, 0, sizeof cur);
			}
			if (c == '\0')
				break;
			continue;
		}
		if (c == '#' && !in_word) {
			if (partial)
				return lex_partial_comment(&cur, last);
			break;
		}
		in_word = 1;
		if (c == '\'' || c == '"') {
			quote = c;
			if (!word.s && sb_put(&word, '\0') == 0)
				word.len = 0;  /* an empty quoted word still counts */
			continue;
		}
		if (c == '\\') {
			if (p[1] == '\0') {
				if (!partial) {
					snprintf(err, (size_t)err_size,
						 "trailing backslash: remove it or escape it as \\\\");
					goto fail;
				}
				continue;
			}
			c = *++p;
		}
		if (sb_put(&word, c))
			goto nomem;
	}

	if (partial) {
		/* the word under the cursor, even when empty */
		if (wl_push(&cur, word.s ? word.s : strdup("")))
			goto nomem;
		*last = cur;
		return 0;
	}
	free(word.s);
	if (push_command(r, &cur))
		goto nomem;
	return 0;

nomem:
	snprintf(err, (size_t)err_size, "out of memory while reading the command line");
fail:
	free(word.s);
	lex_free_words(cur.w, cur.n);
	if (!partial)
		lex_free(r);
	return -1;
}

int lex_line(const char *line, lex_result *r, char *err, int err_size)
{
	memset(r, 0, sizeof *r);
	return scan(line, r, NULL, 0, err, err_size);
}

void lex_partial(const char *line, char ***words, int *n)
{
	word_list last = { 0 };
	char err[128];

	if (scan(line, NULL, &last, 1, err, sizeof err) != 0) {
		*words = NULL;
		*n = 0;
		return;
	}
	*words = last.w;
	*n = last.n;
}
