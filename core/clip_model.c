#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "clip_model.h"
#include "safetensors.h"

/* One tensor of the text encoder: where it goes in the weight block. */
typedef struct weight_entry {
	char name[96];
	int ndim;
	long shape[2];
	size_t offset;     /* in floats from the start of the block */
} weight_entry;

/* ---- config.json ---- */

static char *read_text_file(const char *path, tp_status *status)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f) {
		*status = tp_fail(TP_ERR_IO, "load model: cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size < (64L << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
		if (fread(text, 1, (size_t)size, f) == (size_t)size) {
			text[size] = '\0';
			fclose(f);
			*status = TP_OK;
			return text;
		}
	}
	free(text);
	fclose(f);
	*status = tp_fail(TP_ERR_IO, "load model: cannot read '%s' (unreadable or over 64 MiB)", path);
	return NULL;
}

/* Reads key of obj as a positive integer, or leaves *value (the default)
 * when obj has no such key. */
static tp_status config_int(const cJSON *obj, const char *section, const char *key,
			    const char *path, int *value)
{
	const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	double v;

	if (!item || cJSON_IsNull(item))
		return TP_OK;
	v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
	if (!(v >= 1.0 && v <= 1e8) || floor(v) != v)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': %s%s must be a positive integer: fix the config",
			       path, section, key);
	*value = (int)v;
	return TP_OK;
}

static tp_status config_text(const cJSON *obj, const char *path, clip_text_config *t)
{
	const cJSON *act = obj ? cJSON_GetObjectItemCaseSensitive(obj, "hidden_act") : NULL;
	const cJSON *eps = obj ? cJSON_GetObjectItemCaseSensitive(obj, "layer_norm_eps") : NULL;
	const char *s = "text_config.";
	tp_status st;

	/* defaults of Hugging Face's CLIPTextConfig */
	t->vocab_size = 49408;
	t->width = 512;
	t->n_layers = 12;
	t->n_heads = 8;
	t->mlp_width = 2048;
	t->context_length = 77;
	t->ln_eps = 1e-5;
	t->act = CLIP_ACT_QUICK_GELU;
	if ((st = config_int(obj, s, "vocab_size", path, &t->vocab_size)) != TP_OK ||
	    (st = config_int(obj, s, "hidden_size", path, &t->width)) != TP_OK ||
	    (st = config_int(obj, s, "num_hidden_layers", path, &t->n_layers)) != TP_OK ||
	    (st = config_int(obj, s, "num_attention_heads", path, &t->n_heads)) != TP_OK ||
	    (st = config_int(obj, s, "intermediate_size", path, &t->mlp_width)) != TP_OK ||
	    (st = config_int(obj, s, "max_position_embeddings", path, &t->context_length)) != TP_OK)
		return st;
	if (cJSON_IsNumber(eps))
		t->ln_eps = eps->valuedouble;
	if (!(t->ln_eps > 0.0 && t->ln_eps < 1.0))
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': text_config.layer_norm_eps is %g, expected a small positive number",
			       path, t->ln_eps);
	if (cJSON_IsString(act)) {
		if (strcmp(act->valuestring, "quick_gelu") == 0)
			t->act = CLIP_ACT_QUICK_GELU;
		else if (strcmp(act->valuestring, "gelu") == 0)
			t->act = CLIP_ACT_GELU;
		else
			return tp_fail(TP_ERR_FORMAT, "load model: '%s': text_config.hidden_act '%.40s' is not supported: use quick_gelu or gelu",
				       path, act->valuestring);
	}
	if (t->width % t->n_heads != 0)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': text_config.hidden_size %d is not a multiple of num_attention_heads %d: fix the config",
			       path, t->width, t->n_heads);
	if (t->vocab_size < 3)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': text_config.vocab_size %d is too small for start and end tokens",
			       path, t->vocab_size);
	return TP_OK;
}

static tp_status config_vision(const cJSON *obj, const char *path, clip_vision_config *v)
{
	const char *s = "vision_config.";
	tp_status st;

	/* defaults of Hugging Face's CLIPVisionConfig */
	v->width = 768;
	v->n_layers = 12;
	v->n_heads = 12;
	v->mlp_width = 3072;
	v->image_size = 224;
	v->patch_size = 32;
	if ((st = config_int(obj, s, "hidden_size", path, &v->width)) != TP_OK ||
	    (st = config_int(obj, s, "num_hidden_layers", path, &v->n_layers)) != TP_OK ||
	    (st = config_int(obj, s, "num_attention_heads", path, &v->n_heads)) != TP_OK ||
	    (st = config_int(obj, s, "intermediate_size", path, &v->mlp_width)) != TP_OK ||
	    (st = config_int(obj, s, "image_size", path, &v->image_size)) != TP_OK ||
	    (st = config_int(obj, s, "patch_size", path, &v->patch_size)) != TP_OK)
		return st;
	return TP_OK;
}

tp_status clip_model_read_config(const char *path, clip_model *m)
{
	tp_status st;
	char *text = read_text_file(path, &st);
	cJSON *root;
	const cJSON *scale;

	if (!text)
		return st;
	root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tp_fail(TP_ERR_FORMAT, "load model: '%s' is not a JSON object: use the config.json that came with the checkpoint",
			       path);
	}
	st = config_text(cJSON_GetObjectItemCaseSensitive(root, "text_config"), path, &m->text);
	if (st == TP_OK)
		st = config_vision(cJSON_GetObjectItemCaseSensitive(root, "vision_config"), path, &m->vision);
	m->proj_dim = 512;
	if (st == TP_OK)
		st = config_int(root, "", "projection_dim", path, &m->proj_dim);
	scale = cJSON_GetObjectItemCaseSensitive(root, "logit_scale_init_value");
	m->logit_scale = cJSON_IsNumber(scale) ? scale->valuedouble : 2.6592;
	cJSON_Delete(root);
	return st;
}

/* ---- the weight table ---- */

static void entry_add(weight_entry *e, int *n, size_t *offset, const char *name,
		      long rows, long cols)
{
	weight_entry *w = &e[(*n)++];

	snprintf(w->name, sizeof w->name, "%s", name);
	w->ndim = cols > 0 ? 2 : 1;
	w->shape[0] = rows;
	w->shape[1] = cols;
	w->offset = *offset;
	*offset += (size_t)rows * (size_t)(cols > 0 ? cols : 1);
}

/* Fills the table of every text tensor, in the order they are carved from
 * the block; q, k and v of a layer are adjacent so that they stack. */
static int table_build(const clip_model *m, weight_entry *e, size_t *total)
{
	const clip_text_config *t = &m->text;
	long W = t->width, F = t->mlp_width;
	size_t off = 0;
	int n = 0;
	char name[96];
	static const char *const parts[] = {
		"layer_norm1.weight", "layer_norm1.bias",
		"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
		"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
		"self_attn.out_proj.weight", "self_attn.out_proj.bias",
		"layer_norm2.weight", "layer_norm2.bias",
		"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
	};
	const long shapes[16][2] = {
		{ W, 0 }, { W, 0 }, { W, W }, { W, W }, { W, W }, { W, 0 }, { W, 0 }, { W, 0 },
		{ W, W }, { W, 0 }, { W, 0 }, { W, 0 }, { F, W }, { F, 0 }, { W, F }, { W, 0 },
	};

	entry_add(e, &n, &off, "text_model.embeddings.token_embedding.weight", t->vocab_size, W);
	entry_add(e, &n, &off, "text_model.embeddings.position_embedding.weight", t->context_length, W);
	for (int l = 0; l < t->n_layers; l++)
		for (int p = 0; p < 16; p++) {
			snprintf(name, sizeof name, "text_model.encoder.layers.%d.%s", l, parts[p]);
			entry_add(e, &n, &off, name, shapes[p][0], shapes[p][1]);
		}
	entry_add(e, &n, &off, "text_model.final_layer_norm.weight", W, 0);
	entry_add(e, &n, &off, "text_model.final_layer_norm.bias", W, 0);
	entry_add(e, &n, &off, "text_projection.weight", m->proj_dim, W);
	*total = off;
	return n;
}

static void shape_format(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t used = 0;

	used += (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)shape[i]);
	if (used < size)
		snprintf(buf + used, size - used, "]");
}

/* Checks one tensor against its table entry and converts it into place. */
static tp_status entry_read(const safetensors *st, const weight_entry *e, float *dst)
{
	const safetensors_tensor *t = safetensors_find(st, e->name);
	int64_t want[2] = { e->shape[0], e->shape[1] };
	char got_text[96], want_text[64];

	if (!t)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s' has no tensor '%s': this is not a Hugging Face CLIP checkpoint, or it lacks the text encoder",
			       safetensors_path(st), e->name);
	if (strcmp(t->dtype, "F32") != 0 && strcmp(t->dtype, "F16") != 0 && strcmp(t->dtype, "BF16") != 0)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': tensor '%s' has dtype %s, expected F32, F16 or BF16: convert the checkpoint to a floating-point type",
			       safetensors_path(st), e->name, t->dtype);
	if (t->ndim != e->ndim || t->shape[0] != want[0] || (e->ndim == 2 && t->shape[1] != want[1])) {
		shape_format(got_text, sizeof got_text, t->ndim, t->shape);
		shape_format(want_text, sizeof want_text, e->ndim, want);
		return tp_fail(TP_ERR_SHAPE, "load model: '%s': tensor '%s' has shape %s, expected %s from config.json: the config does not belong to this checkpoint",
			       safetensors_path(st), e->name, got_text, want_text);
	}
	return safetensors_read_f32(st, t, dst);
}

static void model_point(clip_model *m, const weight_entry *e)
{
	const float *base = m->memory;
	int i = 0;

	m->token_emb = base + e[i++].offset;
	m->pos_emb = base + e[i++].offset;
	for (int l = 0; l < m->text.n_layers; l++) {
		clip_layer *L = &m->layers[l];

		L->ln1_w = base + e[i].offset;
		L->ln1_b = base + e[i + 1].offset;
		L->qkv_w = base + e[i + 2].offset;
		L->qkv_b = base + e[i + 5].offset;
		L->out_w = base + e[i + 8].offset;
		L->out_b = base + e[i + 9].offset;
		L->ln2_w = base + e[i + 10].offset;
		L->ln2_b = base + e[i + 11].offset;
		L->fc1_w = base + e[i + 12].offset;
		L->fc1_b = base + e[i + 13].offset;
		L->fc2_w = base + e[i + 14].offset;
		L->fc2_b = base + e[i + 15].offset;
		i += 16;
	}
	m->lnf_w = base + e[i++].offset;
	m->lnf_b = base + e[i++].offset;
	m->proj = base + e[i].offset;
}

/* Reads logit_scale when the checkpoint has it; the config's init value
 * stays otherwise. */
static tp_status read_logit_scale(const safetensors *st, clip_model *m)
{
	const safetensors_tensor *t = safetensors_find(st, "logit_scale");
	float v;
	tp_status status;

	if (!t)
		return TP_OK;
	if (t->count != 1)
		return tp_fail(TP_ERR_SHAPE, "load model: '%s': tensor 'logit_scale' has %zu elements, expected 1",
			       safetensors_path(st), t->count);
	status = safetensors_read_f32(st, t, &v);
	if (status == TP_OK)
		m->logit_scale = v;
	return status;
}

static tp_status check_visual_projection(const safetensors *st, const clip_model *m)
{
	const safetensors_tensor *t = safetensors_find(st, "visual_projection.weight");

	if (t && (t->ndim != 2 || t->shape[0] != m->proj_dim || t->shape[1] != m->vision.width))
		return tp_fail(TP_ERR_SHAPE, "load model: '%s': tensor 'visual_projection.weight' has %d dimensions of sizes %lld x %lld, expected [%d,%d] from config.json (projection_dim, vision_config.hidden_size): the config does not belong to this checkpoint",
			       safetensors_path(st), t->ndim, (long long)t->shape[0],
			       (long long)(t->ndim > 1 ? t->shape[1] : 0), m->proj_dim, m->vision.width);
	return TP_OK;
}

static tp_status model_read_weights(clip_model *m, const char *path)
{
	int max_entries = 5 + 16 * m->text.n_layers;
	weight_entry *table = malloc((size_t)max_entries * sizeof *table);
	safetensors *st = NULL;
	tp_status status;
	int n;

	if (!table)
		return tp_fail(TP_ERR_NOMEM, "load model: out of memory");
	n = table_build(m, table, &m->n_floats);
	m->memory = malloc(m->n_floats * sizeof *m->memory);
	m->layers = calloc((size_t)m->text.n_layers, sizeof *m->layers);
	if (!m->memory || !m->layers) {
		free(table);
		return tp_fail(TP_ERR_NOMEM, "load model: out of memory for %zu MB of text weights",
			       m->n_floats * sizeof(float) >> 20);
	}
	status = safetensors_open(path, &st);
	for (int i = 0; i < n && status == TP_OK; i++)
		status = entry_read(st, &table[i], m->memory + table[i].offset);
	if (status == TP_OK)
		status = read_logit_scale(st, m);
	if (status == TP_OK)
		status = check_visual_projection(st, m);
	if (status == TP_OK)
		model_point(m, table);
	safetensors_close(st);
	free(table);
	return status;
}

static int file_exists(const char *path)
{
	struct stat info;

	return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

tp_status clip_model_load(const char *dir, clip_model **out)
{
	clip_model *m = calloc(1, sizeof *m);
	char path[4096];
	tp_status st;

	*out = NULL;
	if (!m || !(m->dir = strdup(dir))) {
		free(m);
		return tp_fail(TP_ERR_NOMEM, "load model: out of memory");
	}

	snprintf(path, sizeof path, "%s/config.json", dir);
	if (!file_exists(path)) {
		clip_model_free(m);
		return tp_fail(TP_ERR_IO, "load model: '%s' not found: DIR must be a Hugging Face CLIP folder with config.json, model.safetensors, vocab.json and merges.txt",
			       path);
	}
	st = clip_model_read_config(path, m);
	if (st != TP_OK) {
		clip_model_free(m);
		return st;
	}

	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	if (!file_exists(path)) {
		char bin[4096];

		snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
		clip_model_free(m);
		if (file_exists(bin))
			return tp_fail(TP_ERR_IO, "load model: '%s' not found (only the pickle pytorch_model.bin is there): download the model.safetensors of the same checkpoint",
				       path);
		return tp_fail(TP_ERR_IO, "load model: '%s' not found: download the checkpoint's model.safetensors into %s",
			       path, dir);
	}
	st = model_read_weights(m, path);
	if (st != TP_OK) {
		clip_model_free(m);
		return st;
	}
	*out = m;
	return TP_OK;
}

void clip_model_free(clip_model *m)
{
	if (!m)
		return;
	free(m->memory);
	free(m->layers);
	free(m->dir);
	free(m);
}

size_t clip_model_bytes(const clip_model *m)
{
	return m->n_floats * sizeof(float);
}
