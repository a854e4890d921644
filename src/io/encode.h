/* encode.h: a tokenized dataset and padded batches built from it. */
#ifndef BD_ENCODE_H
#define BD_ENCODE_H

#include <stdint.h>
#include "dataset.h"
#include "err.h"
#include "tokenizer.h"

typedef struct bd_encoded {
    int n, max_length;
    int32_t *ids, *type_ids;   /* [n * max_length], row r at r * max_length */
    int *len;                  /* [n] tokens in row r */
    int n_truncated;           /* rows that had more than max_length tokens (cut, longest side first) */
} bd_encoded;

/* Tokenize every row of ds ([CLS] text [SEP] (pair [SEP]), truncated to max_length). */
int bd_encode_dataset(bd_encoded *enc, const bd_dataset *ds, const bd_tokenizer *tok,
                      int max_length, bd_err *e);
void bd_encoded_free(bd_encoded *enc);

/* Fill a batch of the B rows listed in rows[], padded to their longest row:
 * ids, type_ids [B*T] (padding = pad_id / 0), mask [B*T] (1 real, 0 pad).
 * Buffers hold B * enc->max_length entries. Returns T. */
int bd_make_batch(const bd_encoded *enc, const int *rows, int B, int pad_id,
                  int32_t *ids, int32_t *type_ids, float *mask);

#endif
