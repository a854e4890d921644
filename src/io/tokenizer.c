/* tokenizer.c: loading (which tokenizer a model directory holds), the
 * vocabulary and added tokens, BertTokenizer's WordPiece and EsmTokenizer as
 * transformers' slow Python classes do them (tokenization_bert.py,
 * tokenization_esm.py and PreTrainedTokenizer.tokenize, v4.46), the
 * tokenizers library's BertNormalizer / BertPreTokenizer / WordPiece for a
 * tokenizer.json, and post-processing with truncation. Byte-level BPE is in
 * bpe.c, the tokenizer.json reader in tokjson.c.
 *
 * BertTokenizer, step for step:
 *   lower-case everything but special tokens (when do_lower_case)
 *   -> split out added/special tokens -> per remaining piece:
 *      clean text -> space around CJK -> NFC -> whitespace split ->
 *      per word: lower, strip accents (NFD, drop Mn), split punctuation
 *   -> greedy longest-match-first WordPiece ("##" continuations).
 * BertTokenizerFast (tokenizer.json): added tokens that are not normalized are
 * split out of the raw text, the rest is normalized (clean text, CJK, strip
 * accents, lower: in that order and without NFC), normalized added tokens are
 * split out, then whitespace/punctuation split and WordPiece.
 *
 * Text is processed as arrays of code points. Invalid UTF-8 bytes become
 * U+FFFD, which the clean-text step removes: the result is what Python gives
 * for bytes.decode("utf-8", errors="replace"). Unicode tables come from
 * utf8proc, so code points assigned after utf8proc's Unicode version (or the
 * reference's) can tokenize differently. */
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utf8proc.h>

#include "json.h"
#include "tok_impl.h"

#define MAX_WORD_CHARS 100 /* WordpieceTokenizer.max_input_chars_per_word */

/* ---- small helpers ---- */

int bd_tk_cpvec_reserve(bd_cpvec *v, size_t extra, bd_err *e) {
    if (v->n + extra <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->n + extra) cap *= 2;
    int32_t *nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) return bd_errf(e, "tokenizer: out of memory (%zu code points)", cap);
    v->v = nv;
    v->cap = cap;
    return 0;
}

int bd_tk_cpvec_push(bd_cpvec *v, int32_t c, bd_err *e) {
    if (v->n == v->cap && bd_tk_cpvec_reserve(v, 1, e)) return -1;
    v->v[v->n++] = c;
    return 0;
}

void bd_tk_cpvec_free(bd_cpvec *v) {
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

int bd_tk_decode_utf8(const char *s, size_t len, bd_cpvec *out, bd_err *e) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    out->n = 0;
    if (bd_tk_cpvec_reserve(out, len, e)) return -1;
    while (len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)len, &c);
        if (k <= 0) { c = 0xFFFD; k = 1; }
        out->v[out->n++] = c;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

size_t bd_tk_encode_utf8(const int32_t *cp, size_t n, char *buf, size_t *off) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (off) off[i] = len;
        len += (size_t)utf8proc_encode_char(cp[i], (utf8proc_uint8_t *)buf + len);
    }
    if (off) off[n] = len;
    buf[len] = '\0';
    return len;
}

static bool cp_eq(const int32_t *a, size_t na, const bd_cpstr *b) {
    return na == b->n && memcmp(a, b->cp, na * sizeof *a) == 0;
}

/* ---- Unicode predicates (transformers' _is_whitespace etc.) ---- */

static bool is_bert_whitespace(int32_t c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static bool is_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
        return true;
    default:
        return false;
    }
}

/* The tokenizers library's is_control: unassigned code points (Cn) are kept. */
static bool is_control_fast(int32_t c) {
    return utf8proc_category(c) != UTF8PROC_CATEGORY_CN && is_control(c);
}

/* Non-letter/number ASCII counts as punctuation too ("$", "^", "`"). */
static bool is_punctuation(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return true;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static bool is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool bd_tk_white_space(int32_t c) {
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20) return true;
    if (c < 0x85) return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool bd_tk_py_space(int32_t c) {
    return (c >= 0x1C && c <= 0x1F) || bd_tk_white_space(c);
}

/* str.lower() of one character: the simple mapping, except U+0130, whose
 * full lower-case mapping is two code points. (Python's context-dependent
 * final sigma never applies: 4.46 lowers the text one character at a time;
 * Rust's char::to_lowercase has no context either.) */
static int lower_push(bd_cpvec *out, int32_t c, bd_err *e) {
    if (c == 0x130) {
        if (bd_tk_cpvec_push(out, 'i', e)) return -1;
        return bd_tk_cpvec_push(out, 0x307, e);
    }
    return bd_tk_cpvec_push(out, utf8proc_tolower(c), e);
}

/* NFC or NFD of v in place (ASCII is invariant, so skipped). */
static int normalize(bd_cpvec *v, utf8proc_option_t opt, bd_err *e) {
    size_t i = 0;
    while (i < v->n && v->v[i] < 0x80) i++;
    if (i == v->n) return 0;
    char *buf = malloc(4 * v->n + 1);
    if (!buf) return bd_errf(e, "tokenizer: out of memory (%zu code points)", v->n);
    size_t len = bd_tk_encode_utf8(v->v, v->n, buf, NULL);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)len, &out,
                                      (utf8proc_option_t)(UTF8PROC_STABLE | opt));
    free(buf);
    if (r < 0) return bd_errf(e, "tokenizer: Unicode normalization failed: %s", utf8proc_errmsg(r));
    int rc = bd_tk_decode_utf8((const char *)out, (size_t)r, v, e);
    free(out);
    return rc;
}

/* ---- vocabulary hash table ---- */

static uint64_t fnv_bytes(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}
#define FNV_INIT 14695981039346656037ULL

int bd_tk_vocab_alloc(bd_tokenizer *t, int n_ids, size_t count, const char *path, bd_err *e) {
    t->tok = bd_calloc((size_t)n_ids, sizeof *t->tok, e);
    t->tok_len = bd_calloc((size_t)n_ids, sizeof *t->tok_len, e);
    size_t cap = 16;
    while (cap < 2 * count) cap *= 2;
    t->slots = bd_malloc(cap * sizeof *t->slots, e);
    if (!t->tok || !t->tok_len || !t->slots) return bd_err_prefix(e, "%s: %d tokens", path, n_ids);
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    t->slot_mask = cap - 1;
    t->n_vocab = n_ids;
    return 0;
}

/* Id of ("##" if cont) + s[0..n) in the vocabulary, or -1. */
static int vocab_find(const bd_tokenizer *t, const char *s, size_t n, bool cont) {
    uint64_t h = FNV_INIT;
    if (cont) h = fnv_bytes(h, "##", 2);
    h = fnv_bytes(h, s, n);
    size_t p = (size_t)h & t->slot_mask;
    size_t want = n + (cont ? 2 : 0);
    for (;;) {
        int32_t id = t->slots[p];
        if (id < 0) return -1;
        const char *k = t->tok[id];
        if (t->tok_len[id] == want &&
            (!cont || (k[0] == '#' && k[1] == '#')) && memcmp(k + (cont ? 2 : 0), s, n) == 0)
            return id;
        p = (p + 1) & t->slot_mask;
    }
}

int bd_tk_vocab_find(const bd_tokenizer *t, const char *s, size_t n) {
    return vocab_find(t, s, n, false);
}

/* A later duplicate line wins, as with Python's dict. */
void bd_tk_vocab_set(bd_tokenizer *t, int32_t id, char *s, uint32_t len) {
    t->tok[id] = s;
    t->tok_len[id] = len;
    uint64_t h = fnv_bytes(FNV_INIT, s, len);
    size_t p = (size_t)h & t->slot_mask;
    while (t->slots[p] >= 0) {
        int32_t o = t->slots[p];
        if (t->tok_len[o] == len && memcmp(t->tok[o], s, len) == 0) break;
        p = (p + 1) & t->slot_mask;
    }
    t->slots[p] = id;
}

static int find_added(const bd_tokenizer *t, const char *s, size_t n) {
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && memcmp(t->added[i].str, s, n) == 0) return i;
    return -1;
}

int bd_tk_resolve_id(const bd_tokenizer *t, const char *s, size_t n) {
    int a = find_added(t, s, n);
    return a >= 0 ? t->added[a].id : vocab_find(t, s, n, false);
}

static int token_to_id(const bd_tokenizer *t, const char *s, size_t n) {
    int id = bd_tk_resolve_id(t, s, n);
    return id >= 0 ? id : t->unk_id;
}

/* Universal newlines, like Python's text-mode readlines(): \n, \r\n and \r
 * end a line; a final line without a newline still counts. EsmTokenizer
 * also strips each line (strip_ws). */
static int load_vocab(bd_tokenizer *t, const char *path, bool strip_ws, bd_err *e) {
    size_t len = 0;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return -1;
    t->vocab_buf = buf;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || (buf[i] == '\r' && !(i + 1 < len && buf[i + 1] == '\n'))) lines++;
    }
    if (len && buf[len - 1] != '\n' && buf[len - 1] != '\r') lines++;
    if (lines == 0) return bd_errf(e, "%s: empty vocabulary", path);
    if (lines > INT32_MAX / 2) return bd_errf(e, "%s: too many lines (%zu)", path, lines);
    if (bd_tk_vocab_alloc(t, (int)lines, lines, path, e)) return -1;

    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len && n < lines; i++) {
        bool end = i == len || buf[i] == '\n' || buf[i] == '\r';
        if (!end) continue;
        size_t tl = i - start;
        if (i < len && buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') i++;
        buf[start + tl] = '\0';
        if (strip_ws) { /* ASCII whitespace only: the ESM vocabulary is ASCII */
            while (tl && strchr(" \t\v\f", buf[start])) { start++; tl--; }
            while (tl && strchr(" \t\v\f", buf[start + tl - 1])) buf[start + --tl] = '\0';
        }
        const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)buf + start;
        int chars = 0;
        for (size_t k = 0; k < tl; chars++) {
            utf8proc_int32_t c;
            utf8proc_ssize_t r = utf8proc_iterate(p + k, (utf8proc_ssize_t)(tl - k), &c);
            if (r <= 0) return bd_errf(e, "%s:%zu: invalid UTF-8", path, n + 1);
            k += (size_t)r;
        }
        if (tl > UINT32_MAX) return bd_errf(e, "%s:%zu: line too long", path, n + 1);
        if (chars > t->max_tok_chars) t->max_tok_chars = chars;
        bd_tk_vocab_set(t, (int32_t)n, buf + start, (uint32_t)tl);
        n++;
        start = i + 1;
    }
    return 0;
}

int bd_tk_vocab_json(bd_tokenizer *t, json_t *obj, const char *path, const char *what, bd_err *e) {
    char q[160], q2[160];
    if (!json_is_object(obj)) return bd_errf(e, "%s: %s is not an object of token: id", path, what);
    size_t count = json_object_size(obj), bytes = 0;
    if (count == 0) return bd_errf(e, "%s: empty vocabulary (%s)", path, what);
    json_int_t max = -1;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id > INT32_MAX / 2)
            return bd_errf(e, "%s: %s: token \"%s\" needs a non-negative integer id", path, what,
                           bd_printable(q, sizeof q, key));
        if (id > max) max = id;
        bytes += strlen(key) + 1;
    }
    t->vocab_buf = bd_malloc(bytes, e);
    if (!t->vocab_buf || bd_tk_vocab_alloc(t, (int)max + 1, count, path, e)) return -1;
    char *p = t->vocab_buf;
    json_object_foreach(obj, key, v) {
        int32_t id = (int32_t)json_integer_value(v);
        size_t len = strlen(key);
        if (t->tok[id])
            return bd_errf(e, "%s: %s: tokens \"%s\" and \"%s\" both have id %d", path, what,
                           bd_printable(q, sizeof q, t->tok[id]), bd_printable(q2, sizeof q2, key), (int)id);
        memcpy(p, key, len + 1);
        bd_tk_vocab_set(t, id, p, (uint32_t)len);
        p += len + 1;
    }
    return 0;
}

/* ---- added tokens ---- */

static int cpstr_from_utf8(bd_cpstr *out, const char *s, bd_err *e) {
    bd_cpvec v = {0};
    if (bd_tk_decode_utf8(s, strlen(s), &v, e)) return -1;
    out->cp = v.v;
    out->n = v.n;
    return 0;
}

const char *bd_tk_token_content(json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) {
        json_t *c = json_object_get(v, "content");
        if (json_is_string(c)) return json_string_value(c);
    }
    return NULL;
}

int bd_tk_add_token(bd_tokenizer *t, const char *content, int id, const bd_added_tok *flags,
                    const char *src, bd_err *e) {
    size_t len = strlen(content);
    if (len == 0) return 0;
    char q[160];
    if (id >= t->limit)
        return bd_errf(e, "%s: token \"%s\" has id %d, but %s has vocab_size %d (ids 0..%d index the embeddings)",
                       src, bd_printable(q, sizeof q, content), id, t->limit_path, t->limit, t->limit - 1);
    int k = find_added(t, content, len);
    if (k >= 0) { /* declared twice (decoder and special map): merge the flags */
        t->added[k].special |= flags->special;
        t->added[k].protect |= flags->protect;
        return 0;
    }
    bd_added_tok *na = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na) return bd_errf(e, "%s: out of memory for %d added tokens", src, t->n_added + 1);
    t->added = na;
    bd_added_tok *a = &t->added[t->n_added];
    *a = *flags;
    a->s.cp = NULL;
    a->str = strdup(content);
    if (!a->str || cpstr_from_utf8(&a->s, content, e)) {
        free(a->str);
        free(a->s.cp);
        return bd_errf(e, "%s: out of memory for added token \"%s\"", src, bd_printable(q, sizeof q, content));
    }
    a->len = len;
    a->id = id;
    t->n_added++;
    if (id + 1 > t->size) t->size = id + 1;
    return 0;
}

/* ---- tokenizer_config.json ---- */

static int cfg_bool(json_t *root, const char *key, bool *out, const char *path, bd_err *e) {
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return bd_errf(e, "%s: \"%s\" must be true or false", path, key);
    *out = json_is_true(v);
    return 0;
}

/* Parse DIR/NAME into *out (a JSON object); a missing file leaves it NULL. */
static int json_file(const char *dir, const char *name, json_t **out, char *path, size_t cap,
                     bd_err *e) {
    *out = NULL;
    int k = snprintf(path, cap, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= cap) return bd_errf(e, "%s: path too long", dir);
    if (access(path, F_OK) != 0 && errno == ENOENT) return 0;
    size_t len;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return -1;
    json_error_t jerr;
    *out = bd_json_loadb(buf, len, 0, &jerr);
    free(buf);
    if (!*out) return bd_errf(e, "%s:%d:%d: malformed JSON: %s", path, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return bd_errf(e, "%s: top level is not a JSON object", path);
    }
    return 0;
}

enum { K_UNK, K_SEP, K_PAD, K_CLS, K_MASK, K_BOS, K_EOS, N_NAMED };
static const char *const NAMED_KEYS[N_NAMED] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                                "mask_token", "bos_token", "eos_token"};

/* The named special tokens as each class's __init__ defaults them, and
 * which ones encoding needs (the others may be null). */
typedef struct {
    const char *name[N_NAMED];
    unsigned required; /* bit per key */
} named_defaults;

static const named_defaults DEFAULTS[4] = {
    [BD_TOK_WORDPIECE] = {{"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]", NULL, NULL},
                          1u << K_UNK | 1u << K_SEP | 1u << K_PAD | 1u << K_CLS},
    [BD_TOK_BPE] = {{"<unk>", "</s>", "<pad>", "<s>", "<mask>", "<s>", "</s>"},
                    1u << K_UNK | 1u << K_SEP | 1u << K_PAD | 1u << K_CLS},
    [BD_TOK_UNIGRAM] = {{"<unk>", "</s>", "<pad>", "<s>", "<mask>", "<s>", "</s>"},
                        1u << K_UNK | 1u << K_SEP | 1u << K_PAD | 1u << K_CLS},
    [BD_TOK_ESM] = {{"<unk>", NULL, "<pad>", "<cls>", "<mask>", NULL, "<eos>"},
                    1u << K_UNK | 1u << K_PAD | 1u << K_CLS | 1u << K_EOS},
};

typedef struct {
    const char *name[N_NAMED];
    const char *src[N_NAMED]; /* the file that set each name */
    json_t *obj[N_NAMED];     /* its AddedToken object, if written as one */
} named_tokens;

/* The named special tokens of obj (a config or special_tokens_map.json);
 * null removes one. */
static int read_named(json_t *obj, named_tokens *nt, const char *path, bd_err *e) {
    for (int k = 0; k < N_NAMED; k++) {
        json_t *v = json_object_get(obj, NAMED_KEYS[k]);
        if (!v) continue;
        nt->name[k] = json_is_null(v) ? NULL : bd_tk_token_content(v);
        nt->src[k] = path;
        nt->obj[k] = json_is_object(v) ? v : NULL;
        if (!json_is_null(v) && !nt->name[k])
            return bd_errf(e, "%s: \"%s\" must be a string or {\"content\": string}", path, NAMED_KEYS[k]);
    }
    return 0;
}

/* additional_special_tokens of obj: each must already have an id. */
static int extra_specials(bd_tokenizer *t, json_t *obj, const char *path, const char *vocab_path,
                          bd_err *e) {
    json_t *extra = json_object_get(obj, "additional_special_tokens");
    if (!extra || json_is_null(extra)) return 0;
    if (!json_is_array(extra))
        return bd_errf(e, "%s: \"additional_special_tokens\" must be a list", path);
    for (size_t i = 0; i < json_array_size(extra); i++) {
        const char *s = bd_tk_token_content(json_array_get(extra, i));
        if (!s) return bd_errf(e, "%s: \"additional_special_tokens\"[%zu] is not a token", path, i);
        int id = bd_tk_resolve_id(t, s, strlen(s));
        char q[160];
        if (id < 0)
            return bd_errf(e, "%s: no %s \"%s\" (additional special token in %s)", vocab_path,
                           t->kind == BD_TOK_BPE || t->kind == BD_TOK_UNIGRAM ? "token" : "line", bd_printable(q, sizeof q, s), path);
        bd_added_tok f = {.special = true, .protect = true};
        if (bd_tk_add_token(t, s, id, &f, path, e)) return -1;
    }
    return 0;
}

int bd_tk_added_entry(bd_tokenizer *t, json_t *entry, long id, const char *what, const char *path,
                      bd_err *e) {
    const char *content = json_is_object(entry) ? bd_tk_token_content(entry) : NULL;
    char q[160];
    if (id < 0 || id > INT32_MAX / 2 || !content)
        return bd_errf(e, "%s: %s needs a numeric id and a \"content\" string", path, what);
    if (json_is_true(json_object_get(entry, "single_word")))
        return bd_errf(e, "%s: added token \"%s\": single_word=true is not supported", path,
                       bd_printable(q, sizeof q, content));
    bd_added_tok f = {0};
    f.special = json_is_true(json_object_get(entry, "special"));
    json_t *norm = json_object_get(entry, "normalized");
    f.normalized = norm ? json_is_true(norm) : !f.special;
    f.protect = f.special || f.normalized;
    f.lstrip = json_is_true(json_object_get(entry, "lstrip"));
    f.rstrip = json_is_true(json_object_get(entry, "rstrip"));
    return bd_tk_add_token(t, content, (int)id, &f, path, e);
}

/* The named special tokens: each must have an id (the vocabulary's or an
 * added token's); it becomes a special added token. */
static int resolve_named(bd_tokenizer *t, const named_tokens *nt, const char *vocab_path, bd_err *e) {
    const named_defaults *d = &DEFAULTS[t->kind];
    int *ids[N_NAMED] = {&t->unk_id, &t->sep_id, &t->pad_id, &t->cls_id, &t->mask_id, &t->bos_id,
                         &t->eos_id};
    for (int k = 0; k < N_NAMED; k++) {
        *ids[k] = -1;
        if (!nt->name[k]) {
            if (!(d->required & (1u << k))) continue;
            return bd_errf(e, "%s: \"%s\" is null, but encoding needs it", nt->src[k] ? nt->src[k] : vocab_path,
                           NAMED_KEYS[k]);
        }
        int id = bd_tk_resolve_id(t, nt->name[k], strlen(nt->name[k]));
        if (id < 0) {
            char q[160];
            return bd_errf(e, "%s: no %s \"%s\" (the %s)", vocab_path, t->kind == BD_TOK_BPE || t->kind == BD_TOK_UNIGRAM ? "token" : "line",
                           bd_printable(q, sizeof q, nt->name[k]), NAMED_KEYS[k]);
        }
        /* RobertaTokenizer makes a plain-string <mask> lstrip (it eats the space before it) */
        bd_added_tok f = {.special = true, .protect = true};
        f.lstrip = (t->kind == BD_TOK_BPE || t->kind == BD_TOK_UNIGRAM) && k == K_MASK;
        if (nt->obj[k]) {
            json_t *l = json_object_get(nt->obj[k], "lstrip"), *r = json_object_get(nt->obj[k], "rstrip");
            if (l) f.lstrip = json_is_true(l);
            f.rstrip = json_is_true(r);
        }
        if (bd_tk_add_token(t, nt->name[k], id, &f, vocab_path, e)) return -1;
        *ids[k] = id;
    }
    return 0;
}

/* tokenizer_config.json, then the legacy special_tokens_map.json and
 * added_tokens.json, read the way transformers 4.46 from_pretrained does.
 * With tokenizer.json (json_model) only the named special tokens are read:
 * the added tokens come from tokenizer.json. */
static int load_config(bd_tokenizer *t, const char *dir, const char *vocab_path, bool json_model,
                       bd_err *e) {
    char path[4096], map_path[4096], added_path[4096];
    json_t *root = NULL, *map = NULL, *legacy = NULL;
    int rc = -1;
    /* Defaults of BertTokenizer.__init__ / RobertaTokenizer.__init__. */
    if (!json_model) {
        t->lower = t->kind == BD_TOK_WORDPIECE;
        t->chinese = true;
        t->basic = true;
        t->clean_text = true;
        t->max_word_chars = MAX_WORD_CHARS;
    }
    int strip = -1; /* strip_accents: -1 = null (follow do_lower_case) */
    named_tokens nt = {{0}, {0}, {0}};
    memcpy(nt.name, DEFAULTS[t->kind].name, sizeof nt.name);

    if (json_file(dir, "tokenizer_config.json", &root, path, sizeof path, e)) goto out;
    if (root && !json_model) {
        if (t->kind == BD_TOK_WORDPIECE &&
            (cfg_bool(root, "do_lower_case", &t->lower, path, e) ||
             cfg_bool(root, "tokenize_chinese_chars", &t->chinese, path, e) ||
             cfg_bool(root, "do_basic_tokenize", &t->basic, path, e)))
            goto out;
        if (t->kind == BD_TOK_BPE) {
            bool prefix = false;
            if (cfg_bool(root, "add_prefix_space", &prefix, path, e)) goto out;
            bd_bpe_set_prefix_space(t, prefix);
        }
        json_t *v = json_object_get(root, "strip_accents");
        if (t->kind == BD_TOK_WORDPIECE && v && !json_is_null(v)) {
            if (!json_is_boolean(v)) { bd_errf(e, "%s: \"strip_accents\" must be true, false or null", path); goto out; }
            strip = json_is_true(v);
        }
        v = json_object_get(root, "never_split");
        if (t->kind == BD_TOK_WORDPIECE && v && !json_is_null(v)) {
            if (!json_is_array(v)) { bd_errf(e, "%s: \"never_split\" must be a list of strings or null", path); goto out; }
            size_t n = json_array_size(v);
            t->never_split = bd_calloc(n, sizeof *t->never_split, e);
            if (!t->never_split) { bd_err_prefix(e, "%s: never_split", path); goto out; }
            for (size_t i = 0; i < n; i++) {
                json_t *s = json_array_get(v, i);
                if (!json_is_string(s)) { bd_errf(e, "%s: \"never_split\"[%zu] is not a string", path, i); goto out; }
                if (cpstr_from_utf8(&t->never_split[t->n_never_split], json_string_value(s), e)) goto out;
                t->n_never_split++;
            }
        }
    }
    if (root && read_named(root, &nt, path, e)) goto out;
    if (!json_model) t->strip_accents = strip < 0 ? t->lower : strip == 1;

    json_t *dec = root ? json_object_get(root, "added_tokens_decoder") : NULL;
    if (dec && !json_model) {
        if (!json_is_object(dec)) { bd_errf(e, "%s: \"added_tokens_decoder\" must be an object", path); goto out; }
        const char *id_key;
        json_t *entry;
        json_object_foreach(dec, id_key, entry) {
            char *endp, q[160], what[200];
            long id = strtol(id_key, &endp, 10);
            snprintf(what, sizeof what, "\"added_tokens_decoder\" entry \"%s\"", bd_printable(q, sizeof q, id_key));
            if (*endp || endp == id_key) id = -1;
            if (bd_tk_added_entry(t, entry, id, what, path, e)) goto out;
        }
    } else if (!dec) { /* legacy files count only without added_tokens_decoder */
        if (json_file(dir, "special_tokens_map.json", &map, map_path, sizeof map_path, e)) goto out;
        if (map && read_named(map, &nt, map_path, e)) goto out;
        if (!json_model) {
            if (json_file(dir, "added_tokens.json", &legacy, added_path, sizeof added_path, e)) goto out;
            const char *tok;
            json_t *idv;
            json_object_foreach(legacy, tok, idv) {
                json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
                if (id < 0 || id > INT32_MAX / 2) {
                    char q[160];
                    bd_errf(e, "%s: \"%s\" needs a non-negative integer id", added_path, bd_printable(q, sizeof q, tok));
                    goto out;
                }
                bd_added_tok f = {.protect = true, .normalized = true};
                if (bd_tk_add_token(t, tok, (int)id, &f, added_path, e)) goto out;
            }
        }
    }
    if (resolve_named(t, &nt, vocab_path, e)) goto out;
    if ((root && extra_specials(t, root, path, vocab_path, e)) ||
        (map && extra_specials(t, map, map_path, vocab_path, e)))
        goto out;
    rc = 0;
out:
    json_decref(root);
    json_decref(map);
    json_decref(legacy);
    return rc;
}

static int bert_normalize_fast(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out,
                               bd_err *e);

/* ---- post-processing templates ---- */

static void tmpl_add(bd_tmpl *m, int seq, int32_t id, int type_id) {
    bd_tmpl_item *it = &m->item[m->n++];
    it->seq = (int8_t)seq;
    it->id = id;
    it->type_id = (int8_t)type_id;
    if (seq < 0) m->n_special++;
}

/* What each slow class's build_inputs_with_special_tokens builds. */
static void default_templates(bd_tokenizer *t) {
    bd_tmpl *s = &t->single, *p = &t->pair;
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    int first = t->cls_id, sep = t->kind == BD_TOK_ESM ? t->eos_id : t->sep_id;
    int tb = t->kind == BD_TOK_WORDPIECE ? 1 : 0; /* RoBERTa and ESM: type ids all 0 */
    tmpl_add(s, -1, first, 0);
    tmpl_add(s, 0, 0, 0);
    tmpl_add(s, -1, sep, 0);
    tmpl_add(p, -1, first, 0);
    tmpl_add(p, 0, 0, 0);
    tmpl_add(p, -1, sep, 0);
    if (t->kind == BD_TOK_BPE) tmpl_add(p, -1, sep, 0); /* <s> A </s></s> B </s> */
    tmpl_add(p, 1, 0, tb);
    tmpl_add(p, -1, sep, tb);
}

/* ---- loading ---- */

/* DIR/config.json's vocab_size (INT32_MAX when there is none to read) and
 * model_type (into mt, "" when absent): a broken config.json is left for the
 * model loader to report. */
static int config_info(const char *path, char *mt, size_t cap) {
    json_t *root = bd_json_load_file(path, 0, NULL);
    json_t *v = json_object_get(root, "vocab_size");
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    const char *s = json_string_value(json_object_get(root, "model_type"));
    snprintf(mt, cap, "%s", s ? s : "");
    json_decref(root);
    return n > 0 && n < INT32_MAX ? (int)n : INT32_MAX;
}

/* tokenizer_config.json's tokenizer_class ("" when absent or unreadable: the
 * full read reports a broken file). */
static void tokenizer_class(const char *dir, char *cls, size_t cap) {
    char path[4096];
    cls[0] = '\0';
    if (snprintf(path, sizeof path, "%s/tokenizer_config.json", dir) >= (int)sizeof path) return;
    if (access(path, F_OK) != 0) return;
    json_t *root = bd_json_load_file(path, 0, NULL);
    const char *s = json_string_value(json_object_get(root, "tokenizer_class"));
    snprintf(cls, cap, "%s", s ? s : "");
    json_decref(root);
}

static bool file_exists(const char *dir, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Which tokenizer DIR holds (see tokenizer.h), or -1 with a message. *json
 * says whether tokenizer.json is to be read. */
static int pick_kind(const char *dir, const char *cfg, const char *mt, bool *json, bd_err *e) {
    char cls[256];
    tokenizer_class(dir, cls, sizeof cls);
    *json = false;
    bool spm = !strcmp(mt, "xlm-roberta") || !strcmp(mt, "camembert") || starts_with(cls, "XLMRobertaTokenizer") ||
               starts_with(cls, "CamembertTokenizer") || file_exists(dir, "sentencepiece.bpe.model");
    if (spm && !file_exists(dir, "tokenizer.json"))
        return bd_errf(e, "%s: a sentencepiece tokenizer (%s \"%s\") without tokenizer.json, which bidora needs: save "
                       "the fast tokenizer (AutoTokenizer.from_pretrained(dir).save_pretrained(dir) writes tokenizer.json)",
                       dir, mt[0] ? "model_type" : cls[0] ? "tokenizer_class" : "file",
                       mt[0] ? mt : cls[0] ? cls : "sentencepiece.bpe.model");
    if (!strcmp(mt, "esm") || !strcmp(cls, "EsmTokenizer")) return BD_TOK_ESM;
    if (file_exists(dir, "tokenizer.json")) {
        *json = true;
        return BD_TOK_WORDPIECE; /* tokjson.c sets the kind from model.type */
    }
    bool bpe_files = file_exists(dir, "vocab.json") && file_exists(dir, "merges.txt");
    if (!strcmp(mt, "roberta") || starts_with(cls, "RobertaTokenizer") ||
        (bpe_files && !file_exists(dir, "vocab.txt"))) {
        if (cls[0] && !starts_with(cls, "RobertaTokenizer"))
            return bd_errf(e, "%s/tokenizer_config.json: tokenizer_class \"%s\" is not supported with "
                           "vocab.json + merges.txt (read as RobertaTokenizer's)", dir, cls);
        if (mt[0] && strcmp(mt, "roberta"))
            return bd_errf(e, "%s: model_type \"%s\" with vocab.json + merges.txt is not supported "
                           "(read as RobertaTokenizer's, for model_type roberta)", cfg, mt);
        return BD_TOK_BPE;
    }
    return BD_TOK_WORDPIECE;
}

/* The tokenizers library matches a normalized added token by its
 * normalized content ("[NEW]" in an uncased model matches "[new]"). */
static int normalize_added(bd_tokenizer *t, bd_err *e) {
    for (int i = 0; i < t->n_added; i++) {
        bd_added_tok *a = &t->added[i];
        if (!a->normalized) continue;
        bd_cpvec v = {0};
        int rc = t->kind == BD_TOK_UNIGRAM ? bd_unigram_normalize(t, a->s.cp, a->s.n, &v, e)
                                           : bert_normalize_fast(t, a->s.cp, a->s.n, &v, e);
        if (rc) { bd_tk_cpvec_free(&v); return -1; }
        free(a->s.cp);
        a->s.cp = v.v;
        a->s.n = v.n;
    }
    return 0;
}

/* Every id a template adds must be a token the embeddings have. */
static int check_templates(const bd_tokenizer *t, const char *path, bd_err *e) {
    const bd_tmpl *m[2] = {&t->single, &t->pair};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < m[k]->n; i++) {
            int id = m[k]->item[i].id;
            if (m[k]->item[i].seq >= 0) continue;
            if (id < 0 || id >= t->size)
                return bd_errf(e, "%s: the special token id %d added to every %s is not a token (%d tokens)",
                               path, id, k ? "pair" : "text", t->size);
            if (id >= t->limit)
                return bd_errf(e, "%s: special token id %d, but %s has vocab_size %d", path, id,
                               t->limit_path, t->limit);
        }
    return 0;
}

bd_tokenizer *bd_tok_load(const char *dir, bd_err *e) {
    char path[4096], cfg[4096], merges[4096], mt[64];
    bd_tokenizer *t = bd_calloc(1, sizeof *t, e);
    if (!t) return NULL;
    if (bd_path(cfg, sizeof cfg, e, "%s/config.json", dir)) goto fail;
    t->limit = config_info(cfg, mt, sizeof mt);
    t->limit_path = cfg;
    bool json;
    int kind = pick_kind(dir, cfg, mt, &json, e);
    if (kind < 0) goto fail;
    t->kind = (bd_tok_kind)kind;
    if (json) {
        if (bd_path(path, sizeof path, e, "%s/tokenizer.json", dir) || bd_tokjson_load(t, path, e)) goto fail;
        t->fast = true;
    } else if (t->kind == BD_TOK_BPE) {
        if (bd_path(path, sizeof path, e, "%s/vocab.json", dir) ||
            bd_path(merges, sizeof merges, e, "%s/merges.txt", dir) ||
            bd_bpe_load_files(t, path, merges, e))
            goto fail;
    } else {
        if (bd_path(path, sizeof path, e, "%s/vocab.txt", dir) ||
            load_vocab(t, path, t->kind == BD_TOK_ESM, e))
            goto fail;
    }
    if (t->size < t->n_vocab) t->size = t->n_vocab;
    if (t->n_vocab > t->limit) {
        bd_errf(e, "%s: %d tokens, but %s has vocab_size %d (ids 0..%d index the embeddings)", path,
                t->n_vocab, cfg, t->limit, t->limit - 1);
        goto fail;
    }
    if (load_config(t, dir, path, json, e)) goto fail;
    if (!json) default_templates(t);
    else if ((t->kind == BD_TOK_WORDPIECE || t->kind == BD_TOK_UNIGRAM) &&
             (t->unk_id = t->model_unk_id, normalize_added(t, e)))
        goto fail;
    if (check_templates(t, path, e)) goto fail;
    t->limit_path = NULL;
    return t;
fail:
    bd_tok_free(t);
    return NULL;
}

void bd_tok_free(bd_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_added; i++) {
        free(t->added[i].s.cp);
        free(t->added[i].str);
    }
    for (int i = 0; i < t->n_never_split; i++) free(t->never_split[i].cp);
    free(t->added);
    free(t->never_split);
    free(t->tok);
    free(t->tok_len);
    free(t->slots);
    free(t->vocab_buf);
    bd_bpe_free(t->bpe);
    bd_unigram_free(t->uni);
    free(t);
}

int bd_tok_vocab_size(const bd_tokenizer *t) { return t->size; }
int bd_tok_pad_id(const bd_tokenizer *t) { return t->pad_id; }
int bd_tok_cls_id(const bd_tokenizer *t) { return t->single.item[0].seq < 0 ? t->single.item[0].id : t->cls_id; }
bd_tok_kind bd_tok_kind_of(const bd_tokenizer *t) { return t->kind; }
int bd_tok_is_fast(const bd_tokenizer *t) { return t->fast; }

const char *bd_tok_kind_name(bd_tok_kind k) {
    switch (k) {
    case BD_TOK_WORDPIECE: return "WordPiece";
    case BD_TOK_BPE: return "byte-level BPE";
    case BD_TOK_ESM: return "ESM";
    case BD_TOK_UNIGRAM: return "Unigram";
    }
    return "?";
}

int bd_tok_id(const bd_tokenizer *t, const char *token) {
    return bd_tk_resolve_id(t, token, strlen(token));
}

/* ---- encoding: scratch space and splitting out added tokens ---- */

typedef struct {
    size_t start, end;
    int added; /* index into t->added, or -1 for text */
} piece;

typedef struct {
    piece *v;
    size_t n, cap;
} piecevec;

typedef struct {
    bd_cpvec text, seg, a, b, word, ids;
    piecevec p1, p2;
    char *bytes;
    size_t *off;
    size_t word_cap;
} scratch;

static void scratch_free(scratch *s) {
    bd_tk_cpvec_free(&s->text);
    bd_tk_cpvec_free(&s->seg);
    bd_tk_cpvec_free(&s->a);
    bd_tk_cpvec_free(&s->b);
    bd_tk_cpvec_free(&s->word);
    free(s->p1.v);
    free(s->p2.v);
    free(s->bytes);
    free(s->off);
}

static int piece_push(piecevec *pv, size_t start, size_t end, int added, bd_err *e) {
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? 2 * pv->cap : 16;
        piece *nv = realloc(pv->v, cap * sizeof *nv);
        if (!nv) return bd_errf(e, "tokenizer: out of memory (%zu pieces)", cap);
        pv->v = nv;
        pv->cap = cap;
    }
    pv->v[pv->n++] = (piece){start, end, added};
    return 0;
}

/* Which added tokens a split looks for. */
enum { ADDED_ALL, ADDED_PROTECT, ADDED_RAW, ADDED_NORMALIZED };

/* Longest added token starting at cp[i] among those `which` selects. */
static int added_at(const bd_tokenizer *t, const int32_t *cp, size_t n, size_t i, int which) {
    int best = -1;
    for (int k = 0; k < t->n_added; k++) {
        const bd_added_tok *a = &t->added[k];
        if ((which == ADDED_PROTECT && !a->protect) || (which == ADDED_RAW && a->normalized) ||
            (which == ADDED_NORMALIZED && !a->normalized))
            continue;
        if (!a->s.n || a->s.n > n - i || a->s.cp[0] != cp[i]) continue;
        if (memcmp(a->s.cp, cp + i, a->s.n * sizeof *cp) != 0) continue;
        if (best < 0 || a->s.n > t->added[best].s.n) best = k;
    }
    return best;
}

/* EsmTokenizer puts its whole vocabulary in the split trie: the longest
 * vocabulary token at cp[i], in code points (0 when none). */
static size_t vocab_at(const bd_tokenizer *t, const int32_t *cp, size_t n, size_t i) {
    char buf[4 * 64 + 1];
    size_t max = (size_t)t->max_tok_chars;
    if (max > 64) max = 64;
    if (max > n - i) max = n - i;
    for (size_t len = max; len > 0; len--) {
        size_t b = bd_tk_encode_utf8(cp + i, len, buf, NULL);
        if (vocab_find(t, buf, b, false) >= 0) return len;
    }
    return 0;
}

/* PreTrainedTokenizer.tokenize's split: transformers' Trie (leftmost, then
 * longest), then each added token's rstrip / lstrip strips the text piece
 * after / before it (Python's str.isspace whitespace). With esm, vocabulary
 * tokens are boundaries too (text pieces of their own). */
static int split_slow(const bd_tokenizer *t, const int32_t *cp, size_t n, bool esm, piecevec *pv,
                      bd_err *e) {
    pv->n = 0;
    size_t seg = 0, i = 0;
    while (i < n) {
        int a = added_at(t, cp, n, i, ADDED_ALL);
        size_t len = a >= 0 ? t->added[a].s.n : 0, vlen = esm ? vocab_at(t, cp, n, i) : 0;
        if (vlen > len) a = -1, len = vlen;
        if (!len) { i++; continue; }
        if (seg < i && piece_push(pv, seg, i, -1, e)) return -1;
        if (piece_push(pv, i, i + len, a, e)) return -1;
        i += len;
        seg = i;
    }
    if (seg < n && piece_push(pv, seg, n, -1, e)) return -1;
    for (size_t k = 0; k < pv->n; k++) {
        if (pv->v[k].added < 0) continue;
        const bd_added_tok *a = &t->added[pv->v[k].added];
        piece *r = k + 1 < pv->n ? &pv->v[k + 1] : NULL, *l = k ? &pv->v[k - 1] : NULL;
        if (a->rstrip && r && r->added < 0)
            while (r->start < r->end && bd_tk_py_space(cp[r->start])) r->start++;
        if (a->lstrip && l && l->added < 0)
            while (l->end > l->start && bd_tk_py_space(cp[l->end - 1])) l->end--;
    }
    return 0;
}

/* The tokenizers library's AddedVocabulary split of cp[0..n) for the tokens
 * `which` selects: leftmost-longest matches; lstrip / rstrip extend a match
 * over the whitespace (char::is_whitespace) beside it. */
static int split_fast(const bd_tokenizer *t, const int32_t *cp, size_t n, int which, piecevec *pv,
                      bd_err *e) {
    pv->n = 0;
    size_t done = 0, i = 0;
    while (i < n) {
        int a = added_at(t, cp, n, i, which);
        if (a < 0) { i++; continue; }
        size_t start = i, stop = i + t->added[a].s.n;
        if (t->added[a].lstrip)
            while (start > done && bd_tk_white_space(cp[start - 1])) start--;
        if (t->added[a].rstrip)
            while (stop < n && bd_tk_white_space(cp[stop])) stop++;
        if (done < start && piece_push(pv, done, start, -1, e)) return -1;
        if (piece_push(pv, start, stop, a, e)) return -1;
        done = i = stop;
    }
    if (done < n && piece_push(pv, done, n, -1, e)) return -1;
    return 0;
}

/* ---- WordPiece ---- */

/* Greedy longest-match-first WordPiece of one word; ids go to out. */
static int wordpiece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s, bd_cpvec *out,
                     bd_err *e) {
    if (n == 0) return 0;
    if (n > (size_t)t->max_word_chars) return bd_tk_cpvec_push(out, t->unk_id, e);
    if (n > s->word_cap) {
        free(s->bytes);
        free(s->off);
        s->bytes = malloc(4 * n + 1);
        s->off = malloc((n + 1) * sizeof *s->off);
        if (!s->bytes || !s->off) {
            s->word_cap = 0;
            return bd_errf(e, "tokenizer: out of memory for a word of %zu characters", n);
        }
        s->word_cap = n;
    }
    bd_tk_encode_utf8(cp, n, s->bytes, s->off);
    size_t mark = out->n, start = 0;
    while (start < n) {
        size_t end = n;
        int id = -1;
        for (; end > start; end--) {
            id = vocab_find(t, s->bytes + s->off[start], s->off[end] - s->off[start], start > 0);
            if (id >= 0) break;
        }
        if (id < 0) { /* no full segmentation: the whole word is [UNK] */
            out->n = mark;
            return bd_tk_cpvec_push(out, t->unk_id, e);
        }
        /* the slow class converts the piece back through the added tokens */
        if (t->n_added && !t->fast) id = token_to_id(t, t->tok[id], t->tok_len[id]);
        if (bd_tk_cpvec_push(out, id, e)) return -1;
        start = end;
    }
    return 0;
}

static bool in_never_split(const bd_tokenizer *t, const int32_t *cp, size_t n, bool specials) {
    for (int i = 0; i < t->n_never_split; i++)
        if (cp_eq(cp, n, &t->never_split[i])) return true;
    if (specials)
        for (int i = 0; i < t->n_added; i++)
            if (t->added[i].special && cp_eq(cp, n, &t->added[i].s)) return true;
    return false;
}

/* One output token of BasicTokenizer, through BertTokenizer._tokenize. */
static int emit_piece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s, bd_cpvec *out,
                      bd_err *e) {
    if (n == 0) return 0;
    if (t->n_never_split && in_never_split(t, cp, n, false)) {
        char *buf = malloc(4 * n + 1);
        if (!buf) return bd_errf(e, "tokenizer: out of memory for a token of %zu characters", n);
        size_t len = bd_tk_encode_utf8(cp, n, buf, NULL);
        int id = token_to_id(t, buf, len);
        free(buf);
        return bd_tk_cpvec_push(out, id, e);
    }
    return wordpiece(t, cp, n, s, out, e);
}

/* Split at whitespace (Python's str.isspace) and run WordPiece on each word. */
static int whitespace_wordpiece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s,
                                bd_cpvec *out, bd_err *e) {
    size_t i = 0;
    while (i < n) {
        while (i < n && bd_tk_py_space(cp[i])) i++;
        size_t j = i;
        while (j < n && !bd_tk_py_space(cp[j])) j++;
        if (wordpiece(t, cp + i, j - i, s, out, e)) return -1;
        i = j;
    }
    return 0;
}

/* BasicTokenizer.tokenize + WordPiece on text that holds no added token. */
static int tokenize_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s,
                            bd_cpvec *out, bd_err *e) {
    bd_cpvec *a = &s->a, *w = &s->word;
    a->n = 0;
    if (!t->basic) return whitespace_wordpiece(t, cp, n, s, out, e); /* as cased, no punctuation split */
    /* clean text and space out CJK ideographs */
    if (bd_tk_cpvec_reserve(a, 3 * n, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        int32_t c = cp[i];
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_bert_whitespace(c)) {
            a->v[a->n++] = ' ';
        } else if (t->chinese && is_cjk(c)) {
            a->v[a->n++] = ' ';
            a->v[a->n++] = c;
            a->v[a->n++] = ' ';
        } else {
            a->v[a->n++] = c;
        }
    }
    if (normalize(a, UTF8PROC_COMPOSE, e)) return -1;

    size_t i = 0;
    while (i < a->n) {
        while (i < a->n && bd_tk_py_space(a->v[i])) i++;
        size_t j = i;
        while (j < a->n && !bd_tk_py_space(a->v[j])) j++;
        if (j == i) break;
        const int32_t *word = a->v + i;
        size_t wn = j - i;
        i = j;
        if (in_never_split(t, word, wn, true)) {
            if (emit_piece(t, word, wn, s, out, e)) return -1;
            continue;
        }
        w->n = 0;
        if (t->lower) {
            for (size_t k = 0; k < wn; k++)
                if (lower_push(w, word[k], e)) return -1;
        } else {
            if (bd_tk_cpvec_reserve(w, wn, e)) return -1;
            memcpy(w->v, word, wn * sizeof *word);
            w->n = wn;
        }
        if (t->strip_accents) {
            if (normalize(w, UTF8PROC_DECOMPOSE, e)) return -1;
            size_t m = 0;
            for (size_t k = 0; k < w->n; k++)
                if (utf8proc_category(w->v[k]) != UTF8PROC_CATEGORY_MN) w->v[m++] = w->v[k];
            w->n = m;
        }
        /* split off each punctuation character as its own piece */
        size_t p = 0;
        while (p < w->n) {
            size_t q = p + 1;
            if (!is_punctuation(w->v[p]))
                while (q < w->n && !is_punctuation(w->v[q])) q++;
            /* a piece never holds whitespace, so the final re-split is a no-op */
            if (emit_piece(t, w->v + p, q - p, s, out, e)) return -1;
            p = q;
        }
    }
    return 0;
}

/* BertTokenizer: PreTrainedTokenizer.tokenize + convert_tokens_to_ids. */
static int wordpiece_slow(const bd_tokenizer *t, bd_cpvec *x, scratch *s, bd_cpvec *out, bd_err *e) {
    /* 4.46 lower-cases the whole text first, sparing special tokens; without
     * the basic tokenizer its do_lower_case lookup fails and nothing is. */
    if (t->lower && t->basic) {
        bd_cpvec *y = &s->seg;
        y->n = 0;
        for (size_t i = 0; i < x->n;) {
            int a = added_at(t, x->v, x->n, i, ADDED_PROTECT);
            if (a >= 0) {
                size_t len = t->added[a].s.n;
                if (bd_tk_cpvec_reserve(y, len, e)) return -1;
                memcpy(y->v + y->n, x->v + i, len * sizeof *x->v);
                y->n += len;
                i += len;
            } else if (lower_push(y, x->v[i++], e)) {
                return -1;
            }
        }
        bd_cpvec tmp = *x;
        *x = *y;
        *y = tmp;
    }
    /* Split out added tokens (leftmost, then longest, as the Trie does). */
    size_t seg = 0, i = 0;
    while (i < x->n) {
        int a = added_at(t, x->v, x->n, i, ADDED_ALL);
        if (a < 0) { i++; continue; }
        if (tokenize_segment(t, x->v + seg, i - seg, s, out, e)) return -1;
        if (bd_tk_cpvec_push(out, t->added[a].id, e)) return -1;
        i += t->added[a].s.n;
        seg = i;
    }
    return tokenize_segment(t, x->v + seg, x->n - seg, s, out, e);
}

/* BertNormalizer of the tokenizers library into out: clean text, CJK
 * spacing, strip accents, lower-case (in that order; no NFC). */
static int bert_normalize_fast(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out,
                               bd_err *e) {
    out->n = 0;
    if (bd_tk_cpvec_reserve(out, 3 * n, e)) return -1;
    for (size_t i = 0; i < n; i++) {
        int32_t c = cp[i];
        if (t->clean_text) {
            if (c == 0 || c == 0xFFFD || is_control_fast(c)) continue;
            if (bd_tk_white_space(c)) c = ' ';
        }
        if (t->chinese && is_cjk(c)) {
            out->v[out->n++] = ' ';
            out->v[out->n++] = c;
            out->v[out->n++] = ' ';
        } else {
            out->v[out->n++] = c;
        }
    }
    if (t->strip_accents) {
        if (normalize(out, UTF8PROC_DECOMPOSE, e)) return -1;
        size_t m = 0;
        for (size_t k = 0; k < out->n; k++)
            if (utf8proc_category(out->v[k]) != UTF8PROC_CATEGORY_MN) out->v[m++] = out->v[k];
        out->n = m;
    }
    if (t->lower) {
        bd_cpvec tmp = {0};
        for (size_t k = 0; k < out->n; k++)
            if (lower_push(&tmp, out->v[k], e)) { bd_tk_cpvec_free(&tmp); return -1; }
        bd_tk_cpvec_free(out);
        *out = tmp;
    }
    return 0;
}

/* BertPreTokenizer (split at whitespace, isolate punctuation) + WordPiece. */
static int bert_pretok_fast(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s,
                            bd_cpvec *out, bd_err *e) {
    size_t i = 0;
    while (i < n) {
        if (bd_tk_white_space(cp[i])) { i++; continue; }
        size_t j = i + 1;
        if (!is_punctuation(cp[i]))
            while (j < n && !bd_tk_white_space(cp[j]) && !is_punctuation(cp[j])) j++;
        if (wordpiece(t, cp + i, j - i, s, out, e)) return -1;
        i = j;
    }
    return 0;
}

/* The fast tokenizers' pipeline (tokenizers' order): raw added tokens split the text; each
 * piece between them is normalized (norm NULL: kept as it is), split again at the
 * normalized added tokens, and what is left goes to model (first: the piece begins the text). */
typedef int (*normalize_fn)(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e);
typedef int (*model_fn)(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, scratch *s,
                        bd_cpvec *out, bd_err *e);

static int fast_pipeline(const bd_tokenizer *t, const bd_cpvec *x, scratch *s, bd_cpvec *out,
                         normalize_fn norm, model_fn model, bd_err *e) {
    if (split_fast(t, x->v, x->n, ADDED_RAW, &s->p1, e)) return -1;
    for (size_t k = 0; k < s->p1.n; k++) {
        const piece *p = &s->p1.v[k];
        if (p->added >= 0) {
            if (bd_tk_cpvec_push(out, t->added[p->added].id, e)) return -1;
            continue;
        }
        const int32_t *text = x->v + p->start;
        size_t len = p->end - p->start;
        if (norm) {
            if (norm(t, text, len, &s->b, e)) return -1;
            text = s->b.v;
            len = s->b.n;
        }
        if (split_fast(t, text, len, ADDED_NORMALIZED, &s->p2, e)) return -1;
        for (size_t m = 0; m < s->p2.n; m++) {
            const piece *q = &s->p2.v[m];
            int rc = q->added >= 0 ? bd_tk_cpvec_push(out, t->added[q->added].id, e)
                                   : model(t, text + q->start, q->end - q->start, p->start == 0 && q->start == 0,
                                           s, out, e);
            if (rc) return -1;
        }
    }
    return 0;
}

static int wordpiece_model(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, scratch *s,
                           bd_cpvec *out, bd_err *e) {
    (void)first;
    return bert_pretok_fast(t, cp, n, s, out, e);
}

/* BertTokenizerFast: raw added tokens, normalizer, normalized added tokens,
 * pre-tokenizer, WordPiece. */
static int wordpiece_fast(const bd_tokenizer *t, const bd_cpvec *x, scratch *s, bd_cpvec *out,
                          bd_err *e) {
    return fast_pipeline(t, x, s, out, bert_normalize_fast, wordpiece_model, e);
}

/* ---- byte-level BPE around bpe.c ---- */

/* RobertaTokenizer: add_prefix_space puts one space before the whole text
 * (unless it starts with whitespace), then the split and each piece. */
static int bpe_slow(const bd_tokenizer *t, bd_cpvec *x, scratch *s, bd_cpvec *out, bd_err *e) {
    if (bd_bpe_prefix_space(t) && x->n && !bd_tk_py_space(x->v[0])) {
        if (bd_tk_cpvec_reserve(x, 1, e)) return -1;
        memmove(x->v + 1, x->v, x->n * sizeof *x->v);
        x->v[0] = ' ';
        x->n++;
    }
    if (split_slow(t, x->v, x->n, false, &s->p1, e)) return -1;
    for (size_t k = 0; k < s->p1.n; k++) {
        const piece *p = &s->p1.v[k];
        int rc = p->added >= 0 ? bd_tk_cpvec_push(out, t->added[p->added].id, e)
                               : bd_bpe_segment(t, x->v + p->start, p->end - p->start, out, e);
        if (rc) return -1;
    }
    return 0;
}

/* RobertaTokenizerFast: the ByteLevel pre-tokenizer puts the prefix space
 * before every piece between added tokens that does not start with ' '. */
static int bpe_fast_piece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s,
                          bd_cpvec *out, bd_err *e) {
    if (n == 0) return 0;
    if (!bd_bpe_prefix_space(t) || cp[0] == ' ') return bd_bpe_segment(t, cp, n, out, e);
    bd_cpvec *w = &s->word;
    w->n = 0;
    if (bd_tk_cpvec_reserve(w, n + 1, e)) return -1;
    w->v[0] = ' ';
    memcpy(w->v + 1, cp, n * sizeof *cp);
    w->n = n + 1;
    return bd_bpe_segment(t, w->v, w->n, out, e);
}

static int bpe_model(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, scratch *s,
                     bd_cpvec *out, bd_err *e) {
    (void)first;
    return bpe_fast_piece(t, cp, n, s, out, e);
}

/* RobertaTokenizerFast: no normalizer. */
static int bpe_fast(const bd_tokenizer *t, const bd_cpvec *x, scratch *s, bd_cpvec *out, bd_err *e) {
    return fast_pipeline(t, x, s, out, NULL, bpe_model, e);
}

/* ---- Unigram around unigram.c ---- */

static int unigram_model(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, scratch *s,
                         bd_cpvec *out, bd_err *e) {
    (void)s;
    return bd_unigram_pieces(t, cp, n, first, out, e);
}

/* XLMRobertaTokenizerFast: the Precompiled (etc.) normalizer, then Metaspace and Unigram on each
 * piece ("first" only for the piece that begins the text). */
static int unigram_fast(const bd_tokenizer *t, const bd_cpvec *x, scratch *s, bd_cpvec *out, bd_err *e) {
    return fast_pipeline(t, x, s, out, bd_unigram_normalize, unigram_model, e);
}

/* ---- ESM ---- */

/* EsmTokenizer: every vocabulary token splits the text (the trie holds them
 * all); the pieces in between are split at whitespace (_tokenize is
 * str.split), and each word not in the vocabulary is one <unk>: "mkt" is
 * one <unk>, "m k t" three. */
static int esm_tokenize(const bd_tokenizer *t, const bd_cpvec *x, scratch *s, bd_cpvec *out, bd_err *e) {
    if (split_slow(t, x->v, x->n, true, &s->p1, e)) return -1;
    for (size_t k = 0; k < s->p1.n; k++) {
        const piece *p = &s->p1.v[k];
        if (p->added >= 0) {
            if (bd_tk_cpvec_push(out, t->added[p->added].id, e)) return -1;
            continue;
        }
        size_t i = p->start;
        while (i < p->end) {
            while (i < p->end && bd_tk_py_space(x->v[i])) i++;
            size_t j = i;
            while (j < p->end && !bd_tk_py_space(x->v[j])) j++;
            if (j == i) break;
            char small[256], *buf = 4 * (j - i) + 1 <= sizeof small ? small : malloc(4 * (j - i) + 1);
            if (!buf) return bd_errf(e, "tokenizer: out of memory for a word of %zu characters", j - i);
            size_t len = bd_tk_encode_utf8(x->v + i, j - i, buf, NULL);
            int rc = bd_tk_cpvec_push(out, token_to_id(t, buf, len), e);
            if (buf != small) free(buf);
            if (rc) return -1;
            i = j;
        }
    }
    return 0;
}

/* ---- encoding ---- */

static int tokenize_text(const bd_tokenizer *t, const char *text, scratch *s, bd_cpvec *out,
                         bd_err *e) {
    bd_cpvec *x = &s->text;
    out->n = 0;
    if (bd_tk_decode_utf8(text, strlen(text), x, e)) return -1;
    if (x->n == 0) return 0; /* no text, no tokens (and x->v may be NULL) */
    switch (t->kind) {
    case BD_TOK_WORDPIECE: return t->fast ? wordpiece_fast(t, x, s, out, e) : wordpiece_slow(t, x, s, out, e);
    case BD_TOK_BPE: return t->fast ? bpe_fast(t, x, s, out, e) : bpe_slow(t, x, s, out, e);
    case BD_TOK_ESM: return esm_tokenize(t, x, s, out, e);
    case BD_TOK_UNIGRAM: return unigram_fast(t, x, s, out, e);
    }
    return bd_errf(e, "tokenizer: unknown kind %d", (int)t->kind);
}

/* transformers' truncate_sequences, "longest_first", truncation_side right:
 * na and nb shrink to fit room (the length left beside the special tokens);
 * a single text too long for it is left as is (transformers logs an error). */
static void truncate_slow(size_t *na, size_t *nb, bool pair, size_t room) {
    if (*na + *nb <= room) return;
    size_t remove = *na + *nb - room;
    if (!pair) {
        if (*na > remove) *na -= remove;
        return;
    }
    size_t diff = *na > *nb ? *na - *nb : *nb - *na;
    size_t first = diff < remove ? diff : remove, second = remove - first;
    size_t ra, rb;
    if (*na > *nb) { ra = first + second / 2; rb = second - second / 2; }
    else { ra = second / 2; rb = first + second - second / 2; }
    *na -= ra < *na ? ra : *na;
    *nb -= rb < *nb ? rb : *nb;
}

/* The tokenizers library's truncate_encodings, LongestFirst: the shorter
 * keeps its length when the longer can take the cut, else both get half
 * (the second one the odd token). */
static void truncate_fast(size_t *na, size_t *nb, bool pair, size_t room) {
    if (*na + *nb <= room) return;
    if (!pair) {
        *na = room;
        return;
    }
    size_t n1 = *na, n2 = *nb;
    bool swap = n1 > n2;
    if (swap) { size_t x = n1; n1 = n2; n2 = x; }
    if (n1 > room) n2 = n1;
    else n2 = n1 > room - n1 ? n1 : room - n1;
    if (n1 + n2 > room) {
        n1 = room / 2;
        n2 = n1 + room % 2;
    }
    if (swap) { size_t x = n1; n1 = n2; n2 = x; }
    if (n1 < *na) *na = n1;
    if (n2 < *nb) *nb = n2;
}

int bd_tok_encode(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                  int32_t *ids, int32_t *type_ids, int *n, bd_err *e) {
    if (!a) return bd_errf(e, "tokenizer: no text to encode");
    if (t->fast && b && !b[0]) b = NULL; /* transformers' fast __call__ drops a falsy text_pair */
    scratch s = {0};
    bd_cpvec ia = {0}, ib = {0};
    int rc = -1;
    if (tokenize_text(t, a, &s, &ia, e)) goto out;
    if (b && tokenize_text(t, b, &s, &ib, e)) goto out;

    const bd_tmpl *m = b ? &t->pair : &t->single;
    size_t na = ia.n, nb = ib.n, special = (size_t)m->n_special;
    size_t maxl = max_length > 0 ? (size_t)max_length : 0;
    if (maxl >= special) {
        if (t->fast) truncate_fast(&na, &nb, b != NULL, maxl - special);
        else truncate_slow(&na, &nb, b != NULL, maxl - special);
    }
    if (na + nb + special > maxl) {
        bd_errf(e, "tokenizer: max_length %d is too small: the %zu special tokens and at least one "
                "token of the text need %zu", max_length, special, special + (b || ia.n == 0 ? 0 : 1));
        goto out;
    }
    int k = 0;
    for (int i = 0; i < m->n; i++) {
        const bd_tmpl_item *it = &m->item[i];
        int tid = t->kind == BD_TOK_WORDPIECE ? it->type_id : 0; /* RoBERTa, ESM: no token types */
        if (it->seq < 0) {
            ids[k] = it->id;
            type_ids[k++] = tid;
            continue;
        }
        const bd_cpvec *v = it->seq == 0 ? &ia : &ib;
        size_t cnt = it->seq == 0 ? na : nb;
        for (size_t j = 0; j < cnt; j++) {
            ids[k] = v->v[j];
            type_ids[k++] = tid;
        }
    }
    *n = k;
    rc = 0;
out:
    bd_tk_cpvec_free(&ia);
    bd_tk_cpvec_free(&ib);
    scratch_free(&s);
    return rc;
}
