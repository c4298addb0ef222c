/* CLIP's text clean-up and lower-casing (steps 1 and 2 in bpe.h).  The text
 * is decoded to code points once; every step maps one code-point buffer to
 * the next, and the result is encoded back to UTF-8. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "bpe.h"
#include "bpe_entities.h"

/* A growable array of code points; `failed` records an allocation failure
 * so that the steps can push without checking every call. */
typedef struct cp_buf {
	uint32_t *cp;
	size_t n, cap;
	int failed;
} cp_buf;

static void cp_push(cp_buf *b, uint32_t c)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		uint32_t *p = realloc(b->cp, cap * sizeof *p);

		if (!p) {
			b->failed = 1;
			return;
		}
		b->cp = p;
		b->cap = cap;
	}
	b->cp[b->n++] = c;
}

/* Windows-1252's characters for the bytes 0x80..0x9F; 0 where it defines none. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

/* Unicode's White_Space property: what Python's regex module matches with \s. */
static int is_white_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* Python's str.isspace(), which str.strip() uses: White_Space plus U+001C..U+001F. */
static int is_py_space(uint32_t c)
{
	return is_white_space(c) || (c >= 0x1C && c <= 0x1F);
}

/* UTF-8 decoding with validation: no overlong forms, surrogates or values
 * above U+10FFFF.  Fails with the byte offset of the first invalid byte. */
static tp_status utf8_decode(const char *text, cp_buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (s[i]) {
		uint32_t c = s[i];
		int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
			  (c & 0xF8) == 0xF0 ? 4 : 0;
		static const uint32_t min_value[5] = { 0, 0, 0x80, 0x800, 0x10000 };

		if (len == 0)
			return tp_fail(TP_ERR_VALUE, "tokenize: invalid UTF-8 byte 0x%02X at offset %zu: give UTF-8 text",
				       s[i], i);
		if (len > 1)
			c &= 0x3F >> (len - 1);
		for (int k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return tp_fail(TP_ERR_VALUE, "tokenize: truncated UTF-8 sequence at offset %zu: give UTF-8 text",
					       i);
			c = (c << 6) | (s[i + k] & 0x3F);
		}
		if (c < min_value[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return tp_fail(TP_ERR_VALUE, "tokenize: invalid UTF-8 sequence (U+%04X) at offset %zu: give UTF-8 text",
				       (unsigned)c, i);
		cp_push(out, c);
		i += (size_t)len;
	}
	return TP_OK;
}

/* Encodes code points as UTF-8 into a new NUL-terminated string (NULL on
 * allocation failure). */
static char *utf8_encode(const uint32_t *cp, size_t n)
{
	char *out = malloc(4 * n + 1);
	size_t k = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		utf8proc_ssize_t len = utf8proc_encode_char((utf8proc_int32_t)cp[i], (utf8proc_uint8_t *)out + k);

		k += (size_t)len;
	}
	out[k] = '\0';
	return out;
}

/* Applies a utf8proc normalisation (utf8proc_NFC, utf8proc_NFKC) to code points. */
static tp_status normalize(const uint32_t *cp, size_t n,
			   utf8proc_uint8_t *(*form)(const utf8proc_uint8_t *), cp_buf *out)
{
	char *utf8 = utf8_encode(cp, n);
	utf8proc_uint8_t *norm;
	tp_status st;

	if (!utf8)
		return tp_fail(TP_ERR_NOMEM, "tokenize: out of memory");
	norm = form((const utf8proc_uint8_t *)utf8);
	free(utf8);
	if (!norm)
		return tp_fail(TP_ERR_NOMEM, "tokenize: Unicode normalisation failed (out of memory)");
	st = utf8_decode((const char *)norm, out);
	free(norm);
	return st;
}

/* ftfy's fixes, one character at a time (after terminal escapes are gone):
 * C1 controls, ligatures, character width, curly quotes, control removal,
 * each applied to what the step before produced. */
static const struct { uint32_t cp; const char *ascii; } ligatures[] = {
	{ 0x132, "IJ" }, { 0x133, "ij" }, { 0xFB00, "ff" }, { 0xFB01, "fi" }, { 0xFB02, "fl" },
	{ 0xFB03, "ffi" }, { 0xFB04, "ffl" }, { 0xFB05, NULL /* long s + t */ }, { 0xFB06, "st" }
};

static int is_removed_control(uint32_t c)
{
	return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
	       (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) ||
	       (c >= 0x1D173 && c <= 0x1D17A);
}

static void fix_quote_control(uint32_t c, cp_buf *out)
{
	if (c >= 0x2018 && c <= 0x201B)
		c = '\'';
	else if (c >= 0x201C && c <= 0x201F)
		c = '"';
	if (!is_removed_control(c))
		cp_push(out, c);
}

static tp_status fix_width(uint32_t c, cp_buf *out)
{
	cp_buf wide = { 0 };
	tp_status st;

	if (c == 0x3000) {
		fix_quote_control(' ', out);
		return TP_OK;
	}
	if (c < 0xFF01 || c > 0xFFEF) {
		fix_quote_control(c, out);
		return TP_OK;
	}
	st = normalize(&c, 1, utf8proc_NFKC, &wide);
	if (st == TP_OK && wide.failed)
		st = tp_fail(TP_ERR_NOMEM, "tokenize: out of memory");
	for (size_t i = 0; st == TP_OK && i < wide.n; i++)
		fix_quote_control(wide.cp[i], out);
	free(wide.cp);
	return st;
}

static tp_status fix_char(uint32_t c, cp_buf *out)
{
	if (c >= 0x80 && c <= 0x9F && cp1252_high[c - 0x80])
		c = cp1252_high[c - 0x80];
	for (size_t i = 0; i < sizeof ligatures / sizeof ligatures[0]; i++) {
		if (ligatures[i].cp != c)
			continue;
		if (!ligatures[i].ascii) {
			cp_push(out, 0x17F);
			cp_push(out, 't');
			return TP_OK;
		}
		for (const char *p = ligatures[i].ascii; *p; p++)
			cp_push(out, (uint32_t)*p);
		return TP_OK;
	}
	return fix_width(c, out);
}

/* Length of a terminal escape ESC '[' [0-9;]* [A-Za-z] starting at in[i], or 0. */
static size_t terminal_escape_length(const uint32_t *in, size_t n, size_t i)
{
	size_t k = i + 2;

	if (in[i] != 0x1B || i + 1 >= n || in[i + 1] != '[')
		return 0;
	while (k < n && ((in[k] >= '0' && in[k] <= '9') || in[k] == ';'))
		k++;
	if (k < n && ((in[k] >= 'A' && in[k] <= 'Z') || (in[k] >= 'a' && in[k] <= 'z')))
		return k + 1 - i;
	return 0;
}

static tp_status ftfy_subset(const cp_buf *in, cp_buf *out)
{
	cp_buf fixed = { 0 };
	tp_status st = TP_OK;

	for (size_t i = 0; st == TP_OK && i < in->n; i++) {
		size_t skip = terminal_escape_length(in->cp, in->n, i);

		if (skip) {
			i += skip - 1;
			continue;
		}
		st = fix_char(in->cp[i], &fixed);
	}
	if (st == TP_OK && fixed.failed)
		st = tp_fail(TP_ERR_NOMEM, "tokenize: out of memory");
	if (st == TP_OK)
		st = normalize(fixed.cp, fixed.n, utf8proc_NFC, out);
	free(fixed.cp);
	return st;
}

/* HTML unescaping with the rules of Python's html.unescape(). */

static int entity_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const bpe_entity *)elem)->name);
}

/* Looks up the name cp[0..n) (without '&'); NULL when it is not an entity. */
static const bpe_entity *entity_find(const uint32_t *cp, size_t n)
{
	char name[40];

	if (n >= sizeof name)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (cp[i] >= 0x80)
			return NULL;
		name[i] = (char)cp[i];
	}
	name[n] = '\0';
	return bsearch(name, bpe_entities, sizeof bpe_entities / sizeof bpe_entities[0],
		       sizeof bpe_entities[0], entity_cmp);
}

/* Code points that a numeric reference to them removes (HTML5 parse errors
 * that Python drops): C0 and C1 controls other than whitespace,
 * noncharacters. */
static int is_dropped_reference(uint32_t c)
{
	return (c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) ||
	       (c >= 0x7F && c <= 0x9F) || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

static void push_numeric_reference(uint32_t value, cp_buf *out)
{
	if (value == 0x00)
		cp_push(out, 0xFFFD);
	else if (value == 0x0D)
		cp_push(out, 0x0D);
	else if (value >= 0x80 && value <= 0x9F)
		cp_push(out, cp1252_high[value - 0x80] ? cp1252_high[value - 0x80] : value);
	else if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF)
		cp_push(out, 0xFFFD);
	else if (!is_dropped_reference(value))
		cp_push(out, value);
}

/* Handles "&#..." at in[i] ('&' at i, '#' at i + 1); returns the number of
 * code points consumed, 0 when no digits follow (the '&' is then literal). */
static size_t unescape_numeric(const uint32_t *in, size_t n, size_t i, cp_buf *out)
{
	size_t k = i + 2;
	int hex = k < n && (in[k] == 'x' || in[k] == 'X');
	uint64_t value = 0;
	size_t start;

	if (hex)
		k++;
	start = k;
	for (; k < n; k++) {
		uint32_t c = in[k];
		int digit = c >= '0' && c <= '9' ? (int)(c - '0') :
			    hex && c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10) :
			    hex && c >= 'A' && c <= 'F' ? (int)(c - 'A' + 10) : -1;

		if (digit < 0)
			break;
		value = value * (hex ? 16 : 10) + (uint64_t)digit;
		if (value > 0x110000)
			value = 0x110000;  /* saturate: anything above U+10FFFF is replaced the same way */
	}
	if (k == start)
		return 0;
	if (k < n && in[k] == ';')
		k++;
	push_numeric_reference((uint32_t)value, out);
	return k - i;
}

static void push_entity(const bpe_entity *e, cp_buf *out)
{
	cp_push(out, e->cp[0]);
	if (e->cp[1])
		cp_push(out, e->cp[1]);
}

/* Handles a named reference at in[i]; returns the code points consumed, 0
 * when no name follows the '&'. */
static size_t unescape_named(const uint32_t *in, size_t n, size_t i, cp_buf *out)
{
	size_t k = i + 1, len;
	const uint32_t *name = in + i + 1;
	const bpe_entity *e;

	while (k < n && k - (i + 1) < 32 && in[k] != '\t' && in[k] != '\n' && in[k] != '\f' &&
	       in[k] != ' ' && in[k] != '<' && in[k] != '&' && in[k] != '#' && in[k] != ';')
		k++;
	if (k == i + 1)
		return 0;
	if (k < n && in[k] == ';')
		k++;
	len = k - (i + 1);

	/* the whole name, else the longest prefix of at least two characters
	 * (which can only be a legacy name written without ';') */
	e = entity_find(name, len);
	if (e) {
		push_entity(e, out);
		return k - i;
	}
	for (size_t x = len - 1; x >= 2; x--) {
		e = entity_find(name, x);
		if (!e)
			continue;
		push_entity(e, out);
		for (size_t j = x; j < len; j++)
			cp_push(out, name[j]);
		return k - i;
	}
	for (size_t j = i; j < k; j++)
		cp_push(out, in[j]);
	return k - i;
}

static void html_unescape(const cp_buf *in, cp_buf *out)
{
	for (size_t i = 0; i < in->n;) {
		size_t used = 0;

		if (in->cp[i] == '&' && i + 1 < in->n)
			used = in->cp[i + 1] == '#' ? unescape_numeric(in->cp, in->n, i, out)
						    : unescape_named(in->cp, in->n, i, out);
		if (used) {
			i += used;
		} else {
			cp_push(out, in->cp[i]);
			i++;
		}
	}
}

/* strip(), every run of White_Space to one space, strip() again. */
static void collapse_whitespace(const cp_buf *in, cp_buf *out)
{
	size_t lo = 0, hi = in->n;
	int pending_space = 0;

	while (lo < hi && is_py_space(in->cp[lo]))
		lo++;
	while (hi > lo && is_py_space(in->cp[hi - 1]))
		hi--;
	for (size_t i = lo; i < hi; i++) {
		if (is_white_space(in->cp[i])) {
			pending_space = 1;
			continue;
		}
		if (pending_space)
			cp_push(out, ' ');
		pending_space = 0;
		cp_push(out, in->cp[i]);
	}
}

/* Python's str.lower(): simple mappings, U+0130 to "i" + U+0307, and final
 * sigma (the approximations of "cased" and "case-ignorable" are in bpe.h). */
static int is_cased(uint32_t c)
{
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);

	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

static int is_case_ignorable(uint32_t c)
{
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);

	if (k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
	    k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK)
		return 1;
	/* Word_Break MidLetter, MidNumLet and Single_Quote */
	switch (c) {
	case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
	case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52:
	case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
		return 1;
	}
	return 0;
}

static int is_final_sigma(const uint32_t *cp, size_t n, size_t i)
{
	size_t j = i;

	while (j > 0 && is_case_ignorable(cp[j - 1]))
		j--;
	if (j == 0 || !is_cased(cp[j - 1]))
		return 0;
	for (j = i + 1; j < n && is_case_ignorable(cp[j]); j++)
		;
	return j == n || !is_cased(cp[j]);
}

static void lower(const cp_buf *in, cp_buf *out)
{
	for (size_t i = 0; i < in->n; i++) {
		uint32_t c = in->cp[i];

		if (c == 0x130) {
			cp_push(out, 'i');
			cp_push(out, 0x307);
		} else if (c == 0x3A3) {
			cp_push(out, is_final_sigma(in->cp, in->n, i) ? 0x3C2 : 0x3C3);
		} else {
			cp_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
		}
	}
}

tp_status bpe_clean(const char *text, char **out)
{
	cp_buf buf[6] = { { 0 } };
	tp_status st = utf8_decode(text, &buf[0]);

	*out = NULL;
	if (st == TP_OK)
		st = ftfy_subset(&buf[0], &buf[1]);
	if (st == TP_OK) {
		html_unescape(&buf[1], &buf[2]);
		html_unescape(&buf[2], &buf[3]);
		collapse_whitespace(&buf[3], &buf[4]);
		lower(&buf[4], &buf[5]);
	}
	for (int k = 0; k < 6; k++)
		if (buf[k].failed && st == TP_OK)
			st = tp_fail(TP_ERR_NOMEM, "tokenize: out of memory");
	if (st == TP_OK) {
		*out = utf8_encode(buf[5].cp, buf[5].n);
		if (!*out)
			st = tp_fail(TP_ERR_NOMEM, "tokenize: out of memory");
	}
	for (int k = 0; k < 6; k++)
		free(buf[k].cp);
	return st;
}
