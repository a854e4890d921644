/* unigram.c: the sentencepiece side of tokenizer.json (XLM-RoBERTa, CamemBERT), as the
 * tokenizers library 0.20 runs it:
 *   model          Unigram: vocab [[piece, score], ...], unk_id; Viterbi over the lattice of
 *                  vocabulary pieces (best total score), a character no piece of one character
 *                  covers is unk at min score - 10, runs of unknowns fused into one unk
 *   normalizer     Precompiled (sentencepiece's precompiled_charsmap: a darts-clone double
 *                  array + the replacement strings, applied per grapheme as spm_precompiled
 *                  does), Strip, Replace (a string, or the regex " {2,}"), a Sequence of these
 *   pre_tokenizer  Metaspace (replacement, prepend_scheme always / first / never or the older
 *                  add_prefix_space, split), WhitespaceSplit, a Sequence of these
 * Everything else is refused by name. byte_fallback is refused (not implemented). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "json.h"
#include "tok_impl.h"

enum { N_PRECOMPILED, N_STRIP, N_REPLACE_STR, N_REPLACE_SPACES };
#define MAX_STEPS 16

typedef struct {
    int kind;
    bool left, right;        /* Strip */
    bd_cpstr pat, content;   /* Replace */
} norm_step;

enum { PT_WHITESPACE_SPLIT, PT_METASPACE };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

struct bd_unigram {
    double *score;  /* [n_vocab] */
    double unk_score;
    int unk_id;
    int max_chars;  /* the longest piece, in code points */
    /* Precompiled */
    uint32_t *trie;
    size_t trie_n;
    char *blob;
    size_t blob_n;
    norm_step step[MAX_STEPS];
    int n_steps;
    int pre[MAX_STEPS];
    int n_pre;
    int32_t replacement;
    int prepend;
    bool split;
};


static bd_unigram *uni(bd_tokenizer *t, bd_err *e) {
    if (!t->uni) t->uni = bd_calloc(1, sizeof *t->uni, e);
    return t->uni;
}

void bd_unigram_free(bd_unigram *u) {
    if (!u) return;
    free(u->score);
    free(u->trie);
    free(u->blob);
    for (int i = 0; i < u->n_steps; i++) {
        free(u->step[i].pat.cp);
        free(u->step[i].content.cp);
    }
    free(u);
}

/* ---- model ---- */

int bd_unigram_load_json(bd_tokenizer *t, json_t *model, const char *path, bd_err *e) {
    bd_unigram *u = uni(t, e);
    if (!u) return -1;
    json_t *bf = json_object_get(model, "byte_fallback");
    if (json_is_true(bf))
        return bd_errf(e, "%s: model.byte_fallback = true is not supported (Unigram without byte fallback only)", path);
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_array(vocab)) return bd_errf(e, "%s: model.vocab is not a list of [piece, score]", path);
    size_t n = json_array_size(vocab), bytes = 0;
    if (n == 0) return bd_errf(e, "%s: empty vocabulary (model.vocab)", path);
    if (n > INT32_MAX / 2) return bd_errf(e, "%s: model.vocab: too many pieces (%zu)", path, n);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(vocab, i);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_string(json_array_get(p, 0)) ||
            !json_is_number(json_array_get(p, 1)))
            return bd_errf(e, "%s: model.vocab[%zu] is not [piece, score]", path, i);
        bytes += json_string_length(json_array_get(p, 0)) + 1;
    }
    json_t *unk = json_object_get(model, "unk_id");
    if (!unk || json_is_null(unk))
        return bd_errf(e, "%s: model.unk_id is missing (a Unigram model without an unknown piece is not supported)", path);
    if (!json_is_integer(unk) || json_integer_value(unk) < 0 || (size_t)json_integer_value(unk) >= n)
        return bd_errf(e, "%s: model.unk_id must be the index of a piece of model.vocab (0..%zu)", path, n - 1);
    u->unk_id = (int)json_integer_value(unk);
    t->model_unk_id = u->unk_id;
    u->score = bd_malloc(n * sizeof *u->score, e);
    t->vocab_buf = bd_malloc(bytes, e);
    if (!u->score || !t->vocab_buf || bd_tk_vocab_alloc(t, (int)n, n, path, e)) return -1;
    char *w = t->vocab_buf;
    double min = INFINITY;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(vocab, i);
        const char *s = json_string_value(json_array_get(p, 0));
        size_t len = json_string_length(json_array_get(p, 0));
        if (memchr(s, 0, len)) return bd_errf(e, "%s: model.vocab[%zu]: a piece holds U+0000", path, i);
        memcpy(w, s, len + 1);
        bd_tk_vocab_set(t, (int32_t)i, w, (uint32_t)len); /* a later duplicate wins, as the library's map */
        w += len + 1;
        u->score[i] = json_number_value(json_array_get(p, 1));
        if (u->score[i] < min) min = u->score[i];
        int chars = (int)utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, NULL, 0, 0);
        if (chars < 0) return bd_errf(e, "%s: model.vocab[%zu]: invalid UTF-8", path, i);
        if (chars > u->max_chars) u->max_chars = chars;
    }
    u->unk_score = min - 10.0; /* the library's K_UNK_PENALTY */
    return 0;
}

/* The best path of pieces through cp[0..n) (one pre-token), ids to out. */
int bd_unigram_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e) {
    const bd_unigram *u = t->uni;
    if (n == 0) return 0;
    char *buf = bd_malloc(4 * n + 1, e);
    size_t *off = bd_malloc((n + 1) * sizeof *off, e);
    double *best = bd_malloc((n + 1) * sizeof *best, e);
    int32_t *from = bd_malloc((n + 1) * sizeof *from, e), *id = bd_malloc((n + 1) * sizeof *id, e);
    int rc = -1;
    if (!buf || !off || !best || !from || !id) goto out;
    bd_tk_encode_utf8(cp, n, buf, off);
    for (size_t i = 0; i <= n; i++) from[i] = -1;
    best[0] = 0;
    /* Positions are processed in order and a node is only replaced by a strictly better path,
     * so ties keep the path found first, as the library's lattice does. */
    for (size_t i = 0; i < n; i++) {
        size_t max = (size_t)u->max_chars < n - i ? (size_t)u->max_chars : n - i;
        bool single = false;
        for (size_t len = 1; len <= max; len++) {
            int k = bd_tk_vocab_find(t, buf + off[i], off[i + len] - off[i]);
            if (k < 0) continue;
            double s = u->score[k] + best[i];
            if (from[i + len] < 0 || s > best[i + len]) {
                best[i + len] = s;
                from[i + len] = (int32_t)i;
                id[i + len] = k;
            }
            if (len == 1) single = true;
        }
        if (!single) {
            double s = u->unk_score + best[i];
            if (from[i + 1] < 0 || s > best[i + 1]) {
                best[i + 1] = s;
                from[i + 1] = (int32_t)i;
                id[i + 1] = u->unk_id;
            }
        }
    }
    /* Back from the end; consecutive unknowns are fused into one piece, whose id is its
     * string's (unk when the vocabulary has no such piece). */
    size_t mark = out->n;
    size_t end = n, unk_end = 0;
    bool in_unk = false;
    while (end > 0) {
        size_t start = (size_t)from[end];
        if (id[end] == u->unk_id) {
            if (!in_unk) unk_end = end;
            in_unk = true;
        } else {
            if (in_unk) {
                int k = bd_tk_vocab_find(t, buf + off[end], off[unk_end] - off[end]);
                if (bd_tk_cpvec_push(out, k >= 0 ? k : u->unk_id, e)) goto out;
                in_unk = false;
            }
            if (bd_tk_cpvec_push(out, id[end], e)) goto out;
        }
        end = start;
    }
    if (in_unk) {
        int k = bd_tk_vocab_find(t, buf, off[unk_end]);
        if (bd_tk_cpvec_push(out, k >= 0 ? k : u->unk_id, e)) goto out;
    }
    for (size_t a = mark, b = out->n; a + 1 < b; a++, b--) {
        int32_t x = out->v[a];
        out->v[a] = out->v[b - 1];
        out->v[b - 1] = x;
    }
    rc = 0;
out:
    free(buf);
    free(off);
    free(best);
    free(from);
    free(id);
    return rc;
}

/* ---- Precompiled ---- */

static int b64_value(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int precompiled(bd_unigram *u, json_t *n, const char *path, bd_err *e) {
    const char *s = json_string_value(json_object_get(n, "precompiled_charsmap"));
    if (!s) return bd_errf(e, "%s: normalizer Precompiled: precompiled_charsmap is not a string", path);
    if (u->trie) return bd_errf(e, "%s: normalizer: more than one Precompiled is not supported", path);
    size_t len = strlen(s), k = 0;
    unsigned char *raw = bd_malloc(len / 4 * 3 + 3, e);
    if (!raw) return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') break;
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) { free(raw); return bd_errf(e, "%s: normalizer Precompiled: precompiled_charsmap is not base64", path); }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) { bits -= 8; raw[k++] = (unsigned char)(acc >> bits); }
    }
    uint32_t trie_bytes = k >= 4 ? (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24 : 0;
    if (k < 4 || trie_bytes % 4 || trie_bytes == 0 || trie_bytes > k - 4) {
        free(raw);
        return bd_errf(e, "%s: normalizer Precompiled: precompiled_charsmap is not a sentencepiece charsmap", path);
    }
    u->trie_n = trie_bytes / 4;
    u->trie = bd_malloc(u->trie_n * sizeof *u->trie, e);
    u->blob_n = k - 4 - trie_bytes;
    u->blob = bd_malloc(u->blob_n + 1, e);
    if (!u->trie || !u->blob) { free(raw); return -1; }
    for (size_t i = 0; i < u->trie_n; i++) {
        const unsigned char *p = raw + 4 + 4 * i;
        u->trie[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    memcpy(u->blob, raw + 4 + trie_bytes, u->blob_n);
    u->blob[u->blob_n] = '\0';
    free(raw);
    return 0;
}

/* darts-clone: the value of the shortest key that is a prefix of s[0..n) (a NUL ends the key),
 * or -1. Out-of-range units end the search (a broken charsmap, not a crash). */
static long first_prefix_value(const bd_unigram *u, const char *s, size_t n) {
    size_t pos = 0;
    uint32_t unit = u->trie[0];
    pos ^= (size_t)(unit >> 10) << ((unit & (1u << 9)) >> 6);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0) break;
        pos ^= c;
        if (pos >= u->trie_n) return -1;
        unit = u->trie[pos];
        if ((unit & ((1u << 31) | 0xFF)) != c) return -1;
        pos ^= (size_t)(unit >> 10) << ((unit & (1u << 9)) >> 6);
        if ((unit >> 8) & 1) {
            if (pos >= u->trie_n) return -1;
            return (long)(u->trie[pos] & ((1u << 31) - 1));
        }
    }
    return -1;
}

/* Append the replacement of s[0..n) to out; 0 when no rule applies. */
static int transform(const bd_unigram *u, const char *s, size_t n, bd_cpvec *out, bd_err *e) {
    long v = first_prefix_value(u, s, n);
    if (v < 0 || (size_t)v >= u->blob_n) return 0;
    const char *r = u->blob + v;
    bd_cpvec tmp = {0};
    if (bd_tk_decode_utf8(r, strlen(r), &tmp, e) || bd_tk_cpvec_reserve(out, tmp.n, e)) {
        bd_tk_cpvec_free(&tmp);
        return -1;
    }
    if (tmp.n) memcpy(out->v + out->n, tmp.v, tmp.n * sizeof *tmp.v);
    out->n += tmp.n;
    bd_tk_cpvec_free(&tmp);
    return 1;
}

/* Each grapheme of under 6 bytes whole when a rule takes its first bytes, else char by char. */
static int apply_precompiled(const bd_unigram *u, const bd_cpvec *in, bd_cpvec *out, bd_err *e) {
    out->n = 0;
    char buf[4 * 64];
    size_t i = 0;
    while (i < in->n) {
        size_t j = i + 1;
        utf8proc_int32_t state = 0;
        while (j < in->n && !utf8proc_grapheme_break_stateful(in->v[j - 1], in->v[j], &state)) j++;
        size_t bytes = 0;
        char one[5];
        for (size_t k = i; k < j && bytes < 6; k++) bytes += bd_tk_encode_utf8(in->v + k, 1, one, NULL);
        if (bytes < 6) {
            size_t b = bd_tk_encode_utf8(in->v + i, j - i, buf, NULL);
            int r = transform(u, buf, b, out, e);
            if (r < 0) return -1;
            if (r) { i = j; continue; }
        }
        for (size_t k = i; k < j; k++) {
            size_t b = bd_tk_encode_utf8(in->v + k, 1, one, NULL);
            int r = transform(u, one, b, out, e);
            if (r < 0) return -1;
            if (!r && bd_tk_cpvec_push(out, in->v[k], e)) return -1;
        }
        i = j;
    }
    return 0;
}

/* ---- normalizer ---- */

static int cpstr_of(bd_cpstr *out, const char *s, bd_err *e) {
    bd_cpvec v = {0};
    if (bd_tk_decode_utf8(s, strlen(s), &v, e)) return -1;
    out->cp = v.v;
    out->n = v.n;
    return 0;
}

static int norm_one(bd_unigram *u, json_t *n, const char *path, bd_err *e) {
    const char *type = bd_tj_type_of(n);
    char q[160];
    if (u->n_steps == MAX_STEPS) return bd_errf(e, "%s: normalizer: more than %d steps", path, MAX_STEPS);
    norm_step *st = &u->step[u->n_steps];
    if (!strcmp(type, "Precompiled")) {
        if (precompiled(u, n, path, e)) return -1;
        st->kind = N_PRECOMPILED;
    } else if (!strcmp(type, "Strip")) {
        st->kind = N_STRIP;
        st->left = json_is_true(json_object_get(n, "strip_left"));
        st->right = json_is_true(json_object_get(n, "strip_right"));
    } else if (!strcmp(type, "Replace")) {
        json_t *pat = json_object_get(n, "pattern");
        const char *str = json_string_value(json_object_get(pat, "String"));
        const char *re = json_string_value(json_object_get(pat, "Regex"));
        const char *content = json_string_value(json_object_get(n, "content"));
        if (!content || (!str && !re)) return bd_errf(e, "%s: normalizer Replace needs a pattern and a content", path);
        if (re && strcmp(re, " {2,}"))
            return bd_errf(e, "%s: normalizer Replace with the regex \"%s\" is not supported (supported: \" {2,}\" and strings)",
                           path, bd_printable(q, sizeof q, re));
        if (str && !str[0]) return bd_errf(e, "%s: normalizer Replace with an empty pattern is not supported", path);
        st->kind = re ? N_REPLACE_SPACES : N_REPLACE_STR;
        if (cpstr_of(&st->content, content, e) || (str && cpstr_of(&st->pat, str, e))) return -1;
    } else {
        return bd_tj_unsupported(path, "normalizer", n, " with a Unigram model (supported: Precompiled, Strip, Replace, Sequence)", e);
    }
    u->n_steps++;
    return 0;
}

int bd_unigram_normalizer(bd_tokenizer *t, json_t *n, const char *path, bd_err *e) {
    bd_unigram *u = uni(t, e);
    if (!u) return -1;
    if (!strcmp(bd_tj_type_of(n), "null")) return 0;
    if (strcmp(bd_tj_type_of(n), "Sequence")) return norm_one(u, n, path, e);
    json_t *list = json_object_get(n, "normalizers");
    if (!json_is_array(list)) return bd_errf(e, "%s: normalizer Sequence: normalizers is not a list", path);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *x = json_array_get(list, i);
        if (!strcmp(bd_tj_type_of(x), "Sequence"))
            return bd_tj_unsupported(path, "normalizer", x, " inside a Sequence", e);
        if (norm_one(u, x, path, e)) return -1;
    }
    return 0;
}

static int replace_step(const norm_step *st, const bd_cpvec *in, bd_cpvec *out, bd_err *e) {
    out->n = 0;
    for (size_t i = 0; i < in->n;) {
        size_t m = 0; /* the match's length at i */
        if (st->kind == N_REPLACE_SPACES) {
            while (i + m < in->n && in->v[i + m] == ' ') m++;
            if (m < 2) m = 0;
        } else if (st->pat.n <= in->n - i && !memcmp(in->v + i, st->pat.cp, st->pat.n * sizeof *in->v)) {
            m = st->pat.n;
        }
        if (!m) {
            if (bd_tk_cpvec_push(out, in->v[i++], e)) return -1;
            continue;
        }
        if (bd_tk_cpvec_reserve(out, st->content.n, e)) return -1;
        if (st->content.n) memcpy(out->v + out->n, st->content.cp, st->content.n * sizeof *out->v);
        out->n += st->content.n;
        i += m;
    }
    return 0;
}

int bd_unigram_normalize(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e) {
    const bd_unigram *u = t->uni;
    bd_cpvec tmp = {0};
    out->n = 0;
    if (bd_tk_cpvec_reserve(out, n + 1, e)) return -1;
    if (n) memcpy(out->v, cp, n * sizeof *cp);
    out->n = n;
    for (int s = 0; s < u->n_steps; s++) {
        const norm_step *st = &u->step[s];
        if (st->kind == N_STRIP) {
            size_t a = 0, b = out->n;
            if (st->left) while (a < b && bd_tk_white_space(out->v[a])) a++;
            if (st->right) while (b > a && bd_tk_white_space(out->v[b - 1])) b--;
            memmove(out->v, out->v + a, (b - a) * sizeof *out->v);
            out->n = b - a;
            continue;
        }
        int rc = st->kind == N_PRECOMPILED ? apply_precompiled(u, out, &tmp, e) : replace_step(st, out, &tmp, e);
        if (rc) { bd_tk_cpvec_free(&tmp); return -1; }
        bd_cpvec x = *out;
        *out = tmp;
        tmp = x;
    }
    bd_tk_cpvec_free(&tmp);
    return 0;
}

/* ---- pre-tokenizer ---- */

static int pre_one(bd_unigram *u, json_t *p, const char *path, bd_err *e) {
    const char *type = bd_tj_type_of(p);
    char q[160];
    if (u->n_pre == MAX_STEPS) return bd_errf(e, "%s: pre_tokenizer: more than %d steps", path, MAX_STEPS);
    if (!strcmp(type, "WhitespaceSplit")) {
        if (u->n_pre && u->pre[u->n_pre - 1] == PT_METASPACE)
            return bd_errf(e, "%s: pre_tokenizer: WhitespaceSplit after Metaspace is not supported", path);
        u->pre[u->n_pre++] = PT_WHITESPACE_SPLIT;
        return 0;
    }
    if (strcmp(type, "Metaspace"))
        return bd_tj_unsupported(path, "pre_tokenizer", p, " with a Unigram model (supported: Metaspace, WhitespaceSplit, Sequence)", e);
    for (int i = 0; i < u->n_pre; i++)
        if (u->pre[i] == PT_METASPACE) return bd_errf(e, "%s: pre_tokenizer: two Metaspace steps are not supported", path);
    const char *rep = json_string_value(json_object_get(p, "replacement"));
    bd_cpvec v = {0};
    if (!rep || bd_tk_decode_utf8(rep, strlen(rep), &v, e) || v.n != 1) {
        bd_tk_cpvec_free(&v);
        return bd_errf(e, "%s: pre_tokenizer Metaspace: replacement must be one character", path);
    }
    u->replacement = v.v[0];
    bd_tk_cpvec_free(&v);
    json_t *sc = json_object_get(p, "prepend_scheme"), *aps = json_object_get(p, "add_prefix_space"),
           *split = json_object_get(p, "split");
    u->prepend = PREPEND_ALWAYS;
    if (sc && !json_is_null(sc)) {
        const char *s = json_string_value(sc);
        if (s && !strcmp(s, "always")) u->prepend = PREPEND_ALWAYS;
        else if (s && !strcmp(s, "first")) u->prepend = PREPEND_FIRST;
        else if (s && !strcmp(s, "never")) u->prepend = PREPEND_NEVER;
        else return bd_errf(e, "%s: pre_tokenizer Metaspace: prepend_scheme \"%s\" is not always, first or never", path,
                            bd_printable(q, sizeof q, s ? s : "?"));
    }
    if (aps && !json_is_null(aps) && !json_is_boolean(aps))
        return bd_errf(e, "%s: pre_tokenizer Metaspace: add_prefix_space must be true or false", path);
    if (json_is_false(aps)) u->prepend = PREPEND_NEVER; /* the older field: false is never */
    if (split && !json_is_null(split) && !json_is_boolean(split))
        return bd_errf(e, "%s: pre_tokenizer Metaspace: split must be true or false", path);
    u->split = !json_is_false(split);
    u->pre[u->n_pre++] = PT_METASPACE;
    return 0;
}

int bd_unigram_pre_tokenizer(bd_tokenizer *t, json_t *p, const char *path, bd_err *e) {
    bd_unigram *u = uni(t, e);
    if (!u) return -1;
    if (!strcmp(bd_tj_type_of(p), "null")) return 0;
    if (strcmp(bd_tj_type_of(p), "Sequence")) return pre_one(u, p, path, e);
    json_t *list = json_object_get(p, "pretokenizers");
    if (!json_is_array(list)) return bd_errf(e, "%s: pre_tokenizer Sequence: pretokenizers is not a list", path);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *x = json_array_get(list, i);
        if (!strcmp(bd_tj_type_of(x), "Sequence")) return bd_tj_unsupported(path, "pre_tokenizer", x, " inside a Sequence", e);
        if (pre_one(u, x, path, e)) return -1;
    }
    return 0;
}

/* Metaspace on one piece (first: it starts the text), then the model on each split. */
static int metaspace(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, bd_cpvec *w, bd_cpvec *out,
                     bd_err *e) {
    const bd_unigram *u = t->uni;
    bool meta = false;
    for (int i = 0; i < u->n_pre; i++) meta |= u->pre[i] == PT_METASPACE;
    if (!meta) return bd_unigram_segment(t, cp, n, out, e);
    w->n = 0;
    if (n == 0) return 0;
    if (bd_tk_cpvec_reserve(w, n + 1, e)) return -1;
    int32_t r = u->replacement;
    for (size_t i = 0; i < n; i++) w->v[w->n++] = cp[i] == ' ' ? r : cp[i];
    bool prepend = u->prepend == PREPEND_ALWAYS || (u->prepend == PREPEND_FIRST && first);
    if (prepend && w->v[0] != r) {
        memmove(w->v + 1, w->v, w->n * sizeof *w->v);
        w->v[0] = r;
        w->n++;
    }
    if (!u->split) return bd_unigram_segment(t, w->v, w->n, out, e);
    /* MergedWithNext: a piece starts at each replacement that does not follow another */
    size_t s = 0;
    for (size_t i = 1; i <= w->n; i++) {
        if (i < w->n && !(w->v[i] == r && w->v[i - 1] != r)) continue;
        if (bd_unigram_segment(t, w->v + s, i - s, out, e)) return -1;
        s = i;
    }
    return 0;
}

int bd_unigram_pieces(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, bd_cpvec *out, bd_err *e) {
    const bd_unigram *u = t->uni;
    bd_cpvec w = {0};
    int rc = 0;
    if (u->n_pre && u->pre[0] == PT_WHITESPACE_SPLIT) {
        size_t i = 0;
        while (i < n && !rc) {
            while (i < n && bd_tk_white_space(cp[i])) i++;
            size_t j = i;
            while (j < n && !bd_tk_white_space(cp[j])) j++;
            if (j > i) rc = metaspace(t, cp + i, j - i, first && i == 0, &w, out, e);
            i = j;
        }
    } else {
        rc = metaspace(t, cp, n, first, &w, out, e);
    }
    bd_tk_cpvec_free(&w);
    return rc;
}
