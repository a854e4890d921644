#!/usr/bin/env python3
"""Reference sentencepiece Unigram tokenizers (XLM-RoBERTa, CamemBERT) and their cases.

Run from the repository root:  tests/ref/.venv/bin/python tests/ref/gen_tokenizer_unigram.py
Needs transformers 4.46.3, tokenizers 0.20.3, sentencepiece and protobuf (tests/ref/requirements.txt),
torch for the tiny model. Deterministic: sentencepiece trains with one thread on the generated
corpus below, every other number comes from seeded generators.

Writes (see tests/ref/README.md, "Unigram (sentencepiece)"):
  tests/ref/tiny_xlmr/        a sentencepiece Unigram model (vocab 800, nmt_nfkc normalization, so
                              tokenizer.json's Precompiled charsmap is a real one) made into
                              XLMRobertaTokenizerFast by transformers' converter: tokenizer.json,
                              tokenizer_config.json, special_tokens_map.json (the .model file is not
                              kept: bidora reads tokenizer.json), config.json and model.safetensors of
                              a tiny random XLMRobertaForSequenceClassification (3 labels)
  tests/ref/tiny_camembert/   the same sentencepiece model as CamembertTokenizerFast (its five
                              fixed ids and <s>/</s> at 5/6) with a minimal config.json
  tests/ref/tokenizer_unigram_cases.jsonl  cases: "ids" from the fast tokenizer (tokenizer.json), and
                              "ids_slow" where XLMRobertaTokenizer / CamembertTokenizer (sentencepiece
                              itself) differ; "dir" names the directory; "variants": {name: ids} for
                              the tokenizer.json variants of VARIANTS (every fourth XLM-R case)
  tests/ref/tiny_xlmr/variants.json  those variants: the pre_tokenizer / normalizer each puts into
                              tokenizer.json ("precompiled_charsmap": "" stands for the file's own)
  tests/ref/tiny_xlmr_batch.json  texts, their ids and transformers' eval logits of the padded batch
"""
import copy
import io
import json
import os
import random
import shutil
import sys
import tempfile

import numpy as np
import sentencepiece as spm
import torch
from tokenizers import Tokenizer
from transformers import (CamembertTokenizer, CamembertTokenizerFast, XLMRobertaConfig,
                          XLMRobertaForSequenceClassification, XLMRobertaTokenizer,
                          XLMRobertaTokenizerFast, logging)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_ref import randomise  # noqa: E402
from gen_roberta_ref import logits_of  # noqa: E402

logging.set_verbosity_error()

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261215

# ---- the training corpus (written for this test; no external data) ----
LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "I loved this movie; the acting was superb, but the ending felt rushed.",
    "It's not bad... it's just OK. I'm sure you'll like it.",
    "Premise: a man is playing a guitar on stage. Hypothesis: a person is performing music.",
    "Café au lait, naïve résumé, façade, crème brûlée à la française.",
    "Le chat est sur la table. Nous avons mangé des crêpes à Paris cet été.",
    "Größenwahn und Straße; die Bürger müssen über die Änderungen abstimmen.",
    "¿Dónde está el baño? ¡Qué día más bonito! El niño comió piñata.",
    "Русский текст: Привет, мир! Ελληνικά: Καλημέρα κόσμε.",
    "中文测试：我爱自然语言处理。日本語のテキストです。한국어 텍스트입니다.",
    "I love it 😀😀 great 👍 fire 🔥",
    "numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 12345 3.14159 1,000,000",
    "https://www.example.com/path?query=1&b=2 mail john.doe@example.com",
    "the the the and and of of to to in in is is that that for for it it",
    "training tokenizers tokenization tokenized token tokens retrain trainer",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ ① ™ ﬁ ligature ½",
]


SYLLABLES = ["ka", "to", "ri", "mu", "ne", "sa", "lo", "pi", "dé", "vè", "çu", "ñi", "gö", "bä", "ßa",
             "tion", "ment", "ing", "er", "est", "que", "ich", "sch", "str", "pr", "ая", "ов", "ски", "ть",
             "ηs", "αι", "ου", "中", "文", "语", "言", "日", "本", "の", "テ", "キ", "한", "국", "7", "42"]


def corpus():
    """The lines above, word salads of them and pseudo-words of SYLLABLES (enough distinct
    substrings for an 800-piece vocabulary)."""
    rng = random.Random(SEED)
    words = " ".join(LINES).split(" ")
    out = list(LINES) * 30
    for _ in range(3000):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 15))))
    for _ in range(4000):
        out.append(" ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
                            for _ in range(rng.randint(2, 10))))
    return out


def train_spm(path):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=buf, model_type="unigram", vocab_size=800,
        normalization_rule_name="nmt_nfkc", character_coverage=0.9995, byte_fallback=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2,
        hard_vocab_limit=True, shuffle_input_sentence=False, seed_sentencepiece_size=100000)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def save_pair(slow_cls, fast_cls, model_file, out, cfg):
    if os.path.isdir(out):
        shutil.rmtree(out)
    slow = slow_cls(model_file)
    slow.save_pretrained(out)
    fast = fast_cls.from_pretrained(out, from_slow=True)  # converted from the .model
    fast.save_pretrained(out)
    cfg_path = os.path.join(out, "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        tcfg = json.load(f)
    tcfg.pop("from_slow", None)  # (with it, from_pretrained wants the .model file back)
    with open(cfg_path, "w", encoding="utf-8") as f:
        json.dump(tcfg, f, ensure_ascii=False, indent=2)
        f.write("\n")
    for name in os.listdir(out):  # bidora reads tokenizer.json: no sentencepiece file kept
        if name.endswith(".model"):
            os.unlink(os.path.join(out, name))
    cfg = dict(cfg, vocab_size=len(fast))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    return slow, fast_cls.from_pretrained(out)


# ---- tokenizer.json variants (what older converters and other settings write) ----
PRECOMPILED = {"type": "Precompiled", "precompiled_charsmap": ""}  # "": the file's own charsmap
VARIANTS = {
    # transformers < 4.3x: WhitespaceSplit + Metaspace with add_prefix_space, Precompiled alone
    "legacy": {"normalizer": PRECOMPILED,
               "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                   {"type": "WhitespaceSplit"},
                   {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}]}},
    # Precompiled + Replace(" {2,}" -> " ") (the brief's xlm-roberta-base), Metaspace always
    "replace_space": {"normalizer": {"type": "Sequence", "normalizers": [
        PRECOMPILED, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}},
    "first": {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                                "split": True}},
    "never": {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never",
                                "split": True}},
    "nosplit": {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                                  "split": False}},
    # no normalizer at all, a string Replace, Strip both sides
    "plain": {"normalizer": None},
    "strip_replace": {"normalizer": {"type": "Sequence", "normalizers": [
        PRECOMPILED, {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "Replace", "pattern": {"String": "''"}, "content": "\""}]}},
}


def apply_variant(tj, v):
    """tokenizer.json (a dict) with variant v's components, the charsmap filled in."""
    charsmap = tj["normalizer"]["normalizers"][0]["precompiled_charsmap"]
    out = copy.deepcopy(tj)

    def fill(n):
        if isinstance(n, dict):
            if n.get("type") == "Precompiled":
                n = dict(n, precompiled_charsmap=charsmap)
            return {k: fill(x) for k, x in n.items()}
        if isinstance(n, list):
            return [fill(x) for x in n]
        return n
    for key, comp in v.items():
        out[key] = fill(copy.deepcopy(comp))
    return out


# ---- cases ----
POOLS = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "     ", "\t\n\r",
    ".,;:!?'\"()-[]{}/@#$%&*_+=<>|~^`\\", "éèêëàâäôöûüçñÉÈÅÆØßıİœ", "中文字測試日本語处理",
    "ひらがなカタカナ", "한국어텍스트", "αβγδεζηθΣς", "абвгдежзийЁ", "😀👍🔥❤️👨‍👩‍👧🇩🇪🏽",
    "\u200b\u00ad\ufeff\x01\x07\x1c\x85\u00a0\u3000\u2028", "٠١٢٣४५६½²Ⅻ①", "ｆｕｌｌＡＢＣ１２３ｶﾀｶﾅ",
    "ﬁﬂ™℃№㎏㍿", "’‘“”«»–—…", "ไทยภาษา", "\u0301\u0308\u0327", "▁▁_",
]
WORDS = ["the", "model", "learns", "quickly", "when", "data", "is", "clean", "and", "it's", "Café",
         "naïve", "crêpes", "Straße", "中文", "日本語", "😀", "42", "3.14", "e-mail", "<mask>", "<s>",
         "</s>", "<pad>", "<unk>", "tokenization", "ｆｕｌｌ", "ﬁ", "①", "  ", "\t", "\n", "▁", "e\u0301",
         "Ａ\u0301", "ไทย", "Привет"]

SINGLES = [
    "", " ", "  ", "   ", "\t", "\n", " \t\n ", "a", "A", " a", "a ", "  a", "a  ", " a ",
    "Hello, world!", "Hello world", "hello  world", "Hello   world", "The quick brown fox jumps over the lazy dog.",
    "I'm", "it's", "don't", "Le chat est sur la table.", "Größe", "Straße", "crème brûlée",
    "12,345.67", "1e-12 and 6.022e23", "-42 +17 0x1F", "2024-01-15 12:34:56", "١٢٣ arabic digits",
    "½ ² Ⅻ ①", "１２３ fullwidth", "ＡＢＣ", "ｶﾀｶﾅ", "ﬁle ﬂow", "™ ℃ № ㎏ ㍿", "a1b2c3",
    "a\tb", "a\nb", "a\n\nb", "a \nb", "a\u00a0b", "a\u3000b", "a\u2028b", "a\x85b", "a\x1cb",
    "trailing   ", "   leading", "\t\ttabs", "mixed \t \n whitespace", "a" + " " * 10 + "b",
    "😀", "😀😀😀", " 😀", "I love it 😀", "👨‍👩‍👧‍👦 family", "🇩🇪🇫🇷", "👋🏽", "❤️", "1️⃣",
    "e\u0301", "cafe\u0301", "Ａ\u0301", "ｶ\u3099", "a\u0301\u0301", "\u0301", "\u0301a", "n\u0303o",
    "Café", "naïve résumé", "ıİ", "ΣΑΣ σας", "中文", "日本語テキスト", "한국어", "混合 mixed テキスト",
    "𠀀𠀁 ext B", "ไทยภาษา", "ภาษาไทย ok", "unknown ไ", "zero\u200bwidth", "\ufeffBOM",
    "soft\u00adhyphen", "private \ue000", "noncharacter \ufdd0", "replacement \ufffd",
    "bell\x07char", "ctrl\x01x", "!@#$%^&*()_+-=[]{}|;':\",./<>?`~", "a.b,c;d:e!f?g",
    "https://www.example.com/path?query=1&b=2#frag", "john.doe+tag@example.co.uk",
    "▁", "▁a", "a▁b", "▁▁a", "a▁▁b", "_a_", "\u2581 \u2581", "''quoted''", "``tex''",
    "a" * 300, "hello" * 60, "x" * 400 + " y", "tokenization" * 20, "é" * 200, "中" * 150,
    "<mask>", " <mask>", "<mask> ", " <mask> ", "a <mask> b", "a<mask>b", "a  <mask>  b",
    "\t<mask>", "<mask><mask>", "<mask> <mask>", "<MASK>", "<mask", "The capital of France is <mask>.",
    "<s>", "</s>", "<pad>", "<unk>", "<s>hello</s>", " <s> ", "a <s> b", "a</s>b", "<s><s>",
    "<s> <mask> </s>", "< s >", "<unk>NOTUSED", "<s>NOTUSED", "hello<unk>world", "ไ<unk>ไ",
]
PAIRS = [
    ("How old are you?", "I am 25 years old."), ("Le film était génial.", "Je ne suis pas d'accord."),
    ("", ""), ("", "only second"), ("only first", ""), (" ", " "), ("<s>", "</s>"),
    ("<mask>", "<mask>"), ("a <mask>", " b"), ("tab\there", "new\nline"), ("😀", "👨‍👩‍👧‍👦"),
    ("Größe", "Straße"), ("中文句子", "日本語の文"), ("ＡＢＣ", "１２３"),
    ("short", "a much longer second sentence that has quite a few tokens in it"),
    ("a much longer first sentence that has quite a few tokens in it", "short"),
    ("equal length one two three", "equal length four five six"), ("x" * 100, "y" * 100),
]
MAX_SMALL = list(range(4, 21))


def rand_text(rng, lo, hi):
    n = rng.randint(lo, hi)
    if rng.random() < 0.5:
        return "".join(rng.choice(rng.choice(POOLS)) for _ in range(n))
    return "".join(rng.choice(WORDS) + rng.choice(["", " ", " ", " ", "  ", "\t", "\n"])
                   for _ in range(max(1, n // 4)))


def make_cases():
    rng = random.Random(SEED + 1)
    cases = []
    for s in SINGLES + [rand_text(rng, 1, 40) for _ in range(560)]:
        cases.append((s, None, 512))
        cases.append((s, None, rng.choice([3] + MAX_SMALL)))
    for a, b in PAIRS + [(rand_text(rng, 0, 30), rand_text(rng, 0, 30)) for _ in range(260)]:
        cases.append((a, b, 512))
        for L in rng.sample(MAX_SMALL, 2):
            cases.append((a, b, L))
    return cases


def ids_of(tok, text, pair, L):
    return tok(text, pair, truncation=True, max_length=L)["input_ids"]


def lib_ids(tok, text, pair, L):
    tok.enable_truncation(L)
    return (tok.encode(text, pair) if pair else tok.encode(text)).ids


def write_cases(path, dirs, variants_of):
    n = n_diff = n_var = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for d, slow, fast, cases in dirs:
            lib = Tokenizer.from_file(os.path.join(HERE, d, "tokenizer.json"))
            var = variants_of(d)
            for i, (text, pair, L) in enumerate(cases):
                ids, ids_slow = ids_of(fast, text, pair, L), ids_of(slow, text, pair, L)
                # transformers' fast class is the library with the file's settings (an empty
                # text_pair is no pair in both)
                assert lib_ids(lib, text, pair, L) == ids, (d, text, pair, L)
                obj = {"dir": d, "text": text, "text_pair": pair, "max_length": L, "ids": ids}
                if ids_slow != ids:
                    obj["ids_slow"] = ids_slow
                    n_diff += 1
                if var and i % 4 == 0:
                    obj["variants"] = {name: lib_ids(t, text, pair, L) for name, t in var.items()}
                    n_var += 1
                f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
                n += 1
    print("wrote %d cases to %s (%d where the slow tokenizer differs, %d with %d variants)"
          % (n, path, n_diff, n_var, len(VARIANTS)), file=sys.stderr)


# ---- the tiny model ----
MODEL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=66, type_vocab_size=1, layer_norm_eps=1e-5, hidden_act="gelu",
             hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=1, bos_token_id=0,
             eos_token_id=2, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"},
             label2id={"negative": 0, "neutral": 1, "positive": 2})
BATCH_TEXTS = [
    ("The quick brown fox jumps over the lazy dog.", None), ("Le chat est sur la table.", None),
    ("Größe und Straße", "ＡＢＣ １２３"), ("中文测试", None), ("I love it 😀", "ไทย <mask>"), ("", None),
    ("It's not bad... it's just OK.", "Premise: a man is playing a guitar."), ("a", None),
]


def write_model(d, fast):
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
        vocab = json.load(f)["vocab_size"]
    model = XLMRobertaForSequenceClassification(XLMRobertaConfig(vocab_size=vocab, **MODEL))
    randomise(model, rng)
    model.save_pretrained(d, safe_serialization=True)
    rows = [ids_of(fast, a, b, 64) for a, b in BATCH_TEXTS]
    lg = logits_of(model, rows, pad=fast.pad_token_id)
    out = {"pad": fast.pad_token_id, "texts": [[a, b] for a, b in BATCH_TEXTS], "rows": rows,
           "logits": [[float("%.9g" % v) for v in r] for r in lg.tolist()]}
    with open(os.path.join(HERE, "tiny_xlmr_batch.json"), "w", newline="\n") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("tiny_xlmr: vocab %d, %d rows, logits[0] %s" % (vocab, len(rows), out["logits"][0]), file=sys.stderr)


def main():
    tmp = tempfile.mkdtemp()
    try:
        model_file = os.path.join(tmp, "sentencepiece.bpe.model")
        train_spm(model_file)
        xl = os.path.join(HERE, "tiny_xlmr")
        slow, fast = save_pair(XLMRobertaTokenizer, XLMRobertaTokenizerFast, model_file, xl,
                               {"architectures": ["XLMRobertaForSequenceClassification"],
                                "model_type": "xlm-roberta"})
        cm = os.path.join(HERE, "tiny_camembert")
        cslow, cfast = save_pair(CamembertTokenizer, CamembertTokenizerFast, model_file, cm,
                                 {"architectures": ["CamembertForSequenceClassification"],
                                  "model_type": "camembert", "pad_token_id": 1, "bos_token_id": 5,
                                  "eos_token_id": 6, "type_vocab_size": 1})
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(xl, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    with open(os.path.join(xl, "variants.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(VARIANTS, f, ensure_ascii=False, indent=1)
        f.write("\n")
    var = {name: Tokenizer.from_str(json.dumps(apply_variant(tj, v))) for name, v in VARIANTS.items()}
    cases = make_cases()
    write_cases(os.path.join(HERE, "tokenizer_unigram_cases.jsonl"),
                [("tiny_xlmr", slow, fast, cases), ("tiny_camembert", cslow, cfast, cases[::3])],
                lambda d: var if d == "tiny_xlmr" else None)
    write_model(xl, fast)


if __name__ == "__main__":
    main()
