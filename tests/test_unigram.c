/* test_unigram.c: the sentencepiece Unigram tokenizers of XLM-RoBERTa and CamemBERT from
 * tokenizer.json against transformers 4.46.3 / tokenizers 0.20.3
 * (tests/ref/gen_tokenizer_unigram.py):
 *  - tokenizer_unigram_cases.jsonl: XLMRobertaTokenizerFast's and CamembertTokenizerFast's ids
 *    ("ids"; "ids_slow", sentencepiece's, where they differ: not checked, the fast ones are
 *    what a tokenizer.json means), and the ids of the tokenizer.json variants of
 *    tiny_xlmr/variants.json (older converters' WhitespaceSplit + add_prefix_space, Replace,
 *    prepend_scheme first / never, split false, no normalizer, Strip);
 *  - bad files refused by name, in one line;
 *  - tiny_xlmr end to end: texts tokenized here, the model's eval logits of the padded batch
 *    against transformers' (tiny_xlmr_batch.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "tiny.h"
#include "tokenizer.h"

#define CASES "tests/ref/tokenizer_unigram_cases.jsonl"
#define XLMR "tests/ref/tiny_xlmr"
#define CAMEMBERT "tests/ref/tiny_camembert"
#define BATCH "tests/ref/tiny_xlmr_batch.json"

static const char *new_dir(void) { return tiny_tmp_dir("uni"); }

/* 1 when t gives the ids want for case c. */
static int check_case(const bd_tokenizer *t, json_t *c, json_t *want, const char *where, int *bad) {
    json_t *jt = json_object_get(c, "text"), *jp = json_object_get(c, "text_pair");
    int max_length = (int)json_integer_value(json_object_get(c, "max_length"));
    if (!json_is_string(jt) || !json_is_array(want) || max_length < 2) fail_msg("%s: needs text, ids, max_length", where);
    char *text = tiny_without_nul(jt), *pair = json_is_string(jp) ? tiny_without_nul(jp) : NULL;
    int32_t *ids = malloc((size_t)max_length * sizeof *ids), *types = malloc((size_t)max_length * sizeof *types);
    int n = 0;
    bd_err e = {{0}};
    int rc = bd_tok_encode(t, text, pair, max_length, ids, types, &n, &e);
    int ok = rc == 0 && (size_t)n == json_array_size(want);
    for (int i = 0; ok && i < n; i++) ok = ids[i] == json_integer_value(json_array_get(want, (size_t)i)) && types[i] == 0;
    if (!ok && ++*bad <= 8) {
        char *js = json_dumps(c, JSON_ENSURE_ASCII | JSON_COMPACT);
        fprintf(stderr, "%s: mismatch (%s); got", where, rc ? e.msg : "ids differ");
        for (int i = 0; i < n && rc == 0; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n  case: %.600s\n", js);
        free(js);
    }
    free(ids);
    free(types);
    free(text);
    free(pair);
    return ok;
}

/* Every case of directory dir (its "ids"), or with variant, that variant's ids; returns the count. */
static int run_cases(const bd_tokenizer *t, const char *dir, const char *variant, int *slow_differ) {
    FILE *f = fopen(CASES, "r");
    if (!f) fail_msg("%s: cannot open (run the tests from the repository root)", CASES);
    char *line = NULL, where[600];
    size_t cap = 0;
    int lineno = 0, cases = 0, bad = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &jerr);
        if (!c) fail_msg("%s:%d: %s", CASES, lineno, jerr.text);
        json_t *want = variant ? json_object_get(json_object_get(c, "variants"), variant) : json_object_get(c, "ids");
        if (want && !strcmp(json_string_value(json_object_get(c, "dir")), dir)) {
            snprintf(where, sizeof where, "%s:%d (%s%s%s)", CASES, lineno, dir, variant ? ", " : "", variant ? variant : "");
            check_case(t, c, want, where, &bad);
            cases++;
            if (slow_differ) *slow_differ += json_object_get(c, "ids_slow") != NULL;
        }
        json_decref(c);
    }
    free(line);
    fclose(f);
    if (bad) fail_msg("%s: %d of %d cases of %s %s differ (first ones above)", CASES, bad, cases, dir, variant ? variant : "");
    return cases;
}

static void test_xlmr_cases(void **state) {
    (void)state;
    bd_tokenizer *t = tiny_tok_load(XLMR);
    assert_int_equal(bd_tok_kind_of(t), BD_TOK_UNIGRAM);
    assert_string_equal(bd_tok_kind_name(bd_tok_kind_of(t)), "Unigram");
    assert_true(bd_tok_is_fast(t));
    assert_int_equal(bd_tok_vocab_size(t), 802);
    assert_int_equal(bd_tok_pad_id(t), 1);
    assert_int_equal(bd_tok_cls_id(t), 0);
    assert_int_equal(bd_tok_id(t, "<mask>"), 801);
    int differ = 0, n = run_cases(t, "tiny_xlmr", NULL, &differ);
    assert_true(n >= 2000);
    printf("%s: %d cases identical to XLMRobertaTokenizerFast (%d where sentencepiece differs)\n", CASES, n, differ);
    bd_tok_free(t);
}

static void test_camembert_cases(void **state) {
    (void)state;
    bd_tokenizer *t = tiny_tok_load(CAMEMBERT);
    assert_int_equal(bd_tok_kind_of(t), BD_TOK_UNIGRAM);
    assert_int_equal(bd_tok_cls_id(t), 5);
    assert_int_equal(bd_tok_pad_id(t), 1);
    int differ = 0, n = run_cases(t, "tiny_camembert", NULL, &differ);
    assert_true(n >= 700);
    printf("%s: %d cases identical to CamembertTokenizerFast (%d where sentencepiece differs)\n", CASES, n, differ);
    bd_tok_free(t);
}

/* Fill every Precompiled's empty charsmap of comp with the real one. */
static void fill_charsmap(json_t *comp, json_t *charsmap) {
    if (json_is_object(comp)) {
        const char *key;
        json_t *v;
        const char *type = json_string_value(json_object_get(comp, "type"));
        if (type && !strcmp(type, "Precompiled")) json_object_set(comp, "precompiled_charsmap", charsmap);
        json_object_foreach(comp, key, v) fill_charsmap(v, charsmap);
    } else if (json_is_array(comp)) {
        size_t i;
        json_t *v;
        json_array_foreach(comp, i, v) fill_charsmap(v, charsmap);
    }
}

/* A copy of tiny_xlmr with root as its tokenizer.json. */
static const char *xlmr_with(json_t *root) {
    const char *dir = new_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
    tiny_copy_file(XLMR, dir, "tokenizer_config.json");
    tiny_copy_file(XLMR, dir, "special_tokens_map.json");
    tiny_copy_file(XLMR, dir, "config.json");
    return dir;
}

static json_t *xlmr_json(void) {
    json_error_t jerr;
    json_t *root = json_load_file(XLMR "/tokenizer.json", 0, &jerr);
    if (!root) fail_msg("%s/tokenizer.json: %s", XLMR, jerr.text);
    return root;
}

static void test_variants(void **state) {
    (void)state;
    json_error_t jerr;
    json_t *vars = json_load_file(XLMR "/variants.json", 0, &jerr);
    if (!vars) fail_msg("%s/variants.json: %s", XLMR, jerr.text);
    const char *name;
    json_t *v;
    int total = 0, n_var = 0;
    json_object_foreach(vars, name, v) {
        json_t *root = xlmr_json();
        json_t *charsmap = json_object_get(json_array_get(json_object_get(json_object_get(root, "normalizer"),
                                                                          "normalizers"), 0), "precompiled_charsmap");
        json_incref(charsmap);
        const char *key;
        json_t *comp;
        json_object_foreach(v, key, comp) {
            json_t *c = json_deep_copy(comp);
            fill_charsmap(c, charsmap);
            json_object_set_new(root, key, c);
        }
        json_decref(charsmap);
        bd_tokenizer *t = tiny_tok_load(xlmr_with(root));
        json_decref(root);
        int n = run_cases(t, "tiny_xlmr", name, NULL);
        assert_true(n >= 500);
        total += n;
        n_var++;
        bd_tok_free(t);
    }
    json_decref(vars);
    assert_true(n_var >= 7);
    printf("%s: %d cases over %d tokenizer.json variants identical to the tokenizers library\n", CASES, total, n_var);
}

/* tiny_xlmr's tokenizer.json with one change (a JSON value at key, or of the model when
 * model_key), refused with want in the message. */
static void refused_with(const char *key, int model_key, const char *value, const char *want, const char *want2) {
    json_t *root = xlmr_json();
    json_error_t jerr;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
    if (!v) fail_msg("%s: %s", value, jerr.text);
    json_object_set_new(model_key ? json_object_get(root, "model") : root, key, v);
    tiny_tok_refused(xlmr_with(root), want, want2);
    json_decref(root);
}

static void test_refusals(void **state) {
    (void)state;
    refused_with("normalizer", 0, "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}]}",
                 "tokenizer.json: normalizer \"NFKC\" is not supported", "with a Unigram model");
    refused_with("normalizer", 0, "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"}",
                 "tokenizer.json: normalizer Replace with the regex \"\\s+\" is not supported", NULL);
    refused_with("pre_tokenizer", 0, "{\"type\": \"ByteLevel\"}", "tokenizer.json: pre_tokenizer \"ByteLevel\" is not supported",
                 "with a Unigram model");
    refused_with("pre_tokenizer", 0, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Punctuation\"}]}",
                 "tokenizer.json: pre_tokenizer \"Punctuation\" is not supported", NULL);
    refused_with("pre_tokenizer", 0, "{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"sometimes\"}",
                 "tokenizer.json: pre_tokenizer Metaspace: prepend_scheme \"sometimes\"", NULL);
    refused_with("byte_fallback", 1, "true", "tokenizer.json: model.byte_fallback = true is not supported", NULL);
    refused_with("unk_id", 1, "null", "tokenizer.json: model.unk_id is missing", NULL);
    refused_with("unk_id", 1, "802", "tokenizer.json: model.unk_id must be the index of a piece", NULL);
    refused_with("vocab", 1, "[[\"a\", -1.0], [\"b\"]]", "tokenizer.json: model.vocab[1] is not [piece, score]", NULL);
}

/* Larger than the model's embeddings; a sentencepiece file alone. */
static void test_refusals_dir(void **state) {
    (void)state;
    const char *dir = new_dir();
    tiny_copy_file(XLMR, dir, "tokenizer.json");
    tiny_copy_file(XLMR, dir, "tokenizer_config.json");
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"model_type\": \"xlm-roberta\", \"vocab_size\": 800}\n", f);
    assert_int_equal(fclose(f), 0);
    tiny_tok_refused(dir, "tokenizer.json: token \"<mask>\" has id 801, but", "config.json has vocab_size 800");

    const char *spm = new_dir();
    tiny_copy_file(XLMR, spm, "config.json");
    tiny_copy_file(XLMR, spm, "tokenizer_config.json");
    snprintf(path, sizeof path, "%s/sentencepiece.bpe.model", spm);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not read\n", f);
    assert_int_equal(fclose(f), 0);
    tiny_tok_refused(spm, "a sentencepiece tokenizer (model_type \"xlm-roberta\") without tokenizer.json", "save_pretrained(dir) writes tokenizer.json");
}

/* Texts tokenized here, the model's eval logits of the padded batch against transformers'. */
static void test_xlmr_logits(void **state) {
    (void)state;
    json_error_t jerr;
    json_t *j = json_load_file(BATCH, 0, &jerr);
    if (!j) fail_msg("%s: %s", BATCH, jerr.text);
    json_t *texts = json_object_get(j, "texts"), *rows = json_object_get(j, "rows"), *lg = json_object_get(j, "logits");
    enum { MB = 16, MT = 64 };
    int B = (int)json_array_size(texts), T = 0, pad = (int)json_integer_value(json_object_get(j, "pad"));
    assert_true(B > 0 && B <= MB);
    bd_tokenizer *tok = tiny_tok_load(XLMR);
    static int32_t ids[MB * MT], tids[MB * MT], row[MB][MT];
    static float mask[MB * MT], want[MB * 3], got[MB * 3];
    int len[MB];
    for (int i = 0; i < B; i++) {
        json_t *tp = json_array_get(texts, (size_t)i);
        const char *a = json_string_value(json_array_get(tp, 0)), *b = json_string_value(json_array_get(tp, 1));
        int32_t types[MT];
        bd_err e = {{0}};
        if (bd_tok_encode(tok, a, b, MT, row[i], types, &len[i], &e)) fail_msg("%s", e.msg);
        json_t *r = json_array_get(rows, (size_t)i);
        assert_int_equal(len[i], (int)json_array_size(r));
        for (int t = 0; t < len[i]; t++) assert_int_equal(row[i][t], json_integer_value(json_array_get(r, (size_t)t)));
        if (len[i] > T) T = len[i];
        for (int k = 0; k < 3; k++) want[i * 3 + k] = (float)json_number_value(json_array_get(json_array_get(lg, (size_t)i), (size_t)k));
    }
    for (int i = 0; i < B; i++)
        for (int t = 0; t < T; t++) {
            ids[i * T + t] = t < len[i] ? row[i][t] : pad;
            tids[i * T + t] = 0;
            mask[i * T + t] = t < len[i] ? 1.0f : 0.0f;
        }
    assert_int_equal(pad, bd_tok_pad_id(tok));
    bd_tok_free(tok);
    json_decref(j);
    bd_err e = {{0}};
    bd_bert m;
    if (bd_bert_load(&m, XLMR, 3, 0, &e)) fail_msg("%s", e.msg);
    assert_int_equal(m.cfg.family, BD_FAMILY_ROBERTA);
    assert_string_equal(m.cfg.prefix, "roberta");
    assert_true(m.loaded_head);
    bd_bert_acts a;
    if (bd_bert_acts_alloc(&a, &m, B, T, 0, &e)) fail_msg("%s", e.msg);
    bd_bert_forward(&m, &a, ids, tids, mask, B, T, NULL);
    m.be->download(m.be, got, a.logits, sizeof(float) * (size_t)B * 3);
    if (bd_be_check(m.be, &e)) fail_msg("%s", e.msg);
    double err = tiny_max_rel_err(got, want, (size_t)B * 3, 1e-2);
    printf("tiny_xlmr cpu: %d texts tokenized here, padded rows (T %d): max rel err %.3g\n", B, T, err);
    assert_true(err < 1e-4);
    bd_bert_acts_free(&a);
    bd_bert_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_xlmr_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_camembert_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_variants, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_refusals, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_refusals_dir, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_xlmr_logits, tiny_tmp_dirs_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
