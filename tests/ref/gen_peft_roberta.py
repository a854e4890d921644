#!/usr/bin/env python3
"""PEFT LoRA / DoRA references on tests/ref/tiny_roberta (issue 15), as gen_peft_ref.py does for
tiny_bert: LoraConfig(r=4, lora_alpha=8, target_modules=["query","value"], lora_dropout=0,
task_type=SEQ_CLS[, use_dora=True]) - so modules_to_save is the whole RobertaClassificationHead
(classifier.dense and classifier.out_proj) -, A, B and the magnitudes set from seeded numbers, then on
the batch of tiny_roberta_batch.json (right-padded, eval mode) the loss, every trainable gradient, and
the parameters after each of 3 AdamW steps. Also checks that the saved adapter reloads with
PeftModel.from_pretrained to the same logits.

Run:  tests/ref/.venv/bin/python tests/ref/gen_peft_roberta.py   (after gen_roberta_ref.py)
Writes peft_roberta_lora/ and peft_roberta_dora/: adapter_config.json, adapter_model.safetensors,
grads.safetensors, after_step{1,2,3}.safetensors, loss.txt.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import RobertaForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_roberta_ref import padded  # noqa: E402
from gen_peft_ref import BETAS, EPS, LR, STEPS, WD, build, file_name, fmt, save, snapshot, trainable  # noqa: E402

MODEL_DIR = os.path.join(HERE, "tiny_roberta")
SEED = 4343


def make_batch(batch_file="tiny_roberta_batch.json"):
    with open(os.path.join(HERE, batch_file)) as f:
        b = json.load(f)
    ids, am = padded(b["rows"], b["pad"])
    return ids, am, torch.tensor(b["labels"])




def loss_and_grads(model, batch):
    ids, am, labels = batch
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=ids, attention_mask=am).logits
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return loss.item(), {n: p.grad.detach().clone().contiguous() for n, p in trainable(model)}


def write_refs(prefix, cls, model_dir, batch_file, base_name):
    """peft_PREFIX_lora/ and peft_PREFIX_dora/ for the model in model_dir on batch_file."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    batch = make_batch(batch_file)
    ids, am, labels = batch
    for method, use_dora in (("lora", False), ("dora", True)):
        outdir = os.path.join(HERE, "peft_%s_%s" % (prefix, method))
        if os.path.isdir(outdir):
            shutil.rmtree(outdir)
        model = build(use_dora, cls, model_dir, SEED)
        names = sorted(file_name(n) for n, _ in trainable(model))
        assert "base_model.model.classifier.dense.weight" in names, names
        assert "base_model.model.classifier.out_proj.weight" in names, names
        model.create_or_update_model_card = lambda *a, **k: None
        model.save_pretrained(outdir, safe_serialization=True)
        cpath = os.path.join(outdir, "adapter_config.json")
        with open(cpath) as f:
            cfg = json.load(f)
        cfg["base_model_name_or_path"] = "tests/ref/" + base_name
        cfg["target_modules"] = sorted(cfg["target_modules"])  # PEFT writes a set: any order
        with open(cpath, "w", newline="\n") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        base = cls.from_pretrained(model_dir, torch_dtype=torch.float32)
        reloaded = PeftModel.from_pretrained(base, outdir).eval()
        with torch.no_grad():
            a = reloaded(input_ids=ids, attention_mask=am).logits
            b = model(input_ids=ids, attention_mask=am).logits
        assert torch.allclose(a, b, atol=1e-6, rtol=0), (a - b).abs().max()
        opt = torch.optim.AdamW([p for _, p in trainable(model)], lr=LR, betas=BETAS, eps=EPS, weight_decay=WD,
                                foreach=False)
        lines = []
        loss0, grads0 = loss_and_grads(model, batch)
        save(grads0, os.path.join(outdir, "grads.safetensors"))
        lines.append("loss step 0 %s" % fmt(loss0))
        for step in range(1, STEPS + 1):
            if step > 1:
                loss_and_grads(model, batch)
            opt.step()
            save(snapshot(model), os.path.join(outdir, "after_step%d.safetensors" % step))
            with torch.no_grad():
                lg = model(input_ids=ids, attention_mask=am).logits
                lines.append("loss step %d %s" % (step, fmt(F.cross_entropy(lg, labels).item())))
        with open(os.path.join(outdir, "loss.txt"), "w", newline="\n") as f:
            f.write("# mean cross-entropy on %s; 'step k' = after k AdamW steps\n" % batch_file)
            f.write("\n".join(lines) + "\n")
        print("%s: loss %.6f, %d trainable tensors" % (outdir, loss0, len(names)))


def main():
    write_refs("roberta", RobertaForSequenceClassification, MODEL_DIR, "tiny_roberta_batch.json", "tiny_roberta")


if __name__ == "__main__":
    main()
