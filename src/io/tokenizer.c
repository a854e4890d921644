/* tokenizer.c: BertTokenizer as transformers' slow Python class does it
 * (tokenization_bert.py and PreTrainedTokenizer.tokenize, v4.46), step for
 * step, so ids match the reference files under tests/ref/ exactly:
 *
 *   lower-case everything but special tokens (when do_lower_case)
 *   -> split out added/special tokens -> per remaining piece:
 *      clean text -> space around CJK -> NFC -> whitespace split ->
 *      per word: lower, strip accents (NFD, drop Mn), split punctuation
 *   -> greedy longest-match-first WordPiece ("##" continuations).
 *
 * Text is processed as arrays of code points. Invalid UTF-8 bytes become
 * U+FFFD, which the clean-text step removes: the result is what Python gives
 * for bytes.decode("utf-8", errors="replace"). Unicode tables come from
 * utf8proc, so code points assigned after the reference Python's Unicode
 * version (Python drops them as unassigned) can tokenize differently. */
#include "tokenizer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <utf8proc.h>

#include "json.h"

#define MAX_WORD_CHARS 100 /* WordpieceTokenizer.max_input_chars_per_word */

typedef struct {
    int32_t *v;
    size_t n, cap;
} cpvec;

typedef struct {
    int32_t *cp; /* code points */
    size_t n;
} cpstr;

typedef struct {
    cpstr s;
    char *str; /* the same in UTF-8 */
    size_t len;
    int32_t id;
    bool special; /* in all_special_tokens: never split by the basic tokenizer */
    bool protect; /* left as-is by the whole-text lower-casing */
} added_tok;

struct bd_tokenizer {
    char *vocab_buf;   /* vocab.txt, each line NUL-terminated in place */
    char **tok;        /* [n_vocab] id -> token */
    uint32_t *tok_len; /* [n_vocab] bytes */
    int n_vocab;
    int32_t *slots; /* open addressing: vocab id or -1 */
    size_t slot_mask;

    added_tok *added; /* split out of the text before anything else */
    int n_added;
    cpstr *never_split; /* tokenizer_config.json "never_split" */
    int n_never_split;

    bool lower, strip_accents, chinese, basic;
    int unk_id, cls_id, sep_id, pad_id;
    int size; /* largest id + 1 */
    /* while loading: config.json's vocab_size (the embedding table's rows,
     * which every id must index; INT32_MAX without a config) and its path */
    int limit;
    const char *limit_path;
};

/* ---- small helpers ---- */

static int cpvec_reserve(cpvec *v, size_t extra, bd_err *e) {
    if (v->n + extra <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->n + extra) cap *= 2;
    int32_t *nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) return bd_errf(e, "tokenizer: out of memory (%zu code points)", cap);
    v->v = nv;
    v->cap = cap;
    return 0;
}

static int cpvec_push(cpvec *v, int32_t c, bd_err *e) {
    if (v->n == v->cap && cpvec_reserve(v, 1, e)) return -1;
    v->v[v->n++] = c;
    return 0;
}

static void cpvec_free(cpvec *v) {
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* Decode UTF-8; each byte that does not start a valid sequence becomes U+FFFD. */
static int decode_utf8(const char *s, size_t len, cpvec *out, bd_err *e) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    out->n = 0;
    if (cpvec_reserve(out, len, e)) return -1;
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

/* UTF-8 of cp[0..n) into buf (4n + 1 bytes); off[i] = byte offset of cp i. */
static size_t encode_utf8(const int32_t *cp, size_t n, char *buf, size_t *off) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (off) off[i] = len;
        len += (size_t)utf8proc_encode_char(cp[i], (utf8proc_uint8_t *)buf + len);
    }
    if (off) off[n] = len;
    buf[len] = '\0';
    return len;
}

static bool cp_eq(const int32_t *a, size_t na, const cpstr *b) {
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

/* Python's str.isspace(), which str.split() uses. */
static bool is_py_space(int32_t c) {
    if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return true;
    if (c < 0x85) return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* str.lower() of one character: the simple mapping, except U+0130, whose
 * full lower-case mapping is two code points. (Python's context-dependent
 * final sigma never applies: 4.46 lowers the text one character at a time.) */
static int lower_push(cpvec *out, int32_t c, bd_err *e) {
    if (c == 0x130) {
        if (cpvec_push(out, 'i', e)) return -1;
        return cpvec_push(out, 0x307, e);
    }
    return cpvec_push(out, utf8proc_tolower(c), e);
}

/* NFC or NFD of v in place (ASCII is invariant, so skipped). */
static int normalize(cpvec *v, utf8proc_option_t opt, bd_err *e) {
    size_t i = 0;
    while (i < v->n && v->v[i] < 0x80) i++;
    if (i == v->n) return 0;
    char *buf = malloc(4 * v->n + 1);
    if (!buf) return bd_errf(e, "tokenizer: out of memory (%zu code points)", v->n);
    size_t len = encode_utf8(v->v, v->n, buf, NULL);
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)buf, (utf8proc_ssize_t)len, &out,
                                      (utf8proc_option_t)(UTF8PROC_STABLE | opt));
    free(buf);
    if (r < 0) return bd_errf(e, "tokenizer: Unicode normalization failed: %s", utf8proc_errmsg(r));
    int rc = decode_utf8((const char *)out, (size_t)r, v, e);
    free(out);
    return rc;
}

/* ---- vocabulary hash table ---- */

static uint64_t fnv_bytes(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}
#define FNV_INIT 14695981039346656037ULL

/* Id of ("##" if cont) + s[0..n) in vocab.txt, or -1. */
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

/* A later duplicate line wins, as with Python's dict. */
static void vocab_insert(bd_tokenizer *t, int32_t id) {
    uint64_t h = fnv_bytes(FNV_INIT, t->tok[id], t->tok_len[id]);
    size_t p = (size_t)h & t->slot_mask;
    while (t->slots[p] >= 0) {
        int32_t o = t->slots[p];
        if (t->tok_len[o] == t->tok_len[id] && memcmp(t->tok[o], t->tok[id], t->tok_len[id]) == 0)
            break;
        p = (p + 1) & t->slot_mask;
    }
    t->slots[p] = id;
}

static int find_added(const bd_tokenizer *t, const char *s, size_t n) {
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && memcmp(t->added[i].str, s, n) == 0) return i;
    return -1;
}

/* convert_tokens_to_ids without the [UNK] fallback: added tokens first,
 * then vocab.txt; -1 when neither has it. */
static int resolve_id(const bd_tokenizer *t, const char *s, size_t n) {
    int a = find_added(t, s, n);
    return a >= 0 ? t->added[a].id : vocab_find(t, s, n, false);
}

static int token_to_id(const bd_tokenizer *t, const char *s, size_t n) {
    int id = resolve_id(t, s, n);
    return id >= 0 ? id : t->unk_id;
}

/* Universal newlines, like Python's text-mode readlines(): \n, \r\n and \r
 * end a line; a final line without a newline still counts. */
static int load_vocab(bd_tokenizer *t, const char *path, bd_err *e) {
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
    t->tok = bd_malloc(lines * sizeof *t->tok, e);
    t->tok_len = bd_malloc(lines * sizeof *t->tok_len, e);
    size_t cap = 16;
    while (cap < 2 * lines) cap *= 2;
    t->slots = bd_malloc(cap * sizeof *t->slots, e);
    if (!t->tok || !t->tok_len || !t->slots) return bd_err_prefix(e, "%s: %zu tokens", path, lines);
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    t->slot_mask = cap - 1;

    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len && n < lines; i++) {
        bool end = i == len || buf[i] == '\n' || buf[i] == '\r';
        if (!end) continue;
        size_t tl = i - start;
        if (i < len && buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') i++;
        buf[start + tl] = '\0';
        const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)buf + start;
        for (size_t k = 0; k < tl;) {
            utf8proc_int32_t c;
            utf8proc_ssize_t r = utf8proc_iterate(p + k, (utf8proc_ssize_t)(tl - k), &c);
            if (r <= 0) return bd_errf(e, "%s:%zu: invalid UTF-8", path, n + 1);
            k += (size_t)r;
        }
        if (tl > UINT32_MAX) return bd_errf(e, "%s:%zu: line too long", path, n + 1);
        t->tok[n] = buf + start;
        t->tok_len[n] = (uint32_t)tl;
        vocab_insert(t, (int32_t)n);
        n++;
        start = i + 1;
    }
    t->n_vocab = (int)lines;
    return 0;
}

/* ---- tokenizer_config.json ---- */

static int cpstr_from_utf8(cpstr *out, const char *s, bd_err *e) {
    cpvec v = {0};
    if (decode_utf8(s, strlen(s), &v, e)) return -1;
    out->cp = v.v;
    out->n = v.n;
    return 0;
}

/* A token field is a string, an AddedToken object {"content": ...} or null. */
static const char *token_content(json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) {
        json_t *c = json_object_get(v, "content");
        if (json_is_string(c)) return json_string_value(c);
    }
    return NULL;
}

/* src names the file that declares the token, for messages. */
static int add_token(bd_tokenizer *t, const char *content, int id, bool special, bool protect,
                     const char *src, bd_err *e) {
    size_t len = strlen(content);
    if (len == 0) return 0;
    char q[160];
    if (id >= t->limit)
        return bd_errf(e, "%s: token \"%s\" has id %d, but %s has vocab_size %d (ids 0..%d index the embeddings)",
                       src, bd_printable(q, sizeof q, content), id, t->limit_path, t->limit, t->limit - 1);
    int k = find_added(t, content, len);
    if (k >= 0) { /* declared twice (decoder and special map): merge the flags */
        t->added[k].special |= special;
        t->added[k].protect |= protect;
        return 0;
    }
    added_tok *na = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na) return bd_errf(e, "%s: out of memory for %d added tokens", src, t->n_added + 1);
    t->added = na;
    added_tok *a = &t->added[t->n_added];
    memset(a, 0, sizeof *a);
    a->str = strdup(content);
    if (!a->str || cpstr_from_utf8(&a->s, content, e)) {
        free(a->str);
        free(a->s.cp);
        return bd_errf(e, "%s: out of memory for added token \"%s\"", src, bd_printable(q, sizeof q, content));
    }
    a->len = len;
    a->id = id;
    a->special = special;
    a->protect = protect;
    t->n_added++;
    if (id + 1 > t->size) t->size = id + 1;
    return 0;
}

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

enum { N_NAMED = 5 };
static const char *const NAMED_KEYS[N_NAMED] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                                "mask_token"};

/* The five named special tokens of obj (a config or special_tokens_map.json);
 * null removes one. */
static int named_tokens(json_t *obj, const char **names, const char **srcs, const char *path,
                        bd_err *e) {
    for (int k = 0; k < N_NAMED; k++) {
        json_t *v = json_object_get(obj, NAMED_KEYS[k]);
        if (!v) continue;
        names[k] = json_is_null(v) ? NULL : token_content(v);
        srcs[k] = path;
        if (!json_is_null(v) && !names[k])
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
        const char *s = token_content(json_array_get(extra, i));
        if (!s) return bd_errf(e, "%s: \"additional_special_tokens\"[%zu] is not a token", path, i);
        int id = resolve_id(t, s, strlen(s));
        char q[160];
        if (id < 0)
            return bd_errf(e, "%s: no line \"%s\" (additional special token in %s)", vocab_path,
                           bd_printable(q, sizeof q, s), path);
        if (add_token(t, s, id, true, true, path, e)) return -1;
    }
    return 0;
}

/* tokenizer_config.json, then the legacy special_tokens_map.json and
 * added_tokens.json, read the way transformers 4.46 from_pretrained does. */
static int load_config(bd_tokenizer *t, const char *dir, const char *vocab_path, bd_err *e) {
    char path[4096], map_path[4096], added_path[4096];
    json_t *root = NULL, *map = NULL, *legacy = NULL;
    int rc = -1;
    /* Defaults of BertTokenizer.__init__. */
    t->lower = true;
    t->chinese = true;
    t->basic = true;
    int strip = -1; /* strip_accents: -1 = null (follow do_lower_case) */
    const char *names[N_NAMED] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};
    const char *srcs[N_NAMED] = {0}; /* the file that set each name */

    if (json_file(dir, "tokenizer_config.json", &root, path, sizeof path, e)) goto out;
    if (root) {
        if (cfg_bool(root, "do_lower_case", &t->lower, path, e) ||
            cfg_bool(root, "tokenize_chinese_chars", &t->chinese, path, e) ||
            cfg_bool(root, "do_basic_tokenize", &t->basic, path, e) ||
            named_tokens(root, names, srcs, path, e))
            goto out;
        json_t *v = json_object_get(root, "strip_accents");
        if (v && !json_is_null(v)) {
            if (!json_is_boolean(v)) { bd_errf(e, "%s: \"strip_accents\" must be true, false or null", path); goto out; }
            strip = json_is_true(v);
        }
        v = json_object_get(root, "never_split");
        if (v && !json_is_null(v)) {
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
    t->strip_accents = strip < 0 ? t->lower : strip == 1;

    json_t *dec = root ? json_object_get(root, "added_tokens_decoder") : NULL;
    if (dec) {
        if (!json_is_object(dec)) { bd_errf(e, "%s: \"added_tokens_decoder\" must be an object", path); goto out; }
        const char *id_key;
        json_t *entry;
        json_object_foreach(dec, id_key, entry) {
            char *endp;
            long id = strtol(id_key, &endp, 10);
            const char *content = json_is_object(entry) ? token_content(entry) : NULL;
            char q[160];
            if (*endp || endp == id_key || id < 0 || id > INT32_MAX / 2 || !content) {
                bd_errf(e, "%s: \"added_tokens_decoder\" entry \"%s\" needs a numeric id and a \"content\" string", path,
                        bd_printable(q, sizeof q, id_key));
                goto out;
            }
            if (json_is_true(json_object_get(entry, "single_word"))) {
                bd_errf(e, "%s: added token \"%s\": single_word=true is not supported", path, bd_printable(q, sizeof q, content));
                goto out;
            }
            bool special = json_is_true(json_object_get(entry, "special"));
            json_t *norm = json_object_get(entry, "normalized");
            bool normalized = norm ? json_is_true(norm) : !special;
            if (add_token(t, content, (int)id, special, special || normalized, path, e)) goto out;
        }
    } else { /* legacy files count only without added_tokens_decoder */
        if (json_file(dir, "special_tokens_map.json", &map, map_path, sizeof map_path, e)) goto out;
        if (map && named_tokens(map, names, srcs, map_path, e)) goto out;
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
            if (add_token(t, tok, (int)id, false, true, added_path, e)) goto out;
        }
    }
    for (int k = 0; k < N_NAMED; k++) {
        if (!names[k]) {
            if (k == N_NAMED - 1) continue; /* no [MASK] is fine: encoding never adds it */
            bd_errf(e, "%s: \"%s\" is null, but encoding needs it", srcs[k], NAMED_KEYS[k]);
            goto out;
        }
        int id = resolve_id(t, names[k], strlen(names[k]));
        if (id < 0) {
            char q[160];
            bd_errf(e, "%s: no line \"%s\" (the %s)", vocab_path, bd_printable(q, sizeof q, names[k]), NAMED_KEYS[k]);
            goto out;
        }
        if (add_token(t, names[k], id, true, true, vocab_path, e)) goto out;
        if (k == 0) t->unk_id = id;
        if (k == 1) t->sep_id = id;
        if (k == 2) t->pad_id = id;
        if (k == 3) t->cls_id = id;
    }
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

/* DIR/config.json's vocab_size, or INT32_MAX when there is none to read:
 * a broken config.json is left for the model loader to report. */
static int config_vocab_size(const char *path) {
    json_t *root = bd_json_load_file(path, 0, NULL);
    json_t *v = json_object_get(root, "vocab_size");
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    json_decref(root);
    return n > 0 && n < INT32_MAX ? (int)n : INT32_MAX;
}

bd_tokenizer *bd_tok_load(const char *dir, bd_err *e) {
    char path[4096], cfg[4096];
    bd_tokenizer *t = bd_calloc(1, sizeof *t, e);
    if (!t) return NULL;
    if (bd_path(path, sizeof path, e, "%s/vocab.txt", dir) ||
        bd_path(cfg, sizeof cfg, e, "%s/config.json", dir))
        goto fail;
    t->limit = config_vocab_size(cfg);
    t->limit_path = cfg;
    if (load_vocab(t, path, e)) goto fail;
    t->size = t->n_vocab;
    if (t->n_vocab > t->limit) {
        bd_errf(e, "%s: %d tokens, but %s has vocab_size %d (ids 0..%d index the embeddings)", path,
                t->n_vocab, cfg, t->limit, t->limit - 1);
        goto fail;
    }
    if (load_config(t, dir, path, e)) goto fail;
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
    free(t);
}

int bd_tok_vocab_size(const bd_tokenizer *t) { return t->size; }
int bd_tok_pad_id(const bd_tokenizer *t) { return t->pad_id; }

int bd_tok_id(const bd_tokenizer *t, const char *token) {
    return resolve_id(t, token, strlen(token));
}

/* ---- encoding ---- */

typedef struct {
    cpvec text, seg, a, b, word, ids;
    char *bytes;
    size_t *off;
    size_t word_cap;
} scratch;

static void scratch_free(scratch *s) {
    cpvec_free(&s->text);
    cpvec_free(&s->seg);
    cpvec_free(&s->a);
    cpvec_free(&s->b);
    cpvec_free(&s->word);
    free(s->bytes);
    free(s->off);
}

/* Longest added token starting at cp[i] (only `protect` ones if asked). */
static const added_tok *added_at(const bd_tokenizer *t, const int32_t *cp, size_t n, size_t i,
                                 bool protect_only) {
    const added_tok *best = NULL;
    for (int k = 0; k < t->n_added; k++) {
        const added_tok *a = &t->added[k];
        if (protect_only && !a->protect) continue;
        if (a->s.n > n - i || a->s.cp[0] != cp[i]) continue;
        if (memcmp(a->s.cp, cp + i, a->s.n * sizeof *cp) != 0) continue;
        if (!best || a->s.n > best->s.n) best = a;
    }
    return best;
}

/* Greedy longest-match-first WordPiece of one word; ids go to out. */
static int wordpiece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s, cpvec *out,
                     bd_err *e) {
    if (n == 0) return 0;
    if (n > MAX_WORD_CHARS) return cpvec_push(out, t->unk_id, e);
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
    encode_utf8(cp, n, s->bytes, s->off);
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
            return cpvec_push(out, t->unk_id, e);
        }
        if (t->n_added) id = token_to_id(t, t->tok[id], t->tok_len[id]);
        if (cpvec_push(out, id, e)) return -1;
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
static int emit_piece(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s, cpvec *out,
                      bd_err *e) {
    if (n == 0) return 0;
    if (t->n_never_split && in_never_split(t, cp, n, false)) {
        char *buf = malloc(4 * n + 1);
        if (!buf) return bd_errf(e, "tokenizer: out of memory for a token of %zu characters", n);
        size_t len = encode_utf8(cp, n, buf, NULL);
        int id = token_to_id(t, buf, len);
        free(buf);
        return cpvec_push(out, id, e);
    }
    return wordpiece(t, cp, n, s, out, e);
}

/* BasicTokenizer.tokenize + WordPiece on text that holds no added token. */
static int tokenize_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, scratch *s,
                            cpvec *out, bd_err *e) {
    cpvec *a = &s->a, *w = &s->word;
    a->n = 0;
    if (!t->basic) { /* WordPiece straight on the whitespace-split text, as cased */
        size_t i = 0;
        while (i < n) {
            while (i < n && is_py_space(cp[i])) i++;
            size_t j = i;
            while (j < n && !is_py_space(cp[j])) j++;
            if (wordpiece(t, cp + i, j - i, s, out, e)) return -1;
            i = j;
        }
        return 0;
    }
    /* clean text and space out CJK ideographs */
    if (cpvec_reserve(a, 3 * n, e)) return -1;
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
        while (i < a->n && is_py_space(a->v[i])) i++;
        size_t j = i;
        while (j < a->n && !is_py_space(a->v[j])) j++;
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
            if (cpvec_reserve(w, wn, e)) return -1;
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

/* PreTrainedTokenizer.tokenize + convert_tokens_to_ids for one text. */
static int tokenize_text(const bd_tokenizer *t, const char *text, scratch *s, cpvec *out,
                         bd_err *e) {
    cpvec *x = &s->text;
    out->n = 0;
    if (decode_utf8(text, strlen(text), x, e)) return -1;
    if (x->n == 0) return 0; /* no text, no tokens (and x->v may be NULL) */
    /* 4.46 lower-cases the whole text first, sparing special tokens; without
     * the basic tokenizer its do_lower_case lookup fails and nothing is. */
    if (t->lower && t->basic) {
        cpvec *y = &s->seg;
        y->n = 0;
        for (size_t i = 0; i < x->n;) {
            const added_tok *a = added_at(t, x->v, x->n, i, true);
            if (a) {
                if (cpvec_reserve(y, a->s.n, e)) return -1;
                memcpy(y->v + y->n, x->v + i, a->s.n * sizeof *x->v);
                y->n += a->s.n;
                i += a->s.n;
            } else if (lower_push(y, x->v[i++], e)) {
                return -1;
            }
        }
        cpvec tmp = *x;
        *x = *y;
        *y = tmp;
    }
    /* Split out added tokens (leftmost, then longest, as the Trie does). */
    size_t seg = 0, i = 0;
    while (i < x->n) {
        const added_tok *a = added_at(t, x->v, x->n, i, false);
        if (!a) { i++; continue; }
        if (tokenize_segment(t, x->v + seg, i - seg, s, out, e)) return -1;
        if (cpvec_push(out, a->id, e)) return -1;
        i += a->s.n;
        seg = i;
    }
    return tokenize_segment(t, x->v + seg, x->n - seg, s, out, e);
}

int bd_tok_encode(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                  int32_t *ids, int32_t *type_ids, int *n, bd_err *e) {
    if (!a) return bd_errf(e, "tokenizer: no text to encode");
    scratch s = {0};
    cpvec ia = {0}, ib = {0};
    int rc = -1;
    if (tokenize_text(t, a, &s, &ia, e)) goto out;
    if (b && tokenize_text(t, b, &s, &ib, e)) goto out;

    /* truncate_sequences, "longest_first", truncation_side="right" */
    size_t na = ia.n, nb = ib.n, special = b ? 3 : 2;
    size_t total = na + nb + special, maxl = max_length > 0 ? (size_t)max_length : 0;
    if (total > maxl) {
        size_t remove = total - maxl;
        if (!b) {
            if (na > remove) na -= remove; /* else transformers leaves it too long */
        } else {
            size_t diff = na > nb ? na - nb : nb - na;
            size_t first = diff < remove ? diff : remove, second = remove - first;
            size_t ra, rb;
            if (na > nb) { ra = first + second / 2; rb = second - second / 2; }
            else { ra = second / 2; rb = first + second - second / 2; }
            na -= ra < na ? ra : na;
            nb -= rb < nb ? rb : nb;
        }
    }
    if (na + nb + special > maxl) {
        bd_errf(e, "tokenizer: max_length %d is too small: [CLS]/[SEP] and at least one token of "
                "the text need %zu", max_length, special + (b || ia.n == 0 ? 0 : 1));
        goto out;
    }
    int k = 0;
    ids[k] = t->cls_id; type_ids[k++] = 0;
    for (size_t i = 0; i < na; i++) { ids[k] = ia.v[i]; type_ids[k++] = 0; }
    ids[k] = t->sep_id; type_ids[k++] = 0;
    if (b) {
        for (size_t i = 0; i < nb; i++) { ids[k] = ib.v[i]; type_ids[k++] = 1; }
        ids[k] = t->sep_id; type_ids[k++] = 1;
    }
    *n = k;
    rc = 0;
out:
    cpvec_free(&ia);
    cpvec_free(&ib);
    scratch_free(&s);
    return rc;
}
