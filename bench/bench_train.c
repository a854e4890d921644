/* bench_train: training step time of full fine-tuning, LoRA, DoRA and
 * BiDoRA (darts2, darts1, darts2 with upper_every 4) on the CPU or the CUDA
 * backend, for the MiniLM-L6 shape (the real all-MiniLM-L6-v2 if fetched, else
 * a random model of its config: 6 layers, 384 wide, 12 heads, 1536
 * intermediate, vocab 30522) and a BERT-base-shaped random model (12 layers,
 * 768 wide), batch 32 x length 128, next to the measured sgemm rate (OpenBLAS
 * on the CPU, cuBLAS on CUDA). Each method runs in its own child process so
 * its peak memory is its own: ru_maxrss on the CPU, the device pool's
 * high-water mark (be->peak_bytes) on CUDA. Ratios are measured side by side
 * in one run. Two more rows time darts2's +-eps passes alone: as run (two
 * passes of B rows) and as one pass of 2B rows (what one double batch would
 * cost at best). Two more time the cheaper upper steps: darts2 with the +-eps
 * passes on B/4 rows of the lower batch (hyper_batch_size) and darts1 on val
 * batches of B/2 rows (val_batch_size).
 *
 * usage: bench_train [--backend cpu|cuda] [--tf32] [--steps N] [--warmup N]
 *                    [--methods K,K,...] [--csv FILE] [--no-sgemm] [minilm|bert-base|all] [steps]
 *        bench_train --probe [--tf32]   (opens the CUDA backend, runs one product; exit 0 when it works)
 * steps: timed steps after the warm-up (default 4, or env BENCH_STEPS); method keys: full lora dora
 * darts2 darts1 every4 darts2-q darts1-h pm-2xB pm-2B (default: all of them).
 * On CUDA every step ends with be->sync before the clock is read. Each method's row gives the
 * trainable parameters and the step-to-step spread, max |t_i - median| / median over the timed
 * steps (upper_every k: over the k-step cycles' means), and the next line every timed step's ms.
 * --no-sgemm skips the sgemm yardstick (1.5 s; make bench-torch runs one method per call).
 * --csv appends one line per method: impl,backend,shape,precision,method,ms_per_step,peak_bytes,
 * trainable,spread_pct,times_ms (the timed steps' ms, separated by ';'). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bilevel.h"
#include "bench_stats.h"
#include "parallel.h"
#include "model.h"
#include "optim.h"
#include "trainable.h"

enum { B = 32, T = 128 };

/* hyper_rows, val_rows: rows of the +-eps passes and of the val batch (0: B).
 * pm_rows: time only darts2's two dL/dM-only (+-eps) passes: as BiDoRA runs
 * them (two passes of B rows), or as one pass of 2B rows, which bounds what
 * running them as one double batch could save (the same products). */
typedef struct method {
    const char *name, *key;
    bd_method m;
    int darts2, upper_every, hyper_rows, val_rows, pm_rows;
} method;
static const method methods[] = {
    {"full", "full", BD_METHOD_FULL, 0, 0, 0, 0, 0},
    {"lora", "lora", BD_METHOD_LORA, 0, 0, 0, 0, 0},
    {"dora", "dora", BD_METHOD_DORA, 0, 0, 0, 0, 0},
    {"bidora-darts2", "darts2", BD_METHOD_BIDORA, 1, 1, 0, 0, 0},
    {"bidora-darts1", "darts1", BD_METHOD_BIDORA, 0, 1, 0, 0, 0},
    {"bidora-darts2-every4", "every4", BD_METHOD_BIDORA, 1, 4, 0, 0, 0},
    {"darts2, +-eps on B/4", "darts2-q", BD_METHOD_BIDORA, 1, 1, B / 4, 0, 0},
    {"darts1, val batch B/2", "darts1-h", BD_METHOD_BIDORA, 0, 1, 0, B / 2, 0},
    {"+-eps passes 2 x B", "pm-2xB", BD_METHOD_BIDORA, 1, 1, 0, 0, B},
    {"+-eps as one 2B batch", "pm-2B", BD_METHOD_BIDORA, 1, 1, 0, 0, 2 * B},
};
#define N_METHODS (int)(sizeof methods / sizeof methods[0])
enum { K_LORA = 1, K_DORA = 2 };

/* the run's settings (set once by main, read by the children) */
static struct {
    int cuda, tf32, steps, warmup, no_sgemm;
    const char *csv;
    char only[256]; /* ",key,key," or "" for every method */
} opt = {0, 0, 4, 1, 0, NULL, ""};
enum { MAX_LISTED = 200 }; /* timed steps listed one by one (the median and spread use them all) */
static int failures; /* methods (or backends) that failed: main's exit status */

static int selected(int k) {
    if (!opt.only[0]) return 1;
    char key[48];
    snprintf(key, sizeof key, ",%s,", methods[k].key);
    return strstr(opt.only, key) != NULL;
}

/* The backend a child computes on: the CPU's, or a new CUDA backend. */
static bd_backend *open_backend(bd_err *e) {
    return opt.cuda ? bd_backend_cuda(opt.tf32, e) : bd_backend_cpu();
}

/* Matrix-product FLOPs of one forward + backward (dX always; dW when trained). */
static double matmul_flops(const bd_bert_config *c, int full) {
    double H = c->hidden, I = c->intermediate, tok = (double)B * T;
    double lin = 2.0 * tok * (4 * H * H + 2 * H * I);     /* forward linears */
    double attn = 2.0 * 2.0 * tok * T * H;                /* QK^T and PV */
    return c->n_layers * (lin * (full ? 3 : 2) + attn * 3);
}

static int have_minilm(void) { return !access("models/all-MiniLM-L6-v2/model.safetensors", R_OK); }

/* minilm: the real model when fetched, else a random one of its config; bert-base: random. */
static int load_model(bd_bert *m, const char *which, bd_err *e) {
    const int mini = !strcmp(which, "minilm");
    if (mini && have_minilm()) return bd_bert_load(m, "models/all-MiniLM-L6-v2", 2, 1, e);
    bd_bert_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "bert");
    c.vocab_size = 30522; c.max_pos = 512; c.type_vocab = 2; c.ln_eps = 1e-12f; c.act = BD_ACT_GELU;
    c.initializer_range = 0.02f; c.hidden_dropout = 0.1f; c.attn_dropout = 0.1f; c.classifier_dropout = 0.1f;
    if (mini) { c.hidden = 384; c.n_layers = 6; c.n_heads = 12; c.intermediate = 1536; }
    else { c.hidden = 768; c.n_layers = 12; c.n_heads = 12; c.intermediate = 3072; }
    return bd_bert_init_random(m, &c, 2, 1, e);
}

static int fail_msg(const bd_err *e) {
    fprintf(stderr, "bench_train: %s\n", e->msg);
    return 1;
}

/* Child: time opt.steps steps of method k after opt.warmup warm-up steps; write
 * "ms_median flops peak_bytes trainable spread_pct t1;t2;..." (the timed steps in order) to fd. */
static int child(const char *which, int k, int fd) {
    const method *me = &methods[k];
    bd_err e = {{0}};
    bd_bert m;
    if (load_model(&m, which, &e)) return fail_msg(&e);
    bd_backend *be = open_backend(&e);
    if (!be || bd_bert_to_backend(&m, be, &e)) return fail_msg(&e);
    bd_adapter_opts o = {me->m, 4, 8.0f, 0, 0.0f, (1u << BD_MOD_QUERY) | (1u << BD_MOD_VALUE), 1};
    bd_trainable t;
    bd_bert_acts a;
    bd_bilevel bl;
    bd_optim od, om;
    const int rows = me->pm_rows ? me->pm_rows : B;
    if (bd_trainable_init(&t, &m, &o, 2, &e) || bd_bert_acts_alloc(&a, &m, rows, T, 1, &e) ||
        bd_bilevel_init(&bl, &m, &t, &a, rows, &e)) return fail_msg(&e);
    bl.darts2 = me->darts2;
    bd_group *gv = me->m == BD_METHOD_FULL ? &t.full : &t.dir;
    if (bd_optim_init_on(&od, be, BD_OPT_ADAMW, gv->n, 0.9f, 0.98f, 1e-6f, 0.01f, &e) ||
        bd_optim_init_on(&om, be, BD_OPT_ADAMW, t.mag.n, 0.9f, 0.98f, 1e-6f, 0.0f, &e)) return fail_msg(&e);
    static int32_t ids[2][2 * B * T], tids[2][2 * B * T], lab[2][2 * B];
    static float mask[2][2 * B * T];
    bd_rng r;
    bd_rng_seed(&r, 5);
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 2 * B * T; i++) { ids[s][i] = 1000 + (int)bd_rng_below(&r, 20000); tids[s][i] = 0; mask[s][i] = 1; }
        for (int b = 0; b < 2 * B; b++) lab[s][b] = (int32_t)bd_rng_below(&r, 2);
    }
    bd_batch lower = {ids[0], tids[0], mask[0], lab[0], NULL, rows, T, BD_TASK_CLASSIFICATION, 1};
    bd_batch val = {ids[1], tids[1], mask[1], lab[1], NULL, me->val_rows ? me->val_rows : B, T,
                    BD_TASK_CLASSIFICATION, 2};
    bd_batch hyper = lower; /* the first hyper_rows rows of the lower batch, as the trainer takes them */
    if (me->hyper_rows) hyper.B = me->hyper_rows;
    int steps = opt.steps;
    const int warm = opt.warmup;
    if (me->upper_every > 1) steps = (steps + me->upper_every - 1) / me->upper_every * me->upper_every;
    double *ms = malloc(sizeof(double) * (size_t)(warm + steps));
    /* the hypergradient overwrites the magnitude gradient, as the trainer's upper step does */
    float *h = t.mag.g;
    if (!ms) { fprintf(stderr, "bench_train: out of memory\n"); return 1; }
    for (int s = 0; s < warm + steps; s++) {
        const int cycle = s - warm; /* < 0: a warm-up step */
        double t0 = now_s(), loss, R, vl;
        if (me->pm_rows) {
            for (int k2 = 0; k2 < 2 * B / rows; k2++)
                if (bd_batch_loss(&bl, &lower, BD_GRADS_MAG, &loss, &e)) return fail_msg(&e);
        } else {
            if (bd_batch_loss(&bl, &lower, BD_GRADS_ALL, &loss, &e)) return fail_msg(&e);
            if (me->m == BD_METHOD_BIDORA && bd_orth_add(&bl, 1e-5, &R, &e)) return fail_msg(&e);
            bd_optim_step(&od, gv->w, gv->g, 1e-4f);
            if (me->m == BD_METHOD_DORA) bd_optim_step(&om, t.mag.w, t.mag.g, 1e-4f);
            /* warm-up steps run the upper step too; then every upper_every-th timed step */
            if (me->m == BD_METHOD_BIDORA && (cycle < 0 || cycle % me->upper_every == 0)) {
                if (bd_hypergrad(&bl, &hyper, &val, h, &vl, &e)) return fail_msg(&e);
                bd_optim_step(&om, t.mag.w, h, 1e-4f);
            }
        }
        be->sync(be); /* the step's work is done (on CUDA the ops are asynchronous) */
        if (bd_be_check(be, &e)) return fail_msg(&e);
        ms[s] = (now_s() - t0) * 1e3;
    }
    /* upper_every k: average over whole k-step cycles (the spread over the cycles' means), else
     * the median (the spread over the steps) */
    double med, spread;
    double *tm = ms + warm;
    char list[MAX_LISTED * 16 + 8];
    times_list(list, sizeof list, tm, steps < MAX_LISTED ? steps : MAX_LISTED);
    if (me->upper_every > 1) {
        const int every = me->upper_every, cycles = steps / every;
        double sum = 0;
        for (int s = 0; s < steps; s++) sum += tm[s];
        med = sum / steps;
        for (int c = 0; c < cycles; c++) {
            double cs = 0;
            for (int s = 0; s < every; s++) cs += tm[c * every + s];
            tm[c] = cs / every; /* the listed times are printed already */
        }
        spread = spread_pct(tm, cycles, med);
    } else {
        qsort(tm, (size_t)steps, sizeof *tm, cmp_d);
        med = tm[steps / 2];
        spread = spread_pct(tm, steps, med);
    }
    size_t trainable = me->m == BD_METHOD_FULL ? t.full.n : t.dir.n + t.mag.n;
    char line[sizeof list + 160];
    int n = snprintf(line, sizeof line, "%.3f %.6g %zu %zu %.2f %s\n", med,
                     matmul_flops(&m.cfg, me->m == BD_METHOD_FULL), be->peak_bytes, trainable, spread, list);
    if (n < 0 || (size_t)n >= sizeof line || write(fd, line, (size_t)n) != n) return 1;
    return 0;
}

/* Child: cuBLAS's rate (GFLOP/s) at M x N x K through be->gemm, median of repeats in ~budget s;
 * writes "gflops device" to fd. */
static int child_gemm(int M, int N, int K, double budget, int fd) {
    bd_err e = {{0}};
    bd_backend *be = open_backend(&e);
    if (!be) return fail_msg(&e);
    float *A = bd_be_allocf(be, (size_t)M * K, "A"), *Bm = bd_be_allocf(be, (size_t)K * N, "B"),
          *Cm = bd_be_allocf(be, (size_t)M * N, "C");
    if (bd_be_check(be, &e)) return fail_msg(&e);
    be->zero(be, A, sizeof(float) * (size_t)M * K);
    be->zero(be, Bm, sizeof(float) * (size_t)K * N);
    double rates[64];
    int n = 0;
    const double start = now_s();
    for (int w = 0; w < 3; w++) be->gemm(be, 0, 1, M, N, K, 1.0f, A, K, Bm, K, 0.0f, Cm, N);
    be->sync(be);
    while (n < 64 && (n < 5 || now_s() - start < budget)) {
        const int reps = 10;
        double t0 = now_s();
        for (int i = 0; i < reps; i++) be->gemm(be, 0, 1, M, N, K, 1.0f, A, K, Bm, K, 0.0f, Cm, N);
        be->sync(be);
        rates[n++] = 2.0 * M * N * K * reps / (now_s() - t0) * 1e-9;
    }
    if (bd_be_check(be, &e)) return fail_msg(&e);
    qsort(rates, (size_t)n, sizeof *rates, cmp_d);
    char line[256];
    int len = snprintf(line, sizeof line, "%.1f %s\n", rates[n / 2], be->device);
    return write(fd, line, (size_t)len) == len ? 0 : 1;
}

/* Run f in a child process; its one line of output into buf; *ru its resources. 0 when it wrote one. */
typedef int (*child_fn)(const char *which, int k, int fd);
static int in_child(const char *which, int k, child_fn f, char *buf, size_t n, struct rusage *ru) {
    int p[2];
    if (pipe(p)) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); return -1; }
    if (pid == 0) { close(p[0]); _exit(f(which, k, p[1])); }
    close(p[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(p[0], buf + got, n - 1 - got)) > 0) got += (size_t)r;
    buf[got] = 0;
    close(p[0]);
    int status;
    wait4(pid, &status, 0, ru);
    return got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int gemm_child(const char *which, int k, int fd) {
    (void)which; (void)k;
    return child_gemm(B * T, 768, 768, 1.5, fd);
}

static const char *precision(void) { return !opt.cuda ? "fp32" : opt.tf32 ? "tf32" : "fp32"; }

static void csv_row(const char *which, const char *key, double ms, double peak_bytes, size_t trainable,
                    double spread, const char *times) {
    if (!opt.csv) return;
    FILE *f = fopen(opt.csv, "a");
    if (!f) { fprintf(stderr, "bench_train: %s: cannot append\n", opt.csv); return; }
    fprintf(f, "bidora,%s,%s,%s,%s,%.3f,%.0f,%zu,%.2f,%s\n", opt.cuda ? "cuda" : "cpu", which, precision(), key, ms,
            peak_bytes, trainable, spread, times);
    fclose(f);
}

static void bench_shape(const char *which, int steps) {
    const int mini = !strcmp(which, "minilm");
    const char *title = !mini ? "BERT-base shape (12 layers, 768 wide, random)"
                        : have_minilm() ? "all-MiniLM-L6-v2 (6 layers, 384 wide)"
                                        : "MiniLM-L6 shape (6 layers, 384 wide, random: models/all-MiniLM-L6-v2 is missing)";
    if (opt.cuda)
        printf("== %s, batch %d x %d tokens, rank 4 on query,value, %d timed steps after %d warm-up, CUDA %s\n",
               title, B, T, steps, opt.warmup, opt.tf32 ? "tf32 = on" : "fp32");
    else
        printf("== %s, batch %d x %d tokens, rank 4 on query,value, %d timed steps after %d warm-up\n", title, B, T,
               steps, opt.warmup);
    double g = 0;
    if (opt.cuda) {
        char buf[256];
        struct rusage ru;
        if (in_child(which, 0, gemm_child, buf, sizeof buf, &ru) || sscanf(buf, "%lf", &g) != 1) {
            printf("the CUDA backend did not open (see above)\n\n");
            failures++;
            return;
        }
        char *dev = strchr(buf, ' ');
        if (dev) dev[strcspn(dev, "\n")] = 0;
        printf("device: %s\n", dev ? dev + 1 : "?");
        printf("measured cuBLAS sgemm rate at %dx768x768%s: %.1f GFLOP/s\n", B * T, opt.tf32 ? " (TF32)" : "", g);
    } else if (opt.no_sgemm) {
        printf("sgemm rate: not measured (--no-sgemm)\n");
    } else {
        g = bd_sgemm_gflops(B * T, 768, 768, 1.5);
        printf("measured sgemm rate at %dx768x768: %.1f GFLOP/s\n", B * T, g);
    }
    printf("%-22s %10s %9s %12s %10s %10s %11s %9s\n", "method", "step ms", "x LoRA", "matmul GF/s", "% sgemm",
           "peak MiB", "trainable", "spread");
    printf("(matmul GF/s: the matrix products' FLOPs of one step over its time, full/LoRA/DoRA only%s;\n"
           " spread: max |t_i - median| / median over the timed steps; \"steps\": each timed step's ms)\n",
           opt.cuda ? "; peak MiB: the device pool's high-water mark" : "");
    double lora_ms = 0, lora_mem = 0;
    for (int k = 0; k < N_METHODS; k++) {
        if (!selected(k)) continue;
        char buf[MAX_LISTED * 16 + 200], times[MAX_LISTED * 16 + 8] = "";
        struct rusage ru;
        double ms, flops, peak, spread = 0;
        size_t trainable = 0;
        int off = 0;
        if (in_child(which, k, child, buf, sizeof buf, &ru) ||
            sscanf(buf, "%lf %lf %lf %zu %lf %n", &ms, &flops, &peak, &trainable, &spread, &off) != 5 || !off) {
            printf("%-22s failed\n", methods[k].name);
            failures++;
            continue;
        }
        snprintf(times, sizeof times, "%s", buf + off);
        times[strcspn(times, "\n")] = 0;
        double mem = opt.cuda ? peak / 1048576.0 : ru.ru_maxrss / 1024.0;
        if (k == K_LORA) { lora_ms = ms; lora_mem = mem; }
        double gf = flops / (ms * 1e-3) * 1e-9;
        char ratio[32] = "", rate[32] = "", pct[32] = "", memr[48] = "", tr[32] = "";
        if (k >= K_LORA && lora_ms > 0) snprintf(ratio, sizeof ratio, "%.2fx", ms / lora_ms);
        if (k <= K_DORA) {
            snprintf(rate, sizeof rate, "%.1f", gf);
            if (g > 0) snprintf(pct, sizeof pct, "%.0f%%", 100 * gf / g);
        }
        if (k >= K_DORA && lora_mem > 0) snprintf(memr, sizeof memr, "  (%.3fx LoRA)", mem / lora_mem);
        snprintf(tr, sizeof tr, "%zu", trainable);
        printf("%-22s %10.1f %9s %12s %10s %10.0f %11s %8.1f%%%s\n", methods[k].name, ms, ratio, rate, pct, mem, tr,
               spread, memr);
        printf("%-22s %s\n", "  steps", times);
        csv_row(which, methods[k].key, ms, opt.cuda ? peak : ru.ru_maxrss * 1024.0, trainable, spread, times);
    }
    printf("\n");
}

/* --probe: the CUDA backend opens and runs a product and a reduction on the device. */
static int probe(void) {
    bd_err e = {{0}};
    bd_backend *be = bd_backend_cuda(opt.tf32, &e);
    if (!be) { printf("%s\n", e.msg); return 1; }
    enum { N = 64 };
    static float host[N * N];
    for (int i = 0; i < N * N; i++) host[i] = (float)(i % 7) - 3.0f;
    double want = 0; /* ||A A^T||^2, the entries exact in float */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double d = 0;
            for (int q = 0; q < N; q++) d += (double)host[i * N + q] * host[j * N + q];
            want += d * d;
        }
    float *A = bd_be_allocf(be, N * N, "probe A"), *C = bd_be_allocf(be, N * N, "probe C");
    double got = -1;
    if (A && C) {
        be->upload(be, A, host, sizeof host);
        be->gemm(be, 0, 1, N, N, N, 1.0f, A, N, A, N, 0.0f, C, N);
        got = be->sumsq(be, C, N * N);
    }
    int rc = 0;
    if (bd_be_check(be, &e)) { printf("CUDA backend failed: %s\n", e.msg); rc = 1; }
    else if (fabs(got - want) > 1e-3 * want) { printf("CUDA backend failed: a 64x64 product's sum of squares is %.9g, want %.9g\n", got, want); rc = 1; }
    else printf("CUDA backend works: %s\n", be->device);
    bd_backend_close(be);
    return rc;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_train [--backend cpu|cuda] [--tf32] [--steps N] [--warmup N] [--methods K,...]\n"
                    "                   [--csv FILE] [--no-sgemm] [minilm|bert-base|all] [steps]\n"
                    "       bench_train --probe [--tf32]\n"
                    "method keys:");
    for (int k = 0; k < N_METHODS; k++) fprintf(stderr, " %s", methods[k].key);
    fprintf(stderr, "\n");
    return 2;
}

int main(int argc, char **argv) {
    bd_blas_env(); /* as bidora runs: src/backend/parallel.h */
    const char *which = NULL, *env = getenv("BENCH_STEPS");
    int steps = env ? atoi(env) : 4, do_probe = 0, npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cuda")) opt.cuda = 1;
            else if (!strcmp(b, "cpu")) opt.cuda = 0;
            else return usage();
        } else if (!strcmp(a, "--tf32")) opt.tf32 = 1;
        else if (!strcmp(a, "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc) opt.warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--methods") && i + 1 < argc) {
            snprintf(opt.only, sizeof opt.only, ",%s,", argv[++i]);
            for (char *c = opt.only; *c; c++) if (*c == ' ') *c = ',';
        } else if (!strcmp(a, "--csv") && i + 1 < argc) opt.csv = argv[++i];
        else if (!strcmp(a, "--no-sgemm")) opt.no_sgemm = 1;
        else if (!strcmp(a, "--probe")) do_probe = 1;
        else if (a[0] == '-') return usage();
        else if (npos == 0) { which = a; npos++; }
        else if (npos == 1) { steps = atoi(a); npos++; }
        else return usage();
    }
    if (do_probe) return probe();
    if (!which) which = "all";
    if (strcmp(which, "all") && strcmp(which, "minilm") && strcmp(which, "bert-base")) return usage();
    if (opt.only[0]) {
        int any = 0;
        for (int k = 0; k < N_METHODS; k++) any |= selected(k);
        if (!any) return usage();
    }
    if (steps < 1) steps = 1;
    if (opt.warmup < 0) opt.warmup = 0;
    opt.steps = steps;
    if (opt.csv && access(opt.csv, F_OK)) {
        FILE *f = fopen(opt.csv, "w");
        if (f) {
            fputs(BENCH_CSV_HEADER, f);
            fclose(f);
        }
    }
    if (!strcmp(which, "all") || !strcmp(which, "minilm")) bench_shape("minilm", steps);
    if (!strcmp(which, "all") || !strcmp(which, "bert-base")) bench_shape("bert-base", steps);
    return failures ? 1 : 0;
}
