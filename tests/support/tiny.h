/* tiny.h: shared fixture of the C tests: padded batches of tests/ref/tiny.csv
 * for the tiny reference BERT (tests/ref/tiny_bert, labels negative /
 * neutral / positive). Failures end the test through cmocka's fail_msg. */
#ifndef BD_TEST_TINY_H
#define BD_TEST_TINY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "model.h"
#include "safetensors.h"
#include "trainable.h"

#define TINY_REF "tests/ref/"

/* Rows rows[n] of tiny.csv (text, and text_b when pair), tokenized with the
 * tiny model's vocabulary at max_length and padded to the longest: fills
 * ids, type_ids, mask [n * max_length] and labels [n]; returns T. */
int tiny_batch(const int *rows, int n, int pair, int max_length, int32_t *ids, int32_t *type_ids,
               float *mask, int32_t *labels);

/* Rows idx[n] (all of them when idx is NULL; n then the capacity) of a reference batch file
 * (tests/ref/tiny_{roberta,esm}_batch.json: token id rows, "pad", "labels"), right-padded with
 * the pad id to the longest of them: ids and mask [n * max_t], labels [n]. Returns T; *rows_out
 * (when not NULL) the rows taken. */
int tiny_json_rows(const char *path, const int *idx, int n, int max_t, int32_t *ids, float *mask, int32_t *labels,
                   int *rows_out);

/* A fresh directory /tmp/bd_TAG_XXXXXX for a test's files (at most 32 live at once), and
 * the removal of all of them with the plain files in them (a cmocka teardown). */
const char *tiny_tmp_dir(const char *tag);
int tiny_tmp_dirs_remove(void **state);

/* Test files: DIR/NAME holding text; FROM/NAME copied to TO/NAME, bytes as they are. */
void tiny_put_file(const char *dir, const char *name, const char *text);
void tiny_copy_file(const char *from_dir, const char *to_dir, const char *name);
/* A tokenizer directory that must load; one that must be refused with one line that begins
 * with the directory and says want1 (and want2 when not NULL). */
struct bd_tokenizer;
struct bd_tokenizer *tiny_tok_load(const char *dir);
void tiny_tok_refused(const char *dir, const char *want1, const char *want2);

/* Expected logits of a transformers reference file (header row, then text,label,logit_0..
 * logit_{L-1} per row) into out[max_rows * L]; returns the rows read. */
int tiny_read_logits(const char *path, float *out, int max_rows, int L);

/* Max over elements of |a - b| / max(|b|, floor): the measure against transformers. */
double tiny_max_rel_err(const float *a, const float *b, size_t n, double floor_);

/* Our tensor (n floats at p) against the named tensor of a reference
 * safetensors file: the largest |p_i - ref_i| / max(|ref_i|, 1% of the
 * tensor's largest |ref|) (both are float32 sums in different orders; the
 * floor keeps the check about the tensor, not about rounding of its tiny
 * elements). Fails the test when the tensor is missing or sized otherwise. */
double tiny_cmp_tensor(const bd_st *st, const char *name, const float *p, size_t n);
/* Every adapter tensor of t (A, B and DoRA's m; their gradients when grads) against the same-named
 * tensors of a PEFT file: the largest tiny_cmp_tensor. */
double tiny_cmp_adapters(const bd_st *st, const bd_trainable *t, int grads);
/* A training-mode forward of the B x T batch (dropout masks from seed), the mean cross-entropy
 * over the model's labels, and with backward every gradient of t (zeroed first). */
double tiny_xent_step(const bd_bert *m, bd_bert_acts *a, bd_trainable *t, const int32_t *ids, const int32_t *tids,
                      const float *mask, const int32_t *labels, int B, int T, uint64_t seed, int backward);
/* A reference JSON string as a C string: U+0000 (which a C string cannot hold) becomes U+0001, a
 * control character every tokenizer here treats alike. */
char *tiny_without_nul(const json_t *s);

/* k random elements of w[n] against the analytic gradient g[n] by central differences of
 * loss(ctx) in float32 (step 1e-2; pass: |fd - g| <= 3e-4 + 3e-2 |g|): the mismatches (each
 * printed), *worst the largest error / tolerance. For wiring checks of whole models; the ops
 * themselves are checked in double (test_ops_grad). */
struct bd_rng;
int tiny_fd_check(const char *name, float *w, const float *g, size_t n, int k, struct bd_rng *r, double *worst,
                  double (*loss)(void *ctx), void *ctx);
/* The value after "KEY" on a line of a reference loss.txt (fails the test when absent). */
double tiny_ref_loss(const char *loss_txt, const char *key);

#endif
