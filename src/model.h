/* model.h: the BERT-family encoder (BERT, MiniLM) with a sequence
 * classification head, loaded from a Hugging Face model directory. All
 * parameters live in one allocation (params), named as transformers names
 * them, so loading, saving, the optimizer and checkpoints are each one loop. */
#ifndef BD_MODEL_H
#define BD_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "ops.h"

typedef struct bd_bert_config {
    char model_type[32];
    int vocab_size, hidden, n_layers, n_heads, intermediate;
    int max_pos, type_vocab, pad_token_id;
    float ln_eps, hidden_dropout, attn_dropout, classifier_dropout, initializer_range;
    bd_act act;
    int num_labels;        /* from the checkpoint's head or id2label; 0 = unknown */
    char **id2label;       /* [n_id2label] or NULL (generic LABEL_i names count as NULL) */
    int n_id2label;
    int regression;        /* problem_type "regression" */
} bd_bert_config;

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
    float *data;            /* one allocation for every parameter */
    size_t total;           /* floats in data */
    float *word, *pos, *type, *emb_ln_g, *emb_ln_b;
    bd_bert_layer *layers;
    float *pool_w, *pool_b; /* [H,H], [H] */
    float *cls_w, *cls_b;   /* [L,H], [L] */
    int loaded_pooler;      /* 1 if the checkpoint had the pooler */
    int loaded_head;        /* 1 if the checkpoint had the classifier */
    char weights_path[4096];
} bd_bert;

/* Load DIR (config.json + model.safetensors or model.safetensors.index.json).
 * num_labels: the number of classes the task needs (1 for regression); when
 * the checkpoint has a classifier it must match, else a fresh classifier is
 * initialised (normal(0, initializer_range), seeded by seed). */
int bd_bert_load(bd_bert *m, const char *dir, int num_labels, uint64_t seed, bd_err *e);
void bd_bert_free(bd_bert *m);
const bd_param *bd_bert_find_param(const bd_bert *m, const char *name);

/* Activations of one forward pass for B rows of T tokens, kept for backward. */
typedef struct bd_bert_layer_acts {
    float *x;            /* [BT,H] input of the layer */
    float *q, *k, *v;    /* [BT,H] */
    float *probs;        /* [B,NH,T,T] */
    float *ctx;          /* [BT,H] attention output before the dense */
    float *ao;           /* [BT,H] attention.output.dense + residual (LN input) */
    float *ln1, *ln1_mean, *ln1_rstd;   /* [BT,H], [BT], [BT] */
    float *pre, *act;    /* [BT,I] intermediate before/after the activation */
    float *o;            /* [BT,H] output.dense + residual (LN input) */
    float *ln2_mean, *ln2_rstd;
} bd_bert_layer_acts;

typedef struct bd_bert_acts {
    int B, T;            /* capacity */
    float *emb, *emb_mean, *emb_rstd; /* [BT,H] embeddings sum (LN input) */
    bd_bert_layer_acts *layers;
    float *out;          /* [BT,H] last hidden state */
    float *cls;          /* [B,H] the [CLS] rows */
    float *pooled;       /* [B,H] tanh(pooler) */
    float *logits;       /* [B,L] */
    float *mask;         /* [BT] 1 real, 0 padding */
    float *mem;
} bd_bert_acts;

int bd_bert_acts_alloc(bd_bert_acts *a, const bd_bert *m, int B, int T, bd_err *e);
void bd_bert_acts_free(bd_bert_acts *a);

/* Forward (eval mode) of B rows of T tokens: ids/type_ids [B*T], mask [B*T]
 * (1 real, 0 padding). Logits land in a->logits [B, num_labels]. */
void bd_bert_forward(const bd_bert *m, bd_bert_acts *a, const int32_t *ids,
                     const int32_t *type_ids, const float *mask, int B, int T);

#endif
