#include "tiny.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "encode.h"
#include "tokenizer.h"

int tiny_batch(const int *rows, int n, int pair, int max_length, int32_t *ids, int32_t *type_ids,
               float *mask, int32_t *labels) {
    bd_err e = {{0}};
    bd_csv_opts co = {"text", pair ? "text_b" : NULL, "label", BD_TASK_CLASSIFICATION};
    bd_dataset ds;
    if (bd_dataset_load(&ds, TINY_REF "tiny.csv", &co, &e)) fail_msg("%s", e.msg);
    char *names[3] = {"negative", "neutral", "positive"};
    bd_labels L = {3, names};
    if (bd_dataset_map_labels(&ds, &L, &e)) fail_msg("%s", e.msg);
    bd_tokenizer *tok = bd_tok_load(TINY_REF "tiny_bert", &e);
    bd_encoded enc;
    if (!tok || bd_encode_dataset(&enc, &ds, tok, max_length, &e)) fail_msg("%s", e.msg);
    int T = bd_make_batch(&enc, rows, n, bd_tok_pad_id(tok), ids, type_ids, mask);
    for (int b = 0; b < n; b++) labels[b] = ds.label[rows[b]];
    bd_encoded_free(&enc);
    bd_tok_free(tok);
    bd_dataset_free(&ds);
    return T;
}

int tiny_read_logits(const char *path, float *out, int max_rows, int L) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    int n = 0;
    while (n < max_rows && fgets(line, sizeof line, f)) {
        char *p = line;
        for (int skip = 0; skip < 2; skip++) { p = strchr(p, ','); assert_non_null(p); p++; }
        for (int l = 0; l < L; l++) {
            out[n * L + l] = strtof(p, &p);
            if (*p == ',') p++;
        }
        n++;
    }
    fclose(f);
    return n;
}

double tiny_max_rel_err(const float *a, const float *b, size_t n, double floor_) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), floor_);
        if (d > worst) worst = d;
    }
    return worst;
}
