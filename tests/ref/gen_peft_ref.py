#!/usr/bin/env python3
"""PEFT LoRA / DoRA references on tests/ref/tiny_bert (see tests/ref/README.md, "PEFT references").

Run:  tests/ref/.venv/bin/python tests/ref/gen_peft_ref.py

For method in (lora, dora): wrap tiny_bert with LoraConfig(r=4, lora_alpha=8,
target_modules=["query","value"], lora_dropout=0.0, task_type=SEQ_CLS[, use_dora=True]),
overwrite A, B (non-zero) and the DoRA magnitude with seeded values, then on a fixed batch
of 8 rows of tiny.csv (eval mode: no dropout anywhere) record the loss, every trainable
parameter's gradient, and the parameters after each of 3 AdamW steps.
For DoRA, a second trajectory uses the exact gradient through the row norms
(files *_exact.safetensors; PEFT itself detaches the norm).
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import dora as peft_dora
from safetensors.torch import load_file, save_file
from transformers import BertForSequenceClassification, BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_ref import read_csv  # noqa: E402

MODEL_DIR = os.path.join(HERE, "tiny_bert")
ROWS = [0, 2, 4, 7, 12, 14, 15, 19]
MAX_LENGTH = 64
SEED = 4242
LR, BETAS, EPS, WD = 1e-2, (0.9, 0.999), 1e-8, 0.01
STEPS = 3


def fmt(x):
    return "%.9g" % float(x)


def make_batch():
    rows = read_csv()
    tok = BertTokenizer(os.path.join(MODEL_DIR, "vocab.txt"), do_lower_case=True)
    label2id = {"negative": 0, "neutral": 1, "positive": 2}
    encs = [tok(rows[i]["text"], truncation=True, max_length=MAX_LENGTH) for i in ROWS]
    L = max(len(e["input_ids"]) for e in encs)
    ids = torch.zeros((len(ROWS), L), dtype=torch.long)
    tt = torch.zeros_like(ids)
    am = torch.zeros_like(ids)
    for k, e in enumerate(encs):
        n = len(e["input_ids"])
        ids[k, :n] = torch.tensor(e["input_ids"])
        tt[k, :n] = torch.tensor(e["token_type_ids"])
        am[k, :n] = 1
    labels = torch.tensor([label2id[rows[i]["label"]] for i in ROWS])
    return ids, tt, am, labels


def fix_adapter_config(path):
    """Make adapter_config.json reproducible: relative base path, sorted target_modules."""
    with open(path) as f:
        cfg = json.load(f)
    cfg["base_model_name_or_path"] = "tests/ref/tiny_bert"
    cfg["target_modules"] = sorted(cfg["target_modules"])
    with open(path, "w", newline="\n") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def dora_forward_exact(self, x, *, lora_A, lora_B, scaling, base_layer):
    """PEFT's DoraLinearLayer.forward without the two .detach() calls (exact gradient)."""
    lora_result = lora_B(lora_A(x))
    lora_weight = lora_B.weight @ lora_A.weight
    weight = base_layer.weight.to(x.dtype)
    weight_norm = self.get_weight_norm(weight, lora_weight, scaling)
    mag_norm_scale = (self.weight / weight_norm).view(1, -1)
    return (mag_norm_scale - 1) * F.linear(x, weight) + mag_norm_scale * lora_result * scaling


def build(use_dora, cls=BertForSequenceClassification, model_dir=MODEL_DIR, seed=SEED):
    """cls from model_dir wrapped by PEFT (r 4, alpha 8, query + value, SEQ_CLS), A and B
    (and DoRA's m) set from a RandomState(seed); eval mode."""
    base = cls.from_pretrained(model_dir, torch_dtype=torch.float32)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.0,
                     use_dora=use_dora, task_type="SEQ_CLS")
    model = get_peft_model(base, cfg)
    rng = np.random.RandomState(seed)
    with torch.no_grad():
        for name, mod in model.named_modules():
            if not hasattr(mod, "lora_A") or "default" not in getattr(mod, "lora_A", {}):
                continue
            A = mod.lora_A["default"].weight  # [r, in]
            B = mod.lora_B["default"].weight  # [out, r]
            bound = 1.0 / np.sqrt(A.shape[1])  # the kaiming-uniform(a=sqrt 5) bound
            A.copy_(torch.from_numpy(rng.uniform(-bound, bound, A.shape).astype(np.float32)))
            B.copy_(torch.from_numpy((0.1 * rng.standard_normal(B.shape)).astype(np.float32)))
            if use_dora:
                m = mod.lora_magnitude_vector["default"].weight  # [out] = ||W0 row|| (B was 0 at init)
                m.mul_(torch.from_numpy((1.0 + 0.1 * rng.standard_normal(m.shape)).astype(np.float32)))
    model.eval()
    return model


def trainable(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def file_name(param_name):
    """named_parameters() name -> the name PEFT uses in adapter_model.safetensors."""
    n = param_name
    n = n.replace(".lora_magnitude_vector.default.weight", ".lora_magnitude_vector")
    n = n.replace(".lora_A.default.weight", ".lora_A.weight")
    n = n.replace(".lora_B.default.weight", ".lora_B.weight")
    n = n.replace(".modules_to_save.default.", ".")
    assert ".default" not in n, param_name
    return n


def save(tensors, path):
    save_file({file_name(n): t for n, t in tensors.items()}, path, metadata={"format": "pt"})


def snapshot(model):
    return {n: p.detach().clone().contiguous() for n, p in trainable(model)}


def loss_and_grads(model, batch):
    ids, tt, am, labels = batch
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=ids, token_type_ids=tt, attention_mask=am).logits
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone().contiguous() for n, p in trainable(model)}
    return loss.item(), logits.detach(), grads


def run_trajectory(model, batch, outdir, suffix, lines):
    opt = torch.optim.AdamW([p for _, p in trainable(model)], lr=LR, betas=BETAS, eps=EPS,
                            weight_decay=WD, foreach=False)
    loss0, logits0, grads0 = loss_and_grads(model, batch)
    save(grads0, os.path.join(outdir, "grads%s.safetensors" % suffix))
    lines.append("loss%s step 0 %s" % (suffix, fmt(loss0)))
    small = min(g.abs().max().item() for g in grads0.values())
    print("%s%s: loss %.6f, smallest per-tensor max|grad| %.3g" % (os.path.basename(outdir), suffix, loss0, small))
    for step in range(1, STEPS + 1):
        if step > 1:
            loss_and_grads(model, batch)
        opt.step()
        save(snapshot(model), os.path.join(outdir, "after_step%d%s.safetensors" % (step, suffix)))
        with torch.no_grad():
            ids, tt, am, labels = batch
            lg = model(input_ids=ids, token_type_ids=tt, attention_mask=am).logits
            lines.append("loss%s step %d %s" % (suffix, step, fmt(F.cross_entropy(lg, labels).item())))
    return logits0


def fd_check(use_dora_exact_model, batch, n_checks=6):
    """Central finite differences in float64 against the exact DoRA gradient."""
    m = use_dora_exact_model.double()
    ids, tt, am, labels = batch

    def f():
        with torch.no_grad():
            return F.cross_entropy(m(input_ids=ids, token_type_ids=tt, attention_mask=am).logits, labels).item()

    m.zero_grad(set_to_none=True)
    F.cross_entropy(m(input_ids=ids, token_type_ids=tt, attention_mask=am).logits, labels).backward()
    rng = np.random.RandomState(7)
    worst = 0.0
    for n, p in trainable(m):
        if not any(k in n for k in ("lora_A", "lora_B", "lora_magnitude_vector")):
            continue
        flat, gflat = p.data.view(-1), p.grad.view(-1)
        for _ in range(n_checks // 2):
            i = rng.randint(flat.numel())
            h, old = 1e-6, flat[i].item()
            flat[i] = old + h
            fp = f()
            flat[i] = old - h
            fm = f()
            flat[i] = old
            fd = (fp - fm) / (2 * h)
            worst = max(worst, abs(fd - gflat[i].item()) / max(1e-6, abs(fd)))
    assert worst < 1e-5, worst
    return worst


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    batch = make_batch()
    ids, tt, am, labels = batch
    for method, use_dora in (("lora", False), ("dora", True)):
        outdir = os.path.join(HERE, "peft_" + method)
        if os.path.isdir(outdir):
            shutil.rmtree(outdir)
        model = build(use_dora)
        model.create_or_update_model_card = lambda *a, **k: None  # no README.md (needs jinja2)
        model.save_pretrained(outdir, safe_serialization=True)
        fix_adapter_config(os.path.join(outdir, "adapter_config.json"))
        initial = snapshot(model)
        saved = load_file(os.path.join(outdir, "adapter_model.safetensors"))
        assert set(saved) == {file_name(n) for n in initial}, sorted(saved)
        for n, t in initial.items():
            assert torch.equal(saved[file_name(n)], t), n
        # the saved adapter must reload (PeftModel.from_pretrained) to the same logits
        from peft import PeftModel
        base = BertForSequenceClassification.from_pretrained(MODEL_DIR, torch_dtype=torch.float32)
        reloaded = PeftModel.from_pretrained(base, outdir).eval()
        with torch.no_grad():
            a = reloaded(input_ids=ids, token_type_ids=tt, attention_mask=am).logits
            b = model(input_ids=ids, token_type_ids=tt, attention_mask=am).logits
        assert torch.allclose(a, b, atol=1e-6, rtol=0), (a - b).abs().max()
        lines = []
        logits0 = run_trajectory(model, batch, outdir, "", lines)
        if use_dora:
            orig = peft_dora.DoraLinearLayer.forward
            peft_dora.DoraLinearLayer.forward = dora_forward_exact
            try:
                model = build(True)
                for n, p in trainable(model):
                    assert torch.equal(p, initial[n]), n
                run_trajectory(model, batch, outdir, "_exact", lines)
                worst = fd_check(build(True), batch)
                print("dora exact gradient vs float64 finite differences: worst rel err %.2g" % worst)
            finally:
                peft_dora.DoraLinearLayer.forward = orig
        with open(os.path.join(outdir, "loss.txt"), "w", newline="\n") as f:
            f.write("# mean cross-entropy on the batch; 'step k' = after k AdamW steps\n")
            f.write("\n".join(lines) + "\n")
            f.write("# logits at step 0, one row per batch row\n")
            for k in range(len(ROWS)):
                f.write("logits %d %s\n" % (ROWS[k], " ".join(fmt(v) for v in logits0[k].tolist())))
        with open(os.path.join(outdir, "batch.txt"), "w", newline="\n") as f:
            f.write("rows %s\n" % " ".join(str(r) for r in ROWS))
            f.write("max_length %d\n" % MAX_LENGTH)
            f.write("text_column text\nlabel_column label\n")
            f.write("labels %s\n" % " ".join(str(int(v)) for v in labels))
            f.write("seq_len %d\n" % ids.shape[1])
            for k in range(len(ROWS)):
                n = int(am[k].sum())
                f.write("ids %d %s\n" % (ROWS[k], " ".join(str(int(v)) for v in ids[k, :n])))
            f.write("optimizer adamw lr %g beta1 %g beta2 %g eps %g weight_decay %g steps %d\n"
                    % (LR, BETAS[0], BETAS[1], EPS, WD, STEPS))
            f.write("lora r 4 alpha 8 scaling 2 target_modules query,value dropout 0 use_dora %s\n"
                    % ("true" if use_dora else "false"))


if __name__ == "__main__":
    main()
