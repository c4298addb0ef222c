#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clip_text.h"
#include "coop.h"
#include "rng.h"

/* The token layout of one class's prompt up to its EOT token. */
typedef struct prompt {
	int len;            /* tokens up to and including EOT */
	int *ids;           /* (len) token ids; context slots hold the start id */
	int *slot;          /* (len) context index at each position, -1 for a token */
} prompt;

typedef struct coop_head {
	const clip_model *model;
	coop_config cfg;    /* init_ids and tail_ids are not kept */
	int n_ctx;          /* M */
	int n_classes;
	prompt *prompts;    /* (n_classes) */
	int shared;         /* the prefix is computed once (unified, end, COOP_SHARED) */
	int prefix_len;     /* P = 1 + M when shared */

	/* chunks of classes: [chunk_start[i], chunk_start[i + 1]) */
	int n_chunks;
	int *chunk_start;   /* (n_chunks + 1) */
	int max_rows;       /* most token rows of one chunk */

	clip_acts *acts;    /* activations of one chunk */
	int acts_chunk;     /* chunk whose activations acts holds, -1 for none */
	clip_acts *prefix;  /* activations of the shared prefix */

	float *x;           /* (max_rows, W) inputs of a chunk, then their gradient */
	int *len;           /* (C) rows of each class in the current mode */
	int *pool;          /* (C) pooled position of each class */
	float *w_cache;     /* (C, P) class weights of param_seen */
	float *param_seen;  /* (n_param) parameters w_cache was computed from */
	int cache_valid;
	size_t peak_bytes;
} coop_head;

void coop_config_defaults(coop_config *c)
{
	memset(c, 0, sizeof *c);
	c->n_ctx = 16;
	c->csc = 0;
	c->position = COOP_END;
	c->init_std = 0.02;
	c->mode = COOP_SHARED;
	c->chunk_bytes = (size_t)512 << 20;
	c->sot_id = 49406;
	c->eot_id = 49407;
}

const char *coop_position_name(coop_position p)
{
	switch (p) {
	case COOP_END: return "end";
	case COOP_MIDDLE: return "middle";
	case COOP_FRONT: return "front";
	}
	return "?";
}

int coop_position_parse(const char *name, coop_position *p)
{
	if (strcmp(name, "end") == 0)
		*p = COOP_END;
	else if (strcmp(name, "middle") == 0)
		*p = COOP_MIDDLE;
	else if (strcmp(name, "front") == 0)
		*p = COOP_FRONT;
	else
		return -1;
	return 0;
}

/* ---- prompt layout ---- */

static void put_ids(prompt *p, const int *ids, int n)
{
	for (int i = 0; i < n; i++) {
		p->ids[p->len] = ids[i];
		p->slot[p->len++] = -1;
	}
}

static void put_ctx(prompt *p, int first, int count, int filler)
{
	for (int k = first; k < first + count; k++) {
		p->ids[p->len] = filler;
		p->slot[p->len++] = k;
	}
}

static tp_status prompt_build(coop_head *c, int cls, const int *name, int n_name,
			      const char *label, prompt *p)
{
	const coop_config *cfg = &c->cfg;
	int M = c->n_ctx, half = M / 2;
	int need = 2 + M + n_name + cfg->n_tail;
	int ctx_len = c->model->text.context_length;

	if (need > ctx_len)
		return tp_fail(TP_ERR_VALUE, "coop: the prompt of class %d%s%s%s takes %d tokens (%d context, %d name, %d tail, start and end), more than the %d of the model: lower n_ctx or shorten the name",
			       cls, label ? " '" : "", label ? label : "", label ? "'" : "",
			       need, M, n_name, cfg->n_tail, ctx_len);
	for (int i = 0; i < n_name; i++)
		if (name[i] < 0 || name[i] >= c->model->text.vocab_size)
			return tp_fail(TP_ERR_VALUE, "coop: token id %d of class %d is outside the vocabulary of %d: the tokenizer does not belong to this model",
				       name[i], cls, c->model->text.vocab_size);
	p->ids = malloc((size_t)need * sizeof *p->ids);
	p->slot = malloc((size_t)need * sizeof *p->slot);
	if (!p->ids || !p->slot)
		return tp_fail(TP_ERR_NOMEM, "coop: out of memory");
	p->len = 0;
	put_ids(p, &cfg->sot_id, 1);
	switch (cfg->position) {
	case COOP_END:
		put_ctx(p, 0, M, cfg->sot_id);
		put_ids(p, name, n_name);
		break;
	case COOP_MIDDLE:
		put_ctx(p, 0, half, cfg->sot_id);
		put_ids(p, name, n_name);
		put_ctx(p, half, M - half, cfg->sot_id);
		break;
	case COOP_FRONT:
		put_ids(p, name, n_name);
		put_ctx(p, 0, M, cfg->sot_id);
		break;
	}
	put_ids(p, cfg->tail_ids, cfg->n_tail);
	put_ids(p, &cfg->eot_id, 1);
	return TP_OK;
}

/* ---- chunks ---- */

/* Rows and attention entries of class c in the current mode. */
static void class_rows(const coop_head *c, int cls, int *rows, size_t *att)
{
	const clip_text_config *t = &c->model->text;
	int P = c->shared ? c->prefix_len : 0;
	int len = c->cfg.mode == COOP_FULL ? t->context_length : c->prompts[cls].len - P;

	*rows = len;
	*att = (size_t)t->n_heads * (size_t)len * (size_t)(P + len);
}

/* Splits the classes into chunks whose activations fit in chunk_bytes and
 * sizes the input buffer for the largest. */
static tp_status plan_chunks(coop_head *c)
{
	int n = 0, chunk_rows = 0;
	size_t att = 0;
	float *x;

	c->shared = c->cfg.mode == COOP_SHARED && !c->cfg.csc && c->cfg.position == COOP_END;
	c->prefix_len = c->shared ? 1 + c->n_ctx : 0;
	c->chunk_start[0] = 0;
	c->max_rows = c->prefix_len;
	for (int cls = 0; cls < c->n_classes; cls++) {
		int r;
		size_t a;

		class_rows(c, cls, &r, &a);
		if (cls > c->chunk_start[n] &&
		    clip_acts_bytes(c->model, cls - c->chunk_start[n] + 1, chunk_rows + r, att + a, 0) > c->cfg.chunk_bytes) {
			c->chunk_start[++n] = cls;
			chunk_rows = 0;
			att = 0;
		}
		chunk_rows += r;
		att += a;
		if (chunk_rows > c->max_rows)
			c->max_rows = chunk_rows;
	}
	c->chunk_start[++n] = c->n_classes;
	c->n_chunks = n;
	c->acts_chunk = -1;
	c->cache_valid = 0;

	x = realloc(c->x, (size_t)c->max_rows * c->model->text.width * sizeof *c->x);
	if (!x)
		return tp_fail(TP_ERR_NOMEM, "coop: out of memory for %d token rows", c->max_rows);
	c->x = x;
	return TP_OK;
}

/* ---- forward and backward ---- */

/* The context vector k of class cls. */
static const float *ctx_row(const head *h, int cls, int k)
{
	const coop_head *c = h->impl;
	size_t W = (size_t)c->model->text.width;

	return h->param + ((c->cfg.csc ? (size_t)cls * c->n_ctx : 0) + (size_t)k) * W;
}

/* Writes the inputs of positions [from, to) of class cls's prompt into x. */
static void prompt_embed(const head *h, int cls, int from, int to, float *x)
{
	const coop_head *c = h->impl;
	const clip_model *m = c->model;
	const prompt *p = &c->prompts[cls];
	int W = m->text.width;
	static const int pad_id = 0;

	for (int t = from; t < to; t++) {
		float *row = x + (size_t)(t - from) * W;
		const float *pos = m->pos_emb + (size_t)t * W;

		if (t >= p->len) {
			clip_text_embed(m, &pad_id, 1, t, row);
		} else if (p->slot[t] >= 0) {
			const float *v = ctx_row(h, cls, p->slot[t]);

			for (int j = 0; j < W; j++)
				row[j] = v[j] + pos[j];
		} else {
			clip_text_embed(m, &p->ids[t], 1, t, row);
		}
	}
}

/* Adds the gradient rows dx of positions [from, to) of class cls into the
 * context gradient. */
static void prompt_scatter(head *h, int cls, int from, int to, const float *dx)
{
	const coop_head *c = h->impl;
	const prompt *p = &c->prompts[cls];
	size_t W = (size_t)c->model->text.width;

	for (int t = from; t < to && t < p->len; t++) {
		float *g;
		const float *d = dx + (size_t)(t - from) * W;

		if (p->slot[t] < 0)
			continue;
		g = h->grad + ((c->cfg.csc ? (size_t)cls * c->n_ctx : 0) + (size_t)p->slot[t]) * W;
		for (size_t j = 0; j < W; j++)
			g[j] += d[j];
	}
}

static tp_status prefix_forward(head *h)
{
	coop_head *c = h->impl;
	int P = c->prefix_len;

	prompt_embed(h, 0, 0, P, c->x);
	return clip_text_forward(c->model, c->prefix, c->x, 1, &P, NULL);
}

/* Runs the forward pass of chunk i and writes its class weights into w. */
static tp_status chunk_forward(head *h, int i, float *w)
{
	coop_head *c = h->impl;
	int first = c->chunk_start[i], end = c->chunk_start[i + 1];
	int P = c->shared ? c->prefix_len : 0;
	size_t row = 0;
	tp_status st;

	for (int cls = first; cls < end; cls++) {
		size_t att;

		class_rows(c, cls, &c->len[cls], &att);
		c->pool[cls] = c->prompts[cls].len - 1 - P;
		prompt_embed(h, cls, P, P + c->len[cls], c->x + row * c->model->text.width);
		row += (size_t)c->len[cls];
	}
	c->acts_chunk = -1;
	st = clip_text_forward(c->model, c->acts, c->x, end - first, c->len + first,
			       c->shared ? c->prefix : NULL);
	if (st == TP_OK)
		st = clip_text_pool(c->model, c->acts, c->pool + first, w + (size_t)first * c->model->proj_dim);
	if (st == TP_OK)
		c->acts_chunk = i;
	return st;
}

static void note_memory(coop_head *c)
{
	size_t bytes = clip_acts_size(c->acts) + clip_acts_size(c->prefix) +
		       (size_t)c->max_rows * c->model->text.width * sizeof(float);

	if (bytes > c->peak_bytes)
		c->peak_bytes = bytes;
}

/* Brings w_cache up to date with the parameters. */
static tp_status forward_all(head *h)
{
	coop_head *c = h->impl;
	tp_status st = TP_OK;

	if (c->cache_valid && memcmp(c->param_seen, h->param, h->n_param * sizeof *h->param) == 0)
		return TP_OK;
	c->cache_valid = 0;
	if (c->shared)
		st = prefix_forward(h);
	for (int i = 0; i < c->n_chunks && st == TP_OK; i++)
		st = chunk_forward(h, i, c->w_cache);
	note_memory(c);
	if (st != TP_OK)
		return st;
	memcpy(c->param_seen, h->param, h->n_param * sizeof *h->param);
	c->cache_valid = 1;
	return TP_OK;
}

static tp_status coop_weights(head *h, float *w)
{
	coop_head *c = h->impl;
	tp_status st = forward_all(h);

	if (st == TP_OK)
		memcpy(w, c->w_cache, (size_t)c->n_classes * c->model->proj_dim * sizeof *w);
	return st;
}

static tp_status coop_backward(head *h, const float *dw)
{
	coop_head *c = h->impl;
	int P = c->shared ? c->prefix_len : 0;
	tp_status st = TP_OK;

	/* the activations must belong to the current parameters */
	st = forward_all(h);
	if (st != TP_OK)
		return st;
	if (c->shared)
		clip_acts_clear_grad(c->prefix);

	/* last chunk first: its activations are still there after the forward pass */
	for (int i = c->n_chunks - 1; i >= 0; i--) {
		int first = c->chunk_start[i], end = c->chunk_start[i + 1];
		size_t row = 0;

		if (c->acts_chunk != i) {
			st = chunk_forward(h, i, c->w_cache);
			if (st != TP_OK)
				return st;
		}
		clip_text_backward(c->model, c->acts, dw + (size_t)first * c->model->proj_dim, c->x,
				   c->shared ? c->prefix : NULL);
		for (int cls = first; cls < end; cls++) {
			prompt_scatter(h, cls, P, P + c->len[cls], c->x + row * c->model->text.width);
			row += (size_t)c->len[cls];
		}
	}

	/* the shared prefix, with the key and value gradients of every class */
	if (c->shared) {
		clip_text_backward(c->model, c->prefix, NULL, c->x, NULL);
		prompt_scatter(h, 0, 0, P, c->x);
	}
	note_memory(c);
	return TP_OK;
}

static void coop_destroy(head *h)
{
	coop_head *c = h->impl;

	if (!c)
		return;
	if (c->prompts)
		for (int i = 0; i < c->n_classes; i++) {
			free(c->prompts[i].ids);
			free(c->prompts[i].slot);
		}
	free(c->prompts);
	free(c->chunk_start);
	clip_acts_free(c->acts);
	clip_acts_free(c->prefix);
	free(c->x);
	free(c->len);
	free(c->pool);
	free(c->w_cache);
	free(c->param_seen);
	free(c);
}

static const head_ops coop_ops = {
	.name = "coop",
	.weights = coop_weights,
	.backward = coop_backward,
	.destroy = coop_destroy,
};

/* Draws or copies the initial context vectors. */
static tp_status init_context(head *h, const coop_config *cfg, unsigned long seed)
{
	coop_head *c = h->impl;
	const clip_model *m = c->model;
	size_t W = (size_t)m->text.width;
	int sets = cfg->csc ? c->n_classes : 1;

	if (cfg->init_ids) {
		for (int k = 0; k < cfg->n_init; k++)
			if (cfg->init_ids[k] < 0 || cfg->init_ids[k] >= m->text.vocab_size)
				return tp_fail(TP_ERR_VALUE, "coop: init word token %d is outside the vocabulary of %d",
					       cfg->init_ids[k], m->text.vocab_size);
		for (int s = 0; s < sets; s++)
			for (int k = 0; k < cfg->n_init; k++)
				memcpy(h->param + ((size_t)s * c->n_ctx + k) * W,
				       m->token_emb + (size_t)cfg->init_ids[k] * W, W * sizeof *h->param);
	} else {
		rng *gen = rng_create(seed);

		if (!gen)
			return tp_fail(TP_ERR_NOMEM, "coop: out of memory");
		for (size_t i = 0; i < h->n_param; i++)
			h->param[i] = (float)rng_gaussian(gen, cfg->init_std);
		rng_free(gen);
	}
	return TP_OK;
}

static tp_status coop_alloc(head *h, coop_head *c)
{
	size_t C = (size_t)c->n_classes;

	h->param = malloc(h->n_param * sizeof *h->param);
	h->grad = calloc(h->n_param, sizeof *h->grad);
	c->param_seen = malloc(h->n_param * sizeof *c->param_seen);
	c->prompts = calloc(C, sizeof *c->prompts);
	c->chunk_start = malloc((C + 1) * sizeof *c->chunk_start);
	c->len = malloc(C * sizeof *c->len);
	c->pool = malloc(C * sizeof *c->pool);
	c->w_cache = malloc(C * (size_t)c->model->proj_dim * sizeof *c->w_cache);
	c->acts = clip_acts_create(0);
	c->prefix = clip_acts_create(1);
	if (!h->param || !h->grad || !c->param_seen || !c->prompts || !c->chunk_start || !c->len ||
	    !c->pool || !c->w_cache || !c->acts || !c->prefix)
		return tp_fail(TP_ERR_NOMEM, "coop: out of memory for %d classes", c->n_classes);
	return TP_OK;
}

tp_status coop_create(const clip_model *m, const coop_config *cfg, int n_classes,
		      const int *const *name_ids, const int *name_len,
		      const char *const *names, unsigned long seed, head **out)
{
	head *h = calloc(1, sizeof *h);
	coop_head *c = calloc(1, sizeof *c);
	int M = cfg->init_ids ? cfg->n_init : cfg->n_ctx;
	tp_status st;

	*out = NULL;
	if (!h || !c) {
		free(h);
		free(c);
		return tp_fail(TP_ERR_NOMEM, "coop: out of memory");
	}
	h->ops = &coop_ops;
	h->impl = c;
	if (M < 1 || n_classes < 1) {
		head_free(h);
		return tp_fail(TP_ERR_VALUE, "coop: %d context vectors for %d classes: n_ctx and the class count must be at least 1",
			       M, n_classes);
	}
	c->model = m;
	c->cfg = *cfg;
	c->cfg.init_ids = NULL;
	c->n_ctx = M;
	c->n_classes = n_classes;
	h->n_classes = n_classes;
	h->dim = m->proj_dim;
	h->n_param = (size_t)(cfg->csc ? n_classes : 1) * (size_t)M * (size_t)m->text.width;

	st = coop_alloc(h, c);
	for (int i = 0; i < n_classes && st == TP_OK; i++)
		st = prompt_build(c, i, name_ids[i], name_len[i], names ? names[i] : NULL, &c->prompts[i]);
	c->cfg.tail_ids = NULL;
	if (st == TP_OK)
		st = plan_chunks(c);
	if (st == TP_OK)
		st = init_context(h, cfg, seed);
	if (st != TP_OK) {
		head_free(h);
		return st;
	}
	*out = h;
	return TP_OK;
}

tp_status coop_create_head(void *user, const dataset *data, int k, unsigned long seed,
			   head **out)
{
	const coop_source *src = user;

	*out = NULL;
	if (data->dim != src->model->proj_dim)
		return tp_fail(TP_ERR_SHAPE, "coop: the features of '%s' have %d dimensions but the model's text features have %d: load image features from the same CLIP model, or 'set head vector'",
			       data->name, data->dim, src->model->proj_dim);
	if (data->n_classes != src->n_classes)
		return tp_fail(TP_ERR_SHAPE, "coop: the data set has %d classes but %d class names were tokenized: reload the model or the data",
			       data->n_classes, src->n_classes);
	(void)k;
	return coop_create(src->model, &src->cfg, src->n_classes, (const int *const *)src->name_ids,
			   src->name_len, (const char *const *)src->names, seed, out);
}

int coop_n_ctx(const head *h)
{
	return ((const coop_head *)h->impl)->n_ctx;
}

int coop_is_csc(const head *h)
{
	return ((const coop_head *)h->impl)->cfg.csc;
}

tp_status coop_set_mode(head *h, coop_mode mode)
{
	coop_head *c = h->impl;

	c->cfg.mode = mode;
	return plan_chunks(c);
}

size_t coop_memory_bytes(const head *h)
{
	return ((const coop_head *)h->impl)->peak_bytes;
}
