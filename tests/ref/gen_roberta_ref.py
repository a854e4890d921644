#!/usr/bin/env python3
"""Tiny RoBERTa references (issue 15), built locally from seeded numbers (nothing downloaded).

Run:  tests/ref/.venv/bin/python tests/ref/gen_roberta_ref.py

Writes
  tiny_roberta/       config.json (model_type roberta, pad_token_id 1, type_vocab_size 1) and
                      model.safetensors of a RobertaForSequenceClassification (3 labels), F32, next to
                      the byte-level BPE tokenizer gen_tokenizer_bpe.py writes there (its 904 ids)
  tiny_roberta_bf16/  the same weights stored as BF16
  tiny_roberta_batch.json
      {"pad": 1, "rows": [[ids...], ...], "labels": [...],
       "logits": [[...], ...], "logits_bf16": [[...], ...]}
      rows of <s> ... </s> (and <s> a </s></s> b </s> pairs) of different lengths; the logits are
      transformers' in eval mode on the rows right-padded to the longest with <pad> and its
      attention mask, which is how bidora batches them.
The ids are drawn directly (the tokenizer is checked on its own, gen_tokenizer_bpe.py): the model
is what these files check.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import RobertaConfig, RobertaForSequenceClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_ref import randomise  # noqa: E402  (every parameter from a seeded generator)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261201
VOCAB = 904  # the tokenizer gen_tokenizer_bpe.py writes into tiny_roberta/ (vocab.json + added tokens)
PAD, BOS, EOS = 1, 0, 2

CONFIG = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=42,  # positions 2..41: at most 40 tokens a row
    type_vocab_size=1,
    layer_norm_eps=1e-5,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    pad_token_id=PAD,
    bos_token_id=BOS,
    eos_token_id=EOS,
    num_labels=3,
    id2label={0: "negative", 1: "neutral", 2: "positive"},
    label2id={"negative": 0, "neutral": 1, "positive": 2},
)


def make_rows(rng):
    rows = []
    for i in range(12):
        n = int(rng.integers(1, 30))
        a = [int(x) for x in rng.integers(4, VOCAB, size=n)]
        if i % 3 == 2:  # a pair: <s> a </s></s> b </s>
            b = [int(x) for x in rng.integers(4, VOCAB, size=int(rng.integers(1, 8)))]
            rows.append([BOS] + a + [EOS, EOS] + b + [EOS])
        else:
            rows.append([BOS] + a + [EOS])
    rows.append([BOS, EOS])  # an empty text
    return rows


def padded(rows, pad=PAD):
    """rows right-padded with pad to the longest, and their attention mask (as bidora batches)."""
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad, dtype=torch.long)
    am = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        am[i, : len(r)] = 1
    return ids, am


def logits_of(model, rows, pad=PAD):
    """Eval-mode logits of the padded rows; every row alone (no padding) must agree."""
    ids, am = padded(rows, pad)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=am).logits.float()
        for i, r in enumerate(rows):
            alone = model(input_ids=torch.tensor([r])).logits[0].float()
            assert (alone - out[i]).abs().max().item() < 1e-5, (i, (alone - out[i]).abs().max().item())
    return out


def fresh(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def save_model(model, d):
    """config.json + model.safetensors into d, keeping what else is there (the tokenizer files
    gen_tokenizer_bpe.py writes into the same folder)."""
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)


def main():
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    cfg = RobertaConfig(**CONFIG)
    model = RobertaForSequenceClassification(cfg)
    randomise(model, rng)
    d = os.path.join(HERE, "tiny_roberta")
    vocab_file = os.path.join(d, "vocab.json")
    if os.path.exists(vocab_file):  # the model covers every id the tokenizer can give
        with open(vocab_file) as f:
            n = len(json.load(f))
        added = os.path.join(d, "added_tokens.json")
        if os.path.exists(added):
            with open(added) as f:
                n = max([n] + [i + 1 for i in json.load(f).values()])
        assert n <= VOCAB, (n, VOCAB)
    save_model(model, d)
    db = os.path.join(HERE, "tiny_roberta_bf16")
    fresh(db)
    shutil.copy(os.path.join(d, "config.json"), db)
    sd = load_file(os.path.join(d, "model.safetensors"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}, os.path.join(db, "model.safetensors"),
              metadata={"format": "pt"})
    rows = make_rows(rng)
    labels = [int(x) for x in rng.integers(0, 3, size=len(rows))]
    lg = logits_of(model, rows)
    mb = RobertaForSequenceClassification.from_pretrained(db, torch_dtype=torch.float32)
    lgb = logits_of(mb, rows)
    out = {
        "pad": PAD,
        "rows": rows,
        "labels": labels,
        "logits": [[float("%.9g" % v) for v in r] for r in lg.tolist()],
        "logits_bf16": [[float("%.9g" % v) for v in r] for r in lgb.tolist()],
    }
    with open(os.path.join(HERE, "tiny_roberta_batch.json"), "w", newline="\n") as f:
        json.dump(out, f, indent=0)
        f.write("\n")
    print("tiny_roberta: %d rows, logits[0] %s" % (len(rows), out["logits"][0]))


if __name__ == "__main__":
    main()
