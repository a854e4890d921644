/* trainable.h: what a method trains, and where it lives. Attaches LoRA /
 * DoRA adapters to a loaded model and gathers the trainable parameters into
 * groups, each ONE allocation of values (and of gradients and optimizer
 * moments, see optim.h), as llm.c does:
 *   direction V: every A and B, then the classification head (moved here);
 *   magnitude M: every DoRA m;
 *   full fine-tuning: the whole model (bd_bert.data).
 * Also reads and writes adapters in PEFT's format. */
#ifndef BD_TRAINABLE_H
#define BD_TRAINABLE_H

#include <stddef.h>
#include "adapter.h"
#include "err.h"
#include "model.h"

typedef enum bd_method { BD_METHOD_BIDORA = 0, BD_METHOD_DORA, BD_METHOD_LORA, BD_METHOD_FULL } bd_method;

typedef struct bd_adapter_opts {
    bd_method method;
    int rank;
    float alpha;
    int rslora;              /* s = alpha / sqrt(r) instead of alpha / r */
    float dropout;           /* lora_dropout */
    unsigned target_mask;    /* bit k = module k (BD_MOD_*) is adapted */
    int exact_norm_grad;     /* dora_norm_grad: 1 exact, 0 detached */
} bd_adapter_opts;

/* A group of parameters: values, gradients, in one allocation each of the model's
 * backend memory; h is the values' host copy (== w on the CPU), current after
 * bd_trainable_download and read by checkpoints, PEFT export and the metrics. */
typedef struct bd_group {
    float *w, *g;
    float *h;
    size_t n;
} bd_group;

typedef struct bd_trainable {
    bd_adapter_opts o;
    int n_ad;
    bd_adapted_linear *ads;  /* [n_ad] */
    int *ad_layer, *ad_mod;  /* where each adapter sits */
    bd_group dir, mag, full; /* full: whole model (method full) */
    bd_backend *be;          /* the model's */
    float *sqnorms;          /* ||W0_j||^2 of every adapted matrix (backend memory) */
    float *sqnorms_h;        /* their host copy (== sqnorms on the CPU) */
    size_t n_sq;
    bd_bert_grads grads;     /* gradient destinations for bd_bert_backward */
    bd_bert_layer *grad_layers;
    size_t head_off;         /* offset of the head inside dir: cls_w, cls_b, then (RoBERTa) pool_w, pool_b */
    int head_dense;          /* the head has its own dense (RoBERTa's classifier.dense = pool_*): it trains too */
    char prefix[16];         /* the encoder's name prefix (bert, roberta) for PEFT's tensor names */
} bd_trainable;

/* Attach adapters to m (per o) with PEFT's initialisation: A kaiming-uniform
 * (bound 1/sqrt(in)), B = 0, m = row norms of W0, from rng seed. method full
 * attaches none and trains everything. */
int bd_trainable_init(bd_trainable *t, bd_bert *m, const bd_adapter_opts *o, uint64_t seed, bd_err *e);
void bd_trainable_free(bd_trainable *t, bd_bert *m);

/* Zero every gradient. */
void bd_trainable_zero_grad(bd_trainable *t);

/* The groups' values to their host copies (dir, mag; full: the model's m->data) and back
 * (after a checkpoint or adapter was read into the host copies). No-ops on the CPU. */
void bd_trainable_download(const bd_trainable *t, const bd_bert *m);
void bd_trainable_upload(const bd_trainable *t, const bd_bert *m);
/* The host copy of a pointer into dir.w, mag.w or sqnorms (after bd_trainable_download). */
float *bd_trainable_host(const bd_trainable *t, const float *dev_ptr);

/* Parse target_modules ("query,value" or "all") into a mask; error names the bad entry. */
int bd_parse_target_modules(const char *s, unsigned *mask, bd_err *e);

/* Write / read a PEFT adapter directory: adapter_model.safetensors +
 * adapter_config.json (LoRA; DoRA and BiDoRA as use_dora: true; the head
 * under modules_to_save). Reading checks r, alpha, targets and every shape,
 * and sets A, B, m and the head. base_model names the base model directory
 * (written as its realpath when it exists). */
int bd_peft_save(const bd_trainable *t, const bd_bert *m, const char *dir, const char *base_model, bd_err *e);
int bd_peft_load(bd_trainable *t, bd_bert *m, const char *dir, bd_err *e);
/* Read an adapter_config.json into opts (method lora or dora). */
int bd_peft_read_config(bd_adapter_opts *o, const char *dir, bd_err *e);

/* The class names a head predicts, kept beside an adapter as labels.json
 * ({"id2label": {"0": name, ...}} or {"task": "regression"}). Load returns
 * 0 with L->n = 0 when the file is absent. */
struct bd_labels;
int bd_labels_save(const char *dir, const struct bd_labels *L, bd_err *e);
int bd_labels_load(const char *dir, struct bd_labels *L, bd_err *e);

/* The PEFT name of adapter i's tensor: what = "lora_A.weight", "lora_B.weight", "lora_magnitude_vector". */
void bd_peft_name(const bd_trainable *t, int i, const char *what, char *buf, size_t n);

#endif
