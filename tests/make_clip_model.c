/* Writes a small random CLIP model in the Hugging Face layout, and image
 * features to go with it, for the command-line tests:
 *   config.json, model.safetensors   F32 text encoder, random weights, and
 *                                    an image encoder when VISION is given
 *   features.npy (N, P)              clustered, one cluster per class
 *   labels.txt, classes.txt          N labels, C class names
 * No vocab.json or merges.txt: the tests copy CLIP's own.
 * usage: make_clip_model DIR VOCAB_SIZE WIDTH LAYERS HEADS PROJ [VISION]
 * VISION is WIDTH,LAYERS,HEADS,IMAGE_SIZE,PATCH_SIZE of the image encoder. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define N_SAMPLES 120
#define N_CLASSES 4

static const char *const class_names[N_CLASSES] = { "t-shirt", "golden_retriever", "sneaker", "bag" };

static uint64_t state = 88172645463325252u;

/* A uniform deviate in [-1, 1) from xorshift64. */
static double uniform(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) / 4503599627370496.0 - 1.0;
}

typedef struct tensor {
	char name[96];
	long rows, cols;   /* cols 0 for a vector, rows 0 too for a scalar */
	long d2, d3;       /* the last two sizes of a 4-D tensor, else 0 */
	int kind;          /* 0 random, 1 ones, 2 zeros, 3 log(100) */
} tensor;

static int n_tensors;
static tensor tensors[512];

static void add(const char *name, long rows, long cols, int kind)
{
	tensor *t = &tensors[n_tensors++];

	snprintf(t->name, sizeof t->name, "%s", name);
	t->rows = rows;
	t->cols = cols;
	t->d2 = t->d3 = 0;
	t->kind = kind;
}

static long count(const tensor *t)
{
	return (t->rows ? t->rows : 1) * (t->cols ? t->cols : 1) * (t->d2 ? t->d2 * t->d3 : 1);
}

typedef struct vision_size {
	long width;
	int layers, heads;
	long image, patch;
} vision_size;

/* The tensors of an image encoder of size v, F = 4 W. */
static void add_vision(const vision_size *v, long proj)
{
	char name[96];
	long W = v->width, G = v->image / v->patch;
	static const char *const parts[] = { "q_proj", "k_proj", "v_proj", "out_proj" };

	add("vision_model.embeddings.class_embedding", W, 0, 0);
	add("vision_model.embeddings.patch_embedding.weight", W, 3, 0);
	tensors[n_tensors - 1].d2 = tensors[n_tensors - 1].d3 = v->patch;
	add("vision_model.embeddings.position_embedding.weight", G * G + 1, W, 0);
	add("vision_model.pre_layrnorm.weight", W, 0, 1);
	add("vision_model.pre_layrnorm.bias", W, 0, 2);
	for (int l = 0; l < v->layers; l++) {
		for (int p = 0; p < 4; p++) {
			snprintf(name, sizeof name, "vision_model.encoder.layers.%d.self_attn.%s.weight", l, parts[p]);
			add(name, W, W, 0);
			snprintf(name, sizeof name, "vision_model.encoder.layers.%d.self_attn.%s.bias", l, parts[p]);
			add(name, W, 0, 2);
		}
		for (int p = 1; p <= 2; p++) {
			snprintf(name, sizeof name, "vision_model.encoder.layers.%d.layer_norm%d.weight", l, p);
			add(name, W, 0, 1);
			snprintf(name, sizeof name, "vision_model.encoder.layers.%d.layer_norm%d.bias", l, p);
			add(name, W, 0, 2);
		}
		snprintf(name, sizeof name, "vision_model.encoder.layers.%d.mlp.fc1.weight", l);
		add(name, 4 * W, W, 0);
		snprintf(name, sizeof name, "vision_model.encoder.layers.%d.mlp.fc1.bias", l);
		add(name, 4 * W, 0, 2);
		snprintf(name, sizeof name, "vision_model.encoder.layers.%d.mlp.fc2.weight", l);
		add(name, W, 4 * W, 0);
		snprintf(name, sizeof name, "vision_model.encoder.layers.%d.mlp.fc2.bias", l);
		add(name, W, 0, 2);
	}
	add("vision_model.post_layernorm.weight", W, 0, 1);
	add("vision_model.post_layernorm.bias", W, 0, 2);
	add("visual_projection.weight", proj, W, 0);
}

static int write_model(const char *dir, long vocab, long width, int layers, int heads, long proj,
		       const vision_size *vision)
{
	char path[4096], name[96], *header;
	size_t size = 0, used = 0, offset = 0;
	FILE *f;
	static const char *const parts[] = { "q_proj", "k_proj", "v_proj", "out_proj" };

	add("text_model.embeddings.token_embedding.weight", vocab, width, 0);
	add("text_model.embeddings.position_embedding.weight", 77, width, 0);
	for (int l = 0; l < layers; l++) {
		for (int p = 0; p < 4; p++) {
			snprintf(name, sizeof name, "text_model.encoder.layers.%d.self_attn.%s.weight", l, parts[p]);
			add(name, width, width, 0);
			snprintf(name, sizeof name, "text_model.encoder.layers.%d.self_attn.%s.bias", l, parts[p]);
			add(name, width, 0, 2);
		}
		for (int p = 1; p <= 2; p++) {
			snprintf(name, sizeof name, "text_model.encoder.layers.%d.layer_norm%d.weight", l, p);
			add(name, width, 0, 1);
			snprintf(name, sizeof name, "text_model.encoder.layers.%d.layer_norm%d.bias", l, p);
			add(name, width, 0, 2);
		}
		snprintf(name, sizeof name, "text_model.encoder.layers.%d.mlp.fc1.weight", l);
		add(name, 4 * width, width, 0);
		snprintf(name, sizeof name, "text_model.encoder.layers.%d.mlp.fc1.bias", l);
		add(name, 4 * width, 0, 2);
		snprintf(name, sizeof name, "text_model.encoder.layers.%d.mlp.fc2.weight", l);
		add(name, width, 4 * width, 0);
		snprintf(name, sizeof name, "text_model.encoder.layers.%d.mlp.fc2.bias", l);
		add(name, width, 0, 2);
	}
	add("text_model.final_layer_norm.weight", width, 0, 1);
	add("text_model.final_layer_norm.bias", width, 0, 2);
	add("text_projection.weight", proj, width, 0);
	add("logit_scale", 0, 0, 3);
	if (vision)
		add_vision(vision, proj);

	/* the header */
	header = malloc(200 * 512);
	if (!header)
		return -1;
	size = 200 * 512;
	used += (size_t)snprintf(header, size, "{");
	for (int i = 0; i < n_tensors; i++) {
		const tensor *t = &tensors[i];
		char shape[64];
		size_t bytes = (size_t)count(t) * 4;

		if (t->d2)
			snprintf(shape, sizeof shape, "[%ld, %ld, %ld, %ld]", t->rows, t->cols, t->d2, t->d3);
		else if (t->cols)
			snprintf(shape, sizeof shape, "[%ld, %ld]", t->rows, t->cols);
		else if (t->rows)
			snprintf(shape, sizeof shape, "[%ld]", t->rows);
		else
			snprintf(shape, sizeof shape, "[]");
		used += (size_t)snprintf(header + used, size - used,
					 "%s\"%s\": {\"dtype\": \"F32\", \"shape\": %s, \"data_offsets\": [%zu, %zu]}",
					 i ? ", " : "", t->name, shape, offset, offset + bytes);
		offset += bytes;
	}
	used += (size_t)snprintf(header + used, size - used, "}");

	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	f = fopen(path, "wb");
	if (!f) {
		free(header);
		return -1;
	}
	for (int i = 0; i < 8; i++)
		fputc((int)((uint64_t)used >> (8 * i)) & 0xff, f);
	fwrite(header, 1, used, f);
	free(header);
	for (int i = 0; i < n_tensors; i++) {
		const tensor *t = &tensors[i];
		double scale = t->cols ? 1.0 / sqrt((double)t->cols * (t->d2 ? t->d2 * t->d3 : 1)) : 0.0;

		if (i < 2 || (t->cols == 0 && t->kind == 0))
			scale = 0.1;
		for (long k = 0; k < count(t); k++) {
			float v;

			if (t->kind == 0)
				v = (float)(uniform() * scale * sqrt(3.0));
			else if (t->kind == 1)
				v = 1.0f;
			else if (t->kind == 2)
				v = 0.0f;
			else
				v = (float)log(100.0);

			fwrite(&v, 4, 1, f);  /* NOTE: assumes a little-endian host, like every x86 and ARM Linux */
		}
	}
	if (fclose(f) != 0)
		return -1;

	snprintf(path, sizeof path, "%s/config.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\n  \"projection_dim\": %ld,\n  \"logit_scale_init_value\": 2.6592,\n"
		"  \"text_config\": {\"vocab_size\": %ld, \"hidden_size\": %ld, \"intermediate_size\": %ld,\n"
		"    \"num_attention_heads\": %d, \"num_hidden_layers\": %d, \"max_position_embeddings\": 77,\n"
		"    \"hidden_act\": \"quick_gelu\", \"eos_token_id\": 2},\n"
		"  \"vision_config\": {\"hidden_size\": %ld, \"num_hidden_layers\": %d, \"num_attention_heads\": %d,\n"
		"    \"intermediate_size\": %ld, \"image_size\": %ld, \"patch_size\": %ld}\n}\n",
		proj, vocab, width, 4 * width, heads, layers,
		vision ? vision->width : 64, vision ? vision->layers : 12, vision ? vision->heads : 12,
		vision ? 4 * vision->width : 3072, vision ? vision->image : 224, vision ? vision->patch : 32);
	return fclose(f);
}

static int write_data(const char *dir, long proj)
{
	char path[4096];
	float *x = malloc((size_t)N_SAMPLES * proj * sizeof *x);
	float *centre = malloc((size_t)N_CLASSES * proj * sizeof *centre);
	FILE *f;
	int status;

	if (!x || !centre)
		return -1;
	for (long i = 0; i < N_CLASSES * proj; i++)
		centre[i] = (float)uniform();
	for (int i = 0; i < N_SAMPLES; i++)
		for (long j = 0; j < proj; j++)
			x[i * proj + j] = centre[(i % N_CLASSES) * proj + j] + (float)(0.2 * uniform());
	snprintf(path, sizeof path, "%s/features.npy", dir);
	status = npy_write_f32(path, x, N_SAMPLES, (int)proj) == TP_OK ? 0 : -1;
	free(x);
	free(centre);

	snprintf(path, sizeof path, "%s/labels.txt", dir);
	f = fopen(path, "w");
	for (int i = 0; f && i < N_SAMPLES; i++)
		fprintf(f, "%d\n", i % N_CLASSES);
	if (!f || fclose(f) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/classes.txt", dir);
	f = fopen(path, "w");
	for (int c = 0; f && c < N_CLASSES; c++)
		fprintf(f, "%s\n", class_names[c]);
	if (!f || fclose(f) != 0)
		return -1;
	return status;
}

int main(int argc, char **argv)
{
	vision_size v;

	if ((argc != 7 && argc != 8) ||
	    (argc == 8 && sscanf(argv[7], "%ld,%d,%d,%ld,%ld", &v.width, &v.layers, &v.heads, &v.image, &v.patch) != 5)) {
		fprintf(stderr, "usage: make_clip_model DIR VOCAB_SIZE WIDTH LAYERS HEADS PROJ [VISION_WIDTH,LAYERS,HEADS,IMAGE_SIZE,PATCH_SIZE]\n");
		return 2;
	}
	if (write_model(argv[1], atol(argv[2]), atol(argv[3]), atoi(argv[4]), atoi(argv[5]), atol(argv[6]),
			argc == 8 ? &v : NULL) != 0 ||
	    write_data(argv[1], atol(argv[6])) != 0) {
		fprintf(stderr, "make_clip_model: cannot write into %s\n", argv[1]);
		return 1;
	}
	return 0;
}
