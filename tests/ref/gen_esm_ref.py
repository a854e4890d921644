#!/usr/bin/env python3
"""Tiny ESM-2 references (issue 15), built locally from seeded numbers (nothing downloaded).

Run:  tests/ref/.venv/bin/python tests/ref/gen_esm_ref.py

Writes
  tiny_esm/            config.json (model_type esm, rotary positions, token_dropout, the 33 ESM-2
                       tokens) + model.safetensors of an EsmForSequenceClassification (3 labels), next
                       to the EsmTokenizer files gen_tokenizer_bpe.py writes there
  tiny_esm_bf16/       the same weights stored as BF16
  tiny_esm_reg/        a regression head (num_labels 1, problem_type regression)
  tiny_esm_batch.json  {"pad": 1, "rows": [[ids...]], "labels": [...], "targets": [...],
                        "logits": [[...]], "logits_bf16": [[...]], "logits_reg": [[...]]}
                       <cls> residues <eos> rows of different lengths, some with <mask> tokens
                       (token_dropout's scaling differs per row), right-padded with <pad>; eval mode
  peft_esm_lora/, peft_esm_dora/  as gen_peft_roberta.py: PEFT gradients and 3 AdamW steps
  tiny_proteins.csv    36 sequences with a class and a regression target, for end-to-end runs
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import EsmConfig, EsmForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_peft_roberta import write_refs  # noqa: E402
from gen_roberta_ref import fresh, logits_of, randomise, save_model  # noqa: E402  (pad 1 in both)

SEED = 20261202
# ESM-2's vocabulary (EsmTokenizer's vocab.txt order)
TOKENS = ["<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q",
          "N", "F", "Y", "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>"]
CLS, PAD, EOS, MASK = 0, 1, 2, 32

CONFIG = dict(
    vocab_size=len(TOKENS),
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    layer_norm_eps=1e-5,
    position_embedding_type="rotary",
    token_dropout=True,
    emb_layer_norm_before=False,
    mask_token_id=MASK,
    pad_token_id=PAD,
    num_labels=3,
    id2label={0: "negative", 1: "neutral", 2: "positive"},
    label2id={"negative": 0, "neutral": 1, "positive": 2},
)


def make_rows(rng):
    rows = []
    for i in range(12):
        n = int(rng.integers(1, 40))
        seq = [int(x) for x in rng.integers(4, 24, size=n)]  # the 20 amino acids
        if i % 3 == 1:  # a few <mask>: token_dropout scales this row's embeddings otherwise
            for j in rng.choice(n, size=max(1, n // 5), replace=False):
                seq[int(j)] = MASK
        rows.append([CLS] + seq + [EOS])
    rows.append([CLS, EOS])
    return rows






AMINO = "LAGVSERTIDPKQNFYMHWC"


def write_proteins(rng):
    """tiny_proteins.csv: sequence,label,target rows (random residues; a few lowercase, an
    unknown letter, a long one that max_length truncates) for the trainer's end-to-end runs."""
    with open(os.path.join(HERE, "tiny_proteins.csv"), "w", newline="\n") as f:
        f.write("sequence,label,target\n")
        for i in range(36):
            n = 60 if i == 5 else int(rng.integers(5, 30))
            seq = "".join(AMINO[int(k)] for k in rng.integers(0, 20, size=n))
            if i == 7:
                seq = seq.lower()
            if i == 11:
                seq = seq[:3] + "J" + seq[3:]
            f.write("%s,%s,%.4f\n" % (seq, ["negative", "neutral", "positive"][i % 3], rng.standard_normal()))


def main():
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = EsmForSequenceClassification(EsmConfig(**CONFIG))
    randomise(model, rng)
    d = os.path.join(HERE, "tiny_esm")
    save_model(model, d)
    db = os.path.join(HERE, "tiny_esm_bf16")
    fresh(db)
    shutil.copy(os.path.join(d, "config.json"), db)
    sd = load_file(os.path.join(d, "model.safetensors"))
    # the weights as BF16; the rotary inv_freq buffers stay F32 (transformers would use a rounded
    # buffer from the file, bidora computes the frequencies)
    save_file({k: v.to(torch.bfloat16).contiguous() if v.is_floating_point() and "inv_freq" not in k else v
               for k, v in sd.items()},
              os.path.join(db, "model.safetensors"), metadata={"format": "pt"})
    reg_cfg = dict(CONFIG, num_labels=1, problem_type="regression", id2label={0: "LABEL_0"}, label2id={"LABEL_0": 0})
    reg = EsmForSequenceClassification(EsmConfig(**reg_cfg))
    randomise(reg, rng)
    save_model(reg, os.path.join(HERE, "tiny_esm_reg"))
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):  # its tokenizer too
        if os.path.exists(os.path.join(d, name)):
            shutil.copy(os.path.join(d, name), os.path.join(HERE, "tiny_esm_reg", name))
    rows = make_rows(rng)
    labels = [int(x) for x in rng.integers(0, 3, size=len(rows))]
    targets = [float("%.6g" % x) for x in rng.standard_normal(len(rows))]
    out = {
        "pad": PAD,
        "rows": rows,
        "labels": labels,
        "targets": targets,
        "logits": logits_of(model, rows, PAD).tolist(),
        "logits_bf16": logits_of(EsmForSequenceClassification.from_pretrained(db, torch_dtype=torch.float32),
                                 rows, PAD).tolist(),
        "logits_reg": logits_of(reg, rows, PAD).tolist(),
    }
    for k in ("logits", "logits_bf16", "logits_reg"):
        out[k] = [[float("%.9g" % v) for v in r] for r in out[k]]
    with open(os.path.join(HERE, "tiny_esm_batch.json"), "w", newline="\n") as f:
        json.dump(out, f, indent=0)
        f.write("\n")
    print("tiny_esm: %d rows, logits[1] %s" % (len(rows), out["logits"][1]))
    write_refs("esm", EsmForSequenceClassification, d, "tiny_esm_batch.json", "tiny_esm")
    write_proteins(np.random.default_rng(SEED + 1))


if __name__ == "__main__":
    main()
