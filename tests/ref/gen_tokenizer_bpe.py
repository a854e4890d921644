#!/usr/bin/env python3
"""Reference tokenizers and cases for byte-level BPE (RoBERTa), ESM-2 and BERT's tokenizer.json.

Run from the repository root:  tests/ref/.venv/bin/python tests/ref/gen_tokenizer_bpe.py
Needs transformers 4.46.3 and tokenizers 0.20.3 (no torch). Output is deterministic
(nothing depends on PYTHONHASHSEED; the BPE trainer is deterministic for a given corpus).

Writes (see tests/ref/README.md, "BPE, ESM and tokenizer.json"):
  tests/ref/tiny_roberta/          a byte-level BPE trained on CORPUS below, saved as a RoBERTa
                                   tokenizer by transformers (vocab.json, merges.txt, tokenizer.json,
                                   tokenizer_config.json, special_tokens_map.json, added_tokens.json)
                                   + a minimal config.json
  tests/ref/tiny_roberta_prefix/   the same BPE with add_prefix_space=True
  tests/ref/tokenizer_bpe_cases.jsonl  cases with RobertaTokenizer (slow) ids and, where they
                                   differ, RobertaTokenizerFast ids ("ids_fast")
  tests/ref/tiny_esm/              the 33 ESM-2 tokens as EsmTokenizer saves them + config.json
  tests/ref/tokenizer_esm_cases.jsonl  cases with EsmTokenizer ids
  tests/ref/tokenizer_json_bert/   BertTokenizerFast's tokenizer.json for vocab_uncased and
                                   vocab_cased with model.vocab emptied (the C test refills it from
                                   vocab.txt: the generator checks the real vocab is exactly the
                                   vocab.txt lines in order), and fast_diff.jsonl: the lines of
                                   tokenizer_cases.jsonl where BertTokenizerFast's ids differ from
                                   BertTokenizer's, with the fast ids
"""
import json
import os
import random
import shutil
import sys
import tempfile

from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import (BertTokenizerFast, EsmTokenizer, RobertaTokenizer, RobertaTokenizerFast,
                          logging)

logging.set_verbosity_error()  # "Be aware, overflowing tokens are not returned ..." per pair

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(ROOT, "tests", "ref")

# ---- the BPE training corpus (written for this test; no external data) ----
CORPUS_LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "I loved this movie; the acting was superb, but the ending felt rushed.",
    "It's not bad... it's just OK. I'm sure you'll like it, they've said we'd go.",
    "Don't won't can't shouldn't y'all isn't aren't wasn't weren't",
    "The model's F1-score improved by 3.5% (from 87.2 to 90.7) in 2024.",
    "Premise: a man is playing a guitar on stage. Hypothesis: a person is performing music.",
    "Question: what is the capital of Germany? Context: Berlin is the capital of Germany.",
    "Café au lait, naïve résumé, façade, crème brûlée à la française.",
    "Größenwahn und Straße; Die Bürger müssen über die Änderungen abstimmen.",
    "¿Dónde está el baño? ¡Qué día más bonito! El niño comió piñata.",
    "Русский текст: Привет, мир! Ελληνικά: Καλημέρα κόσμε.",
    "中文测试：我爱自然语言处理。日本語のテキストです。한국어 텍스트입니다.",
    "I love it 😀😀 great 👍 fire 🔥 heart ❤️",
    "numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 12345 3.14159 1,000,000",
    "def foo(x): return x**2  # code with    spaces\tand tabs\nand newlines",
    "https://www.example.com/path?query=1&b=2 mail john.doe@example.com",
    "the the the and and of of to to in in is is that that for for it it",
    "training tokenizers tokenization tokenized token tokens retrain trainer",
    "protein sequences residues amino acids fitness stability regression",
]



def write_config(out, cfg):
    """A minimal config.json, unless a model's is there (gen_roberta_ref.py and gen_esm_ref.py put
    the tiny models into the same folders, with these vocabularies): the model's wins."""
    path = os.path.join(out, "config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if "hidden_size" in json.load(f):
                return
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")

def corpus():
    """A few thousand deterministic lines: the lines above, and shuffled word salads of them."""
    rng = random.Random(20240515)
    words = " ".join(CORPUS_LINES).split(" ")
    out = list(CORPUS_LINES) * 20
    for _ in range(1500):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 15))))
    return out


def train_bpe(tmp):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=900, min_frequency=2, show_progress=False,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.model.save(tmp)
    with open(os.path.join(tmp, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    vocab["<mask>"] = len(vocab)  # last, as in roberta-base (50264)
    with open(os.path.join(tmp, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    return os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt")


ADDED = ["<new_tok>", "hello world", "Überstunde"]  # non-special added tokens


def save_roberta(vocab, merges, out, add_prefix_space):
    if os.path.isdir(out):
        shutil.rmtree(out)
    slow = RobertaTokenizer(vocab, merges, add_prefix_space=add_prefix_space)
    slow.add_tokens(ADDED)
    slow.save_pretrained(out)
    fast = RobertaTokenizerFast.from_pretrained(out)  # converted from the slow files
    fast.save_pretrained(out)
    n = len(RobertaTokenizer.from_pretrained(out))
    write_config(out, {"architectures": ["RobertaForSequenceClassification"], "model_type": "roberta",
                   "vocab_size": n, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
                   "type_vocab_size": 1})


# ---- BPE cases ----
POOLS = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
    "     ", "\t\n\r", ".,;:!?'\"()-[]{}/@#$%&*_+=<>|~^`\\",
    "éèêëàâäôöûüçñÉÈÅÆØßıİ", "中文字測試日本語", "ひらがなカタカナ", "한국어텍스트",
    "αβγδεζηθΣς", "абвгдежзийЁ", "😀👍🔥❤️👨‍👩‍👧🇩🇪🏽", "\u200b\u00ad\ufeff\x01\x07\x1c\x85\u00a0\u3000\u2028",
    "٠١٢٣४५६½²Ⅻ①", "'s't're've'm'll'd", "’‘“”«»–—…",
]
WORDS = ["the", "model", "learns", "quickly", "when", "data", "is", "clean", "and", "it's", "I'm",
         "they'll", "we've", "you're", "he'd", "DON'T", "Café", "naïve", "中文", "😀", "42", "3.14",
         "e-mail", "<mask>", "<s>", "</s>", "hello world", "<new_tok>", "Überstunde", "tokenization",
         "  ", "\t", "\n"]

SINGLES = [
    "", " ", "  ", "   ", "\t", "\n", "\r\n", " \t\n ", "a", "A", " a", "a ", "  a", "a  ", " a ",
    "Hello, world!", "Hello world", "hello world", "Hello  world", "hello world!", "hello worlds",
    "The quick brown fox jumps over the lazy dog.",
    "I'm", "you're", "we've", "they'll", "he'd", "it's", "don't", "can't", "isn't",
    "I'M", "YOU'RE", "WE'VE", "THEY'LL", "HE'D", "IT'S", "DON'T", "She'S", "We'Re", "they'Ll",
    "''s", "'s'", "x'sy", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'x", "' s", "'", "''",
    "rock'n'roll", "O'Reilly's", "it’s curly", "'sss 'lll 'dd", "'S", "a's b't c're",
    "abc123def", "12,345.67", "1e-12 and 6.022e23", "-42 +17 0x1F", "2024-01-15 12:34:56",
    "٠١٢٣ arabic digits", "३४५ devanagari", "½ ² Ⅻ ①", "１２３ fullwidth", "a1b2c3",
    "a  b", "a   b", "a    b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a \nb", "a\n b", "a \n b",
    " \n ", "\u00a0a", "a\u00a0b", "a\u3000b", "a \u00a0b", "a\u2028b", "a\x85b", "a\x1cb", "a \x1c b",
    "trailing   ", "   leading", "\t\ttabs", "mixed \t \n whitespace", "a" + " " * 10 + "b",
    "😀", "😀😀😀", " 😀", "I love it 😀", "👨‍👩‍👧‍👦 family", "🇩🇪🇫🇷", "👋🏽", "❤️", "1️⃣",
    "e\u0301", "cafe\u0301", "Café", "naïve résumé", "Größe", "ıİ", "ΣΑΣ σας",
    "中文", "日本語テキスト", "한국어", "混合 mixed テキスト 텍스트", "𠀀𠀁 ext B", "〜「」『』",
    "null\x01char", "bell\x07char", "zero\u200bwidth", "\ufeffBOM", "soft\u00adhyphen",
    "private \ue000", "noncharacter \ufdd0", "replacement \ufffd",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~", "a.b,c;d:e!f?g", " .", " ..", "a ...b", "... ...",
    "https://www.example.com/path?query=1&b=2#frag", "john.doe+tag@example.co.uk",
    "def foo(x): return x**2", "    indented code", "snake_case camelCase",
    "a" * 300, "hello" * 60, "x" * 400 + " y", "tokenization" * 20, "é" * 200, "中" * 150,
    "<mask>", " <mask>", "<mask> ", " <mask> ", "a <mask> b", "a<mask>b", "a  <mask>  b",
    "\t<mask>", "a\t<mask>\tb", "a\n<mask>", "<mask><mask>", "<mask> <mask>", "<MASK>", "<mask",
    "The capital of France is <mask>.", "<s>", "</s>", "<pad>", "<unk>", "<s>hello</s>",
    " <s> ", "a <s> b", "a</s>b", "<s><s>", "</s></s>", "<s> <mask> </s>", "< s >",
    "<new_tok>", "a<new_tok>b", "a <new_tok> b", "hello world", "hello worldly", "say hello world!",
    "Überstunde", "überstunde", " Überstunden", "<new_tok><mask>", "hello  world",
    "\u00a0<mask>", "a\u3000<mask>", "a\u2028<mask>", "a\x1c<mask>", "a\x85<mask>",
]

PAIRS = [
    ("How old are you?", "I am 25 years old."),
    ("The movie was great.", "I disagree, it was boring."),
    ("", ""), ("", "only second"), ("only first", ""), (" ", " "),
    ("<s>", "</s>"), ("<mask>", "<mask>"), ("a <mask>", " b"), ("tab\there", "new\nline"),
    ("😀", "👨‍👩‍👧‍👦"), ("Größe", "Straße"), ("中文句子", "日本語の文"),
    ("short", "a much longer second sentence that has quite a few tokens in it"),
    ("a much longer first sentence that has quite a few tokens in it", "short"),
    ("equal length one two three", "equal length four five six"),
    ("it's", "I'M"), ("hello world", "<new_tok>"), ("x" * 100, "y" * 100),
]

MAX_SMALL = list(range(4, 21))
# No U+0000 anywhere: the C API takes NUL-terminated text, and byte-level BPE
# (unlike WordPiece, which drops it) would give U+0000 its own token.


def rand_text(rng, lo, hi):
    n = rng.randint(lo, hi)
    if rng.random() < 0.5:
        return "".join(rng.choice(rng.choice(POOLS)) for _ in range(n))
    return "".join(rng.choice(WORDS) + rng.choice(["", " ", " ", " ", "  ", "\t", "\n"])
                   for _ in range(max(1, n // 4)))


def bpe_cases():
    rng = random.Random(777)
    cases = []
    singles = SINGLES + [rand_text(rng, 1, 40) for _ in range(420)]
    for s in singles:
        cases.append((s, None, 512))
        cases.append((s, None, rng.choice([3] + MAX_SMALL)))
    pairs = PAIRS + [(rand_text(rng, 0, 30), rand_text(rng, 0, 30)) for _ in range(210)]
    for a, b in pairs:
        cases.append((a, b, 512))
        for L in rng.sample(MAX_SMALL, 2):
            cases.append((a, b, L))
    return cases


def bpe_prefix_cases(cases):
    """The add_prefix_space directory gets every third case (the setting changes little)."""
    return cases[::3]


def encode_pair(slow, fast, text, pair, L):
    es = slow(text, pair, truncation=True, max_length=L)
    ef = fast(text, pair, truncation=True, max_length=L)
    return es["input_ids"], ef["input_ids"]


def write_bpe_cases(path, dirs):
    n = n_diff = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for d, cases in dirs:
            full = os.path.join(ROOT, d)
            slow = RobertaTokenizer.from_pretrained(full)
            fast = RobertaTokenizerFast.from_pretrained(full)
            # The template variant the C test derives from tokenizer.json (TemplateProcessing
            # instead of RobertaProcessing) must give the same ids.
            tmpl = Tokenizer.from_file(os.path.join(full, "tokenizer.json"))
            tmpl.post_processor = processors.TemplateProcessing(
                single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                special_tokens=[("<s>", slow.cls_token_id), ("</s>", slow.sep_token_id)])
            for text, pair, L in cases:
                ids, ids_fast = encode_pair(slow, fast, text, pair, L)
                tmpl.enable_truncation(L)
                et = tmpl.encode(text, pair) if pair else tmpl.encode(text)
                assert et.ids == ids_fast, (text, pair, L, et.ids, ids_fast)
                obj = {"text": text, "text_pair": pair, "max_length": L, "ids": ids}
                if d.endswith("_prefix"):
                    obj["prefix"] = True
                if ids_fast != ids:
                    obj["ids_fast"] = ids_fast
                    n_diff += 1
                f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
                n += 1
    print("wrote %d cases to %s (%d where fast differs)" % (n, path, n_diff), file=sys.stderr)


# ---- ESM ----
ESM_TOKENS = ["<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D",
              "P", "K", "Q", "N", "F", "Y", "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-",
              "<null_1>", "<mask>"]
RESIDUES = "LAGVSERTIDPKQNFYMHWC"


def save_esm(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    vocab = os.path.join(out, "vocab.txt")
    with open(vocab, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(ESM_TOKENS) + "\n")
    tok = EsmTokenizer(vocab)
    tok.save_pretrained(out)
    write_config(out, {"architectures": ["EsmForSequenceClassification"], "model_type": "esm",
                   "vocab_size": len(ESM_TOKENS), "pad_token_id": 1, "mask_token_id": 32,
                   "token_dropout": True, "position_embedding_type": "rotary"})


ESM_SPECIAL = ["<cls>", "<pad>", "<eos>", "<unk>", "<mask>", "<null_1>"]


def esm_seq(rng):
    kind = rng.random()
    n = rng.randint(0, 40)
    if kind < 0.45:
        return "".join(rng.choice(RESIDUES) for _ in range(n))
    if kind < 0.6:  # with the rarer tokens X B U Z O . -
        return "".join(rng.choice(RESIDUES + "XBUZO.-") for _ in range(n))
    if kind < 0.7:  # lowercase (unknown to the vocabulary), alone or mixed
        return "".join(rng.choice(RESIDUES.lower() + RESIDUES) for _ in range(n))
    if kind < 0.8:  # unknown letters, digits, punctuation
        return "".join(rng.choice(RESIDUES + "JJ01*#?") for _ in range(n))
    if kind < 0.9:  # special tokens (and broken ones) inside
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.4:
                parts.append(rng.choice(ESM_SPECIAL))
            elif r < 0.5:
                parts.append(rng.choice(["<mas", "<cls", "mask>", "<>", "<MASK>", "<null_2>"]))
            else:
                parts.append("".join(rng.choice(RESIDUES) for _ in range(rng.randint(1, 8))))
        return "".join(parts)
    # whitespace inside
    return "".join(rng.choice(RESIDUES + "  \t\n") for _ in range(n))


ESM_FIXED = ["", "M", "MKTAYIAKQR", "mktayiakqr", "MKTa", "J", "JJ", "J J", "MJJK", "M K T",
             " MKT ", "<mask>", "M<mask>K", "M <mask> K", "<cls>MK<eos>", "<unk>", "<null_1>",
             "<pad><pad>", "<mask", "MK<ma sk>", "XBUZO.-", "M\tK\nT", "Ä", "MÄK", "🙂MK"]


def esm_cases():
    rng = random.Random(31337)
    cases = []
    seqs = ESM_FIXED + [esm_seq(rng) for _ in range(820)]
    for s in seqs:
        cases.append((s, None, 1024))
        cases.append((s, None, rng.randint(3, 30)))
    for _ in range(170):
        a, b = esm_seq(rng), esm_seq(rng)
        cases.append((a, b, 1024))
        cases.append((a, b, rng.randint(3, 40)))
    return cases


def write_esm_cases(path, d):
    tok = EsmTokenizer.from_pretrained(os.path.join(ROOT, d))
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for text, pair, L in esm_cases():
            ids = tok(text, pair, truncation=True, max_length=L)["input_ids"]
            f.write(json.dumps({"text": text, "text_pair": pair, "max_length": L, "ids": ids},
                               ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    print("wrote %d cases to %s" % (n, path), file=sys.stderr)


# ---- BERT tokenizer.json ----
def write_bert_json(outdir):
    os.makedirs(outdir, exist_ok=True)
    toks = {}
    for name, lower in (("uncased", True), ("cased", False)):
        vocab_txt = os.path.join(REF, "vocab_" + name, "vocab.txt")
        fast = BertTokenizerFast(vocab_file=vocab_txt, do_lower_case=lower)
        with tempfile.TemporaryDirectory() as tmp:
            fast.save_pretrained(tmp)
            with open(os.path.join(tmp, "tokenizer.json"), encoding="utf-8") as f:
                tj = json.load(f)
        with open(vocab_txt, encoding="utf-8") as f:
            lines = f.read().split("\n")[:-1]
        assert tj["model"]["vocab"] == {t: i for i, t in enumerate(lines)}, name
        tj["model"]["vocab"] = {}
        with open(os.path.join(outdir, name + ".json"), "w", encoding="utf-8", newline="\n") as f:
            json.dump(tj, f, indent=2, ensure_ascii=False)
            f.write("\n")
        toks["tests/ref/vocab_" + name] = fast
    n = n_diff = 0
    with open(os.path.join(REF, "tokenizer_cases.jsonl"), encoding="ascii") as src, \
         open(os.path.join(outdir, "fast_diff.jsonl"), "w", encoding="ascii", newline="\n") as f:
        for lineno, line in enumerate(src, 1):
            c = json.loads(line)
            e = toks[c["vocab_dir"]](c["text"], c["text_pair"], truncation=True,
                                     max_length=c["max_length"])
            n += 1
            if e["input_ids"] != c["ids"] or e["token_type_ids"] != c["type_ids"]:
                n_diff += 1
                f.write(json.dumps({"line": lineno, "ids": e["input_ids"],
                                    "type_ids": e["token_type_ids"]}) + "\n")
    print("BertTokenizerFast differs from BertTokenizer on %d of %d cases" % (n_diff, n), file=sys.stderr)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = train_bpe(tmp)
        save_roberta(vocab, merges, os.path.join(REF, "tiny_roberta"), False)
        save_roberta(vocab, merges, os.path.join(REF, "tiny_roberta_prefix"), True)
    cases = bpe_cases()
    write_bpe_cases(os.path.join(REF, "tokenizer_bpe_cases.jsonl"),
                    [("tests/ref/tiny_roberta", cases),
                     ("tests/ref/tiny_roberta_prefix", bpe_prefix_cases(cases))])
    save_esm(os.path.join(REF, "tiny_esm"))
    write_esm_cases(os.path.join(REF, "tokenizer_esm_cases.jsonl"), "tests/ref/tiny_esm")
    write_bert_json(os.path.join(REF, "tokenizer_json_bert"))


if __name__ == "__main__":
    main()
