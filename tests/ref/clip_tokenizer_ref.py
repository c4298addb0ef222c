#!/usr/bin/python3
"""Independent reference of CLIP's text tokenizer, used only to record
tests/fixtures/bpe_cases.tsv for the C tokenizer in core/bpe.c.

It follows the algorithm of OpenAI's CLIP (simple_tokenizer.py) as published:
the vocabulary is rebuilt from bpe_simple_vocab_16e6.txt.gz (byte symbols,
byte symbols with </w>, the first 48894 merges joined, then <|startoftext|>
and <|endoftext|>), so it does not read the vocab.json or merges.txt that the
C code reads.  Text goes through the ftfy subset that core/bpe.h documents,
html.unescape twice, whitespace collapsing, strip and str.lower(), then the
pre-tokenisation pattern (Debian's python3-regex for \\p{L} and \\p{N}),
byte-to-unicode mapping and BPE by merge rank.  Sequences are cut to 77 ids
with the end token kept last, as open_clip does, and padded with zeros.

Usage: clip_tokenizer_ref.py VOCAB.txt.gz CASES.txt > bpe_cases.tsv
CASES.txt has one case per line: MODE<TAB>NAME<TAB>TEXT, where MODE is "text"
(77 ids with start and end tokens) or "words" (the tokens alone), and TEXT
uses the escapes \\\\ \\t \\n \\r and \\xHH for other control bytes.
"""
import gzip
import html
import sys
import unicodedata

import regex

CONTEXT_LENGTH = 77
N_MERGES = 49152 - 256 - 2

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


def byte_symbols():
    """GPT-2's reversible map from the 256 byte values to printable characters.

    Printable bytes map to themselves and come first, in byte order; the other
    bytes follow, mapped to U+0100 upwards.  The vocabulary lists the symbols
    in this order, so the order fixes their ids."""
    kept = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1))
            + list(range(0xAE, 0xFF + 1)))
    table = {b: chr(b) for b in kept}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# ftfy subset: the same repairs, in the same order, as core/bpe_clean.c.
CP1252 = bytes(range(0x80, 0xA0)).decode("cp1252", errors="replace")
LIGATURES = {0x132: "IJ", 0x133: "ij", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl",
             0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft", 0xFB06: "st"}
CONTROL = set(list(range(0x00, 0x09)) + [0x0B] + list(range(0x0E, 0x20)) + [0x7F]
              + list(range(0x206A, 0x2070)) + [0xFEFF] + list(range(0xFFF9, 0xFFFD))
              + list(range(0x1D173, 0x1D17B)))
TERMINAL_ESCAPE = regex.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def c1_to_cp1252(ch):
    cp = ord(ch)
    if 0x80 <= cp <= 0x9F:
        mapped = CP1252[cp - 0x80]
        # bytes that windows-1252 leaves undefined stay as they are
        return ch if mapped == "\ufffd" else mapped
    return ch


def fix_width(ch):
    cp = ord(ch)
    if cp == 0x3000:
        return " "
    if 0xFF01 <= cp <= 0xFFEF:
        return unicodedata.normalize("NFKC", ch)
    return ch


def uncurl(ch):
    cp = ord(ch)
    if 0x2018 <= cp <= 0x201B:
        return "'"
    if 0x201C <= cp <= 0x201F:
        return '"'
    return ch


def ftfy_subset(text):
    text = TERMINAL_ESCAPE.sub("", text)
    out = []
    for ch in text:
        ch = c1_to_cp1252(ch)
        for c in LIGATURES.get(ord(ch), ch):
            for w in fix_width(c):
                w = uncurl(w)
                if ord(w) not in CONTROL:
                    out.append(w)
    return unicodedata.normalize("NFC", "".join(out))


def clean(text):
    text = ftfy_subset(text)
    text = html.unescape(html.unescape(text))
    text = text.strip()
    text = regex.sub(r"\s+", " ", text)
    return text.strip().lower()


class Tokenizer:
    def __init__(self, vocab_gz):
        with gzip.open(vocab_gz, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1:N_MERGES + 1]]
        symbols = list(byte_symbols().values())
        vocab = symbols + [s + "</w>" for s in symbols]
        vocab += ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {s: i for i, s in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_map = byte_symbols()

    def bpe(self, token):
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def tokens(self, text):
        out = []
        for piece in PATTERN.findall(clean(text)):
            if piece in ("<|startoftext|>", "<|endoftext|>"):
                out.append(self.ids[piece])
                continue
            mapped = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            out.extend(self.ids[s] for s in self.bpe(mapped))
        return out

    def encode(self, text):
        ids = [self.ids["<|startoftext|>"]] + self.tokens(text) + [self.ids["<|endoftext|>"]]
        if len(ids) > CONTEXT_LENGTH:
            ids = ids[:CONTEXT_LENGTH]
            ids[-1] = self.ids["<|endoftext|>"]
        return ids + [0] * (CONTEXT_LENGTH - len(ids))


def unescape_case(text):
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            c = text[i + 1]
            if c == "x":
                out.append(chr(int(text[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[c])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def main():
    tok = Tokenizer(sys.argv[1])
    print("# mode\tname\ttext (escaped as in the cases file)\tids")
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            mode, name, escaped = line.split("\t")
            text = unescape_case(escaped)
            if mode == "text":
                ids = tok.encode(text)
                while ids and ids[-1] == 0:
                    ids.pop()
            else:
                ids = tok.tokens(text)
            print(f"{mode}\t{name}\t{escaped}\t{' '.join(map(str, ids))}")


if __name__ == "__main__":
    main()
