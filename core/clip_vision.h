/* The frozen CLIP image encoder: a vision transformer (ViT) forward pass on
 * preprocessed images, batched so that every linear layer is one sgemm
 * over all tokens of the batch.
 *
 * For each image (3, S, S) with S = image_size, p = patch_size and
 * G = S / p rounded down:
 *   patches    the G x G non-overlapping p x p patches of the top-left
 *              G p x G p pixels, row by row, each flattened as (channel, y, x)
 *              and multiplied by the patch convolution's weights (one sgemm);
 *   tokens     the class embedding, then the G G patch embeddings, plus the
 *              position embeddings: (G G + 1, W);
 *   pre_layrnorm, then the pre-LayerNorm transformer blocks with full
 *              (not causal) self-attention;
 *   output     post_layernorm of the class token times the visual projection.
 * The pixels come from image_clip_preprocess() (image.h). */
#ifndef TP_CLIP_VISION_H
#define TP_CLIP_VISION_H

#include <stddef.h>

#include "clip_model.h"
#include "status.h"

typedef struct clip_vision_work clip_vision_work;

/* Returns activation storage for batches of up to max_batch images of m,
 * or NULL when out of memory (or when m has no image encoder). */
clip_vision_work *clip_vision_work_create(const clip_model *m, int max_batch);
void clip_vision_work_free(clip_vision_work *w);

/* Bytes the activations of a batch of n images take, for sizing batches. */
size_t clip_vision_work_bytes(const clip_model *m, int n);

/* The batch size whose activations fit in about max_bytes (at least 1, at
 * most 64 images). */
int clip_vision_batch_size(const clip_model *m, size_t max_bytes);

/* Encodes n preprocessed images pixels (n, 3, S, S) into features (n, P),
 * not normalised, using w (made for this model with max_batch >= n).  Fails
 * with TP_ERR_STATE when m has no image encoder. */
tp_status clip_vision_forward(const clip_model *m, clip_vision_work *w, const float *pixels,
			      int n, float *features);

/* Encodes any number of images, in batches of at most 32, allocating the
 * activations itself. */
tp_status clip_vision_encode(const clip_model *m, const float *pixels, int n, float *features);

#endif
