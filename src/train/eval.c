/* eval.c: the model over rows in batches, then the loss and metrics. */
#include "eval.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* count x size bytes for what; a failure says how much and for what. */
static void *alloc(size_t count, size_t size, const char *what, int n, bd_err *e) {
    if (size && count > SIZE_MAX / size) {
        bd_errf(e, "evaluating %d rows: %s needs %zu x %zu bytes, more than memory can address", n, what, count, size);
        return NULL;
    }
    void *p = malloc(count && size ? count * size : 1);
    if (!p) bd_errf(e, "evaluating %d rows: out of memory allocating %zu bytes for %s", n, count * size, what);
    return p;
}

int bd_evaluate(const bd_bert *m, const bd_encoded *enc, const int *rows, int n,
                const int *labels, const float *targets, bd_task task, int batch_size,
                int pad_id, bd_eval_result *r, bd_err *e) {
    return bd_evaluate_progress(m, enc, rows, n, labels, targets, task, batch_size, pad_id, NULL, NULL, r, e);
}

int bd_evaluate_progress(const bd_bert *m, const bd_encoded *enc, const int *rows, int n, const int *labels,
                         const float *targets, bd_task task, int batch_size, int pad_id, bd_eval_progress progress,
                         void *ctx, bd_eval_result *r, bd_err *e) {
    memset(r, 0, sizeof *r);
    const int L = m->cfg.num_labels, T = enc->max_length;
    if (batch_size < 1) batch_size = 1;
    if (n <= 0) return bd_errf(e, "nothing to evaluate: 0 rows");
    if (task == BD_TASK_REGRESSION && L != 1)
        return bd_errf(e, "regression needs a 1-output head, the model has %d", L);
    bd_bert_acts a;
    if (bd_bert_acts_alloc(&a, m, batch_size, T, 0, e)) return -1;
    a.head_rows_only = 1; /* the logits need only the first row of each sequence past the last attention */
    const size_t BT = (size_t)batch_size * T;
    int32_t *ids = NULL, *tids = NULL, *lab = NULL;
    float *mask = NULL, *probs = NULL;
    double *px = NULL, *py = NULL;
    int *gold = NULL;
    int rc = -1;
    /* in order, so that the message names the first that failed */
    if (!(ids = alloc(BT, sizeof *ids, "the batch's token ids", n, e)) ||
        !(tids = alloc(BT, sizeof *tids, "the batch's token type ids", n, e)) ||
        !(mask = alloc(BT, sizeof *mask, "the batch's attention mask", n, e)) ||
        !(probs = alloc((size_t)batch_size * L, sizeof *probs, "the batch's probabilities", n, e)) ||
        !(lab = alloc((size_t)batch_size, sizeof *lab, "the batch's labels", n, e)) ||
        !(r->logits = alloc((size_t)n * L, sizeof *r->logits, "the logits (rows x labels)", n, e)) ||
        !(r->pred = alloc((size_t)n, sizeof *r->pred, "the predictions", n, e)) ||
        !(px = alloc((size_t)n, sizeof *px, "the predicted values", n, e)) ||
        !(py = alloc((size_t)n, sizeof *py, "the targets", n, e)) ||
        !(gold = alloc((size_t)n, sizeof *gold, "the gold labels", n, e)))
        goto out;
    r->n = n; r->num_labels = L; r->task = task;
    double loss_sum = 0.0;
    for (int s = 0; s < n; s += batch_size) {
        int B = n - s < batch_size ? n - s : batch_size;
        int Tb = bd_make_batch(enc, rows + s, B, pad_id, ids, tids, mask);
        bd_bert_forward(m, &a, ids, tids, mask, B, Tb, NULL);
        float *z = r->logits + (size_t)s * L;
        m->be->download(m->be, z, a.logits, sizeof(float) * (size_t)B * L);
        if (bd_be_check(m->be, e)) goto out;
        if (task == BD_TASK_CLASSIFICATION) {
            for (int b = 0; b < B; b++) lab[b] = labels[rows[s + b]];
            loss_sum += (double)bd_xent_fwd(probs, z, lab, B, L) * B;
        } else {
            for (int b = 0; b < B; b++) {
                double d = (double)z[b] - targets[rows[s + b]];
                loss_sum += d * d;
            }
        }
        if (progress) progress(s + B, n, ctx);
    }
    r->loss = loss_sum / n;
    for (int i = 0; i < n; i++) {
        const float *z = r->logits + (size_t)i * L;
        int best = 0;
        for (int l = 1; l < L; l++) if (z[l] > z[best]) best = l;
        r->pred[i] = best;
        if (task == BD_TASK_CLASSIFICATION) gold[i] = labels[rows[i]];
        else { px[i] = z[0]; py[i] = targets[rows[i]]; }
    }
    if (task == BD_TASK_CLASSIFICATION) {
        if (bd_cls_metrics_compute(&r->cls, r->pred, gold, n, L, e)) goto out;
    } else {
        r->pearson = bd_pearson(px, py, n);
        if (bd_spearman(px, py, n, &r->spearman, e)) goto out;
    }
    rc = 0;
out:
    bd_bert_acts_free(&a);
    free(ids); free(tids); free(mask); free(probs); free(lab); free(px); free(py); free(gold);
    if (rc) bd_eval_result_free(r);
    return rc;
}

void bd_eval_result_free(bd_eval_result *r) {
    free(r->logits);
    free(r->pred);
    r->logits = NULL;
    r->pred = NULL;
}
