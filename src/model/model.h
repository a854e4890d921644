/* model.h: the BERT-family encoder (BERT, MiniLM, RoBERTa) with a sequence
 * classification head, loaded from a Hugging Face model directory. All
 * parameters live in one allocation (params), named as transformers names
 * them, so loading, saving, the optimizer and checkpoints are each one loop. */
#ifndef BD_MODEL_H
#define BD_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "adapter.h"
#include "backend.h"
#include "ops.h"
#include "rng.h"

/* The linear modules of a BERT layer that can carry an adapter. */
enum { BD_MOD_QUERY, BD_MOD_KEY, BD_MOD_VALUE, BD_MOD_ATTN_OUT, BD_MOD_INTER, BD_MOD_OUTPUT, BD_N_MODS };
/* target_modules names (PEFT's): query key value attention.output.dense intermediate.dense output.dense */
extern const char *const bd_mod_names[BD_N_MODS];
/* transformers' path of module k inside a layer, e.g. "attention.self.query" */
extern const char *const bd_mod_paths[BD_N_MODS];

/* The encoder families: BERT (BERT, MiniLM) and RoBERTa. They share the
 * layer; RoBERTa's differences are its names ("roberta."), its positions
 * (padding_idx + 1 + t, as create_position_ids_from_input_ids gives for
 * right-padded rows) and its head (RobertaClassificationHead: dropout on the
 * <s> row, classifier.dense, tanh, dropout, classifier.out_proj; no pooler),
 * which bidora keeps in the BERT head's two slots: pool_* = classifier.dense,
 * cls_* = classifier.out_proj. */
typedef enum bd_family { BD_FAMILY_BERT = 0, BD_FAMILY_ROBERTA, BD_FAMILY_ESM } bd_family;
/* ESM-2 (EsmForSequenceClassification) shares the linears and the head with RoBERTa, but its
 * layers are pre-LayerNorm (x + attn(LN1(x)), then + ffn(LN2(.))), q and k carry rotary
 * positions (no position or type table), the embeddings are the words alone, scaled by
 * token_dropout's 0.88 / (1 - the row's share of <mask> tokens) (and <mask> rows zeroed)
 * and zeroed on padding, and a LayerNorm (emb_layer_norm_after, in the emb_ln slots) follows
 * the last layer. */

typedef struct bd_bert_config {
    char model_type[32];
    bd_family family;
    char prefix[16];       /* "bert" or "roberta": the encoder's tensor names begin "PREFIX." */
    int pos_offset;        /* the position of token 0 (0; RoBERTa: pad_token_id + 1) */
    int token_dropout;     /* ESM: scale the embeddings as transformers' token_dropout does */
    int mask_token_id;     /* ESM: <mask> (-1: none) */
    int vocab_size, hidden, n_layers, n_heads, intermediate;
    int max_pos, type_vocab, pad_token_id;
    float ln_eps, hidden_dropout, attn_dropout, classifier_dropout, initializer_range;
    bd_act act;
    int num_labels;        /* from the checkpoint's head or id2label; 0 = unknown */
    char **id2label;       /* [n_id2label] or NULL (generic LABEL_i names count as NULL) */
    int n_id2label;
    int regression;        /* problem_type "regression" */
} bd_bert_config;

/* The head's tensor names, in the parameter table's order: 0 pool_w, 1
 * pool_b, 2 cls_w, 3 cls_b (BERT: bert.pooler.dense.*, classifier.*;
 * RoBERTa: classifier.dense.*, classifier.out_proj.*). */
const char *bd_bert_head_name(const bd_bert_config *c, int which);

/* Parse DIR/config.json. Errors name the file and the key. */
int bd_bert_config_load(bd_bert_config *c, const char *path, bd_err *e);
void bd_bert_config_free(bd_bert_config *c);

typedef struct bd_param {
    char name[96];          /* transformers name, e.g. bert.encoder.layer.0.attention.self.query.weight */
    int ndim;
    int64_t shape[2];
    size_t offset, numel;   /* into bd_bert.data */
} bd_param;

typedef struct bd_bert_layer {
    float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;     /* [H,H], [H] */
    float *ao_w, *ao_b, *ln1_g, *ln1_b;           /* attention.output.dense, LayerNorm */
    float *i_w, *i_b;                             /* intermediate.dense [I,H], [I] */
    float *o_w, *o_b, *ln2_g, *ln2_b;             /* output.dense [H,I], [H]; LayerNorm */
} bd_bert_layer;

typedef struct bd_bert {
    bd_bert_config cfg;
    int n_params;
    bd_param *params;
    float *data;            /* one host allocation for every parameter (what was loaded) */
    bd_backend *be;         /* where the model computes (the CPU after loading) */
    float *dev;             /* the parameters in be's memory (== data on the CPU); every
                               pointer below points into it */
    size_t total;           /* floats in data */
    float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
    bd_bert_layer *layers;
    float *pool_w, *pool_b; /* [H,H], [H]: BERT's pooler; RoBERTa's classifier.dense */
    float *cls_w, *cls_b;   /* [L,H], [L]: BERT's classifier; RoBERTa's classifier.out_proj */
    int loaded_pooler;      /* 1 if the checkpoint had the pooler */
    int loaded_head;        /* 1 if the checkpoint had the classifier */
    bd_adapted_linear **ad; /* [n_layers * BD_N_MODS]: adapter of module k in layer l at
                               l * BD_N_MODS + k, NULL where the module is plain; NULL: none */
    char weights_path[4096];
} bd_bert;

/* Load DIR (config.json + model.safetensors or model.safetensors.index.json).
 * num_labels: the number of classes the task needs (1 for regression); when
 * the checkpoint has a classifier it must match, else a fresh classifier is
 * initialised (normal(0, initializer_range), seeded by seed). */
int bd_bert_load(bd_bert *m, const char *dir, int num_labels, uint64_t seed, bd_err *e);
/* A randomly initialised model of the given shape (transformers' init:
 * normal(0, initializer_range) matrices, LayerNorm 1/0, zero biases): for
 * benchmarks of shapes no file is at hand for. */
int bd_bert_init_random(bd_bert *m, const bd_bert_config *cfg, int num_labels, uint64_t seed, bd_err *e);
void bd_bert_free(bd_bert *m);
const bd_param *bd_bert_find_param(const bd_bert *m, const char *name);

/* Move the parameters into be's memory (one allocation, one upload) and compute there
 * from now on; on the CPU nothing moves. Call before attaching adapters. */
int bd_bert_to_backend(bd_bert *m, bd_backend *be, bd_err *e);
/* Copy the parameters back into m->data (after full fine-tuning; no-op on the CPU). */
void bd_bert_download(const bd_bert *m);
/* The host copy of a pointer into m->dev (the frozen weights, as loaded). */
static inline const float *bd_bert_host(const bd_bert *m, const float *dev_ptr) {
    return m->data + (dev_ptr - m->dev);
}

/* Activations of one forward pass for B rows of T tokens, kept for backward. */
typedef struct bd_bert_layer_acts {
    float *x;            /* [BT,H] input of the layer */
    float *q, *k, *v;    /* [BT,H] */
    float *qr, *kr;      /* [BT,H] ESM: q and k with their rotary positions (q, k stay the linears'
                            outputs, which DoRA's backward reads) */
    float *probs;        /* [B,NH,T,T] softmax */
    float *ctx;          /* [BT,H] attention output before the dense */
    float *ao;           /* [BT,H] drop(attention.output.dense) + residual (LN input) */
    float *ln1, *ln1_mean, *ln1_rstd;   /* [BT,H], [BT], [BT] */
    float *pre, *act;    /* [BT,I] intermediate before/after the activation */
    float *o;            /* [BT,H] drop(output.dense) + residual (LN input) */
    float *ln2_mean, *ln2_rstd;
    /* training only (NULL in eval): dropout masks and dropped probabilities */
    uint8_t *attn_keep, *ao_keep, *o_keep;
    float *probs_d;
} bd_bert_layer_acts;

typedef struct bd_bert_acts {
    int B, T;            /* capacity */
    int training;        /* allocated for training: masks, caches, backward scratch */
    int head_rows_only;  /* eval (not training; bd_evaluate sets it): the linear layers, LayerNorms and
                          * FFNs run on the real tokens only (each sequence's prefix of mask 1,
                          * packed), attention on the padded layout with zeros in the pads; past its
                          * attention the last layer computes only the rows the head reads (each
                          * sequence's first). out's other rows are left unset. The logits are the
                          * whole forward's to float rounding */
    int *seq_off, *seq_len; /* host [B]: where each sequence's real tokens start in the packed rows, and
                          * how many */
    float *emb, *emb_mean, *emb_rstd; /* [BT,H] embeddings sum (LN input) */
    bd_bert_layer_acts *layers;
    float *out;          /* [BT,H] last hidden state */
    float *cls;          /* [B,H] the [CLS] rows (RoBERTa: after the head's first dropout) */
    float *pooled;       /* [B,H] tanh(pooler) */
    float *pooled_d;     /* [B,H] dropout(pooled): the classifier's input (= pooled in eval) */
    float *logits;       /* [B,L] */
    float *mask;         /* [BT] 1 real, 0 padding */
    int32_t *ids, *type_ids; /* host [BT]: the ids the last forward looked up (out-of-range ones replaced) */
    int32_t *d_ids, *d_type_ids; /* the same in the backend's memory (== ids, type_ids on the CPU) */
    bd_backend *be;            /* whose memory mem and bytes are */
    uint8_t *emb_keep, *pooled_keep, *cls_keep; /* cls_keep: RoBERTa's dropout on the <s> row */
    float *row_scale;          /* [BT] ESM: each embedding row's factor (token_dropout, padding) */
    float *h_row_scale;        /* its host copy */
    bd_adapter_cache *cache;   /* [n_layers * BD_N_MODS] for adapted modules */
    uint8_t **ad_keep;         /* [n_layers * BD_N_MODS] adapter dropout masks */
    /* backward scratch (training) */
    float *d_x, *d_next, *d_a, *d_b, *d_ctx, *d_q, *d_k, *d_v, *d_i, *d_i2, *d_tt, *d_cls, *d_pool;
    float *mem;
    uint8_t *bytes;
    size_t mem_bytes;          /* the two allocations' sizes */
} bd_bert_acts;

/* Every float and byte pointer above is backend memory (m->be's); a->logits is read on
 * the host with be->download. */
/* Allocate activations for up to B rows of T tokens (T at most the model's
 * max_position_embeddings). training = 1 adds the dropout masks, adapter
 * caches and backward scratch (m's adapters, if any, must be attached first). */
int bd_bert_acts_alloc(bd_bert_acts *a, const bd_bert *m, int B, int T, int training, bd_err *e);
void bd_bert_acts_free(bd_bert_acts *a);

/* Forward of B rows of T tokens (B <= a->B, T <= a->T): ids/type_ids [B*T]
 * (type_ids may be NULL: all 0), mask [B*T] (1 real, 0 padding). Ids outside
 * the tables never index them: a word id outside [0, vocab_size) is looked
 * up as pad_token_id, a type id outside [0, type_vocab_size) as 0 (a->ids,
 * a->type_ids keep what was used, for the backward). rng == NULL: eval mode
 * (no dropout). Otherwise training mode: dropout masks (the model's hidden,
 * attention and classifier dropout, and each adapter's lora_dropout) are
 * drawn from rng, so replaying the same rng state replays the same masks.
 * Logits land in a->logits [B, num_labels]. */
void bd_bert_forward(const bd_bert *m, bd_bert_acts *a, const int32_t *ids,
                     const int32_t *type_ids, const float *mask, int B, int T, bd_rng *rng);
/* ids, type_ids, mask are host arrays (uploaded per batch). A backend failure is sticky:
 * bd_be_check(m->be, e) after it. */

/* Gradient destinations, with bd_bert's layout; NULL = frozen (not computed). */
typedef struct bd_bert_grads {
    float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
    bd_bert_layer *layers;     /* [n_layers] or NULL when the encoder is frozen */
    float *pool_w, *pool_b, *cls_w, *cls_b;
} bd_bert_grads;

/* Backward from dlogits [B,L] after a training-mode forward: accumulates
 * (+=) into g's buffers and into the adapters' dA/dB/dm. Returns -1 (and
 * fills e) only when scratch memory runs out. */
int bd_bert_backward(const bd_bert *m, bd_bert_acts *a, const bd_bert_grads *g,
                     const int32_t *ids, const int32_t *type_ids, const float *dlogits,
                     int B, int T, bd_err *e);

#endif
