/* model.c: BERT-family config, parameter table, weight loading and the
 * eval-mode forward pass. */
#include "model.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "parallel.h"
#include "rng.h"
#include "safetensors.h"

/* ---- config.json ---- */

static int json_int(json_t *root, const char *path, const char *key, int required, int dflt,
                    int *out, bd_err *e) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required) return bd_errf(e, "%s: missing required key \"%s\"", path, key);
        *out = dflt;
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)))
        return bd_errf(e, "%s: key \"%s\" = %.0f is out of range", path, key, json_real_value(v));
    if (!json_is_integer(v)) return bd_errf(e, "%s: key \"%s\" must be an integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > 100000000) return bd_errf(e, "%s: key \"%s\" = %lld is out of range", path, key, (long long)x);
    *out = (int)x;
    return 0;
}

static int json_num(json_t *root, const char *path, const char *key, float dflt, float *out, bd_err *e) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) { *out = dflt; return 0; }
    if (!json_is_number(v)) return bd_errf(e, "%s: key \"%s\" must be a number", path, key);
    *out = (float)json_number_value(v);
    if (!isfinite(*out)) return bd_errf(e, "%s: key \"%s\" = %g is out of range", path, key, json_number_value(v));
    return 0;
}

/* A dropout probability: 0 <= p < 1 (p = 1 would scale kept values by 1/0). */
static int check_prob(const char *path, const char *key, float p, bd_err *e) {
    if (p >= 0.0f && p < 1.0f) return 0;
    return bd_errf(e, "%s: key \"%s\" = %g must be a probability in [0, 1)", path, key, (double)p);
}

/* Label names that only number the classes ("LABEL_0") say nothing. */
static int generic_label(const char *s, int i) {
    char buf[32];
    snprintf(buf, sizeof buf, "LABEL_%d", i);
    return strcmp(s, buf) == 0;
}

int bd_bert_config_load(bd_bert_config *c, const char *path, bd_err *e) {
    memset(c, 0, sizeof *c);
    json_t *root = bd_json_load_file(path, 0, e);
    if (!root) return -1;
    int rc = -1;
    if (!json_is_object(root)) { bd_errf(e, "%s: expected a JSON object", path); goto out; }
    json_t *mt = json_object_get(root, "model_type");
    if (mt && !json_is_string(mt)) { bd_errf(e, "%s: key \"model_type\" must be a string", path); goto out; }
    snprintf(c->model_type, sizeof c->model_type, "%s", mt ? json_string_value(mt) : "bert");
    char q[160];
    if (!strcmp(c->model_type, "bert")) {
        c->family = BD_FAMILY_BERT;
    } else if (!strcmp(c->model_type, "roberta") || !strcmp(c->model_type, "xlm-roberta") ||
               !strcmp(c->model_type, "camembert")) {
        /* XLM-RoBERTa and CamemBERT: RoBERTa's architecture and "roberta." names
         * (base_model_prefix in transformers 4.46); only the tokenizer differs */
        c->family = BD_FAMILY_ROBERTA;
    } else if (!strcmp(c->model_type, "esm")) {
        c->family = BD_FAMILY_ESM;
    } else {
        bd_errf(e, "%s: model_type \"%s\" is not supported yet (supported: bert, which covers MiniLM, roberta, xlm-roberta, camembert, esm)",
                path, bd_printable(q, sizeof q, json_string_value(mt)));
        goto out;
    }
    const int roberta = c->family == BD_FAMILY_ROBERTA, esm = c->family == BD_FAMILY_ESM;
    snprintf(c->prefix, sizeof c->prefix, "%s", roberta ? "roberta" : esm ? "esm" : "bert");
    c->mask_token_id = -1;
    if (esm) {
        json_t *td = json_object_get(root, "token_dropout"), *eb = json_object_get(root, "emb_layer_norm_before");
        if (td && !json_is_boolean(td)) { bd_errf(e, "%s: key \"token_dropout\" must be true or false", path); goto out; }
        c->token_dropout = td && json_is_true(td);
        if (eb && json_is_true(eb)) {
            bd_errf(e, "%s: emb_layer_norm_before = true (ESM-1b) is not supported (ESM-2 has false)", path);
            goto out;
        }
        if (json_int(root, path, "mask_token_id", c->token_dropout, -1, &c->mask_token_id, e)) goto out;
    }
    if (json_int(root, path, "vocab_size", 1, 0, &c->vocab_size, e) ||
        json_int(root, path, "hidden_size", 1, 0, &c->hidden, e) ||
        json_int(root, path, "num_hidden_layers", 1, 0, &c->n_layers, e) ||
        json_int(root, path, "num_attention_heads", 1, 0, &c->n_heads, e) ||
        json_int(root, path, "intermediate_size", 1, 0, &c->intermediate, e) ||
        json_int(root, path, "max_position_embeddings", 1, 0, &c->max_pos, e) ||
        json_int(root, path, "type_vocab_size", 0, roberta || esm ? 1 : 2, &c->type_vocab, e) ||
        json_int(root, path, "pad_token_id", 0, roberta || esm ? 1 : 0, &c->pad_token_id, e) ||
        json_num(root, path, "layer_norm_eps", 1e-12f, &c->ln_eps, e) ||
        json_num(root, path, "hidden_dropout_prob", 0.1f, &c->hidden_dropout, e) ||
        json_num(root, path, "attention_probs_dropout_prob", 0.1f, &c->attn_dropout, e) ||
        json_num(root, path, "initializer_range", 0.02f, &c->initializer_range, e))
        goto out;
    if (c->vocab_size < 1 || c->hidden < 1 || c->n_layers < 1 || c->n_heads < 1 ||
        c->intermediate < 1 || c->max_pos < 1 || c->type_vocab < 1) {
        bd_errf(e, "%s: sizes must be positive (vocab_size, hidden_size, num_hidden_layers, "
                   "num_attention_heads, intermediate_size, max_position_embeddings, type_vocab_size)", path);
        goto out;
    }
    if (c->hidden % c->n_heads) {
        bd_errf(e, "%s: hidden_size %d is not a multiple of num_attention_heads %d", path, c->hidden, c->n_heads);
        goto out;
    }
    json_t *act = json_object_get(root, "hidden_act");
    const char *as = "gelu";
    if (act) {
        if (!json_is_string(act)) { bd_errf(e, "%s: key \"hidden_act\" must be a string", path); goto out; }
        as = json_string_value(act);
    }
    if (!strcmp(as, "gelu")) c->act = BD_ACT_GELU;
    else if (!strcmp(as, "gelu_new") || !strcmp(as, "gelu_pytorch_tanh")) c->act = BD_ACT_GELU_TANH;
    else if (!strcmp(as, "relu")) c->act = BD_ACT_RELU;
    else {
        bd_errf(e, "%s: hidden_act \"%s\" is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", path,
                bd_printable(q, sizeof q, as));
        goto out;
    }
    json_t *pet = json_object_get(root, "position_embedding_type");
    const char *want_pe = esm ? "rotary" : "absolute";
    if ((esm && !pet) || (pet && !json_is_null(pet) && (!json_is_string(pet) || strcmp(json_string_value(pet), want_pe)))) {
        bd_errf(e, "%s: position_embedding_type must be \"%s\" for model_type %s (%s)", path, want_pe, c->model_type,
                esm ? "ESM-2's rotary positions; ESM-1b's absolute ones are not supported"
                    : "relative position embeddings are not supported");
        goto out;
    }
    if (esm && (c->hidden / (c->n_heads ? c->n_heads : 1)) % 2) {
        bd_errf(e, "%s: the head size %d is odd: rotary positions rotate pairs", path, c->hidden / c->n_heads);
        goto out;
    }
    json_t *cd = json_object_get(root, "classifier_dropout");
    c->classifier_dropout = c->hidden_dropout;
    if (cd && !json_is_null(cd) && !esm) { /* EsmClassificationHead uses hidden_dropout_prob */
        if (!json_is_number(cd)) { bd_errf(e, "%s: key \"classifier_dropout\" must be a number or null", path); goto out; }
        c->classifier_dropout = (float)json_number_value(cd);
    }
    if (check_prob(path, "hidden_dropout_prob", c->hidden_dropout, e) ||
        check_prob(path, "attention_probs_dropout_prob", c->attn_dropout, e) ||
        check_prob(path, "classifier_dropout", c->classifier_dropout, e))
        goto out;
    if (!(c->ln_eps > 0.0f)) { bd_errf(e, "%s: key \"layer_norm_eps\" = %g must be positive", path, (double)c->ln_eps); goto out; }
    if (c->pad_token_id < 0 || c->pad_token_id >= c->vocab_size) {
        bd_errf(e, "%s: pad_token_id %d is not below vocab_size %d (nor negative)", path, c->pad_token_id, c->vocab_size);
        goto out;
    }
    /* RoBERTa counts positions from padding_idx + 1 (create_position_ids_from_input_ids) */
    c->pos_offset = roberta ? c->pad_token_id + 1 : 0;
    if (c->pos_offset >= c->max_pos) {
        bd_errf(e, "%s: max_position_embeddings %d leaves no position after padding_idx %d", path, c->max_pos,
                c->pad_token_id);
        goto out;
    }
    json_t *pt = json_object_get(root, "problem_type");
    if (pt && json_is_string(pt) && !strcmp(json_string_value(pt), "regression")) c->regression = 1;

    json_t *id2 = json_object_get(root, "id2label");
    if (id2 && !json_is_null(id2)) {
        if (!json_is_object(id2)) { bd_errf(e, "%s: key \"id2label\" must be an object", path); goto out; }
        int n = (int)json_object_size(id2);
        c->num_labels = n;
        char **names = calloc((size_t)(n ? n : 1), sizeof *names);
        if (!names) { bd_errf(e, "%s: out of memory for %d id2label names", path, n); goto out; }
        int generic = 1;
        const char *k;
        json_t *v;
        json_object_foreach(id2, k, v) {
            char *end;
            long idx = strtol(k, &end, 10);
            if (*k == '\0' || *end || idx < 0 || idx >= n || !json_is_string(v) || names[idx]) {
                for (int i = 0; i < n; i++) free(names[i]);
                free(names);
                bd_errf(e, "%s: id2label entry \"%s\" is not a class index 0..%d with a string name", path,
                        bd_printable(q, sizeof q, k), n - 1);
                goto out;
            }
            names[idx] = strdup(json_string_value(v));
            if (!names[idx]) {
                for (int i = 0; i < n; i++) free(names[i]);
                free(names);
                bd_errf(e, "%s: out of memory for id2label name \"%s\"", path, bd_printable(q, sizeof q, k));
                goto out;
            }
            if (!generic_label(names[idx], (int)idx)) generic = 0;
        }
        if (generic) {
            for (int i = 0; i < n; i++) free(names[i]);
            free(names);
        } else {
            c->id2label = names;
            c->n_id2label = n;
        }
    } else {
        json_t *nl = json_object_get(root, "num_labels");
        if (nl && json_is_integer(nl)) c->num_labels = (int)json_integer_value(nl);
    }
    rc = 0;
out:
    json_decref(root);
    if (rc) bd_bert_config_free(c);
    return rc;
}

void bd_bert_config_free(bd_bert_config *c) {
    if (c->id2label) {
        for (int i = 0; i < c->n_id2label; i++) free(c->id2label[i]);
        free(c->id2label);
    }
    c->id2label = NULL;
    c->n_id2label = 0;
}

/* ---- parameter table ---- */

typedef struct param_spec { char name[96]; int ndim; int64_t s0, s1; } param_spec;

static int add_spec(param_spec *ps, int n, const char *name, int64_t s0, int64_t s1) {
    snprintf(ps[n].name, sizeof ps[n].name, "%s", name);
    ps[n].ndim = s1 ? 2 : 1;
    ps[n].s0 = s0;
    ps[n].s1 = s1;
    return n + 1;
}

const char *bd_bert_head_name(const bd_bert_config *c, int which) {
    static const char *const bert[4] = {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight",
                                        "classifier.bias"};
    static const char *const roberta[4] = {"classifier.dense.weight", "classifier.dense.bias",
                                           "classifier.out_proj.weight", "classifier.out_proj.bias"};
    return (c->family == BD_FAMILY_BERT ? bert : roberta)[which & 3]; /* ESM's head is RoBERTa's */
}

/* The transformers names, in the order BertForSequenceClassification
 * (RobertaForSequenceClassification) lists them. */
static int build_specs(param_spec *ps, const bd_bert_config *c, int L) {
    int n = 0, H = c->hidden, I = c->intermediate;
    char nm[96];
    const int esm = c->family == BD_FAMILY_ESM;
    if (esm) { /* the words, then the LayerNorm after the last layer (in the emb_ln slots) */
        n = add_spec(ps, n, "esm.embeddings.word_embeddings.weight", c->vocab_size, H);
        n = add_spec(ps, n, "esm.encoder.emb_layer_norm_after.weight", H, 0);
        n = add_spec(ps, n, "esm.encoder.emb_layer_norm_after.bias", H, 0);
    } else {
        static const char *const emb[5] = {"word_embeddings.weight", "position_embeddings.weight",
                                           "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias"};
        const int64_t rows[5] = {c->vocab_size, c->max_pos, c->type_vocab, H, 0};
        for (int k = 0; k < 5; k++) {
            snprintf(nm, sizeof nm, "%s.embeddings.%s", c->prefix, emb[k]);
            n = k < 3 ? add_spec(ps, n, nm, rows[k], H) : add_spec(ps, n, nm, H, 0);
        }
    }
    static const char *const bert_mods[] = {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "attention.output.LayerNorm",
        "intermediate.dense", "output.dense", "output.LayerNorm"};
    /* ESM: the same linears; its LayerNorms come before the attention and the FFN */
    static const char *const esm_mods[] = {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "attention.LayerNorm",
        "intermediate.dense", "output.dense", "LayerNorm"};
    const char *const *mods = esm ? esm_mods : bert_mods;
    for (int l = 0; l < c->n_layers; l++) {
        for (int k = 0; k < 8; k++) {
            int64_t out = (k == 5) ? I : H, in = (k == 6) ? I : H;
            int is_ln = (k == 4 || k == 7);
            snprintf(nm, sizeof nm, "%s.encoder.layer.%d.%s.weight", c->prefix, l, mods[k]);
            n = add_spec(ps, n, nm, out, is_ln ? 0 : in);
            snprintf(nm, sizeof nm, "%s.encoder.layer.%d.%s.bias", c->prefix, l, mods[k]);
            n = add_spec(ps, n, nm, out, 0);
        }
    }
    n = add_spec(ps, n, bd_bert_head_name(c, 0), H, H);
    n = add_spec(ps, n, bd_bert_head_name(c, 1), H, 0);
    n = add_spec(ps, n, bd_bert_head_name(c, 2), L, H);
    n = add_spec(ps, n, bd_bert_head_name(c, 3), L, 0);
    return n;
}

const bd_param *bd_bert_find_param(const bd_bert *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

static float *P(bd_bert *m, int idx) { return m->dev + m->params[idx].offset; }

static void bind_pointers(bd_bert *m) {
    int i = 0;
    m->word = P(m, i++);
    if (m->cfg.family == BD_FAMILY_ESM) m->pos = m->type = NULL; /* rotary positions, no types */
    else { m->pos = P(m, i++); m->type = P(m, i++); }
    m->emb_ln_g = P(m, i++); m->emb_ln_b = P(m, i++);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        bd_bert_layer *ly = &m->layers[l];
        float **slots[16] = {&ly->q_w, &ly->q_b, &ly->k_w, &ly->k_b, &ly->v_w, &ly->v_b,
                             &ly->ao_w, &ly->ao_b, &ly->ln1_g, &ly->ln1_b, &ly->i_w, &ly->i_b,
                             &ly->o_w, &ly->o_b, &ly->ln2_g, &ly->ln2_b};
        for (int k = 0; k < 16; k++) *slots[k] = P(m, i++);
    }
    m->pool_w = P(m, i++); m->pool_b = P(m, i++);
    m->cls_w = P(m, i++); m->cls_b = P(m, i++);
}

/* A checkpoint may name a tensor with or without "bert." ("roberta."), and
 * old ones call LayerNorm's weight/bias gamma/beta. */
static const bd_st_tensor *find_tensor(const bd_st *st, const char *prefix, const char *name) {
    const bd_st_tensor *t = bd_st_find(st, name);
    if (t) return t;
    char alt[128];
    size_t pl = strlen(prefix);
    const char *base = strncmp(name, prefix, pl) == 0 && name[pl] == '.' ? name + pl + 1 : NULL;
    if (base && (t = bd_st_find(st, base))) return t;
    const char *suffixes[2][2] = {{"LayerNorm.weight", "LayerNorm.gamma"}, {"LayerNorm.bias", "LayerNorm.beta"}};
    for (int s = 0; s < 2; s++) {
        size_t nl = strlen(name), sl = strlen(suffixes[s][0]);
        if (nl > sl && !strcmp(name + nl - sl, suffixes[s][0])) {
            snprintf(alt, sizeof alt, "%.*s%s", (int)(nl - sl), name, suffixes[s][1]);
            if ((t = bd_st_find(st, alt))) return t;
            if (base && (t = bd_st_find(st, alt + pl + 1))) return t;
        }
    }
    return NULL;
}

static int shape_matches(const bd_st_tensor *t, const bd_param *p) {
    if (t->ndim != p->ndim) return 0;
    for (int d = 0; d < p->ndim; d++) if (t->shape[d] != p->shape[d]) return 0;
    return 1;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static int file_exists(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The parameter table and its one allocation, for m->cfg with L labels. */
static int alloc_params(bd_bert *m, int L, bd_err *e) {
    int cap = 5 + 16 * m->cfg.n_layers + 4;
    param_spec *ps = calloc((size_t)cap, sizeof *ps);
    m->params = calloc((size_t)cap, sizeof *m->params);
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    if (!ps || !m->params || !m->layers) {
        free(ps);
        return bd_errf(e, "out of memory for the parameter table (%d tensors, %d layers)", cap, m->cfg.n_layers);
    }
    m->n_params = build_specs(ps, &m->cfg, L);
    size_t off = 0;
    for (int i = 0; i < m->n_params; i++) {
        bd_param *p = &m->params[i];
        memcpy(p->name, ps[i].name, sizeof p->name);
        p->ndim = ps[i].ndim;
        p->shape[0] = ps[i].s0;
        p->shape[1] = ps[i].ndim == 2 ? ps[i].s1 : 1;
        p->numel = (size_t)ps[i].s0 * (size_t)(ps[i].ndim == 2 ? ps[i].s1 : 1);
        p->offset = off;
        off += p->numel;
    }
    free(ps);
    m->total = off;
    m->data = malloc(sizeof(float) * off);
    if (!m->data) return bd_errf(e, "out of memory allocating %zu parameters", off);
    m->be = bd_backend_cpu();
    m->dev = m->data;
    bind_pointers(m);
    return 0;
}

int bd_bert_init_random(bd_bert *m, const bd_bert_config *cfg, int num_labels, uint64_t seed, bd_err *e) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->cfg.id2label = NULL;
    m->cfg.n_id2label = 0;
    m->cfg.num_labels = num_labels;
    if (alloc_params(m, num_labels, e)) { bd_bert_free(m); return -1; }
    bd_rng rng;
    bd_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_params; i++) {
        bd_param *p = &m->params[i];
        float *d = m->data + p->offset;
        int is_ln = strstr(p->name, "LayerNorm.weight") != NULL;
        for (size_t j = 0; j < p->numel; j++)
            d[j] = p->ndim == 2 ? bd_rng_normal(&rng) * m->cfg.initializer_range : (is_ln ? 1.0f : 0.0f);
    }
    snprintf(m->weights_path, sizeof m->weights_path, "(random, seed %llu)", (unsigned long long)seed);
    return 0;
}

int bd_bert_load(bd_bert *m, const char *dir, int num_labels, uint64_t seed, bd_err *e) {
    memset(m, 0, sizeof *m);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (bd_bert_config_load(&m->cfg, path, e)) return -1;
    bd_st st = {0};
    snprintf(m->weights_path, sizeof m->weights_path, "%s/model.safetensors", dir);
    if (!file_exists(m->weights_path)) {
        snprintf(m->weights_path, sizeof m->weights_path, "%s/model.safetensors.index.json", dir);
        if (!file_exists(m->weights_path)) {
            bd_bert_config_free(&m->cfg);
            char bin[4200];
            snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
            return bd_errf(e, "%s: no model.safetensors or model.safetensors.index.json%s", dir,
                           file_exists(bin) ? " (pytorch_model.bin is not read: convert it to safetensors)" : "");
        }
    }
    if (bd_st_open(&st, m->weights_path, e)) { bd_bert_config_free(&m->cfg); return -1; }

    /* The head: the checkpoint's classifier decides num_labels when it has one. */
    const bd_st_tensor *cls = bd_st_find(&st, bd_bert_head_name(&m->cfg, 2));
    int L = num_labels > 0 ? num_labels : (m->cfg.num_labels > 0 ? m->cfg.num_labels : 2);
    if (cls && cls->ndim == 2) {
        if (num_labels > 0 && cls->shape[0] != num_labels) {
            bd_errf(e, "%s: tensor %s has %lld classes but the task has %d labels", m->weights_path,
                    bd_bert_head_name(&m->cfg, 2), (long long)cls->shape[0], num_labels);
            goto fail;
        }
        L = (int)cls->shape[0];
    }
    m->cfg.num_labels = L;
    if (m->cfg.id2label && m->cfg.n_id2label != L) {
        /* the config names other classes than this head has: its names do not apply */
        for (int i = 0; i < m->cfg.n_id2label; i++) free(m->cfg.id2label[i]);
        free(m->cfg.id2label);
        m->cfg.id2label = NULL;
        m->cfg.n_id2label = 0;
    }

    if (alloc_params(m, L, e)) goto fail;

    bd_rng rng;
    bd_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_params; i++) {
        bd_param *p = &m->params[i];
        const bd_st_tensor *t = find_tensor(&st, m->cfg.prefix, p->name);
        int is_pooler = i == m->n_params - 4 || i == m->n_params - 3; /* bd_bert_head_name order */
        int is_head = i >= m->n_params - 2;
        if (!t) {
            if (is_pooler || is_head) {
                /* transformers' init: normal(0, initializer_range), bias 0 */
                float *d = m->data + p->offset;
                for (size_t j = 0; j < p->numel; j++)
                    d[j] = p->ndim == 2 ? bd_rng_normal(&rng) * m->cfg.initializer_range : 0.0f;
                continue;
            }
            bd_errf(e, "%s: missing tensor %s", m->weights_path, p->name);
            goto fail;
        }
        if (!shape_matches(t, p)) {
            char got[64], want[64];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(want, sizeof want, p->ndim, p->shape);
            bd_errf(e, "%s: tensor %s has shape %s, config.json implies %s", m->weights_path, t->name, got, want);
            goto fail;
        }
        if (bd_st_read_f32(&st, t, m->data + p->offset, e)) goto fail;
        /* one pass: a NaN or Inf weight would make every output NaN */
        const float *d = m->data + p->offset;
        for (size_t j = 0; j < p->numel; j++)
            if (!isfinite(d[j])) {
                bd_errf(e, "%s: tensor %s holds %s at element %zu (of %zu)", m->weights_path, t->name,
                        isnan(d[j]) ? "NaN" : "Inf", j, p->numel);
                goto fail;
            }
        if (is_pooler) m->loaded_pooler = 1;
        if (is_head) m->loaded_head = 1;
    }
    /* A head is whole or absent: half a head is a broken file. */
    if (m->loaded_head && !(bd_st_find(&st, bd_bert_head_name(&m->cfg, 2)) && bd_st_find(&st, bd_bert_head_name(&m->cfg, 3)))) {
        bd_errf(e, "%s: %s and %s must both be present", m->weights_path, bd_bert_head_name(&m->cfg, 2),
                bd_bert_head_name(&m->cfg, 3));
        goto fail;
    }
    bd_st_close(&st);
    return 0;
fail:
    bd_st_close(&st);
    bd_bert_free(m);
    return -1;
}

int bd_bert_to_backend(bd_bert *m, bd_backend *be, bd_err *e) {
    if (be == m->be) return 0;
    if (!m->be->host_memory) return bd_errf(e, "the model is already on the %s backend", m->be->name);
    if (be->host_memory) { m->be = be; return 0; }
    float *d = bd_be_allocf(be, m->total, "the model's parameters");
    if (!d) return bd_be_check(be, e);
    be->upload(be, d, m->data, sizeof(float) * m->total);
    if (bd_be_check(be, e)) { bd_be_free(be, d); return -1; }
    m->be = be;
    m->dev = d;
    bind_pointers(m);
    return 0;
}

void bd_bert_download(const bd_bert *m) {
    if (m->be) m->be->download(m->be, m->data, m->dev, sizeof(float) * m->total);
}

void bd_bert_free(bd_bert *m) {
    if (m->be && !m->be->host_memory) bd_be_free(m->be, m->dev);
    bd_bert_config_free(&m->cfg);
    free(m->ad);
    free(m->params);
    free(m->data);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

/* ---- activations and forward ---- */

const char *const bd_mod_names[BD_N_MODS] = {"query", "key", "value", "attention.output.dense",
                                             "intermediate.dense", "output.dense"};
const char *const bd_mod_paths[BD_N_MODS] = {"attention.self.query", "attention.self.key",
                                             "attention.self.value", "attention.output.dense",
                                             "intermediate.dense", "output.dense"};

/* A bump allocator run twice: once to count, once to hand out pointers. */
typedef struct arena {
    float *f; size_t nf;
    uint8_t *b; size_t nb;
} arena;

static float *takef(arena *ar, size_t n) {
    float *p = ar->f ? ar->f + ar->nf : NULL;
    ar->nf += n;
    return p;
}

static uint8_t *takeb(arena *ar, size_t n) {
    uint8_t *p = ar->b ? ar->b + ar->nb : NULL;
    ar->nb += n;
    return p;
}

static const bd_adapted_linear *adapter_of(const bd_bert *m, int l, int k) {
    return m->ad ? m->ad[l * BD_N_MODS + k] : NULL;
}

static void layout_acts(bd_bert_acts *a, const bd_bert *m, int B, int T, int training, arena *ar) {
    const bd_bert_config *c = &m->cfg;
    size_t BT = (size_t)B * T, H = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t P = (size_t)B * c->n_heads * T * T, L = (size_t)c->num_labels;
    a->emb = takef(ar, BT * H); a->emb_mean = takef(ar, BT); a->emb_rstd = takef(ar, BT);
    float *x = takef(ar, BT * H); /* embeddings LayerNorm output = input of layer 0 */
    float *x0 = x, *x1 = NULL;
    for (int l = 0; l < c->n_layers; l++) {
        bd_bert_layer_acts *la = &a->layers[l];
        if (!training && l > 0) {
            /* eval keeps nothing for a backward: every layer reuses layer 0's buffers,
             * and the hidden state ping-pongs between two */
            *la = a->layers[0];
            la->x = l % 2 ? x1 : x0;
            x = l % 2 ? x0 : x1;
            continue;
        }
        la->x = x;
        la->q = takef(ar, BT * H); la->k = takef(ar, BT * H); la->v = takef(ar, BT * H);
        if (c->family == BD_FAMILY_ESM) { la->qr = takef(ar, BT * H); la->kr = takef(ar, BT * H); }
        la->probs = takef(ar, P);
        la->ctx = takef(ar, BT * H); la->ao = takef(ar, BT * H);
        la->ln1 = takef(ar, BT * H); la->ln1_mean = takef(ar, BT); la->ln1_rstd = takef(ar, BT);
        la->pre = takef(ar, BT * I); la->act = takef(ar, BT * I);
        la->o = takef(ar, BT * H); la->ln2_mean = takef(ar, BT); la->ln2_rstd = takef(ar, BT);
        x = takef(ar, BT * H); /* LayerNorm 2 output = next layer's input */
        if (!training) x1 = x;
        if (training) {
            la->probs_d = takef(ar, P);
            la->attn_keep = takeb(ar, P);
            la->ao_keep = takeb(ar, BT * H);
            la->o_keep = takeb(ar, BT * H);
        }
    }
    a->out = x;
    a->cls = takef(ar, (size_t)B * H); a->pooled = takef(ar, (size_t)B * H);
    a->pooled_d = takef(ar, (size_t)B * H);
    a->logits = takef(ar, (size_t)B * L); a->mask = takef(ar, BT);
    a->row_scale = takef(ar, BT);
    if (m->ad) {
        for (int l = 0; l < c->n_layers; l++)
            for (int k = 0; k < BD_N_MODS; k++) {
                const bd_adapted_linear *al = adapter_of(m, l, k);
                if (!al) continue;
                bd_adapter_cache *ca = &a->cache[l * BD_N_MODS + k];
                size_t in = (size_t)al->in, out = (size_t)al->out, r = (size_t)al->r;
                ca->xa = takef(ar, BT * r);
                ca->n = takef(ar, out);
                if (al->kind == BD_ADAPTER_DORA) {
                    /* z = x W'^T is kept only where the backward cannot recover it
                     * from the output: outputs dropped out or summed in place
                     * (attention.output.dense, output.dense), or adapter dropout */
                    int keep_z = training && (k == BD_MOD_ATTN_OUT || k == BD_MOD_OUTPUT || al->p_drop > 0.0f);
                    if (keep_z) ca->z = takef(ar, BT * out);
                    ca->w0a = takef(ar, out * r);
                    ca->aat = takef(ar, r * r);
                }
                if (training) ca->scratch = takef(ar, bd_adapter_scratch_floats(al, (int)BT));
                if (training && al->p_drop > 0.0f) {
                    ca->xt = takef(ar, BT * in);
                    if (al->kind == BD_ADAPTER_DORA) ca->xtw0 = takef(ar, BT * out);
                    a->ad_keep[l * BD_N_MODS + k] = takeb(ar, BT * in);
                }
            }
    }
    if (training) {
        a->emb_keep = takeb(ar, BT * H);
        a->pooled_keep = takeb(ar, (size_t)B * H);
        a->cls_keep = takeb(ar, (size_t)B * H);
        a->d_x = takef(ar, BT * H); a->d_next = takef(ar, BT * H);
        a->d_a = takef(ar, BT * H); a->d_b = takef(ar, BT * H); a->d_ctx = takef(ar, BT * H);
        a->d_q = takef(ar, BT * H); a->d_k = takef(ar, BT * H); a->d_v = takef(ar, BT * H);
        a->d_i = takef(ar, BT * I); a->d_i2 = takef(ar, BT * I);
        a->d_tt = takef(ar, m->be->attn_scratch_floats(m->be, B, T, c->n_heads));
        a->d_cls = takef(ar, (size_t)B * H); a->d_pool = takef(ar, (size_t)B * H);
    }
}

int bd_bert_acts_alloc(bd_bert_acts *a, const bd_bert *m, int B, int T, int training, bd_err *e) {
    memset(a, 0, sizeof *a);
    const int NL = m->cfg.n_layers;
    if (B < 1 || T < 1) return bd_errf(e, "activations: batch %d x %d is empty", B, T);
    if (T > m->cfg.max_pos - m->cfg.pos_offset)
        return bd_errf(e, "activations: %d tokens a row, but the model has %d position embeddings "
                          "(max_position_embeddings %d, positions from %d)", T, m->cfg.max_pos - m->cfg.pos_offset,
                          m->cfg.max_pos, m->cfg.pos_offset);
    a->layers = calloc((size_t)NL, sizeof *a->layers);
    a->cache = calloc((size_t)NL * BD_N_MODS, sizeof *a->cache);
    a->ad_keep = calloc((size_t)NL * BD_N_MODS, sizeof *a->ad_keep);
    a->ids = calloc((size_t)B * T, sizeof *a->ids);
    a->type_ids = calloc((size_t)B * T, sizeof *a->type_ids);
    a->h_row_scale = calloc((size_t)B * T, sizeof *a->h_row_scale);
    a->seq_off = calloc((size_t)B * 2, sizeof *a->seq_off);
    a->seq_len = a->seq_off ? a->seq_off + B : NULL;
    a->be = m->be;
    if (!a->layers || !a->cache || !a->ad_keep || !a->ids || !a->type_ids || !a->h_row_scale || !a->seq_off) {
        bd_bert_acts_free(a);
        return bd_errf(e, "out of memory allocating activations (%d layers, batch %d x %d)", NL, B, T);
    }
    arena ar = {0};
    layout_acts(a, m, B, T, training, &ar);
    bd_backend *be = m->be;
    char what[96];
    snprintf(what, sizeof what, "activations for batch %d x %d", B, T);
    a->mem = bd_be_allocf(be, ar.nf ? ar.nf : 1, what);
    a->bytes = a->mem ? bd_be_alloc(be, ar.nb ? ar.nb : 1, what) : NULL;
    if (!be->host_memory && a->bytes) {
        a->d_ids = bd_be_alloc(be, sizeof(int32_t) * 2 * (size_t)B * T, "the batch's ids");
        a->d_type_ids = a->d_ids ? a->d_ids + (size_t)B * T : NULL;
    } else {
        a->d_ids = a->ids;
        a->d_type_ids = a->type_ids;
    }
    if (!a->mem || !a->bytes || !a->d_ids) {
        bd_be_check(be, e);
        be->failed = 0; /* reported here; the backend itself is fine */
        bd_bert_acts_free(a);
        return -1;
    }
    arena real = {a->mem, 0, a->bytes, 0};
    layout_acts(a, m, B, T, training, &real);
    a->B = B;
    a->T = T;
    a->training = training;
    a->mem_bytes = ar.nf * sizeof(float) + ar.nb;
    return 0;
}

void bd_bert_acts_free(bd_bert_acts *a) {
    if (a->be) {
        bd_be_free(a->be, a->mem);
        bd_be_free(a->be, a->bytes);
        if (a->d_ids != a->ids) bd_be_free(a->be, a->d_ids);
    }
    free(a->layers);
    free(a->cache);
    free(a->ad_keep);
    free(a->ids);
    free(a->type_ids);
    free(a->h_row_scale);
    free(a->seq_off);
    memset(a, 0, sizeof *a);
}

/* A 0/1 keep mask with keep probability 1 - p; one draw from rng seeds it (backend.h). */
static void draw_keep(bd_backend *be, uint8_t *keep, size_t n, float p, bd_rng *rng) {
    be->dropout_mask(be, keep, n, bd_rng_next(rng), p);
}

/* One linear module, plain or adapted. */
static void module_fwd(const bd_bert *m, bd_bert_acts *a, int l, int k, float *y, const float *x,
                       const float *w, const float *b, int N, int IN, int OUT, bd_rng *rng) {
    const bd_adapted_linear *al = adapter_of(m, l, k);
    bd_backend *be = m->be;
    if (!al) { be->linear_fwd(be, y, x, w, b, N, IN, OUT); return; }
    uint8_t *keep = NULL;
    if (rng && al->p_drop > 0.0f) {
        keep = a->ad_keep[l * BD_N_MODS + k];
        draw_keep(be, keep, (size_t)N * IN, al->p_drop, rng);
    }
    bd_adapted_fwd(al, &a->cache[l * BD_N_MODS + k], y, x, keep, N);
}

/* Hidden dropout in place (training only). */
static void hidden_dropout(bd_backend *be, float *x, uint8_t *keep, size_t n, float p, bd_rng *rng) {
    if (!rng || p <= 0.0f) return;
    draw_keep(be, keep, n, p, rng);
    be->dropout_fwd(be, x, x, keep, p, (long)n);
}

static void head_forward(const bd_bert *m, bd_bert_acts *a, int B, int T, bd_rng *rng);

/* ---- eval's short cuts (head_rows_only) ---- */

/* A layer past its attention on R rows that need not be whole sequences: nothing after attention
 * mixes rows. ctx and x: the R rows of attention's output and of the layer's input; out: the
 * layer's output (BERT, RoBERTa: LN2(ao + ffn(ao)), ao = LN1(x + attn_out(ctx)); ESM-2:
 * ao + ffn(LN2(ao)), ao = x + attn_out(ctx)). out may be ctx, not x. No dropout (eval). */
static void layer_tail(const bd_bert *m, bd_bert_acts *a, int l, int R, float *ctx, const float *x, float *out) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate;
    const bd_bert_layer *w = &m->layers[l];
    bd_bert_layer_acts *la = &a->layers[l];
    bd_backend *be = m->be;
    module_fwd(m, a, l, BD_MOD_ATTN_OUT, la->ao, ctx, w->ao_w, w->ao_b, R, H, H, NULL);
    be->axpy(be, la->ao, x, (size_t)R * H, 1.0f);
    const float *ffn_in = la->ao;
    if (c->family == BD_FAMILY_ESM) {
        be->layernorm_fwd(be, la->o, la->ln2_mean, la->ln2_rstd, la->ao, w->ln2_g, w->ln2_b, R, H, c->ln_eps);
        ffn_in = la->o;
    } else {
        be->layernorm_fwd(be, la->ln1, la->ln1_mean, la->ln1_rstd, la->ao, w->ln1_g, w->ln1_b, R, H, c->ln_eps);
        ffn_in = la->ln1;
    }
    module_fwd(m, a, l, BD_MOD_INTER, la->pre, ffn_in, w->i_w, w->i_b, R, H, I, NULL);
    be->act_fwd(be, la->act, la->pre, (long)R * I, c->act);
    if (c->family == BD_FAMILY_ESM) {
        module_fwd(m, a, l, BD_MOD_OUTPUT, out, la->act, w->o_w, w->o_b, R, I, H, NULL);
        be->axpy(be, out, la->ao, (size_t)R * H, 1.0f);
    } else {
        module_fwd(m, a, l, BD_MOD_OUTPUT, la->o, la->act, w->o_w, w->o_b, R, I, H, NULL);
        be->axpy(be, la->o, la->ln1, (size_t)R * H, 1.0f);
        be->layernorm_fwd(be, out, la->ln2_mean, la->ln2_rstd, la->o, w->ln2_g, w->ln2_b, R, H, c->ln_eps);
    }
}

/* Each sequence's first row of x (packed at seq_off, or padded [B*T, H]) into dst [B, H]. */
static void head_rows(const bd_bert *m, const bd_bert_acts *a, float *dst, const float *x, int B, int T, int packed) {
    const int H = m->cfg.hidden;
    bd_backend *be = m->be;
    if (!packed) be->copy_rows(be, dst, (size_t)H, x, (size_t)T * H, B, H);
    else
        for (int b = 0; b < B; b++)
            be->copy(be, dst + (size_t)b * H, x + (size_t)a->seq_off[b] * H, sizeof(float) * (size_t)H);
}

/* eval's last layer (bd_evaluate's head_rows_only, no dropout): the head reads its first rows only */
static int head_layer(const bd_bert *m, const bd_bert_acts *a, int l, const bd_rng *rng) {
    return a->head_rows_only && !rng && l + 1 == m->cfg.n_layers;
}

/* The last layer past its attention on the B rows the head reads (each sequence's first), into
 * those rows of a->out (ESM-2: through the final LayerNorm). The layer's q and k, spent once
 * attention has run, hold the B rows of the context and of the layer's input (packed: the input's
 * rows at seq_off). */
static void last_layer_head_rows(const bd_bert *m, bd_bert_acts *a, int l, int B, int T, int packed) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden;
    bd_bert_layer_acts *la = &a->layers[l];
    bd_backend *be = m->be;
    float *ctx_r = la->q, *x_r = la->k;
    be->copy_rows(be, ctx_r, (size_t)H, la->ctx, (size_t)T * H, B, H);
    head_rows(m, a, x_r, la->x, B, T, packed);
    if (c->family == BD_FAMILY_ESM) {
        layer_tail(m, a, l, B, ctx_r, x_r, la->v);
        be->layernorm_fwd(be, ctx_r, a->emb_mean, a->emb_rstd, la->v, m->emb_ln_g, m->emb_ln_b, B, H, c->ln_eps);
    } else {
        layer_tail(m, a, l, B, ctx_r, x_r, ctx_r);
    }
    be->copy_rows(be, a->out, (size_t)T * H, ctx_r, (size_t)H, B, H);
}

/* The last layer's query on the B rows the head reads only (each sequence's first; x: the layer's
 * input, packed at seq_off or padded [B*T, H]), into those rows of q [B*T, H], zeros elsewhere:
 * attention still runs on every row, but past it only the first rows are read. x_r, q_r: B x H
 * each, for those rows of x and their query. */
static void head_rows_query(const bd_bert *m, bd_bert_acts *a, int l, int B, int T, const float *x, int packed,
                            float *x_r, float *q_r, float *q) {
    const int H = m->cfg.hidden;
    const bd_bert_layer *w = &m->layers[l];
    bd_backend *be = m->be;
    head_rows(m, a, x_r, x, B, T, packed);
    module_fwd(m, a, l, BD_MOD_QUERY, q_r, x_r, w->q_w, w->q_b, B, H, H, NULL);
    be->zero(be, q, sizeof(float) * (size_t)B * T * H);
    be->copy_rows(be, q, (size_t)T * H, q_r, (size_t)H, B, H);
}

/* ESM's embeddings: token_dropout's factor (1 - 0.15 * 0.8) / (1 - the row's share of
 * <mask> among its real tokens), 0 on <mask> and on padding. */
static void esm_row_scale(const bd_bert *m, bd_bert_acts *a, const float *mask, int B, int T) {
    const bd_bert_config *c = &m->cfg;
    for (int b = 0; b < B; b++) {
        int len = 0, masked = 0;
        for (int t = 0; t < T; t++) {
            len += mask[b * T + t] != 0.0f;
            masked += mask[b * T + t] != 0.0f && a->ids[b * T + t] == c->mask_token_id;
        }
        float f = 1.0f;
        if (c->token_dropout && len > 0) f = (float)((1.0 - 0.15 * 0.8) / (1.0 - (double)masked / len));
        for (int t = 0; t < T; t++) {
            int r = b * T + t, drop = c->token_dropout && a->ids[r] == c->mask_token_id;
            a->h_row_scale[r] = mask[r] != 0.0f && !drop ? f : 0.0f;
        }
    }
}

/* ESM-2's pre-LayerNorm encoder into a->out (the last layer's output kept in a->emb). */
static void esm_encoder(const bd_bert *m, bd_bert_acts *a, const float *mask, int B, int T, bd_rng *rng) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate, NH = c->n_heads, BT = B * T, D = H / NH;
    bd_backend *be = m->be;
    esm_row_scale(m, a, mask, B, T);
    be->upload(be, a->row_scale, a->h_row_scale, sizeof(float) * (size_t)BT);
    be->embed_fwd(be, a->layers[0].x, a->d_ids, NULL, m->word, NULL, NULL, B, T, H);
    be->rows_scale(be, a->layers[0].x, a->row_scale, BT, H);
    for (int l = 0; l < c->n_layers; l++) {
        const bd_bert_layer *w = &m->layers[l];
        bd_bert_layer_acts *la = &a->layers[l];
        float *next = (l + 1 < c->n_layers) ? a->layers[l + 1].x : a->emb;
        be->layernorm_fwd(be, la->ln1, la->ln1_mean, la->ln1_rstd, la->x, w->ln1_g, w->ln1_b, BT, H, c->ln_eps);
        if (head_layer(m, a, l, rng)) head_rows_query(m, a, l, B, T, la->ln1, 0, la->ao, la->pre, la->q);
        else module_fwd(m, a, l, BD_MOD_QUERY, la->q, la->ln1, w->q_w, w->q_b, BT, H, H, rng);
        module_fwd(m, a, l, BD_MOD_KEY, la->k, la->ln1, w->k_w, w->k_b, BT, H, H, rng);
        module_fwd(m, a, l, BD_MOD_VALUE, la->v, la->ln1, w->v_w, w->v_b, BT, H, H, rng);
        /* transformers scales q before the rotation; a rotation commutes with the scale */
        be->copy(be, la->qr, la->q, sizeof(float) * (size_t)BT * H);
        be->copy(be, la->kr, la->k, sizeof(float) * (size_t)BT * H);
        be->rotary(be, la->qr, B, T, NH, D, 1);
        be->rotary(be, la->kr, B, T, NH, D, 1);
        const uint8_t *akeep = NULL;
        if (rng && c->attn_dropout > 0.0f) {
            draw_keep(be, la->attn_keep, (size_t)B * NH * T * T, c->attn_dropout, rng);
            akeep = la->attn_keep;
        }
        be->attention_fwd(be, la->ctx, la->probs, la->probs_d, la->qr, la->kr, la->v, a->mask, akeep,
                          c->attn_dropout, B, T, NH, D);
        if (head_layer(m, a, l, rng)) {
            last_layer_head_rows(m, a, l, B, T, 0); /* the final LayerNorm too */
            return;
        }
        module_fwd(m, a, l, BD_MOD_ATTN_OUT, la->ao, la->ctx, w->ao_w, w->ao_b, BT, H, H, rng);
        hidden_dropout(be, la->ao, la->ao_keep, (size_t)BT * H, c->hidden_dropout, rng);
        be->axpy(be, la->ao, la->x, (size_t)BT * H, 1.0f); /* ao = x + drop(attention) */
        /* la->o holds LN2(ao), the FFN's input */
        be->layernorm_fwd(be, la->o, la->ln2_mean, la->ln2_rstd, la->ao, w->ln2_g, w->ln2_b, BT, H, c->ln_eps);
        module_fwd(m, a, l, BD_MOD_INTER, la->pre, la->o, w->i_w, w->i_b, BT, H, I, rng);
        be->act_fwd(be, la->act, la->pre, (long)BT * I, c->act);
        module_fwd(m, a, l, BD_MOD_OUTPUT, next, la->act, w->o_w, w->o_b, BT, I, H, rng);
        hidden_dropout(be, next, la->o_keep, (size_t)BT * H, c->hidden_dropout, rng);
        be->axpy(be, next, la->ao, (size_t)BT * H, 1.0f); /* out = ao + drop(ffn) */
    }
    be->layernorm_fwd(be, a->out, a->emb_mean, a->emb_rstd, a->emb, m->emb_ln_g, m->emb_ln_b, BT, H, c->ln_eps);
}

/* Each sequence's real tokens, a prefix of its row (right padding), one block of the packed rows.
 * Returns how many rows that packs, or -1 when a sequence has none or is not right-padded (then
 * the forward runs on the padded layout). */
static int pack_plan(bd_bert_acts *a, const float *mask, int B, int T) {
    int n = 0;
    for (int b = 0; b < B; b++) {
        int len = 0;
        while (len < T && mask[(size_t)b * T + len] != 0.0f) len++;
        if (len == 0) return -1; /* all padding: its row attends to every position */
        for (int t = len; t < T; t++)
            if (mask[(size_t)b * T + t] != 0.0f) return -1;
        a->seq_off[b] = n;
        a->seq_len[b] = len;
        n += len;
    }
    return n;
}

/* padded [B*T, H] -> packed rows, and back with zeros in the pads (finite: a padded key's
 * probability is exactly 0, and 0 * 0 adds nothing) */
static void pack_rows(bd_backend *be, float *dst, const float *src, const bd_bert_acts *a, int B, int T, int H) {
    for (int b = 0; b < B; b++)
        be->copy(be, dst + (size_t)a->seq_off[b] * H, src + (size_t)b * T * H, sizeof(float) * (size_t)a->seq_len[b] * H);
}
static void unpack_rows(bd_backend *be, float *dst, const float *src, const bd_bert_acts *a, int B, int T, int H) {
    for (int b = 0; b < B; b++) {
        const int len = a->seq_len[b];
        be->copy(be, dst + (size_t)b * T * H, src + (size_t)a->seq_off[b] * H, sizeof(float) * (size_t)len * H);
        if (len < T) be->zero(be, dst + ((size_t)b * T + len) * H, sizeof(float) * (size_t)(T - len) * H);
    }
}

/* Layer l's query, key and value of the N packed rows x, computed into tmp[3] (N rows each) and
 * spread out to dst[3] ([B*T, H], zeros in the pads) for attention. */
static void qkv_spread(const bd_bert *m, bd_bert_acts *a, int l, int B, int T, int N, const float *x,
                       float *const tmp[3], float *const dst[3]) {
    const int H = m->cfg.hidden;
    const bd_bert_layer *w = &m->layers[l];
    const float *wt[3] = {w->q_w, w->k_w, w->v_w}, *bs[3] = {w->q_b, w->k_b, w->v_b};
    static const int mods[3] = {BD_MOD_QUERY, BD_MOD_KEY, BD_MOD_VALUE};
    int i = 0;
    if (l + 1 == m->cfg.n_layers) { /* the last layer: the head rows' query only */
        head_rows_query(m, a, l, B, T, x, 1, tmp[0], tmp[1], dst[0]); /* N >= B rows each */
        i = 1;
    }
    for (; i < 3; i++) {
        module_fwd(m, a, l, mods[i], tmp[i], x, wt[i], bs[i], N, H, H, NULL);
        unpack_rows(m->be, dst[i], tmp[i], a, B, T, H);
    }
}

/* BERT / RoBERTa (post-LN) on N packed rows; the layers' buffers as temporaries for the packed
 * projections before they are spread out for attention. */
static void bert_encoder_packed(const bd_bert *m, bd_bert_acts *a, int B, int T, int N) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, NH = c->n_heads;
    bd_backend *be = m->be;
    bd_bert_layer_acts *la0 = &a->layers[0];
    be->embed_fwd(be, a->emb, a->d_ids, a->d_type_ids, m->word, m->pos + (size_t)c->pos_offset * H, m->type, B, T, H);
    pack_rows(be, la0->o, a->emb, a, B, T, H);
    be->layernorm_fwd(be, la0->x, a->emb_mean, a->emb_rstd, la0->o, m->emb_ln_g, m->emb_ln_b, N, H, c->ln_eps);
    for (int l = 0; l < c->n_layers; l++) {
        bd_bert_layer_acts *la = &a->layers[l];
        qkv_spread(m, a, l, B, T, N, la->x, (float *[3]){la->ao, la->ln1, la->o}, (float *[3]){la->q, la->k, la->v});
        be->attention_fwd(be, la->ctx, la->probs, la->probs_d, la->q, la->k, la->v, a->mask, NULL, 0.0f, B, T, NH,
                          H / NH);
        if (l + 1 == c->n_layers) {
            last_layer_head_rows(m, a, l, B, T, 1);
            return;
        }
        pack_rows(be, la->q, la->ctx, a, B, T, H);
        layer_tail(m, a, l, N, la->q, la->x, a->layers[l + 1].x);
    }
}

/* ESM-2 (pre-LN) on N packed rows; rotary positions are applied on the padded layout. */
static void esm_encoder_packed(const bd_bert *m, bd_bert_acts *a, const float *mask, int B, int T, int N) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, NH = c->n_heads, BT = B * T, D = H / NH;
    bd_backend *be = m->be;
    bd_bert_layer_acts *la0 = &a->layers[0];
    esm_row_scale(m, a, mask, B, T);
    be->upload(be, a->row_scale, a->h_row_scale, sizeof(float) * (size_t)BT);
    be->embed_fwd(be, la0->o, a->d_ids, NULL, m->word, NULL, NULL, B, T, H);
    be->rows_scale(be, la0->o, a->row_scale, BT, H);
    pack_rows(be, la0->x, la0->o, a, B, T, H);
    for (int l = 0; l < c->n_layers; l++) {
        const bd_bert_layer *w = &m->layers[l];
        bd_bert_layer_acts *la = &a->layers[l];
        be->layernorm_fwd(be, la->ln1, la->ln1_mean, la->ln1_rstd, la->x, w->ln1_g, w->ln1_b, N, H, c->ln_eps);
        qkv_spread(m, a, l, B, T, N, la->ln1, (float *[3]){la->o, la->ao, la->pre}, (float *[3]){la->qr, la->kr, la->v});
        be->rotary(be, la->qr, B, T, NH, D, 1);
        be->rotary(be, la->kr, B, T, NH, D, 1);
        be->attention_fwd(be, la->ctx, la->probs, la->probs_d, la->qr, la->kr, la->v, a->mask, NULL, 0.0f, B, T, NH, D);
        if (l + 1 == c->n_layers) {
            last_layer_head_rows(m, a, l, B, T, 1); /* the final LayerNorm too */
            return;
        }
        pack_rows(be, la->q, la->ctx, a, B, T, H);
        layer_tail(m, a, l, N, la->q, la->x, a->layers[l + 1].x);
    }
}

void bd_bert_forward(const bd_bert *m, bd_bert_acts *a, const int32_t *ids,
                     const int32_t *type_ids, const float *mask, int B, int T, bd_rng *rng) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate, NH = c->n_heads, BT = B * T;
    bd_backend *be = m->be;
    if (!a->training) rng = NULL;
    be->upload(be, a->mask, mask, sizeof(float) * (size_t)BT);
    /* every id indexes its table: out-of-range word ids read as pad_token_id
     * (below vocab_size, checked at load), type ids as 0; positions are
     * bounded by T <= a->T <= max_position_embeddings (bd_bert_acts_alloc) */
    for (int i = 0; i < BT; i++) {
        int32_t id = ids[i], ty = type_ids ? type_ids[i] : 0;
        a->ids[i] = id >= 0 && id < c->vocab_size ? id : c->pad_token_id;
        a->type_ids[i] = ty >= 0 && ty < c->type_vocab ? ty : 0;
    }
    be->upload(be, a->d_ids, a->ids, sizeof(int32_t) * (size_t)BT);
    be->upload(be, a->d_type_ids, a->type_ids, sizeof(int32_t) * (size_t)BT);
    /* eval: the real tokens only, when there is padding to skip */
    const int packed = a->head_rows_only && !rng ? pack_plan(a, mask, B, T) : -1;
    if (packed > 0 && packed < BT) {
        if (c->family == BD_FAMILY_ESM) esm_encoder_packed(m, a, mask, B, T, packed);
        else bert_encoder_packed(m, a, B, T, packed);
        head_forward(m, a, B, T, rng);
        return;
    }
    if (c->family == BD_FAMILY_ESM) {
        esm_encoder(m, a, mask, B, T, rng);
        head_forward(m, a, B, T, rng);
        return;
    }
    /* position t reads row pos_offset + t (RoBERTa: padding_idx + 1 + t, which
     * create_position_ids_from_input_ids gives every real token of a right-padded
     * row; its pad rows read other rows than transformers', but no real token
     * attends to them, so neither the logits nor any gradient depends on them) */
    be->embed_fwd(be, a->emb, a->d_ids, a->d_type_ids, m->word, m->pos + (size_t)c->pos_offset * H, m->type, B, T, H);
    be->layernorm_fwd(be, a->layers[0].x, a->emb_mean, a->emb_rstd, a->emb, m->emb_ln_g, m->emb_ln_b, BT, H, c->ln_eps);
    hidden_dropout(be, a->layers[0].x, a->emb_keep, (size_t)BT * H, c->hidden_dropout, rng);
    for (int l = 0; l < c->n_layers; l++) {
        const bd_bert_layer *w = &m->layers[l];
        bd_bert_layer_acts *la = &a->layers[l];
        float *next = (l + 1 < c->n_layers) ? a->layers[l + 1].x : a->out;
        if (head_layer(m, a, l, rng)) head_rows_query(m, a, l, B, T, la->x, 0, la->ao, la->ln1, la->q);
        else module_fwd(m, a, l, BD_MOD_QUERY, la->q, la->x, w->q_w, w->q_b, BT, H, H, rng);
        module_fwd(m, a, l, BD_MOD_KEY, la->k, la->x, w->k_w, w->k_b, BT, H, H, rng);
        module_fwd(m, a, l, BD_MOD_VALUE, la->v, la->x, w->v_w, w->v_b, BT, H, H, rng);
        const uint8_t *akeep = NULL;
        if (rng && c->attn_dropout > 0.0f) {
            draw_keep(be, la->attn_keep, (size_t)B * NH * T * T, c->attn_dropout, rng);
            akeep = la->attn_keep;
        }
        be->attention_fwd(be, la->ctx, la->probs, la->probs_d, la->q, la->k, la->v, a->mask, akeep,
                          c->attn_dropout, B, T, NH, H / NH);
        if (head_layer(m, a, l, rng)) {
            last_layer_head_rows(m, a, l, B, T, 0);
            break;
        }
        module_fwd(m, a, l, BD_MOD_ATTN_OUT, la->ao, la->ctx, w->ao_w, w->ao_b, BT, H, H, rng);
        hidden_dropout(be, la->ao, la->ao_keep, (size_t)BT * H, c->hidden_dropout, rng);
        be->axpy(be, la->ao, la->x, (size_t)BT * H, 1.0f);
        be->layernorm_fwd(be, la->ln1, la->ln1_mean, la->ln1_rstd, la->ao, w->ln1_g, w->ln1_b, BT, H, c->ln_eps);
        module_fwd(m, a, l, BD_MOD_INTER, la->pre, la->ln1, w->i_w, w->i_b, BT, H, I, rng);
        be->act_fwd(be, la->act, la->pre, (long)BT * I, c->act);
        module_fwd(m, a, l, BD_MOD_OUTPUT, la->o, la->act, w->o_w, w->o_b, BT, I, H, rng);
        hidden_dropout(be, la->o, la->o_keep, (size_t)BT * H, c->hidden_dropout, rng);
        be->axpy(be, la->o, la->ln1, (size_t)BT * H, 1.0f);
        be->layernorm_fwd(be, next, la->ln2_mean, la->ln2_rstd, la->o, w->ln2_g, w->ln2_b, BT, H, c->ln_eps);
    }
    head_forward(m, a, B, T, rng);
}

/* The head on the last hidden state a->out: BERT's pooler + classifier, or
 * RoBERTa's / ESM's classification head. */
static void head_forward(const bd_bert *m, bd_bert_acts *a, int B, int T, bd_rng *rng) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden;
    bd_backend *be = m->be;
    /* the [CLS] rows */
    be->copy_rows(be, a->cls, (size_t)H, a->out, (size_t)T * H, B, H);
    /* RoBERTa's (and ESM's) head drops the <s> row before its dense; BERT's pooler does not */
    if (c->family != BD_FAMILY_BERT) hidden_dropout(be, a->cls, a->cls_keep, (size_t)B * H, c->classifier_dropout, rng);
    be->linear_fwd(be, a->pooled, a->cls, m->pool_w, m->pool_b, B, H, H);
    be->tanh_fwd(be, a->pooled, a->pooled, (long)B * H);
    be->copy(be, a->pooled_d, a->pooled, sizeof(float) * (size_t)B * H);
    hidden_dropout(be, a->pooled_d, a->pooled_keep, (size_t)B * H, c->classifier_dropout, rng);
    be->linear_fwd(be, a->logits, a->pooled_d, m->cls_w, m->cls_b, B, H, c->num_labels);
}
