#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include "clip_ops.h"
#include "clip_text.h"

struct clip_acts {
	int is_prefix;
	int n;              /* sequences of the last forward */
	int T;              /* their total length */
	int P;              /* length of the prefix they continue, 0 if none */
	size_t att_total;   /* attention entries per layer: sum over sequences of H * len * (P + len) */
	int *len;           /* (n) */
	int *start;         /* (n) first row of each sequence */
	size_t *att_off;    /* (n) offset of each sequence's probabilities within a layer */
	int *pool;          /* (n) pooled position of each sequence */
	int cap_n;

	float *block;       /* every buffer below, carved by acts_layout() */
	size_t block_floats;

	/* kept for the backward pass (L = layers, W = width, F = MLP width) */
	float *resid;       /* (L + 1, T, W) input of each layer, then the last output */
	float *ln1_stats;   /* (L, T, 2) mean and 1/std of layer_norm1 */
	float *qkv;         /* (L, T, 3W) queries, keys, values */
	float *att;         /* (L, att_total) softmax probabilities */
	float *mid;         /* (L, T, W) residual stream after attention */
	float *ln2_stats;   /* (L, T, 2) */
	float *h;           /* (L, T, F) MLP pre-activation */
	float *dkv;         /* (L, T, 3W) prefix only: key and value gradients from continuations */
	size_t dkv_floats;
	float *pooled;      /* (n, W) final LayerNorm output at the pooled rows */
	float *lnf_stats;   /* (n, 2) */

	/* scratch of one layer */
	float *s_ln;        /* (T, W) */
	float *s_big;       /* (T, F) */
	float *s_qkv;       /* (T, 3W) */
	float *s_dres;      /* (T, W) */
	float *s_dmid;      /* (T, W) */
	float *s_dp;        /* (context_length) attention backward of one query */
};

clip_acts *clip_acts_create(int is_prefix)
{
	clip_acts *a = calloc(1, sizeof *a);

	if (a)
		a->is_prefix = is_prefix;
	return a;
}

void clip_acts_free(clip_acts *a)
{
	if (!a)
		return;
	free(a->len);
	free(a->start);
	free(a->att_off);
	free(a->pool);
	free(a->block);
	free(a);
}

/* Floats of the block for n sequences of total length T. */
static size_t block_floats(const clip_model *m, int n, int T, size_t att_total, int is_prefix)
{
	size_t L = (size_t)m->text.n_layers, W = (size_t)m->text.width, F = (size_t)m->text.mlp_width;
	size_t t = (size_t)T;
	size_t kept = (L + 1) * t * W + 2 * L * t * 2 + L * t * 3 * W + L * att_total +
		      L * t * W + L * t * F + (is_prefix ? L * t * 3 * W : 0) + (size_t)n * (W + 2);
	size_t scratch = t * W * 3 + t * F + t * 3 * W + (size_t)m->text.context_length;

	return kept + scratch;
}

size_t clip_acts_bytes(const clip_model *m, int n, int T, size_t att_total, int is_prefix)
{
	return block_floats(m, n, T, att_total, is_prefix) * sizeof(float);
}

size_t clip_acts_size(const clip_acts *a)
{
	return a->block_floats * sizeof(float) + (size_t)a->cap_n * (3 * sizeof(int) + sizeof(size_t));
}

/* Makes room for n sequences with lengths len and carves the block. */
static tp_status acts_layout(const clip_model *m, clip_acts *a, int n, const int *len, int P)
{
	size_t L = (size_t)m->text.n_layers, W = (size_t)m->text.width, F = (size_t)m->text.mlp_width;
	size_t H = (size_t)m->text.n_heads;
	size_t need, t;
	int T = 0;
	float *p;

	if (n > a->cap_n) {
		free(a->len);
		free(a->start);
		free(a->att_off);
		free(a->pool);
		a->len = malloc((size_t)n * sizeof *a->len);
		a->start = malloc((size_t)n * sizeof *a->start);
		a->att_off = malloc((size_t)n * sizeof *a->att_off);
		a->pool = malloc((size_t)n * sizeof *a->pool);
		a->cap_n = n;
		if (!a->len || !a->start || !a->att_off || !a->pool) {
			a->cap_n = 0;
			return tp_fail(TP_ERR_NOMEM, "text encoder: out of memory for %d sequences", n);
		}
	}
	a->att_total = 0;
	for (int i = 0; i < n; i++) {
		a->len[i] = len[i];
		a->start[i] = T;
		a->att_off[i] = a->att_total;
		a->att_total += H * (size_t)len[i] * (size_t)(P + len[i]);
		T += len[i];
	}
	a->n = n;
	a->T = T;
	a->P = P;

	need = block_floats(m, n, T, a->att_total, a->is_prefix);
	if (need > a->block_floats) {
		free(a->block);
		a->block = malloc(need * sizeof *a->block);
		a->block_floats = a->block ? need : 0;
		if (!a->block)
			return tp_fail(TP_ERR_NOMEM, "text encoder: out of memory for %zu MB of activations (%d tokens): lower the chunk memory",
				       need * sizeof(float) >> 20, T);
	}
	t = (size_t)T;
	p = a->block;
	a->resid = p;     p += (L + 1) * t * W;
	a->ln1_stats = p; p += L * t * 2;
	a->qkv = p;       p += L * t * 3 * W;
	a->att = p;       p += L * a->att_total;
	a->mid = p;       p += L * t * W;
	a->ln2_stats = p; p += L * t * 2;
	a->h = p;         p += L * t * F;
	a->dkv = NULL;
	if (a->is_prefix) {
		a->dkv = p;
		a->dkv_floats = L * t * 3 * W;
		p += a->dkv_floats;
	}
	a->pooled = p;    p += (size_t)n * W;
	a->lnf_stats = p; p += (size_t)n * 2;
	a->s_ln = p;      p += t * W;
	a->s_big = p;     p += t * F;
	a->s_qkv = p;     p += t * 3 * W;
	a->s_dres = p;    p += t * W;
	a->s_dmid = p;    p += t * W;
	a->s_dp = p;
	return TP_OK;
}

void clip_acts_clear_grad(clip_acts *a)
{
	if (a->dkv)
		memset(a->dkv, 0, a->dkv_floats * sizeof *a->dkv);
}

void clip_text_embed(const clip_model *m, const int *ids, int len, int start, float *x)
{
	int W = m->text.width;

	for (int t = 0; t < len; t++) {
		const float *tok = m->token_emb + (size_t)ids[t] * W;
		const float *pos = m->pos_emb + (size_t)(start + t) * W;
		float *row = x + (size_t)t * W;

		for (int j = 0; j < W; j++)
			row[j] = tok[j] + pos[j];
	}
}

/* ---- kernels ---- */

/* The keys and values one sequence attends to: rows of a prefix's qkv
 * (P rows) and of the sequence's own qkv. */
typedef struct kv_source {
	const float *prefix;  /* (P, 3W) or NULL */
	int P;
	const float *own;     /* (len, 3W) */
} kv_source;

static inline const float *kv_row(const kv_source *s, int j, int W3)
{
	return j < s->P ? s->prefix + (size_t)j * W3 : s->own + (size_t)(j - s->P) * W3;
}

/* Causal attention of one sequence: out (len, W), probabilities p
 * (H, len, P + len) with zeros above the diagonal. */
static void attention_forward(float *out, float *p, const kv_source *s, int len, int W, int H)
{
	int hd = W / H, W3 = 3 * W, keys = s->P + len;
	float scale = 1.0f / sqrtf((float)hd);

	for (int h = 0; h < H; h++) {
		for (int t = 0; t < len; t++) {
			const float *q = s->own + (size_t)t * W3 + h * hd;
			float *pt = p + ((size_t)h * len + t) * keys;
			float *o = out + (size_t)t * W + h * hd;
			int visible = s->P + t + 1;
			float max = -INFINITY, sum = 0.0f;

			for (int j = 0; j < visible; j++) {
				const float *k = kv_row(s, j, W3) + W + h * hd;
				float dot = 0.0f;

				for (int d = 0; d < hd; d++)
					dot += q[d] * k[d];
				pt[j] = dot * scale;
				if (pt[j] > max)
					max = pt[j];
			}
			for (int j = 0; j < visible; j++) {
				pt[j] = expf(pt[j] - max);
				sum += pt[j];
			}
			for (int d = 0; d < hd; d++)
				o[d] = 0.0f;
			for (int j = 0; j < visible; j++) {
				const float *v = kv_row(s, j, W3) + 2 * W + h * hd;

				pt[j] /= sum;
				for (int d = 0; d < hd; d++)
					o[d] += pt[j] * v[d];
			}
			for (int j = visible; j < keys; j++)
				pt[j] = 0.0f;
		}
	}
}

/* Backward of attention_forward(): adds into dqkv (len, 3W) of the sequence
 * and into dprefix (P, 3W) for the prefix's keys and values. */
static void attention_backward(float *dqkv, float *dprefix, const float *dout, const float *p,
			       const kv_source *s, int len, int W, int H, float *dp)
{
	int hd = W / H, W3 = 3 * W, keys = s->P + len;
	float scale = 1.0f / sqrtf((float)hd);
	for (int h = 0; h < H; h++) {
		for (int t = 0; t < len; t++) {
			const float *q = s->own + (size_t)t * W3 + h * hd;
			const float *pt = p + ((size_t)h * len + t) * keys;
			const float *g = dout + (size_t)t * W + h * hd;
			float *dq = dqkv + (size_t)t * W3 + h * hd;
			int visible = s->P + t + 1;
			float dot_sum = 0.0f;

			for (int j = 0; j < visible; j++) {
				const float *v = kv_row(s, j, W3) + 2 * W + h * hd;
				float *dv = (j < s->P ? dprefix + (size_t)j * W3 : dqkv + (size_t)(j - s->P) * W3) + 2 * W + h * hd;
				float dot = 0.0f;

				for (int d = 0; d < hd; d++) {
					dot += g[d] * v[d];
					dv[d] += pt[j] * g[d];
				}
				dp[j] = dot;
				dot_sum += pt[j] * dot;
			}
			for (int j = 0; j < visible; j++) {
				const float *k = kv_row(s, j, W3) + W + h * hd;
				float *dk = (j < s->P ? dprefix + (size_t)j * W3 : dqkv + (size_t)(j - s->P) * W3) + W + h * hd;
				float ds = pt[j] * (dp[j] - dot_sum) * scale;

				for (int d = 0; d < hd; d++) {
					dq[d] += ds * k[d];
					dk[d] += ds * q[d];
				}
			}
		}
	}
}

/* ---- the transformer ---- */

static void layer_forward(const clip_model *m, clip_acts *a, int l, const clip_acts *prefix)
{
	const clip_layer *w = &m->layers[l];
	int T = a->T, W = m->text.width, F = m->text.mlp_width, H = m->text.n_heads;
	size_t tw = (size_t)T * W;
	const float *x = a->resid + l * tw;
	float *qkv = a->qkv + (size_t)l * T * 3 * W;
	float *mid = a->mid + l * tw;
	float *h = a->h + (size_t)l * T * F;

	/* attention block */
	clip_layernorm_forward(a->s_ln, a->ln1_stats + (size_t)l * T * 2, x, T, W, w->ln1_w, w->ln1_b, m->text.ln_eps);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, 3 * W, W, 1.0f, a->s_ln, W,
		    w->qkv_w, W, 0.0f, qkv, 3 * W);
	clip_add_bias(qkv, w->qkv_b, T, 3 * W);
	for (int i = 0; i < a->n; i++) {
		kv_source s = { NULL, 0, qkv + (size_t)a->start[i] * 3 * W };

		if (prefix) {
			s.prefix = prefix->qkv + (size_t)l * prefix->T * 3 * W;
			s.P = prefix->T;
		}
		attention_forward(a->s_big + (size_t)a->start[i] * W, a->att + (size_t)l * a->att_total + a->att_off[i],
				  &s, a->len[i], W, H);
	}
	memcpy(mid, x, tw * sizeof *mid);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W, W, 1.0f, a->s_big, W,
		    w->out_w, W, 1.0f, mid, W);
	clip_add_bias(mid, w->out_b, T, W);

	/* MLP block */
	clip_layernorm_forward(a->s_ln, a->ln2_stats + (size_t)l * T * 2, mid, T, W, w->ln2_w, w->ln2_b, m->text.ln_eps);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, F, W, 1.0f, a->s_ln, W,
		    w->fc1_w, W, 0.0f, h, F);
	clip_add_bias(h, w->fc1_b, T, F);
	clip_activation_forward(a->s_big, h, (size_t)T * F, m->text.act);
	memcpy(a->resid + (l + 1) * tw, mid, tw * sizeof *mid);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, W, F, 1.0f, a->s_big, F,
		    w->fc2_w, F, 1.0f, a->resid + (l + 1) * tw, W);
	clip_add_bias(a->resid + (l + 1) * tw, w->fc2_b, T, W);
}

tp_status clip_text_forward(const clip_model *m, clip_acts *a, const float *x,
			    int n, const int *len, const clip_acts *prefix)
{
	int P = prefix ? prefix->T : 0;
	tp_status st;

	for (int i = 0; i < n; i++)
		if (len[i] < 1 || P + len[i] > m->text.context_length)
			return tp_fail(TP_ERR_VALUE, "text encoder: sequence %d has %d tokens after a prefix of %d, outside 1..%d",
				       i, len[i], P, m->text.context_length);
	st = acts_layout(m, a, n, len, P);
	if (st != TP_OK)
		return st;
	memcpy(a->resid, x, (size_t)a->T * m->text.width * sizeof *x);
	for (int l = 0; l < m->text.n_layers; l++)
		layer_forward(m, a, l, prefix);
	clip_acts_clear_grad(a);
	return TP_OK;
}

tp_status clip_text_pool(const clip_model *m, clip_acts *a, const int *pool, float *features)
{
	int W = m->text.width;
	const float *top = a->resid + (size_t)m->text.n_layers * a->T * W;

	for (int i = 0; i < a->n; i++) {
		if (pool[i] < 0 || pool[i] >= a->len[i])
			return tp_fail(TP_ERR_VALUE, "text encoder: pooled position %d is outside sequence %d of length %d",
				       pool[i], i, a->len[i]);
		a->pool[i] = pool[i];
		clip_layernorm_forward(a->pooled + (size_t)i * W, a->lnf_stats + 2 * i,
				       top + (size_t)(a->start[i] + pool[i]) * W, 1, W, m->lnf_w, m->lnf_b,
				       m->text.ln_eps);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->n, m->proj_dim, W, 1.0f, a->pooled, W,
		    m->proj, W, 0.0f, features, m->proj_dim);
	return TP_OK;
}

static void layer_backward(const clip_model *m, clip_acts *a, int l, float *dres, clip_acts *prefix)
{
	const clip_layer *w = &m->layers[l];
	int T = a->T, W = m->text.width, F = m->text.mlp_width, H = m->text.n_heads;
	size_t tw = (size_t)T * W;
	const float *qkv = a->qkv + (size_t)l * T * 3 * W;
	float *dmid = a->s_dmid;

	/* MLP block: dres is dL/d(output of layer l) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, F, W, 1.0f, dres, W,
		    w->fc2_w, F, 0.0f, a->s_big, F);
	clip_activation_backward(a->s_big, a->h + (size_t)l * T * F, (size_t)T * F, m->text.act);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, W, F, 1.0f, a->s_big, F,
		    w->fc1_w, W, 0.0f, a->s_ln, W);
	memcpy(dmid, dres, tw * sizeof *dmid);
	clip_layernorm_backward(dmid, a->s_ln, a->mid + l * tw, a->ln2_stats + (size_t)l * T * 2, T, W, w->ln2_w);

	/* attention block */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, W, W, 1.0f, dmid, W,
		    w->out_w, W, 0.0f, a->s_ln, W);
	if (a->dkv)
		memcpy(a->s_qkv, a->dkv + (size_t)l * T * 3 * W, (size_t)T * 3 * W * sizeof *a->s_qkv);
	else
		memset(a->s_qkv, 0, (size_t)T * 3 * W * sizeof *a->s_qkv);
	for (int i = 0; i < a->n; i++) {
		kv_source s = { NULL, 0, qkv + (size_t)a->start[i] * 3 * W };
		float *dprefix = NULL;

		if (prefix) {
			s.prefix = prefix->qkv + (size_t)l * prefix->T * 3 * W;
			s.P = prefix->T;
			dprefix = prefix->dkv + (size_t)l * prefix->T * 3 * W;
		}
		attention_backward(a->s_qkv + (size_t)a->start[i] * 3 * W, dprefix,
				   a->s_ln + (size_t)a->start[i] * W,
				   a->att + (size_t)l * a->att_total + a->att_off[i], &s, a->len[i], W, H, a->s_dp);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, W, 3 * W, 1.0f, a->s_qkv, 3 * W,
		    w->qkv_w, W, 0.0f, a->s_ln, W);
	memcpy(dres, dmid, tw * sizeof *dres);
	clip_layernorm_backward(dres, a->s_ln, a->resid + l * tw, a->ln1_stats + (size_t)l * T * 2, T, W, w->ln1_w);
}

void clip_text_backward(const clip_model *m, clip_acts *a, const float *dfeatures,
			float *dx, clip_acts *prefix)
{
	int W = m->text.width, T = a->T;
	const float *top = a->resid + (size_t)m->text.n_layers * T * W;
	float *dres = a->s_dres;

	/* through the projection and the final LayerNorm into the pooled rows */
	memset(dres, 0, (size_t)T * W * sizeof *dres);
	if (dfeatures) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->n, W, m->proj_dim, 1.0f,
			    dfeatures, m->proj_dim, m->proj, W, 0.0f, a->pooled, W);
		for (int i = 0; i < a->n; i++) {
			size_t row = (size_t)(a->start[i] + a->pool[i]) * W;

			clip_layernorm_backward(dres + row, a->pooled + (size_t)i * W, top + row,
						a->lnf_stats + 2 * i, 1, W, m->lnf_w);
		}
	}
	for (int l = m->text.n_layers - 1; l >= 0; l--)
		layer_backward(m, a, l, dres, prefix);
	memcpy(dx, dres, (size_t)T * W * sizeof *dx);
}

int clip_text_eot(const int *ids, int len)
{
	int best = 0;

	for (int t = 1; t < len; t++)
		if (ids[t] > ids[best])
			best = t;
	return best;
}

tp_status clip_text_encode(const clip_model *m, const int *ids, int n, float *features)
{
	int ctx = m->text.context_length, W = m->text.width;
	int chunk = 64;
	clip_acts *a = clip_acts_create(0);
	float *x = malloc((size_t)chunk * ctx * W * sizeof *x);
	int *len = malloc((size_t)chunk * sizeof *len);
	int *pool = malloc((size_t)chunk * sizeof *pool);
	tp_status st = TP_OK;

	if (!a || !x || !len || !pool)
		st = tp_fail(TP_ERR_NOMEM, "encode: out of memory");
	for (int first = 0; first < n && st == TP_OK; first += chunk) {
		int count = n - first < chunk ? n - first : chunk;
		size_t row = 0;

		for (int i = 0; i < count && st == TP_OK; i++) {
			const int *seq = ids + (size_t)(first + i) * ctx;

			for (int t = 0; t < ctx; t++)
				if (seq[t] < 0 || seq[t] >= m->text.vocab_size)
					st = tp_fail(TP_ERR_VALUE, "encode: token id %d of text %d is outside the vocabulary of %d: the tokenizer does not belong to this model",
						     seq[t], first + i, m->text.vocab_size);
			if (st != TP_OK)
				break;
			pool[i] = clip_text_eot(seq, ctx);
			len[i] = pool[i] + 1;
			clip_text_embed(m, seq, len[i], 0, x + row * W);
			row += (size_t)len[i];
		}
		if (st == TP_OK)
			st = clip_text_forward(m, a, x, count, len, NULL);
		if (st == TP_OK)
			st = clip_text_pool(m, a, pool, features + (size_t)first * m->proj_dim);
	}
	clip_acts_free(a);
	free(x);
	free(len);
	free(pool);
	return st;
}
