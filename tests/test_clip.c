/* The CLIP text encoder and the CoOp head against the PyTorch reference
 * (tests/ref/make_clip_fixtures.py, float64, every prompt over all 77
 * positions), against finite differences, and against each other: the
 * three modes (full length, cut at EOT, shared prefix) and any chunking must
 * agree to float32 rounding. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_model.h"
#include "clip_text.h"
#include "coop.h"
#include "head.h"
#include "loss.h"
#include "npy.h"
#include "tap.h"
#include "train.h"

#define FIXTURES TP_SRCDIR "/tests/fixtures/clip"

/* max |got - want| / max |want| over n values */
static double rel_error(const float *got, const float *want, size_t n)
{
	double diff = 0.0, scale = 0.0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);

		if (d > diff || isnan(d))
			diff = isnan(d) ? INFINITY : d;
		if (fabs(want[i]) > scale)
			scale = fabs(want[i]);
	}
	return scale > 0.0 ? diff / scale : diff;
}

static int is_close(const float *got, const float *want, size_t n, double tol, const char *name)
{
	double e = rel_error(got, want, n);
	int pass = ok(e <= tol, "%s", name);

	if (!pass)
		diag("relative error %.3g, tolerance %.3g", e, tol);
	return pass;
}

/* ---- fixture cases ---- */

typedef struct coop_case {
	int n_ctx, csc;
	coop_position position;
	double scale, loss;
	int sot, eot;
	int tail[8], n_tail;
	int n_classes;
	int names[16][16];
	int name_len[16];
	float *ctx;     /* (rows, W) */
	int ctx_rows;
	float *x;       /* (B, P) */
	int batch, dim;
	int *labels;    /* (B) */
	float *weights; /* (C, P) */
	float *grad;    /* (rows, W) */
} coop_case;

static int read_ints(const char *text, int *out, int max)
{
	int n = 0, used;

	while (n < max && sscanf(text, "%d%n", &out[n], &used) == 1) {
		text += used;
		n++;
	}
	return n;
}

static int case_load(const char *dir, coop_case *c)
{
	char path[512], line[1024], word[32];
	FILE *f;
	int rows, cols, n;

	memset(c, 0, sizeof *c);
	snprintf(path, sizeof path, "%s/case.txt", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		const char *rest = line;

		if (sscanf(line, "%31s%n", word, &n) != 1)
			continue;
		rest += n;
		if (!strcmp(word, "n_ctx"))
			c->n_ctx = atoi(rest);
		else if (!strcmp(word, "csc"))
			c->csc = atoi(rest);
		else if (!strcmp(word, "position")) {
			char pos[16] = "";

			if (sscanf(rest, "%15s", pos) == 1)
				coop_position_parse(pos, &c->position);
		} else if (!strcmp(word, "scale"))
			c->scale = atof(rest);
		else if (!strcmp(word, "loss"))
			c->loss = atof(rest);
		else if (!strcmp(word, "sot"))
			c->sot = atoi(rest);
		else if (!strcmp(word, "eot"))
			c->eot = atoi(rest);
		else if (!strcmp(word, "tail"))
			c->n_tail = read_ints(rest, c->tail, 8);
		else if (!strcmp(word, "class") && c->n_classes < 16) {
			c->name_len[c->n_classes] = read_ints(rest, c->names[c->n_classes], 16);
			c->n_classes++;
		}
	}
	fclose(f);

	snprintf(path, sizeof path, "%s/ctx.npy", dir);
	if (npy_read_matrix(path, &c->ctx, &c->ctx_rows, &cols) != TP_OK)
		return 0;
	snprintf(path, sizeof path, "%s/x.npy", dir);
	if (npy_read_matrix(path, &c->x, &c->batch, &c->dim) != TP_OK)
		return 0;
	snprintf(path, sizeof path, "%s/labels.npy", dir);
	if (npy_read_labels(path, &c->labels, &n) != TP_OK || n != c->batch)
		return 0;
	snprintf(path, sizeof path, "%s/weights.npy", dir);
	if (npy_read_matrix(path, &c->weights, &rows, &cols) != TP_OK || rows != c->n_classes)
		return 0;
	snprintf(path, sizeof path, "%s/grad.npy", dir);
	if (npy_read_matrix(path, &c->grad, &rows, &cols) != TP_OK || rows != c->ctx_rows)
		return 0;
	return 1;
}

static void case_free(coop_case *c)
{
	free(c->ctx);
	free(c->x);
	free(c->labels);
	free(c->weights);
	free(c->grad);
}

static tp_status case_head(const clip_model *m, const coop_case *c, coop_mode mode,
			   size_t chunk_bytes, head **out)
{
	coop_config cfg;
	const int *ids[16];
	tp_status st;

	coop_config_defaults(&cfg);
	cfg.n_ctx = c->n_ctx;
	cfg.csc = c->csc;
	cfg.position = c->position;
	cfg.mode = mode;
	cfg.sot_id = c->sot;
	cfg.eot_id = c->eot;
	cfg.tail_ids = c->tail;
	cfg.n_tail = c->n_tail;
	if (chunk_bytes)
		cfg.chunk_bytes = chunk_bytes;
	for (int i = 0; i < c->n_classes; i++)
		ids[i] = c->names[i];
	st = coop_create(m, &cfg, c->n_classes, ids, c->name_len, NULL, 1, out);
	if (st == TP_OK)
		memcpy((*out)->param, c->ctx, (*out)->n_param * sizeof(float));
	return st;
}

/* Mean cross-entropy of the cosine logits of h on the case's batch; adds its
 * gradient into h->grad (zeroed first) and writes the class weights. */
static double case_step(head *h, const coop_case *c, float *w)
{
	int C = c->n_classes, D = c->dim, B = c->batch;
	float *x = malloc((size_t)B * D * sizeof *x);
	float *z = malloc((size_t)B * C * sizeof *z);
	float *dz = malloc((size_t)B * C * sizeof *dz);
	float *dw = malloc((size_t)C * D * sizeof *dw);
	float *work = malloc((size_t)C * D * sizeof *work);
	cosine_cache cache = { malloc((size_t)C * D * sizeof(float)), malloc((size_t)C * sizeof(float)) };
	double loss = 0.0;

	for (int b = 0; b < B; b++) {
		double norm = 0.0;

		for (int j = 0; j < D; j++)
			norm += (double)c->x[b * D + j] * c->x[b * D + j];
		for (int j = 0; j < D; j++)
			x[b * D + j] = (float)(c->x[b * D + j] / sqrt(norm));
	}
	memset(h->grad, 0, h->n_param * sizeof *h->grad);
	if (head_weights(h, w) != TP_OK ||
	    cosine_forward(z, x, B, w, C, D, c->scale, &cache) != TP_OK) {
		loss = NAN;
		goto out;
	}
	for (int b = 0; b < B; b++) {
		loss += loss_ce(z + (size_t)b * C, c->labels[b], C, dz + (size_t)b * C) / B;
		for (int j = 0; j < C; j++)
			dz[b * C + j] /= (float)B;
	}
	cosine_backward(dw, dz, x, B, C, D, c->scale, &cache, work);
	if (head_backward(h, dw) != TP_OK)
		loss = NAN;
out:
	free(x);
	free(z);
	free(dz);
	free(dw);
	free(work);
	free(cache.w_unit);
	free(cache.w_norm);
	return loss;
}

/* ---- tests ---- */

static void test_config(const clip_model *m)
{
	is_int(m->text.width, 32, "model_a width from config.json");
	is_int(m->text.n_layers, 2, "model_a layer count");
	is_int(m->text.n_heads, 4, "model_a head count");
	is_int(m->text.vocab_size, 64, "model_a vocabulary size");
	is_int(m->proj_dim, 24, "model_a projection dimension");
	is_int(m->text.act, CLIP_ACT_QUICK_GELU, "model_a activation is quick_gelu");
	is_near(m->logit_scale, log(100.0), 1e-6, "logit_scale read from the tensor, not the config");
	is_int(m->vision.width, 16, "vision hidden_size read");
}

static void test_encode(const clip_model *m, const char *name)
{
	char path[512], line[4096];
	int ids[8 * 77];
	int n = 0, rows, cols;
	float *want = NULL, *got;
	FILE *f;

	snprintf(path, sizeof path, FIXTURES "/%s/encode_ids.txt", name);
	f = fopen(path, "r");
	while (f && n < 8 && fgets(line, sizeof line, f))
		if (read_ints(line, ids + n * 77, 77) == 77)
			n++;
	if (f)
		fclose(f);
	snprintf(path, sizeof path, FIXTURES "/%s/encode_features.npy", name);
	if (!ok(n == 4 && npy_read_matrix(path, &want, &rows, &cols) == TP_OK && rows == n,
		"%s: encode fixture read", name)) {
		free(want);
		return;
	}
	got = malloc((size_t)n * m->proj_dim * sizeof *got);
	ok(clip_text_encode(m, ids, n, got) == TP_OK, "%s: encode runs", name);
	snprintf(line, sizeof line, "%s: text features match PyTorch (incl. a 77-token text)", name);
	is_close(got, want, (size_t)n * m->proj_dim, 1e-4, line);
	free(got);
	free(want);
}

static void test_case(const clip_model *m, const char *model_name, const char *case_name)
{
	char dir[512], name[256];
	static const coop_mode modes[] = { COOP_FULL, COOP_EOT, COOP_SHARED };
	static const char *const mode_names[] = { "full", "eot", "shared" };
	float *w_mode[3] = { NULL, NULL, NULL }, *g_mode[3] = { NULL, NULL, NULL };
	coop_case c;

	snprintf(dir, sizeof dir, FIXTURES "/%s/%s", model_name, case_name);
	if (!ok(case_load(dir, &c), "%s/%s: fixture read", model_name, case_name)) {
		case_free(&c);
		return;
	}
	for (int k = 0; k < 3; k++) {
		head *h = NULL;
		double loss;
		size_t n_grad = (size_t)c.ctx_rows * m->text.width;

		snprintf(name, sizeof name, "%s/%s %s: head created", model_name, case_name, mode_names[k]);
		if (!ok(case_head(m, &c, modes[k], 0, &h) == TP_OK, "%s", name)) {
			diag("%s", tp_last_error());
			continue;
		}
		w_mode[k] = malloc((size_t)c.n_classes * c.dim * sizeof(float));
		g_mode[k] = malloc(n_grad * sizeof(float));
		loss = case_step(h, &c, w_mode[k]);
		memcpy(g_mode[k], h->grad, n_grad * sizeof(float));
		snprintf(name, sizeof name, "%s/%s %s: class weights match PyTorch", model_name, case_name, mode_names[k]);
		is_close(w_mode[k], c.weights, (size_t)c.n_classes * c.dim, 1e-4, name);
		snprintf(name, sizeof name, "%s/%s %s: loss matches PyTorch", model_name, case_name, mode_names[k]);
		is_near(loss, c.loss, 1e-4 * fabs(c.loss), name);
		snprintf(name, sizeof name, "%s/%s %s: context gradient matches PyTorch", model_name, case_name, mode_names[k]);
		is_close(g_mode[k], c.grad, n_grad, 1e-4, name);
		head_free(h);
	}
	for (int k = 1; k < 3; k++) {
		if (!w_mode[0] || !w_mode[k])
			continue;
		snprintf(name, sizeof name, "%s/%s: %s equals full length", model_name, case_name, mode_names[k]);
		ok(rel_error(w_mode[k], w_mode[0], (size_t)c.n_classes * c.dim) < 2e-6 &&
		   rel_error(g_mode[k], g_mode[0], (size_t)c.ctx_rows * m->text.width) < 2e-5, "%s", name);
	}

	/* one class per chunk: the backward pass recomputes all but the last */
	{
		head *h = NULL;
		float *w = malloc((size_t)c.n_classes * c.dim * sizeof *w);

		if (ok(case_head(m, &c, COOP_SHARED, 1, &h) == TP_OK, "%s/%s: head with tiny chunks", model_name, case_name)) {
			case_step(h, &c, w);
			snprintf(name, sizeof name, "%s/%s: one class per chunk gives the same gradient", model_name, case_name);
			if (g_mode[2])
				is_close(h->grad, g_mode[2], (size_t)c.ctx_rows * m->text.width, 1e-5, name);
			head_free(h);
		}
		free(w);
	}
	for (int k = 0; k < 3; k++) {
		free(w_mode[k]);
		free(g_mode[k]);
	}
	case_free(&c);
}

/* L = sum_c <r_c, W_c> is linear in W, so the backward pass of the text
 * encoder alone is checked against central differences. */
static void test_finite_differences(const clip_model *m)
{
	coop_case c;
	head *h = NULL;
	int C, P = m->proj_dim;
	float *w, *r;
	int bad = 0, checked = 0;

	if (!case_load(FIXTURES "/model_a/uni_end", &c) || case_head(m, &c, COOP_SHARED, 0, &h) != TP_OK) {
		ok(0, "finite differences: case loaded");
		case_free(&c);
		return;
	}
	C = c.n_classes;
	w = malloc((size_t)C * P * sizeof *w);
	r = malloc((size_t)C * P * sizeof *r);
	for (int i = 0; i < C * P; i++)
		r[i] = (float)sin(0.7 * i + 0.3);
	head_weights(h, w);
	memset(h->grad, 0, h->n_param * sizeof *h->grad);
	head_backward(h, r);
	for (size_t i = 0; i < h->n_param; i += 7) {
		float saved = h->param[i];
		double eps = 1e-2, up = 0.0, down = 0.0, fd;

		h->param[i] = saved + (float)eps;
		head_weights(h, w);
		for (int j = 0; j < C * P; j++)
			up += (double)r[j] * w[j];
		h->param[i] = saved - (float)eps;
		head_weights(h, w);
		for (int j = 0; j < C * P; j++)
			down += (double)r[j] * w[j];
		h->param[i] = saved;
		fd = (up - down) / (2 * eps);
		checked++;
		if (fabs(fd - h->grad[i]) > 2e-2 * fmax(1.0, fabs(fd))) {
			if (bad++ < 3)
				diag("param %zu: backward %g, finite difference %g", i, (double)h->grad[i], fd);
		}
	}
	ok(bad == 0 && checked > 10, "backward matches finite differences at %d coordinates", checked);
	free(w);
	free(r);
	head_free(h);
	case_free(&c);
}

static void test_word_init(const clip_model *m)
{
	coop_config cfg;
	int init[3] = { 10, 20, 30 };
	int name[2] = { 3, 4 };
	const int *names[2] = { name, name };
	int lens[2] = { 2, 1 };
	head *h = NULL;

	coop_config_defaults(&cfg);
	cfg.sot_id = 62;
	cfg.eot_id = 63;
	cfg.init_ids = init;
	cfg.n_init = 3;
	cfg.csc = 1;
	if (!ok(coop_create(m, &cfg, 2, names, lens, NULL, 1, &h) == TP_OK, "word initialisation creates a head"))
		return;
	is_int(coop_n_ctx(h), 3, "word initialisation sets M to the word count");
	is_int((long)h->n_param, 2L * 3 * m->text.width, "class-specific context has C M W parameters");
	ok(memcmp(h->param + 4 * m->text.width, m->token_emb + 20 * m->text.width,
		  (size_t)m->text.width * sizeof(float)) == 0,
	   "second class's second vector is the embedding of the second word");
	head_free(h);

	cfg.init_ids = NULL;
	cfg.n_ctx = 74;
	cfg.csc = 0;
	ok(coop_create(m, &cfg, 2, names, lens, NULL, 1, &h) == TP_ERR_VALUE, "a prompt over 77 tokens is rejected");
	diag("%s", tp_last_error());
}

/* ---- the coop head in the trainer ---- */

#define T_CLASSES 5
#define T_TRAIN 60
#define T_TEST 20

static double urand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffffff) / (double)0x1000000;
}

/* Class c's samples sit around a random direction u_c. */
static void make_samples(float *x, int *y, int n, int dim, const float *u, unsigned *seed)
{
	for (int i = 0; i < n; i++) {
		double norm = 0.0;

		y[i] = i % T_CLASSES;
		for (int j = 0; j < dim; j++) {
			x[i * dim + j] = (float)(u[y[i] * dim + j] + 0.3 * (urand(seed) - 0.5));
			norm += x[i * dim + j] * x[i * dim + j];
		}
		for (int j = 0; j < dim; j++)
			x[i * dim + j] = (float)(x[i * dim + j] / sqrt(norm));
	}
}

static void test_trainer(const clip_model *m)
{
	static const train_method methods[] = { METHOD_CE, METHOD_GCE, METHOD_LS, METHOD_TWIN };
	int dim = m->proj_dim;
	float *x_train = malloc((size_t)T_TRAIN * dim * sizeof(float));
	float *x_test = malloc((size_t)T_TEST * dim * sizeof(float));
	float u[T_CLASSES * 64];
	int y_train[T_TRAIN], y_test[T_TEST], index_map[T_TRAIN];
	int name_ids[T_CLASSES][2], name_len[T_CLASSES];
	int *ids[T_CLASSES];
	int tail = 5;
	unsigned seed = 11;
	dataset data;
	coop_source src;
	head *h = NULL;

	for (int i = 0; i < T_CLASSES * dim; i++)
		u[i] = (float)(urand(&seed) - 0.5);
	make_samples(x_train, y_train, T_TRAIN, dim, u, &seed);
	make_samples(x_test, y_test, T_TEST, dim, u, &seed);
	for (int i = 0; i < T_TRAIN; i++)
		index_map[i] = i;
	memset(&data, 0, sizeof data);
	data.name = "synthetic";
	data.n_classes = T_CLASSES;
	data.dim = dim;
	data.n_train = T_TRAIN;
	data.x_train = x_train;
	data.y_train = y_train;
	data.train_index = index_map;
	data.n_test = T_TEST;
	data.x_test = x_test;
	data.y_test = y_test;

	memset(&src, 0, sizeof src);
	src.model = m;
	coop_config_defaults(&src.cfg);
	src.cfg.n_ctx = 4;
	src.cfg.sot_id = 62;
	src.cfg.eot_id = 63;
	src.cfg.tail_ids = &tail;
	src.cfg.n_tail = 1;
	src.n_classes = T_CLASSES;
	for (int c = 0; c < T_CLASSES; c++) {
		name_ids[c][0] = 10 + c;
		name_ids[c][1] = 20 + c;
		name_len[c] = 1 + c % 2;
		ids[c] = name_ids[c];
	}
	src.name_ids = ids;
	src.name_len = name_len;

	for (int k = 0; k < 4; k++) {
		train_config cfg;
		trainer *t = NULL;
		const epoch_report *hist;
		int n;

		train_config_defaults(&cfg);
		cfg.method = methods[k];
		cfg.epochs = 4;
		cfg.batch_size = 16;
		cfg.lr = 0.05;
		cfg.lr_warmup_epochs = 0;
		cfg.scale = 20;
		cfg.warmup_epochs = 1;
		cfg.create_head = coop_create_head;
		cfg.head_user = &src;
		if (!ok(train_create(&data, y_train, &cfg, &t) == TP_OK, "trainer %s with coop head created",
			train_method_name(methods[k]))) {
			diag("%s", tp_last_error());
			continue;
		}
		if (!ok(train_run(t, 0, NULL) == TP_OK, "trainer %s with coop head runs 4 epochs", train_method_name(methods[k])))
			diag("%s", tp_last_error());
		hist = train_history(t, &n);
		ok(n == 4 && isfinite(hist[n - 1].train_loss) && !isnan(hist[n - 1].test_acc[0]),
		   "%s: every epoch reports a finite loss and an accuracy", train_method_name(methods[k]));
		if (methods[k] == METHOD_CE) {
			ok(hist[n - 1].train_loss < hist[0].train_loss, "ce: coop training lowers the loss");
			if (hist[n - 1].train_loss >= hist[0].train_loss)
				diag("first %g, last %g", hist[0].train_loss, hist[n - 1].train_loss);
		}
		if (methods[k] == METHOD_TWIN) {
			head *a = train_head(t, 0), *b = train_head(t, 1);

			ok(a && b && strcmp(a->ops->name, "coop") == 0 &&
			   memcmp(a->param, b->param, a->n_param * sizeof(float)) != 0,
			   "twin: two coop heads with different context vectors");
		}
		train_free(t);
	}

	/* features of another dimension */
	data.dim = dim + 1;
	ok(coop_create_head(&src, &data, 0, 1, &h) == TP_ERR_SHAPE && h == NULL &&
	   strstr(tp_last_error(), "25 dimensions") && strstr(tp_last_error(), "24"),
	   "features of the wrong dimension are rejected naming both");
	diag("%s", tp_last_error());
	free(x_train);
	free(x_test);
}

int main(void)
{
	clip_model *a = NULL, *b = NULL;

	if (clip_model_load(FIXTURES "/model_a", &a) != TP_OK) {
		ok(0, "model_a loads: %s", tp_last_error());
		return done_testing();
	}
	ok(1, "model_a loads");
	test_config(a);
	test_encode(a, "model_a");
	test_case(a, "model_a", "uni_end");
	test_case(a, "model_a", "uni_middle");
	test_case(a, "model_a", "csc_front");
	test_case(a, "model_a", "csc_end");
	test_finite_differences(a);
	test_word_init(a);
	test_trainer(a);

	if (ok(clip_model_load(FIXTURES "/model_b", &b) == TP_OK, "model_b (F16, BF16, gelu) loads")) {
		is_int(b->text.act, CLIP_ACT_GELU, "model_b activation is gelu");
		test_encode(b, "model_b");
		test_case(b, "model_b", "uni_end");
	} else {
		diag("%s", tp_last_error());
	}
	clip_model_free(a);
	clip_model_free(b);
	return done_testing();
}
