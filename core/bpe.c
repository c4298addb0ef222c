/* CLIP's BPE tokenizer: loading vocab.json and merges.txt, pre-tokenisation,
 * merges by rank, the word cache and the 77-token sequences.  The text
 * clean-up is in bpe_clean.c; formats and behaviour are described in bpe.h.
 *
 * Symbols are vocabulary ids throughout.  A merge maps a pair of ids to its
 * rank and to the id of the joined string.  This gives the same result as
 * CLIP's merging of strings because vocab.json gives each string one id. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cJSON.h>
#include <pcre2.h>
#include <utf8proc.h>

#include "bpe.h"

#define END_OF_WORD "</w>"
#define START_TEXT "<|startoftext|>"
#define END_TEXT "<|endoftext|>"

static const char pretokenize_pattern[] =
	"<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|"
	"[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/* Open-addressing hash table from strings to two ints.  The vocabulary's
 * keys belong to id_text; the cache owns its keys. */
typedef struct str_entry {
	char *key;  /* NULL = empty slot */
	int a, b;
} str_entry;

typedef struct str_map {
	str_entry *slots;  /* (cap) */
	size_t cap, n;     /* cap is a power of two */
} str_map;

/* Hash table from a pair of ids to a merge's rank and result. */
typedef struct pair_entry {
	uint64_t key;      /* (left + 1) << 32 | (right + 1); 0 = empty slot */
	int rank, merged;
} pair_entry;

typedef struct pair_map {
	pair_entry *slots; /* (cap) */
	size_t cap, n;
} pair_map;

struct bpe_vocab {
	int n_ids;
	char **id_text;          /* (n_ids) token strings, owned */
	str_map ids;             /* token string -> id (a) */
	pair_map merges;         /* (left, right) -> rank, merged id */
	uint32_t byte_cp[256];   /* GPT-2's byte alphabet: byte -> code point */
	int byte_of_cp[512];     /* code point -> byte, -1 outside the alphabet */
	int byte_id[256];        /* id of each byte symbol */
	int byte_end_id[256];    /* id of each byte symbol + "</w>" */
	int start_id, end_id;
	pcre2_code *pattern;
	pcre2_match_data *match;

	/* word cache: piece (UTF-8, owned key) -> (offset, count) in cache_ids */
	str_map cache;
	int *cache_ids;          /* (cache_n) */
	size_t cache_n, cache_cap;
};

static uint64_t hash_bytes(const char *s)
{
	uint64_t h = 1469598103934665603u;  /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdu;
	x ^= x >> 33;
	return x;
}

static tp_status str_map_init(str_map *m, size_t expected)
{
	m->cap = 64;
	while (m->cap < 2 * expected)
		m->cap *= 2;
	m->n = 0;
	m->slots = calloc(m->cap, sizeof *m->slots);
	return m->slots ? TP_OK : tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
}

/* Returns the slot of key: its entry, or the empty slot where it belongs. */
static str_entry *str_map_slot(const str_map *m, const char *key)
{
	size_t i = hash_bytes(key) & (m->cap - 1);

	while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static const str_entry *str_map_get(const str_map *m, const char *key)
{
	const str_entry *e = str_map_slot(m, key);

	return e->key ? e : NULL;
}

static tp_status pair_map_init(pair_map *m, size_t expected)
{
	m->cap = 64;
	while (m->cap < 2 * expected)
		m->cap *= 2;
	m->n = 0;
	m->slots = calloc(m->cap, sizeof *m->slots);
	return m->slots ? TP_OK : tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
}

static uint64_t pair_key(int left, int right)
{
	return ((uint64_t)(left + 1) << 32) | (uint64_t)(right + 1);
}

/* Returns the slot of the pair: its entry, or the empty slot where it belongs. */
static pair_entry *pair_map_slot(const pair_map *m, int left, int right)
{
	uint64_t key = pair_key(left, right);
	size_t i = hash_u64(key) & (m->cap - 1);

	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

/* Reads a whole file into a NUL-terminated buffer. */
static tp_status read_file(const char *path, char **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return tp_fail(TP_ERR_IO, "tokenizer: cannot open '%s': %s (a CLIP model folder has vocab.json and merges.txt)",
			       path, strerror(errno));
	for (;;) {
		size_t got;

		if (cap - n < 65536) {
			char *p = realloc(buf, cap + (cap > 65536 ? cap : 65536) + 1);

			if (!p) {
				free(buf);
				fclose(f);
				return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory reading '%s'", path);
			}
			buf = p;
			cap += cap > 65536 ? cap : 65536;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return tp_fail(TP_ERR_IO, "tokenizer: cannot read '%s'", path);
	}
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	*size = n;
	return TP_OK;
}

static int line_of(const char *text, const char *at)
{
	int line = 1;

	for (const char *p = text; p < at && *p; p++)
		line += *p == '\n';
	return line;
}

/* The line of key's first appearance as a JSON string in text, 0 if not found.
 * Looks for the key written with only '"' and '\\' escaped, as vocab.json
 * files written by Python with ensure_ascii=False are. */
static int json_key_line(const char *text, const char *key)
{
	size_t len = strlen(key);
	char *quoted = malloc(2 * len + 3);
	size_t k = 0;
	const char *hit;

	if (!quoted)
		return 0;
	quoted[k++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (key[i] == '"' || key[i] == '\\')
			quoted[k++] = '\\';
		quoted[k++] = key[i];
	}
	quoted[k++] = '"';
	quoted[k] = '\0';
	hit = strstr(text, quoted);
	free(quoted);
	return hit ? line_of(text, hit) : 0;
}

static const char *json_type_name(const cJSON *item)
{
	if (cJSON_IsArray(item)) return "an array";
	if (cJSON_IsString(item)) return "a string";
	if (cJSON_IsNumber(item)) return "a number";
	if (cJSON_IsBool(item)) return "a boolean";
	if (cJSON_IsNull(item)) return "null";
	return "an object";
}

/* Checks one vocab.json entry and stores it at its id. */
static tp_status vocab_add(bpe_vocab *v, const char *path, const char *text, const cJSON *item)
{
	double id = item->valuedouble;
	str_entry *slot;

	if (!cJSON_IsNumber(item) || id != floor(id) || id < 0 || id >= v->n_ids) {
		char *value_json = cJSON_PrintUnformatted(item);
		tp_status st = tp_fail(TP_ERR_FORMAT,
				       "tokenizer: '%s' line %d: token \"%s\" has id %s, expected an integer in 0..%d "
				       "(the ids of %d tokens must be 0..%d, each used once)",
				       path, json_key_line(text, item->string), item->string,
				       value_json ? value_json : "?", v->n_ids - 1, v->n_ids, v->n_ids - 1);

		free(value_json);
		return st;
	}
	if (v->id_text[(int)id])
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: id %d is given to both \"%s\" and \"%s\": each id must be used once",
			       path, json_key_line(text, item->string), (int)id, v->id_text[(int)id], item->string);
	v->id_text[(int)id] = strdup(item->string);
	if (!v->id_text[(int)id])
		return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	slot = str_map_slot(&v->ids, item->string);
	if (slot->key)
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: token \"%s\" appears twice",
			       path, json_key_line(text, item->string), item->string);
	slot->key = v->id_text[(int)id];
	slot->a = (int)id;
	v->ids.n++;
	return TP_OK;
}

static tp_status vocab_parse(bpe_vocab *v, const char *path, const char *text, size_t size)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
	const cJSON *item;
	tp_status st = TP_OK;
	int n = 0;

	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: invalid JSON: expected one object mapping token strings to integer ids",
			       path, at ? line_of(text, at) : 1);
	}
	if (!cJSON_IsObject(root)) {
		st = tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line 1: the top level is %s, expected an object mapping token strings to integer ids",
			     path, json_type_name(root));
		cJSON_Delete(root);
		return st;
	}
	cJSON_ArrayForEach(item, root)
		n++;
	if (n == 0) {
		cJSON_Delete(root);
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s': the vocabulary is empty", path);
	}
	v->n_ids = n;
	v->id_text = calloc((size_t)n, sizeof *v->id_text);
	if (!v->id_text)
		st = tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	if (st == TP_OK)
		st = str_map_init(&v->ids, (size_t)n);
	for (item = root->child; st == TP_OK && item; item = item->next)
		st = vocab_add(v, path, text, item);
	cJSON_Delete(root);
	return st;
}

/* GPT-2's byte alphabet: printable bytes stand for themselves, the others
 * take U+0100 upwards in byte order. */
static void byte_alphabet_init(bpe_vocab *v)
{
	uint32_t next = 256;

	for (int c = 0; c < 512; c++)
		v->byte_of_cp[c] = -1;
	for (int b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;

		v->byte_cp[b] = printable ? (uint32_t)b : next++;
		v->byte_of_cp[v->byte_cp[b]] = b;
	}
}

/* Finds the ids of the byte symbols and the special tokens. */
static tp_status vocab_check_symbols(bpe_vocab *v, const char *path)
{
	char sym[16];
	const str_entry *e;

	for (int b = 0; b < 256; b++) {
		utf8proc_ssize_t len = utf8proc_encode_char((utf8proc_int32_t)v->byte_cp[b], (utf8proc_uint8_t *)sym);

		sym[len] = '\0';
		e = str_map_get(&v->ids, sym);
		if (!e)
			return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s': the byte symbol \"%s\" (byte 0x%02X) is missing: "
				       "give the vocab.json of a byte-level BPE tokenizer such as CLIP's", path, sym, b);
		v->byte_id[b] = e->a;
		strcpy(sym + len, END_OF_WORD);
		e = str_map_get(&v->ids, sym);
		if (!e)
			return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s': the word-final symbol \"%s\" (byte 0x%02X) is missing: "
				       "give the vocab.json of CLIP's tokenizer, whose words end in </w>", path, sym, b);
		v->byte_end_id[b] = e->a;
	}
	e = str_map_get(&v->ids, START_TEXT);
	if (!e)
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s': the special token \"" START_TEXT "\" is missing", path);
	v->start_id = e->a;
	e = str_map_get(&v->ids, END_TEXT);
	if (!e)
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s': the special token \"" END_TEXT "\" is missing", path);
	v->end_id = e->a;
	return TP_OK;
}

/* Parses one merges.txt line "LEFT RIGHT" of the given rank. */
static tp_status merges_add_line(bpe_vocab *v, const char *path, int line_no, char *line, int rank)
{
	char *space = strchr(line, ' ');
	const str_entry *left, *right, *joined;
	pair_entry *slot;
	char *both;

	if (!space || space == line || space[1] == '\0' || strchr(space + 1, ' '))
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: expected two symbols separated by one space, got \"%.60s\"",
			       path, line_no, line);
	*space = '\0';
	left = str_map_get(&v->ids, line);
	right = str_map_get(&v->ids, space + 1);
	if (!left || !right)
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: symbol \"%.60s\" is not in vocab.json: "
			       "give the merges.txt that belongs to this vocab.json", path, line_no,
			       left ? space + 1 : line);
	both = malloc(strlen(line) + strlen(space + 1) + 1);
	if (!both)
		return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	strcpy(both, line);
	strcat(both, space + 1);
	joined = str_map_get(&v->ids, both);
	if (!joined) {
		tp_status st = tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: the merged symbol \"%.60s\" is not in vocab.json: "
				       "give the merges.txt that belongs to this vocab.json", path, line_no, both);

		free(both);
		return st;
	}
	free(both);
	slot = pair_map_slot(&v->merges, left->a, right->a);
	if (slot->key)
		return tp_fail(TP_ERR_FORMAT, "tokenizer: '%s' line %d: the merge \"%s %s\" appears twice (first as rank %d)",
			       path, line_no, line, space + 1, slot->rank);
	slot->key = pair_key(left->a, right->a);
	slot->rank = rank;
	slot->merged = joined->a;
	v->merges.n++;
	return TP_OK;
}

static tp_status merges_parse(bpe_vocab *v, const char *path, char *text)
{
	int line_no = 0, rank = 0, n_lines = 1;
	char *line = text;
	tp_status st;

	for (const char *p = text; *p; p++)
		n_lines += *p == '\n';
	st = pair_map_init(&v->merges, (size_t)n_lines);
	while (st == TP_OK && line && *line) {
		char *next = strchr(line, '\n');
		size_t len;

		if (next)
			*next++ = '\0';
		line_no++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len > 0 && !(line_no == 1 && strncmp(line, "#version", 8) == 0))
			st = merges_add_line(v, path, line_no, line, rank++);
		line = next;
	}
	return st;
}

static tp_status pattern_compile(bpe_vocab *v)
{
	int code;
	PCRE2_SIZE offset;

	v->pattern = pcre2_compile((PCRE2_SPTR)pretokenize_pattern, PCRE2_ZERO_TERMINATED,
				   PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &code, &offset, NULL);
	if (!v->pattern) {
		PCRE2_UCHAR message[256];

		pcre2_get_error_message(code, message, sizeof message);
		return tp_fail(TP_ERR_STATE, "tokenizer: PCRE2 cannot compile the pre-tokenisation pattern at offset %zu: %s "
			       "(PCRE2 needs Unicode support)", (size_t)offset, (const char *)message);
	}
	v->match = pcre2_match_data_create_from_pattern(v->pattern, NULL);
	return v->match ? TP_OK : tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
}

tp_status bpe_load(const char *vocab_path, const char *merges_path, bpe_vocab **out)
{
	bpe_vocab *v = calloc(1, sizeof *v);
	char *text = NULL;
	size_t size;
	tp_status st;

	*out = NULL;
	if (!v)
		return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	byte_alphabet_init(v);

	/* vocab.json, then merges.txt, whose symbols must be in the vocabulary */
	st = read_file(vocab_path, &text, &size);
	if (st == TP_OK)
		st = vocab_parse(v, vocab_path, text, size);
	free(text);
	text = NULL;
	if (st == TP_OK)
		st = vocab_check_symbols(v, vocab_path);
	if (st == TP_OK)
		st = read_file(merges_path, &text, &size);
	if (st == TP_OK)
		st = merges_parse(v, merges_path, text);
	free(text);

	if (st == TP_OK)
		st = pattern_compile(v);
	if (st == TP_OK)
		st = str_map_init(&v->cache, 1024);
	if (st != TP_OK) {
		bpe_free(v);
		return st;
	}
	*out = v;
	return TP_OK;
}

tp_status bpe_load_dir(const char *dir, bpe_vocab **out)
{
	size_t len = strlen(dir);
	char *vocab = malloc(len + 16), *merges = malloc(len + 16);
	tp_status st;

	if (!vocab || !merges) {
		free(vocab);
		free(merges);
		return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	}
	snprintf(vocab, len + 16, "%s/vocab.json", dir);
	snprintf(merges, len + 16, "%s/merges.txt", dir);
	st = bpe_load(vocab, merges, out);
	free(vocab);
	free(merges);
	return st;
}

static void cache_clear(bpe_vocab *v)
{
	for (size_t i = 0; i < v->cache.cap; i++) {
		free(v->cache.slots[i].key);
		v->cache.slots[i].key = NULL;
	}
	v->cache.n = 0;
	v->cache_n = 0;
}

void bpe_free(bpe_vocab *v)
{
	if (!v)
		return;
	if (v->cache.slots)
		cache_clear(v);
	free(v->cache.slots);
	free(v->cache_ids);
	for (int i = 0; i < v->n_ids && v->id_text; i++)
		free(v->id_text[i]);
	free(v->id_text);
	free(v->ids.slots);
	free(v->merges.slots);
	pcre2_match_data_free(v->match);
	pcre2_code_free(v->pattern);
	free(v);
}

/* Merges the symbols of one piece in place, lowest rank first; returns the
 * new number of symbols. */
static int bpe_merge(const bpe_vocab *v, int *sym, int n)
{
	while (n > 1) {
		int best_rank = -1, first = 0, second = 0, merged = 0, k = 0;

		for (int i = 0; i + 1 < n; i++) {
			const pair_entry *e = pair_map_slot(&v->merges, sym[i], sym[i + 1]);

			if (e->key && (best_rank < 0 || e->rank < best_rank)) {
				best_rank = e->rank;
				first = sym[i];
				second = sym[i + 1];
				merged = e->merged;
			}
		}
		if (best_rank < 0)
			break;

		/* every occurrence of the pair, left to right, without overlap */
		for (int i = 0; i < n; i++) {
			if (i + 1 < n && sym[i] == first && sym[i + 1] == second) {
				sym[k++] = merged;
				i++;
			} else {
				sym[k++] = sym[i];
			}
		}
		n = k;
	}
	return n;
}

/* Appends to the cache the tokens of one piece (UTF-8, len bytes), and
 * returns where they are. */
static tp_status piece_tokens(bpe_vocab *v, const char *piece, size_t len, const int **ids, int *n)
{
	char *key = malloc(len + 1);
	str_entry *slot;
	int *sym;
	int count;

	if (!key)
		return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
	memcpy(key, piece, len);
	key[len] = '\0';
	slot = str_map_slot(&v->cache, key);
	if (slot->key) {
		free(key);
		*ids = v->cache_ids + slot->a;
		*n = slot->b;
		return TP_OK;
	}

	/* make room: the cache starts over when full, its id store grows */
	if (v->cache.n >= BPE_CACHE_MAX || 2 * (v->cache.n + 1) > v->cache.cap) {
		if (v->cache.n >= BPE_CACHE_MAX) {
			cache_clear(v);
		} else {
			str_map bigger;
			tp_status st = str_map_init(&bigger, v->cache.cap);

			if (st != TP_OK) {
				free(key);
				return st;
			}
			for (size_t i = 0; i < v->cache.cap; i++)
				if (v->cache.slots[i].key)
					*str_map_slot(&bigger, v->cache.slots[i].key) = v->cache.slots[i];
			bigger.n = v->cache.n;
			free(v->cache.slots);
			v->cache = bigger;
		}
		slot = str_map_slot(&v->cache, key);
	}
	if (v->cache_cap - v->cache_n < len + 1) {
		size_t cap = 2 * v->cache_cap + len + 1024;
		int *p = realloc(v->cache_ids, cap * sizeof *p);

		if (!p) {
			free(key);
			return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
		}
		v->cache_ids = p;
		v->cache_cap = cap;
	}

	/* special tokens stand for themselves; other pieces are byte symbols,
	 * the last one word-final, then merged */
	sym = v->cache_ids + v->cache_n;
	if (strcmp(key, START_TEXT) == 0 || strcmp(key, END_TEXT) == 0) {
		sym[0] = key[2] == 's' ? v->start_id : v->end_id;
		count = 1;
	} else {
		for (size_t i = 0; i < len; i++) {
			unsigned char b = (unsigned char)piece[i];

			sym[i] = i + 1 < len ? v->byte_id[b] : v->byte_end_id[b];
		}
		count = bpe_merge(v, sym, (int)len);
	}
	slot->key = key;
	slot->a = (int)v->cache_n;
	slot->b = count;
	v->cache.n++;
	v->cache_n += (size_t)count;
	*ids = sym;
	*n = count;
	return TP_OK;
}

/* Appends one id to a growable array. */
static tp_status ids_push(int **ids, int *n, int *cap, int id)
{
	if (*n == *cap) {
		int new_cap = *cap ? 2 * *cap : 32;
		int *p = realloc(*ids, (size_t)new_cap * sizeof *p);

		if (!p)
			return tp_fail(TP_ERR_NOMEM, "tokenizer: out of memory");
		*ids = p;
		*cap = new_cap;
	}
	(*ids)[(*n)++] = id;
	return TP_OK;
}

/* Tokenizes text into *ids (malloc'd), stopping once limit tokens are
 * there (limit < 0: no limit). */
static tp_status encode_tokens(bpe_vocab *v, const char *text, int limit, int **ids, int *n)
{
	char *clean;
	size_t len, offset = 0;
	int cap = 0;
	tp_status st = bpe_clean(text, &clean);

	*ids = NULL;
	*n = 0;
	if (st != TP_OK)
		return st;
	len = strlen(clean);
	while (st == TP_OK && offset < len && (limit < 0 || *n < limit)) {
		int rc = pcre2_match(v->pattern, (PCRE2_SPTR)clean, len, offset, 0, v->match, NULL);
		PCRE2_SIZE *span;
		const int *piece = NULL;
		int count = 0;

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			PCRE2_UCHAR message[256];

			pcre2_get_error_message(rc, message, sizeof message);
			st = tp_fail(TP_ERR_VALUE, "tokenize: pre-tokenisation failed at byte %zu: %s", offset,
				     (const char *)message);
			break;
		}
		span = pcre2_get_ovector_pointer(v->match);
		st = piece_tokens(v, clean + span[0], span[1] - span[0], &piece, &count);
		for (int i = 0; st == TP_OK && i < count; i++)
			st = ids_push(ids, n, &cap, piece[i]);
		offset = span[1];
	}
	free(clean);
	if (st != TP_OK) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return st;
}

tp_status bpe_encode_words(bpe_vocab *v, const char *text, int **ids, int *n)
{
	return encode_tokens(v, text, -1, ids, n);
}

tp_status bpe_encode(bpe_vocab *v, const char *text, int n_ctx, int *ids, int *n_used, int *truncated)
{
	int *tokens, n_tokens, k = 0;
	tp_status st;

	if (n_ctx < 2)
		return tp_fail(TP_ERR_VALUE, "tokenize: context length %d is too short: it needs at least 2 positions for the start and end tokens",
			       n_ctx);

	/* one token past the room tells whether the text was cut */
	st = encode_tokens(v, text, n_ctx - 1, &tokens, &n_tokens);
	if (st != TP_OK)
		return st;
	ids[k++] = v->start_id;
	for (int i = 0; i < n_tokens && k < n_ctx - 1; i++)
		ids[k++] = tokens[i];
	ids[k++] = v->end_id;
	if (n_used)
		*n_used = k;
	if (truncated)
		*truncated = n_tokens > n_ctx - 2;
	while (k < n_ctx)
		ids[k++] = 0;
	free(tokens);
	return TP_OK;
}

tp_status bpe_decode(const bpe_vocab *v, const int *ids, int n, char **text)
{
	size_t total = 1, k = 0;
	unsigned char *bytes;
	char *out;

	*text = NULL;
	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= v->n_ids)
			return tp_fail(TP_ERR_VALUE, "decode: id %d at position %d is out of range 0..%d", ids[i], i, v->n_ids - 1);
		total += strlen(v->id_text[ids[i]]);
	}

	/* token strings to bytes: each alphabet character back to its byte */
	bytes = malloc(total);
	if (!bytes)
		return tp_fail(TP_ERR_NOMEM, "decode: out of memory");
	for (int i = 0; i < n; i++) {
		const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)v->id_text[ids[i]];
		utf8proc_ssize_t len = (utf8proc_ssize_t)strlen((const char *)s);

		while (len > 0) {
			utf8proc_int32_t c;
			utf8proc_ssize_t used = utf8proc_iterate(s, len, &c);

			if (used <= 0)
				break;
			bytes[k++] = c >= 0 && c < 512 && v->byte_of_cp[c] >= 0 ? (unsigned char)v->byte_of_cp[c] : '?';
			s += used;
			len -= used;
		}
	}

	/* bytes to UTF-8 with U+FFFD for invalid bytes, and "</w>" to a space */
	out = malloc(3 * k + 1);
	if (!out) {
		free(bytes);
		return tp_fail(TP_ERR_NOMEM, "decode: out of memory");
	}
	total = 0;
	for (size_t i = 0; i < k;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t used = utf8proc_iterate(bytes + i, (utf8proc_ssize_t)(k - i), &c);

		if (k - i >= 4 && memcmp(bytes + i, END_OF_WORD, 4) == 0) {
			out[total++] = ' ';
			i += 4;
		} else if (used > 0) {
			memcpy(out + total, bytes + i, (size_t)used);
			total += (size_t)used;
			i += (size_t)used;
		} else {
			memcpy(out + total, "\xEF\xBF\xBD", 3);
			total += 3;
			i++;
		}
	}
	out[total] = '\0';
	free(bytes);
	*text = out;
	return TP_OK;
}

int bpe_vocab_size(const bpe_vocab *v)
{
	return v->n_ids;
}

int bpe_start_id(const bpe_vocab *v)
{
	return v->start_id;
}

int bpe_end_id(const bpe_vocab *v)
{
	return v->end_id;
}

const char *bpe_token_text(const bpe_vocab *v, int id)
{
	return id >= 0 && id < v->n_ids ? v->id_text[id] : NULL;
}
