/* eval.h: run the model over rows and score it. */
#ifndef BD_EVAL_H
#define BD_EVAL_H

#include "dataset.h"
#include "encode.h"
#include "metrics.h"
#include "model.h"

typedef struct bd_eval_result {
    int n, num_labels;
    bd_task task;
    double loss;             /* mean cross-entropy, or MSE for regression */
    bd_cls_metrics cls;      /* classification */
    double pearson, spearman; /* regression */
    float *logits;           /* [n, num_labels] */
    int *pred;               /* [n] argmax (classification) */
} bd_eval_result;

/* Evaluate rows[0..n) of enc in batches. labels[row] (classification) or
 * targets[row] (regression) are indexed by dataset row. */
int bd_evaluate(const bd_bert *m, const bd_encoded *enc, const int *rows, int n,
                const int *labels, const float *targets, bd_task task, int batch_size,
                int pad_id, bd_eval_result *r, bd_err *e);
/* The same, calling progress(rows done, n, ctx) after each batch (progress may be NULL). */
typedef void (*bd_eval_progress)(int done, int n, void *ctx);
int bd_evaluate_progress(const bd_bert *m, const bd_encoded *enc, const int *rows, int n, const int *labels,
                         const float *targets, bd_task task, int batch_size, int pad_id, bd_eval_progress progress,
                         void *ctx, bd_eval_result *r, bd_err *e);
void bd_eval_result_free(bd_eval_result *r);

#endif
