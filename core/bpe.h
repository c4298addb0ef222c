/* CLIP's text tokenizer: byte-level BPE with CLIP's text clean-up.
 *
 * Files (the Hugging Face layout of a CLIP model folder):
 *   vocab.json   one JSON object mapping each token string to its integer
 *                id; the ids must be 0..N-1, each used once.  Token strings
 *                are written in GPT-2's byte alphabet (below); the word-final
 *                form of a symbol ends in "</w>".  It must contain the 256
 *                byte symbols, the 256 byte symbols with "</w>", and the
 *                special tokens "<|startoftext|>" and "<|endoftext|>" (ids
 *                49406 and 49407 in CLIP's vocabulary).
 *   merges.txt   an optional first line starting with "#version", then one
 *                merge per line, "LEFT RIGHT" (two symbols separated by one
 *                space), in order of priority: line k of the merges has rank
 *                k.  Both symbols and their concatenation must be in
 *                vocab.json.  Blank lines are skipped; "\r\n" line ends are
 *                accepted.
 *
 * Encoding a text (what OpenAI's simple_tokenizer.py and open_clip do):
 *   1. clean-up: a subset of ftfy's fix_text (see below), then HTML character
 *      references unescaped twice with the rules of Python's html.unescape()
 *      (all HTML5 names, legacy names without ';', numeric references with
 *      the HTML5 replacements for invalid ones), strip, every run of Unicode
 *      White_Space collapsed to one space, strip;
 *   2. lower-casing as Python's str.lower() does it: the simple lowercase
 *      mapping of utf8proc, U+0130 to "i" U+0307, and capital sigma to final
 *      sigma at the end of a word;
 *   3. pre-tokenisation with CLIP's pattern, case-insensitive (PCRE2):
 *        <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|
 *        [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *      so every digit is its own piece; a piece that is a special token's
 *      text becomes that token;
 *   4. each piece's UTF-8 bytes mapped to GPT-2's byte alphabet (printable
 *      bytes '!'..'~', 0xA1..0xAC, 0xAE..0xFF stand for themselves, the
 *      other 68 bytes for U+0100 upwards in byte order), "</w>" appended to
 *      the last symbol, and adjacent symbols merged, lowest rank first, every
 *      occurrence left to right, until no adjacent pair has a rank.
 *
 * ftfy repairs that are done, in this order: terminal colour escapes
 * (ESC [ digits-and-semicolons letter) removed; C1 controls U+0080..U+009F
 * read as Windows-1252 (the five bytes it leaves undefined stay); the Latin
 * ligatures IJ ij ff fi fl ffi ffl st (U+0132, U+0133, U+FB00..U+FB06) split;
 * U+3000 to a space and the halfwidth and fullwidth forms U+FF01..U+FFEF to
 * their NFKC form; curly quotes U+2018..U+201B to ' and U+201C..U+201F to ";
 * control characters removed (U+0000..U+0008, U+000B, U+000E..U+001F,
 * U+007F, U+206A..U+206F, U+FEFF, U+FFF9..U+FFFC, U+1D173..U+1D17A); NFC
 * normalisation.  Not done: ftfy's mojibake repair (fix_encoding and its
 * helpers), its own pass of HTML unescaping (so "&#8217;" becomes a curly
 * quote that is not straightened), removal of the tag characters
 * U+E0000..U+E007F, and line-break fixes (their effect disappears in the
 * whitespace collapse).  Text that ftfy would leave unchanged, which is
 * almost all text, gets CLIP's ids exactly.
 *
 * Limits: the character classes follow the Unicode versions of the PCRE2
 * and utf8proc in use, and final sigma takes "cased" as the categories Lu,
 * Ll, Lt and "case-ignorable" as Mn, Me, Cf, Lm, Sk and the apostrophe,
 * period, colon and their look-alikes, which misses Unicode's rarer cased
 * symbols (circled letters, Roman numerals).  Input must be valid UTF-8.
 *
 * Sequences: bpe_encode() writes the start token, the text's tokens and the
 * end token, cut to the context length with the end token kept at the last
 * position (open_clip's behaviour; OpenAI's clip.tokenize(truncate=True)
 * does the same), and padded with zeros.
 *
 * A bpe_vocab caches the tokens of each piece it has encoded (up to
 * BPE_CACHE_MAX pieces, then the cache starts over), so encoding changes it:
 * one vocabulary must not be used by two threads at once. */
#ifndef TP_BPE_H
#define TP_BPE_H

#include "status.h"

/* CLIP's context length: start token, up to 75 text tokens, end token. */
#define BPE_CONTEXT_LENGTH 77
#define BPE_CACHE_MAX 50000

typedef struct bpe_vocab bpe_vocab;

/* Loads a tokenizer from vocab.json and merges.txt.  Errors name the file
 * and, where there is one, the line (missing file, invalid JSON, a value
 * that is not an integer id, a missing byte symbol, a malformed merge line,
 * a symbol not in the vocabulary).  On success *out is owned by the caller
 * (free with bpe_free). */
tp_status bpe_load(const char *vocab_path, const char *merges_path, bpe_vocab **out);

/* bpe_load() of DIR/vocab.json and DIR/merges.txt. */
tp_status bpe_load_dir(const char *dir, bpe_vocab **out);

void bpe_free(bpe_vocab *v);

/* Encodes text into exactly n_ctx ids (n_ctx >= 2): start token, tokens, end
 * token, zeros.  A text with more than n_ctx - 2 tokens is cut and the end
 * token written at position n_ctx - 1.  *n_used (may be NULL) receives the
 * number of ids before the padding, so the end token is at *n_used - 1;
 * *truncated (may be NULL) is set to 1 when tokens were cut, 0 otherwise.
 * Fails on invalid UTF-8, naming the byte offset. */
tp_status bpe_encode(bpe_vocab *v, const char *text, int n_ctx, int *ids,
		     int *n_used, int *truncated);

/* Encodes text (a class name, a word list such as "a photo of a") into its
 * tokens alone: no start or end token, no length limit, no padding.
 * *ids is malloc'd (NULL when *n is 0) and owned by the caller. */
tp_status bpe_encode_words(bpe_vocab *v, const char *text, int **ids, int *n);

/* Decodes ids back to text as CLIP's decoder does: token strings joined,
 * mapped back to bytes, each "</w>" turned into a space.  Special tokens
 * appear as their text; bytes that do not form valid UTF-8 become U+FFFD
 * one byte at a time.  For debugging: clean-up and lower-casing are not
 * undone.  *text is malloc'd and owned by the caller.  Fails on an id out
 * of range. */
tp_status bpe_decode(const bpe_vocab *v, const int *ids, int n, char **text);

/* Applies steps 1 and 2 above (clean-up and lower-casing) and returns the
 * result, for tests and inspection.  *out is malloc'd, owned by the caller. */
tp_status bpe_clean(const char *text, char **out);

/* The number of ids (N), the special token ids, and the vocabulary string
 * of an id (NULL when out of range; valid while v lives). */
int bpe_vocab_size(const bpe_vocab *v);
int bpe_start_id(const bpe_vocab *v);
int bpe_end_id(const bpe_vocab *v);
const char *bpe_token_text(const bpe_vocab *v, int id);

#endif
