/* The BERT forward pass against transformers: tests/ref/gen_ref.py wrote a
 * tiny random BertForSequenceClassification and the logits transformers
 * computes for tests/ref/tiny.csv (batches of 8, padded, max_length 64).
 * The same weights stored as F16, BF16, sharded, without the "bert."
 * prefix and with gamma/beta names must load to the same model. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tiny.h"
#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "model.h"
#include "tokenizer.h"

#define REF "tests/ref/"

static void run_logits_case(const char *model_dir, const char *expected, const char *pair_col) {
    bd_err e = {{0}};
    bd_csv_opts co = {"text", pair_col, "label", BD_TASK_CLASSIFICATION};
    bd_dataset ds;
    if (bd_dataset_load(&ds, REF "tiny.csv", &co, &e)) fail_msg("%s", e.msg);
    bd_labels L;
    bd_bert m;
    if (bd_bert_load(&m, model_dir, 3, 0, &e)) fail_msg("%s", e.msg);
    assert_true(m.loaded_head);
    assert_non_null(m.cfg.id2label);
    L.n = 3;
    L.names = m.cfg.id2label;
    if (bd_dataset_map_labels(&ds, &L, &e)) fail_msg("%s", e.msg);
    bd_tokenizer *tok = bd_tok_load(model_dir, &e);
    if (!tok) fail_msg("%s", e.msg);
    bd_encoded enc;
    if (bd_encode_dataset(&enc, &ds, tok, 64, &e)) fail_msg("%s", e.msg);
    int *rows = malloc(sizeof(int) * (size_t)ds.n_rows);
    for (int i = 0; i < ds.n_rows; i++) rows[i] = i;
    bd_eval_result r;
    if (bd_evaluate(&m, &enc, rows, ds.n_rows, ds.label, NULL, BD_TASK_CLASSIFICATION, 8,
                    bd_tok_pad_id(tok), &r, &e)) fail_msg("%s", e.msg);
    float *want = malloc(sizeof(float) * (size_t)ds.n_rows * 3);
    int n = tiny_read_logits(expected, want, ds.n_rows, 3);
    assert_int_equal(n, ds.n_rows);
    double err = tiny_max_rel_err(r.logits, want, (size_t)n * 3, 1e-2);
    printf("%-28s %s: %d rows, max rel err %.3g\n", model_dir + strlen(REF), pair_col ? "pair" : "single", n, err);
    assert_true(err < 1e-4);
    free(want);
    free(rows);
    bd_eval_result_free(&r);
    bd_encoded_free(&enc);
    bd_tok_free(tok);
    bd_bert_free(&m);
    bd_dataset_free(&ds);
}

static void test_f32(void **s) { (void)s; run_logits_case(REF "tiny_bert", REF "tiny_logits.csv", NULL); }
static void test_pair(void **s) { (void)s; run_logits_case(REF "tiny_bert", REF "tiny_logits_pair.csv", "text_b"); }
static void test_f16(void **s) { (void)s; run_logits_case(REF "tiny_bert_f16", REF "tiny_logits_f16.csv", NULL); }
static void test_bf16(void **s) { (void)s; run_logits_case(REF "tiny_bert_bf16", REF "tiny_logits_bf16.csv", NULL); }
static void test_sharded(void **s) { (void)s; run_logits_case(REF "tiny_bert_sharded", REF "tiny_logits.csv", NULL); }
static void test_gamma(void **s) { (void)s; run_logits_case(REF "tiny_bert_gamma", REF "tiny_logits.csv", NULL); }

/* A checkpoint without a head (plain BertModel names, no "bert." prefix)
 * loads the same encoder and gets a seeded fresh classifier. */
static void test_nohead(void **s) {
    (void)s;
    bd_err e = {{0}};
    bd_bert full, bare, bare2;
    if (bd_bert_load(&full, REF "tiny_bert", 3, 0, &e)) fail_msg("%s", e.msg);
    if (bd_bert_load(&bare, REF "tiny_bert_nohead", 5, 7, &e)) fail_msg("%s", e.msg);
    if (bd_bert_load(&bare2, REF "tiny_bert_nohead", 5, 7, &e)) fail_msg("%s", e.msg);
    assert_false(bare.loaded_head);
    assert_int_equal(bare.cfg.num_labels, 5);
    const bd_param *pf = bd_bert_find_param(&full, "bert.encoder.layer.1.output.dense.weight");
    const bd_param *pb = bd_bert_find_param(&bare, "bert.encoder.layer.1.output.dense.weight");
    assert_memory_equal(full.data + pf->offset, bare.data + pb->offset, pf->numel * sizeof(float));
    assert_memory_equal(bare.cls_w, bare2.cls_w, sizeof(float) * 5 * (size_t)bare.cfg.hidden);
    /* the fresh head is not all zeros and has the configured spread */
    double ss = 0;
    for (int i = 0; i < 5 * bare.cfg.hidden; i++) ss += (double)bare.cls_w[i] * bare.cls_w[i];
    double sd = sqrt(ss / (5 * bare.cfg.hidden));
    assert_true(sd > 0.5 * bare.cfg.initializer_range && sd < 1.5 * bare.cfg.initializer_range);
    bd_bert_free(&full); bd_bert_free(&bare); bd_bert_free(&bare2);
}

/* A head whose class count differs from the task's is refused by name. */
static void test_head_mismatch(void **s) {
    (void)s;
    bd_err e = {{0}};
    bd_bert m;
    assert_int_equal(bd_bert_load(&m, REF "tiny_bert", 2, 0, &e), -1);
    assert_non_null(strstr(e.msg, "classifier.weight"));
    assert_non_null(strstr(e.msg, "tiny_bert/model.safetensors"));
}

/* Ids outside the tables never index them (issue 11, item 7): a word id
 * outside [0, vocab_size) reads as pad_token_id, a type id outside
 * [0, type_vocab_size) as 0; the logits equal those of the replaced ids. */
static void test_ids_out_of_range(void **s) {
    (void)s;
    bd_err e = {{0}};
    bd_bert m;
    bd_bert_acts a;
    if (bd_bert_load(&m, REF "tiny_bert", 3, 0, &e)) fail_msg("%s", e.msg);
    if (bd_bert_acts_alloc(&a, &m, 1, 8, 0, &e)) fail_msg("%s", e.msg);
    const int V = m.cfg.vocab_size, pad = m.cfg.pad_token_id;
    int32_t bad[8] = {2, 40, V, V + 3, 900, -1, INT32_MIN, 3}, bad_t[8] = {0, 0, 1, 2, 7, -1, 1, 1};
    int32_t good[8] = {2, 40, pad, pad, pad, pad, pad, 3}, good_t[8] = {0, 0, 1, 0, 0, 0, 1, 1};
    float mask[8] = {1, 1, 1, 1, 1, 1, 1, 1}, want[3];
    bd_bert_forward(&m, &a, good, good_t, mask, 1, 8, NULL);
    memcpy(want, a.logits, sizeof want);
    bd_bert_forward(&m, &a, bad, bad_t, mask, 1, 8, NULL);
    assert_memory_equal(a.logits, want, sizeof want);
    assert_memory_equal(a.ids, good, sizeof good);
    assert_memory_equal(a.type_ids, good_t, sizeof good_t);
    bd_bert_acts_free(&a);
    /* positions: a row longer than max_position_embeddings gets no activations */
    assert_int_equal(bd_bert_acts_alloc(&a, &m, 1, m.cfg.max_pos + 1, 0, &e), -1);
    assert_non_null(strstr(e.msg, "max_position_embeddings"));
    assert_int_equal(bd_bert_acts_alloc(&a, &m, 1, m.cfg.max_pos, 1, &e), 0);
    bd_bert_acts_free(&a);
    bd_bert_free(&m);
}

/* config.json with one line replaced: checked for what it must refuse. */
static void config_case(const char *from, const char *to, const char *want) {
    char *text = bd_read_file(REF "tiny_bert/config.json", NULL, NULL);
    assert_non_null(text);
    char *at = strstr(text, from);
    if (!at) fail_msg("no \"%s\" in config.json", from);
    char path[] = "/tmp/bd_cfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
    free(text);
    bd_bert_config c;
    bd_err e = {{0}};
    int rc = bd_bert_config_load(&c, path, &e);
    unlink(path);
    if (!want) {
        if (rc) fail_msg("%s -> %s: %s", from, to, e.msg);
        bd_bert_config_free(&c);
        return;
    }
    if (rc == 0) fail_msg("%s -> %s accepted", from, to);
    if (strncmp(e.msg, path, strlen(path)) || !strstr(e.msg, want))
        fail_msg("%s -> %s: \"%s\" lacks \"%s\"", from, to, e.msg, want);
}

/* Dropout probabilities outside [0, 1), a pad id past the table (item 9);
 * integers beyond 64 bits are valid JSON, but not as sizes (item 11). */
static void test_config_values(void **s) {
    (void)s;
    config_case("\"hidden_dropout_prob\": 0.1", "\"hidden_dropout_prob\": 1", "\"hidden_dropout_prob\" = 1 must be a probability in [0, 1)");
    config_case("\"hidden_dropout_prob\": 0.1", "\"hidden_dropout_prob\": 0.999", NULL);
    config_case("\"attention_probs_dropout_prob\": 0.1", "\"attention_probs_dropout_prob\": -0.01", "\"attention_probs_dropout_prob\" = -0.01");
    config_case("\"classifier_dropout\": null", "\"classifier_dropout\": 1.0", "\"classifier_dropout\" = 1 must be");
    config_case("\"classifier_dropout\": null", "\"classifier_dropout\": 0", NULL);
    config_case("\"hidden_dropout_prob\": 0.1", "\"hidden_dropout_prob\": 1e300", "\"hidden_dropout_prob\" = 1e+300 is out of range");
    config_case("\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 0", "\"layer_norm_eps\" = 0 must be positive");
    config_case("\"pad_token_id\": 0", "\"pad_token_id\": 308", "pad_token_id 308 is not below vocab_size 308");
    config_case("\"pad_token_id\": 0", "\"pad_token_id\": 307", NULL);
    config_case("\"use_cache\": true", "\"use_cache\": true, \"big\": 1000000000000000019884624838656", NULL);
    config_case("\"vocab_size\": 308", "\"vocab_size\": 30800000000000000000000", "\"vocab_size\" = 30800000000000000000000 is out of range");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32),     cmocka_unit_test(test_pair),
        cmocka_unit_test(test_f16),     cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_sharded), cmocka_unit_test(test_gamma),
        cmocka_unit_test(test_nohead),  cmocka_unit_test(test_head_mismatch),
        cmocka_unit_test(test_ids_out_of_range), cmocka_unit_test(test_config_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
