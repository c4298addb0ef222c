/* The frozen CLIP text transformer: forward, and backward to its input
 * embeddings only (the weights are frozen, so no weight gradient is ever
 * computed and no linear-layer input needs to be kept).
 *
 * A call processes a set of n sequences of different lengths packed row
 * after row into one (T, W) matrix, T = sum of the lengths, so that every
 * linear layer is one sgemm over all tokens.  The inputs are token plus
 * position embeddings (clip_text_embed() builds them).  Attention is causal:
 * token t sees tokens 0..t of its own sequence.
 *
 * A shared prefix: a clip_acts made by clip_acts_create(1) holds the forward
 * pass of tokens 0..P-1 that several sequences have in common.  Passing it
 * to clip_text_forward() makes every sequence a continuation of that prefix
 * (its first token sits at position P and attends to the prefix's keys and
 * values of every layer), which is exact because of the causal mask.  The
 * backward pass of each continuation adds its gradient on the prefix's keys
 * and values into the prefix; clip_text_backward() on the prefix then
 * carries those gradients down to the prefix's inputs.
 *
 * The output of a sequence is the final LayerNorm of its last layer at one
 * position (the end-of-text token), times the text projection.
 *
 * Forward and backward of one clip_acts pair up: clip_text_backward() uses
 * the activations of the last clip_text_forward() and clip_text_pool() on the
 * same clip_acts. */
#ifndef TP_CLIP_TEXT_H
#define TP_CLIP_TEXT_H

#include <stddef.h>

#include "clip_model.h"
#include "status.h"

typedef struct clip_acts clip_acts;

/* Returns empty activation storage, or NULL when out of memory.  is_prefix
 * marks storage for a shared prefix, which also keeps key and value
 * gradients. */
clip_acts *clip_acts_create(int is_prefix);
void clip_acts_free(clip_acts *a);

/* Bytes the activation block of n sequences of total length T with
 * att_total attention entries per layer would take (for sizing chunks). */
size_t clip_acts_bytes(const clip_model *m, int n, int T, size_t att_total, int is_prefix);

/* Bytes held by a now. */
size_t clip_acts_size(const clip_acts *a);

/* Writes x (len, W) = token_emb[ids[t]] + pos_emb[start + t].  The ids must
 * be in 0..vocab_size-1 and start + len <= context_length (checked by the
 * caller). */
void clip_text_embed(const clip_model *m, const int *ids, int len, int start, float *x);

/* Runs the transformer on n sequences with inputs x (sum len, W); len (n)
 * gives each sequence's length.  With prefix (a forwarded clip_acts made with
 * is_prefix), the sequences continue it.  Keeps the activations in a. */
tp_status clip_text_forward(const clip_model *m, clip_acts *a, const float *x,
			    int n, const int *len, const clip_acts *prefix);

/* Writes features (n, P) = text_projection(final_layer_norm(h)) where h is
 * the last layer's output at position pool[i] (0-based, within sequence i). */
tp_status clip_text_pool(const clip_model *m, clip_acts *a, const int *pool, float *features);

/* Writes dx (T, W) = dL/dx given dfeatures (n, P) = dL/dfeatures of the last
 * clip_text_pool().  With prefix, adds the gradients on the prefix's keys and
 * values into it.  For a prefix itself, pass dfeatures NULL: the gradient
 * then comes only from the keys and values that the continuations added. */
void clip_text_backward(const clip_model *m, clip_acts *a, const float *dfeatures,
			float *dx, clip_acts *prefix);

/* Zeroes the key and value gradients a prefix has gathered. */
void clip_acts_clear_grad(clip_acts *a);

/* Returns the index of the largest id in ids (len), the end-of-text token in
 * CLIP's vocabulary; the first one on ties. */
int clip_text_eot(const int *ids, int len);

/* Encodes n token sequences ids (n, context_length), each cut after its
 * end-of-text token (the largest id), into features (n, P), not normalised.
 * Fails naming the sequence when an id is outside the vocabulary. */
tp_status clip_text_encode(const clip_model *m, const int *ids, int n, float *features);

#endif
