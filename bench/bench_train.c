/* bench_train: training step time of full fine-tuning, LoRA, DoRA and
 * BiDoRA (darts2, darts1, darts2 with upper_every 4) on the CPU, for the
 * real MiniLM (if fetched) and a BERT-base-shaped random model (12 layers,
 * 768 wide), batch 32 x length 128, next to the measured sgemm rate. Each
 * method runs in its own child process so its peak memory (ru_maxrss) is
 * its own. Ratios are measured side by side in one run. Two more rows time
 * darts2's +-eps passes alone: as run (two passes of B rows) and as one pass
 * of 2B rows (what one double batch would cost at best). Two more time the
 * cheaper upper steps: darts2 with the +-eps passes on B/4 rows of the lower
 * batch (hyper_batch_size) and darts1 on val batches of B/2 rows
 * (val_batch_size).
 * usage: bench_train [minilm|bert-base|all] [steps]   (env BENCH_STEPS) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bilevel.h"
#include "model.h"
#include "optim.h"
#include "trainable.h"

enum { B = 32, T = 128 };

/* hyper_rows, val_rows: rows of the +-eps passes and of the val batch (0: B).
 * pm_rows: time only darts2's two dL/dM-only (+-eps) passes: as BiDoRA runs
 * them (two passes of B rows), or as one pass of 2B rows, which bounds what
 * running them as one double batch could save (the same products). */
typedef struct method { const char *name; bd_method m; int darts2, upper_every, hyper_rows, val_rows, pm_rows; } method;
static const method methods[] = {
    {"full", BD_METHOD_FULL, 0, 0, 0, 0, 0},
    {"lora", BD_METHOD_LORA, 0, 0, 0, 0, 0},
    {"dora", BD_METHOD_DORA, 0, 0, 0, 0, 0},
    {"bidora-darts2", BD_METHOD_BIDORA, 1, 1, 0, 0, 0},
    {"bidora-darts1", BD_METHOD_BIDORA, 0, 1, 0, 0, 0},
    {"bidora-darts2-every4", BD_METHOD_BIDORA, 1, 4, 0, 0, 0},
    {"darts2, +-eps on B/4", BD_METHOD_BIDORA, 1, 1, B / 4, 0, 0},
    {"darts1, val batch B/2", BD_METHOD_BIDORA, 0, 1, 0, B / 2, 0},
    {"+-eps passes 2 x B", BD_METHOD_BIDORA, 1, 1, 0, 0, B},
    {"+-eps as one 2B batch", BD_METHOD_BIDORA, 1, 1, 0, 0, 2 * B},
};
#define N_METHODS (int)(sizeof methods / sizeof methods[0])

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Matrix-product FLOPs of one forward + backward (dX always; dW when trained). */
static double matmul_flops(const bd_bert_config *c, int full) {
    double H = c->hidden, I = c->intermediate, tok = (double)B * T;
    double lin = 2.0 * tok * (4 * H * H + 2 * H * I);     /* forward linears */
    double attn = 2.0 * 2.0 * tok * T * H;                /* QK^T and PV */
    return c->n_layers * (lin * (full ? 3 : 2) + attn * 3);
}

static int load_model(bd_bert *m, const char *which, bd_err *e) {
    if (!strcmp(which, "minilm")) return bd_bert_load(m, "models/all-MiniLM-L6-v2", 2, 1, e);
    bd_bert_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "bert");
    c.vocab_size = 30522; c.hidden = 768; c.n_layers = 12; c.n_heads = 12; c.intermediate = 3072;
    c.max_pos = 512; c.type_vocab = 2; c.ln_eps = 1e-12f; c.act = BD_ACT_GELU; c.initializer_range = 0.02f;
    c.hidden_dropout = 0.1f; c.attn_dropout = 0.1f; c.classifier_dropout = 0.1f;
    return bd_bert_init_random(m, &c, 2, 1, e);
}

/* Child: time `steps` steps of method k after one warm-up; print "ms_median ms_min". */
static int child(const char *which, int k, int steps, int fd) {
    const method *me = &methods[k];
    bd_err e = {{0}};
    bd_bert m;
    if (load_model(&m, which, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    bd_adapter_opts o = {me->m, 4, 8.0f, 0, 0.0f, (1u << BD_MOD_QUERY) | (1u << BD_MOD_VALUE), 1};
    bd_trainable t;
    bd_bert_acts a;
    bd_bilevel bl;
    bd_optim od, om;
    const int rows = me->pm_rows ? me->pm_rows : B;
    if (bd_trainable_init(&t, &m, &o, 2, &e) || bd_bert_acts_alloc(&a, &m, rows, T, 1, &e) ||
        bd_bilevel_init(&bl, &m, &t, &a, rows, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    bl.darts2 = me->darts2;
    bd_group *gv = me->m == BD_METHOD_FULL ? &t.full : &t.dir;
    if (bd_optim_init(&od, BD_OPT_ADAMW, gv->n, 0.9f, 0.98f, 1e-6f, 0.01f, &e) ||
        bd_optim_init(&om, BD_OPT_ADAMW, t.mag.n, 0.9f, 0.98f, 1e-6f, 0.0f, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
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
    if (me->upper_every > 1) steps = (steps + me->upper_every - 1) / me->upper_every * me->upper_every;
    double *ms = malloc(sizeof(double) * (size_t)(steps + 1));
    float *h = malloc(sizeof(float) * (t.mag.n + 1));
    for (int s = 0; s <= steps; s++) {
        double t0 = now_s(), loss, R, vl;
        if (me->pm_rows) {
            for (int k2 = 0; k2 < 2 * B / rows; k2++)
                if (bd_batch_loss(&bl, &lower, BD_GRADS_MAG, &loss, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
            ms[s] = (now_s() - t0) * 1e3;
            continue;
        }
        if (bd_batch_loss(&bl, &lower, BD_GRADS_ALL, &loss, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
        if (me->m == BD_METHOD_BIDORA && bd_orth_add(&bl, 1e-5, &R, &e)) return 1;
        bd_optim_step(&od, gv->w, gv->g, 1e-4f);
        if (me->m == BD_METHOD_DORA) bd_optim_step(&om, t.mag.w, t.mag.g, 1e-4f);
        if (me->m == BD_METHOD_BIDORA && s % me->upper_every == 0) {
            if (bd_hypergrad(&bl, &hyper, &val, h, &vl, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
            bd_optim_step(&om, t.mag.w, h, 1e-4f);
        }
        ms[s] = (now_s() - t0) * 1e3;
    }
    /* upper_every k: average over whole k-step cycles, else the median */
    double med;
    if (me->upper_every > 1) {
        double sum = 0;
        int n = (steps / me->upper_every) * me->upper_every;
        for (int s = 1; s <= n; s++) sum += ms[s];
        med = n ? sum / n : ms[1];
    } else {
        qsort(ms + 1, (size_t)steps, sizeof *ms, cmp_d);
        med = ms[1 + steps / 2];
    }
    char line[128];
    int n = snprintf(line, sizeof line, "%.3f %.6g\n", med, matmul_flops(&m.cfg, me->m == BD_METHOD_FULL));
    if (write(fd, line, (size_t)n) != n) return 1;
    return 0;
}

static void bench_shape(const char *which, int steps) {
    if (!strcmp(which, "minilm") && access("models/all-MiniLM-L6-v2/model.safetensors", R_OK)) {
        printf("skipped MiniLM: models/all-MiniLM-L6-v2 is missing (run: make model)\n\n");
        return;
    }
    printf("== %s, batch %d x %d tokens, rank 4 on query,value, %d timed steps after 1 warm-up\n",
           !strcmp(which, "minilm") ? "all-MiniLM-L6-v2 (6 layers, 384 wide)" : "BERT-base shape (12 layers, 768 wide, random)",
           B, T, steps);
    double g = bd_sgemm_gflops(B * T, 768, 768, 1.5);
    printf("measured sgemm rate at %dx768x768: %.1f GFLOP/s\n", B * T, g);
    printf("%-22s %10s %9s %12s %10s %10s\n", "method", "step ms", "x LoRA", "matmul GF/s", "% sgemm", "peak MiB");
    printf("(matmul GF/s: the matrix products' FLOPs of one step over its time, full/LoRA/DoRA only)\n");
    double lora_ms = 0, lora_rss = 0;
    for (int k = 0; k < N_METHODS; k++) {
        int p[2];
        if (pipe(p)) return;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) { close(p[0]); _exit(child(which, k, steps, p[1])); }
        close(p[1]);
        char buf[128] = {0};
        ssize_t got = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        int status;
        struct rusage ru;
        wait4(pid, &status, 0, &ru);
        double ms, flops;
        if (got <= 0 || sscanf(buf, "%lf %lf", &ms, &flops) != 2) { printf("%-22s failed\n", methods[k].name); continue; }
        double rss = ru.ru_maxrss / 1024.0;
        if (k == 1) { lora_ms = ms; lora_rss = rss; }
        double gf = flops / (ms * 1e-3) * 1e-9;
        char ratio[32] = "", rate[32] = "", pct[32] = "", mem[48] = "";
        if (k >= 1 && lora_ms > 0) snprintf(ratio, sizeof ratio, "%.2fx", ms / lora_ms);
        if (k <= 2) { snprintf(rate, sizeof rate, "%.1f", gf); snprintf(pct, sizeof pct, "%.0f%%", 100 * gf / g); }
        if (k >= 2 && lora_rss > 0) snprintf(mem, sizeof mem, "  (%.3fx LoRA)", rss / lora_rss);
        printf("%-22s %10.1f %9s %12s %10s %10.0f%s\n", methods[k].name, ms, ratio, rate, pct, rss, mem);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    int steps = argc > 2 ? atoi(argv[2]) : getenv("BENCH_STEPS") ? atoi(getenv("BENCH_STEPS")) : 4;
    if (steps < 1) steps = 1;
    if (!strcmp(which, "all") || !strcmp(which, "minilm")) bench_shape("minilm", steps);
    if (!strcmp(which, "all") || !strcmp(which, "bert-base")) bench_shape("bert-base", steps);
    return 0;
}
