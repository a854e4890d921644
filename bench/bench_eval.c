/* bench_eval: eval throughput (rows/s) of the BERT forward pass on the CPU,
 * next to this machine's measured sgemm rate, and the fraction of that rate
 * the forward reaches. Uses the real MiniLM and dataset when present
 * (make model data), else says what it skipped.
 *
 * A pass is one bd_evaluate (what `bidora eval` runs: batches padded to their
 * longest row, forward, logits, loss, metrics) over the first ROWS rows of CSV
 * in batches of 32, max 128 tokens (tokenized once, before the clock); or, with
 * --fixed, over one batch of 32 x 128 random token ids (bench_train's: 1000 +
 * below(20000), seed 5; every token real), which needs only the model. Each
 * pass is timed on its own: --passes N prints their median, the spread
 * max |t_i - median| / median and every pass's ms; --warmup N runs N untimed
 * passes first (default: one batch, untimed). Peak memory is the process's
 * ru_maxrss. --no-sgemm skips the sgemm yardstick (3 s). --csv appends one line
 * in bench_train's format: impl,backend,shape,precision,method (eval-text or
 * eval-fixed),ms_per_step (per pass),peak_bytes,trainable (here: the model's
 * parameters, all frozen),spread_pct,times_ms.
 *
 * usage: bench_eval [--fixed] [--passes N] [--warmup N] [--no-sgemm] [--csv FILE]
 *                   [MODEL_DIR] [CSV] [ROWS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "model.h"
#include "bench_stats.h"
#include "parallel.h"
#include "rng.h"
#include "tokenizer.h"

enum { BATCH = 32, MAX_LEN = 128, MAX_PASSES = 1000 };

/* FLOPs of the forward for one batch of B rows padded to T. */
static double forward_flops(const bd_bert_config *c, int B, int T) {
    double H = c->hidden, I = c->intermediate, tok = (double)B * T;
    double per_tok = 2.0 * (4 * H * H + 2 * H * I) + 2.0 * 2.0 * T * H;
    return c->n_layers * tok * per_tok + 2.0 * B * (H * H + H * c->num_labels);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_eval [--fixed] [--passes N] [--warmup N] [--no-sgemm] [--csv FILE]\n"
                    "                  [MODEL_DIR] [CSV] [ROWS]\n");
    return 2;
}

/* --fixed's data: BATCH rows of MAX_LEN random ids, and their labels */
static int fixed_rows(bd_encoded *enc, int **labels) {
    memset(enc, 0, sizeof *enc);
    const size_t n = (size_t)BATCH * MAX_LEN;
    enc->n = BATCH;
    enc->max_length = MAX_LEN;
    enc->ids = malloc(sizeof(int32_t) * n);
    enc->type_ids = calloc(n, sizeof(int32_t));
    enc->len = malloc(sizeof(int) * BATCH);
    *labels = malloc(sizeof(int) * BATCH);
    if (!enc->ids || !enc->type_ids || !enc->len || !*labels) return -1;
    bd_rng r;
    bd_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) enc->ids[i] = 1000 + (int32_t)bd_rng_below(&r, 20000);
    for (int b = 0; b < BATCH; b++) { enc->len[b] = MAX_LEN; (*labels)[b] = (int)bd_rng_below(&r, 2); }
    return 0;
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    static char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)n, path);
    const char *s = strrchr(buf, '/');
    return s && s[1] ? s + 1 : buf;
}

int main(int argc, char **argv) {
    bd_blas_env(); /* as bidora runs: src/backend/parallel.h */
    const char *pos[3] = {NULL, NULL, NULL}, *csv_out = NULL;
    int fixed = 0, passes = 1, warmup = -1, no_sgemm = 0, npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--fixed")) fixed = 1;
        else if (!strcmp(a, "--passes") && i + 1 < argc) passes = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--no-sgemm")) no_sgemm = 1;
        else if (!strcmp(a, "--csv") && i + 1 < argc) csv_out = argv[++i];
        else if (a[0] == '-' || npos == 3) return usage();
        else pos[npos++] = a;
    }
    if (passes < 1) passes = 1;
    if (passes > MAX_PASSES) passes = MAX_PASSES;
    const char *dir = pos[0] ? pos[0] : "models/all-MiniLM-L6-v2";
    const char *csv = pos[1] ? pos[1] : "datasets/data/rotten_tomatoes.csv";
    int rows_wanted = pos[2] ? atoi(pos[2]) : 512;
    bd_err e = {{0}};
    if (fixed)
        printf("== bench_eval: BERT forward on the CPU (one batch of %d x %d random token ids)\n", BATCH, MAX_LEN);
    else
        printf("== bench_eval: BERT forward on the CPU (batch %d, rows padded to the batch's longest)\n", BATCH);
    double g_ffn = 0;
    if (no_sgemm) {
        printf("sgemm rate: not measured (--no-sgemm)\n");
    } else {
        double g_small = bd_sgemm_gflops(BATCH * 48, 384, 384, 1.0);
        g_ffn = bd_sgemm_gflops(BATCH * 48, 1536, 384, 1.0);
        double g_big = bd_sgemm_gflops(1024, 1024, 1024, 1.0);
        printf("sgemm rate (OpenBLAS, measured): %.1f GFLOP/s at 1536x384x384, %.1f at 1536x1536x384, %.1f at 1024^3\n",
               g_small, g_ffn, g_big);
    }
    bd_bert m;
    bd_tokenizer *tok = NULL;
    bd_dataset ds;
    bd_labels L = {0};
    bd_encoded enc;
    int *labels = NULL, pad_id = 0, n;
    memset(&ds, 0, sizeof ds);
    if (fixed) {
        if (bd_bert_load(&m, dir, 2, 0, &e)) {
            printf("skipped eval throughput: %s (run: make model)\n", e.msg);
            return 0;
        }
        if (fixed_rows(&enc, &labels)) { fprintf(stderr, "bench_eval: out of memory\n"); return 2; }
        n = BATCH;
    } else {
        bd_csv_opts co = {"text", NULL, "label", BD_TASK_CLASSIFICATION};
        if (bd_dataset_load(&ds, csv, &co, &e)) {
            printf("skipped eval throughput: %s (run: make model data)\n", e.msg);
            return 0;
        }
        if (bd_labels_from_dataset(&L, &ds, &e) || bd_dataset_map_labels(&ds, &L, &e) ||
            bd_bert_load(&m, dir, L.n, 0, &e) || !(tok = bd_tok_load(dir, &e))) {
            printf("skipped eval throughput: %s (run: make model data)\n", e.msg);
            return 0;
        }
        if (bd_encode_dataset(&enc, &ds, tok, MAX_LEN, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
        labels = ds.label;
        pad_id = bd_tok_pad_id(tok);
        n = rows_wanted < ds.n_rows ? rows_wanted : ds.n_rows;
    }
    int *rows = malloc(sizeof(int) * (size_t)n);
    double *ms = malloc(sizeof(double) * (size_t)passes);
    if (!rows || !ms) { fprintf(stderr, "bench_eval: out of memory\n"); return 2; }
    for (int i = 0; i < n; i++) rows[i] = i;
    double flops = 0.0;
    long tokens = 0;
    for (int s = 0; s < n; s += BATCH) {
        int B = n - s < BATCH ? n - s : BATCH, T = 1;
        for (int b = 0; b < B; b++) if (enc.len[rows[s + b]] > T) T = enc.len[rows[s + b]];
        flops += forward_flops(&m.cfg, B, T);
        tokens += (long)B * T;
    }
    bd_eval_result r;
    /* warm-up: one batch (the default), or that many untimed passes */
    for (int w = 0; w < (warmup < 0 ? 1 : warmup); w++) {
        if (bd_evaluate(&m, &enc, rows, warmup < 0 && BATCH < n ? BATCH : n, labels, NULL, BD_TASK_CLASSIFICATION,
                        BATCH, pad_id, &r, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
        bd_eval_result_free(&r);
    }
    for (int p = 0; p < passes; p++) {
        double t0 = now_s();
        if (bd_evaluate(&m, &enc, rows, n, labels, NULL, BD_TASK_CLASSIFICATION, BATCH, pad_id, &r, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 2;
        }
        ms[p] = (now_s() - t0) * 1e3;
        bd_eval_result_free(&r);
    }
    char list[MAX_PASSES * 16];
    times_list(list, sizeof list, ms, passes);
    qsort(ms, (size_t)passes, sizeof *ms, cmp_d);
    const double med = ms[passes / 2];
    const double spread = spread_pct(ms, passes, med), dt = med * 1e-3, gf = flops / dt * 1e-9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (fixed)
        printf("model %s (%d layers, hidden %d, %zu parameters): %d rows x %d random tokens\n", dir, m.cfg.n_layers,
               m.cfg.hidden, m.total, n, MAX_LEN);
    else
        printf("model %s (%d layers, hidden %d, %zu parameters), data %s: %d rows, %ld tokens with padding\n", dir,
               m.cfg.n_layers, m.cfg.hidden, m.total, csv, n, tokens);
    printf("eval throughput: %.1f rows/s (%.2f s a pass, median of %d), forward %.1f GFLOP/s", n / dt, dt, passes, gf);
    if (g_ffn > 0) printf(" = %.0f%% of the measured sgemm rate at the FFN shape", 100.0 * gf / g_ffn);
    printf("\npass ms: median %.1f, spread %.1f%%, peak %.0f MiB; passes: %s\n", med, spread, ru.ru_maxrss / 1024.0,
           list);
    if (csv_out) {
        int fresh = access(csv_out, F_OK) != 0;
        FILE *f = fopen(csv_out, "a");
        if (!f) { fprintf(stderr, "bench_eval: %s: cannot append\n", csv_out); return 2; }
        if (fresh) fputs(BENCH_CSV_HEADER, f);
        fprintf(f, "bidora,cpu,%s,fp32,%s,%.3f,%.0f,%zu,%.2f,%s\n", base_name(dir), fixed ? "eval-fixed" : "eval-text",
                med, ru.ru_maxrss * 1024.0, m.total, spread, list);
        fclose(f);
    }
    free(ms);
    free(rows);
    bd_encoded_free(&enc);
    if (fixed) free(labels);
    else {
        bd_tok_free(tok);
        bd_labels_free(&L);
        bd_dataset_free(&ds);
    }
    bd_bert_free(&m);
    return 0;
}
