#!/usr/bin/env python3
"""Generate tests/ref/tokenizer_fuzz_cases.jsonl: random texts through the slow
transformers BertTokenizer (4.x; in 5.x that name is the Rust tokenizer).

Run from the repository root:  tests/ref/.venv/bin/python tests/ref/gen_tokenizer_fuzz.py
Complements tokenizer_cases.jsonl (hand-picked strings) with seeded random
mixtures of vocabulary words, special-token look-alikes, Greek capitals,
decomposed accents, Hangul jamo, CJK compatibility ideographs, odd whitespace
and random assigned code points, in pairs and with small max_length values.
Code points come only from those assigned in this Python's Unicode database,
so a libutf8proc with the same or a newer Unicode version agrees.
Same format as tokenizer_cases.jsonl; output is deterministic.
"""
import json
import os
import random
import sys
import unicodedata

import transformers
from transformers import BertTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "ref", "tokenizer_fuzz_cases.jsonl")
N_TEXTS = 1000
SEED = 20240607

# Pieces that exercised real differences while the C tokenizer was written.
PIECES = [
    "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[cls]", "[Mask]", "[MA\x00SK]", "##",
    "ΣΑΣ", "ΟΔΟΣ.", "σοφός", "İstanbul", "İ", "ß", "ẞ", "ﬁ", "Å", "A\u030a", "e\u0301",
    "\u0301", "\u0345", "ᾼ", "ǅ", "ǰ", "ΐ", "K", "가", "\u1100\u1161\u11a8", "\uf900",
    "\U0002f800", "\U0002a700", "\u037e", "\u1fef", "\u0387", "\u2028", "\u2029",
    "\u3000", "\u00a0", "\u200b", "\u200d", "\ufeff", "\x00", "\x85", "\x1c", "\x0b",
    "\ufffd", "\ue000", " ", "  ", "\t", "\n", "\r\n", "-", "'", ".", "…", "“", "😀",
    "👨\u200d👩\u200d👧", "٣", "１２",
]


def main():
    if not transformers.__version__.startswith("4."):
        sys.exit("needs transformers 4.x (the slow BertTokenizer), found " + transformers.__version__)
    rng = random.Random(SEED)
    toks = {
        "tests/ref/vocab_uncased": BertTokenizer(os.path.join(ROOT, "tests/ref/vocab_uncased/vocab.txt"), do_lower_case=True),
        "tests/ref/vocab_cased": BertTokenizer(os.path.join(ROOT, "tests/ref/vocab_cased/vocab.txt"), do_lower_case=False),
    }
    with open(os.path.join(ROOT, "tests/ref/vocab_uncased/vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    assigned = [c for c in range(0x110000)
                if unicodedata.category(chr(c)) != "Cn" and not 0xD800 <= c < 0xE000]

    def text():
        parts = []
        for _ in range(rng.randint(0, 12)):
            r = rng.random()
            if r < 0.3:
                w = rng.choice(vocab)
                parts.append(w if rng.random() < 0.2 else w.replace("##", ""))
            elif r < 0.5:
                parts.append(rng.choice(PIECES))
            elif r < 0.75:
                parts.append("".join(chr(rng.choice(assigned)) for _ in range(rng.randint(1, 4))))
            elif r < 0.85:
                parts.append("".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 5))))
            else:
                parts.append(" ")
            if rng.random() < 0.5:
                parts.append(" ")
        s = "".join(parts)
        return s.upper() if rng.random() < 0.3 else s

    n = 0
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        for _ in range(N_TEXTS):
            a = text()
            b = text() if rng.random() < 0.4 else None
            max_length = rng.choice([3, 4, 5, 8, 16, 64, 512])
            for vocab_dir, tok in toks.items():
                enc = tok(a, b, truncation=True, max_length=max_length)
                if len(enc["input_ids"]) > max_length:
                    continue  # transformers could not truncate; bidora reports an error
                f.write(json.dumps({"vocab_dir": vocab_dir, "text": a, "text_pair": b,
                                    "max_length": max_length, "ids": enc["input_ids"],
                                    "type_ids": enc["token_type_ids"]}, ensure_ascii=True) + "\n")
                n += 1
    print("wrote %d cases to %s" % (n, OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
