#!/usr/bin/env python3
"""Real-model parity: all-MiniLM-L6-v2 + a seeded classification head, transformers vs bidora.

usage: tests/ref/.venv/bin/python tests/ref/parity_minilm.py MODEL_DIR CSV OUTDIR BIDORA_BIN
           [--text-column text] [--text-pair-column COL] [--label-column label]
           [--rows 64] [--max-length 128] [--num-labels 2] [--seed 1234]
           [--tol 1e-3] [--skip-bidora] [--bidora-arg ARG ...]

MODEL_DIR is a Hugging Face BERT directory (config.json, model.safetensors, vocab.txt,
tokenizer_config.json), e.g. all-MiniLM-L6-v2 as fetched by scripts/fetch_model.sh.
Steps:
 1. Load MODEL_DIR as BertForSequenceClassification; keep the checkpoint's pooler (a seeded one
    if it has none); seed the classifier (numpy RandomState(--seed)); num_labels = --num-labels.
 2. Save the full model to OUTDIR/minilm-cls (safetensors, F32) and copy the tokenizer files.
 3. Write the first --rows rows of CSV to OUTDIR/data.csv and their reference logits to
    OUTDIR/ref_logits.csv (row,label,logit_0,...; eval mode, fp32, slow BertTokenizer,
    truncation=True, max_length=--max-length, batches of 8 padded to the longest row).
 4. Unless --skip-bidora: run
      BIDORA_BIN eval --model OUTDIR/minilm-cls --data OUTDIR/data.csv --out OUTDIR/pred.csv
          text_column=... [text_pair_column=...] label_column=... max_length=... [--bidora-arg ...]
    read the logit_N columns of OUTDIR/pred.csv and print max abs / max rel error.
Exit status: 0 when max abs error <= --tol (or --skip-bidora), 1 otherwise, 2 on failure to run.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json")


def fmt(x):
    return "%.9g" % float(x)


def build_model(model_dir, num_labels, id2label, seed):
    config = BertConfig.from_pretrained(model_dir)
    config.num_labels = num_labels
    config.id2label = dict(enumerate(id2label))
    config.label2id = {v: k for k, v in enumerate(id2label)}
    config.architectures = ["BertForSequenceClassification"]
    model, info = BertForSequenceClassification.from_pretrained(
        model_dir, config=config, torch_dtype=torch.float32, output_loading_info=True)
    missing = set(info["missing_keys"])
    rng = np.random.RandomState(seed)
    h = config.hidden_size
    with torch.no_grad():
        if any(k.startswith("bert.pooler.") for k in missing):
            print("checkpoint has no pooler: seeding one", file=sys.stderr)
            model.bert.pooler.dense.weight.copy_(torch.from_numpy(
                (rng.standard_normal((h, h)) / np.sqrt(h)).astype(np.float32)))
            model.bert.pooler.dense.bias.copy_(torch.from_numpy(
                (0.1 * rng.standard_normal(h)).astype(np.float32)))
        else:
            print("pooler taken from the checkpoint", file=sys.stderr)
        # std 1: MiniLM's pooled outputs are small (|p| ~ 0.05), so this makes the logits O(1)
        # and relative errors meaningful
        model.classifier.weight.copy_(torch.from_numpy(
            rng.standard_normal((num_labels, h)).astype(np.float32)))
        model.classifier.bias.copy_(torch.from_numpy(
            (0.1 * rng.standard_normal(num_labels)).astype(np.float32)))
    other = missing - {k for k in missing if k.startswith(("bert.pooler.", "classifier."))}
    if other:
        raise SystemExit("unexpected missing weights: %s" % sorted(other))
    return model.eval()


def encode(tok, rows, text_col, pair_col, max_length):
    encs, truncated = [], 0
    for r in rows:
        a = r[text_col]
        b = r[pair_col] if pair_col else None
        full = tok(a, b)
        enc = tok(a, b, truncation=True, max_length=max_length)
        truncated += len(full["input_ids"]) > len(enc["input_ids"])
        encs.append((enc["input_ids"], enc["token_type_ids"]))
    return encs, truncated


def logits_of(model, encs, batch=8):
    out = []
    for s in range(0, len(encs), batch):
        chunk = encs[s:s + batch]
        L = max(len(i) for i, _ in chunk)
        ids = torch.zeros((len(chunk), L), dtype=torch.long)
        tt = torch.zeros_like(ids)
        am = torch.zeros_like(ids)
        for k, (a, b) in enumerate(chunk):
            ids[k, :len(a)] = torch.tensor(a)
            tt[k, :len(b)] = torch.tensor(b)
            am[k, :len(a)] = 1
        with torch.no_grad():
            out.append(model(input_ids=ids, token_type_ids=tt, attention_mask=am).logits.float())
    return torch.cat(out).numpy()


def read_pred(path, n_rows, num_labels):
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.reader(f)
        header = next(rd)
        body = [r for r in rd if r]
    cols = sorted(((int(m.group(1)), i) for i, h in enumerate(header)
                   for m in [re.fullmatch(r"logits?_?(\d+)", h.strip())] if m))
    if cols:
        idx = [i for _, i in cols]
    else:  # fall back to the last num_labels columns
        idx = list(range(len(header) - num_labels, len(header)))
        print("warning: no logit_N columns in %s; using its last %d columns" % (path, num_labels),
              file=sys.stderr)
    if len(idx) != num_labels:
        raise SystemExit("%s: %d logit columns, expected %d" % (path, len(idx), num_labels))
    if len(body) != n_rows:
        raise SystemExit("%s: %d rows, expected %d" % (path, len(body), n_rows))
    row_col = header.index("row") if "row" in header else None
    out = np.zeros((n_rows, num_labels))
    for k, r in enumerate(body):
        j = int(r[row_col]) if row_col is not None else k
        out[j] = [float(r[i]) for i in idx]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("csv")
    ap.add_argument("outdir")
    ap.add_argument("bidora_bin")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--text-pair-column", default=None)
    ap.add_argument("--label-column", default="label")
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--num-labels", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--skip-bidora", action="store_true")
    ap.add_argument("--bidora-arg", action="append", default=[],
                    help="extra argument for bidora eval (repeatable), e.g. batch_size=8")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.outdir, exist_ok=True)

    with open(args.csv, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        fields = rd.fieldnames
        rows = []
        for r in rd:
            rows.append(r)
            if len(rows) == args.rows:
                break
    for c in (args.text_column, args.label_column, args.text_pair_column):
        if c and c not in fields:
            raise SystemExit("%s: no column %r (columns: %s)" % (args.csv, c, fields))
    labels = sorted({r[args.label_column] for r in rows})
    if len(labels) == args.num_labels:
        id2label = labels
    else:
        id2label = ["LABEL_%d" % i for i in range(args.num_labels)]
        print("warning: %d distinct labels in the rows, num_labels %d: using LABEL_i names"
              % (len(labels), args.num_labels), file=sys.stderr)

    model = build_model(args.model_dir, args.num_labels, id2label, args.seed)
    cls_dir = os.path.join(args.outdir, "minilm-cls")
    model.save_pretrained(cls_dir, safe_serialization=True)
    for fn in TOKENIZER_FILES:
        src = os.path.join(args.model_dir, fn)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(cls_dir, fn))

    tcfg = {}
    p = os.path.join(args.model_dir, "tokenizer_config.json")
    if os.path.exists(p):
        with open(p) as f:
            tcfg = json.load(f)
    tok = BertTokenizer(os.path.join(args.model_dir, "vocab.txt"),
                        do_lower_case=tcfg.get("do_lower_case", True),
                        strip_accents=tcfg.get("strip_accents"),
                        tokenize_chinese_chars=tcfg.get("tokenize_chinese_chars", True))
    encs, truncated = encode(tok, rows, args.text_column, args.text_pair_column, args.max_length)
    # reload from disk so the reference is exactly what bidora reads
    model = BertForSequenceClassification.from_pretrained(cls_dir, torch_dtype=torch.float32).eval()
    ref = logits_of(model, encs)

    data_csv = os.path.join(args.outdir, "data.csv")
    with open(data_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.outdir, "ref_logits.csv"), "w", newline="\n") as f:
        f.write("row,label," + ",".join("logit_%d" % k for k in range(args.num_labels)) + "\n")
        for i, r in enumerate(rows):
            f.write("%d,%s,%s\n" % (i, r[args.label_column], ",".join(fmt(v) for v in ref[i])))
    print("reference: %d rows, %d truncated at max_length %d, logits range [%.3g, %.3g], written to %s"
          % (len(rows), truncated, args.max_length, ref.min(), ref.max(), args.outdir))

    if args.skip_bidora:
        return 0
    pred_csv = os.path.join(args.outdir, "pred.csv")
    cmd = [args.bidora_bin, "eval", "--model", cls_dir, "--data", data_csv, "--out", pred_csv,
           "text_column=" + args.text_column, "label_column=" + args.label_column,
           "max_length=%d" % args.max_length]
    if args.text_pair_column:
        cmd.append("text_pair_column=" + args.text_pair_column)
    cmd += args.bidora_arg
    print("running: " + " ".join(cmd))
    res = subprocess.run(cmd)
    if res.returncode != 0:
        print("bidora eval failed with exit status %d" % res.returncode)
        return 2
    got = read_pred(pred_csv, len(rows), args.num_labels)
    err = np.abs(got - ref)
    rel = err / np.maximum(np.abs(ref), 1e-3)
    i, j = np.unravel_index(np.argmax(err), err.shape)
    agree = int((got.argmax(1) == ref.argmax(1)).sum())
    print("max abs error %.3g (row %d logit %d: bidora %.9g, transformers %.9g)" % (err.max(), i, j, got[i, j], ref[i, j]))
    print("max rel error %.3g; mean abs error %.3g; argmax agreement %d/%d"
          % (rel.max(), err.mean(), agree, len(rows)))
    ok = err.max() <= args.tol
    print("PARITY %s (tol %g)" % ("OK" if ok else "FAILED", args.tol))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
