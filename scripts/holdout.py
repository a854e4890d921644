"""holdout.py IN.csv N_EVAL SEED POOL.csv EVAL.csv: split a CSV's data rows into a
seeded held-out evaluation set of N_EVAL rows and the pool of the others (both
keep the header and the original order); written to temporary names and renamed."""
import csv, os, random, sys

src, n, seed, pool_path, eval_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(src, newline="", encoding="utf-8-sig") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
held = set(random.Random(seed).sample(range(len(body)), n))
for path, keep in ((eval_path, True), (pool_path, False)):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(r for i, r in enumerate(body) if (i in held) == keep)
    os.replace(tmp, path)
