/* tok_impl.h: the tokenizer's insides, shared by tokenizer.c (loading,
 * added tokens, WordPiece, ESM, post-processing and truncation), bpe.c
 * (byte-level BPE) and tokjson.c (tokenizer.json). Not for other layers:
 * they use tokenizer.h. */
#ifndef BD_TOK_IMPL_H
#define BD_TOK_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tokenizer.h"

typedef struct {
    int32_t *v;
    size_t n, cap;
} bd_cpvec;

typedef struct {
    int32_t *cp; /* code points */
    size_t n;
} bd_cpstr;

typedef struct {
    bd_cpstr s;
    char *str; /* the same in UTF-8 */
    size_t len;
    int32_t id;
    bool special;    /* in all_special_tokens: never split by the basic tokenizer */
    bool protect;    /* left as-is by BertTokenizer's whole-text lower-casing */
    bool lstrip;     /* eats the whitespace on its left (RoBERTa's <mask>) */
    bool rstrip;     /* ... on its right */
    bool normalized; /* tokenizer.json: matched after the normalizer, on normalized content */
} bd_added_tok;

/* One item of a post-processing template: a special token id, or sequence
 * A or B; with its type id. */
typedef struct {
    int32_t id; /* special token, when seq < 0 */
    int8_t seq; /* -1 special, 0 = A, 1 = B */
    int8_t type_id;
} bd_tmpl_item;

#define BD_TMPL_MAX 16

typedef struct {
    bd_tmpl_item item[BD_TMPL_MAX];
    int n;
    int n_special;
} bd_tmpl;

typedef struct bd_bpe bd_bpe; /* bpe.c */
typedef struct bd_unigram bd_unigram; /* unigram.c */

struct bd_tokenizer {
    bd_tok_kind kind;
    bool fast; /* from tokenizer.json: the tokenizers library's behaviour (see tokenizer.h) */

    char *vocab_buf;   /* the token strings (vocab.txt with each line NUL-terminated in place,
                          or the keys of a JSON vocabulary, NUL-separated) */
    char **tok;        /* [n_vocab] id -> token, NULL for an id nothing has */
    uint32_t *tok_len; /* [n_vocab] bytes */
    int n_vocab;       /* largest model id + 1 */
    int32_t *slots;    /* open addressing: vocab id or -1 */
    size_t slot_mask;
    int max_tok_chars; /* ESM: the longest vocabulary token, in code points */

    bd_added_tok *added; /* split out of the text before anything else */
    int n_added;
    bd_cpstr *never_split; /* tokenizer_config.json "never_split" */
    int n_never_split;

    /* WordPiece (BertTokenizer's settings; tokenizer.json's BertNormalizer) */
    bool lower, strip_accents, chinese, basic, clean_text;
    int max_word_chars; /* max_input_chars_per_word */
    int unk_id, cls_id, sep_id, pad_id, bos_id, eos_id, mask_id;
    int model_unk_id; /* tokenizer.json WordPiece: model.unk_token, for unknown words */
    int size; /* largest id + 1 */
    bd_tmpl single, pair;
    bd_bpe *bpe;
    bd_unigram *uni;

    /* while loading: config.json's vocab_size (the embedding table's rows,
     * which every id must index; INT32_MAX without a config) and its path */
    int limit;
    const char *limit_path;
};

/* ---- tokenizer.c: shared helpers ---- */
/* tokenizer.json components (tokjson.c, unigram.c): the "type" of obj ("null" for JSON null or
 * absent), and the one-line refusal "PATH: WHAT "TYPE" is not supported WHY". */
const char *bd_tj_type_of(json_t *obj);
int bd_tj_unsupported(const char *path, const char *what, json_t *obj, const char *why, bd_err *e);

int bd_tk_cpvec_reserve(bd_cpvec *v, size_t extra, bd_err *e);
int bd_tk_cpvec_push(bd_cpvec *v, int32_t c, bd_err *e);
void bd_tk_cpvec_free(bd_cpvec *v);
/* UTF-8 to code points; each byte that starts no valid sequence becomes U+FFFD. */
int bd_tk_decode_utf8(const char *s, size_t len, bd_cpvec *out, bd_err *e);
/* UTF-8 of cp[0..n) into buf (4n + 1 bytes); off (may be NULL) gets n + 1 byte offsets. */
size_t bd_tk_encode_utf8(const int32_t *cp, size_t n, char *buf, size_t *off);
/* Python's str.isspace() (str.split, strip) and Unicode White_Space (regex \s, Rust's
 * char::is_whitespace: the same less U+001C..U+001F). */
bool bd_tk_py_space(int32_t c);
bool bd_tk_white_space(int32_t c);

/* Allocate the id -> token arrays and the hash table for n ids and `count` strings. */
int bd_tk_vocab_alloc(bd_tokenizer *t, int n_ids, size_t count, const char *path, bd_err *e);
/* Record token s[0..len) (stored by the caller for the tokenizer's lifetime) as id. */
void bd_tk_vocab_set(bd_tokenizer *t, int32_t id, char *s, uint32_t len);
/* A JSON vocabulary {token: id} (vocab.json, tokenizer.json's model.vocab;
 * `what` names it in messages); ids may have gaps, no two tokens one id. */
int bd_tk_vocab_json(bd_tokenizer *t, json_t *obj, const char *path, const char *what, bd_err *e);
/* One added_tokens_decoder / tokenizer.json added_tokens entry with its flags. */
int bd_tk_added_entry(bd_tokenizer *t, json_t *entry, long id, const char *what, const char *path,
                      bd_err *e);
/* Id of s[0..n) in the model vocabulary, or -1. */
int bd_tk_vocab_find(const bd_tokenizer *t, const char *s, size_t n);
/* Added tokens first, then the vocabulary; -1 when neither has it. */
int bd_tk_resolve_id(const bd_tokenizer *t, const char *s, size_t n);
/* Declare an added token (src names the file, for messages). A token declared
 * again only gains flags. */
int bd_tk_add_token(bd_tokenizer *t, const char *content, int id, const bd_added_tok *flags,
                    const char *src, bd_err *e);
/* A JSON token field: a string, {"content": string} or NULL. */
const char *bd_tk_token_content(json_t *v);

/* ---- bpe.c ---- */
/* vocab.json + merges.txt (RobertaTokenizer's files). */
int bd_bpe_load_files(bd_tokenizer *t, const char *vocab_path, const char *merges_path, bd_err *e);
/* tokenizer.json's model (type BPE): "vocab" and "merges" (strings "a b" or pairs). */
int bd_bpe_load_json(bd_tokenizer *t, json_t *model, const char *path, bd_err *e);
/* ByteLevel pre-tokenizer options */
void bd_bpe_set_prefix_space(bd_tokenizer *t, bool on);
void bd_bpe_set_regex(bd_tokenizer *t, bool on);
bool bd_bpe_prefix_space(const bd_tokenizer *t);
/* The model ids of one piece of text that holds no added token: GPT-2's
 * pre-tokenizing pattern, bytes to unicode, merges by rank. */
int bd_bpe_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e);
void bd_bpe_free(bd_bpe *b);

/* ---- unigram.c (tokenizer.json's Unigram model, normalizers and pre-tokenizers) ---- */
/* model (type Unigram): vocab [[piece, score], ...], unk_id; byte_fallback refused. */
int bd_unigram_load_json(bd_tokenizer *t, json_t *model, const char *path, bd_err *e);
/* The normalizer / pre_tokenizer of a Unigram tokenizer.json (null, or what unigram.c supports). */
int bd_unigram_normalizer(bd_tokenizer *t, json_t *n, const char *path, bd_err *e);
int bd_unigram_pre_tokenizer(bd_tokenizer *t, json_t *p, const char *path, bd_err *e);
/* The normalizer on cp[0..n) into out. */
int bd_unigram_normalize(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e);
/* Pre-tokenizer and model on normalized text holding no added token (first: it begins the
 * text, for prepend_scheme "first"); the ids go to out. */
int bd_unigram_pieces(const bd_tokenizer *t, const int32_t *cp, size_t n, bool first, bd_cpvec *out, bd_err *e);
/* The best segmentation of one pre-token (Viterbi, unknowns fused). */
int bd_unigram_segment(const bd_tokenizer *t, const int32_t *cp, size_t n, bd_cpvec *out, bd_err *e);
void bd_unigram_free(bd_unigram *u);

/* ---- tokjson.c ---- */
/* Everything from DIR/tokenizer.json (path): model, normalizer, pre-tokenizer,
 * post-processor, added tokens. */
int bd_tokjson_load(bd_tokenizer *t, const char *path, bd_err *e);

#endif
