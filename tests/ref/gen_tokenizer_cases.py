#!/usr/bin/env python3
"""Generate tests/ref/tokenizer_cases.jsonl with the slow transformers BertTokenizer.

Run from the repository root:  tests/ref/.venv/bin/python tests/ref/gen_tokenizer_cases.py
Every case is emitted for both tests/ref/vocab_uncased (do_lower_case=True)
and tests/ref/vocab_cased (do_lower_case=False).  Needs only `transformers`
(no torch).  Output is deterministic.
"""
import json
import os
import random
import sys

from transformers import BertTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "ref", "tokenizer_cases.jsonl")

SINGLES = [
    # plain ASCII
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I loved this movie; the acting was superb, but the ending felt rushed.",
    "this is terrible",
    "It's not bad... it's just OK.",
    "Don't won't can't shouldn't y'all",
    "UPPER CASE SHOUTING TEXT",
    "MiXeD CaSe WoRdS like iPhone and eBay",
    "a",
    "A",
    "x y z",
    "unbelievably unaffordable antidisestablishmentarianism",
    "tokenization wordpiece subword embeddings",
    "The model's F1-score improved by 3.5% (from 87.2 to 90.7).",
    # accents
    "café",
    "Café au lait",
    "naïve résumé façade",
    "Ångström",
    "Crème brûlée à la française",
    "Zoë and Chloë visited Orléans",
    "e\u0301 decomposed accent (e + combining acute)",
    "cafe\u0301 decomposed",
    "ﬁ ligature and ﬂ ligature",
    "Ⅻ roman numeral, ½ fraction, ² superscript, ① circled",
    "ＦＵＬＬＷＩＤＴＨ ｌａｔｉｎ",
    # German / French / Spanish / others
    "Größenwahn und Straße",
    "Die Bürger müssen über die Änderungen abstimmen.",
    "STRASSE vs. Straße vs. ẞ",
    "Où est la bibliothèque ? Ça va très bien !",
    "L'été dernier, nous sommes allés à Montréal.",
    "¿Dónde está el baño? ¡Qué día más bonito!",
    "El niño comió piñata en mañana.",
    "Português: ação, coração, não.",
    "Polski: zażółć gęślą jaźń",
    "Čeština: příliš žluťoučký kůň úpěl ďábelské ódy",
    "Türkçe: İstanbul ılık ışık",
    "Dansk: Æble, Øl, Ål",
    "Íslenska: þetta er ðað",
    # Greek / Cyrillic / others
    "Ελληνικά: Καλημέρα κόσμε",
    "ΑΒΓΔΕ αβγδε ς σ",
    "Русский: Привет, мир! Ёлка и ёж.",
    "Українська: Ґанок, їжак, є",
    "עברית: שלום עולם",
    "العربية: مرحبا بالعالم",
    "हिन्दी: नमस्ते दुनिया",
    "ไทย: สวัสดีชาวโลก",
    "Tiếng Việt: Xin chào thế giới",
    "ქართული ენა",
    "Հայերեն",
    # CJK
    "中文测试：我爱自然语言处理。",
    "北京欢迎你",
    "日本語のテキストです。ひらがなとカタカナ。",
    "カタカナ only",
    "ひらがなだけ",
    "한국어 텍스트입니다. 안녕하세요!",
    "混合 mixed テキスト 텍스트 text",
    "漢字と kanji123 と ㄅㄆㄇ bopomofo",
    "𠀀𠀁 CJK extension B",
    "〜〝〞「」『』【】",
    # emoji
    "I love it 😀😀😀",
    "👍 great",
    "family 👨‍👩‍👧‍👦 emoji",
    "flag 🇩🇪 🇫🇷 🇯🇵",
    "skin tone 👋🏽 wave",
    "heart ❤️ with variation selector",
    "keycap 1️⃣ #️⃣",
    "🏳️‍🌈 rainbow flag",
    "emoji-only: 🔥🔥🔥",
    "🤖🧠💡",
    # punctuation
    "“Smart quotes” and ‘single ones’",
    "«guillemets» and ‹single›",
    "en–dash, em—dash, minus − sign, hyphen‐",
    "Ellipsis… and more...",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "a.b,c;d:e!f?g",
    "¡¿§¶†‡•·°±×÷",
    "€100 £50 ¥1000 $20 ₹500 ₿1",
    "Price: $1,234.56 — discount 20%!",
    "Math: x² + y² = z²; ∑ ∫ ∞ ≈ ≠ ≤ ≥",
    "Arrows → ← ↑ ↓ ⇒",
    "『quoted』 (parens) [brackets] {braces} <angles>",
    "C++ and C# and F# are languages",
    "hash#tag @mention",
    "re-enter re—enter re_enter",
    "'''triple''' \"\"\"quotes\"\"\"",
    # control chars / invisible
    "null\x00char",
    "bell\x07char",
    "escape\x1b[31mred\x1b[0m",
    "zero\u200bwidth\u200bspace",
    "\ufeffBOM at start",
    "soft\u00adhyphen",
    "non\u00a0breaking\u00a0space",
    "ideographic\u3000space",
    "line\u2028separator\u2029para",
    "zwnj\u200cand\u200dzwj",
    "rtl\u200fmark\u200eltr",
    "replacement\ufffdchar",
    "del\x7fchar",
    "c1\x85nel\x9fcontrol",
    "vt\x0bff\x0cchars",
    "private use \ue000\uf8ff",
    "noncharacter \ufdd0 here",
    # whitespace
    "tab\tseparated\tvalues",
    "new\nline\nseparated",
    "windows\r\nline\r\nendings",
    "  leading and trailing spaces  ",
    "multiple     inner     spaces",
    "\t\n mixed \r\n whitespace \t",
    # long words
    "a" * 101,
    "supercalifragilisticexpialidocious" * 4,
    "x" * 250 + " short",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
    "abc" * 34,
    "é" * 120,
    "word " + "z" * 99 + " word",
    "word " + "q" * 100 + " word",
    # numbers
    "123",
    "1234567890",
    "3.14159265358979",
    "1,000,000",
    "1e-12 and 6.022e23",
    "-42 +17 0x1F 0b1010",
    "2024-01-15 12:34:56",
    "phone: +1 (555) 123-4567",
    "٠١٢٣٤٥٦٧٨٩ arabic digits",
    "１２３ fullwidth digits",
    # URLs / emails / code
    "https://www.example.com/path?query=1&b=2#frag",
    "Visit http://example.org or ftp://files.example.net/pub.",
    "mail me at john.doe+tag@example.co.uk please",
    "user@localhost",
    "C:\\Users\\name\\file.txt",
    "/usr/local/bin/python3",
    "def foo(x): return x**2",
    "int main(void) { return 0; }",
    "<html><body>Hi</body></html>",
    "snake_case camelCase PascalCase kebab-case",
    # special tokens literally
    "[CLS] hello [SEP]",
    "[MASK]",
    "The capital of France is [MASK].",
    "[mask] lowercase special",
    "[UNK] [PAD] tokens",
    "[CLS][SEP][MASK]",
    "text with [unused0] token",
    "[ CLS ] spaced",
    "##ing starts with hashes",
    "# single hash",
    # empty / whitespace-only
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    " \t\n\r ",
    "\u200b",
    "\x00",
    "\u3000",
    # misc
    "I didn't like it at all 😡 — worst purchase ever!!!",
    "Best. Product. Ever.",
    "meh",
    "5/5 would buy again",
    "Not sure how I feel about this one; it's somewhere in between.",
    "The sequel (2019) was better than the original (2015), IMHO.",
    "O'Reilly's books aren't cheap",
    "rock'n'roll",
    "résumé-style CV",
    "e-mail vs email vs E-Mail",
]

PAIRS = [
    ("How old are you?", "I am 25 years old."),
    ("The movie was great.", "I disagree, it was boring."),
    ("café", "naïve"),
    ("中文句子", "日本語の文"),
    ("", ""),
    ("", "only second"),
    ("only first", ""),
    ("[CLS]", "[SEP]"),
    ("tab\there", "new\nline"),
    ("😀", "👨‍👩‍👧‍👦"),
    ("Größe", "Straße"),
    ("short", "a much longer second sentence that has quite a few tokens in it, more than the first one"),
    ("a much longer first sentence that has quite a few tokens in it, more than the second one", "short"),
    ("equal length one two three four", "equal length five six seven eight"),
    ("The quick brown fox jumps over the lazy dog. " * 3, "Pack my box with five dozen liquor jugs. " * 3),
    ("one two three four five six seven eight nine ten", "eleven twelve"),
    ("alpha", "beta gamma delta epsilon zeta eta theta iota kappa lambda mu"),
    ("x" * 120, "y" * 120),
    ("Ελληνικά κείμενο εδώ", "Русский текст здесь"),
    ("https://example.com/a/b/c", "john@example.com"),
    ("Hello, world!", "Hello, world!"),
    ("   ", "\t"),
    ("null\x00char", "zero\u200bwidth"),
    ("Premise: a man is playing a guitar on stage.", "Hypothesis: a person is performing music."),
    ("Question: what is the capital of Germany?", "Context: Berlin is the capital and largest city of Germany by both area and population."),
]

MAX_LENGTHS_SINGLE = [512, 8]
MAX_LENGTHS_PAIR = [8, 16, 32, 128, 512]


def random_strings(n, seed):
    """Deterministic random mixtures of characters from many scripts."""
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n",
        ".,;:!?'\"()-[]{}/@#$%&*",
        "éèêëàâäôöûüçñÉÈÅÆØß",
        "中文字測試日本語",
        "ひらがなカタカナ",
        "한국어텍스트",
        "αβγδεζηθ",
        "абвгдежзий",
        "😀👍🔥❤️",
        "\u200b\u00ad\ufeff\x00\x07",
    ]
    out = []
    for _ in range(n):
        length = rng.randint(1, 60)
        s = []
        for _ in range(length):
            pool = rng.choice(pools)
            s.append(rng.choice(pool))
        out.append("".join(s))
    return out


def long_text(seed, n_words):
    rng = random.Random(seed)
    words = ["the", "model", "learns", "quickly", "when", "data", "is", "clean", "and",
             "unbelievable", "tokenization", "résumé", "中文", "😀", "42", "3.14",
             "e-mail", "don't", "[MASK]", "überraschend"]
    return " ".join(rng.choice(words) for _ in range(n_words))


def build_cases():
    cases = []
    for s in SINGLES:
        for L in MAX_LENGTHS_SINGLE:
            cases.append((s, None, L))
    for s in random_strings(60, 1234):
        cases.append((s, None, 512))
    # long single texts that must be truncated at 512 / 128
    for i, n in enumerate([300, 600]):
        t = long_text(100 + i, n)
        cases.append((t, None, 512))
        cases.append((t, None, 128))
    for a, b in PAIRS:
        for L in MAX_LENGTHS_PAIR:
            cases.append((a, b, L))
    rs = random_strings(30, 99)
    for i in range(0, len(rs) - 1, 2):
        for L in (16, 512):
            cases.append((rs[i], rs[i + 1], L))
    # long pairs: truncation with longest_first at 512
    cases.append((long_text(7, 400), long_text(8, 400), 512))
    cases.append((long_text(9, 50), long_text(10, 600), 512))
    cases.append((long_text(11, 600), long_text(12, 30), 128))
    return cases


def main():
    toks = {
        "tests/ref/vocab_uncased": BertTokenizer(os.path.join(ROOT, "tests/ref/vocab_uncased/vocab.txt"), do_lower_case=True),
        "tests/ref/vocab_cased": BertTokenizer(os.path.join(ROOT, "tests/ref/vocab_cased/vocab.txt"), do_lower_case=False),
    }
    cases = build_cases()
    n = 0
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        for vocab_dir, tok in toks.items():
            for text, pair, L in cases:
                enc = tok(text, pair, truncation=True, max_length=L)
                obj = {
                    "vocab_dir": vocab_dir,
                    "text": text,
                    "text_pair": pair,
                    "max_length": L,
                    "ids": enc["input_ids"],
                    "type_ids": enc["token_type_ids"],
                }
                f.write(json.dumps(obj, ensure_ascii=True) + "\n")
                n += 1
    print("wrote %d cases to %s" % (n, OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
