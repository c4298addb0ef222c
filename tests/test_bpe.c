/* The CLIP tokenizer against ids recorded by an independent Python
 * reference (tests/ref/clip_tokenizer_ref.py, which rebuilds the vocabulary
 * from bpe_simple_vocab_16e6.txt.gz) on hard strings, plus clean-up cases
 * worked out by hand and the loader's errors on broken files.  Needs CLIP's
 * vocabulary in ../shared/clip-vocab beside the source tree. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"
#include "tap.h"

#define VOCAB_DIR TP_SRCDIR "/../shared/clip-vocab"
#define CASES TP_SRCDIR "/tests/fixtures/bpe_cases.tsv"

/* Undoes the escapes of the cases file: \\ \t \n \r \xHH. */
static void unescape(const char *in, char *out)
{
	while (*in) {
		if (in[0] == '\\' && in[1]) {
			char hex[3] = { 0 };

			switch (in[1]) {
			case 't': *out++ = '\t'; break;
			case 'n': *out++ = '\n'; break;
			case 'r': *out++ = '\r'; break;
			case 'x':
				hex[0] = in[2];
				hex[1] = in[3];
				*out++ = (char)strtol(hex, NULL, 16);
				in += 2;
				break;
			default: *out++ = in[1]; break;
			}
			in += 2;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

static int parse_ids(char *text, int *ids, int max)
{
	int n = 0;

	for (char *tok = strtok(text, " \n"); tok && n < max; tok = strtok(NULL, " \n"))
		ids[n++] = atoi(tok);
	return n;
}

static int compare_ids(const int *got, int n_got, const int *expected, int n_expected, const char *name)
{
	int first = -1;

	for (int i = 0; i < n_got && i < n_expected && first < 0; i++)
		if (got[i] != expected[i])
			first = i;
	if (first < 0 && n_got != n_expected)
		first = n_got < n_expected ? n_got : n_expected;
	ok(first < 0, "%s", name);
	if (first >= 0)
		diag("  first difference at position %d: got %d ids, expected %d; got id %d, expected %d", first,
		     n_got, n_expected, first < n_got ? got[first] : -1, first < n_expected ? expected[first] : -1);
	return first < 0;
}

/* Runs every case of the fixture; pass 2 runs them again from the cache. */
static void test_cases(bpe_vocab *v, int pass)
{
	FILE *f = fopen(CASES, "r");
	char line[8192], text[8192], name[200];
	static int expected[4096], got[BPE_CONTEXT_LENGTH];
	int n_cases = 0;

	if (!ok(f != NULL, "open %s", CASES))
		return;
	while (fgets(line, sizeof line, f)) {
		char *mode = strtok(line, "\t"), *case_name, *escaped, *ids_text;
		int n_expected;

		if (!mode || mode[0] == '#')
			continue;
		case_name = strtok(NULL, "\t");
		escaped = strtok(NULL, "\t");
		ids_text = strtok(NULL, "\t");
		/* an empty text leaves two tabs in a row, which strtok skips */
		if (!ids_text) {
			ids_text = escaped;
			escaped = "";
		}
		unescape(escaped, text);
		n_expected = parse_ids(ids_text ? ids_text : "", expected, 4096);
		snprintf(name, sizeof name, "%s %s%s", mode, case_name, pass == 2 ? " (cached)" : "");
		n_cases++;

		if (strcmp(mode, "text") == 0) {
			int n_used = -1, truncated = -1, padding_ok = 1;
			tp_status st = bpe_encode(v, text, BPE_CONTEXT_LENGTH, got, &n_used, &truncated);

			if (!ok(st == TP_OK, "%s encodes", name)) {
				diag("%s", tp_last_error());
				continue;
			}
			compare_ids(got, n_used, expected, n_expected, name);
			for (int i = n_used; i < BPE_CONTEXT_LENGTH; i++)
				padding_ok &= got[i] == 0;
			ok(padding_ok, "%s padded with zeros", name);
		} else {
			int *ids = NULL, n = -1;
			tp_status st = bpe_encode_words(v, text, &ids, &n);

			if (!ok(st == TP_OK, "%s encodes", name)) {
				diag("%s", tp_last_error());
				continue;
			}
			compare_ids(ids, n, expected, n_expected, name);
			free(ids);
		}
	}
	fclose(f);
	ok(n_cases >= 60, "fixture has %d cases", n_cases);
}

static void test_truncation(bpe_vocab *v)
{
	char text[2000] = "";
	int ids[BPE_CONTEXT_LENGTH], n_used, truncated;

	/* "cat" is one token, so 75 of them fill the context exactly */
	for (int i = 0; i < 75; i++)
		strcat(text, "cat ");
	bpe_encode(v, text, BPE_CONTEXT_LENGTH, ids, &n_used, &truncated);
	is_int(n_used, 77, "75 words use all 77 positions");
	is_int(truncated, 0, "75 words are not truncated");
	strcat(text, "dog");
	bpe_encode(v, text, BPE_CONTEXT_LENGTH, ids, &n_used, &truncated);
	is_int(truncated, 1, "76 words are truncated");
	is_int(ids[76], 49407, "end token kept at position 76");
	is_int(ids[75], ids[74], "position 75 holds a word token");

	/* a shorter context, as a caller may ask for */
	bpe_encode(v, "a photo of a cat", 4, ids, &n_used, &truncated);
	is_int(n_used, 4, "context 4: all positions used");
	is_int(ids[0], 49406, "context 4: start token");
	is_int(ids[1], 320, "context 4: first word");
	is_int(ids[3], 49407, "context 4: end token last");
	is_int(truncated, 1, "context 4: truncated");
	ok(bpe_encode(v, "x", 1, ids, &n_used, &truncated) == TP_ERR_VALUE, "context 1 rejected");
}

static void test_decode(bpe_vocab *v)
{
	int ids[BPE_CONTEXT_LENGTH], n_used;
	char *text = NULL;

	bpe_encode(v, "A photo of a CAT.", BPE_CONTEXT_LENGTH, ids, &n_used, NULL);
	if (ok(bpe_decode(v, ids + 1, n_used - 2, &text) == TP_OK, "decode succeeds"))
		ok(strcmp(text, "a photo of a cat . ") == 0, "decode joins words with spaces: '%s'", text);
	free(text);
	bpe_encode(v, "caf\xc3\xa9 \xf0\x9f\x90\xb1", BPE_CONTEXT_LENGTH, ids, &n_used, NULL);
	if (ok(bpe_decode(v, ids, n_used, &text) == TP_OK, "decode of accents and emoji succeeds"))
		ok(strcmp(text, "<|startoftext|>caf\xc3\xa9 \xf0\x9f\x90\xb1 <|endoftext|>") == 0,
		   "decode restores bytes of accents and emoji: '%s'", text);
	free(text);
	ids[0] = 49408;
	ok(bpe_decode(v, ids, 1, &text) == TP_ERR_VALUE, "decode rejects id 49408");
}

static void check_clean(const char *in, const char *expected, const char *name)
{
	char *out = NULL;

	if (!ok(bpe_clean(in, &out) == TP_OK && strcmp(out, expected) == 0, "clean-up: %s", name))
		diag("  got '%s', expected '%s'", out ? out : "(error)", expected);
	free(out);
}

/* Expected strings worked out by hand from the rules in bpe.h. */
static void test_clean(void)
{
	check_clean("  Rock &amp;amp; Roll\t\n ", "rock & roll", "double unescape, strip, lower");
	check_clean("&amp;amp;amp;", "&amp;", "only two rounds of unescaping");
	check_clean("&lt;b&gt; &notit; &copy2023", "<b> \xc2\xacit; \xc2\xa9" "2023", "legacy names without ';'");
	check_clean("&#65;&#x42;&#X43; &#128; &#0;", "abc \xe2\x82\xac \xef\xbf\xbd", "numeric references");
	check_clean("\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82", "final sigma");
	check_clean("\xce\xa3", "\xcf\x83", "lone sigma is not final");
	check_clean("\xc4\xb0", "i\xcc\x87", "dotted capital I");
	check_clean("cafe\xcc\x81", "caf\xc3\xa9", "NFC composes accents");
	check_clean("\xef\xac\x81ne", "fine", "ligature fi split");
	check_clean("\xef\xbc\xa1\xe3\x80\x80\xef\xbc\x91", "a 1", "fullwidth forms");
	check_clean("don\xe2\x80\x99t", "don't", "curly apostrophe");
	check_clean("a\x01" "b\x1b[1mc", "abc", "controls and terminal escapes removed");
	check_clean("a\xc2\xa0\xe2\x80\x83 b", "a b", "Unicode spaces collapse");
	check_clean("", "", "empty text");
}

static void test_invalid_utf8(bpe_vocab *v)
{
	int ids[BPE_CONTEXT_LENGTH];
	tp_status st = bpe_encode(v, "ab\xff" "cd", BPE_CONTEXT_LENGTH, ids, NULL, NULL);

	ok(st == TP_ERR_VALUE, "invalid UTF-8 rejected");
	ok(strstr(tp_last_error(), "offset 2") != NULL, "error names the offset: %s", tp_last_error());
	st = bpe_encode(v, "\xed\xa0\x80", BPE_CONTEXT_LENGTH, ids, NULL, NULL);
	ok(st == TP_ERR_VALUE, "UTF-8 surrogate rejected");
	st = bpe_encode(v, "\xc0\xaf", BPE_CONTEXT_LENGTH, ids, NULL, NULL);
	ok(st == TP_ERR_VALUE, "overlong UTF-8 rejected");
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

/* Loads a broken file and checks the status and the pieces of the message. */
static void check_load_error(const char *vocab, const char *merges, tp_status expected,
			     const char *part1, const char *part2, const char *name)
{
	bpe_vocab *v = NULL;
	tp_status st = bpe_load(vocab, merges, &v);

	ok(st == expected && v == NULL, "%s: fails", name);
	if (!ok(strstr(tp_last_error(), part1) && strstr(tp_last_error(), part2), "%s: message", name))
		diag("  message '%s' lacks '%s' or '%s'", tp_last_error(), part1, part2);
	bpe_free(v);
}

static void test_load_errors(void)
{
	char dir[] = "/tmp/tp_bpe_XXXXXX", vocab[128], merges[128], missing[128];
	const char *real_vocab = VOCAB_DIR "/vocab.json", *real_merges = VOCAB_DIR "/merges.txt";

	if (!mkdtemp(dir)) {
		ok(0, "make a temporary folder");
		return;
	}
	snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
	snprintf(merges, sizeof merges, "%s/merges.txt", dir);
	snprintf(missing, sizeof missing, "%s/none.json", dir);

	check_load_error(missing, real_merges, TP_ERR_IO, "none.json", "cannot open", "missing vocab.json");
	check_load_error(real_vocab, missing, TP_ERR_IO, "none.json", "cannot open", "missing merges.txt");

	write_file(vocab, "[1, 2]\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 1", "an array", "vocab not an object");
	write_file(vocab, "{\n  \"a\": 0,\n  \"b\": 1,,\n}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 3", "invalid JSON", "vocab invalid JSON");
	write_file(vocab, "{\n  \"a\": 0,\n  \"b\": 1.5\n}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 3", "\"b\" has id 1.5", "vocab fractional id");
	write_file(vocab, "{\n  \"a\": 0,\n  \"b\": \"1\"\n}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 3", "\"b\" has id \"1\"", "vocab string id");
	write_file(vocab, "{\n  \"a\": 0,\n  \"b\": 0\n}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 3", "id 0 is given to both", "vocab duplicate id");
	write_file(vocab, "{\n  \"a\": 0,\n  \"b\": 7\n}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json' line 3", "0..1", "vocab id out of range");
	write_file(vocab, "{\"a\": 0}\n");
	check_load_error(vocab, real_merges, TP_ERR_FORMAT, "vocab.json'", "byte symbol \"\xc4\x80\" (byte 0x00)", "vocab without byte symbols");

	write_file(merges, "#version: 0.2\ni n\nt h\nabc\n");
	check_load_error(real_vocab, merges, TP_ERR_FORMAT, "merges.txt' line 4", "two symbols", "merges line of one symbol");
	write_file(merges, "i n\ni n x\n");
	check_load_error(real_vocab, merges, TP_ERR_FORMAT, "merges.txt' line 2", "two symbols", "merges line of three symbols");
	write_file(merges, "#version: 0.2\ni n\nnosuchsymbol x\n");
	check_load_error(real_vocab, merges, TP_ERR_FORMAT, "merges.txt' line 3", "\"nosuchsymbol\" is not in vocab.json",
			 "merges unknown symbol");
	write_file(merges, "q</w> z\n");
	check_load_error(real_vocab, merges, TP_ERR_FORMAT, "merges.txt' line 1", "merged symbol \"q</w>z\"",
			 "merges result not in vocab");
	write_file(merges, "i n\r\nt h\r\ni n\r\n");
	check_load_error(real_vocab, merges, TP_ERR_FORMAT, "merges.txt' line 3", "appears twice", "merges duplicate pair");

	unlink(vocab);
	unlink(merges);
	rmdir(dir);
}

int main(void)
{
	bpe_vocab *v = NULL;

	if (access(VOCAB_DIR "/vocab.json", R_OK) != 0 || access(VOCAB_DIR "/merges.txt", R_OK) != 0)
		return skip_all("CLIP's vocabulary not found in " VOCAB_DIR " (vocab.json, merges.txt)");
	if (!ok(bpe_load_dir(VOCAB_DIR, &v) == TP_OK, "load CLIP's vocabulary")) {
		diag("%s", tp_last_error());
		return done_testing();
	}
	is_int(bpe_vocab_size(v), 49408, "vocabulary size");
	is_int(bpe_start_id(v), 49406, "start token id");
	is_int(bpe_end_id(v), 49407, "end token id");
	ok(bpe_token_text(v, 320) && strcmp(bpe_token_text(v, 320), "a</w>") == 0, "id 320 is 'a</w>'");

	test_cases(v, 1);
	test_cases(v, 2);
	test_truncation(v);
	test_decode(v);
	test_clean();
	test_invalid_utf8(v);
	test_load_errors();
	bpe_free(v);
	return done_testing();
}
