/* The `tokenize` command and the vocabulary it uses by default. */
#ifndef TP_CMD_TOKENIZE_H
#define TP_CMD_TOKENIZE_H

#include "bpe.h"
#include "commands.h"

/* Options of `tokenize`, for its command-table entry. */
extern const cmd_option tokenize_options[];

tp_status cmd_tokenize(workbench *wb, const command *cmd, const cmd_args *a);

/* Makes v (may be NULL) the vocabulary `tokenize` uses without --vocab.
 * `load model` passes its model's tokenizer here, and NULL before it frees
 * that tokenizer; the command does not take ownership. */
void tokenize_set_model_vocab(bpe_vocab *v);

#endif
