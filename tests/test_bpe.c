/* test_bpe.c: the byte-level BPE (RoBERTa), ESM and tokenizer.json tokenizers
 * against transformers 4.46.3 / tokenizers 0.20.3 (tests/ref/gen_tokenizer_bpe.py):
 *  - tokenizer_bpe_cases.jsonl: RobertaTokenizer's ids ("ids") from vocab.json +
 *    merges.txt, RobertaTokenizerFast's ("ids_fast" where they differ, else "ids")
 *    from tokenizer.json, for tiny_roberta and tiny_roberta_prefix (add_prefix_space);
 *  - tokenizer_esm_cases.jsonl: EsmTokenizer's ids;
 *  - tokenizer_cases.jsonl through BertTokenizerFast's tokenizer.json
 *    (tokenizer_json_bert/, its vocabulary refilled from vocab.txt), with
 *    fast_diff.jsonl's ids where the fast tokenizer differs;
 *  - bad files refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiny.h"
#include "tokenizer.h"

#define BPE_CASES "tests/ref/tokenizer_bpe_cases.jsonl"
#define ESM_CASES "tests/ref/tokenizer_esm_cases.jsonl"
#define BERT_CASES "tests/ref/tokenizer_cases.jsonl"
#define BERT_FAST_DIFF "tests/ref/tokenizer_json_bert/fast_diff.jsonl"
#define ROBERTA "tests/ref/tiny_roberta"
#define ROBERTA_PREFIX "tests/ref/tiny_roberta_prefix"
#define ESM "tests/ref/tiny_esm"

/* ---- temporary model directories ---- */

static const char *new_dir(void) { return tiny_tmp_dir("bpe"); }

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open (run the tests from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The slow RoBERTa files of src (no tokenizer.json) in a new directory. */
static const char *slow_copy(const char *src) {
    const char *dir = new_dir();
    static const char *const names[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                                        "special_tokens_map.json", "added_tokens.json", "config.json"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) tiny_copy_file(src, dir, names[k]);
    return dir;
}

/* ---- reference cases ---- */


/* Encode one case; 1 when ids (and type ids, if want_types) match. */
static int check_case(const bd_tokenizer *t, json_t *c, json_t *want, json_t *want_types, const char *where,
                      int *bad) {
    json_t *jt = json_object_get(c, "text"), *jp = json_object_get(c, "text_pair");
    int max_length = (int)json_integer_value(json_object_get(c, "max_length"));
    if (!json_is_string(jt) || !json_is_array(want) || max_length < 2)
        fail_msg("%s: needs text, ids, max_length", where);
    char *text = tiny_without_nul(jt), *pair = json_is_string(jp) ? tiny_without_nul(jp) : NULL;
    int32_t *ids = malloc((size_t)max_length * sizeof *ids), *types = malloc((size_t)max_length * sizeof *types);
    int n = 0;
    bd_err e = {{0}};
    int rc = bd_tok_encode(t, text, pair, max_length, ids, types, &n, &e);
    int ok = rc == 0 && (size_t)n == json_array_size(want);
    for (int i = 0; ok && i < n; i++) {
        ok = ids[i] == json_integer_value(json_array_get(want, (size_t)i));
        if (want_types) ok = ok && types[i] == json_integer_value(json_array_get(want_types, (size_t)i));
        else ok = ok && types[i] == 0; /* RoBERTa, ESM: no token types */
    }
    if (!ok && ++*bad <= 8) {
        char *js = json_dumps(c, JSON_ENSURE_ASCII | JSON_COMPACT);
        fprintf(stderr, "%s: mismatch (%s); got", where, rc ? e.msg : "ids differ");
        for (int i = 0; i < n && rc == 0; i++) fprintf(stderr, " %d/%d", ids[i], types[i]);
        fprintf(stderr, "\n  case: %.500s\n", js);
        free(js);
    }
    free(ids);
    free(types);
    free(text);
    free(pair);
    return ok;
}

typedef struct {
    const bd_tokenizer *plain, *prefix; /* for cases without / with "prefix": true */
    const char *field;                  /* expected ids: "ids", or "ids_fast" falling back to "ids" */
} case_set;

static int run_cases(const char *path, const case_set *cs, int min_cases) {
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot open (run the tests from the repository root)", path);
    char *line = NULL, where[600];
    size_t cap = 0;
    int lineno = 0, cases = 0, bad = 0, differ = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &jerr);
        if (!c) fail_msg("%s:%d: %s", path, lineno, jerr.text);
        json_t *want = json_object_get(c, cs->field);
        differ += want != NULL && strcmp(cs->field, "ids");
        if (!want) want = json_object_get(c, "ids");
        const bd_tokenizer *t = json_is_true(json_object_get(c, "prefix")) ? cs->prefix : cs->plain;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (t) {
            check_case(t, c, want, NULL, where, &bad);
            cases++;
        }
        json_decref(c);
    }
    free(line);
    fclose(f);
    if (bad) fail_msg("%s: %d of %d cases differ (first ones above)", path, bad, cases);
    if (cases < min_cases) fail_msg("%s: only %d cases, expected %d or more", path, cases, min_cases);
    if (strcmp(cs->field, "ids"))
        fprintf(stderr, "%s: %d cases identical to the fast tokenizer (%d where it differs from the slow one)\n",
                path, cases, differ);
    else
        fprintf(stderr, "%s: %d cases identical to the slow tokenizer\n", path, cases);
    return cases;
}

/* RobertaTokenizer from vocab.json + merges.txt: the slow ids. */
static void test_bpe_slow_cases(void **state) {
    (void)state;
    bd_tokenizer *a = tiny_tok_load(slow_copy(ROBERTA)), *b = tiny_tok_load(slow_copy(ROBERTA_PREFIX));
    assert_int_equal(bd_tok_kind_of(a), BD_TOK_BPE);
    assert_false(bd_tok_is_fast(a));
    case_set cs = {a, b, "ids"};
    run_cases(BPE_CASES, &cs, 2000);
    bd_tok_free(a);
    bd_tok_free(b);
}

/* RobertaTokenizerFast from tokenizer.json (which wins in the same directory). */
static void test_bpe_fast_cases(void **state) {
    (void)state;
    bd_tokenizer *a = tiny_tok_load(ROBERTA), *b = tiny_tok_load(ROBERTA_PREFIX);
    assert_int_equal(bd_tok_kind_of(a), BD_TOK_BPE);
    assert_true(bd_tok_is_fast(a));
    case_set cs = {a, b, "ids_fast"};
    run_cases(BPE_CASES, &cs, 2000);
    bd_tok_free(a);
    bd_tok_free(b);
}

/* tokenizer.json as older / other writers have it: merges as "a b" strings
 * (tokenizers < 0.21; 0.20.3 wrote pairs), TemplateProcessing instead of
 * RobertaProcessing (the generator checks that this template gives the same
 * ids in the tokenizers library). */
static void test_bpe_json_variants(void **state) {
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(ROBERTA "/tokenizer.json", 0, &jerr);
    assert_non_null(root);
    json_t *merges = json_object_get(json_object_get(root, "model"), "merges");
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m) {
        assert_true(json_is_array(m));
        char buf[512];
        snprintf(buf, sizeof buf, "%s %s", json_string_value(json_array_get(m, 0)),
                 json_string_value(json_array_get(m, 1)));
        json_array_set_new(merges, i, json_string(buf));
    }
    json_t *pp = json_loads(
        "{\"type\": \"TemplateProcessing\","
        " \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
        "  {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}],"
        " \"pair\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}},"
        "  {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}},"
        "  {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 1}}],"
        " \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [0], \"tokens\": [\"<s>\"]},"
        "  \"</s>\": {\"id\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}}", 0, &jerr);
    assert_non_null(pp);
    json_object_set_new(root, "post_processor", pp);
    const char *dir = new_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(1)), 0);
    json_decref(root);
    tiny_copy_file(ROBERTA, dir, "tokenizer_config.json");
    tiny_copy_file(ROBERTA, dir, "config.json");
    bd_tokenizer *t = tiny_tok_load(dir);
    case_set cs = {t, NULL, "ids_fast"};
    run_cases(BPE_CASES, &cs, 1000);
    bd_tok_free(t);
}

/* tokenizer.json and vocab.json + merges.txt hold the same tokenizer: same
 * size and special ids, and the same ids wherever transformers' slow and
 * fast classes agree (every case without ids_fast, checked above). */
static void test_bpe_same_vocabulary(void **state) {
    (void)state;
    bd_tokenizer *s = tiny_tok_load(slow_copy(ROBERTA)), *f = tiny_tok_load(ROBERTA);
    assert_int_equal(bd_tok_vocab_size(s), 904);
    assert_int_equal(bd_tok_vocab_size(f), 904);
    const char *toks[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>", "<new_tok>", "hello world", "\xc4\xa0the", "zz"};
    for (size_t i = 0; i < sizeof toks / sizeof *toks; i++)
        assert_int_equal(bd_tok_id(s, toks[i]), bd_tok_id(f, toks[i]));
    assert_int_equal(bd_tok_id(s, "<mask>"), 900);
    assert_int_equal(bd_tok_id(s, "zz"), -1);
    assert_int_equal(bd_tok_cls_id(s), 0);
    assert_int_equal(bd_tok_cls_id(f), 0);
    assert_int_equal(bd_tok_pad_id(s), 1);
    assert_int_equal(bd_tok_pad_id(f), 1);
    /* a few by hand: <s> A </s></s> B </s>, all type ids 0; <mask> eats the space before it */
    int32_t ids[64], types[64];
    int n;
    bd_err e = {{0}};
    assert_int_equal(bd_tok_encode(s, "a", "b", 64, ids, types, &n, &e), 0);
    assert_int_equal(n, 6);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[2], 2);
    assert_int_equal(ids[3], 2);
    assert_int_equal(ids[5], 2);
    for (int i = 0; i < n; i++) assert_int_equal(types[i], 0);
    int32_t ids2[64];
    int n2;
    assert_int_equal(bd_tok_encode(s, "a <mask>", NULL, 64, ids, types, &n, &e), 0);
    assert_int_equal(bd_tok_encode(s, "a<mask>", NULL, 64, ids2, types, &n2, &e), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ids[2], 900);
    assert_int_equal(n2, n);
    assert_memory_equal(ids, ids2, sizeof *ids * (size_t)n);
    bd_tok_free(s);
    bd_tok_free(f);
}

/* The word cache is shared: threads encoding at once get the ids one thread
 * gets alone. */
typedef struct {
    const bd_tokenizer *t;
    int fails;
} thread_arg;

static const char *const THREAD_TEXTS[] = {"The quick brown fox jumps over the lazy dog.",
                                           "I'm sure you'll like it, they've said we'd go.",
                                           "Caf\xc3\xa9 au lait, na\xc3\xafve r\xc3\xa9sum\xc3\xa9",
                                           "\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 12345 tokenization"};

static void *encode_many(void *p) {
    thread_arg *a = p;
    int32_t ref[4][128], ids[128], types[128];
    int nref[4], n;
    bd_err e = {{0}};
    for (int k = 0; k < 4; k++)
        if (bd_tok_encode(a->t, THREAD_TEXTS[k], NULL, 128, ref[k], types, &nref[k], &e)) a->fails++;
    for (int it = 0; it < 300; it++) {
        int k = it % 4;
        if (bd_tok_encode(a->t, THREAD_TEXTS[k], NULL, 128, ids, types, &n, &e) || n != nref[k] ||
            memcmp(ids, ref[k], sizeof *ids * (size_t)n))
            a->fails++;
    }
    return NULL;
}

static void test_bpe_threads(void **state) {
    (void)state;
    bd_tokenizer *t = tiny_tok_load(ROBERTA);
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){t, 0};
        assert_int_equal(pthread_create(&th[i], NULL, encode_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].fails, 0);
    }
    bd_tok_free(t);
}

/* ---- ESM ---- */

static void test_esm_cases(void **state) {
    (void)state;
    bd_tokenizer *t = tiny_tok_load(ESM);
    assert_int_equal(bd_tok_kind_of(t), BD_TOK_ESM);
    assert_int_equal(bd_tok_vocab_size(t), 33);
    assert_int_equal(bd_tok_cls_id(t), 0);
    assert_int_equal(bd_tok_pad_id(t), 1);
    assert_int_equal(bd_tok_id(t, "<eos>"), 2);
    assert_int_equal(bd_tok_id(t, "<mask>"), 32);
    case_set cs = {t, NULL, "ids"};
    run_cases(ESM_CASES, &cs, 2000);
    /* by hand: <cls> M K <eos>; a run of unknown letters is one <unk> */
    int32_t ids[16], types[16];
    int n;
    bd_err e = {{0}};
    assert_int_equal(bd_tok_encode(t, "MjjK", "M", 16, ids, types, &n, &e), 0);
    const int32_t want[] = {0, 20, 3, 15, 2, 20, 2};
    assert_int_equal(n, 7);
    assert_memory_equal(ids, want, sizeof want);
    bd_tok_free(t);
}

/* ---- BERT through tokenizer.json ---- */

/* tests/ref/tokenizer_json_bert/NAME.json with model.vocab refilled from
 * vocab_dir/vocab.txt (line i = id i), in a new directory. */
static const char *bert_json_dir(const char *name, const char *vocab_dir) {
    char path[4200];
    snprintf(path, sizeof path, "tests/ref/tokenizer_json_bert/%s.json", name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) fail_msg("%s: %s", path, jerr.text);
    json_t *vocab = json_object_get(json_object_get(root, "model"), "vocab");
    assert_true(json_is_object(vocab) && json_object_size(vocab) == 0);
    snprintf(path, sizeof path, "%s/vocab.txt", vocab_dir);
    char *text = slurp(path), *p = text;
    int id = 0;
    for (char *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        json_object_set_new(vocab, p, json_integer(id++));
    }
    free(text);
    const char *dir = new_dir();
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
    json_decref(root);
    return dir;
}

static void test_bert_json_cases(void **state) {
    (void)state;
    bd_tokenizer *un = tiny_tok_load(bert_json_dir("uncased", "tests/ref/vocab_uncased"));
    bd_tokenizer *ca = tiny_tok_load(bert_json_dir("cased", "tests/ref/vocab_cased"));
    assert_int_equal(bd_tok_kind_of(un), BD_TOK_WORDPIECE);
    assert_true(bd_tok_is_fast(un));
    assert_int_equal(bd_tok_vocab_size(un), 30522);
    assert_int_equal(bd_tok_cls_id(un), 101);
    assert_int_equal(bd_tok_pad_id(un), 0);
    /* the lines where BertTokenizerFast differs from BertTokenizer */
    json_error_t jerr;
    json_t *diff = json_array();
    FILE *f = fopen(BERT_FAST_DIFF, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *d = json_loads(line, 0, &jerr);
        assert_non_null(d);
        json_array_append_new(diff, d);
    }
    fclose(f);
    f = fopen(BERT_CASES, "r");
    assert_non_null(f);
    int lineno = 0, bad = 0, cases = 0;
    size_t next = 0;
    char where[600];
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_t *c = json_loads(line, JSON_ALLOW_NUL, &jerr);
        assert_non_null(c);
        json_t *want = json_object_get(c, "ids"), *types = json_object_get(c, "type_ids");
        json_t *d = json_array_get(diff, next);
        if (d && json_integer_value(json_object_get(d, "line")) == lineno) {
            want = json_object_get(d, "ids");
            types = json_object_get(d, "type_ids");
            next++;
        }
        const char *vd = json_string_value(json_object_get(c, "vocab_dir"));
        snprintf(where, sizeof where, "%s:%d (tokenizer.json)", BERT_CASES, lineno);
        check_case(strstr(vd, "uncased") ? un : ca, c, want, types, where, &bad);
        cases++;
        json_decref(c);
    }
    free(line);
    fclose(f);
    assert_int_equal(next, json_array_size(diff)); /* every diff line was used */
    if (bad) fail_msg("%s via tokenizer.json: %d of %d cases differ", BERT_CASES, bad, cases);
    fprintf(stderr, "%s via tokenizer.json: %d cases identical (%zu with BertTokenizerFast's own ids)\n",
            BERT_CASES, cases, json_array_size(diff));
    json_decref(diff);
    bd_tok_free(un);
    bd_tok_free(ca);
}

/* ---- bad input ---- */

static const char *bpe_dir(const char *vocab, const char *merges, const char *config) {
    const char *dir = new_dir();
    tiny_put_file(dir, "vocab.json", vocab);
    tiny_put_file(dir, "merges.txt", merges);
    if (config) tiny_put_file(dir, "config.json", config);
    return dir;
}

#define V4 "\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"<mask>\": 4"

static void test_bad_slow_files(void **state) {
    (void)state;
    const char *cfg = "{\"model_type\": \"roberta\"}";
    /* a good one first */
    const char *dir = bpe_dir("{" V4 ", \"a\": 5, \"b\": 6, \"ab\": 7}", "#version: 0.2\na b\n", cfg);
    bd_tokenizer *t = tiny_tok_load(dir);
    int32_t ids[8], types[8];
    int n;
    bd_err e = {{0}};
    assert_int_equal(bd_tok_encode(t, "abba", NULL, 8, ids, types, &n, &e), 0);
    const int32_t want[] = {0, 7, 6, 5, 2}; /* "ab" "b" "a" */
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want, sizeof want);
    bd_tok_free(t);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 5, \"b\": 6}", "#version: 0.2\na b c\n", cfg),
                      "merges.txt:2: \"a b c\" is not two tokens", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 5, \"b\": 6}", "#version: 0.2\nab\n", cfg),
                      "merges.txt:2: \"ab\" is not two tokens", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 5, \"b\": 6}", "a b\n", cfg),
                      "merges.txt:1: \"a b\" is not a \"#version\" header", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 5, \"b\": 6}", "#version: 0.2\na b\n", cfg),
                      "merges.txt:2: \"ab\" is not in the vocabulary", NULL);
    tiny_tok_refused(bpe_dir("[\"a\"]", "#version: 0.2\n", cfg), "vocab.json: the vocabulary is not an object", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": \"5\"}", "#version: 0.2\n", cfg),
                      "vocab.json: the vocabulary: token \"a\" needs a non-negative integer id", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 4}", "#version: 0.2\n", cfg), "both have id 4", NULL);
    tiny_tok_refused(bpe_dir("{\"<s>\": 0, \"</s>\": 2, \"<unk>\": 3}", "#version: 0.2\n", cfg),
                      "vocab.json: no token \"<pad>\" (the pad_token)", NULL);
    tiny_tok_refused(bpe_dir("{" V4 ", \"a\": 5}", "#version: 0.2\n", "{\"model_type\": \"roberta\", \"vocab_size\": 5}"),
                      "vocab.json: 6 tokens, but ", "config.json has vocab_size 5");
    dir = bpe_dir("{" V4 "}", "#version: 0.2\n", "{\"model_type\": \"roberta\", \"vocab_size\": 5}");
    tiny_put_file(dir, "tokenizer_config.json", "{\"added_tokens_decoder\": {\"5\": {\"content\": \"<x>\"}}}");
    tiny_tok_refused(dir, "tokenizer_config.json: token \"<x>\" has id 5", "vocab_size 5");
    /* sentencepiece families and other BPEs by name */
    tiny_tok_refused(bpe_dir("{" V4 "}", "#version: 0.2\n", "{\"model_type\": \"xlm-roberta\"}"),
                      "a sentencepiece tokenizer (model_type \"xlm-roberta\") without tokenizer.json", NULL);
    tiny_tok_refused(bpe_dir("{" V4 "}", "#version: 0.2\n", "{\"model_type\": \"camembert\"}"),
                      "a sentencepiece tokenizer (model_type \"camembert\") without tokenizer.json", NULL);
    tiny_tok_refused(bpe_dir("{" V4 "}", "#version: 0.2\n", "{\"model_type\": \"gpt2\"}"),
                      "model_type \"gpt2\" with vocab.json + merges.txt is not supported", NULL);
}

/* tokenizer_json_bert/uncased.json with one part replaced, in a new directory. */
static const char *json_with(const char *key, const char *value) {
    const char *dir = bert_json_dir("uncased", "tests/ref/vocab_uncased");
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *v = json_loads(value, JSON_DECODE_ANY, &jerr);
    assert_non_null(root);
    assert_non_null(v);
    if (!strcmp(key, "model.type")) json_object_set_new(json_object_get(root, "model"), "type", v);
    else json_object_set_new(root, key, v);
    assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
    json_decref(root);
    return dir;
}

static void test_bad_tokenizer_json(void **state) {
    (void)state;
    tiny_tok_refused(json_with("normalizer", "{\"type\": \"NFKC\"}"), "tokenizer.json: normalizer \"NFKC\" is not supported", NULL);
    tiny_tok_refused(json_with("normalizer", "{\"type\": \"Sequence\", \"normalizers\": []}"),
                      "tokenizer.json: normalizer \"Sequence\" is not supported", NULL);
    tiny_tok_refused(json_with("pre_tokenizer", "{\"type\": \"Whitespace\"}"),
                      "tokenizer.json: pre_tokenizer \"Whitespace\" is not supported", NULL);
    tiny_tok_refused(json_with("post_processor", "{\"type\": \"Sequence\", \"processors\": []}"),
                      "tokenizer.json: post_processor \"Sequence\" is not supported", NULL);
    tiny_tok_refused(json_with("model.type", "\"Unigram\""), "tokenizer.json: model.vocab is not a list of [piece, score]",
                      NULL); /* Unigram (test_unigram.c) reads a list */
    tiny_tok_refused(json_with("model.type", "\"WordLevel\""), "tokenizer.json: model type \"WordLevel\" is not supported", NULL);
    tiny_tok_refused(json_with("added_tokens", "[{\"id\": 5, \"content\": \"x\", \"single_word\": true}]"),
                      "tokenizer.json: added token \"x\": single_word=true is not supported", NULL);
    /* BPE: options it does not implement, and its parts */
    json_error_t jerr;
    json_t *root = json_load_file(ROBERTA "/tokenizer.json", 0, &jerr);
    assert_non_null(root);
    json_object_set_new(json_object_get(root, "model"), "byte_fallback", json_true());
    const char *dir = new_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
    tiny_tok_refused(dir, "tokenizer.json: model.byte_fallback = true is not supported", NULL);
    json_object_set_new(json_object_get(root, "model"), "byte_fallback", json_false());
    json_object_set_new(root, "pre_tokenizer", json_pack("{s:s}", "type", "Metaspace"));
    assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
    tiny_tok_refused(dir, "tokenizer.json: pre_tokenizer \"Metaspace\" is not supported", "with a BPE model");
    json_decref(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bpe_slow_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bpe_fast_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bpe_json_variants, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bpe_same_vocabulary, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bpe_threads, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_esm_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bert_json_cases, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bad_slow_files, tiny_tmp_dirs_remove),
        cmocka_unit_test_teardown(test_bad_tokenizer_json, tiny_tmp_dirs_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
