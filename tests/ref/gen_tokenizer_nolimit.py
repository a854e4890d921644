#!/usr/bin/env python3
"""Generate tests/ref/tokenizer_nolimit/: tiny_bert's vocabulary saved by transformers'
BertTokenizer.save_pretrained for a tokenizer made without model_max_length.

transformers then writes "model_max_length": int(1e30) = 1000000000000000019884624838656
(VERY_LARGE_INTEGER), an integer beyond 64 bits that bidora must read as valid JSON
(issue 11, item 11; tests/cli/bad_model.sh). Run from the repository root:
    tests/ref/.venv/bin/python tests/ref/gen_tokenizer_nolimit.py
Needs only transformers (no torch). Output is deterministic.
"""
import json
import os

from transformers import BertTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "ref", "tokenizer_nolimit")

tok = BertTokenizer(os.path.join(ROOT, "tests", "ref", "tiny_bert", "vocab.txt"), do_lower_case=True)
assert tok.model_max_length == int(1e30), tok.model_max_length
tok.save_pretrained(OUT)
with open(os.path.join(OUT, "tokenizer_config.json")) as f:
    assert json.load(f)["model_max_length"] == 1000000000000000019884624838656
print("wrote", sorted(os.listdir(OUT)))
