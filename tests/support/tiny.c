#include "tiny.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

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
