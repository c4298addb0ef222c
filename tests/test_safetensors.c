/* Bad input to the safetensors reader and the CLIP model loader: each gets
 * an error that names the file or tensor and the fix.  Good files are
 * covered by test_clip.c. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clip_model.h"
#include "safetensors.h"
#include "tap.h"

#define MODEL_A TP_SRCDIR "/tests/fixtures/clip/model_a"

static char tmp_dir[] = "/tmp/tp_safetensors_XXXXXX";

/* Writes a safetensors file: header length (or header_len when nonzero),
 * the header text, then data_size bytes of data. */
static void write_file(const char *path, uint64_t header_len, const char *header, size_t data_size)
{
	FILE *f = fopen(path, "wb");
	uint64_t n = header_len ? header_len : strlen(header);
	unsigned char len_bytes[8];

	for (int i = 0; i < 8; i++)
		len_bytes[i] = (unsigned char)(n >> (8 * i));
	fwrite(len_bytes, 1, 8, f);
	fwrite(header, 1, strlen(header), f);
	for (size_t i = 0; i < data_size; i++)
		fputc(0, f);
	fclose(f);
}

static int contains(const char *text, const char *part)
{
	return strstr(text, part) != NULL;
}

/* Opens path and checks that it fails with an error containing each of the
 * NULL-terminated parts. */
static void expect_open_error(const char *path, const char *name, ...)
{
	safetensors *st = NULL;
	tp_status status = safetensors_open(path, &st);
	const char *message = tp_last_error();
	int all = status != TP_OK;
	va_list ap;
	const char *part;

	va_start(ap, name);
	while ((part = va_arg(ap, const char *)) != NULL)
		all = all && contains(message, part);
	va_end(ap);
	if (!ok(all && st == NULL, "%s", name))
		diag("message: %s", message);
	safetensors_close(st);
}

static void test_reader_errors(void)
{
	char path[512];

	snprintf(path, sizeof path, "%s/missing.safetensors", tmp_dir);
	expect_open_error(path, "missing file is named", "missing.safetensors", "cannot open", (char *)NULL);

	snprintf(path, sizeof path, "%s/short.safetensors", tmp_dir);
	{
		FILE *f = fopen(path, "wb");

		fwrite("abc", 1, 3, f);
		fclose(f);
	}
	expect_open_error(path, "file shorter than 8 bytes is truncated", "short.safetensors", "truncated", (char *)NULL);

	snprintf(path, sizeof path, "%s/huge.safetensors", tmp_dir);
	write_file(path, UINT64_C(1) << 60, "{}", 0);
	expect_open_error(path, "absurd header length is rejected", "huge.safetensors", "header length", (char *)NULL);

	snprintf(path, sizeof path, "%s/json.safetensors", tmp_dir);
	write_file(path, 0, "[1, 2", 0);
	expect_open_error(path, "header that is not a JSON object is rejected", "json.safetensors", "JSON object", (char *)NULL);

	snprintf(path, sizeof path, "%s/outside.safetensors", tmp_dir);
	write_file(path, 0, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8);
	expect_open_error(path, "offsets outside the file name the tensor", "'a'", "outside", "truncated", (char *)NULL);

	snprintf(path, sizeof path, "%s/overlap.safetensors", tmp_dir);
	write_file(path, 0, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
		   " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12);
	expect_open_error(path, "overlapping tensors are named", "'a'", "'b'", "overlap", (char *)NULL);

	snprintf(path, sizeof path, "%s/size.safetensors", tmp_dir);
	write_file(path, 0, "{\"a\": {\"dtype\": \"F16\", \"shape\": [3, 2], \"data_offsets\": [0, 24]}}", 24);
	expect_open_error(path, "byte count not matching shape and dtype", "'a'", "24 bytes", "need 12", (char *)NULL);

	snprintf(path, sizeof path, "%s/dtype.safetensors", tmp_dir);
	write_file(path, 0, "{\"a\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1);
	expect_open_error(path, "unknown dtype is named", "'a'", "Q4", (char *)NULL);

	snprintf(path, sizeof path, "%s/neg.safetensors", tmp_dir);
	write_file(path, 0, "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4);
	expect_open_error(path, "negative dimension is rejected", "'a'", "shape", (char *)NULL);
}

static void test_reader_good(void)
{
	char path[512];
	safetensors *st = NULL;
	const safetensors_tensor *t;
	float v[2];

	snprintf(path, sizeof path, "%s/good.safetensors", tmp_dir);
	write_file(path, 0, "{\"__metadata__\": {\"format\": \"pt\"}, "
		   "\"ids\": {\"dtype\": \"I64\", \"shape\": [1, 2], \"data_offsets\": [0, 16]}, "
		   "\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [16, 20]}, "
		   "\"empty\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [20, 20]}}", 20);
	if (!ok(safetensors_open(path, &st) == TP_OK, "valid file with metadata, scalar and empty tensor opens")) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(safetensors_count(st), 3, "metadata is not counted as a tensor");
	t = safetensors_find(st, "s");
	ok(t && t->ndim == 0 && t->count == 1, "scalar has no dimensions and one element");
	t = safetensors_find(st, "ids");
	ok(t && safetensors_read_f32(st, t, v) == TP_ERR_FORMAT && contains(tp_last_error(), "I64"),
	   "converting an I64 tensor to float fails naming the dtype");
	safetensors_close(st);
}

static void test_half_conversion(void)
{
	is_near(safetensors_f16_to_f32(0x3C00), 1.0, 0, "F16 0x3C00 is 1");
	is_near(safetensors_f16_to_f32(0xC000), -2.0, 0, "F16 0xC000 is -2");
	is_near(safetensors_f16_to_f32(0x7BFF), 65504.0, 0, "F16 0x7BFF is the largest half");
	is_near(safetensors_f16_to_f32(0x0001), ldexp(1.0, -24), 0, "F16 0x0001 is the smallest subnormal");
	is_near(safetensors_f16_to_f32(0x3555), 0.333251953125, 0, "F16 0x3555 is 1/3 rounded");
	ok(isinf(safetensors_f16_to_f32(0x7C00)), "F16 0x7C00 is infinity");
	is_near(safetensors_bf16_to_f32(0x3F80), 1.0, 0, "BF16 0x3F80 is 1");
	is_near(safetensors_bf16_to_f32(0xC2F7), -123.5, 0, "BF16 0xC2F7 is -123.5");
}

/* ---- the model loader ---- */

static void copy_file(const char *from, const char *to, long max_bytes)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	long n = 0;
	int ch;

	while (in && out && (max_bytes < 0 || n < max_bytes) && (ch = fgetc(in)) != EOF) {
		fputc(ch, out);
		n++;
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

/* Writes model_a's config.json into dir with one text_config value replaced. */
static void write_config(const char *dir, const char *key, const char *value)
{
	char path[512], line[512];
	FILE *in = fopen(MODEL_A "/config.json", "r"), *out;

	snprintf(path, sizeof path, "%s/config.json", dir);
	out = fopen(path, "w");
	while (in && out && fgets(line, sizeof line, in)) {
		char pattern[128];

		snprintf(pattern, sizeof pattern, "\"%s\":", key);
		if (key && strstr(line, pattern) && strstr(line, "    ")) {
			int comma = strchr(line, ',') != NULL;

			fprintf(out, "    \"%s\": %s%s\n", key, value, comma ? "," : "");
		} else {
			fputs(line, out);
		}
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static void expect_load_error(const char *dir, const char *name, const char *part1, const char *part2)
{
	clip_model *m = NULL;
	tp_status st = clip_model_load(dir, &m);
	const char *message = tp_last_error();

	if (!ok(st != TP_OK && m == NULL && contains(message, part1) && (!part2 || contains(message, part2)), "%s", name))
		diag("message: %s", message);
	clip_model_free(m);
}

static void test_model_errors(void)
{
	char dir[256], path[512], bin[512];

	snprintf(dir, sizeof dir, "%s/model", tmp_dir);
	if (mkdir(dir, 0700) != 0) {
		ok(0, "model folder created");
		return;
	}
	expect_load_error(dir, "missing config.json is named with the expected files", "config.json", "model.safetensors");

	write_config(dir, NULL, NULL);
	expect_load_error(dir, "missing model.safetensors is named", "model.safetensors", "not found");
	snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
	copy_file(MODEL_A "/config.json", bin, -1);
	expect_load_error(dir, "a pickle-only folder is told to get model.safetensors", "pytorch_model.bin", "model.safetensors");
	unlink(bin);

	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	copy_file(MODEL_A "/model.safetensors", path, 30000);
	expect_load_error(dir, "truncated model.safetensors is rejected", "model.safetensors", "truncated");

	copy_file(MODEL_A "/model.safetensors", path, -1);
	write_config(dir, "hidden_size", "16");
	expect_load_error(dir, "hidden_size not matching the tensors names the tensor",
			  "text_model.embeddings.token_embedding.weight", "[64,16]");
	write_config(dir, "num_hidden_layers", "3");
	expect_load_error(dir, "an extra layer in the config names the missing tensor",
			  "text_model.encoder.layers.2.layer_norm1.weight", "no tensor");
	write_config(dir, "num_attention_heads", "5");
	expect_load_error(dir, "heads not dividing the width are rejected", "num_attention_heads", "multiple");
	write_config(dir, "hidden_act", "\"relu\"");
	expect_load_error(dir, "unsupported activation is named", "relu", "quick_gelu");
	write_config(dir, "vocab_size", "\"many\"");
	expect_load_error(dir, "a non-numeric config value names the key", "text_config.vocab_size", "integer");

	/* a weight stored as integers */
	{
		FILE *f = fopen(path, "r+b");
		char header[200000];
		unsigned char len_bytes[8];
		size_t n;
		char *hit;

		write_config(dir, NULL, NULL);
		if (f && fread(len_bytes, 1, 8, f) == 8) {
			n = (size_t)len_bytes[0] | (size_t)len_bytes[1] << 8 | (size_t)len_bytes[2] << 16;
			if (n < sizeof header && fread(header, 1, n, f) == n) {
				header[n] = '\0';
				hit = strstr(header, "\"text_projection.weight\": {\"dtype\": \"F32\"");
				if (hit) {
					/* "I32" has the same element size, so the offsets stay valid */
					memcpy(strstr(hit, "F32"), "I32", 3);
					fseek(f, 8, SEEK_SET);
					fwrite(header, 1, n, f);
				}
			}
		}
		if (f)
			fclose(f);
		expect_load_error(dir, "an integer weight names the tensor and dtype", "text_projection.weight", "I32");
	}
}

int main(void)
{
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_reader_errors();
	test_reader_good();
	test_half_conversion();
	test_model_errors();
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmp_dir);
	}
	return done_testing();
}
