/* A CLIP checkpoint in the Hugging Face layout: its configuration and the
 * frozen weights of the text encoder.
 *
 * A model folder holds
 *   config.json        {"text_config": {...}, "vision_config": {...},
 *                       "projection_dim": 512, "logit_scale_init_value": 2.6592}
 *   model.safetensors  the weights (safetensors.h), F32, F16 or BF16
 *   vocab.json, merges.txt  the BPE tokenizer (read by bpe.h, not here)
 * Keys missing from text_config or vision_config take the defaults of the
 * Hugging Face CLIPTextConfig and CLIPVisionConfig classes (ViT-B/32 sizes),
 * as the Hugging Face loader does; the tensor shapes are then checked against
 * the result, so a config that does not match the weights is rejected.
 *
 * Text tensors read (L = layer index, W = hidden_size, F = intermediate_size):
 *   text_model.embeddings.token_embedding.weight      (vocab_size, W)
 *   text_model.embeddings.position_embedding.weight   (max_position_embeddings, W)
 *   text_model.encoder.layers.L.layer_norm1.{weight,bias}           (W)
 *   text_model.encoder.layers.L.self_attn.{q,k,v,out}_proj.weight   (W, W)
 *   text_model.encoder.layers.L.self_attn.{q,k,v,out}_proj.bias     (W)
 *   text_model.encoder.layers.L.layer_norm2.{weight,bias}           (W)
 *   text_model.encoder.layers.L.mlp.fc1.weight (F, W), .bias (F)
 *   text_model.encoder.layers.L.mlp.fc2.weight (W, F), .bias (W)
 *   text_model.final_layer_norm.{weight,bias}          (W)
 *   text_projection.weight                             (projection_dim, W)
 *   logit_scale                                        scalar (optional)
 * Everything else (vision_model.*, position_ids) is skipped. */
#ifndef TP_CLIP_MODEL_H
#define TP_CLIP_MODEL_H

#include <stddef.h>

#include "status.h"

typedef enum {
	CLIP_ACT_QUICK_GELU,   /* x * sigmoid(1.702 x), OpenAI's checkpoints */
	CLIP_ACT_GELU          /* the exact erf GELU, used by some LAION checkpoints */
} clip_activation;

typedef struct clip_text_config {
	int vocab_size;
	int width;             /* hidden_size W */
	int n_layers;
	int n_heads;
	int mlp_width;         /* intermediate_size F */
	int context_length;    /* max_position_embeddings, 77 for CLIP */
	double ln_eps;
	clip_activation act;
} clip_text_config;

typedef struct clip_vision_config {
	int width;
	int n_layers;
	int n_heads;
	int mlp_width;
	int image_size;
	int patch_size;
} clip_vision_config;

/* One pre-LayerNorm transformer block.  q, k and v are stacked so that one
 * sgemm computes all three. */
typedef struct clip_layer {
	const float *ln1_w, *ln1_b;  /* (W) */
	const float *qkv_w;          /* (3W, W) rows of q_proj, then k_proj, then v_proj */
	const float *qkv_b;          /* (3W) */
	const float *out_w;          /* (W, W) */
	const float *out_b;          /* (W) */
	const float *ln2_w, *ln2_b;  /* (W) */
	const float *fc1_w;          /* (F, W) */
	const float *fc1_b;          /* (F) */
	const float *fc2_w;          /* (W, F) */
	const float *fc2_b;          /* (W) */
} clip_layer;

typedef struct clip_model {
	char *dir;
	clip_text_config text;
	clip_vision_config vision;
	int proj_dim;                /* projection_dim P */
	double logit_scale;          /* log of the logit scale s */
	const float *token_emb;      /* (vocab_size, W) */
	const float *pos_emb;        /* (context_length, W) */
	clip_layer *layers;          /* (n_layers) */
	const float *lnf_w, *lnf_b;  /* (W) final LayerNorm */
	const float *proj;           /* (P, W) text projection, no bias */
	float *memory;               /* every tensor above, one allocation */
	size_t n_floats;
} clip_model;

/* Loads config.json and model.safetensors from dir.  Errors name the file,
 * the tensor or the config key, the value found and the fix.  The caller
 * frees *out with clip_model_free(). */
tp_status clip_model_load(const char *dir, clip_model **out);
void clip_model_free(clip_model *m);

/* Reads only config.json of dir into m's configuration fields (no weights). */
tp_status clip_model_read_config(const char *path, clip_model *m);

/* Bytes of float32 weights of the text encoder. */
size_t clip_model_bytes(const clip_model *m);

#endif
