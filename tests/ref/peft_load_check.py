"""Load an adapter that `bidora train` wrote with PEFT and compare its logits
with `bidora eval --adapter` on the same rows.

usage: peft_load_check.py MODEL_DIR ADAPTER_DIR CSV BIDORA_BIN [--text-column text]
       [--text-pair-column C] [--label-column label] [--max-length 64] [--rows 64]
Prints the max abs logit difference; exit 0 when it is <= --tol (1e-4).
"""
import argparse, csv, json, os, subprocess, sys, tempfile

import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("adapter"); ap.add_argument("csv"); ap.add_argument("bidora")
    ap.add_argument("--text-column", default="text"); ap.add_argument("--text-pair-column", default=None)
    ap.add_argument("--label-column", default="label"); ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--rows", type=int, default=64); ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    with open(os.path.join(a.adapter, "labels.json")) as f:
        id2label = {int(k): v for k, v in json.load(f)["id2label"].items()}
    # BERT, RoBERTa or ESM-2: the classes config.json names (AutoTokenizer: the fast tokenizer
    # when tokenizer.json is there, as bidora reads it)
    base = AutoModelForSequenceClassification.from_pretrained(a.model, num_labels=len(id2label),
                                                              ignore_mismatched_sizes=True)
    model = PeftModel.from_pretrained(base, a.adapter).eval()
    tok = AutoTokenizer.from_pretrained(a.model)
    with open(a.csv, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))[: a.rows]
    tmp = tempfile.mkdtemp()
    sub = os.path.join(tmp, "data.csv")
    with open(sub, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader(); w.writerows(rows)
    cmd = [a.bidora, "eval", "--model", a.model, "--adapter", a.adapter, "--data", sub,
           "--out", os.path.join(tmp, "pred.csv"), f"text_column={a.text_column}",
           f"label_column={a.label_column}", f"max_length={a.max_length}"]
    if a.text_pair_column:
        cmd.append(f"text_pair_column={a.text_pair_column}")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(tmp, "pred.csv"), newline="") as f:
        ours = [[float(r[k]) for k in r if k.startswith("logit_")] for r in csv.DictReader(f)]
    worst = 0.0
    with torch.no_grad():
        for i, r in enumerate(rows):
            pair = r[a.text_pair_column] if a.text_pair_column else None
            enc = tok(r[a.text_column], pair, truncation=True, max_length=a.max_length, return_tensors="pt")
            if getattr(base.config, "type_vocab_size", 1) <= 1:
                enc.pop("token_type_ids", None)
            logits = model(**enc).logits[0].tolist()
            worst = max(worst, max(abs(x - y) for x, y in zip(logits, ours[i])))
    print(f"PEFT vs bidora eval --adapter: {len(rows)} rows, max abs logit difference {worst:.3g}")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
