#include "encode.h"

#include <stdlib.h>
#include <string.h>

int bd_encode_dataset(bd_encoded *enc, const bd_dataset *ds, const bd_tokenizer *tok,
                      int max_length, bd_err *e) {
    memset(enc, 0, sizeof *enc);
    if (max_length < 3) return bd_errf(e, "max_length %d is too small (at least 3)", max_length);
    enc->n = ds->n_rows;
    enc->max_length = max_length;
    size_t cells = (size_t)ds->n_rows * max_length;
    enc->ids = malloc(sizeof(int32_t) * (cells ? cells : 1));
    enc->type_ids = malloc(sizeof(int32_t) * (cells ? cells : 1));
    enc->len = malloc(sizeof(int) * (size_t)(ds->n_rows ? ds->n_rows : 1));
    if (!enc->ids || !enc->type_ids || !enc->len) {
        bd_encoded_free(enc);
        return bd_errf(e, "out of memory tokenizing %d rows", ds->n_rows);
    }
    /* one token more tells whether a row was cut (counted, for the log) */
    int32_t *probe = malloc(sizeof(int32_t) * 2 * ((size_t)max_length + 1));
    if (!probe) {
        bd_encoded_free(enc);
        return bd_errf(e, "out of memory tokenizing %d rows", ds->n_rows);
    }
    for (int r = 0; r < ds->n_rows; r++) {
        size_t off = (size_t)r * max_length;
        const char *pair = ds->text_pair ? ds->text_pair[r] : NULL;
        int longer = 0;
        if (bd_tok_encode(tok, ds->text[r], pair, max_length, enc->ids + off, enc->type_ids + off, &enc->len[r], e) ||
            (enc->len[r] == max_length &&
             bd_tok_encode(tok, ds->text[r], pair, max_length + 1, probe, probe + max_length + 1, &longer, e))) {
            bd_err_prefix(e, "%s:%d", ds->path, ds->line ? ds->line[r] : r + 2);
            free(probe);
            bd_encoded_free(enc);
            return -1;
        }
        enc->n_truncated += longer > max_length;
    }
    free(probe);
    return 0;
}

void bd_encoded_free(bd_encoded *enc) {
    free(enc->ids);
    free(enc->type_ids);
    free(enc->len);
    memset(enc, 0, sizeof *enc);
}

int bd_make_batch(const bd_encoded *enc, const int *rows, int B, int pad_id,
                  int32_t *ids, int32_t *type_ids, float *mask) {
    int T = 1;
    for (int b = 0; b < B; b++) if (enc->len[rows[b]] > T) T = enc->len[rows[b]];
    for (int b = 0; b < B; b++) {
        int r = rows[b], n = enc->len[r];
        const int32_t *src = enc->ids + (size_t)r * enc->max_length;
        const int32_t *tsrc = enc->type_ids + (size_t)r * enc->max_length;
        for (int t = 0; t < T; t++) {
            size_t o = (size_t)b * T + t;
            ids[o] = t < n ? src[t] : pad_id;
            type_ids[o] = t < n ? tsrc[t] : 0;
            mask[o] = t < n ? 1.0f : 0.0f;
        }
    }
    return T;
}
