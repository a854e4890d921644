"""subsample.py IN.csv N SEED OUT.csv: a seeded random subset of N data rows
(header kept, original order kept), written to a temporary name and renamed."""
import csv, os, random, sys

src, n, seed, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(src, newline="", encoding="utf-8-sig") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
keep = sorted(random.Random(seed).sample(range(len(body)), n))
tmp = dst + ".tmp"
with open(tmp, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(body[i] for i in keep)
os.replace(tmp, dst)
