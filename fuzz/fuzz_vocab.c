/* fuzz_vocab.c: libFuzzer harness for the tokenizer's loading and encoding.
 * The input is split at 0xFF bytes (never part of valid UTF-8) into
 *   vocab.txt 0xFF tokenizer_config.json 0xFF special_tokens_map.json
 *   0xFF added_tokens.json 0xFF text 0xFF text_pair
 * and written into a model directory that also holds tests/ref/tiny_bert's
 * config.json (vocab_size 308); an empty or missing JSON part means no such
 * file, a missing text_pair a single text. max_length is 1 + size % 80.
 * Checks: bd_tok_load's errors are one line starting with a file of the
 * directory; a loaded tokenizer's size, special ids and every encoded id lie
 * below vocab_size (the embedding rows), type ids are 0/1, at most
 * max_length tokens; encode errors are one line; and tiny_bert's forward on
 * the ids stays in bounds (ASan) with finite logits.
 * Run from the repository root (it reads tests/ref/tiny_bert). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)
#define REF "tests/ref/tiny_bert"
#define MAX_LEN 80

static char g_dir[64];
static const char *const g_files[4] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                                       "added_tokens.json"};
static bd_bert g_model;
static bd_bert_acts g_acts;

static void file_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static void write_part(const char *name, const uint8_t *p, size_t n) {
    char path[128];
    file_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(n == 0 || fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static void remove_temps(void) {
    char path[128];
    for (int i = 0; i < 4; i++) {
        file_path(path, sizeof path, g_files[i]);
        unlink(path);
    }
    file_path(path, sizeof path, "config.json");
    unlink(path);
    rmdir(g_dir);
    bd_bert_acts_free(&g_acts);
    bd_bert_free(&g_model);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/fuzz_vocab_XXXXXX", base);
    CHECK(mkdtemp(g_dir));
    size_t len;
    bd_err e = {{0}};
    char *cfg = bd_read_file(REF "/config.json", &len, &e);
    if (!cfg) { fprintf(stderr, "%s (run from the repository root)\n", e.msg); abort(); }
    write_part("config.json", (const uint8_t *)cfg, len);
    free(cfg);
    if (bd_bert_load(&g_model, REF, 3, 0, &e) || bd_bert_acts_alloc(&g_acts, &g_model, 2, 64, 0, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        abort();
    }
    CHECK(g_model.cfg.vocab_size == 308);
    atexit(remove_temps);
    return 0;
}

/* One line, non-empty. */
static void check_msg(const char *msg) {
    CHECK(msg[0] != '\0');
    CHECK(strchr(msg, '\n') == NULL);
}

static void check_ids(const int32_t *ids, const int32_t *types, int n, int max_length, int vocab) {
    CHECK(n >= 2 && n <= max_length);
    for (int i = 0; i < n; i++) {
        CHECK(ids[i] >= 0 && ids[i] < vocab);
        CHECK(types[i] == 0 || types[i] == 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* split at 0xFF into up to 6 parts */
    const uint8_t *part[6] = {0};
    size_t plen[6] = {0};
    int np = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && np < 6; i++) {
        if (i == size || (data[i] == 0xFF && np < 5)) {
            part[np] = data + start;
            plen[np] = i - start;
            np++;
            start = i + 1;
        }
    }
    char path[128];
    write_part(g_files[0], part[0], plen[0]);
    for (int k = 1; k < 4; k++) {
        if (k < np && plen[k]) {
            write_part(g_files[k], part[k], plen[k]);
        } else {
            file_path(path, sizeof path, g_files[k]);
            unlink(path);
        }
    }
    bd_err e = {{0}};
    bd_tokenizer *t = bd_tok_load(g_dir, &e);
    if (!t) {
        check_msg(e.msg);
        CHECK(strncmp(e.msg, g_dir, strlen(g_dir)) == 0 && e.msg[strlen(g_dir)] == '/');
        return 0;
    }
    const int vocab = g_model.cfg.vocab_size;
    CHECK(bd_tok_vocab_size(t) >= 1 && bd_tok_vocab_size(t) <= vocab);
    CHECK(bd_tok_pad_id(t) >= 0 && bd_tok_pad_id(t) < vocab);

    /* texts as NUL-terminated copies (an embedded NUL ends the text, as in a CSV cell) */
    char *text[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        if (4 + k >= np) continue;
        text[k] = malloc(plen[4 + k] + 1);
        CHECK(text[k]);
        memcpy(text[k], part[4 + k], plen[4 + k]);
        text[k][plen[4 + k]] = '\0';
    }
    const int max_length = 1 + (int)(size % MAX_LEN);
    int32_t ids[2 * MAX_LEN], types[2 * MAX_LEN];
    float mask[2 * MAX_LEN];
    int n = 0;
    const char *a = text[0] ? text[0] : "";
    if (bd_tok_encode(t, a, text[1], max_length, ids, types, &n, &e) == 0) {
        check_ids(ids, types, n, max_length, vocab);
        /* the same row twice through tiny_bert: within the tables, finite logits */
        if (n <= 64) {
            for (int i = 0; i < n; i++) {
                ids[n + i] = ids[i];
                types[n + i] = types[i];
                mask[i] = mask[n + i] = 1.0f;
            }
            bd_bert_forward(&g_model, &g_acts, ids, types, mask, 2, n, NULL);
            for (int l = 0; l < 2 * g_model.cfg.num_labels; l++) CHECK(isfinite(g_acts.logits[l]));
        }
    } else {
        check_msg(e.msg);
    }
    free(text[0]);
    free(text[1]);
    bd_tok_free(t);
    return 0;
}
