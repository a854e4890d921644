/* tokjson.c: the fast tokenizers' single file, tokenizer.json (the tokenizers
 * library's serialization, as 0.20 writes and reads it). Implemented:
 *   model            BPE (vocab, merges as "a b" or ["a", "b"], unk_token) and
 *                    WordPiece (vocab, unk_token, "##", max_input_chars_per_word),
 *                    Unigram (unigram.c: vocab of [piece, score], unk_id)
 *   normalizer       null, BertNormalizer (WordPiece only); with Unigram: Precompiled,
 *                    Strip, Replace, Sequence (unigram.c)
 *   pre_tokenizer    ByteLevel (BPE: add_prefix_space, use_regex), BertPreTokenizer (WordPiece),
 *                    Metaspace, WhitespaceSplit, Sequence (Unigram)
 *   post_processor   RobertaProcessing, BertProcessing, TemplateProcessing, ByteLevel, null
 *   added_tokens     content, id, special, normalized, lstrip, rstrip
 * Everything else is refused by name ("tokenizer.json: normalizer \"NFKC\" is
 * not supported"), so a file is either read as the library reads it or not
 * at all. truncation, padding and decoder are ignored: transformers sets the
 * first two per call and decoding is not needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tok_impl.h"

const char *bd_tj_type_of(json_t *obj) {
    if (!obj || json_is_null(obj)) return "null";
    const char *s = json_string_value(json_object_get(obj, "type"));
    return s ? s : "(no type)";
}

int bd_tj_unsupported(const char *path, const char *what, json_t *obj, const char *why, bd_err *e) {
    char q[160];
    return bd_errf(e, "%s: %s \"%s\" is not supported%s", path, what, bd_printable(q, sizeof q, bd_tj_type_of(obj)),
                   why);
}

static int get_bool(json_t *obj, const char *key, bool dflt, bool *out, const char *path, const char *what,
                    bd_err *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) { *out = dflt; return 0; }
    if (!json_is_boolean(v)) return bd_errf(e, "%s: %s.%s must be true or false", path, what, key);
    *out = json_is_true(v);
    return 0;
}

static int wordpiece_model(bd_tokenizer *t, json_t *model, const char *path, bd_err *e) {
    char q[160];
    json_t *pre = json_object_get(model, "continuing_subword_prefix");
    if (pre && !json_is_null(pre) && (!json_is_string(pre) || strcmp(json_string_value(pre), "##")))
        return bd_errf(e, "%s: model.continuing_subword_prefix must be \"##\"", path);
    json_t *mx = json_object_get(model, "max_input_chars_per_word");
    t->max_word_chars = 100;
    if (mx && !json_is_null(mx)) {
        if (!json_is_integer(mx) || json_integer_value(mx) < 1 || json_integer_value(mx) > 1000000)
            return bd_errf(e, "%s: model.max_input_chars_per_word must be a positive integer", path);
        t->max_word_chars = (int)json_integer_value(mx);
    }
    if (bd_tk_vocab_json(t, json_object_get(model, "vocab"), path, "model.vocab", e)) return -1;
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    if (!unk) return bd_errf(e, "%s: model.unk_token must be a string", path);
    if ((t->model_unk_id = bd_tk_vocab_find(t, unk, strlen(unk))) < 0)
        return bd_errf(e, "%s: model.unk_token \"%s\" is not in model.vocab", path, bd_printable(q, sizeof q, unk));
    return 0;
}

static int normalizer(bd_tokenizer *t, json_t *n, const char *path, bd_err *e) {
    const char *type = bd_tj_type_of(n);
    if (t->kind == BD_TOK_UNIGRAM) return bd_unigram_normalizer(t, n, path, e);
    t->clean_text = t->chinese = t->lower = t->strip_accents = false;
    if (!strcmp(type, "null")) return 0;
    if (strcmp(type, "BertNormalizer")) return bd_tj_unsupported(path, "normalizer", n, "", e);
    if (t->kind != BD_TOK_WORDPIECE)
        return bd_tj_unsupported(path, "normalizer", n, " with a BPE model", e);
    json_t *strip = json_object_get(n, "strip_accents");
    if (get_bool(n, "clean_text", true, &t->clean_text, path, "normalizer", e) ||
        get_bool(n, "handle_chinese_chars", true, &t->chinese, path, "normalizer", e) ||
        get_bool(n, "lowercase", true, &t->lower, path, "normalizer", e))
        return -1;
    if (strip && !json_is_null(strip) && !json_is_boolean(strip))
        return bd_errf(e, "%s: normalizer.strip_accents must be true, false or null", path);
    t->strip_accents = strip && !json_is_null(strip) ? json_is_true(strip) : t->lower;
    return 0;
}

static int pre_tokenizer(bd_tokenizer *t, json_t *p, const char *path, bd_err *e) {
    const char *type = bd_tj_type_of(p);
    if (t->kind == BD_TOK_UNIGRAM) return bd_unigram_pre_tokenizer(t, p, path, e);
    if (t->kind == BD_TOK_WORDPIECE) {
        if (strcmp(type, "BertPreTokenizer"))
            return bd_tj_unsupported(path, "pre_tokenizer", p, " with a WordPiece model (supported: BertPreTokenizer)", e);
        return 0;
    }
    if (strcmp(type, "ByteLevel"))
        return bd_tj_unsupported(path, "pre_tokenizer", p, " with a BPE model (supported: ByteLevel)", e);
    bool prefix = true, regex = true;
    if (get_bool(p, "add_prefix_space", true, &prefix, path, "pre_tokenizer", e) ||
        get_bool(p, "use_regex", true, &regex, path, "pre_tokenizer", e))
        return -1;
    bd_bpe_set_prefix_space(t, prefix);
    bd_bpe_set_regex(t, regex);
    return 0;
}

/* A [token, id] pair of RobertaProcessing / BertProcessing. */
static int token_pair(json_t *pp, const char *key, int32_t *id, const char *path, bd_err *e) {
    json_t *v = json_object_get(pp, key);
    json_t *i = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_integer(i) || json_integer_value(i) < 0 || json_integer_value(i) >= INT32_MAX)
        return bd_errf(e, "%s: post_processor.%s must be [token, id]", path, key);
    *id = (int32_t)json_integer_value(i);
    return 0;
}

static int tmpl_push(bd_tmpl *m, int seq, int32_t id, json_int_t type_id, const char *path, bd_err *e) {
    if (m->n == BD_TMPL_MAX)
        return bd_errf(e, "%s: post_processor: a template of more than %d items is not supported", path, BD_TMPL_MAX);
    if (type_id < 0 || type_id > 127) return bd_errf(e, "%s: post_processor: type_id %lld is out of range", path,
                                                     (long long)type_id);
    bd_tmpl_item *it = &m->item[m->n++];
    it->seq = (int8_t)seq;
    it->id = id;
    it->type_id = (int8_t)type_id;
    if (seq < 0) m->n_special++;
    return 0;
}

/* TemplateProcessing's "single" or "pair": SpecialToken items name an entry
 * of special_tokens (its ids, one or more), Sequence items A or B. */
static int template_list(bd_tmpl *m, json_t *list, json_t *specials, const char *which, bool pair,
                         const char *path, bd_err *e) {
    char q[160];
    memset(m, 0, sizeof *m);
    if (!json_is_array(list)) return bd_errf(e, "%s: post_processor.%s is not a list", path, which);
    bool seen[2] = {false, false};
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *it = json_array_get(list, i), *sp = json_object_get(it, "SpecialToken"),
               *sq = json_object_get(it, "Sequence");
        json_t *body = sp ? sp : sq;
        const char *id = json_string_value(json_object_get(body, "id"));
        json_t *tid = json_object_get(body, "type_id");
        json_int_t type_id = json_is_integer(tid) ? json_integer_value(tid) : 0;
        if (!id) return bd_errf(e, "%s: post_processor.%s[%zu] is not a SpecialToken or Sequence", path, which, i);
        if (sq) {
            int seq = !strcmp(id, "A") ? 0 : !strcmp(id, "B") ? 1 : -1;
            if (seq < 0 || (seq == 1 && !pair) || seen[seq])
                return bd_errf(e, "%s: post_processor.%s: sequence \"%s\" is out of place", path, which,
                               bd_printable(q, sizeof q, id));
            seen[seq] = true;
            if (tmpl_push(m, seq, 0, type_id, path, e)) return -1;
            continue;
        }
        json_t *ids = json_object_get(json_object_get(specials, id), "ids");
        if (!json_is_array(ids))
            return bd_errf(e, "%s: post_processor: special token \"%s\" is not in special_tokens", path,
                           bd_printable(q, sizeof q, id));
        for (size_t k = 0; k < json_array_size(ids); k++) {
            json_t *v = json_array_get(ids, k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX)
                return bd_errf(e, "%s: post_processor: special token \"%s\" has a bad id", path,
                               bd_printable(q, sizeof q, id));
            if (tmpl_push(m, -1, (int32_t)json_integer_value(v), type_id, path, e)) return -1;
        }
    }
    if (!seen[0] || (pair && !seen[1]))
        return bd_errf(e, "%s: post_processor.%s lacks sequence %s", path, which, seen[0] ? "B" : "A");
    return 0;
}

static int post_processor(bd_tokenizer *t, json_t *pp, const char *path, bd_err *e) {
    const char *type = bd_tj_type_of(pp);
    bd_tmpl *s = &t->single, *p = &t->pair;
    memset(s, 0, sizeof *s);
    memset(p, 0, sizeof *p);
    if (!strcmp(type, "TemplateProcessing")) {
        json_t *sp = json_object_get(pp, "special_tokens");
        return template_list(s, json_object_get(pp, "single"), sp, "single", false, path, e) ||
               template_list(p, json_object_get(pp, "pair"), sp, "pair", true, path, e);
    }
    int rc = 0;
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        int32_t cls, sep;
        if (token_pair(pp, "cls", &cls, path, e) || token_pair(pp, "sep", &sep, path, e)) return -1;
        bool roberta = type[0] == 'R'; /* <s> A </s></s> B </s>, type ids 0 */
        rc |= tmpl_push(s, -1, cls, 0, path, e) | tmpl_push(s, 0, 0, 0, path, e) | tmpl_push(s, -1, sep, 0, path, e);
        rc |= tmpl_push(p, -1, cls, 0, path, e) | tmpl_push(p, 0, 0, 0, path, e) | tmpl_push(p, -1, sep, 0, path, e);
        if (roberta) rc |= tmpl_push(p, -1, sep, 0, path, e);
        rc |= tmpl_push(p, 1, 0, !roberta, path, e) | tmpl_push(p, -1, sep, !roberta, path, e);
        return rc ? -1 : 0;
    }
    if (!strcmp(type, "ByteLevel") || !strcmp(type, "null")) { /* no special tokens */
        rc |= tmpl_push(s, 0, 0, 0, path, e);
        rc |= tmpl_push(p, 0, 0, 0, path, e) | tmpl_push(p, 1, 0, 1, path, e);
        return rc ? -1 : 0;
    }
    return bd_tj_unsupported(path, "post_processor", pp, "", e);
}

static int added_tokens(bd_tokenizer *t, json_t *list, const char *path, bd_err *e) {
    if (!list || json_is_null(list)) return 0;
    if (!json_is_array(list)) return bd_errf(e, "%s: added_tokens is not a list", path);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *a = json_array_get(list, i), *id = json_object_get(a, "id");
        char what[64];
        snprintf(what, sizeof what, "added_tokens[%zu]", i);
        long v = json_is_integer(id) && json_integer_value(id) <= INT32_MAX ? (long)json_integer_value(id) : -1;
        if (bd_tk_added_entry(t, a, v, what, path, e)) return -1;
    }
    return 0;
}

int bd_tokjson_load(bd_tokenizer *t, const char *path, bd_err *e) {
    json_t *root = bd_json_load_file(path, 0, e);
    if (!root) return -1;
    int rc = -1;
    json_t *model = json_object_get(root, "model");
    const char *type = bd_tj_type_of(model);
    if (!json_is_object(root) || !json_is_object(model)) {
        bd_errf(e, "%s: no \"model\" object", path);
        goto out;
    }
    if (!strcmp(type, "BPE")) {
        t->kind = BD_TOK_BPE;
        if (bd_bpe_load_json(t, model, path, e)) goto out;
    } else if (!strcmp(type, "Unigram")) {
        t->kind = BD_TOK_UNIGRAM;
        if (bd_unigram_load_json(t, model, path, e)) goto out;
    } else if (!strcmp(type, "WordPiece")) {
        t->kind = BD_TOK_WORDPIECE;
        if (wordpiece_model(t, model, path, e)) goto out;
    } else {
        bd_tj_unsupported(path, "model type", model, " (supported: BPE, WordPiece, Unigram)", e);
        goto out;
    }
    if (normalizer(t, json_object_get(root, "normalizer"), path, e) ||
        pre_tokenizer(t, json_object_get(root, "pre_tokenizer"), path, e) ||
        post_processor(t, json_object_get(root, "post_processor"), path, e) ||
        added_tokens(t, json_object_get(root, "added_tokens"), path, e))
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
