#!/usr/bin/env python3
"""One BiDoRA phase-1 iteration (darts2 hypergradient) on tests/ref/tiny_bert, written from
/work/shared/ALGORITHM.md ("DoRA", "Orthogonality regularizer", "BiDoRA phase 1") with plain
torch autograd.  See tests/ref/README.md, "BiDoRA reference".

Run:  tests/ref/.venv/bin/python tests/ref/gen_bidora_ref.py

Start: tiny_bert + the DoRA adapter of peft_dora/adapter_model.safetensors (r=4, alpha=8, s=2,
query+value, B != 0, m != row norms; classifier = PEFT's modules_to_save head).
Eval mode (no dropout), exact gradient through the DoRA row norms, plain SGD.
V = {lora_A, lora_B of the 4 adapted matrices, classifier weight, classifier bias}, M = {4 magnitudes}.

  1. L_low = CE(V, M; b_t) + lambda R(V);  V' = V - lr_low dL_low/dV
  2. at (V', M) on b_v: g_direct = dCE/dM, v = dCE/dV
  3. eps = darts_alpha / ||v||_2 (over all of V)
  4. g+- = dL_low/dM at (V' +- eps v, M) on b_t
  5. h = g_direct - xi (g+ - g-) / (2 eps)
  6. M' = M - lr_up h
plus h_exact = g_direct - xi H v, H v = d/dt dL_low/dM(V' + t v, M) at t = 0 (double backward, float64),
and the float64 finite-difference h for several darts_alpha.

The BERT forward is a self-contained functional re-implementation (so V and M are plain tensors
that autograd can differentiate twice); it is checked against peft_dora/grads_exact.safetensors and
peft_dora/loss.txt (PEFT with the exact norm gradient) on the same lower batch.
"""
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import BertTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_ref import read_csv  # noqa: E402

MODEL_DIR = os.path.join(HERE, "tiny_bert")
ADAPTER = os.path.join(HERE, "peft_dora", "adapter_model.safetensors")
OUTDIR = os.path.join(HERE, "bidora_ref")

ROWS_LOWER = [0, 2, 4, 7, 12, 14, 15, 19]   # b_t (= peft_dora's batch)
ROWS_UPPER = [1, 3, 5, 6, 8, 9, 10, 11]     # b_v
MAX_LENGTH = 64
LABEL2ID = {"negative": 0, "neutral": 1, "positive": 2}

R_RANK, ALPHA = 4, 8
SCALING = ALPHA / R_RANK                    # s = 2
ORTH_LAMBDA = 1e-3
LR_LOW = 0.05
LR_UP = 0.05
XI = 1.0
DARTS_ALPHA = 1e-2
ALPHAS = [(1e-1, "1e-1"), (1e-2, "1e-2"), (1e-3, "1e-3"), (1e-4, "1e-4")]

N_LAYERS, N_HEADS, HIDDEN = 2, 4, 32
LN_EPS = 1e-12
TARGETS = [(l, t) for l in range(N_LAYERS) for t in ("query", "value")]   # R's N = 4 matrices


def pfx(l, t):
    return "base_model.model.bert.encoder.layer.%d.attention.self.%s" % (l, t)


# Fixed order of V and M (the order only matters for readability; ||v|| is over all elements).
V_NAMES = []
for _l, _t in TARGETS:
    V_NAMES += [pfx(_l, _t) + ".lora_A.weight", pfx(_l, _t) + ".lora_B.weight"]
V_NAMES += ["base_model.model.classifier.weight", "base_model.model.classifier.bias"]
M_NAMES = [pfx(l, t) + ".lora_magnitude_vector" for l, t in TARGETS]


def fmt(x):
    return "%.9g" % float(x)


def fmt17(x):
    return "%.17g" % float(x)


# ----------------------------------------------------------------------------- data

def make_batch(rows_idx):
    rows = read_csv()
    tok = BertTokenizer(os.path.join(MODEL_DIR, "vocab.txt"), do_lower_case=True)
    encs = [tok(rows[i]["text"], truncation=True, max_length=MAX_LENGTH) for i in rows_idx]
    L = max(len(e["input_ids"]) for e in encs)
    ids = torch.zeros((len(rows_idx), L), dtype=torch.long)
    tt = torch.zeros_like(ids)
    am = torch.zeros_like(ids)
    for k, e in enumerate(encs):
        n = len(e["input_ids"])
        ids[k, :n] = torch.tensor(e["input_ids"])
        tt[k, :n] = torch.tensor(e["token_type_ids"])
        am[k, :n] = 1
    labels = torch.tensor([LABEL2ID[rows[i]["label"]] for i in rows_idx])
    return ids, tt, am, labels


# ----------------------------------------------------------------------------- model

def dora_linear(x, W0, b, A, B, m):
    """ALGORITHM.md DoRA, eval: y = c * (x W0^T + s (x A^T) B^T) + b, c = m / ||W0 + s B A||_row.
    The row norm is NOT detached (exact gradient)."""
    Wp = W0 + SCALING * (B @ A)
    n = torch.sqrt((Wp * Wp).sum(dim=1))
    c = m / n
    return c * (x @ W0.t() + SCALING * ((x @ A.t()) @ B.t())) + b


def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, LN_EPS)


def forward(base, V, M, batch):
    """Functional BertForSequenceClassification (eager attention, exact-erf GELU, eval mode)."""
    ids, tt, am, _ = batch
    Bn, T = ids.shape
    g = lambda k: base["bert." + k]  # noqa: E731
    pos = torch.arange(T)
    h = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[pos][None] \
        + g("embeddings.token_type_embeddings.weight")[tt]
    h = layer_norm(h, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"))
    dt = h.dtype
    ext = (1.0 - am.to(dt))[:, None, None, :] * torch.finfo(dt).min   # as transformers
    dh = HIDDEN // N_HEADS
    for l in range(N_LAYERS):
        p = "encoder.layer.%d." % l

        def proj(t):
            W0, b = g(p + "attention.self.%s.weight" % t), g(p + "attention.self.%s.bias" % t)
            if (l, t) in TARGETS:
                q = pfx(l, t)
                return dora_linear(h, W0, b, V[q + ".lora_A.weight"], V[q + ".lora_B.weight"],
                                   M[q + ".lora_magnitude_vector"])
            return h @ W0.t() + b

        q, k, v = (proj(t).view(Bn, T, N_HEADS, dh).transpose(1, 2) for t in ("query", "key", "value"))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh) + ext
        probs = torch.softmax(scores, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(Bn, T, HIDDEN)
        a = ctx @ g(p + "attention.output.dense.weight").t() + g(p + "attention.output.dense.bias")
        h = layer_norm(a + h, g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias"))
        i = F.gelu(h @ g(p + "intermediate.dense.weight").t() + g(p + "intermediate.dense.bias"))
        o = i @ g(p + "output.dense.weight").t() + g(p + "output.dense.bias")
        h = layer_norm(o + h, g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"))
    pooled = torch.tanh(h[:, 0] @ g("pooler.dense.weight").t() + g("pooler.dense.bias"))
    return pooled @ V["base_model.model.classifier.weight"].t() + V["base_model.model.classifier.bias"]


def ce(base, V, M, batch):
    return F.cross_entropy(forward(base, V, M, batch), batch[3])   # mean over the batch


def orth_reg(base, V):
    """R(V) = (1/N) sum_l ||D_l D_l^T - I||_F (NOT squared), D_l = rows of W'_l = W0 + s B A normalised."""
    total = 0.0
    for l, t in TARGETS:
        q = pfx(l, t)
        W0 = base["bert.encoder.layer.%d.attention.self.%s.weight" % (l, t)]
        Wp = W0 + SCALING * (V[q + ".lora_B.weight"] @ V[q + ".lora_A.weight"])
        D = Wp / torch.sqrt((Wp * Wp).sum(dim=1, keepdim=True))
        G = D @ D.t() - torch.eye(D.shape[0], dtype=D.dtype)
        total = total + torch.sqrt((G * G).sum())
    return total / len(TARGETS)


def l_low(base, V, M, batch):
    return ce(base, V, M, batch) + ORTH_LAMBDA * orth_reg(base, V)


# ----------------------------------------------------------------------------- autograd helpers

def leaf(d):
    return {k: t.detach().clone().requires_grad_(True) for k, t in d.items()}


def grads(f, V, M, wrt):
    """Value of f(V, M) and its gradient w.r.t. V or M (dict)."""
    V, M = leaf(V), leaf(M)
    y = f(V, M)
    src = V if wrt == "V" else M
    names = list(src)
    gs = torch.autograd.grad(y, [src[k] for k in names], allow_unused=True)   # R: no classifier, no M
    return y.item(), {k: (torch.zeros_like(src[k]) if gk is None else gk.detach()) for k, gk in zip(names, gs)}


def both_grads(f, V, M):
    vn, mn = list(V), list(M)
    V, M = leaf(V), leaf(M)
    y = f(V, M)
    gs = torch.autograd.grad(y, [V[k] for k in vn] + [M[k] for k in mn])
    return (y.item(), {k: gs[i].detach() for i, k in enumerate(vn)},
            {k: gs[len(vn) + i].detach() for i, k in enumerate(mn)})


def axpy(a, x, y):
    """y + a x, per tensor."""
    return {k: y[k] + a * x[k] for k in y}


def gnorm(d):
    return math.sqrt(sum(float((t.double() ** 2).sum()) for t in d.values()))


def diffnorm(a, b):
    return math.sqrt(sum(float(((a[k].double() - b[k].double()) ** 2).sum()) for k in a))


def hvp_mixed(f_low, Vp, M, v):
    """H v = d/dt dL_low/dM (V' + t v, M) |_{t=0} = d/dM <dL_low/dV, v>  (mixed partials commute).
    Also computed the other way (forward-mode via double VJP) as a cross-check."""
    V_NAMES, M_NAMES = list(Vp), list(M)
    V1, M1 = leaf(Vp), leaf(M)
    L = f_low(V1, M1)
    gV = torch.autograd.grad(L, [V1[k] for k in V_NAMES], create_graph=True)
    s = sum((gk * v[k]).sum() for gk, k in zip(gV, V_NAMES))
    hv1 = torch.autograd.grad(s, [M1[k] for k in M_NAMES])
    hv1 = {k: t.detach() for k, t in zip(M_NAMES, hv1)}
    # second way: J = d gM / dV; J v = d/du <J^T u, v> with u a dummy (double-VJP trick)
    V2, M2 = leaf(Vp), leaf(M)
    L = f_low(V2, M2)
    gM = torch.autograd.grad(L, [M2[k] for k in M_NAMES], create_graph=True)
    u = [torch.zeros_like(t, requires_grad=True) for t in gM]
    JTu = torch.autograd.grad(gM, [V2[k] for k in V_NAMES], grad_outputs=u, create_graph=True)
    hv2 = torch.autograd.grad(JTu, u, grad_outputs=[v[k] for k in V_NAMES])
    hv2 = {k: t.detach() for k, t in zip(M_NAMES, hv2)}
    return hv1, hv2


def fd_check(f, V, M, gV, gM, n_per_tensor=2, h=1e-5):
    """Central finite differences (float64) of the scalar f(V, M) against the gradients gV, gM,
    at a few seeded elements of every tensor; returns the worst relative error."""
    gen = torch.Generator().manual_seed(7)
    worst = 0.0
    for which, D, G in (("V", V, gV), ("M", M, gM)):
        for k in D:
            for _ in range(n_per_tensor):
                i = int(torch.randint(D[k].numel(), (1,), generator=gen))
                vals = []
                for sgn in (1, -1):
                    Dk = dict(D)
                    t = D[k].clone()
                    t.view(-1)[i] += sgn * h
                    Dk[k] = t
                    with torch.no_grad():
                        vals.append(f(Dk, M).item() if which == "V" else f(V, Dk).item())
                fd = (vals[0] - vals[1]) / (2 * h)
                an = G[k].view(-1)[i].item()
                err = abs(fd - an) / max(abs(an), 1e-3 * float(G[k].abs().max()), 1e-12)
                if os.environ.get("FD_VERBOSE"):
                    print("  fd %s %s[%d] fd %.12g an %.12g err %.2g" % (which, k, i, fd, an, err))
                worst = max(worst, err)
    return worst


# ----------------------------------------------------------------------------- one iteration

def iteration(f_ce_t, f_up, f_R, V0, M0, alphas):
    """One BiDoRA iteration in the dtype of the inputs: f_ce_t(V, M) = CE on b_t, f_up(V, M) = CE on b_v,
    f_R(V) = the regularizer. Returns a dict of everything."""
    r = {}
    V_NAMES, M_NAMES = list(V0), list(M0)
    f_low = lambda V, M: f_ce_t(V, M) + ORTH_LAMBDA * f_R(V)  # noqa: E731
    with torch.no_grad():
        r["loss_lower"] = f_ce_t(V0, M0).item()
        r["R"] = f_R(V0).item()
    # 1. lower step
    r["L_low"], gV = grads(f_low, V0, M0, "V")
    _, gR = grads(lambda V, M: f_R(V), V0, M0, "V")
    r["grad"], r["grad_R"] = gV, gR
    Vp = {k: V0[k] - LR_LOW * gV[k] for k in V_NAMES}
    r["Vp"] = Vp
    # 2. upper forward + backward at (V', M) on b_v
    r["loss_upper"], v, g_direct = both_grads(f_up, Vp, M0)
    r["v"], r["g_direct"] = v, g_direct
    nv = torch.sqrt(sum((t * t).sum() for t in v.values()))   # in the working dtype
    r["norm_v"] = nv.item()
    # 3.-5. for each darts_alpha
    r["fd"] = {}
    for a, tag in alphas:
        eps = a / nv
        _, gp = grads(f_low, axpy(eps, v, Vp), M0, "M")   # V' + eps v
        _, gm = grads(f_low, axpy(-eps, v, Vp), M0, "M")  # V' - eps v (from the saved V')
        h = {k: g_direct[k] - XI * (gp[k] - gm[k]) / (2 * eps) for k in M_NAMES}
        r["fd"][tag] = dict(eps=eps.item(), g_plus=gp, g_minus=gm, h=h)
    return r


def reference(outdir, start, fns32, fns64, write_batch):
    """The float32 and float64 iterations from start (V first, then M, in the order of the dicts'
    keys), their checks, and the files of outdir. fns32 / fns64 = (CE on b_t, CE on b_v, R) in that
    precision; write_batch(f) writes the batch.txt lines."""
    V32, M32 = start
    # --- float32 pipeline (the C code's precision) and float64 pipeline
    V_NAMES, M_NAMES = list(V32), list(M32)
    r32 = iteration(*fns32, V32, M32, [(DARTS_ALPHA, "1e-2")])
    V64 = {k: t.double() for k, t in V32.items()}
    M64 = {k: t.double() for k, t in M32.items()}
    r64 = iteration(*fns64, V64, M64, ALPHAS)
    ce_t64, ce_v64, reg64 = fns64
    f_low64 = lambda V, M: ce_t64(V, M) + ORTH_LAMBDA * reg64(V)  # noqa: E731
    hv1, hv2 = hvp_mixed(f_low64, r64["Vp"], M64, r64["v"])
    hv_cross = diffnorm(hv1, hv2) / gnorm(hv1)
    print("H v two ways (float64): rel diff %.2g" % hv_cross)
    assert hv_cross < 1e-12
    # the float64 gradients against central finite differences: dL_low/dV and dL_low/dM at V on b_t,
    # dR/dV, dCE/dV and dCE/dM at V' on b_v
    _, gLV, gLM = both_grads(f_low64, V64, M64)
    w1 = fd_check(f_low64, V64, M64, gLV, gLM)
    w2 = fd_check(lambda V, M: reg64(V), V64, M64, r64["grad_R"], {k: torch.zeros_like(M64[k]) for k in M_NAMES})
    w3 = fd_check(ce_v64, r64["Vp"], M64, r64["v"], r64["g_direct"])
    print("float64 gradients vs central finite differences: L_low %.2g, R %.2g, upper CE %.2g" % (w1, w2, w3))
    assert max(w1, w2, w3) < 1e-6, (w1, w2, w3)
    ce_g = gnorm({k: r64["grad"][k] - ORTH_LAMBDA * r64["grad_R"][k] for k in V_NAMES})
    print("||dCE/dV|| %.4g, ||lambda dR/dV|| %.4g" % (ce_g, ORTH_LAMBDA * gnorm(r64["grad_R"])))
    h_exact = {k: r64["g_direct"][k] - XI * hv1[k] for k in M_NAMES}
    second = gnorm({k: h_exact[k] - r64["g_direct"][k] for k in M_NAMES})   # = xi ||H v||
    hex_n = gnorm(h_exact)

    # --- outputs
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    meta = {"format": "pt"}
    c = lambda t: t.detach().contiguous()  # noqa: E731
    save_file({k: c(t) for k, t in list(V32.items()) + list(M32.items())}, os.path.join(outdir, "start.safetensors"),
              metadata=meta)
    low = {}
    for k in V_NAMES:
        low[k] = c(r32["Vp"][k])
        low[k + ".grad"] = c(r32["grad"][k])
        if "lora_" in k:
            low[k + ".grad_R"] = c(r32["grad_R"][k])
    save_file(low, os.path.join(outdir, "lower.safetensors"), metadata=meta)
    fd32 = r32["fd"]["1e-2"]
    up = {}
    for k in V_NAMES:
        up[k + ".v"] = c(r32["v"][k])
    for k in M_NAMES:
        up[k + ".g_direct"] = c(r32["g_direct"][k])
        up[k + ".g_plus"] = c(fd32["g_plus"][k])
        up[k + ".g_minus"] = c(fd32["g_minus"][k])
        up[k + ".h"] = c(fd32["h"][k])
        up[k + ".h_exact"] = c(h_exact[k])                      # F64
        up[k] = c(M32[k] - LR_UP * fd32["h"][k])                # M' (float32)
    save_file(up, os.path.join(outdir, "upper.safetensors"), metadata=meta)
    hyp = {}
    for k in M_NAMES:
        hyp[k + ".Hv"] = c(hv1[k])
        hyp[k + ".g_direct"] = c(r64["g_direct"][k])
        for _, tag in ALPHAS:
            hyp[k + ".h_a" + tag] = c(r64["fd"][tag]["h"][k])
    save_file(hyp, os.path.join(outdir, "hyper_alpha.safetensors"), metadata=meta)

    lines = [
        "# one BiDoRA iteration, see tests/ref/README.md 'BiDoRA reference'. Unsuffixed = float32 pipeline,",
        "# _f64 = the same in float64 (from the same F32 start values).",
        "lr_lower %g" % LR_LOW, "lr_upper %g" % LR_UP, "orth_lambda %g" % ORTH_LAMBDA,
        "darts_alpha %g" % DARTS_ALPHA, "hyper_xi %g" % XI, "scaling %g" % SCALING,
        "loss_lower %s" % fmt(r32["loss_lower"]), "loss_lower_f64 %s" % fmt17(r64["loss_lower"]),
        "R %s" % fmt(r32["R"]), "R_f64 %s" % fmt17(r64["R"]),
        "loss_lower_total %s" % fmt(r32["L_low"]), "loss_lower_total_f64 %s" % fmt17(r64["L_low"]),
        "loss_upper %s" % fmt(r32["loss_upper"]), "loss_upper_f64 %s" % fmt17(r64["loss_upper"]),
        "eps %s" % fmt(fd32["eps"]), "eps_f64 %s" % fmt17(r64["fd"]["1e-2"]["eps"]),
        "norm_v %s" % fmt(r32["norm_v"]), "norm_v_f64 %s" % fmt17(r64["norm_v"]),
        "norm_g_direct_f64 %s" % fmt17(gnorm(r64["g_direct"])),
        "norm_Hv_f64 %s" % fmt17(second), "norm_h_exact_f64 %s" % fmt17(hex_n),
        "# float32 vs float64 pipelines: ||x32 - x64|| / ||x64||",
        "f32_vs_f64 Vp %.3g" % (diffnorm(r32["Vp"], r64["Vp"]) / gnorm(r64["Vp"])),
        "f32_vs_f64 v %.3g" % (diffnorm(r32["v"], r64["v"]) / gnorm(r64["v"])),
        "f32_vs_f64 g_direct %.3g" % (diffnorm(r32["g_direct"], r64["g_direct"]) / gnorm(r64["g_direct"])),
        "f32_vs_f64 h_a1e-2 %.3g" % (diffnorm(fd32["h"], r64["fd"]["1e-2"]["h"]) / gnorm(r64["fd"]["1e-2"]["h"])),
        "# fd PRECISION alpha A eps E rel_second_order ||h_fd - h_exact||/||h_exact - g_direct|| rel_h ||h_fd - h_exact||/||h_exact||",
    ]
    table = []
    for prec, rr, tags in (("f64", r64, [t for _, t in ALPHAS]), ("f32", r32, ["1e-2"])):
        for tag in tags:
            e = diffnorm(rr["fd"][tag]["h"], h_exact)
            line = "fd %s alpha %s eps %.6g rel_second_order %.3e rel_h %.3e" % (
                prec, tag, rr["fd"][tag]["eps"], e / second, e / hex_n)
            lines.append(line)
            table.append(line)
    # sanity: ~100x per 10x in float64; float32 at darts_alpha 1e-2 close to the float64 one
    errs = [diffnorm(r64["fd"][t]["h"], h_exact) for _, t in ALPHAS]
    for e1, e2 in zip(errs, errs[1:]):
        assert 50 < e1 / e2 < 200, errs
    assert diffnorm(r32["fd"]["1e-2"]["h"], h_exact) / hex_n < 1e-3
    with open(os.path.join(outdir, "scalars.txt"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    with open(os.path.join(outdir, "batch.txt"), "w", newline="\n") as f:
        write_batch(f)
    print("loss_lower %.6f  R %.6f  loss_upper %.6f  ||v|| %.6g  ||g_direct|| %.4g  ||Hv|| %.4g"
          % (r32["loss_lower"], r32["R"], r32["loss_upper"], r32["norm_v"], gnorm(r64["g_direct"]), second))
    print("\n".join(table))


def write_bert_batch(f, bt, bv):
    f.write("# two batches; each block starts with 'batch lower' (b_t) or 'batch upper' (b_v)\n")
    for name, rows_idx, b in (("lower", ROWS_LOWER, bt), ("upper", ROWS_UPPER, bv)):
        ids, _, am, labels = b
        f.write("batch %s\n" % name)
        f.write("rows %s\n" % " ".join(str(x) for x in rows_idx))
        f.write("max_length %d\n" % MAX_LENGTH)
        f.write("text_column text\nlabel_column label\n")
        f.write("labels %s\n" % " ".join(str(int(x)) for x in labels))
        f.write("seq_len %d\n" % ids.shape[1])
        for k in range(len(rows_idx)):
            n = int(am[k].sum())
            f.write("ids %d %s\n" % (rows_idx[k], " ".join(str(int(x)) for x in ids[k, :n])))
    f.write("optimizer sgd lr_lower %g lr_upper %g momentum 0 weight_decay 0\n" % (LR_LOW, LR_UP))
    f.write("bidora hypergrad darts2 darts_alpha %g hyper_xi %g orth_lambda %g dora_norm_grad exact\n"
            % (DARTS_ALPHA, XI, ORTH_LAMBDA))
    f.write("lora r %d alpha %d scaling %g target_modules query,value dropout 0 use_dora true\n"
            % (R_RANK, ALPHA, SCALING))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base32 = load_file(os.path.join(MODEL_DIR, "model.safetensors"))
    start = load_file(ADAPTER)
    assert set(start) == set(V_NAMES) | set(M_NAMES), sorted(start)
    V32 = {k: start[k] for k in V_NAMES}
    M32 = {k: start[k] for k in M_NAMES}
    bt, bv = make_batch(ROWS_LOWER), make_batch(ROWS_UPPER)

    # --- check the functional model against PEFT (exact norm gradient) on b_t
    l0, gv0, gm0 = both_grads(lambda V, M: ce(base32, V, M, bt), V32, M32)
    peft_g = load_file(os.path.join(HERE, "peft_dora", "grads_exact.safetensors"))
    worst = 0.0
    for k, gk in list(gv0.items()) + list(gm0.items()):
        ref = peft_g[k]
        worst = max(worst, float(((gk - ref).abs() / (ref.abs() + 1e-2 * ref.abs().max())).max()))
    with open(os.path.join(HERE, "peft_dora", "loss.txt")) as f:
        peft_loss = [float(x.split()[-1]) for x in f if x.startswith("loss_exact step 0 ")][0]
    print("functional model vs PEFT (exact): loss %.9g vs %.9g, worst grad rel err %.2g" % (l0, peft_loss, worst))
    assert abs(l0 - peft_loss) < 1e-6 and worst < 1e-4, (l0, peft_loss, worst)

    # --- float32 pipeline (the C code's precision) and float64 pipeline
    base64 = {k: t.double() for k, t in base32.items()}
    fns = lambda b: (lambda V, M: ce(b, V, M, bt), lambda V, M: ce(b, V, M, bv),  # noqa: E731
                     lambda V: orth_reg(b, V))
    reference(OUTDIR, (V32, M32), fns(base32), fns(base64), lambda f: write_bert_batch(f, bt, bv))


if __name__ == "__main__":
    main()
