/* tokenizer.h: BERT's WordPiece tokenizer (BertTokenizer, as transformers
 * implements it): basic tokenizer (clean text, CJK spacing, optional
 * lower-casing with accent stripping, punctuation split), then greedy
 * longest-match-first WordPiece with "##" continuations. */
#ifndef BD_TOKENIZER_H
#define BD_TOKENIZER_H

#include <stdint.h>
#include "err.h"

typedef struct bd_tokenizer bd_tokenizer;

/* Load DIR/vocab.txt and, when present, DIR/tokenizer_config.json
 * (do_lower_case, strip_accents, tokenize_chinese_chars). */
bd_tokenizer *bd_tok_load(const char *dir, bd_err *e);
void bd_tok_free(bd_tokenizer *t);

/* Encode text a (and optional pair b, may be NULL) as
 * [CLS] a [SEP] (b [SEP]), truncated to max_length tokens with
 * transformers' default "longest_first" strategy. ids and type_ids must
 * hold max_length entries; *n gets the count. */
int bd_tok_encode(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                  int32_t *ids, int32_t *type_ids, int *n, bd_err *e);

/* Vocabulary size and the id of a token (-1 when absent). */
int bd_tok_vocab_size(const bd_tokenizer *t);
int bd_tok_id(const bd_tokenizer *t, const char *token);
int bd_tok_pad_id(const bd_tokenizer *t);

#endif
