/* `tokenize TEXT`: CLIP token ids of a text, with the loaded model's
 * vocabulary or one named by --vocab DIR. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd_tokenize.h"
#include "output.h"

const cmd_option tokenize_options[] = {
	{ "vocab", OPT_PATH, "DIR", "folder with vocab.json and merges.txt (default: the loaded model's)", NULL },
	{ "context", OPT_INT, "N", "sequence length in ids, 2..4096 (default 77, CLIP's)", NULL },
	{ "pad", OPT_FLAG, NULL, "also print the zero padding up to the sequence length", NULL },
	{ "tokens", OPT_FLAG, NULL, "also print each id's vocabulary string on a second line", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static bpe_vocab *model_vocab;   /* set by `load model`, not owned */

/* The vocabulary last read with --vocab, kept for the next call. */
static bpe_vocab *dir_vocab;
static char *dir_vocab_path;

void tokenize_set_model_vocab(bpe_vocab *v)
{
	model_vocab = v;
}

static tp_status pick_vocab(const command *cmd, const cmd_args *a, bpe_vocab **v)
{
	const char *dir = cmd_str(cmd, a, "vocab");
	bpe_vocab *loaded;
	char *path;
	tp_status st;

	if (!dir) {
		if (!model_vocab)
			return tp_fail(TP_ERR_STATE, "%s: no vocabulary: load a model with 'load model DIR' "
				       "or give --vocab DIR, a folder with vocab.json and merges.txt", cmd->name);
		*v = model_vocab;
		return TP_OK;
	}
	if (dir_vocab && strcmp(dir_vocab_path, dir) == 0) {
		*v = dir_vocab;
		return TP_OK;
	}
	st = bpe_load_dir(dir, &loaded);
	if (st != TP_OK)
		return st;
	path = strdup(dir);
	if (!path) {
		bpe_free(loaded);
		return tp_fail(TP_ERR_NOMEM, "%s: out of memory", cmd->name);
	}
	bpe_free(dir_vocab);
	free(dir_vocab_path);
	dir_vocab = loaded;
	dir_vocab_path = path;
	*v = loaded;
	return TP_OK;
}

/* The positional words joined by single spaces (the tokenizer collapses
 * whitespace anyway). */
static char *join_words(const cmd_args *a)
{
	size_t len = 1;
	char *text;

	for (int i = 0; i < a->argc; i++)
		len += strlen(a->argv[i]) + 1;
	text = malloc(len);
	if (!text)
		return NULL;
	text[0] = '\0';
	for (int i = 0; i < a->argc; i++) {
		if (i > 0)
			strcat(text, " ");
		strcat(text, a->argv[i]);
	}
	return text;
}

static void print_tokens(const bpe_vocab *v, const int *ids, int n)
{
	for (int i = 0; i < n; i++)
		out_printf("%s%s", i ? " " : "", bpe_token_text(v, ids[i]));
	out_printf("\n");
}

tp_status cmd_tokenize(workbench *wb, const command *cmd, const cmd_args *a)
{
	long n_ctx = BPE_CONTEXT_LENGTH;
	int *ids, n_used, truncated, n_shown;
	bpe_vocab *v = NULL;
	char *text;
	tp_status st = cmd_int(cmd, a, "context", 2, 4096, &n_ctx);

	if (st == TP_OK)
		st = pick_vocab(cmd, a, &v);
	if (st != TP_OK)
		return st;
	text = join_words(a);
	ids = malloc((size_t)n_ctx * sizeof *ids);
	if (!text || !ids) {
		free(text);
		free(ids);
		return tp_fail(TP_ERR_NOMEM, "%s: out of memory", cmd->name);
	}
	st = bpe_encode(v, text, (int)n_ctx, ids, &n_used, &truncated);
	free(text);
	if (st != TP_OK) {
		free(ids);
		return st;
	}

	n_shown = cmd_has(cmd, a, "pad") ? (int)n_ctx : n_used;
	for (int i = 0; i < n_shown; i++)
		out_printf("%s%d", i ? " " : "", ids[i]);
	out_printf("\n");
	if (cmd_has(cmd, a, "tokens"))
		print_tokens(v, ids, n_shown);
	if (truncated)
		tp_log(TP_LOG_WARN, "%s: the text is longer than %ld ids: cut after %d tokens, the end token kept last",
		       cmd->name, n_ctx, n_used - 2);
	free(ids);
	return TP_OK;
}
