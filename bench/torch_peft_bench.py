#!/usr/bin/env python3
"""torch_peft_bench.py: PyTorch + PEFT's step time for the steps bench/bench_train.c times.

The same shapes (a random BertForSequenceClassification of the MiniLM-L6 config: 6 layers, 384
hidden, 12 heads, 1536 intermediate, vocab 30522; and of BERT-base's: 12 layers, 768 hidden,
3072 intermediate), batch 32 x 128 tokens of random ids, 2 labels, the model's dropout 0.1
(hidden, attention, classifier), and the same trained parameters: LoRA or DoRA (PEFT's
use_dora) of rank 4, alpha 8, on query and value, lora_dropout 0 (as bench_train's adapters:
bench_train sets the adapter dropout to 0 and keeps the model's 0.1), the classifier trained
(task_type SEQ_CLS puts it in modules_to_save), AdamW (lr 1e-4, betas 0.9/0.98, eps 1e-6,
weight decay 0.01). "full" is plain PyTorch full fine-tuning of the same model.

One step = forward, loss, backward, optimizer step, zero_grad. torch.cuda.synchronize() before
the clock is read at both ends of every step; the first --warmup steps are not timed; the
result is the median of --steps timed steps. Peak memory: torch.cuda.max_memory_allocated()
over the timed and warm-up steps (parameters, gradients, AdamW's moments, activations and
cuBLAS's workspace, which PyTorch takes from its allocator), or the process's ru_maxrss on
the CPU. fp32: torch.backends.cuda.matmul.allow_tf32 = False; tf32: True.

Without a GPU it runs on the CPU (fp32 only, fewer steps by default) so it can be tried anywhere.

usage: python3 torch_peft_bench.py [--shapes minilm,bert-base] [--methods lora,dora]
           [--precisions fp32,tf32] [--attn sdpa] [--steps 20] [--warmup 3] [--device auto]
           [--csv FILE]
--csv appends impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable rows (the
format of bench_train --csv; impl is peft, or peft-eager for --attn eager).
"""
import argparse
import gc
import os
import resource
import statistics
import sys
import time

SHAPES = {
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}
B, T = 32, 128


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", default="minilm,bert-base")
    p.add_argument("--methods", default="lora,dora", help="lora, dora, full")
    p.add_argument("--precisions", default="fp32,tf32", help="fp32, tf32 (CUDA only)")
    p.add_argument("--attn", default="sdpa", help="attention implementations: sdpa (transformers' default), eager")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20 on CUDA, 2 on the CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3 on CUDA, 1 on the CPU)")
    p.add_argument("--device", default="auto", help="auto, cuda, cpu")
    p.add_argument("--batch", type=int, default=B)
    p.add_argument("--seq", type=int, default=T)
    p.add_argument("--csv", default=None)
    return p.parse_args()


def main():
    a = parse_args()
    try:
        import torch
        import transformers
        import peft
        from transformers import BertConfig, BertForSequenceClassification
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError as e:
        print(f"torch_peft_bench: {e} (needs torch, transformers and peft)", file=sys.stderr)
        return 3

    if a.device == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        dev = a.device
    if dev == "cuda" and not torch.cuda.is_available():
        print("torch_peft_bench: no CUDA device (torch.cuda.is_available() is False)", file=sys.stderr)
        return 1
    cuda = dev == "cuda"
    steps = a.steps if a.steps is not None else (20 if cuda else 2)
    warmup = a.warmup if a.warmup is not None else (3 if cuda else 1)
    precisions = [x for x in a.precisions.split(",") if x]
    if not cuda:
        precisions = ["fp32"]
    methods = [x for x in a.methods.split(",") if x]
    for m in methods:
        if m not in ("lora", "dora", "full"):
            print(f"torch_peft_bench: unknown method {m} (lora, dora, full)", file=sys.stderr)
            return 2
    shapes = [x for x in a.shapes.split(",") if x]
    for s in shapes:
        if s not in SHAPES:
            print(f"torch_peft_bench: unknown shape {s} ({', '.join(SHAPES)})", file=sys.stderr)
            return 2

    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, "
          f"peft {peft.__version__}; device {name}")
    print(f"batch {a.batch} x {a.seq} tokens, rank 4 on query,value, lora_dropout 0, model dropout 0.1, "
          f"AdamW; {steps} timed steps after {warmup} warm-up, median")
    csv = None
    if a.csv:
        new = not os.path.exists(a.csv)
        csv = open(a.csv, "a")
        if new:
            csv.write("impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable\n")
    print(f"{'shape':<10} {'prec':<5} {'attn':<6} {'method':<6} {'step ms':>9} {'peak MiB':>9} {'trainable':>10} {'total':>11}")

    g = torch.Generator().manual_seed(5)
    ids = torch.randint(1000, 21000, (a.batch, a.seq), generator=g)
    labels = torch.randint(0, 2, (a.batch,), generator=g)
    ids, labels = ids.to(dev), labels.to(dev)
    att = torch.ones_like(ids)
    tt = torch.zeros_like(ids)

    rc = 0
    for shape in shapes:
        for prec in precisions:
            if cuda:
                torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
                torch.backends.cudnn.allow_tf32 = prec == "tf32"
            for attn in [x for x in a.attn.split(",") if x]:
                for method in methods:
                    try:
                        r = run_one(torch, BertConfig, BertForSequenceClassification, LoraConfig, TaskType,
                                    get_peft_model, dev, shape, method, attn, ids, att, tt, labels, steps, warmup)
                    except Exception as e:  # report and go on with the next configuration
                        print(f"{shape:<10} {prec:<5} {attn:<6} {method:<6} failed: {type(e).__name__}: {e}")
                        rc = 1
                        continue
                    ms, peak, trainable, total, used_attn = r
                    print(f"{shape:<10} {prec:<5} {used_attn:<6} {method:<6} {ms:9.2f} {peak / 2**20:9.0f} "
                          f"{trainable:10d} {total:11d}", flush=True)
                    if csv:
                        impl = "peft" if used_attn == "sdpa" else "peft-" + used_attn
                        csv.write(f"{impl},{dev},{shape},{prec},{method},{ms:.3f},{peak},{trainable}\n")
                        csv.flush()
    if csv:
        csv.close()
    return rc


def run_one(torch, BertConfig, BertForSequenceClassification, LoraConfig, TaskType, get_peft_model,
            dev, shape, method, attn, ids, att, tt, labels, steps, warmup):
    cuda = dev == "cuda"
    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                     hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                     initializer_range=0.02, num_labels=2, **SHAPES[shape])
    try:
        model = BertForSequenceClassification._from_config(cfg, attn_implementation=attn)
    except (TypeError, ValueError, ImportError):
        model = BertForSequenceClassification(cfg)
    used_attn = getattr(model.config, "_attn_implementation", None) or "eager"
    model.to(dev)
    if method in ("lora", "dora"):
        lc = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0,
                        target_modules=["query", "value"], use_dora=method == "dora")
        model = get_peft_model(model, lc)
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    total = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    model.train()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(warmup + steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(input_ids=ids, attention_mask=att, token_type_ids=tt, labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if s >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    del model, opt, params, out
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return statistics.median(times), peak, trainable, total, used_attn


if __name__ == "__main__":
    sys.exit(main())
