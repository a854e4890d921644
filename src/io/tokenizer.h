/* tokenizer.h: BERT's WordPiece tokenizer (BertTokenizer, as transformers
 * 4.x implements it in Python): basic tokenizer (clean text, CJK spacing,
 * optional lower-casing with accent stripping, punctuation split), then greedy
 * longest-match-first WordPiece with "##" continuations. Ids match
 * transformers exactly on tests/ref/tokenizer_*cases.jsonl.
 * Text is UTF-8; invalid bytes are dropped (as U+FFFD is). Thread-safe:
 * encoding only reads the tokenizer. */
#ifndef BD_TOKENIZER_H
#define BD_TOKENIZER_H

#include <stdint.h>
#include "err.h"

typedef struct bd_tokenizer bd_tokenizer;

/* Load DIR/vocab.txt and, when present, DIR/tokenizer_config.json
 * (do_lower_case, strip_accents, tokenize_chinese_chars, do_basic_tokenize,
 * never_split, special and added tokens), special_tokens_map.json and
 * added_tokens.json. [UNK], [SEP], [PAD] and [CLS] must have ids. When
 * DIR/config.json gives a vocab_size, every id (vocab.txt lines, added and
 * special tokens) must be below it, so each indexes the model's embedding
 * table: a larger vocabulary is refused, naming both files and sizes. */
bd_tokenizer *bd_tok_load(const char *dir, bd_err *e);
void bd_tok_free(bd_tokenizer *t);

/* Encode text a (and optional pair b, may be NULL) as
 * [CLS] a [SEP] (b [SEP]), type ids 0 then 1, truncated to max_length tokens
 * with transformers' default "longest_first" strategy. ids and type_ids must
 * hold max_length entries; *n gets the count. Fails (where transformers
 * returns more than max_length tokens) when max_length < 3, unless b is NULL
 * and a has no tokens: then 2 suffices. */
int bd_tok_encode(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                  int32_t *ids, int32_t *type_ids, int *n, bd_err *e);

/* Vocabulary size (largest id + 1, added tokens included), the id of a token
 * as written (-1 when absent) and the [PAD] id. */
int bd_tok_vocab_size(const bd_tokenizer *t);
int bd_tok_id(const bd_tokenizer *t, const char *token);
int bd_tok_pad_id(const bd_tokenizer *t);

#endif
