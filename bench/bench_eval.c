/* bench_eval: eval throughput (rows/s) of the BERT forward pass on the CPU,
 * next to this machine's measured sgemm rate, and the fraction of that rate
 * the forward reaches. Uses the real MiniLM and dataset when present
 * (make model data), else says what it skipped.
 * usage: bench_eval [MODEL_DIR] [CSV] [ROWS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "model.h"
#include "parallel.h"
#include "tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* FLOPs of the forward for one batch of B rows padded to T. */
static double forward_flops(const bd_bert_config *c, int B, int T) {
    double H = c->hidden, I = c->intermediate, tok = (double)B * T;
    double per_tok = 2.0 * (4 * H * H + 2 * H * I) + 2.0 * 2.0 * T * H;
    return c->n_layers * tok * per_tok + 2.0 * B * (H * H + H * c->num_labels);
}

int main(int argc, char **argv) {
    bd_blas_env(argv); /* as bidora runs: src/backend/parallel.h */
    const char *dir = argc > 1 ? argv[1] : "models/all-MiniLM-L6-v2";
    const char *csv = argc > 2 ? argv[2] : "datasets/data/rotten_tomatoes.csv";
    int rows_wanted = argc > 3 ? atoi(argv[3]) : 512;
    const int batch = 32, max_len = 128;
    bd_err e = {{0}};
    printf("== bench_eval: BERT forward on the CPU (batch %d, rows padded to the batch's longest)\n", batch);
    double g_small = bd_sgemm_gflops(batch * 48, 384, 384, 1.0);
    double g_ffn = bd_sgemm_gflops(batch * 48, 1536, 384, 1.0);
    double g_big = bd_sgemm_gflops(1024, 1024, 1024, 1.0);
    printf("sgemm rate (OpenBLAS, measured): %.1f GFLOP/s at 1536x384x384, %.1f at 1536x1536x384, %.1f at 1024^3\n",
           g_small, g_ffn, g_big);
    bd_bert m;
    bd_tokenizer *tok = NULL;
    bd_dataset ds;
    bd_csv_opts co = {"text", NULL, "label", BD_TASK_CLASSIFICATION};
    if (bd_dataset_load(&ds, csv, &co, &e)) {
        printf("skipped eval throughput: %s (run: make model data)\n", e.msg);
        return 0;
    }
    bd_labels L;
    if (bd_labels_from_dataset(&L, &ds, &e) || bd_dataset_map_labels(&ds, &L, &e) ||
        bd_bert_load(&m, dir, L.n, 0, &e) || !(tok = bd_tok_load(dir, &e))) {
        printf("skipped eval throughput: %s (run: make model data)\n", e.msg);
        return 0;
    }
    bd_encoded enc;
    if (bd_encode_dataset(&enc, &ds, tok, max_len, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
    int n = rows_wanted < ds.n_rows ? rows_wanted : ds.n_rows;
    int *rows = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) rows[i] = i;
    double flops = 0.0;
    for (int s = 0; s < n; s += batch) {
        int B = n - s < batch ? n - s : batch, T = 1;
        for (int b = 0; b < B; b++) if (enc.len[rows[s + b]] > T) T = enc.len[rows[s + b]];
        flops += forward_flops(&m.cfg, B, T);
    }
    bd_eval_result r;
    /* one warm-up pass over a batch, then the timed run */
    if (bd_evaluate(&m, &enc, rows, batch < n ? batch : n, ds.label, NULL, BD_TASK_CLASSIFICATION, batch,
                    bd_tok_pad_id(tok), &r, &e)) { fprintf(stderr, "%s\n", e.msg); return 2; }
    bd_eval_result_free(&r);
    double t0 = now_s();
    if (bd_evaluate(&m, &enc, rows, n, ds.label, NULL, BD_TASK_CLASSIFICATION, batch, bd_tok_pad_id(tok), &r, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    double dt = now_s() - t0;
    double gf = flops / dt * 1e-9;
    printf("model %s (%d layers, hidden %d), data %s: %d rows\n", dir, m.cfg.n_layers, m.cfg.hidden, csv, n);
    printf("eval throughput: %.1f rows/s (%.2f s), forward %.1f GFLOP/s = %.0f%% of the measured sgemm rate at the FFN shape\n",
           n / dt, dt, gf, 100.0 * gf / g_ffn);
    bd_eval_result_free(&r);
    free(rows);
    bd_encoded_free(&enc);
    bd_tok_free(tok);
    bd_bert_free(&m);
    bd_labels_free(&L);
    bd_dataset_free(&ds);
    return 0;
}
