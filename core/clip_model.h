/* A CLIP checkpoint in the Hugging Face layout: its configuration and the
 * frozen weights of the text encoder and, when the checkpoint has it, of the
 * image encoder (the vision transformer).
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
 *
 * Vision tensors, read when vision_model.embeddings.class_embedding is
 * present, and then all required (W, F from vision_config, p = patch_size,
 * G = image_size / p rounded down):
 *   vision_model.embeddings.class_embedding            (W)
 *   vision_model.embeddings.patch_embedding.weight     (W, 3, p, p), no bias
 *   vision_model.embeddings.position_embedding.weight  (G * G + 1, W)
 *   vision_model.pre_layrnorm.{weight,bias}            (W)  [sic, Hugging Face's name]
 *   vision_model.encoder.layers.L.*                    as the text layers
 *   vision_model.post_layernorm.{weight,bias}          (W)
 *   visual_projection.weight                           (projection_dim, W)
 * Everything else (position_ids) is skipped. */
#ifndef TP_CLIP_MODEL_H
#define TP_CLIP_MODEL_H

#include <stddef.h>
#include <stdint.h>

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
	int width;             /* hidden_size W */
	int n_layers;
	int n_heads;
	int mlp_width;         /* intermediate_size F */
	int image_size;        /* S, the side of the square input in pixels */
	int patch_size;        /* p; the grid is G = S / p patches a side */
	double ln_eps;
	clip_activation act;
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

/* The frozen weights of the image encoder (G = image_size / patch_size). */
typedef struct clip_vision_weights {
	const float *class_emb;      /* (W) */
	const float *patch_w;        /* (W, 3 p p) the patch convolution as a matrix, columns (channel, y, x) */
	const float *pos_emb;        /* (G G + 1, W) class token first, then patches row by row */
	const float *pre_ln_w, *pre_ln_b;    /* (W) */
	clip_layer *layers;          /* (n_layers) */
	const float *post_ln_w, *post_ln_b;  /* (W) on the class token */
	const float *proj;           /* (P, W) visual projection, no bias */
} clip_vision_weights;

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
	int has_vision;              /* the checkpoint has the image encoder */
	clip_vision_weights vis;     /* valid when has_vision */
	uint64_t vision_checksum;    /* hash of the vision weights and config, 0 without them */
	float *memory;               /* every tensor above, one allocation */
	size_t n_floats;
	size_t n_vision_floats;      /* the image encoder's share of n_floats */
} clip_model;

/* Loads config.json and model.safetensors from dir.  Errors name the file,
 * the tensor or the config key, the value found and the fix.  The caller
 * frees *out with clip_model_free(). */
tp_status clip_model_load(const char *dir, clip_model **out);
void clip_model_free(clip_model *m);

/* Reads only config.json of dir into m's configuration fields (no weights). */
tp_status clip_model_read_config(const char *path, clip_model *m);

/* Bytes of float32 weights held: the text encoder, plus the image encoder
 * when the checkpoint has it. */
size_t clip_model_bytes(const clip_model *m);

#endif
