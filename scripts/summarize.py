"""summarize.py readme|glue RUNS_DIR: tables from the runs' metrics.csv and
config.ini (mean +/- std over seeds). Written by the script, not by hand."""
import csv, glob, math, os, platform, statistics, subprocess, sys
from collections import defaultdict

METHODS = ["lora", "dora", "bidora-darts2", "bidora-darts1", "bidora-every4", "bidora-darts2-q", "bidora-darts1-h"]
LEGEND = {
    "bidora-every4": "darts2 with upper_every = 4",
    "bidora-darts2-q": "darts2 with the +-eps passes on a quarter of the lower batch (hyper_batch_size = batch/4)",
    "bidora-darts1-h": "darts1 on val batches of half the rows (val_batch_size = batch/2)",
}


def read_run(d):
    m = defaultdict(list)  # name -> [(step, value)]
    wall = 0.0
    with open(os.path.join(d, "metrics.csv"), newline="") as f:
        for r in csv.DictReader(f):
            m[r["name"]].append((int(r["step"]), float(r["value"])))
            wall = max(wall, float(r["wall_time"]))
    cfg = {}
    with open(os.path.join(d, "config.ini")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                cfg[k.strip()] = v.strip()
    return m, wall, cfg


def last(m, name):
    return m[name][-1][1] if m.get(name) else float("nan")


def best(m, name):
    return max(v for _, v in m[name]) if m.get(name) else float("nan")


def train_loss_tail(m):
    """Mean train loss over the last 10% of steps (the curve is noisy step to step)."""
    xs = [v for _, v in m.get("train/loss", [])]
    k = max(1, len(xs) // 10)
    return statistics.mean(xs[-k:]) if xs else float("nan")


def ms(xs):
    xs = [x for x in xs if not math.isnan(x)]
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}"


def machine():
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except Exception:
        cpu = platform.processor()
    commit = os.environ.get("BIDORA_COMMIT")  # the commit that built the binary, when it differs
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        except Exception:
            commit = "?"
    return f"{cpu}, {os.cpu_count()} cores; bidora commit {commit}"


def majority(path, label_column):
    """Accuracy of predicting the most frequent label of the CSV at path (None if unreadable)."""
    try:
        with open(path, newline="") as f:
            labels = [r[label_column] for r in csv.DictReader(f)]
    except (OSError, KeyError):
        return None
    if not labels:
        return None
    return max(labels.count(v) for v in set(labels)) / len(labels)


def task_cfgs(groups, task):
    """The config.ini of every finished run of one task (any method)."""
    return [cfg for key, runs in groups.items() if key.startswith(task + "-") for _, _, cfg in runs]


def collect(root):
    groups = defaultdict(list)  # (task, method) -> [run summary]
    for d in sorted(glob.glob(os.path.join(root, "*", "metrics.csv"))):
        d = os.path.dirname(d)
        name = os.path.basename(d)
        if not os.path.isdir(os.path.join(d, "adapter")):
            continue  # unfinished
        task = name.rsplit("-s", 1)[0]
        m, wall, cfg = read_run(d)
        groups[task].append((m, wall, cfg))
    return groups


def table(groups, metric_of, order):
    """order: (run-name prefix, task label, method label) rows. The slope column
    is left out when no run has weight-decomposition metrics (older runs)."""
    slope = any(m.get("wd/query/k") for runs in groups.values() for m, _, _ in runs)
    out = ["| task | method | runs | eval metric (final) | eval metric (best) | eval loss − train loss | "
           + ("slope k, query | " if slope else "") + "wall time (s) |",
           "|---|---|---|---|---|---|---|" + ("---|" if slope else "")]
    for key, task, method in order:
        if key not in groups:
            continue
        runs = groups[key]
        metric = metric_of(task)
        out.append(f"| {task} | {method} | {len(runs)} | {metric}: {ms([last(m, 'eval/' + metric) for m, _, _ in runs])} | "
                   f"{ms([best(m, 'eval/' + metric) for m, _, _ in runs])} | "
                   f"{ms([last(m, 'eval/loss') - train_loss_tail(m) for m, _, _ in runs])} | "
                   + (f"{ms([last(m, 'wd/query/k') for m, _, _ in runs])} | " if slope else "")
                   + f"{ms([w for _, w, _ in runs])} |")
    shown = [m for k, _, m in order if k in groups]
    legend = [f"{m}: {LEGEND[m]}" for m in dict.fromkeys(shown) if m in LEGEND]
    if legend:
        out.append("\nMethods: " + "; ".join(legend) + ".")
    return "\n".join(out)


def main():
    mode = sys.argv[1]
    if mode == "results":
        results(sys.argv[2], sys.argv[3])
        return
    root = sys.argv[2]
    groups = collect(root)
    any_cfg = next(iter(groups.values()))[0][2] if groups else {}
    if mode == "readme":
        print(f"Rotten Tomatoes (datasets/data/rotten_tomatoes.csv), all-MiniLM-L6-v2, 80/20 train/eval split, "
              f"{any_cfg.get('max_steps')} steps of batch {any_cfg.get('batch_size')}, max_length {any_cfg.get('max_length')}; "
              f"machine: {machine()}.\n")
        print(table(groups, lambda t: "accuracy", [(m, "rotten_tomatoes", m) for m in ("lora", "dora", "full")]))
        return
    if mode == "small":
        print(f"Rotten Tomatoes, small-data regime: seeded 500- and 1000-row training samples, scored on 1000 "
              f"held-out rows no run trains on; all-MiniLM-L6-v2, rank {any_cfg.get('rank')} on "
              f"{any_cfg.get('target_modules')}, {any_cfg.get('max_steps')} steps of batch {any_cfg.get('batch_size')}, "
              f"lr {any_cfg.get('lr')}; BiDoRA splits each sample 80/20 into D_tr / D_val, the other methods train on "
              f"all of it; mean ± std over seeds; machine: {machine()}.\n")
        methods = METHODS
        print(table(groups, lambda t: "accuracy", [(f"{t}-{m}", t, m) for t in ("rt500", "rt1000") for m in methods]))
        return
    tasks = ["rte500", "rte1000", "rte", "cola"]
    methods = METHODS
    order = [(f"{t}-{m}", t, m) for t in tasks for m in methods]
    print("# Results: LoRA, DoRA and BiDoRA on GLUE tasks (generated)\n")
    print("Generated by `scripts/experiments.sh glue ../shared/datasets/glue` then `scripts/summarize.py`; "
          "do not edit by hand.\n")
    print(f"- Model: all-MiniLM-L6-v2 (real, pretrained; `make model`), adapters rank {any_cfg.get('rank')} "
          f"alpha {any_cfg.get('alpha')} on {any_cfg.get('target_modules')}.")
    budgets = []
    for t in tasks:
        cfgs = task_cfgs(groups, t)
        if cfgs:
            c = cfgs[0]
            budgets.append(f"{t} {c.get('max_steps')} steps of batch {c.get('batch_size')}, max_length "
                           f"{c.get('max_length')}, lr {c.get('lr')}")
    print(f"- Budget, the same for every method of a task: {'; '.join(budgets)}; AdamW, linear schedule, "
          f"10% warm-up; evaluation on the dev set every quarter of the run.")
    print("- Data: each task's train.csv (RTE-500 / RTE-1000: seeded subsamples of RTE's training set); "
          "BiDoRA splits it 80/20 into D_tr / D_val, the other methods train on all of it; "
          "every method is scored on the task's dev.csv, which no method trains on.")
    print("- Metric: accuracy (RTE), Matthews correlation (CoLA); mean ± std over seeds; "
          "'eval loss − train loss' is the final eval loss minus the mean train loss of the last 10% of steps; "
          "'slope k, query' is the least-squares slope of ΔM against ΔD over the query matrices of every "
          "layer at every evaluation (the DoRA paper's weight-decomposition plot; the BiDoRA paper reports "
          "-8.04 for BiDoRA and -1.78 for DoRA on RoBERTa).")
    print(f"- Machine: {machine()}.\n")
    print(table(groups, lambda t: "mcc" if t == "cola" else "accuracy", order))
    refs = []
    for t in tasks:
        cfgs = task_cfgs(groups, t)
        if cfgs and t.startswith("rte"):
            maj = majority(cfgs[0].get("eval_data", ""), cfgs[0].get("label_column", "label"))
            if maj is not None:
                refs.append(f"RTE dev: predicting its majority class scores accuracy {maj:.3f}")
                break
    refs.append("CoLA: a constant prediction scores MCC 0")
    print("\nFloor: " + "; ".join(refs) + ".")
    print("\nPaper reference points (RoBERTa-base, full GLUE budgets): RTE LoRA 72.9 / DoRA 73.2 / BiDoRA 76.0; "
          "CoLA (MCC) 60.3 / 60.5 / 61.3. MiniLM-L6 with a few hundred CPU steps is far below that budget; "
          "read the table for the relative behaviour of the methods, not for absolute scores.")


def section(mode, root, commit_env):
    """One mode's output as text, with the binary's commit from commit_env when set."""
    import io, contextlib
    if os.environ.get(commit_env):
        os.environ["BIDORA_COMMIT"] = os.environ[commit_env]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        sys.argv = [sys.argv[0], mode, root]
        main()
    return buf.getvalue()


def results(small_root, glue_root):
    """docs/RESULTS.md: the small-data runs, then the GLUE runs, with how to read them."""
    print("# Results: LoRA, DoRA and BiDoRA on real data (generated)\n")
    print("Generated by `scripts/summarize.py results runs/small runs/glue` from the runs of "
          "`scripts/experiments.sh small` and `scripts/experiments.sh glue ../shared/datasets/glue`; "
          "do not edit by hand. Every run is `bidora train` on the real all-MiniLM-L6-v2; the exact "
          "configuration of each is in its run directory's config.ini.\n")
    print("## Small-data regime (Rotten Tomatoes samples)\n")
    if not collect(small_root):
        print(f"No finished runs in {small_root}: run `scripts/experiments.sh small {small_root}`.\n")
    else:
        print(section("small", small_root, "BIDORA_COMMIT_SMALL"))
    print("Reading it: compare the methods row by row within a task; the spread is the standard deviation "
          "over seeds. BiDoRA's direction trains on its 80% D_tr split only (these runs use no phase-2 "
          "retraining, `retrain_steps = 0`) and its magnitude moves only through the hypergradient. "
          "One small budget on a small encoder: this does not reproduce the paper's setting (RoBERTa-base, "
          "full GLUE budgets).\n")
    print("Rerun: `SEEDS=\"1 2\" STEPS=150 BATCH=16 sh scripts/experiments.sh small runs/small` (about 50 "
          "minutes on this machine, one run at a time on both cores), then `scripts/summarize.py results runs/small runs/glue > docs/RESULTS.md`.\n")
    print("## GLUE: RTE, its 500- and 1000-row samples, and CoLA\n")
    print("How these were run (about three and a half hours on this 2-core machine, over three sessions): "
          "two copies of the script side by side, one core each, so every wall time below is one run on one "
          "core while another run used the other core:\n")
    print("```\nexport BIDORA_THREADS=1 OPENBLAS_NUM_THREADS=1 LR=3e-3 STEPS_COLA=800 STEPS_RTE=150 BATCH=16\n"
          "G=../shared/datasets/glue\n"
          "(TASKS=cola SEEDS=\"1 2 3\" sh scripts/experiments.sh glue $G runs/glue; "
          "TASKS=rte1000 SEEDS=\"1 2\" sh scripts/experiments.sh glue $G runs/glue) &\n"
          "TASKS=rte500 SEEDS=\"1 2\" sh scripts/experiments.sh glue $G runs/glue; "
          "TASKS=rte SEEDS=\"1 2 3\" METHODS=\"lora dora bidora-darts2 bidora-darts1 bidora-every4\" "
          "sh scripts/experiments.sh glue $G runs/glue\n```\n")
    print("More seeds: the same commands with more SEEDS (finished runs are skipped); each RTE seed "
          "costs about 35 minutes of one core for the paper's five methods and 14 more for the two cheaper "
          "upper steps, each CoLA seed about 25 and 9. "
          "The runs column says how many seeds finished for each row. The learning rate (3e-3) and the "
          "budgets were chosen from a few LoRA calibration runs (CoLA: MCC stayed 0 through 300 steps "
          "at lr 1e-3, and at lr 3e-3 left 0 only after 600 of 800 steps; full RTE at lr 3e-3: accuracy "
          "0.52-0.56 over 400 steps) and what fits the session; nothing was tuned per method. An earlier "
          "grid at lr 5e-4 and 100 steps left every RTE run at the majority class.\n")
    out = section("glue", glue_root, "BIDORA_COMMIT_GLUE").split("\n")
    # drop the glue mode's own title lines
    print("\n".join(l for l in out if not l.startswith("# Results") and "do not edit by hand" not in l))


if __name__ == "__main__":
    main()
