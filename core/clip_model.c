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

/* One tensor of the checkpoint: its expected shape and where it goes in the
 * weight block. */
typedef struct weight_entry {
	char name[96];
	int ndim;
	long shape[4];
	size_t offset;     /* in floats from the start of the block */
} weight_entry;

/* The tensor whose presence marks a checkpoint with an image encoder. */
#define VISION_MARKER "vision_model.embeddings.class_embedding"

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

/* Reads hidden_act and layer_norm_eps of a text_config or vision_config
 * object (section is "text_config." or "vision_config."). */
static tp_status config_act_eps(const cJSON *obj, const char *section, const char *path,
				clip_activation *act, double *ln_eps)
{
	const cJSON *a = obj ? cJSON_GetObjectItemCaseSensitive(obj, "hidden_act") : NULL;
	const cJSON *eps = obj ? cJSON_GetObjectItemCaseSensitive(obj, "layer_norm_eps") : NULL;

	*act = CLIP_ACT_QUICK_GELU;
	*ln_eps = 1e-5;
	if (cJSON_IsNumber(eps))
		*ln_eps = eps->valuedouble;
	if (!(*ln_eps > 0.0 && *ln_eps < 1.0))
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': %slayer_norm_eps is %g, expected a small positive number",
			       path, section, *ln_eps);
	if (cJSON_IsString(a)) {
		if (strcmp(a->valuestring, "quick_gelu") == 0)
			*act = CLIP_ACT_QUICK_GELU;
		else if (strcmp(a->valuestring, "gelu") == 0)
			*act = CLIP_ACT_GELU;
		else
			return tp_fail(TP_ERR_FORMAT, "load model: '%s': %shidden_act '%.40s' is not supported: use quick_gelu or gelu",
				       path, section, a->valuestring);
	}
	return TP_OK;
}

static tp_status config_text(const cJSON *obj, const char *path, clip_text_config *t)
{
	const char *s = "text_config.";
	tp_status st;

	/* defaults of Hugging Face's CLIPTextConfig */
	t->vocab_size = 49408;
	t->width = 512;
	t->n_layers = 12;
	t->n_heads = 8;
	t->mlp_width = 2048;
	t->context_length = 77;
	if ((st = config_int(obj, s, "vocab_size", path, &t->vocab_size)) != TP_OK ||
	    (st = config_int(obj, s, "hidden_size", path, &t->width)) != TP_OK ||
	    (st = config_int(obj, s, "num_hidden_layers", path, &t->n_layers)) != TP_OK ||
	    (st = config_int(obj, s, "num_attention_heads", path, &t->n_heads)) != TP_OK ||
	    (st = config_int(obj, s, "intermediate_size", path, &t->mlp_width)) != TP_OK ||
	    (st = config_int(obj, s, "max_position_embeddings", path, &t->context_length)) != TP_OK ||
	    (st = config_act_eps(obj, s, path, &t->act, &t->ln_eps)) != TP_OK)
		return st;
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
	    (st = config_int(obj, s, "patch_size", path, &v->patch_size)) != TP_OK ||
	    (st = config_act_eps(obj, s, path, &v->act, &v->ln_eps)) != TP_OK)
		return st;
	return TP_OK;
}

/* Checks the vision settings that the image encoder's shapes depend on;
 * only a checkpoint with vision tensors needs them to be consistent. */
static tp_status config_vision_check(const clip_vision_config *v, const char *path)
{
	if (v->width % v->n_heads != 0)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': vision_config.hidden_size %d is not a multiple of num_attention_heads %d: fix the config",
			       path, v->width, v->n_heads);
	if (v->patch_size > v->image_size || v->image_size > 4096)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': vision_config.image_size %d with patch_size %d is not supported: expected patch_size <= image_size <= 4096",
			       path, v->image_size, v->patch_size);
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

static void entry_add_dims(weight_entry *e, int *n, size_t *offset, const char *name,
			   int ndim, const long *shape)
{
	weight_entry *w = &e[(*n)++];
	size_t count = 1;

	snprintf(w->name, sizeof w->name, "%s", name);
	w->ndim = ndim;
	for (int i = 0; i < 4; i++) {
		w->shape[i] = i < ndim ? shape[i] : 0;
		if (i < ndim)
			count *= (size_t)shape[i];
	}
	w->offset = *offset;
	*offset += count;
}

/* Adds a vector (cols 0) or a matrix. */
static void entry_add(weight_entry *e, int *n, size_t *offset, const char *name,
		      long rows, long cols)
{
	long shape[2] = { rows, cols };

	entry_add_dims(e, n, offset, name, cols > 0 ? 2 : 1, shape);
}

/* The 16 tensors of one transformer layer named prefix.L.*, in the order
 * model_point_layer() expects: q, k and v adjacent so that they stack. */
static void table_add_layer(weight_entry *e, int *n, size_t *off, const char *prefix, int l,
			    long W, long F)
{
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

	for (int p = 0; p < 16; p++) {
		snprintf(name, sizeof name, "%s.%d.%s", prefix, l, parts[p]);
		entry_add(e, n, off, name, shapes[p][0], shapes[p][1]);
	}
}

/* Fills the table of every tensor read, in the order they are carved from
 * the block: the text encoder, then the image encoder when with_vision.
 * *vision_start is the offset of the first vision tensor. */
static int table_build(const clip_model *m, int with_vision, weight_entry *e, size_t *total,
		       size_t *vision_start)
{
	const clip_text_config *t = &m->text;
	const clip_vision_config *v = &m->vision;
	long W = t->width, F = t->mlp_width;
	long VW = v->width, p = v->patch_size, G = v->image_size / v->patch_size;
	long patch_shape[4] = { VW, 3, p, p };
	size_t off = 0;
	int n = 0;

	entry_add(e, &n, &off, "text_model.embeddings.token_embedding.weight", t->vocab_size, W);
	entry_add(e, &n, &off, "text_model.embeddings.position_embedding.weight", t->context_length, W);
	for (int l = 0; l < t->n_layers; l++)
		table_add_layer(e, &n, &off, "text_model.encoder.layers", l, W, F);
	entry_add(e, &n, &off, "text_model.final_layer_norm.weight", W, 0);
	entry_add(e, &n, &off, "text_model.final_layer_norm.bias", W, 0);
	entry_add(e, &n, &off, "text_projection.weight", m->proj_dim, W);
	*vision_start = off;
	if (with_vision) {
		entry_add(e, &n, &off, VISION_MARKER, VW, 0);
		entry_add_dims(e, &n, &off, "vision_model.embeddings.patch_embedding.weight", 4, patch_shape);
		entry_add(e, &n, &off, "vision_model.embeddings.position_embedding.weight", G * G + 1, VW);
		entry_add(e, &n, &off, "vision_model.pre_layrnorm.weight", VW, 0);
		entry_add(e, &n, &off, "vision_model.pre_layrnorm.bias", VW, 0);
		for (int l = 0; l < v->n_layers; l++)
			table_add_layer(e, &n, &off, "vision_model.encoder.layers", l, VW, v->mlp_width);
		entry_add(e, &n, &off, "vision_model.post_layernorm.weight", VW, 0);
		entry_add(e, &n, &off, "vision_model.post_layernorm.bias", VW, 0);
		entry_add(e, &n, &off, "visual_projection.weight", m->proj_dim, VW);
	}
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
	int64_t want[4] = { e->shape[0], e->shape[1], e->shape[2], e->shape[3] };
	char got_text[96], want_text[64];
	int same = t && t->ndim == e->ndim;

	if (!t && strncmp(e->name, "vision_model.", 13) == 0)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s' has no tensor '%s' although it has '%s': the image encoder is incomplete, so download the full checkpoint",
			       safetensors_path(st), e->name, VISION_MARKER);
	if (!t)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s' has no tensor '%s': this is not a Hugging Face CLIP checkpoint, or it lacks the text encoder",
			       safetensors_path(st), e->name);
	if (strcmp(t->dtype, "F32") != 0 && strcmp(t->dtype, "F16") != 0 && strcmp(t->dtype, "BF16") != 0)
		return tp_fail(TP_ERR_FORMAT, "load model: '%s': tensor '%s' has dtype %s, expected F32, F16 or BF16: convert the checkpoint to a floating-point type",
			       safetensors_path(st), e->name, t->dtype);
	for (int i = 0; same && i < e->ndim; i++)
		same = t->shape[i] == want[i];
	if (!same) {
		shape_format(got_text, sizeof got_text, t->ndim, t->shape);
		shape_format(want_text, sizeof want_text, e->ndim, want);
		return tp_fail(TP_ERR_SHAPE, "load model: '%s': tensor '%s' has shape %s, expected %s from config.json: the config does not belong to this checkpoint",
			       safetensors_path(st), e->name, got_text, want_text);
	}
	return safetensors_read_f32(st, t, dst);
}

/* Points L at the 16 tensors of one layer starting at table entry e[0]. */
static void model_point_layer(clip_layer *L, const float *base, const weight_entry *e)
{
	L->ln1_w = base + e[0].offset;
	L->ln1_b = base + e[1].offset;
	L->qkv_w = base + e[2].offset;
	L->qkv_b = base + e[5].offset;
	L->out_w = base + e[8].offset;
	L->out_b = base + e[9].offset;
	L->ln2_w = base + e[10].offset;
	L->ln2_b = base + e[11].offset;
	L->fc1_w = base + e[12].offset;
	L->fc1_b = base + e[13].offset;
	L->fc2_w = base + e[14].offset;
	L->fc2_b = base + e[15].offset;
}

static void model_point(clip_model *m, const weight_entry *e)
{
	const float *base = m->memory;
	clip_vision_weights *v = &m->vis;
	int i = 0;

	m->token_emb = base + e[i++].offset;
	m->pos_emb = base + e[i++].offset;
	for (int l = 0; l < m->text.n_layers; l++, i += 16)
		model_point_layer(&m->layers[l], base, e + i);
	m->lnf_w = base + e[i++].offset;
	m->lnf_b = base + e[i++].offset;
	m->proj = base + e[i++].offset;
	if (!m->has_vision)
		return;
	v->class_emb = base + e[i++].offset;
	v->patch_w = base + e[i++].offset;
	v->pos_emb = base + e[i++].offset;
	v->pre_ln_w = base + e[i++].offset;
	v->pre_ln_b = base + e[i++].offset;
	for (int l = 0; l < m->vision.n_layers; l++, i += 16)
		model_point_layer(&v->layers[l], base, e + i);
	v->post_ln_w = base + e[i++].offset;
	v->post_ln_b = base + e[i++].offset;
	v->proj = base + e[i].offset;
}

/* A 64-bit hash of the vision weights' float32 bits and of the vision
 * settings that change the features, for keying cached image features. */
static uint64_t vision_checksum(const clip_model *m)
{
	const float *w = m->memory + (m->n_floats - m->n_vision_floats);
	const clip_vision_config *v = &m->vision;
	uint64_t h = 0x9e3779b97f4a7c15u;
	uint32_t bits;
	double settings[8] = { v->width, v->n_layers, v->n_heads, v->mlp_width, v->image_size,
			       v->patch_size, v->ln_eps, v->act };

	for (size_t i = 0; i < m->n_vision_floats; i++) {
		memcpy(&bits, w + i, sizeof bits);
		h = (h ^ bits) * 0x100000001b3u;
		h ^= h >> 29;
	}
	for (int i = 0; i < 8; i++) {
		uint64_t s;

		memcpy(&s, &settings[i], sizeof s);
		h = (h ^ s) * 0x100000001b3u;
		h ^= h >> 29;
	}
	return h ? h : 1;
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
	int n_layers, max_entries, n;
	weight_entry *table = NULL;
	safetensors *st = NULL;
	size_t vision_start;
	tp_status status = safetensors_open(path, &st);

	if (status != TP_OK)
		return status;
	m->has_vision = safetensors_find(st, VISION_MARKER) != NULL;
	if (m->has_vision) {
		char config[4096];

		snprintf(config, sizeof config, "%s/config.json", m->dir);
		status = config_vision_check(&m->vision, config);
		if (status != TP_OK) {
			safetensors_close(st);
			return status;
		}
	}
	n_layers = m->text.n_layers + (m->has_vision ? m->vision.n_layers : 0);
	max_entries = 16 + 16 * n_layers;
	table = malloc((size_t)max_entries * sizeof *table);
	if (!table) {
		safetensors_close(st);
		return tp_fail(TP_ERR_NOMEM, "load model: out of memory");
	}
	n = table_build(m, m->has_vision, table, &m->n_floats, &vision_start);
	m->n_vision_floats = m->n_floats - vision_start;
	m->memory = malloc(m->n_floats * sizeof *m->memory);
	m->layers = calloc((size_t)n_layers, sizeof *m->layers);
	if (!m->memory || !m->layers) {
		free(table);
		safetensors_close(st);
		return tp_fail(TP_ERR_NOMEM, "load model: out of memory for %zu MB of weights",
			       m->n_floats * sizeof(float) >> 20);
	}
	m->vis.layers = m->has_vision ? m->layers + m->text.n_layers : NULL;
	for (int i = 0; i < n && status == TP_OK; i++)
		status = entry_read(st, &table[i], m->memory + table[i].offset);
	if (status == TP_OK)
		status = read_logit_scale(st, m);
	if (status == TP_OK && !m->has_vision)
		status = check_visual_projection(st, m);
	if (status == TP_OK) {
		model_point(m, table);
		m->vision_checksum = m->has_vision ? vision_checksum(m) : 0;
	}
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
