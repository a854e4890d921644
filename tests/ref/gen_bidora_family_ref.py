#!/usr/bin/env python3
"""One BiDoRA phase-1 iteration (darts2 hypergradient) on tests/ref/tiny_roberta and tests/ref/tiny_esm
(issue 15), the same iteration and the same files as gen_bidora_ref.py writes for tiny_bert, with the model
taken from transformers + PEFT instead of re-implemented: RobertaForSequenceClassification /
EsmForSequenceClassification (eager attention, eval mode) wrapped by PeftModel.from_pretrained with the
DoRA adapter of peft_{roberta,esm}_dora/, PEFT's DoraLinearLayer.forward without its two .detach() calls
(the exact gradient through the row norms, gen_peft_ref.dora_forward_exact), and V and M handed to the
model through functional_call (torch.nn.utils.stateless), so that plain autograd differentiates the iteration twice.

Run:  tests/ref/.venv/bin/python tests/ref/gen_bidora_family_ref.py   (after gen_peft_roberta.py and
      gen_esm_ref.py; about 5 s)

V = {lora_A, lora_B of query and value in every layer, the whole classification head (PEFT's
modules_to_save: classifier.dense and classifier.out_proj)}, M = {the lora_magnitude_vector}.
b_t = the even rows of tiny_{roberta,esm}_batch.json, b_v = the odd rows, each right-padded with <pad>
to its longest row. R, the learning rates, darts_alpha, xi and the float32 / float64 pipelines are
gen_bidora_ref.py's. Writes bidora_roberta_ref/ and bidora_esm_ref/ (see tests/ref/README.md).
"""
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F
from peft import PeftModel
from peft.tuners.lora import dora as peft_dora
from torch.nn.utils.stateless import functional_call  # torch 1.13 (torch.func from 2.0)
from transformers import EsmForSequenceClassification, RobertaForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_bidora_ref import (DARTS_ALPHA, LR_LOW, LR_UP, ORTH_LAMBDA, XI, both_grads,  # noqa: E402
                            reference)
from gen_peft_ref import dora_forward_exact, file_name  # noqa: E402
from gen_roberta_ref import padded  # noqa: E402

FAMILIES = [
    ("roberta", RobertaForSequenceClassification, "tiny_roberta", "tiny_roberta_batch.json"),
    ("esm", EsmForSequenceClassification, "tiny_esm", "tiny_esm_batch.json"),
]


def load(cls, model_dir, adapter_dir):
    base = cls.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    return model, cfg["lora_alpha"] / cfg["r"]


def split_params(model):
    """{on-disk name: parameter name} for V (A, B, the head) and M (the magnitudes), in model order."""
    V, M = {}, {}
    for n, _ in model.named_parameters():
        if ".lora_magnitude_vector." in n:
            M[file_name(n)] = n
        elif ".lora_A." in n or ".lora_B." in n or ".modules_to_save.default." in n:
            V[file_name(n)] = n
    return V, M


def functions(model, vmap, mmap, scaling, bt, bv):
    """(CE on b_t, CE on b_v, R) of (V, M) dicts keyed by on-disk names, for model's dtype."""
    params = dict(model.named_parameters())

    def ce(V, M, batch):
        ids, am, labels = batch
        p = {vmap[k]: t for k, t in V.items()}
        p.update({mmap[k]: t for k, t in M.items()})
        logits = functional_call(model, p, args=(), kwargs=dict(input_ids=ids, attention_mask=am)).logits
        return F.cross_entropy(logits, labels)   # mean over the batch

    pairs = []   # (lora_A name, lora_B name, W0) of every adapted matrix
    for k, n in vmap.items():
        if k.endswith(".lora_A.weight"):
            pairs.append((k, k.replace(".lora_A.", ".lora_B."),
                          params[n.replace(".lora_A.default.weight", ".base_layer.weight")].detach()))

    def orth_reg(V):
        """R(V) = (1/N) sum_l ||D_l D_l^T - I||_F (NOT squared), D_l = rows of W0 + s B A normalised."""
        total = 0.0
        for a, b, W0 in pairs:
            Wp = W0 + scaling * (V[b] @ V[a])
            D = Wp / torch.sqrt((Wp * Wp).sum(dim=1, keepdim=True))
            G = D @ D.t() - torch.eye(D.shape[0], dtype=D.dtype)
            total = total + torch.sqrt((G * G).sum())
        return total / len(pairs)

    return (lambda V, M: ce(V, M, bt), lambda V, M: ce(V, M, bv), orth_reg)


def batch_of(rows, labels, idx, pad):
    ids, am = padded([rows[i] for i in idx], pad)
    return ids, am, torch.tensor([labels[i] for i in idx])


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    peft_dora.DoraLinearLayer.forward = dora_forward_exact
    for prefix, cls, model_name, batch_file in FAMILIES:
        adapter_dir = os.path.join(HERE, "peft_%s_dora" % prefix)
        model, scaling = load(cls, os.path.join(HERE, model_name), adapter_dir)
        vmap, mmap = split_params(model)
        params = dict(model.named_parameters())
        V32 = {k: params[n].detach().clone() for k, n in vmap.items()}
        M32 = {k: params[n].detach().clone() for k, n in mmap.items()}
        with open(os.path.join(HERE, batch_file)) as f:
            b = json.load(f)
        rows, labels, pad = b["rows"], b["labels"], b["pad"]
        lower, upper = list(range(0, len(rows), 2)), list(range(1, len(rows), 2))
        bt, bv = batch_of(rows, labels, lower, pad), batch_of(rows, labels, upper, pad)

        # the functional model against PEFT: the loss of PEFT's own run on the whole batch
        ball = batch_of(rows, labels, list(range(len(rows))), pad)
        l0, _, _ = both_grads(lambda V, M: functions(model, vmap, mmap, scaling, ball, ball)[0](V, M), V32, M32)
        with open(os.path.join(adapter_dir, "loss.txt")) as f:
            peft_loss = [float(x.split()[-1]) for x in f if x.startswith("loss step 0 ")][0]
        print("%s: functional_call loss %.9g vs PEFT's %.9g" % (model_name, l0, peft_loss))
        assert abs(l0 - peft_loss) < 1e-6, (l0, peft_loss)

        model64 = copy.deepcopy(model).double()

        def write_batch(f):
            f.write("# two batches of the rows of %s (right-padded with %d to the longest row of each);\n"
                    "# each block starts with 'batch lower' (b_t) or 'batch upper' (b_v)\n" % (batch_file, pad))
            for name, idx, bb in (("lower", lower, bt), ("upper", upper, bv)):
                f.write("batch %s\nrows %s\n" % (name, " ".join(str(x) for x in idx)))
                f.write("labels %s\nseq_len %d\n" % (" ".join(str(int(x)) for x in bb[2]), bb[0].shape[1]))
            f.write("optimizer sgd lr_lower %g lr_upper %g momentum 0 weight_decay 0\n" % (LR_LOW, LR_UP))
            f.write("bidora hypergrad darts2 darts_alpha %g hyper_xi %g orth_lambda %g dora_norm_grad exact\n"
                    % (DARTS_ALPHA, XI, ORTH_LAMBDA))
            f.write("adapter %s (scaling %g)\n" % (os.path.basename(adapter_dir), scaling))

        print("%s: V %d tensors (%d values), M %d tensors (%d values)" % (
            model_name, len(V32), sum(t.numel() for t in V32.values()), len(M32),
            sum(t.numel() for t in M32.values())))
        reference(os.path.join(HERE, "bidora_%s_ref" % prefix), (V32, M32),
                  functions(model, vmap, mmap, scaling, bt, bv),
                  functions(model64, vmap, mmap, scaling, bt, bv),
                  write_batch)


if __name__ == "__main__":
    main()
