/* The CoOp prompt learner as a head (head.h): learnable context vectors in
 * the token-embedding space, turned into class weights by the frozen CLIP
 * text encoder.
 *
 * The prompt of class c is, by class position,
 *   end     [SOT] v_1 .. v_M  name_c  tail [EOT]
 *   middle  [SOT] v_1 .. v_{M/2}  name_c  v_{M/2+1} .. v_M  tail [EOT]
 *   front   [SOT] name_c  v_1 .. v_M  tail [EOT]
 * (M/2 rounded down, as CoOp does), padded with id 0 to the context length.
 * tail is the tokens of "." in CoOp.  The v's are one (M, W) set shared by
 * all classes ("unified") or one set per class (class-specific context,
 * CSC, (C, M, W)).  W_c is the text encoder's output at the EOT token.
 *
 * Two exact savings, chosen by coop_mode:
 *   COOP_FULL    every prompt runs over all context_length positions, as
 *                CoOp's PyTorch code does (for checks and benchmarks);
 *   COOP_EOT     each prompt runs only up to its EOT token: the causal mask
 *                keeps later positions from reaching it;
 *   COOP_SHARED  as COOP_EOT, and with unified context at the end position
 *                the prefix [SOT] v_1 .. v_M is computed once per step, its
 *                keys and values reused by every class and its gradient
 *                summed over the classes.  Other layouts fall back to
 *                COOP_EOT.
 * Classes are processed in chunks whose activations fit in chunk_bytes, so
 * memory does not grow with the class count.  When all classes fit in one
 * chunk, the backward pass reuses the activations of head_weights();
 * otherwise it recomputes each chunk's forward pass first.
 *
 * head_weights() keeps its result and returns it again without computing
 * while the parameters are unchanged (evaluation calls it once per chunk of
 * samples). */
#ifndef TP_COOP_H
#define TP_COOP_H

#include <stddef.h>

#include "clip_model.h"
#include "dataset.h"
#include "head.h"
#include "status.h"

typedef enum { COOP_END, COOP_MIDDLE, COOP_FRONT } coop_position;
typedef enum { COOP_FULL, COOP_EOT, COOP_SHARED } coop_mode;

typedef struct coop_config {
	int n_ctx;               /* M for random initialisation */
	int csc;                 /* 1 = one context set per class */
	coop_position position;
	const int *init_ids;     /* (n_init) word initialisation: M = n_init; NULL = random */
	int n_init;
	double init_std;         /* standard deviation of the random initialisation */
	coop_mode mode;
	size_t chunk_bytes;      /* activation memory of one chunk of classes */
	int sot_id, eot_id;      /* start and end token ids of the tokenizer */
	const int *tail_ids;     /* (n_tail) tokens after the class name */
	int n_tail;
} coop_config;

/* Fills c with CoOp's defaults: M = 16, unified, end, N(0, 0.02^2), shared
 * prefix, 512 MiB chunks, CLIP's start and end ids 49406 and 49407, no tail. */
void coop_config_defaults(coop_config *c);

const char *coop_position_name(coop_position p);
int coop_position_parse(const char *name, coop_position *p);

/* Creates a CoOp head for n_classes classes whose name tokens are
 * name_ids[c] (name_len[c] ids, without start or end token).  names (may be
 * NULL) are used in error messages.  The model must outlive the head.  Fails
 * when a prompt does not fit in the context length or an id is outside the
 * vocabulary, naming the class. */
tp_status coop_create(const clip_model *m, const coop_config *cfg, int n_classes,
		      const int *const *name_ids, const int *name_len,
		      const char *const *names, unsigned long seed, head **out);

/* What the trainer needs to create CoOp heads for a data set: the model,
 * the settings and the tokenized class names (all owned by the caller and
 * kept alive while runs use them). */
typedef struct coop_source {
	const clip_model *model;
	coop_config cfg;
	int n_classes;
	int **name_ids;          /* (n_classes) token ids of each class name */
	int *name_len;           /* (n_classes) */
	char **names;            /* (n_classes) class names, for messages */
} coop_source;

/* A train_config.create_head callback; user is a coop_source.  Checks that
 * the data set's feature dimension equals the model's projection dimension
 * and that its class count matches the tokenized names, then creates the
 * head with seed. */
tp_status coop_create_head(void *user, const dataset *data, int k, unsigned long seed,
			   head **out);

/* Number of context vectors M and whether the head is class-specific. */
int coop_n_ctx(const head *h);
int coop_is_csc(const head *h);

/* Changes the mode of an existing head (tests and benchmarks compare them).
 * Fails only when out of memory; the head must then be freed, not used. */
tp_status coop_set_mode(head *h, coop_mode mode);

/* Peak bytes of activations and buffers the head has held. */
size_t coop_memory_bytes(const head *h);

#endif
