/* Commands of the model group: loading a CLIP checkpoint, encoding images
 * (the exec functions are in cmd_images.c), zero-shot classification, the
 * CoOp head's settings, and inspection commands that write text features,
 * context vectors and gradients for comparison with another implementation.
 *
 * The loaded model and the CoOp settings live in this file's model_state.
 * `set head coop` points the trainer's create_head at model_create_head(),
 * which tokenizes the data set's class names and creates a CoOp head; the
 * heads of a run keep a pointer to the model, so loading another model or
 * changing a CoOp setting drops the run first. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bpe.h"
#include "clip_model.h"
#include "clip_text.h"
#include "cmd_model.h"
#include "cmd_tokenize.h"
#include "commands.h"
#include "coop.h"
#include "loss.h"
#include "npy.h"
#include "output.h"

typedef struct model_state {
	clip_model *model;     /* NULL until 'load model' */
	bpe_vocab *vocab;
	int use_coop;          /* 'set head coop' */
	int n_ctx;
	int csc;
	coop_position position;
	char *ctx_init;        /* init words, or NULL for random initialisation */
	coop_mode mode;
	int chunk_mb;

	/* what the last coop head was created from */
	coop_source src;
	int *init_ids;
	int tail_ids[8];
	int n_tail;
} model_state;

static model_state ms = {
	.n_ctx = 16, .position = COOP_END, .mode = COOP_SHARED, .chunk_mb = 512
};

const char *const model_setting_names[] = {
	"head", "n_ctx", "csc", "class_position", "ctx_init", "coop_mode", "chunk_mb", NULL
};

static const char *const mode_names[] = { "full", "eot", "shared" };

/* ---- tokenized class names ---- */

static void source_clear(void)
{
	for (int c = 0; c < ms.src.n_classes; c++) {
		free(ms.src.name_ids[c]);
		free(ms.src.names[c]);
	}
	free(ms.src.name_ids);
	free(ms.src.name_len);
	free(ms.src.names);
	free(ms.init_ids);
	ms.init_ids = NULL;
	memset(&ms.src, 0, sizeof ms.src);
}

static void state_free(void)
{
	tokenize_set_model_vocab(NULL);
	source_clear();
	clip_model_free(ms.model);
	bpe_free(ms.vocab);
	free(ms.ctx_init);
	ms.model = NULL;
	ms.vocab = NULL;
	ms.ctx_init = NULL;
}

/* A class name as CoOp writes it into a prompt: underscores become spaces. */
static char *class_text(const char *name)
{
	char *text = strdup(name);

	for (char *p = text; p && *p; p++)
		if (*p == '_')
			*p = ' ';
	return text;
}

/* Tokenizes the class names of d and the CoOp settings into ms.src. */
static tp_status source_build(const dataset *d)
{
	int n_tail = 0, *tail = NULL;
	tp_status st;

	source_clear();
	ms.src.name_ids = calloc((size_t)d->n_classes, sizeof *ms.src.name_ids);
	ms.src.name_len = calloc((size_t)d->n_classes, sizeof *ms.src.name_len);
	ms.src.names = calloc((size_t)d->n_classes, sizeof *ms.src.names);
	if (!ms.src.name_ids || !ms.src.name_len || !ms.src.names) {
		source_clear();
		return tp_fail(TP_ERR_NOMEM, "coop: out of memory for %d class names", d->n_classes);
	}
	ms.src.n_classes = d->n_classes;
	for (int c = 0; c < d->n_classes; c++) {
		ms.src.names[c] = class_text(d->class_names[c]);
		if (!ms.src.names[c])
			return tp_fail(TP_ERR_NOMEM, "coop: out of memory");
		st = bpe_encode_words(ms.vocab, ms.src.names[c], &ms.src.name_ids[c], &ms.src.name_len[c]);
		if (st != TP_OK)
			return st;
	}

	/* the "." after the name, as in CoOp's prompt "X X X X name." */
	st = bpe_encode_words(ms.vocab, ".", &tail, &n_tail);
	if (st != TP_OK)
		return st;
	ms.n_tail = n_tail < 8 ? n_tail : 8;
	memcpy(ms.tail_ids, tail, (size_t)ms.n_tail * sizeof *tail);
	free(tail);

	coop_config_defaults(&ms.src.cfg);
	ms.src.model = ms.model;
	ms.src.cfg.n_ctx = ms.n_ctx;
	ms.src.cfg.csc = ms.csc;
	ms.src.cfg.position = ms.position;
	ms.src.cfg.mode = ms.mode;
	ms.src.cfg.chunk_bytes = (size_t)ms.chunk_mb << 20;
	ms.src.cfg.sot_id = bpe_start_id(ms.vocab);
	ms.src.cfg.eot_id = bpe_end_id(ms.vocab);
	ms.src.cfg.tail_ids = ms.tail_ids;
	ms.src.cfg.n_tail = ms.n_tail;
	if (ms.ctx_init) {
		st = bpe_encode_words(ms.vocab, ms.ctx_init, &ms.init_ids, &ms.src.cfg.n_init);
		if (st != TP_OK)
			return st;
		if (ms.src.cfg.n_init == 0)
			return tp_fail(TP_ERR_VALUE, "coop: ctx_init '%s' has no tokens: give words or 'set ctx_init none'",
				       ms.ctx_init);
		ms.src.cfg.init_ids = ms.init_ids;
	}
	return TP_OK;
}

/* The trainer's create_head while 'set head coop' is chosen. */
static tp_status model_create_head(void *user, const dataset *data, int k, unsigned long seed,
				   head **out)
{
	tp_status st;

	(void)user;
	*out = NULL;
	if (!ms.model)
		return tp_fail(TP_ERR_STATE, "coop: no CLIP model is loaded: run 'load model DIR' first, or 'set head vector'");
	if (k == 0 || ms.src.n_classes != data->n_classes) {
		st = source_build(data);
		if (st != TP_OK)
			return st;
	}
	return coop_create_head(&ms.src, data, k, seed, out);
}

/* ---- settings ---- */

static void head_apply(workbench *wb)
{
	wb->config.create_head = ms.use_coop ? model_create_head : NULL;
	wb->config.head_user = NULL;
}

static tp_status parse_switch(const char *key, const char *value, int *out)
{
	if (!strcasecmp(value, "on") || !strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes"))
		*out = 1;
	else if (!strcasecmp(value, "off") || !strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no"))
		*out = 0;
	else
		return tp_fail(TP_ERR_VALUE, "set %s: '%s' is not on or off", key, value);
	return TP_OK;
}

static tp_status setting_apply(const char *key, const char *value)
{
	long v;
	tp_status st;

	if (!strcmp(key, "head")) {
		if (strcmp(value, "coop") && strcmp(value, "vector"))
			return tp_fail(TP_ERR_VALUE, "set head: '%s' is not a head: choose coop or vector", value);
		ms.use_coop = !strcmp(value, "coop");
		if (ms.use_coop && !ms.model)
			out_printf("note: the coop head needs a CLIP model: 'load model DIR' before training\n");
	} else if (!strcmp(key, "n_ctx")) {
		if ((st = parse_long("set n_ctx", value, 1, 74, &v)) != TP_OK)
			return st;
		ms.n_ctx = (int)v;
		if (ms.ctx_init)
			out_printf("note: ctx_init is set, so the number of its word tokens is used instead of n_ctx\n");
	} else if (!strcmp(key, "csc")) {
		return parse_switch(key, value, &ms.csc);
	} else if (!strcmp(key, "class_position")) {
		if (coop_position_parse(value, &ms.position) != 0)
			return tp_fail(TP_ERR_VALUE, "set class_position: '%s' is not a position: choose end, middle or front", value);
	} else if (!strcmp(key, "ctx_init")) {
		free(ms.ctx_init);
		ms.ctx_init = NULL;
		if (strcmp(value, "none") != 0 && value[0] != '\0' && !(ms.ctx_init = strdup(value)))
			return tp_fail(TP_ERR_NOMEM, "set ctx_init: out of memory");
	} else if (!strcmp(key, "coop_mode")) {
		int found = 0;

		for (int i = 0; i < 3; i++)
			if (!strcmp(value, mode_names[i])) {
				ms.mode = (coop_mode)i;
				found = 1;
			}
		if (!found)
			return tp_fail(TP_ERR_VALUE, "set coop_mode: '%s' is not a mode: choose shared, eot or full", value);
	} else if (!strcmp(key, "chunk_mb")) {
		if ((st = parse_long("set chunk_mb", value, 16, 1 << 20, &v)) != TP_OK)
			return st;
		ms.chunk_mb = (int)v;
	}
	return TP_OK;
}

static void setting_print(const char *key)
{
	if (!strcmp(key, "head"))
		out_printf("head = %s\n", ms.use_coop ? "coop" : "vector");
	else if (!strcmp(key, "n_ctx"))
		out_printf("n_ctx = %d\n", ms.n_ctx);
	else if (!strcmp(key, "csc"))
		out_printf("csc = %s\n", ms.csc ? "on" : "off");
	else if (!strcmp(key, "class_position"))
		out_printf("class_position = %s\n", coop_position_name(ms.position));
	else if (!strcmp(key, "ctx_init"))
		out_printf("ctx_init = %s\n", ms.ctx_init ? ms.ctx_init : "none");
	else if (!strcmp(key, "coop_mode"))
		out_printf("coop_mode = %s\n", mode_names[ms.mode]);
	else
		out_printf("chunk_mb = %d\n", ms.chunk_mb);
}

int cmd_model_set(workbench *wb, const char *key, const char *value, tp_status *status)
{
	int known = 0;

	for (int i = 0; model_setting_names[i]; i++)
		known |= !strcmp(model_setting_names[i], key);
	if (!known)
		return 0;
	*status = setting_apply(key, value);
	if (*status != TP_OK)
		return 1;
	head_apply(wb);
	if (wb_drop_run(wb))
		out_printf("the run was reset: %s defines the heads\n", key);
	setting_print(key);
	return 1;
}

int cmd_model_show_head(const workbench *wb)
{
	if (!ms.use_coop && !ms.model)
		return 0;
	if (ms.use_coop) {
		char context[128];

		if (ms.ctx_init)
			snprintf(context, sizeof context, "initialised from '%s'", ms.ctx_init);
		else
			snprintf(context, sizeof context, "n_ctx %d", ms.n_ctx);
		out_printf("head:    coop, %s context, %s, class position %s, mode %s, chunks of %d MB\n",
			   ms.csc ? "class-specific" : "unified", context, coop_position_name(ms.position),
			   mode_names[ms.mode], ms.chunk_mb);
	}
	else
		out_printf("head:    vector%s ('set head coop' trains CoOp prompts)\n",
			   wb->data && wb->data->text_features ? " (B = loaded text features)" : " (B = 0, cosine classifier)");
	if (ms.model)
		out_printf("model:   %s, text width %d, %d layers, projection %d\n", ms.model->dir,
			   ms.model->text.width, ms.model->text.n_layers, ms.model->proj_dim);
	else
		out_printf("model:   none ('load model DIR')\n");
	return 1;
}

const clip_model *cmd_model_current(void)
{
	return ms.model;
}

/* ---- commands ---- */

static tp_status need_model(const command *cmd)
{
	if (!ms.model)
		return tp_fail(TP_ERR_STATE, "%s: no CLIP model is loaded: run 'load model DIR' first", cmd->name);
	return TP_OK;
}

static tp_status cmd_load_model(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *dir = a->argv[0];
	clip_model *m = NULL;
	bpe_vocab *v = NULL;
	tp_status st = clip_model_load(dir, &m);

	if (st == TP_OK)
		st = bpe_load_dir(dir, &v);
	if (st == TP_OK && bpe_vocab_size(v) != m->text.vocab_size)
		st = tp_fail(TP_ERR_SHAPE, "load model: '%s/vocab.json' has %d tokens but config.json gives vocab_size %d: use the tokenizer files of the same checkpoint",
			     dir, bpe_vocab_size(v), m->text.vocab_size);
	if (st != TP_OK) {
		clip_model_free(m);
		bpe_free(v);
		return st;
	}

	/* the run's heads point at the old model */
	if (wb_drop_run(wb))
		out_printf("the run was reset: its heads used the previous model\n");
	source_clear();
	tokenize_set_model_vocab(NULL);
	clip_model_free(ms.model);
	bpe_free(ms.vocab);
	ms.model = m;
	ms.vocab = v;
	tokenize_set_model_vocab(v);
	{
		static int registered;

		if (!registered && atexit(state_free) == 0)
			registered = 1;
	}
	out_printf("model: %s\n", dir);
	out_printf("  text:   width %d, %d layers, %d heads, MLP %d, %s, context %d, vocabulary %d\n",
		   m->text.width, m->text.n_layers, m->text.n_heads, m->text.mlp_width,
		   m->text.act == CLIP_ACT_QUICK_GELU ? "quick_gelu" : "gelu",
		   m->text.context_length, m->text.vocab_size);
	out_printf("  vision: width %d, %d layers, %d heads, image %d, patch %d, %s\n",
		   m->vision.width, m->vision.n_layers, m->vision.n_heads, m->vision.image_size, m->vision.patch_size,
		   m->has_vision ? "loaded ('load images DIR' encodes image folders)"
				 : "not in the checkpoint (image features come from 'load features')");
	out_printf("  projection %d, logit scale %.2f (exp of %.4f), %.1f MB of float32 weights\n",
		   m->proj_dim, exp(m->logit_scale), m->logit_scale, (double)clip_model_bytes(m) / (1 << 20));
	if (!ms.use_coop)
		out_printf("'set head coop' trains CoOp prompts through this model\n");
	return TP_OK;
}

/* Encodes texts (n) into L2-normalised features (n, P), malloc'd. */
static tp_status encode_texts(const char *what, const char *const *texts, int n, float **out)
{
	int ctx = ms.model->text.context_length, P = ms.model->proj_dim;
	int *ids = calloc((size_t)n * ctx, sizeof *ids);
	float *f = malloc((size_t)n * P * sizeof *f);
	tp_status st = TP_OK;

	*out = NULL;
	if (!ids || !f)
		st = tp_fail(TP_ERR_NOMEM, "%s: out of memory for %d texts", what, n);
	for (int i = 0; i < n && st == TP_OK; i++) {
		int truncated = 0;

		st = bpe_encode(ms.vocab, texts[i], ctx, ids + (size_t)i * ctx, NULL, &truncated);
		if (st == TP_OK && truncated)
			out_printf("note: '%.40s...' is longer than %d tokens and was cut\n", texts[i], ctx - 2);
	}
	if (st == TP_OK)
		st = clip_text_encode(ms.model, ids, n, f);
	for (int i = 0; i < n && st == TP_OK; i++) {
		float *row = f + (size_t)i * P;
		double norm = 0.0;

		for (int j = 0; j < P; j++)
			norm += (double)row[j] * row[j];
		norm = sqrt(norm);
		for (int j = 0; j < P; j++)
			row[j] = (float)(row[j] / norm);
	}
	free(ids);
	if (st != TP_OK) {
		free(f);
		return st;
	}
	*out = f;
	return TP_OK;
}

/* The fraction of rows of x (n, P) whose nearest text feature is their label. */
static double accuracy(const float *x, const int *y, int n, const float *t, int C, int P)
{
	int right = 0;

	for (int i = 0; i < n; i++) {
		int best = 0;
		double best_dot = -INFINITY;

		for (int c = 0; c < C; c++) {
			double dot = 0.0;

			for (int j = 0; j < P; j++)
				dot += (double)x[(size_t)i * P + j] * t[(size_t)c * P + j];
			if (dot > best_dot) {
				best_dot = dot;
				best = c;
			}
		}
		right += best == y[i];
	}
	return n ? (double)right / n : NAN;
}

static tp_status cmd_zeroshot(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *template = a->argc ? a->argv[0] : "a photo of a {}.";
	const char *slot = strstr(template, "{}");
	dataset *d = wb->data;
	char **texts;
	float *t = NULL;
	tp_status st = need_model(cmd);

	if (st != TP_OK)
		return st;
	if (!slot)
		return tp_fail(TP_ERR_VALUE, "zeroshot: template '%s' has no {} for the class name: write it like \"a photo of a {}.\"",
			       template);
	if (d->dim != ms.model->proj_dim)
		return tp_fail(TP_ERR_SHAPE, "zeroshot: the features have %d dimensions but the model's text features have %d: load image features from the same CLIP model",
			       d->dim, ms.model->proj_dim);
	texts = calloc((size_t)d->n_classes, sizeof *texts);
	if (!texts)
		return tp_fail(TP_ERR_NOMEM, "zeroshot: out of memory");
	for (int c = 0; c < d->n_classes && st == TP_OK; c++) {
		char *name = class_text(d->class_names[c]);
		size_t size = strlen(template) + (name ? strlen(name) : 0) + 1;

		texts[c] = malloc(size);
		if (!name || !texts[c]) {
			st = tp_fail(TP_ERR_NOMEM, "zeroshot: out of memory");
		} else {
			snprintf(texts[c], size, "%.*s%s%s", (int)(slot - template), template, name, slot + 2);
		}
		free(name);
	}
	if (st == TP_OK)
		st = encode_texts("zeroshot", (const char *const *)texts, d->n_classes, &t);
	if (st == TP_OK) {
		out_printf("zero-shot with \"%s\":", template);
		for (int c = 0; c < d->n_classes && c < 5; c++)
			out_printf(" \"%s\"", texts[c]);
		out_printf("%s\n", d->n_classes > 5 ? " ..." : "");
		out_printf("  test accuracy %.4f on %d samples, training accuracy %.4f against the true labels\n",
			   accuracy(d->x_test, d->y_test, d->n_test, t, d->n_classes, d->dim), d->n_test,
			   accuracy(d->x_train, d->y_train, d->n_train, t, d->n_classes, d->dim));
		if (cmd_has(cmd, a, "seed-head")) {
			free(d->text_features);
			d->text_features = t;
			t = NULL;
			if (wb_drop_run(wb))
				out_printf("the run was reset for the new class features\n");
			out_printf("the vector head's fixed part B is now these class features ('set head vector' uses it)\n");
		}
	}
	for (int c = 0; c < d->n_classes; c++)
		free(texts[c]);
	free(texts);
	free(t);
	return st;
}

static tp_status cmd_encode_text(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *out = cmd_str(cmd, a, "out");
	float *f = NULL;
	tp_status st = need_model(cmd);

	if (st != TP_OK)
		return st;
	if (!out)
		return tp_fail(TP_ERR_VALUE, "encode text: --out FILE.npy is required");
	st = encode_texts("encode text", a->argv, a->argc, &f);
	if (st == TP_OK)
		st = npy_write_f32(out, f, a->argc, ms.model->proj_dim);
	if (st == TP_OK)
		out_printf("wrote %d x %d normalised text features to %s\n", a->argc, ms.model->proj_dim, out);
	free(f);
	return st;
}

/* The coop head named by --head (A unless B is asked), creating the run. */
static tp_status coop_head_of(workbench *wb, const command *cmd, const cmd_args *a, head **h)
{
	const char *which = cmd_str(cmd, a, "head");
	int k = which && !strcmp(which, "B");
	tp_status st;

	*h = NULL;
	if (!ms.use_coop)
		return tp_fail(TP_ERR_STATE, "%s: the head is vector: 'set head coop' first", cmd->name);
	st = wb_ensure_run(wb);
	if (st != TP_OK)
		return st;
	if (k >= train_n_heads(wb->run))
		return tp_fail(TP_ERR_STATE, "%s: head B exists only with method twin: use --head A", cmd->name);
	*h = train_head(wb->run, k);
	if (strcmp((*h)->ops->name, "coop") != 0)
		return tp_fail(TP_ERR_STATE, "%s: the run's head is %s: 'reset' to create coop heads", cmd->name, (*h)->ops->name);
	return TP_OK;
}

static tp_status cmd_prompt_save(workbench *wb, const command *cmd, const cmd_args *a)
{
	head *h;
	int W, rows;
	tp_status st = coop_head_of(wb, cmd, a, &h);

	if (st != TP_OK)
		return st;
	W = ms.model->text.width;
	rows = (int)(h->n_param / (size_t)W);
	st = npy_write_f32(a->argv[0], h->param, rows, W);
	if (st == TP_OK)
		out_printf("wrote %d context vectors of width %d to %s\n", rows, W, a->argv[0]);
	return st;
}

static tp_status cmd_prompt_load(workbench *wb, const command *cmd, const cmd_args *a)
{
	head *h;
	float *v = NULL;
	int rows, cols, W;
	tp_status st = coop_head_of(wb, cmd, a, &h);

	if (st != TP_OK)
		return st;
	st = npy_read_matrix(a->argv[0], &v, &rows, &cols);
	if (st != TP_OK)
		return st;
	W = ms.model->text.width;
	if ((size_t)rows * (size_t)cols != h->n_param || cols != W) {
		st = tp_fail(TP_ERR_SHAPE, "prompt load: '%s' is %d x %d but the head has %zu x %d context vectors: save them from a head with the same n_ctx and csc",
			     a->argv[0], rows, cols, h->n_param / (size_t)W, W);
	} else {
		memcpy(h->param, v, h->n_param * sizeof *v);
		out_printf("loaded %d context vectors from %s\n", rows, a->argv[0]);
	}
	free(v);
	return st;
}

/* Mean cross-entropy of h on x (n, P) with labels y; leaves its gradient in h->grad. */
static tp_status grad_compute(head *h, float *x, const int *y, int n, double scale, double *loss)
{
	int C = h->n_classes, D = h->dim;
	float *w = malloc((size_t)C * D * sizeof *w);
	float *z = malloc((size_t)n * C * sizeof *z);
	float *dz = malloc((size_t)n * C * sizeof *dz);
	float *dw = malloc((size_t)C * D * sizeof *dw);
	float *work = malloc((size_t)C * D * sizeof *work);
	cosine_cache cache = { malloc((size_t)C * D * sizeof(float)), malloc((size_t)C * sizeof(float)) };
	tp_status st = TP_OK;

	*loss = 0.0;
	memset(h->grad, 0, h->n_param * sizeof *h->grad);
	if (!w || !z || !dz || !dw || !work || !cache.w_unit || !cache.w_norm)
		st = tp_fail(TP_ERR_NOMEM, "grad: out of memory for %d samples", n);
	if (st == TP_OK)
		st = head_weights(h, w);
	if (st == TP_OK)
		st = cosine_forward(z, x, n, w, C, D, scale, &cache);
	if (st == TP_OK) {
		for (int i = 0; i < n; i++) {
			*loss += loss_ce(z + (size_t)i * C, y[i], C, dz + (size_t)i * C) / n;
			for (int c = 0; c < C; c++)
				dz[(size_t)i * C + c] /= (float)n;
		}
		cosine_backward(dw, dz, x, n, C, D, scale, &cache, work);
		st = head_backward(h, dw);
	}
	free(w);
	free(z);
	free(dz);
	free(dw);
	free(work);
	free(cache.w_unit);
	free(cache.w_norm);
	return st;
}

static tp_status cmd_grad(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *fpath = cmd_str(cmd, a, "features"), *lpath = cmd_str(cmd, a, "labels");
	const char *out = cmd_str(cmd, a, "out");
	float *x = NULL;
	int *y = NULL;
	int n, dim, n_labels;
	double loss;
	head *h;
	tp_status st;

	if (!fpath || !lpath || !out)
		return tp_fail(TP_ERR_VALUE, "grad: --features, --labels and --out are all required");
	st = coop_head_of(wb, cmd, a, &h);
	if (st == TP_OK)
		st = npy_read_matrix(fpath, &x, &n, &dim);
	if (st == TP_OK)
		st = dataset_read_labels(lpath, &y, &n_labels);
	if (st == TP_OK && dim != h->dim)
		st = tp_fail(TP_ERR_SHAPE, "grad: '%s' has %d columns but the model's projection dimension is %d: use features of the same CLIP model",
			     fpath, dim, h->dim);
	if (st == TP_OK && n_labels != n)
		st = tp_fail(TP_ERR_SHAPE, "grad: '%s' has %d labels for %d feature rows in '%s'", lpath, n_labels, n, fpath);
	for (int i = 0; st == TP_OK && i < n; i++) {
		double norm = 0.0;

		if (y[i] < 0 || y[i] >= h->n_classes)
			st = tp_fail(TP_ERR_VALUE, "grad: label %d of row %d is outside 0..%d", y[i], i, h->n_classes - 1);
		for (int j = 0; j < dim; j++)
			norm += (double)x[(size_t)i * dim + j] * x[(size_t)i * dim + j];
		if (st == TP_OK && !(norm > 0.0))
			st = tp_fail(TP_ERR_VALUE, "grad: feature row %d of '%s' is zero", i, fpath);
		for (int j = 0; st == TP_OK && j < dim; j++)
			x[(size_t)i * dim + j] = (float)(x[(size_t)i * dim + j] / sqrt(norm));
	}
	if (st == TP_OK)
		st = grad_compute(h, x, y, n, wb->config.scale, &loss);
	if (st == TP_OK)
		st = npy_write_f32(out, h->grad, (int)(h->n_param / (size_t)ms.model->text.width),
				   ms.model->text.width);
	if (st == TP_OK)
		out_printf("cross-entropy %.8g on %d samples (logit scale %g); gradient on the context vectors written to %s\n",
			   loss, n, wb->config.scale, out);
	if (h)
		memset(h->grad, 0, h->n_param * sizeof *h->grad);
	free(x);
	free(y);
	return st;
}

static const char *const head_choice[] = { "A", "B", NULL };

static const cmd_option zeroshot_opts[] = {
	{ "seed-head", OPT_FLAG, NULL, "make the class text features the vector head's fixed part B", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option encode_opts[] = {
	{ "out", OPT_PATH, "FILE.npy", "where to write the (N, P) float32 features (required)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option prompt_opts[] = {
	{ "head", OPT_WORD, "A|B", "which head's context vectors (default A)", head_choice },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option grad_opts[] = {
	{ "features", OPT_PATH, "F.npy", "(N, P) image features, normalised before use (required)", NULL },
	{ "labels", OPT_PATH, "L.npy", "N integer labels, .npy or text (required)", NULL },
	{ "out", OPT_PATH, "G.npy", "where to write the gradient, shaped like the context vectors (required)", NULL },
	{ "head", OPT_WORD, "A|B", "which head (default A)", head_choice },
	{ NULL, 0, NULL, NULL, NULL }
};

const command commands_model[] = {
	{ "load model", "DIR", "load a CLIP checkpoint in the Hugging Face layout",
	  "DIR holds config.json, model.safetensors (F32, F16 or BF16), vocab.json and merges.txt, "
	  "as published for openai/clip-vit-base-patch32 and the other CLIP models. The text "
	  "encoder is always read; the image encoder too when the checkpoint has its "
	  "vision_model tensors, for 'load images' and 'encode images'. Drops a run "
	  "whose heads used the previous model.",
	  1, 1, CMD_CHANGES_STATE, NULL, NULL, cmd_load_model },
	{ "load images", "DIR|FILE.csv", "encode an image folder or CSV list with the model's image encoder",
	  "DIR holds one sub-folder per class (the class name), or train/ and test/ folders each "
	  "with class sub-folders. FILE.csv lists path,label or path,label,split lines (label: "
	  "class name or 0-based index; split: train or test) with --classes naming the classes. "
	  "Images are PNG or JPEG, resized and cropped as CLIP does. Features are cached in "
	  "DIR/.twinprompt-cache (beside FILE.csv for a list), keyed by the model's weights and "
	  "each file's path, size and modification time, so a second load reads them back, a "
	  "changed file is encoded again and an interrupted encoding (Ctrl-C) resumes. Unreadable "
	  "or non-image files are skipped with a warning. Drops the noise and the run.",
	  1, 1, CMD_CHANGES_STATE, load_images_options, NULL, cmd_load_images },
	{ "encode images", "PATH...", "write the normalised image features of image files",
	  "Each PATH is a PNG or JPEG file, or a folder whose files (at any depth, sorted) are "
	  "all encoded. The rows, L2-normalised, are written in order to --out; a file that "
	  "cannot be read is an error. Nothing is cached.",
	  1, CMD_MAX_ARGS, 0, encode_images_options, NULL, cmd_encode_images },
	{ "zeroshot", "[TEMPLATE]", "zero-shot accuracy of the model's class text features",
	  "Encodes TEMPLATE with {} replaced by each class name (underscores become spaces; default "
	  "\"a photo of a {}.\") and classifies every sample by its nearest class feature. The "
	  "loaded features must come from the same CLIP model.",
	  0, 1, CMD_NEEDS_DATA, zeroshot_opts, NULL, cmd_zeroshot },
	{ "encode text", "TEXT...", "write the normalised text features of one or more texts",
	  "Each TEXT (quote it when it has spaces) is tokenized, encoded up to its end-of-text "
	  "token and L2-normalised; the rows are written in order to --out.",
	  1, CMD_MAX_ARGS, 0, encode_opts, NULL, cmd_encode_text },
	{ "prompt save", "FILE.npy", "write the coop head's context vectors",
	  "Writes an (M, W) array for unified context or (C * M, W) for class-specific context, "
	  "class after class.",
	  1, 1, CMD_NEEDS_DATA, prompt_opts, NULL, cmd_prompt_save },
	{ "prompt load", "FILE.npy", "replace the coop head's context vectors",
	  "FILE.npy must have the shape 'prompt save' writes for the same n_ctx and csc. The "
	  "optimiser's momentum is kept.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, prompt_opts, NULL, cmd_prompt_load },
	{ "grad", "", "cross-entropy of the coop head on given samples, and its context gradient",
	  "Computes the mean cross-entropy of the cosine logits (logit scale from 'set scale') on "
	  "--features and --labels, prints it and writes its gradient with respect to the context "
	  "vectors to --out; the head's parameters do not change.",
	  0, 0, CMD_NEEDS_DATA, grad_opts, NULL, cmd_grad },
	{ "tokenize", "TEXT...", "print the CLIP token ids of TEXT on one line",
	  "Runs CLIP's tokenizer: text clean-up, lower-casing, byte-level BPE, the start token "
	  "49406 and end token 49407, cut to 77 ids with the end token kept last. Uses the "
	  "loaded model's vocabulary, or --vocab DIR (vocab.json and merges.txt) without a "
	  "model. Quote TEXT that contains '#', ';' or quotes. Padding zeros are left out "
	  "unless --pad.",
	  1, CMD_MAX_ARGS, 0, tokenize_options, NULL, cmd_tokenize },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};
