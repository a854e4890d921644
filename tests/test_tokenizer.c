/* test_tokenizer.c: the WordPiece tokenizer against transformers'
 * BertTokenizer (tests/ref/tokenizer_cases.jsonl, real MiniLM vocab), and
 * each step by hand on a tiny vocabulary written to a temporary directory. */
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

#include "tiny.h"
#include "tokenizer.h"

#ifndef CASES /* -DCASES=... runs another case file */
#define CASES "tests/ref/tokenizer_cases.jsonl"
#endif
#define FUZZ_CASES "tests/ref/tokenizer_fuzz_cases.jsonl"

/* ---- a tiny vocabulary ---- */

static const char *const TINY[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",         /* 0-4 */
    "un", "##aff", "##able", "hello", ",", "world", "!",  /* 5-11 */
    "cafe", "caf\xc3\xa9", "\xe4\xb8\xad", "\xe6\x96\x87",  /* 12-15: cafe café 中 文 */
    "a", "##a", ".", "i", "[", "]", "mask", "hello!",     /* 16-23 */
    "b", "##b", "Cafe", "\xc3\xa9", "##\xc3\xa9",           /* 24-28: ... é ##é */
};
enum { PAD, UNK, CLS, SEP, MASK, UN, AFF, ABLE, HELLO, COMMA, WORLD, BANG, CAFE, CAFE_ACC, ZHONG,
       WEN, A, CONT_A, DOT, I, LBR, RBR, MASKW, HELLO_BANG, B, CONT_B, CAFE_UP, E_ACC, CONT_E_ACC };

static char tmp_dirs[8][64];
static int n_tmp;

/* A directory holding vocab.txt (lines joined by eol) and, unless config is
 * NULL, tokenizer_config.json. */
static const char *make_dir(const char *const *lines, int n, const char *eol, const char *config) {
    assert_true(n_tmp < 8);
    char *dir = tmp_dirs[n_tmp++];
    strcpy(dir, "/tmp/bd_tok_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[640];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", lines[i], eol);
    fclose(f);
    if (config) {
        snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
        f = fopen(path, "wb");
        assert_non_null(f);
        fputs(config, f);
        fclose(f);
    }
    return dir;
}

static int teardown_dirs(void **state) {
    (void)state;
    char path[640];
    for (int i = 0; i < n_tmp; i++) {
        snprintf(path, sizeof path, "%s/vocab.txt", tmp_dirs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/tokenizer_config.json", tmp_dirs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/special_tokens_map.json", tmp_dirs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/added_tokens.json", tmp_dirs[i]);
        unlink(path);
        snprintf(path, sizeof path, "%s/config.json", tmp_dirs[i]);
        unlink(path);
        rmdir(tmp_dirs[i]);
    }
    n_tmp = 0;
    return 0;
}

static bd_tokenizer *tiny(const char *config) {
    bd_err e = {{0}};
    const char *dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", config);
    bd_tokenizer *t = bd_tok_load(dir, &e);
    if (!t) fail_msg("bd_tok_load: %s", e.msg);
    return t;
}

/* Encode and compare with want[] (which excludes [CLS] and the last [SEP]). */
static void expect(const bd_tokenizer *t, const char *text, const int *want, int n_want) {
    int32_t ids[256], types[256];
    int n = 0;
    bd_err e = {{0}};
    if (bd_tok_encode(t, text, NULL, 256, ids, types, &n, &e)) fail_msg("encode: %s", e.msg);
    int ok = n == n_want + 2 && ids[0] == CLS && ids[n - 1] == SEP;
    for (int i = 0; ok && i < n_want; i++) ok = ids[i + 1] == want[i];
    if (!ok) {
        char got[1024] = "";
        for (int i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d", ids[i]);
        fail_msg("\"%s\": got [%s ] (want %d tokens between [CLS] and [SEP])", text, got, n_want);
    }
}
#define EXPECT(t, text, ...)                                                         \
    do {                                                                             \
        const int want_[] = {__VA_ARGS__};                                           \
        expect(t, text, want_, (int)(sizeof want_ / sizeof *want_));                 \
    } while (0)

static void test_wordpiece_continuation(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    EXPECT(t, "unaffable", UN, AFF, ABLE);
    EXPECT(t, "unaffable hello", UN, AFF, ABLE, HELLO);
    EXPECT(t, "unaffablex", UNK);                  /* no full segmentation -> one [UNK] */
    EXPECT(t, "ba", B, CONT_A);
    EXPECT(t, "ai", UNK);                          /* "##i" absent; "i" cannot continue a word */
    EXPECT(t, "aaa", A, CONT_A, CONT_A);
    bd_tok_free(t);
}

static void test_long_word(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    char word[128];
    memset(word, 'a', 100);
    word[100] = '\0';
    int want[100];
    want[0] = A;
    for (int i = 1; i < 100; i++) want[i] = CONT_A;
    expect(t, word, want, 100);                    /* 100 characters: still split */
    word[100] = 'a';
    word[101] = '\0';
    EXPECT(t, word, UNK);                          /* 101: over max_input_chars_per_word */
    bd_tok_free(t);
    /* The limit counts characters, not bytes: 100 x "é" (200 bytes) splits. */
    t = tiny("{\"strip_accents\": false}");
    char acc[256] = "";
    for (int i = 0; i < 100; i++) strcat(acc, "\xc3\xa9");
    want[0] = E_ACC;
    for (int i = 1; i < 100; i++) want[i] = CONT_E_ACC;
    expect(t, acc, want, 100);
    strcat(acc, "\xc3\xa9");
    EXPECT(t, acc, UNK);
    bd_tok_free(t);
}

static void test_punctuation_split(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    EXPECT(t, "hello,world!", HELLO, COMMA, WORLD, BANG);
    EXPECT(t, "hello ,  world !", HELLO, COMMA, WORLD, BANG);
    EXPECT(t, "a.a", A, DOT, A);                   /* "." cuts the word: no "##a" after it */
    EXPECT(t, ",,", COMMA, COMMA);                 /* each punctuation mark alone */
    EXPECT(t, "a$a", A, UNK, A);                   /* ASCII symbols count as punctuation */
    EXPECT(t, "a^a", A, UNK, A);
    bd_tok_free(t);
}

static void test_cjk(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    EXPECT(t, "\xe4\xb8\xad\xe6\x96\x87", ZHONG, WEN);     /* 中文: spaced apart */
    EXPECT(t, "a\xe4\xb8\xad" "a", A, ZHONG, A);
    bd_tok_free(t);
    t = tiny("{\"tokenize_chinese_chars\": false}");
    EXPECT(t, "\xe4\xb8\xad\xe6\x96\x87", UNK);             /* one word, "##文" absent */
    bd_tok_free(t);
}

static void test_lower_and_accents(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL); /* defaults: lower-case, strip accents */
    EXPECT(t, "Caf\xc3\xa9 HELLO", CAFE, HELLO);
    EXPECT(t, "Cafe\xcc\x81", CAFE);               /* decomposed e + U+0301 */
    EXPECT(t, "\xc4\xb0", I);                      /* U+0130 -> "i" + U+0307 -> "i" */
    bd_tok_free(t);
    t = tiny("{\"do_lower_case\": true, \"strip_accents\": false}");
    EXPECT(t, "CAF\xc3\x89", CAFE_ACC);            /* CAFÉ -> café */
    EXPECT(t, "cafe\xcc\x81", CAFE_ACC);           /* NFC composes before lookup */
    EXPECT(t, "\xc4\xb0", UNK);                    /* "i" + U+0307: "##\xcc\x87" absent */
    bd_tok_free(t);
    t = tiny("{\"do_lower_case\": false}");
    EXPECT(t, "Cafe caf\xc3\xa9", CAFE_UP, CAFE_ACC);
    EXPECT(t, "CAFE", UNK);
    bd_tok_free(t);
    t = tiny("{\"do_lower_case\": false, \"strip_accents\": true}");
    EXPECT(t, "caf\xc3\xa9", CAFE);
    bd_tok_free(t);
}

static void test_special_tokens_in_text(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    EXPECT(t, "hello[MASK]world", HELLO, MASK, WORLD);
    EXPECT(t, "[CLS] a [SEP]", CLS, A, SEP);
    EXPECT(t, "[mask]", LBR, MASKW, RBR);          /* case matters for special tokens */
    EXPECT(t, "[[MASK]]", LBR, MASK, RBR);
    bd_tok_free(t);
    t = tiny("{\"do_lower_case\": false}");
    EXPECT(t, "[MA\x01SK]", MASK);                 /* cleaned to "[MASK]", kept whole */
    bd_tok_free(t);
}

static void test_clean_text(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    EXPECT(t, "hel\x01lo\x7f", HELLO);             /* control characters dropped */
    EXPECT(t, "hel\xe2\x80\x8blo", HELLO);         /* U+200B (Cf) dropped */
    EXPECT(t, "hel\xfflo\xc3", HELLO);            /* invalid UTF-8 -> U+FFFD -> dropped */
    EXPECT(t, "hel\xef\xbf\xbdlo", HELLO);         /* a real U+FFFD too */
    EXPECT(t, "hello\tworld\r\nhello\xc2\xa0world\xe2\x80\xa8hello", HELLO, WORLD, HELLO,
           WORLD, HELLO);                          /* tab, CRLF, NBSP, U+2028 separate */
    bd_tok_free(t);
}

static void test_never_split_and_no_basic(void **state) {
    (void)state;
    bd_tokenizer *t = tiny("{\"never_split\": [\"hello!\"]}");
    EXPECT(t, "hello! hello!!", HELLO_BANG, HELLO, BANG, BANG);
    bd_tok_free(t);
    t = tiny("{\"do_basic_tokenize\": false}");
    EXPECT(t, "hello,world a", UNK, A);            /* no punctuation split at all */
    EXPECT(t, "Hello hello Cafe", UNK, HELLO, CAFE_UP); /* and no lower-casing (as 4.46) */
    bd_tok_free(t);
}

/* Added and special tokens from the files transformers saves; the expected
 * ids are what transformers 4.46 BertTokenizer.from_pretrained gives. */
static void test_added_tokens(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(
        "{\"added_tokens_decoder\": {"
        " \"0\": {\"content\": \"[PAD]\", \"special\": true, \"normalized\": false},"
        " \"1\": {\"content\": \"[UNK]\", \"special\": true, \"normalized\": false},"
        " \"29\": {\"content\": \"<NEW>\", \"special\": false},"
        " \"30\": {\"content\": \"<sp>\", \"special\": true}}}");
    assert_int_equal(bd_tok_vocab_size(t), 31);
    assert_int_equal(bd_tok_id(t, "<NEW>"), 29);
    EXPECT(t, "a <NEW> a", A, 29, A);
    EXPECT(t, "a<new>a", A, UNK, UNK, UNK, A);     /* kept its case, so "<new>" misses */
    EXPECT(t, "x<sp>a <SP>", UNK, 30, A, 30);      /* "<SP>" is lower-cased first */
    bd_tok_free(t);

    /* special_tokens_map.json renames tokens (read when the config has no
     * added_tokens_decoder) */
    bd_err e = {{0}};
    const char *dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", "{}");
    char path[640];
    snprintf(path, sizeof path, "%s/special_tokens_map.json", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"mask_token\": \"hello!\", \"additional_special_tokens\": [\"mask\"]}", f);
    fclose(f);
    t = bd_tok_load(dir, &e);
    if (!t) fail_msg("%s", e.msg);
    EXPECT(t, "hello! HELLO! mask MASK [MASK]", HELLO_BANG, HELLO_BANG, MASKW, MASKW, LBR, MASKW, RBR);
    EXPECT(t, "Hello!a", HELLO_BANG, A);
    bd_tok_free(t);
}

static void encode_pair(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                        const int *want, const int *want_types, int n_want) {
    int32_t ids[64], types[64];
    int n = -1;
    bd_err e = {{0}};
    if (bd_tok_encode(t, a, b, max_length, ids, types, &n, &e)) fail_msg("encode: %s", e.msg);
    int ok = n == n_want;
    for (int i = 0; ok && i < n; i++) ok = ids[i] == want[i] && types[i] == want_types[i];
    if (!ok) {
        char got[512] = "";
        for (int i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d/%d", ids[i], types[i]);
        fail_msg("\"%s\" + \"%s\", max_length %d: got [%s ]", a, b ? b : "(none)", max_length, got);
    }
}

static void test_truncation(void **state) {
    (void)state;
    bd_tokenizer *t = tiny(NULL);
    /* 6 + 3 tokens into 7: the longer loses 3 first, then they alternate,
     * the second losing first on ties (transformers' longest_first). */
    const int w1[] = {CLS, A, A, SEP, B, B, SEP}, t1[] = {0, 0, 0, 0, 1, 1, 1};
    encode_pair(t, "a a a a a a", "b b b", 7, w1, t1, 7);
    const int w2[] = {CLS, A, A, A, SEP, B, B, SEP}, t2[] = {0, 0, 0, 0, 0, 1, 1, 1};
    encode_pair(t, "a a a a a a", "b b b", 8, w2, t2, 8);
    const int w3[] = {CLS, A, A, SEP, B, SEP}, t3[] = {0, 0, 0, 0, 1, 1};
    encode_pair(t, "a a", "b b b", 6, w3, t3, 6);
    const int w4[] = {CLS, SEP, SEP}, t4[] = {0, 0, 1};
    encode_pair(t, "a a", "b b b", 3, w4, t4, 3);
    const int w5[] = {CLS, A, A, SEP}, t5[] = {0, 0, 0, 0};
    encode_pair(t, "a a a a a", NULL, 4, w5, t5, 4);
    const int w6[] = {CLS, A, SEP, SEP}, t6[] = {0, 0, 0, 1};
    encode_pair(t, "a", "", 64, w6, t6, 4);       /* empty second text */
    const int w7[] = {CLS, SEP}, t7[] = {0, 0};
    encode_pair(t, "  \t", NULL, 2, w7, t7, 2);   /* nothing to truncate */
    /* A wordpiece split counts as several tokens and is cut between pieces. */
    const int w8[] = {CLS, UN, AFF, SEP}, t8[] = {0, 0, 0, 0};
    encode_pair(t, "unaffable", NULL, 4, w8, t8, 4);

    int32_t ids[4], types[4];
    int n;
    bd_err e = {{0}};
    assert_int_equal(bd_tok_encode(t, "a", NULL, 2, ids, types, &n, &e), -1);
    assert_non_null(strstr(e.msg, "max_length 2"));
    assert_int_equal(bd_tok_encode(t, "", "", 2, ids, types, &n, &e), -1);
    bd_tok_free(t);
}

static void test_vocab_file(void **state) {
    (void)state;
    bd_err e = {{0}};
    /* CRLF line ends give the same ids; a duplicate line wins over the first. */
    const char *lines[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "y", "x"};
    bd_tokenizer *t = bd_tok_load(make_dir(lines, 8, "\r\n", NULL), &e);
    if (!t) fail_msg("%s", e.msg);
    assert_int_equal(bd_tok_vocab_size(t), 8);
    assert_int_equal(bd_tok_id(t, "y"), 6);
    assert_int_equal(bd_tok_id(t, "x"), 7);
    assert_int_equal(bd_tok_id(t, "x\r"), -1);
    assert_int_equal(bd_tok_id(t, "z"), -1);
    assert_int_equal(bd_tok_pad_id(t), 0);
    bd_tok_free(t);
}

static void test_errors(void **state) {
    (void)state;
    bd_err e = {{0}};
    assert_null(bd_tok_load("/nonexistent/bd_tok", &e));
    assert_non_null(strstr(e.msg, "/nonexistent/bd_tok/vocab.txt: cannot open"));

    const char *dir = make_dir(TINY, 8, "\n", "{\"do_lower_case\": true,\n \"x\": }");
    assert_null(bd_tok_load(dir, &e));
    assert_non_null(strstr(e.msg, "tokenizer_config.json:2:"));
    assert_non_null(strstr(e.msg, "malformed JSON"));

    dir = make_dir(TINY, 8, "\n", "{\"strip_accents\": \"yes\"}");
    assert_null(bd_tok_load(dir, &e));
    assert_non_null(strstr(e.msg, "tokenizer_config.json: \"strip_accents\""));

    const char *no_cls[] = {"[PAD]", "[UNK]", "[SEP]", "[MASK]", "a"};
    dir = make_dir(no_cls, 5, "\n", NULL);
    assert_null(bd_tok_load(dir, &e));
    assert_non_null(strstr(e.msg, "vocab.txt: no line \"[CLS]\" (the cls_token)"));

    const char *bad_utf8[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ok", "b\xff"};
    dir = make_dir(bad_utf8, 7, "\n", NULL);
    assert_null(bd_tok_load(dir, &e));
    assert_non_null(strstr(e.msg, "vocab.txt:7: invalid UTF-8"));

    dir = make_dir(TINY, 0, "\n", NULL);
    assert_null(bd_tok_load(dir, &e));
    assert_non_null(strstr(e.msg, "vocab.txt: empty vocabulary"));
}

/* Every id must index the model's embedding table: a vocabulary (or an
 * added token) beyond config.json's vocab_size is refused, naming both
 * files and both sizes (issue 11, item 7). */
static void test_vocab_size_limit(void **state) {
    (void)state;
    bd_err e = {{0}};
    const int n = (int)(sizeof TINY / sizeof *TINY); /* 29 */
    const char *dir = make_dir(TINY, n, "\n", NULL);
    tiny_put_file(dir, "config.json", "{\"vocab_size\": 29}");
    bd_tokenizer *t = bd_tok_load(dir, &e);
    if (!t) fail_msg("%s", e.msg);
    bd_tok_free(t);
    tiny_put_file(dir, "config.json", "{\"vocab_size\": 28}");
    tiny_tok_refused(dir, "vocab.txt: 29 tokens, but ", "config.json has vocab_size 28");
    /* an added token past the table */
    tiny_put_file(dir, "config.json", "{\"vocab_size\": 30}");
    tiny_put_file(dir, "tokenizer_config.json", "{\"added_tokens_decoder\": {\"29\": {\"content\": \"<a>\"}, "
                                          "\"30\": {\"content\": \"<b>\"}}}");
    tiny_tok_refused(dir, "tokenizer_config.json: token \"<b>\" has id 30", "config.json has vocab_size 30");
    tiny_put_file(dir, "tokenizer_config.json", "{}");
    tiny_put_file(dir, "added_tokens.json", "{\"<x>\": 35}");
    tiny_tok_refused(dir, "added_tokens.json: token \"<x>\" has id 35", "vocab_size 30");
    /* a config.json without a usable vocab_size sets no limit (the model loader reports it) */
    tiny_put_file(dir, "config.json", "{\"vocab_size\": \"many\"}");
    t = bd_tok_load(dir, &e);
    if (!t) fail_msg("%s", e.msg);
    assert_int_equal(bd_tok_vocab_size(t), 36);
    bd_tok_free(t);
}

/* transformers writes "model_max_length": int(1e30) for a tokenizer without
 * a length limit (tests/ref/gen_tokenizer_nolimit.py): valid JSON (item 11). */
static void test_big_integer_config(void **state) {
    (void)state;
    bd_err e = {{0}};
    bd_tokenizer *t = bd_tok_load("tests/ref/tokenizer_nolimit", &e);
    if (!t) fail_msg("%s", e.msg);
    bd_tokenizer *ref = bd_tok_load("tests/ref/tiny_bert", &e);
    if (!ref) fail_msg("%s", e.msg);
    int32_t ids[32], types[32], ref_ids[32], ref_types[32];
    int n = 0, ref_n = 0;
    const char *text = "The movie was great, I loved it!";
    if (bd_tok_encode(t, text, NULL, 32, ids, types, &n, &e) ||
        bd_tok_encode(ref, text, NULL, 32, ref_ids, ref_types, &ref_n, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(n, ref_n);
    assert_memory_equal(ids, ref_ids, sizeof *ids * (size_t)n);
    bd_tok_free(t);
    bd_tok_free(ref);
    /* and in special_tokens_map.json / added_tokens.json (legacy files) */
    const char *dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", "{\"model_max_length\": 1000000000000000019884624838656}");
    tiny_put_file(dir, "special_tokens_map.json", "{\"x\": -99999999999999999999}");
    tiny_put_file(dir, "added_tokens.json", "{}");
    t = bd_tok_load(dir, &e);
    if (!t) fail_msg("%s", e.msg);
    bd_tok_free(t);
}

/* Error messages stay on one line whatever the files hold (found by
 * fuzz/fuzz_vocab.c: jansson quotes the text near a JSON error, newlines
 * included; token strings from JSON may hold newlines too). */
static void test_one_line_errors(void **state) {
    (void)state;
    const char *dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", NULL);
    tiny_put_file(dir, "special_tokens_map.json", "{\"unk_token\": \"[UNK]\", \"additi\\\n]\n^\n_\n");
    tiny_tok_refused(dir, "special_tokens_map.json:2:", "malformed JSON");
    dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", "{\"unk_token\": \"[U\\nNK]\"}");
    tiny_tok_refused(dir, "vocab.txt: no line \"[U\\nNK]\" (the unk_token)", NULL);
    dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", NULL);
    tiny_put_file(dir, "added_tokens.json", "{\"a\\nb\\u0001\": -1}");
    tiny_tok_refused(dir, "added_tokens.json: \"a\\nb\\x01\" needs a non-negative integer id", NULL);
}

/* A named token set to null is blamed on the file that nulled it. */
static void test_null_token_source(void **state) {
    (void)state;
    const char *dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", NULL);
    tiny_put_file(dir, "special_tokens_map.json", "{\"cls_token\": null}");
    tiny_tok_refused(dir, "special_tokens_map.json: \"cls_token\" is null", NULL);
    dir = make_dir(TINY, (int)(sizeof TINY / sizeof *TINY), "\n", "{\"sep_token\": null}");
    tiny_tok_refused(dir, "tokenizer_config.json: \"sep_token\" is null", NULL);
}

/* ---- parity with transformers ---- */

static bd_tokenizer *cached(const char *dir) {
    static char names[4][256];
    static bd_tokenizer *toks[4];
    static int n;
    if (!dir) { /* free all */
        for (int i = 0; i < n; i++) bd_tok_free(toks[i]);
        n = 0;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], dir) == 0) return toks[i];
    assert_true(n < 4 && strlen(dir) < 256);
    bd_err e = {{0}};
    bd_tokenizer *t = bd_tok_load(dir, &e);
    if (!t) fail_msg("%s", e.msg);
    strcpy(names[n], dir);
    toks[n] = t;
    return toks[n++];
}


/* Every case of a reference file must match ids and type ids exactly. */
static void run_cases(const char *path, int min_cases) {
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot open (run the tests from the repository root)", path);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, cases = 0, bad = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &jerr);
        if (!c) fail_msg("%s:%d: %s", path, lineno, jerr.text);
        const char *dir = json_string_value(json_object_get(c, "vocab_dir"));
        if (!dir) dir = json_is_true(json_object_get(c, "lower")) ? "tests/ref/vocab_uncased"
                                                                 : "tests/ref/vocab_cased";
        json_t *jt = json_object_get(c, "text"), *jp = json_object_get(c, "text_pair");
        json_t *jids = json_object_get(c, "ids"), *jtypes = json_object_get(c, "type_ids");
        int max_length = (int)json_integer_value(json_object_get(c, "max_length"));
        if (!json_is_string(jt) || !json_is_array(jids) || !json_is_array(jtypes) || max_length < 2)
            fail_msg("%s:%d: needs text, ids, type_ids, max_length", path, lineno);
        /* Python strings may hold U+0000; the C API takes NUL-terminated
         * text, and the tokenizer drops U+0000 anyway, so remove it here. */
        char *text = tiny_without_nul(jt), *pair = json_is_string(jp) ? tiny_without_nul(jp) : NULL;
        int32_t *ids = malloc((size_t)max_length * sizeof *ids);
        int32_t *types = malloc((size_t)max_length * sizeof *types);
        int n = 0;
        bd_err e = {{0}};
        int rc = bd_tok_encode(cached(dir), text, pair, max_length, ids, types, &n, &e);
        int ok = rc == 0 && (size_t)n == json_array_size(jids) && (size_t)n == json_array_size(jtypes);
        for (int i = 0; ok && i < n; i++)
            ok = ids[i] == json_integer_value(json_array_get(jids, (size_t)i)) &&
                 types[i] == json_integer_value(json_array_get(jtypes, (size_t)i));
        if (!ok && ++bad <= 10) {
            char *js = json_dumps(c, JSON_ENSURE_ASCII | JSON_COMPACT);
            fprintf(stderr, "%s:%d: mismatch (%s); got", path, lineno, rc ? e.msg : "ids differ");
            for (int i = 0; i < n && rc == 0; i++) fprintf(stderr, " %d/%d", ids[i], types[i]);
            fprintf(stderr, "\n  case: %.600s\n", js);
            free(js);
        }
        cases++;
        free(ids);
        free(types);
        free(text);
        free(pair);
        json_decref(c);
    }
    free(line);
    fclose(f);
    cached(NULL);
    if (bad) fail_msg("%s: %d of %d cases differ (first ones above)", path, bad, cases);
    if (cases < min_cases) fail_msg("%s: only %d cases, expected %d or more", path, cases, min_cases);
}

static void test_reference_cases(void **state) {
    (void)state;
    run_cases(CASES, 1000);
}

static void test_fuzz_cases(void **state) {
    (void)state;
    run_cases(FUZZ_CASES, 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_wordpiece_continuation, teardown_dirs),
        cmocka_unit_test_teardown(test_long_word, teardown_dirs),
        cmocka_unit_test_teardown(test_punctuation_split, teardown_dirs),
        cmocka_unit_test_teardown(test_cjk, teardown_dirs),
        cmocka_unit_test_teardown(test_lower_and_accents, teardown_dirs),
        cmocka_unit_test_teardown(test_special_tokens_in_text, teardown_dirs),
        cmocka_unit_test_teardown(test_clean_text, teardown_dirs),
        cmocka_unit_test_teardown(test_never_split_and_no_basic, teardown_dirs),
        cmocka_unit_test_teardown(test_added_tokens, teardown_dirs),
        cmocka_unit_test_teardown(test_truncation, teardown_dirs),
        cmocka_unit_test_teardown(test_vocab_file, teardown_dirs),
        cmocka_unit_test_teardown(test_errors, teardown_dirs),
        cmocka_unit_test_teardown(test_vocab_size_limit, teardown_dirs),
        cmocka_unit_test_teardown(test_big_integer_config, teardown_dirs),
        cmocka_unit_test_teardown(test_null_token_source, teardown_dirs),
        cmocka_unit_test_teardown(test_one_line_errors, teardown_dirs),
        cmocka_unit_test(test_reference_cases),
        cmocka_unit_test(test_fuzz_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
