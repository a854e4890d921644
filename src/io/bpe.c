/* bpe.c: byte-level BPE as transformers' RobertaTokenizer (tokenization_roberta.py,
 * v4.46) and the tokenizers library's BPE model with the ByteLevel
 * pre-tokenizer do it:
 *
 *   GPT-2's pattern  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   (matched by hand, first alternative that matches wins, categories from
 *   utf8proc, \s = Unicode White_Space as both Python's regex module and
 *   Oniguruma read it) -> each match's UTF-8 bytes, each byte one symbol
 *   (bytes_to_unicode's printable stand-in) -> merges by rank: the pair of
 *   lowest rank is merged everywhere, left to right, until none applies.
 *
 * Words are cached (the slow class's self.cache; a bounded table under a
 * mutex, so encoding stays thread-safe). Added tokens, the prefix space and
 * post-processing are in tokenizer.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "json.h"
#include "tok_impl.h"

#define CACHE_SLOTS (1u << 14) /* at most 3/4 of them are filled; then words are not cached */

typedef struct {
    char *key; /* NULL: empty slot */
    uint32_t klen, n;
    int32_t *ids;
} cache_ent;

struct bd_bpe {
    int32_t byte_id[256]; /* vocabulary id of each byte's stand-in character, -1 when absent */
    uint64_t *pair_key;   /* open addressing; (a << 32 | b), UINT64_MAX = empty */
    int32_t *pair_rank, *pair_id;
    size_t pair_mask, n_pairs;
    bool prefix_space, use_regex;
    int unk; /* tokenizer.json: model.unk_token's id; -1 drops unknown symbols */
    pthread_mutex_t mu;
    cache_ent *cache;
    size_t cache_used;
};

/* ---- GPT-2's bytes_to_unicode ---- */

static int32_t byte_char(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    int n = 0; /* the others, in byte order, become 256, 257, ... */
    for (int k = 0; k < b; k++)
        if (!((k >= '!' && k <= '~') || (k >= 0xA1 && k <= 0xAC) || (k >= 0xAE && k <= 0xFF))) n++;
    return 256 + n;
}

static bd_bpe *bpe_new(bd_tokenizer *t, const char *path, bd_err *e) {
    bd_bpe *b = bd_calloc(1, sizeof *b, e);
    if (!b) return NULL;
    b->use_regex = true;
    b->unk = -1;
    pthread_mutex_init(&b->mu, NULL);
    b->cache = bd_calloc(CACHE_SLOTS, sizeof *b->cache, e);
    if (!b->cache) {
        bd_bpe_free(b);
        bd_err_prefix(e, "%s: BPE word cache", path);
        return NULL;
    }
    t->bpe = b;
    return b;
}

/* Each byte's stand-in character looked up in the vocabulary. */
static void map_bytes(bd_tokenizer *t) {
    for (int c = 0; c < 256; c++) {
        char buf[8];
        size_t n = (size_t)utf8proc_encode_char(byte_char(c), (utf8proc_uint8_t *)buf);
        t->bpe->byte_id[c] = bd_tk_vocab_find(t, buf, n);
    }
}

void bd_bpe_free(bd_bpe *b) {
    if (!b) return;
    if (b->cache)
        for (size_t i = 0; i < CACHE_SLOTS; i++) free(b->cache[i].ids);
    pthread_mutex_destroy(&b->mu);
    free(b->cache);
    free(b->pair_key);
    free(b->pair_rank);
    free(b->pair_id);
    free(b);
}

void bd_bpe_set_prefix_space(bd_tokenizer *t, bool on) {
    if (t->bpe) t->bpe->prefix_space = on;
}

bool bd_bpe_prefix_space(const bd_tokenizer *t) { return t->bpe && t->bpe->prefix_space; }

/* ---- merges ---- */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int pairs_alloc(bd_bpe *b, size_t n, const char *path, bd_err *e) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    b->pair_key = bd_malloc(cap * sizeof *b->pair_key, e);
    b->pair_rank = bd_malloc(cap * sizeof *b->pair_rank, e);
    b->pair_id = bd_malloc(cap * sizeof *b->pair_id, e);
    if (!b->pair_key || !b->pair_rank || !b->pair_id) return bd_err_prefix(e, "%s: %zu merges", path, n);
    memset(b->pair_key, 0xff, cap * sizeof *b->pair_key);
    b->pair_mask = cap - 1;
    return 0;
}

/* Rank of the merge of symbols x, y (INT32_MAX when none) and its result. */
static int32_t pair_rank(const bd_bpe *b, int32_t x, int32_t y, int32_t *merged) {
    if (x < 0 || y < 0) return INT32_MAX;
    uint64_t key = (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
    for (size_t p = (size_t)mix64(key) & b->pair_mask;; p = (p + 1) & b->pair_mask) {
        if (b->pair_key[p] == UINT64_MAX) return INT32_MAX;
        if (b->pair_key[p] == key) {
            *merged = b->pair_id[p];
            return b->pair_rank[p];
        }
    }
}

/* Merge "x y" of rank `rank`: both halves and their concatenation must be
 * vocabulary tokens (the tokenizers library refuses such files too). A
 * merge given twice takes its later rank, as Python's dict and Rust's
 * HashMap do. `where` says where it is, for messages. */
static int add_merge(bd_tokenizer *t, const char *x, size_t nx, const char *y, size_t ny, int32_t rank,
                     const char *where, bd_err *e) {
    bd_bpe *b = t->bpe;
    char q[160], both[512];
    int32_t ix = bd_tk_vocab_find(t, x, nx), iy = bd_tk_vocab_find(t, y, ny), ixy = -1;
    if (nx + ny < sizeof both) {
        memcpy(both, x, nx);
        memcpy(both + nx, y, ny);
        both[nx + ny] = '\0';
        ixy = bd_tk_vocab_find(t, both, nx + ny);
    }
    const char *missing = ix < 0 ? x : iy < 0 ? y : ixy < 0 ? (nx + ny < sizeof both ? both : "(too long)") : NULL;
    if (missing) {
        char tmp[512];
        size_t len = ix < 0 ? nx : iy < 0 ? ny : strlen(missing);
        snprintf(tmp, sizeof tmp, "%.*s", (int)len, missing);
        return bd_errf(e, "%s: \"%s\" is not in the vocabulary", where, bd_printable(q, sizeof q, tmp));
    }
    uint64_t key = (uint64_t)(uint32_t)ix << 32 | (uint32_t)iy;
    size_t p = (size_t)mix64(key) & b->pair_mask;
    while (b->pair_key[p] != UINT64_MAX && b->pair_key[p] != key) p = (p + 1) & b->pair_mask;
    if (b->pair_key[p] == UINT64_MAX) b->n_pairs++;
    b->pair_key[p] = key;
    b->pair_rank[p] = rank;
    b->pair_id[p] = ixy;
    return 0;
}

/* merges.txt as RobertaTokenizer reads it: read().split("\n")[1:-1], each
 * line split at whitespace. The first line is skipped whatever it holds, so
 * it must be the "#version" header (else a merge would be lost unseen); the
 * text after the last newline is ignored, as Python ignores it. Every other
 * line must be two tokens. */
static int load_merges_txt(bd_tokenizer *t, const char *path, bd_err *e) {
    size_t len = 0;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return -1;
    int rc = -1;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    char *nl = memchr(buf, '\n', len);
    if (!nl || buf[0] != '#') {
        char q[160];
        if (nl) *nl = '\0';
        bd_errf(e, "%s:1: \"%s\" is not a \"#version\" header line (RobertaTokenizer skips the first line)",
                path, bd_printable(q, sizeof q, buf));
        goto out;
    }
    if (pairs_alloc(t->bpe, lines, path, e)) goto out;
    char *line = nl + 1;
    int32_t rank = 0;
    for (size_t no = 2; no <= lines; no++, rank++) {
        char *end = strchr(line, '\n'); /* exists: lines counts the newlines */
        *end = '\0';
        /* two runs of non-space characters (Python's str.split(); the byte-level
         * alphabet holds no whitespace, so ASCII whitespace suffices) */
        char *p = line, *parts[3];
        size_t plen[3];
        int k = 0;
        while (*p && k < 3) {
            while (*p && strchr(" \t\r\v\f", *p)) p++;
            if (!*p) break;
            parts[k] = p;
            while (*p && !strchr(" \t\r\v\f", *p)) p++;
            plen[k] = (size_t)(p - parts[k]);
            k++;
        }
        char where[4200], q[160];
        snprintf(where, sizeof where, "%s:%zu", path, no);
        if (k != 2) {
            bd_errf(e, "%s: \"%s\" is not two tokens separated by a space", where, bd_printable(q, sizeof q, line));
            goto out;
        }
        if (add_merge(t, parts[0], plen[0], parts[1], plen[1], rank, where, e)) goto out;
        line = end + 1;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

int bd_bpe_load_files(bd_tokenizer *t, const char *vocab_path, const char *merges_path, bd_err *e) {
    json_t *root = bd_json_load_file(vocab_path, 0, e);
    if (!root) return -1;
    int rc = bd_tk_vocab_json(t, root, vocab_path, "the vocabulary", e);
    json_decref(root);
    if (rc || !bpe_new(t, vocab_path, e)) return -1;
    map_bytes(t);
    return load_merges_txt(t, merges_path, e);
}

/* tokenizer.json's model.merges: "a b" strings (tokenizers < 0.21) or
 * ["a", "b"] pairs. */
static int load_merges_json(bd_tokenizer *t, json_t *merges, const char *path, bd_err *e) {
    if (!json_is_array(merges)) return bd_errf(e, "%s: model.merges is not a list", path);
    size_t n = json_array_size(merges);
    if (pairs_alloc(t->bpe, n, path, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(merges, i);
        char where[4200];
        snprintf(where, sizeof where, "%s: model.merges[%zu]", path, i);
        const char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        if (json_is_string(m)) {
            x = json_string_value(m);
            const char *sp = strchr(x, ' ');
            if (sp && !strchr(sp + 1, ' ')) {
                nx = (size_t)(sp - x);
                y = sp + 1;
                ny = strlen(y);
            }
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            x = json_string_value(json_array_get(m, 0));
            y = json_string_value(json_array_get(m, 1));
            nx = strlen(x);
            ny = strlen(y);
        }
        if (!y || !nx || !ny) return bd_errf(e, "%s: not \"a b\" or [\"a\", \"b\"]", where);
        if (add_merge(t, x, nx, y, ny, (int32_t)i, where, e)) return -1;
    }
    return 0;
}

/* A model option the tokenizers library has but this BPE does not: refused
 * when set to anything but its plain value. */
static int plain_option(json_t *model, const char *key, const char *path, bd_err *e) {
    json_t *v = json_object_get(model, key);
    if (!v || json_is_null(v) || json_is_false(v) || (json_is_string(v) && !json_string_value(v)[0]))
        return 0;
    if (json_is_real(v) && json_real_value(v) == 0.0) return 0; /* dropout 0 */
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    char q[160];
    bd_errf(e, "%s: model.%s = %s is not supported", path, key, bd_printable(q, sizeof q, s ? s : "?"));
    free(s);
    return -1;
}

int bd_bpe_load_json(bd_tokenizer *t, json_t *model, const char *path, bd_err *e) {
    static const char *const unsupported[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix",
                                              "byte_fallback", "ignore_merges"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
        if (plain_option(model, unsupported[i], path, e)) return -1;
    if (bd_tk_vocab_json(t, json_object_get(model, "vocab"), path, "model.vocab", e)) return -1;
    bd_bpe *b = bpe_new(t, path, e);
    if (!b) return -1;
    map_bytes(t);
    json_t *unk = json_object_get(model, "unk_token");
    if (unk && !json_is_null(unk)) {
        const char *s = json_string_value(unk);
        char q[160];
        if (!s) return bd_errf(e, "%s: model.unk_token must be a string or null", path);
        if ((b->unk = bd_tk_vocab_find(t, s, strlen(s))) < 0)
            return bd_errf(e, "%s: model.unk_token \"%s\" is not in model.vocab", path, bd_printable(q, sizeof q, s));
    }
    return load_merges_json(t, json_object_get(model, "merges"), path, e);
}

void bd_bpe_set_regex(bd_tokenizer *t, bool on) {
    if (t->bpe) t->bpe->use_regex = on;
}

/* ---- the pre-tokenizing pattern ---- */

static bool is_letter(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static bool is_number(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

static bool is_other(int32_t c) { return !bd_tk_white_space(c) && !is_letter(c) && !is_number(c); }

/* End of the match that starts at c[i] (the alternatives in order). */
static size_t next_match(const int32_t *c, size_t n, size_t i) {
    if (c[i] == '\'' && i + 1 < n) { /* 's 't 'm 'd 're 've 'll, lower case only */
        int32_t d = c[i + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
        if (i + 2 < n && ((d == 'r' && c[i + 2] == 'e') || (d == 'v' && c[i + 2] == 'e') ||
                          (d == 'l' && c[i + 2] == 'l')))
            return i + 3;
    }
    /* " ?" takes the space when what follows fits; without it the class
     * would have to match the space itself, which none of the three does */
    size_t j = c[i] == ' ' && i + 1 < n ? i + 1 : i;
    bool (*cls[3])(int32_t) = {is_letter, is_number, is_other};
    for (int k = 0; k < 3; k++) {
        if (!cls[k](c[j])) continue;
        while (j < n && cls[k](c[j])) j++;
        return j;
    }
    /* whitespace: \s+(?!\S) keeps the last space for the word after it */
    size_t k = i;
    while (k < n && bd_tk_white_space(c[k])) k++;
    if (k == i) return i + 1; /* unreachable: every character is in one class */
    if (k == n || k - i == 1) return k;
    return k - 1;
}

/* ---- merging one word ---- */

static int cache_get(bd_bpe *b, const char *key, size_t klen, uint64_t h, bd_cpvec *out, bool *hit,
                      bd_err *e) {
    *hit = false;
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    for (size_t p = (size_t)h & (CACHE_SLOTS - 1);; p = (p + 1) & (CACHE_SLOTS - 1)) {
        cache_ent *c = &b->cache[p];
        if (!c->key) break;
        if (c->klen == klen && !memcmp(c->key, key, klen)) {
            if (bd_tk_cpvec_reserve(out, c->n, e)) { rc = -1; break; }
            memcpy(out->v + out->n, c->ids, c->n * sizeof *c->ids);
            out->n += c->n;
            *hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static void cache_put(bd_bpe *b, const char *key, size_t klen, uint64_t h, const int32_t *ids, size_t n) {
    pthread_mutex_lock(&b->mu);
    if (b->cache_used < CACHE_SLOTS / 4 * 3 && klen < UINT32_MAX) {
        size_t p = (size_t)h & (CACHE_SLOTS - 1);
        while (b->cache[p].key && !(b->cache[p].klen == klen && !memcmp(b->cache[p].key, key, klen)))
            p = (p + 1) & (CACHE_SLOTS - 1);
        cache_ent *c = &b->cache[p];
        if (!c->key) { /* one allocation: ids, then the key */
            int32_t *mem = malloc(n * sizeof *ids + klen + 1);
            if (mem) {
                memcpy(mem, ids, n * sizeof *ids);
                c->key = (char *)(mem + n);
                memcpy(c->key, key, klen);
                c->klen = (uint32_t)klen;
                c->n = (uint32_t)n;
                c->ids = mem;
                b->cache_used++;
            }
        }
    }
    pthread_mutex_unlock(&b->mu);
}

/* RobertaTokenizer.bpe on symbols w[0..n): merge the lowest-ranked pair
 * everywhere (left to right, no overlaps), again and again. Returns the
 * new length. Quadratic in the word length at worst, as the original. */
static size_t merge_word(const bd_bpe *b, int32_t *w, size_t n) {
    while (n > 1) {
        int32_t best = INT32_MAX, bx = -1, by = -1, merged = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t m, r = pair_rank(b, w[i], w[i + 1], &m);
            if (r < best) { best = r; bx = w[i]; by = w[i + 1]; merged = m; }
        }
        if (best == INT32_MAX) break;
        size_t j = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && w[i] == bx && w[i + 1] == by) { w[j++] = merged; i += 2; }
            else w[j++] = w[i++];
        }
        n = j;
    }
    return n;
}

static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* One pre-token: UTF-8 bytes, symbols, merges, ids. A symbol outside the
 * vocabulary is the unknown token (RobertaTokenizer's encoder.get(token, unk)),
 * or dropped when a tokenizer.json model has no unk_token. */
static int bpe_word(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e) {
    bd_bpe *b = t->bpe;
    char small[256];
    int32_t wsmall[256];
    char *bytes = 4 * n + 1 <= sizeof small ? small : malloc(4 * n + 1);
    if (!bytes) return bd_errf(e, "tokenizer: out of memory for a word of %zu characters", n);
    size_t len = bd_tk_encode_utf8(cp, n, bytes, NULL);
    uint64_t h = fnv(bytes, len);
    bool hit;
    int rc = cache_get(b, bytes, len, h, out, &hit, e);
    int32_t *w = NULL;
    if (rc || hit) goto out;
    w = len <= 256 ? wsmall : malloc(len * sizeof *w);
    if (!w) { rc = bd_errf(e, "tokenizer: out of memory for a word of %zu bytes", len); goto out; }
    for (size_t i = 0; i < len; i++) w[i] = b->byte_id[(unsigned char)bytes[i]];
    size_t m = merge_word(b, w, len), k = 0;
    int unk = t->fast ? b->unk : t->unk_id;
    for (size_t i = 0; i < m; i++) /* unknown symbols never merge, so w stays in step */
        if (w[i] >= 0 || unk >= 0) w[k++] = w[i] >= 0 ? w[i] : unk;
    if ((rc = bd_tk_cpvec_reserve(out, k, e)) == 0) {
        memcpy(out->v + out->n, w, k * sizeof *w);
        out->n += k;
        cache_put(b, bytes, len, h, w, k);
    }
out:
    if (w != wsmall) free(w);
    if (bytes != small) free(bytes);
    return rc;
}

int bd_bpe_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e) {
    size_t i = 0;
    while (i < n) {
        size_t j = t->bpe->use_regex ? next_match(cp, n, i) : n;
        if (bpe_word(t, cp + i, j - i, out, e)) return -1;
        i = j;
    }
    return 0;
}
