/* tokenizer.h: the tokenizers of the supported model families, each as
 * transformers 4.46 implements it, with ids identical to it on the reference
 * cases under tests/ref/ (docs/DESIGN.md, "Tokenizers"):
 *
 *  - WordPiece (BertTokenizer: BERT, MiniLM): basic tokenizer (clean text,
 *    CJK spacing, optional lower-casing with accent stripping, punctuation
 *    split), then greedy longest-match-first WordPiece with "##" continuations.
 *  - byte-level BPE (RobertaTokenizer): GPT-2's pre-tokenizing pattern, bytes
 *    to unicode, merges by rank; <s> A </s> and <s> A </s></s> B </s>.
 *  - EsmTokenizer (ESM-2): one token per residue, <cls> A <eos> (B <eos>).
 *  - sentencepiece Unigram (XLM-RoBERTa, CamemBERT) from tokenizer.json only:
 *    the charsmap normalizer, Metaspace, Viterbi over the pieces (unigram.c).
 *
 * bd_tok_load picks the tokenizer from DIR/config.json's model_type, DIR/
 * tokenizer_config.json's tokenizer_class and the files present. When DIR has
 * tokenizer.json it wins over vocab.txt / vocab.json + merges.txt, as
 * transformers' AutoTokenizer prefers the fast tokenizer: the ids are then
 * those of the tokenizers library (BertTokenizerFast, RobertaTokenizerFast),
 * which differ from the slow classes' in a few places (pair truncation, an
 * empty text_pair, add_prefix_space after added tokens, no NFC, U+FDD0-like
 * unassigned characters kept). ESM has only the slow tokenizer.
 * Text is UTF-8; invalid bytes are read as U+FFFD (Python's
 * errors="replace"). Thread-safe: encoding only reads the tokenizer (the BPE
 * word cache has its own lock). */
#ifndef BD_TOKENIZER_H
#define BD_TOKENIZER_H

#include <stdint.h>
#include "err.h"

typedef struct bd_tokenizer bd_tokenizer;

typedef enum { BD_TOK_WORDPIECE, BD_TOK_BPE, BD_TOK_ESM, BD_TOK_UNIGRAM } bd_tok_kind;

/* Load the tokenizer of model directory DIR:
 *  - DIR/tokenizer.json when present (and the model is not ESM), with
 *    tokenizer_config.json only for the model_type checks;
 *  - else vocab.json + merges.txt for model_type roberta (or when they exist
 *    without vocab.txt), vocab.txt for model_type esm (EsmTokenizer), else
 *    vocab.txt (BertTokenizer); with tokenizer_config.json (flags, special
 *    and added tokens, add_prefix_space), special_tokens_map.json and
 *    added_tokens.json as transformers reads them.
 * model_type xlm-roberta and camembert need tokenizer.json (a directory with
 * only the sentencepiece .model file is refused, saying how to write it).
 * The special tokens the encoding adds must have ids. When DIR/config.json
 * gives a vocab_size, every id must be below it, so each indexes the model's
 * embedding table: a larger vocabulary is refused, naming both files. */
bd_tokenizer *bd_tok_load(const char *dir, bd_err *e);
void bd_tok_free(bd_tokenizer *t);

/* Encode text a (and optional pair b, may be NULL) with the model's special
 * tokens ([CLS] a [SEP] (b [SEP]), type ids 0 then 1, for BERT; type ids all
 * 0 for RoBERTa and ESM), truncated to max_length tokens with transformers'
 * default "longest_first" strategy. ids and type_ids must hold max_length
 * entries; *n gets the count. Fails (where transformers returns more than
 * max_length tokens) when max_length leaves no room for the special tokens
 * and one token of a single text. */
int bd_tok_encode(const bd_tokenizer *t, const char *a, const char *b, int max_length,
                  int32_t *ids, int32_t *type_ids, int *n, bd_err *e);

/* Vocabulary size (largest id + 1, added tokens included), the id of a token
 * as written (-1 when absent), the padding id, the id of the token every
 * encoding starts with ([CLS], <s>, <cls>: the classification heads read
 * its hidden state), the kind, and whether tokenizer.json was read. */
int bd_tok_vocab_size(const bd_tokenizer *t);
int bd_tok_id(const bd_tokenizer *t, const char *token);
int bd_tok_pad_id(const bd_tokenizer *t);
int bd_tok_cls_id(const bd_tokenizer *t);
bd_tok_kind bd_tok_kind_of(const bd_tokenizer *t);
int bd_tok_is_fast(const bd_tokenizer *t);
/* "WordPiece", "byte-level BPE", "ESM" or "Unigram" */
const char *bd_tok_kind_name(bd_tok_kind k);

#endif
