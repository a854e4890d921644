#!/usr/bin/env python3
"""Generate the tiny-BERT reference files under tests/ref/ (see tests/ref/README.md).

Run from anywhere:  tests/ref/.venv/bin/python tests/ref/gen_ref.py [--skip-tokenizer]

Everything is built locally and deterministically (numpy RandomState, whose stream
is frozen across numpy versions); nothing is downloaded.  Outputs (the vocab is
tiny_bert*/vocab.txt):
  tiny_bert/ tiny_bert_f16/ tiny_bert_bf16/ tiny_bert_sharded/ tiny_bert_nohead/ tiny_bert_gamma/
  tiny_logits.csv tiny_logits_pair.csv tiny_logits_f16.csv tiny_logits_bf16.csv
  tiny_tokens.jsonl tiny_hidden.txt
and, unless --skip-tokenizer, tokenizer_cases.jsonl (via gen_tokenizer_cases.py).
"""
import argparse
import collections
import csv
import json
import os
import shutil
import string
import sys
import unicodedata

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CSV_PATH = os.path.join(HERE, "tiny.csv")
MAX_LENGTH = 64
BATCH = 8
SEED = 20240611
LABELS = ["negative", "neutral", "positive"]

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Letters that get NO "##x" continuation piece: a word that needs one of them after its
# first character (and is not itself in the vocab) becomes [UNK].
NO_CONTINUATION = set("jqxz")
SUFFIXES = ["##s", "##ed", "##ing", "##ly", "##er", "##est", "##ful", "##able", "##ness", "##tion"]
# Words kept out of the vocab on purpose (they split into ## pieces or become [UNK]).
HELD_OUT = {
    "quixotic", "jazz", "zephyrs", "vexed", "jukebox", "quizzically",  # -> [UNK]
    "unbelievably", "predictable", "cinematography", "unnecessary", "disappointing",
    "recommended", "engineering", "precision", "soundtrack", "thoughtful", "memorable",
    "wonderful", "fantastic", "requested", "everything", "exciting", "together",
    "damaged", "delivery", "returned", "charming", "brilliant", "expected", "dragged",
}

TINY_CONFIG = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    initializer_range=0.02,
    pad_token_id=0,
    num_labels=3,
    id2label={0: "negative", 1: "neutral", 2: "positive"},
    label2id={"negative": 0, "neutral": 1, "positive": 2},
)

TOKENIZER_CONFIG = {
    "do_lower_case": True,
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "tokenize_chinese_chars": True,
    "strip_accents": None,
    "tokenizer_class": "BertTokenizer",
    "model_max_length": 64,
}


def read_csv(path=CSV_PATH):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fmt(x):
    return "%.9g" % float(x)


def build_vocab(rows):
    from transformers.models.bert.tokenization_bert import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=True)
    counts = collections.Counter()
    for r in rows:
        for col in ("text", "text_b"):
            counts.update(basic.tokenize(r[col]))
    vocab = list(SPECIALS)
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for c in string.ascii_lowercase + string.digits + string.punctuation:
        add(c)
    for c in string.ascii_lowercase:
        if c not in NO_CONTINUATION:
            add("##" + c)
    for c in string.digits:
        add("##" + c)
    for s in SUFFIXES:
        add(s)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    for w in words:
        if w in HELD_OUT or len(w) == 1:
            continue
        if not all(c in string.ascii_lowercase + string.digits for c in w):
            continue
        add(w)
    # some extra general words so the vocab is not only the CSV
    for w in ("the a an and or but not no yes good bad great fine okay very really movie film "
              "product service quality price time day week year love hate like dislike "
              "happy sad angry neutral positive negative review star stars would could should "
              "cheap expensive fast slow new old big small long short best worst better worse "
              "enjoy enjoyed recommend buy bought order ordered again never always sometimes "
              "actor actors story music scene scenes ending plot hotel room food staff "
              "delivery shipping package arrived return refund broken works working").split():
        add(w)
    return vocab


def write_tokenizer_files(d, vocab_src):
    shutil.copyfile(vocab_src, os.path.join(d, "vocab.txt"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
        json.dump({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]"}, f, indent=2)
        f.write("\n")


def randomise(model, rng):
    """All parameters from a seeded numpy RandomState (not the default init)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = tuple(p.shape)
            if "LayerNorm.weight" in name:
                v = 1.0 + 0.1 * rng.standard_normal(shape)
            elif name.endswith(".bias") or "LayerNorm.bias" in name:
                v = 0.1 * rng.standard_normal(shape)
            else:
                v = 0.2 * rng.standard_normal(shape)
            p.copy_(torch.from_numpy(v.astype(np.float32)))


def encode_rows(tok, rows, pair):
    out = []
    for r in rows:
        if pair:
            enc = tok(r["text"], r["text_b"], truncation=True, max_length=MAX_LENGTH)
        else:
            enc = tok(r["text"], truncation=True, max_length=MAX_LENGTH)
        out.append((enc["input_ids"], enc["token_type_ids"]))
    return out


def batch_logits(model, encs):
    """Batches of BATCH rows, right-padded with [PAD] (id 0) to the longest row, with mask."""
    logits = []
    for s in range(0, len(encs), BATCH):
        chunk = encs[s:s + BATCH]
        L = max(len(ids) for ids, _ in chunk)
        ids = torch.zeros((len(chunk), L), dtype=torch.long)
        tt = torch.zeros((len(chunk), L), dtype=torch.long)
        am = torch.zeros((len(chunk), L), dtype=torch.long)
        for i, (a, b) in enumerate(chunk):
            ids[i, :len(a)] = torch.tensor(a)
            tt[i, :len(b)] = torch.tensor(b)
            am[i, :len(a)] = 1
        with torch.no_grad():
            out = model(input_ids=ids, token_type_ids=tt, attention_mask=am)
        logits.append(out.logits.float())
    return torch.cat(logits, 0)


def check_unpadded(model, encs, logits, tol=1e-5):
    """Sanity: every row alone (no padding) gives the same logits as in its padded batch."""
    worst = 0.0
    for i, (a, b) in enumerate(encs):
        with torch.no_grad():
            o = model(input_ids=torch.tensor([a]), token_type_ids=torch.tensor([b])).logits[0]
        worst = max(worst, (o - logits[i]).abs().max().item())
    assert worst < tol, worst
    return worst


def write_logits(path, rows, logits):
    with open(path, "w", newline="\n") as f:
        f.write("row,label," + ",".join("logit_%d" % k for k in range(logits.shape[1])) + "\n")
        for i, r in enumerate(rows):
            f.write("%d,%s,%s\n" % (i, r["label"], ",".join(fmt(v) for v in logits[i].tolist())))


def write_block(f, name, values):
    a = np.asarray(values, dtype=np.float64)
    f.write("%s %d\n" % (name, a.size))
    # row-major values, one line per innermost row (line breaks are cosmetic)
    for row in a.reshape(-1, a.shape[-1]):
        f.write(" ".join(fmt(v) for v in row) + "\n")


def write_hidden(path, model, enc):
    ids, tt = enc
    captured = {}
    hooks = []
    layer0 = model.bert.encoder.layer[0]

    def keep(name):
        def hook(_mod, _inp, out):
            captured[name] = (out[0] if isinstance(out, tuple) else out).detach()[0]
        return hook

    hooks.append(layer0.attention.self.query.register_forward_hook(keep("layer0.attention.self.query")))
    hooks.append(layer0.attention.self.key.register_forward_hook(keep("layer0.attention.self.key")))
    hooks.append(layer0.attention.self.value.register_forward_hook(keep("layer0.attention.self.value")))
    hooks.append(layer0.attention.self.register_forward_hook(keep("layer0.attention.context")))
    hooks.append(layer0.attention.register_forward_hook(keep("layer0.attention.output")))
    hooks.append(layer0.intermediate.register_forward_hook(keep("layer0.intermediate")))
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([tt]),
                    output_hidden_states=True, output_attentions=True)
        pooled = model.bert.pooler(out.hidden_states[-1])[0]
    for h in hooks:
        h.remove()
    seq = len(ids)
    with open(path, "w", newline="\n") as f:
        f.write("# tiny_bert, tiny.csv row 0, text column only, no padding, eval mode, fp32\n")
        f.write("# block: a line 'name n_values', then n_values numbers (%.9g), row-major, one line per innermost row\n")
        f.write("# seq_len %d hidden 32 heads 4 intermediate 37\n" % seq)
        f.write("input_ids %d\n%s\n" % (seq, " ".join(str(i) for i in ids)))
        f.write("token_type_ids %d\n%s\n" % (seq, " ".join(str(i) for i in tt)))
        write_block(f, "embeddings", out.hidden_states[0][0])
        write_block(f, "layer0.attention.self.query", captured["layer0.attention.self.query"])
        write_block(f, "layer0.attention.self.key", captured["layer0.attention.self.key"])
        write_block(f, "layer0.attention.self.value", captured["layer0.attention.self.value"])
        write_block(f, "layer0.attention.probs", out.attentions[0][0])
        write_block(f, "layer0.attention.context", captured["layer0.attention.context"])
        write_block(f, "layer0.attention.output", captured["layer0.attention.output"])
        write_block(f, "layer0.intermediate", captured["layer0.intermediate"])
        for li in range(1, len(out.hidden_states)):
            write_block(f, "layer%d.output" % (li - 1), out.hidden_states[li][0])
        write_block(f, "last_hidden_state", out.hidden_states[-1][0])
        write_block(f, "pooled", pooled)
        write_block(f, "logits", out.logits[0])


def save_gamma_copy(src_dir, dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    sd = load_file(os.path.join(src_dir, "model.safetensors"))
    renamed = {}
    for k, v in sd.items():
        if k.endswith("LayerNorm.weight"):
            k = k[: -len("weight")] + "gamma"
        elif k.endswith("LayerNorm.bias"):
            k = k[: -len("bias")] + "beta"
        renamed[k] = v
    save_file(renamed, os.path.join(dst_dir, "model.safetensors"), metadata={"format": "pt"})
    for fn in os.listdir(src_dir):
        if fn != "model.safetensors":
            shutil.copyfile(os.path.join(src_dir, fn), os.path.join(dst_dir, fn))


def fresh_dir(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-tokenizer", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)  # deterministic reductions
    torch.manual_seed(0)

    rows = read_csv()
    vocab = build_vocab(rows)
    tmp_vocab = os.path.join(HERE, ".tiny_vocab.tmp.txt")
    with open(tmp_vocab, "w", newline="\n") as f:
        f.write("\n".join(vocab) + "\n")
    tok = BertTokenizer(tmp_vocab, do_lower_case=True)

    config = BertConfig(vocab_size=len(vocab), **TINY_CONFIG)
    model = BertForSequenceClassification(config)
    randomise(model, np.random.RandomState(SEED))
    model.eval()

    d = {k: os.path.join(HERE, "tiny_bert" + k) for k in
         ("", "_f16", "_bf16", "_sharded", "_nohead", "_gamma")}
    for p in d.values():
        fresh_dir(p)

    model.save_pretrained(d[""], safe_serialization=True)
    write_tokenizer_files(d[""], tmp_vocab)
    model.save_pretrained(d["_sharded"], safe_serialization=True, max_shard_size="40KB")
    write_tokenizer_files(d["_sharded"], tmp_vocab)
    model.bert.save_pretrained(d["_nohead"], safe_serialization=True)
    write_tokenizer_files(d["_nohead"], tmp_vocab)
    save_gamma_copy(d[""], d["_gamma"])
    for suffix, dt in (("_f16", torch.float16), ("_bf16", torch.bfloat16)):
        m = BertForSequenceClassification(config)
        m.load_state_dict(model.state_dict())
        m.to(dt).save_pretrained(d[suffix], safe_serialization=True)
        write_tokenizer_files(d[suffix], tmp_vocab)
    os.remove(tmp_vocab)

    # Expected outputs are computed from what is on disk, loaded back as fp32.
    def load(path):
        return BertForSequenceClassification.from_pretrained(path, torch_dtype=torch.float32).eval()

    ref = load(d[""])
    enc_single = encode_rows(tok, rows, pair=False)
    enc_pair = encode_rows(tok, rows, pair=True)
    lg = batch_logits(ref, enc_single)
    lg_pair = batch_logits(ref, enc_pair)
    print("unpadded vs padded max diff: %.3g %.3g" % (check_unpadded(ref, enc_single, lg),
                                                       check_unpadded(ref, enc_pair, lg_pair)))
    write_logits(os.path.join(HERE, "tiny_logits.csv"), rows, lg)
    write_logits(os.path.join(HERE, "tiny_logits_pair.csv"), rows, lg_pair)

    for suffix in ("_sharded", "_gamma"):
        other = batch_logits(load(d[suffix]), enc_single)
        assert torch.equal(other, lg), suffix
    nohead = BertModel.from_pretrained(d["_nohead"]).eval()
    with torch.no_grad():
        a = nohead(input_ids=torch.tensor([enc_single[0][0]])).pooler_output
        b = ref.bert(input_ids=torch.tensor([enc_single[0][0]])).pooler_output
    assert torch.equal(a, b)
    for suffix in ("_f16", "_bf16"):
        m = load(d[suffix])
        assert next(m.parameters()).dtype == torch.float32
        lgx = batch_logits(m, enc_single)
        write_logits(os.path.join(HERE, "tiny_logits%s.csv" % suffix), rows, lgx)
        print("%s: max |logit - fp32 logit| = %.3g" % (suffix, (lgx - lg).abs().max().item()))

    with open(os.path.join(HERE, "tiny_tokens.jsonl"), "w", newline="\n") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({"row": i, "ids": enc_single[i][0], "type_ids": enc_single[i][1],
                                "pair_ids": enc_pair[i][0], "pair_type_ids": enc_pair[i][1]},
                               ensure_ascii=True) + "\n")
    write_hidden(os.path.join(HERE, "tiny_hidden.txt"), ref, enc_single[0])

    n_unk = sum(ids.count(1) for ids, _ in enc_pair)
    lens = [len(ids) for ids, _ in enc_single]
    print("vocab %d tokens; single lengths min %d max %d; [UNK] in pairs: %d" %
          (len(vocab), min(lens), max(lens), n_unk))

    if not args.skip_tokenizer:
        sys.path.insert(0, HERE)
        import gen_tokenizer_cases
        gen_tokenizer_cases.main()


if __name__ == "__main__":
    main()
