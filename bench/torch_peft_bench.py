#!/usr/bin/env python3
"""torch_peft_bench.py: PyTorch + PEFT's time for the steps bench/bench_train.c and bench_eval.c time.

Items (--methods), each what bidora's benchmark times, on the same shapes and settings:

  full, lora, dora  one training step: forward, loss, backward, AdamW step, zero_grad;
  darts2            one BiDoRA iteration, second-order (darts2) hypergradient, as
                    bd_batch_loss / bd_orth_add / bd_hypergrad (src/train/bilevel.c) run it in
                    bench_train (below);
  eval-fixed        inference of one batch of 32 x 128 random token ids (model.eval(),
                    torch.inference_mode()), as bench_eval --fixed;
  eval-text         inference of the first 512 rows of datasets/data/rotten_tomatoes.csv,
                    tokenized by the model's tokenizer (max 128 tokens, batches of 32 in file
                    order, each padded to its longest row; tokenized before the clock), as
                    bench_eval; the time is per pass over the 512 rows.

Shapes: minilm is the real all-MiniLM-L6-v2 from models/ when models/all-MiniLM-L6-v2/model.safetensors
exists (bench_train's rule), else a random BertForSequenceClassification of its config (6 layers,
384 hidden, 12 heads, 1536 intermediate, vocab 30522); bert-base is a random one of BERT-base's
(12 layers, 768 hidden, 3072 intermediate). The eval items need the real model (and eval-text its
tokenizer and the data). 2 labels, the model's dropout 0.1 (hidden, attention, classifier) in
training, batch 32 x 128 tokens of random ids in [1000, 21000) (a second such batch for BiDoRA's
val batch), every token real. LoRA or DoRA (PEFT's use_dora) of rank 4, alpha 8, on query and
value, lora_dropout 0 (bench_train sets the adapter dropout to 0 and keeps the model's 0.1), the
classifier trained (task_type SEQ_CLS puts it in modules_to_save); AdamW lr 1e-4, betas 0.9/0.98,
eps 1e-6, weight decay 0.01 on the direction (A, B, classifier) and on full fine-tuning's every
parameter, 0 on DoRA's magnitudes (bench_train's two optimizers). "full" is plain PyTorch full
fine-tuning of the same model.

darts2, one iteration (ALGORITHM.md, BiDoRA phase 1), V = every lora_A, lora_B and the classifier,
M = every lora_magnitude_vector; 4 forwards and 4 backwards, as bidora's:
  1. lower: forward of the lower batch (dropout seed fixed), L = CE + 1e-5 R(V) with R the
     orthogonality regularizer (1/N) sum_l ||D_l D_l^T - I||_F, D_l the rows of W0 + s B A
     normalised; backward (torch.autograd.grad) for V and M (bidora's lower pass computes dL/dM
     too, unused); AdamW step on V;
  2. val: forward + backward of the val batch (its own dropout seed): v = dCE/dV, g_direct = dCE/dM;
  3. eps = 0.01 / ||v||;
  4. under no_grad, V' saved and set in place to V' + eps v; forward of the lower batch with the
     SAME dropout masks (the seed reset), backward for M only (autograd then skips the A/B and
     head weight-gradient products, as bidora's BD_GRADS_MAG does); the same at V' - eps v;
  5. V' restored from the copy; h = g_direct - (g+ - g-) / (2 eps) (hyper_xi 1); AdamW step on M
     with h.
Where the two sides differ in the work:
  - DoRA's norm: PEFT detaches ||W0 + s B A|| in the backward (the DoRA paper's choice);
    bench_train runs bidora's default dora_norm_grad = exact (the true gradient, a few [out, r]
    products more). PEFT also forms the [out, in] matrix B A (through an identity matrix) and
    W0 + s B A in every forward to take the norm; bidora gets the norms from W0 A^T and A A^T.
  - Dropout masks and token ids come from each side's own generator: the same shapes,
    probabilities and distributions, not the same values. The val batch is a second random batch
    of 32 x 128 on both sides (bench_train's ids[1]), not rows drawn from a val split.
  - The regularizer's gradient: autograd here, bidora's closed form (the same quantity).
  - eval: bidora's pass is bd_evaluate (batches built from the encoded rows, forward, logits
    to the host, cross-entropy, argmax, metrics); here the forward, cross-entropy and argmax.
  - The median of an even number of times is the upper middle one on both sides (bench_train's).

Timing: time.perf_counter() around every step or pass (torch.cuda.synchronize() at both ends on
CUDA); the first --warmup ones are not timed; the result is the median of --steps timed ones, the
spread max |t_i - median| / median, and every timed one's ms. Threads on the CPU:
torch.set_num_threads(N), N = BIDORA_THREADS when set (> 0), else the online CPUs (bidora's
bd_nthreads), 1..64. Peak memory: torch.cuda.max_memory_allocated() over the timed and warm-up
steps on CUDA (parameters, gradients, AdamW's moments, activations and cuBLAS's workspace), or
the process's ru_maxrss on the CPU: there every item runs in a process of its own (this script
runs itself once per item when given several), as bench_train's children and bench_eval do.
fp32: torch.backends.cuda.matmul.allow_tf32 = False; tf32: True. Without a GPU it runs on the
CPU (fp32 only, fewer steps by default).

usage: python3 torch_peft_bench.py [--shapes minilm,bert-base] [--methods lora,dora]
           [--precisions fp32,tf32] [--attn sdpa] [--steps 20] [--warmup 3] [--device auto]
           [--model-dir models/all-MiniLM-L6-v2] [--data datasets/data/rotten_tomatoes.csv]
           [--rows 512] [--csv FILE]
--csv appends impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable,spread_pct,
times_ms rows (bench_train --csv's format; impl is peft, or peft-eager for --attn eager; times_ms
separated by ';'; for the eval items ms_per_step is per pass and trainable the model's
parameters, all frozen).
"""
import argparse
import csv as csvmod
import gc
import math
import os
import resource
import subprocess
import sys
import time
import warnings

SHAPES = {
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}
METHODS = ("lora", "dora", "full", "darts2", "eval-fixed", "eval-text")
B, T = 32, 128
LOWER_SEED, VAL_SEED = 1, 2  # dropout seeds of the lower and the val batch
ORTH_LAMBDA, DARTS_ALPHA, HYPER_XI = 1e-5, 0.01, 1.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", default="minilm,bert-base")
    p.add_argument("--methods", default="lora,dora", help=", ".join(METHODS))
    p.add_argument("--precisions", default="fp32,tf32", help="fp32, tf32 (CUDA only)")
    p.add_argument("--attn", default="sdpa", help="attention implementations: sdpa (transformers' default), eager")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20 on CUDA, 2 on the CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3 on CUDA, 1 on the CPU)")
    p.add_argument("--device", default="auto", help="auto, cuda, cpu")
    p.add_argument("--batch", type=int, default=B)
    p.add_argument("--seq", type=int, default=T)
    p.add_argument("--model-dir", default="models/all-MiniLM-L6-v2", help="the real MiniLM (shape minilm)")
    p.add_argument("--data", default="datasets/data/rotten_tomatoes.csv", help="eval-text's rows")
    p.add_argument("--rows", type=int, default=512, help="eval-text's rows (the first of the file)")
    p.add_argument("--csv", default=None)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one item, print only its row
    return p.parse_args()


def bidora_threads():
    """bidora's bd_nthreads: BIDORA_THREADS if set (> 0), else the online CPUs, 1..64."""
    try:
        k = int(os.environ.get("BIDORA_THREADS", "0"))
    except ValueError:
        k = 0
    if k <= 0:
        k = os.sysconf("SC_NPROCESSORS_ONLN")
    return max(1, min(64, k))


def have_minilm(a):
    return os.access(os.path.join(a.model_dir, "model.safetensors"), os.R_OK)


def fmt_row(shape, prec, attn, method, r):
    ms, peak, trainable, total, spread, times = r
    tr = f"{trainable:d}" if method not in ("eval-fixed", "eval-text") else f"({trainable:d})"
    return (f"{shape:<10} {prec:<5} {attn:<6} {method:<10} {ms:9.2f} {spread:7.1f}% {peak / 2**20:9.0f} "
            f"{tr:>11} {total:11d}  steps: {';'.join(f'{t:.1f}' for t in times)}")


def main():
    a = parse_args()
    try:
        import torch
        import transformers
        import peft
    except ImportError as e:
        print(f"torch_peft_bench: {e} (needs torch, transformers and peft; make bench-torch makes a venv of them)",
              file=sys.stderr)
        return 3
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' deprecations, said by PEFT
    transformers.logging.set_verbosity_error()  # "Some weights ... newly initialized": the classifier, as bidora's
    transformers.utils.logging.disable_progress_bar()

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
    steps, warmup = max(1, steps), max(0, warmup)
    precisions = [x for x in a.precisions.split(",") if x]
    if not cuda:
        precisions = ["fp32"]
        torch.set_num_threads(bidora_threads())
    methods = [x for x in a.methods.split(",") if x]
    for m in methods:
        if m not in METHODS:
            print(f"torch_peft_bench: unknown method {m} ({', '.join(METHODS)})", file=sys.stderr)
            return 2
    shapes = [x for x in a.shapes.split(",") if x]
    for s in shapes:
        if s not in SHAPES:
            print(f"torch_peft_bench: unknown shape {s} ({', '.join(SHAPES)})", file=sys.stderr)
            return 2
    attns = [x for x in a.attn.split(",") if x]
    if any(m.startswith("eval") for m in methods):
        if not have_minilm(a):
            print(f"torch_peft_bench: {a.model_dir}/model.safetensors is missing: the eval items need the real "
                  f"model (run: make model)", file=sys.stderr)
            return 1
        if "eval-text" in methods and not os.access(a.data, os.R_OK):
            print(f"torch_peft_bench: {a.data} is missing: eval-text needs it (run: make data)", file=sys.stderr)
            return 1

    if not a.child:
        name = torch.cuda.get_device_name(0) if cuda else "CPU"
        thr = "" if cuda else f", {torch.get_num_threads()} threads"
        print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, "
              f"peft {peft.__version__}; device {name}{thr}")
        mini = (f"{a.model_dir}" if have_minilm(a) else "a random model of its config (no model.safetensors)")
        print(f"batch {a.batch} x {a.seq} tokens, rank 4 on query,value, lora_dropout 0, model dropout 0.1, "
              f"AdamW; {steps} timed steps after {warmup} warm-up, median; minilm: {mini}")
        print(f"{'shape':<10} {'prec':<5} {'attn':<6} {'method':<10} {'ms':>9} {'spread':>8} {'peak MiB':>9} "
              f"{'trainable':>11} {'total':>11}")
        if any(m.startswith("eval") for m in methods):
            print("(eval items: ms per pass; in parentheses the model's parameters, none trained)")
    csv = None
    if a.csv:
        new = not os.path.exists(a.csv)
        csv = open(a.csv, "a")
        if new:
            csv.write("impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable,spread_pct,times_ms\n")
            csv.flush()

    items = [(s, p, at, m) for s in shapes for p in precisions for at in attns for m in methods]
    rc = 0
    for shape, prec, attn, method in items:
        if method.startswith("eval") and shape != "minilm":
            print(f"{shape:<10} {prec:<5} {attn:<6} {method:<10} skipped: the eval items run on minilm only")
            continue
        if not cuda and len(items) > 1:
            # ru_maxrss is the process's: one process per item
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--device", "cpu", "--shapes", shape,
                   "--methods", method, "--attn", attn, "--steps", str(steps), "--warmup", str(warmup),
                   "--batch", str(a.batch), "--seq", str(a.seq), "--model-dir", a.model_dir, "--data", a.data,
                   "--rows", str(a.rows)]
            if a.csv:
                cmd += ["--csv", a.csv]
            st = subprocess.run(cmd).returncode
            if st:
                print(f"{shape:<10} {prec:<5} {attn:<6} {method:<10} failed (exit {st})")
                rc = 1
            continue
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
            torch.backends.cudnn.allow_tf32 = prec == "tf32"
        try:
            r, used_attn = run_one(torch, a, dev, shape, method, attn, steps, warmup)
        except Exception as e:  # report and go on with the next configuration
            print(f"{shape:<10} {prec:<5} {attn:<6} {method:<10} failed: {type(e).__name__}: {e}", flush=True)
            rc = 1
            continue
        print(fmt_row(shape, prec, used_attn, method, r), flush=True)
        if csv:
            ms, peak, trainable, _, spread, times = r
            impl = "peft" if used_attn == "sdpa" else "peft-" + used_attn
            where = os.path.basename(os.path.normpath(a.model_dir)) if method.startswith("eval") else shape
            csv.write(f"{impl},{dev},{where},{prec},{method},{ms:.3f},{peak},{trainable},{spread:.2f},"
                      f"{';'.join(f'{t:.1f}' for t in times)}\n")
            csv.flush()
    if csv:
        csv.close()
    return rc


def load_model(torch, a, dev, shape, attn, training):
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(1)
    if shape == "minilm" and have_minilm(a):
        try:
            model = BertForSequenceClassification.from_pretrained(a.model_dir, num_labels=2, dtype=torch.float32,
                                                                  attn_implementation=attn)
        except (TypeError, ValueError, ImportError):
            model = BertForSequenceClassification.from_pretrained(a.model_dir, num_labels=2)
        model.float()
    else:
        cfg = BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                         hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                         initializer_range=0.02, num_labels=2, **SHAPES[shape])
        try:
            model = BertForSequenceClassification._from_config(cfg, attn_implementation=attn)
        except (TypeError, ValueError, ImportError):
            model = BertForSequenceClassification(cfg)
    used_attn = getattr(model.config, "_attn_implementation", None) or "eager"
    model.to(dev)
    model.train(training)
    return model, used_attn


def random_batch(torch, g, a, dev):
    ids = torch.randint(1000, 21000, (a.batch, a.seq), generator=g)
    labels = torch.randint(0, 2, (a.batch,), generator=g)
    ids, labels = ids.to(dev), labels.to(dev)
    return dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids),
                labels=labels)


def text_batches(torch, a, dev):
    """eval-text's batches: the first a.rows rows, tokenized (max 128), 32 a batch, padded to the longest."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(a.model_dir)
    with open(a.data, newline="", encoding="utf-8-sig") as f:
        rows = list(csvmod.DictReader(f))
    names = sorted({r["label"] for r in rows})  # bidora's label ids: the names sorted
    rows = rows[:a.rows]
    out, tokens = [], 0
    for s in range(0, len(rows), B):
        chunk = rows[s:s + B]
        enc = tok([r["text"] for r in chunk], padding="longest", truncation=True, max_length=T, return_tensors="pt")
        labels = torch.tensor([names.index(r["label"]) for r in chunk])
        tokens += enc["input_ids"].numel()
        out.append({k: v.to(dev) for k, v in enc.items()} | dict(labels=labels.to(dev)))
    return out, tokens


def adapted_modules(model):
    """PEFT's LoRA layers: (base weight W0 [out, in], A [r, in], B [out, r], scaling)."""
    mods = []
    for mod in model.modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            mods.append((mod.get_base_layer().weight, mod.lora_A["default"].weight, mod.lora_B["default"].weight,
                         mod.scaling["default"]))
    return mods


def orth_reg(torch, mods):
    """R(V) = (1/N) sum_l ||D_l D_l^T - I||_F, D_l = rows of W0 + s B A normalised (ALGORITHM.md)."""
    R = 0.0
    for W0, A, Bm, s in mods:
        W = W0 + s * (Bm @ A)
        D = W / W.norm(dim=1, keepdim=True)
        G = D @ D.T - torch.eye(D.shape[0], device=D.device, dtype=D.dtype)
        R = R + torch.linalg.matrix_norm(G)
    return R / len(mods)


def run_one(torch, a, dev, shape, method, attn, steps, warmup):
    from peft import LoraConfig, TaskType, get_peft_model
    import torch.nn.functional as F
    cuda = dev == "cuda"
    g = torch.Generator().manual_seed(5)
    evaluating = method.startswith("eval")
    model, used_attn = load_model(torch, a, dev, shape, attn, not evaluating)
    if method in ("lora", "dora", "darts2"):
        lc = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0,
                        target_modules=["query", "value"], use_dora=method != "lora")
        model = get_peft_model(model, lc)
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p.numel() for p in model.parameters())
    trainable = total if evaluating else sum(p.numel() for p in params)
    adamw = dict(lr=1e-4, betas=(0.9, 0.98), eps=1e-6)

    if evaluating:
        if method == "eval-fixed":
            batches = [random_batch(torch, g, a, dev)]
        else:
            batches, tokens = text_batches(torch, a, dev)
            print(f"eval-text: {a.data}: {sum(len(bt['labels']) for bt in batches)} rows in {len(batches)} batches, "
                  f"{tokens} tokens with padding", flush=True)
        model.eval()

        def step():
            with torch.inference_mode():
                for bt in batches:
                    logits = model(input_ids=bt["input_ids"], attention_mask=bt["attention_mask"],
                                   token_type_ids=bt["token_type_ids"]).logits
                    F.cross_entropy(logits, bt["labels"]).item()
                    logits.argmax(-1).cpu()
    elif method == "darts2":
        lower, val = random_batch(torch, g, a, dev), random_batch(torch, g, a, dev)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        V = [p for n, p in named if "lora_magnitude_vector" not in n]
        M = [p for n, p in named if "lora_magnitude_vector" in n]
        mods = adapted_modules(model)
        opt_v = torch.optim.AdamW(V, weight_decay=0.01, **adamw)
        opt_m = torch.optim.AdamW(M, weight_decay=0.0, **adamw)
        nv = len(V)

        def step():
            # 1. lower step: CE + lambda R on the lower batch; dL/dV (and dL/dM, as bidora's); AdamW on V
            torch.manual_seed(LOWER_SEED)
            loss = model(**lower).loss + ORTH_LAMBDA * orth_reg(torch, mods)
            grads = torch.autograd.grad(loss, V + M)
            for p, gr in zip(V, grads[:nv]):
                p.grad = gr
            opt_v.step()
            opt_v.zero_grad(set_to_none=True)
            # 2. val batch at (V', M): v = dCE/dV, g_direct = dCE/dM
            torch.manual_seed(VAL_SEED)
            grads = torch.autograd.grad(model(**val).loss, V + M)
            v, g_direct = grads[:nv], grads[nv:]
            # 3. eps = darts_alpha / ||v||
            vn = math.sqrt(sum(float(x.pow(2).sum()) for x in v))
            if vn == 0.0:
                h = g_direct
            else:
                eps = DARTS_ALPHA / vn
                # 4. g+ and g- on the lower batch, its dropout masks, dL/dM only
                with torch.no_grad():
                    saved = [p.detach().clone() for p in V]
                    for p, s0, d in zip(V, saved, v):
                        torch.add(s0, d, alpha=eps, out=p.data)
                torch.manual_seed(LOWER_SEED)
                g_plus = torch.autograd.grad(model(**lower).loss, M)
                with torch.no_grad():
                    for p, s0, d in zip(V, saved, v):
                        torch.add(s0, d, alpha=-eps, out=p.data)
                torch.manual_seed(LOWER_SEED)
                g_minus = torch.autograd.grad(model(**lower).loss, M)
                # 6 (first half). V' restored exactly from the copy
                with torch.no_grad():
                    for p, s0 in zip(V, saved):
                        p.data.copy_(s0)
                # 5. h = g_direct - xi (g+ - g-) / (2 eps)
                c = HYPER_XI / (2.0 * eps)
                h = [gd - c * (gp - gm) for gd, gp, gm in zip(g_direct, g_plus, g_minus)]
            # 6. AdamW on M with h
            for p, hh in zip(M, h):
                p.grad = hh
            opt_m.step()
            opt_m.zero_grad(set_to_none=True)
    else:
        bt = random_batch(torch, g, a, dev)
        if method == "dora":  # bench_train's two optimizers: weight decay 0 on the magnitudes
            named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
            groups = [dict(params=[p for n, p in named if "lora_magnitude_vector" not in n], weight_decay=0.01),
                      dict(params=[p for n, p in named if "lora_magnitude_vector" in n], weight_decay=0.0)]
            opt = torch.optim.AdamW(groups, **adamw)
        else:
            opt = torch.optim.AdamW(params, weight_decay=0.01, **adamw)

        def step():
            out = model(**bt)
            out.loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(warmup + steps):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        if s >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    med = sorted(times)[len(times) // 2]  # the upper middle for an even count, as bench_train
    spread = 100.0 * max(abs(t - med) for t in times) / med
    del model, params, step
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return (med, peak, trainable, total, spread, times), used_attn


if __name__ == "__main__":
    sys.exit(main())
