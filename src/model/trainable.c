/* trainable.c: adapters attached to a model, parameter groups, PEFT I/O. */
#include "trainable.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "json.h"
#include "rng.h"
#include "safetensors.h"

int bd_parse_target_modules(const char *s, unsigned *mask, bd_err *e) {
    *mask = 0;
    if (!strcmp(s, "all")) { *mask = (1u << BD_N_MODS) - 1; return 0; }
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ') { p++; n--; }
        while (n && p[n - 1] == ' ') n--;
        int found = -1;
        for (int k = 0; k < BD_N_MODS; k++)
            if (strlen(bd_mod_names[k]) == n && !strncmp(bd_mod_names[k], p, n)) found = k;
        if (found < 0)
            return bd_errf(e, "target_modules: unknown module \"%.*s\" (allowed: query, key, value, "
                              "attention.output.dense, intermediate.dense, output.dense, or all)", (int)n, p);
        *mask |= 1u << found;
        if (!end) break;
        p = end + 1;
    }
    if (!*mask) return bd_errf(e, "target_modules is empty");
    return 0;
}

static void module_dims(const bd_bert_config *c, int k, int *in, int *out) {
    *in = k == BD_MOD_OUTPUT ? c->intermediate : c->hidden;
    *out = k == BD_MOD_INTER ? c->intermediate : c->hidden;
}

static void module_weights(bd_bert *m, int l, int k, float **w, float **b) {
    bd_bert_layer *ly = &m->layers[l];
    float *ws[BD_N_MODS] = {ly->q_w, ly->k_w, ly->v_w, ly->ao_w, ly->i_w, ly->o_w};
    float *bs[BD_N_MODS] = {ly->q_b, ly->k_b, ly->v_b, ly->ao_b, ly->i_b, ly->o_b};
    *w = ws[k];
    *b = bs[k];
}

/* Gradient pointers with the model's layout over a buffer of m->total floats. */
static void bind_full_grads(bd_trainable *t, const bd_bert *m, float *g) {
    bd_bert_grads *G = &t->grads;
#define AT(p) (g + ((p) - m->dev))
    G->word = AT(m->word);
    G->pos = m->pos ? AT(m->pos) : NULL; /* ESM has neither table */
    G->type = m->type ? AT(m->type) : NULL;
    G->emb_ln_g = AT(m->emb_ln_g); G->emb_ln_b = AT(m->emb_ln_b);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bd_bert_layer *s = &m->layers[l];
        bd_bert_layer *d = &t->grad_layers[l];
        d->q_w = AT(s->q_w); d->q_b = AT(s->q_b); d->k_w = AT(s->k_w); d->k_b = AT(s->k_b);
        d->v_w = AT(s->v_w); d->v_b = AT(s->v_b); d->ao_w = AT(s->ao_w); d->ao_b = AT(s->ao_b);
        d->ln1_g = AT(s->ln1_g); d->ln1_b = AT(s->ln1_b); d->i_w = AT(s->i_w); d->i_b = AT(s->i_b);
        d->o_w = AT(s->o_w); d->o_b = AT(s->o_b); d->ln2_g = AT(s->ln2_g); d->ln2_b = AT(s->ln2_b);
    }
    G->layers = t->grad_layers;
    G->pool_w = AT(m->pool_w); G->pool_b = AT(m->pool_b);
    G->cls_w = AT(m->cls_w); G->cls_b = AT(m->cls_b);
#undef AT
}

/* n floats of backend memory (zeroed) and, when the backend's memory is not the host's,
 * a host copy; on the CPU the copy is the same pointer. */
static float *group_alloc(bd_backend *be, size_t n, float **host, const char *what) {
    float *d = bd_be_allocf(be, n ? n : 1, what);
    if (!d) return NULL;
    be->zero(be, d, sizeof(float) * (n ? n : 1));
    if (host) *host = be->host_memory ? d : calloc(n ? n : 1, sizeof(float));
    if (host && !*host) {
        bd_be_free(be, d);
        if (!be->failed) { be->failed = 1; bd_errf(&be->err, "out of memory for the host copy of %s", what); }
        return NULL;
    }
    return d;
}

static void host_free(bd_backend *be, float *host, float *dev) {
    if (host && host != dev) free(host);
    if (be) bd_be_free(be, dev);
}

int bd_trainable_init(bd_trainable *t, bd_bert *m, const bd_adapter_opts *o, uint64_t seed, bd_err *e) {
    memset(t, 0, sizeof *t);
    t->o = *o;
    snprintf(t->prefix, sizeof t->prefix, "%s", m->cfg.prefix);
    bd_backend *be = t->be = m->be;
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, L = c->num_labels;
    if (o->method == BD_METHOD_FULL) {
        t->full.w = m->dev;
        t->full.h = m->data;
        t->full.n = m->total;
        t->full.g = group_alloc(be, m->total, NULL, "the gradients");
        t->grad_layers = calloc((size_t)c->n_layers, sizeof *t->grad_layers);
        if (!t->full.g || !t->grad_layers) {
            if (!t->full.g) bd_be_check(be, e); /* the backend's message names the bytes */
            else bd_errf(e, "out of memory for gradients (%zu parameters)", m->total);
            be->failed = 0;
            bd_trainable_free(t, m);
            return -1;
        }
        bind_full_grads(t, m, t->full.g);
        return 0;
    }
    if (o->rank < 1) return bd_errf(e, "rank must be at least 1 (got %d)", o->rank);
    const int dora = o->method != BD_METHOD_LORA;
    int per_layer = 0;
    for (int k = 0; k < BD_N_MODS; k++) {
        if (!((o->target_mask >> k) & 1)) continue;
        per_layer++;
        /* B A of rank r > min(out, in) cannot be: PEFT would train a rank-deficient pair */
        int in, out;
        module_dims(c, k, &in, &out);
        if (o->rank > (in < out ? in : out))
            return bd_errf(e, "rank %d is larger than the %s matrix [%d, %d] it adapts (at most %d)", o->rank,
                           bd_mod_names[k], out, in, in < out ? in : out);
    }
    t->n_ad = per_layer * c->n_layers;
    size_t n_dir = 0, n_mag = 0, n_sq = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < BD_N_MODS; k++) {
            if (!((o->target_mask >> k) & 1)) continue;
            int in, out;
            module_dims(c, k, &in, &out);
            n_dir += (size_t)o->rank * in + (size_t)out * o->rank;
            n_mag += dora ? (size_t)out : 0;
            n_sq += (size_t)out;
        }
    t->head_off = n_dir;
    /* PEFT's modules_to_save = classifier: BERT's classifier, or RoBERTa's whole
     * head (dense and out_proj); BERT's pooler stays frozen */
    t->head_dense = c->family != BD_FAMILY_BERT; /* RoBERTa's and ESM's classification head */
    n_dir += (size_t)L * H + L + (t->head_dense ? (size_t)H * H + H : 0);
    t->dir.n = n_dir;
    t->mag.n = n_mag;
    t->n_sq = n_sq;
    t->ads = calloc((size_t)t->n_ad, sizeof *t->ads);
    t->ad_layer = calloc((size_t)t->n_ad, sizeof(int));
    t->ad_mod = calloc((size_t)t->n_ad, sizeof(int));
    m->ad = calloc((size_t)c->n_layers * BD_N_MODS, sizeof *m->ad);
    if (!t->ads || !t->ad_layer || !t->ad_mod || !m->ad ||
        !(t->dir.w = group_alloc(be, n_dir, &t->dir.h, "the direction parameters")) ||
        !(t->dir.g = group_alloc(be, n_dir, NULL, "the direction gradients")) ||
        !(t->mag.w = group_alloc(be, n_mag, &t->mag.h, "the magnitudes")) ||
        !(t->mag.g = group_alloc(be, n_mag, NULL, "the magnitude gradients")) ||
        !(t->sqnorms = group_alloc(be, n_sq, &t->sqnorms_h, "the weight row norms"))) {
        bd_be_check(be, e);
        be->failed = 0;
        bd_trainable_free(t, m);
        return bd_err_prefix(e, "allocating %d adapters (%zu direction and %zu magnitude values)", t->n_ad,
                             n_dir, n_mag);
    }
    const float s = o->rslora ? o->alpha / sqrtf((float)o->rank) : o->alpha / (float)o->rank;
    bd_rng rng;
    bd_rng_seed(&rng, seed);
    size_t od = 0, om = 0, osq = 0;
    int i = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < BD_N_MODS; k++) {
            if (!((o->target_mask >> k) & 1)) continue;
            bd_adapted_linear *al = &t->ads[i];
            int in, out;
            module_dims(c, k, &in, &out);
            float *w, *b;
            module_weights(m, l, k, &w, &b);
            al->be = be;
            al->kind = dora ? BD_ADAPTER_DORA : BD_ADAPTER_LORA;
            al->in = in; al->out = out; al->r = o->rank; al->s = s;
            al->p_drop = o->dropout;
            al->exact_norm_grad = o->exact_norm_grad;
            al->w0 = w; al->b = b;
            float *hA = t->dir.h + od;
            al->A = t->dir.w + od; al->dA = t->dir.g + od; od += (size_t)o->rank * in;
            al->B = t->dir.w + od; al->dB = t->dir.g + od; od += (size_t)out * o->rank;
            float *hm = NULL;
            if (dora) { hm = t->mag.h + om; al->m = t->mag.w + om; al->dm = t->mag.g + om; om += (size_t)out; }
            float *hsq = t->sqnorms_h + osq;
            al->w0_sqnorm = t->sqnorms + osq; osq += (size_t)out;
            bd_adapter_init_norms(al);
            be->download(be, hsq, al->w0_sqnorm, sizeof(float) * (size_t)out);
            /* PEFT: kaiming_uniform_(a=sqrt(5)) on A: bound 1/sqrt(in); B = 0; m = ||W0_j|| */
            float bound = 1.0f / sqrtf((float)in);
            for (size_t j = 0; j < (size_t)o->rank * in; j++) hA[j] = (float)(2.0 * bd_rng_uniform(&rng) - 1.0) * bound;
            if (dora) for (int j = 0; j < out; j++) hm[j] = sqrtf(hsq[j]);
            t->ad_layer[i] = l;
            t->ad_mod[i] = k;
            m->ad[l * BD_N_MODS + k] = al;
            i++;
        }
    /* the head joins the direction group (from the model's host copy: what was loaded) */
    float *hw = t->dir.h + t->head_off, *hb = hw + (size_t)L * H;
    memcpy(hw, bd_bert_host(m, m->cls_w), sizeof(float) * (size_t)L * H);
    memcpy(hb, bd_bert_host(m, m->cls_b), sizeof(float) * (size_t)L);
    m->cls_w = t->dir.w + t->head_off;
    m->cls_b = m->cls_w + (size_t)L * H;
    t->grads.cls_w = t->dir.g + t->head_off;
    t->grads.cls_b = t->grads.cls_w + (size_t)L * H;
    if (t->head_dense) {
        size_t off = t->head_off + (size_t)L * H + L;
        memcpy(t->dir.h + off, bd_bert_host(m, m->pool_w), sizeof(float) * (size_t)H * H);
        memcpy(t->dir.h + off + (size_t)H * H, bd_bert_host(m, m->pool_b), sizeof(float) * (size_t)H);
        m->pool_w = t->dir.w + off;
        m->pool_b = m->pool_w + (size_t)H * H;
        t->grads.pool_w = t->dir.g + off;
        t->grads.pool_b = t->grads.pool_w + (size_t)H * H;
    }
    bd_trainable_upload(t, m);
    if (bd_be_check(be, e)) { bd_trainable_free(t, m); return -1; }
    return 0;
}

void bd_trainable_free(bd_trainable *t, bd_bert *m) {
    bd_backend *be = t->be;
    if (m && m->data && t->dir.w && m->cls_w == t->dir.w + t->head_off) {
        /* give the model its head back (device and host copies) */
        float **slot[4] = {&m->pool_w, &m->pool_b, &m->cls_w, &m->cls_b};
        for (int k = t->head_dense ? 0 : 2; k < 4; k++) {
            const bd_param *p = bd_bert_find_param(m, bd_bert_head_name(&m->cfg, k));
            be->copy(be, m->dev + p->offset, *slot[k], sizeof(float) * p->numel);
            be->download(be, m->data + p->offset, *slot[k], sizeof(float) * p->numel);
            *slot[k] = m->dev + p->offset;
        }
    }
    if (m) { free(m->ad); m->ad = NULL; }
    if (t->full.g) bd_be_free(be, t->full.g);
    host_free(be, t->dir.h, t->dir.w);
    host_free(be, NULL, t->dir.g);
    host_free(be, t->mag.h, t->mag.w);
    host_free(be, NULL, t->mag.g);
    host_free(be, t->sqnorms_h, t->sqnorms);
    free(t->ads); free(t->ad_layer); free(t->ad_mod); free(t->grad_layers);
    memset(t, 0, sizeof *t);
}

void bd_trainable_zero_grad(bd_trainable *t) {
    bd_backend *be = t->be;
    if (t->full.g) be->zero(be, t->full.g, sizeof(float) * t->full.n);
    if (t->dir.g) be->zero(be, t->dir.g, sizeof(float) * t->dir.n);
    if (t->mag.g) be->zero(be, t->mag.g, sizeof(float) * t->mag.n);
}

void bd_trainable_download(const bd_trainable *t, const bd_bert *m) {
    bd_backend *be = t->be;
    if (!be) return;
    if (t->full.n) bd_bert_download(m);
    if (t->dir.n) be->download(be, t->dir.h, t->dir.w, sizeof(float) * t->dir.n);
    if (t->mag.n) be->download(be, t->mag.h, t->mag.w, sizeof(float) * t->mag.n);
}

void bd_trainable_upload(const bd_trainable *t, const bd_bert *m) {
    bd_backend *be = t->be;
    if (!be) return;
    if (t->full.n) be->upload(be, m->dev, m->data, sizeof(float) * m->total);
    if (t->dir.n) be->upload(be, t->dir.w, t->dir.h, sizeof(float) * t->dir.n);
    if (t->mag.n) be->upload(be, t->mag.w, t->mag.h, sizeof(float) * t->mag.n);
}

float *bd_trainable_host(const bd_trainable *t, const float *p) {
    if (t->dir.w && p >= t->dir.w && p < t->dir.w + t->dir.n) return t->dir.h + (p - t->dir.w);
    if (t->mag.w && p >= t->mag.w && p < t->mag.w + t->mag.n) return t->mag.h + (p - t->mag.w);
    if (t->sqnorms && p >= t->sqnorms && p < t->sqnorms + t->n_sq)
        return t->sqnorms_h + (p - t->sqnorms);
    return NULL;
}

/* ---- PEFT format ---- */

void bd_peft_name(const bd_trainable *t, int i, const char *what, char *buf, size_t n) {
    snprintf(buf, n, "base_model.model.%s.encoder.layer.%d.%s.%s", t->prefix, t->ad_layer[i],
             bd_mod_paths[t->ad_mod[i]], what);
}

/* The head's tensors as PEFT saves modules_to_save (base_model.model.NAME):
 * the classifier, and RoBERTa's dense before it. Returns how many (2 or 4). */
static int head_tensors(const bd_trainable *t, const bd_bert *m, char (*names)[160], float **host, int *ndim,
                        int64_t (*shape)[2]) {
    const bd_bert_config *c = &m->cfg;
    float *const ptr[4] = {m->pool_w, m->pool_b, m->cls_w, m->cls_b};
    const int64_t sh[4][2] = {{c->hidden, c->hidden}, {c->hidden, 0}, {c->num_labels, c->hidden}, {c->num_labels, 0}};
    int n = 0;
    for (int k = t->head_dense ? 0 : 2; k < 4; k++, n++) {
        snprintf(names[n], sizeof names[n], "base_model.model.%s", bd_bert_head_name(c, k));
        host[n] = bd_trainable_host(t, ptr[k]);
        ndim[n] = sh[k][1] ? 2 : 1;
        shape[n][0] = sh[k][0];
        shape[n][1] = sh[k][1];
    }
    return n;
}


/* PEFT matches a target by suffix, so "output.dense" alone would also catch
 * attention.output.dense: then the targets are written as a regex. */
static json_t *targets_json(unsigned mask) {
    int ambiguous = ((mask >> BD_MOD_OUTPUT) & 1) && !((mask >> BD_MOD_ATTN_OUT) & 1);
    if (!ambiguous) {
        json_t *arr = json_array();
        for (int k = 0; k < BD_N_MODS; k++)
            if ((mask >> k) & 1) json_array_append_new(arr, json_string(bd_mod_names[k]));
        return arr;
    }
    char re[512] = ".*\\.encoder\\.layer\\.\\d+\\.(";
    for (int k = 0, first = 1; k < BD_N_MODS; k++) {
        if (!((mask >> k) & 1)) continue;
        char esc[64];
        size_t n = 0;
        for (const char *p = bd_mod_paths[k]; *p && n + 2 < sizeof esc; p++) {
            if (*p == '.') esc[n++] = '\\';
            esc[n++] = *p;
        }
        esc[n] = '\0';
        strncat(re, first ? "" : "|", sizeof re - strlen(re) - 1);
        strncat(re, esc, sizeof re - strlen(re) - 1);
        first = 0;
    }
    strncat(re, ")", sizeof re - strlen(re) - 1);
    return json_string(re);
}

int bd_peft_save(const bd_trainable *t, const bd_bert *m, const char *dir, const char *base_model, bd_err *e) {
    if (t->o.method == BD_METHOD_FULL) return bd_errf(e, "full fine-tuning has no adapter to save");
    if (bd_mkdir_p(dir, e)) return -1;
    const int dora = t->o.method != BD_METHOD_LORA;
    int n = t->n_ad * (dora ? 3 : 2) + 4;
    bd_st_out *outs = calloc((size_t)n, sizeof *outs);
    char (*names)[160] = calloc((size_t)n, sizeof *names);
    if (!outs || !names) {
        free(outs);
        free(names);
        return bd_errf(e, "%s: out of memory for %d tensor entries", dir, n);
    }
    int k = 0;
    bd_trainable_download(t, m);
    for (int i = 0; i < t->n_ad; i++) {
        const bd_adapted_linear *al = &t->ads[i];
        bd_peft_name(t, i, "lora_A.weight", names[k], sizeof names[k]);
        outs[k] = (bd_st_out){names[k], bd_trainable_host(t, al->A), 2, {al->r, al->in}}; k++;
        bd_peft_name(t, i, "lora_B.weight", names[k], sizeof names[k]);
        outs[k] = (bd_st_out){names[k], bd_trainable_host(t, al->B), 2, {al->out, al->r}}; k++;
        if (dora) {
            bd_peft_name(t, i, "lora_magnitude_vector", names[k], sizeof names[k]);
            outs[k] = (bd_st_out){names[k], bd_trainable_host(t, al->m), 1, {al->out}}; k++;
        }
    }
    {
        char hn[4][160];
        float *hp[4];
        int hd[4];
        int64_t hs[4][2];
        int nh = head_tensors(t, m, hn, hp, hd, hs);
        for (int h = 0; h < nh; h++, k++) {
            memcpy(names[k], hn[h], sizeof hn[h]);
            outs[k] = (bd_st_out){names[k], hp[h], hd[h], {hs[h][0], hs[h][1]}};
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    const char *meta[] = {"format", "pt"};
    int rc = bd_st_write(path, outs, k, meta, 1, e);
    free(outs);
    free(names);
    if (rc) return -1;

    json_t *cfg = json_object();
    /* absolute: the adapter names its base wherever it is loaded from (PEFT reads the path as given) */
    char *abs = realpath(base_model, NULL);
    json_object_set_new(cfg, "base_model_name_or_path", json_string(abs ? abs : base_model));
    free(abs);
    json_object_set_new(cfg, "bias", json_string("none"));
    json_object_set_new(cfg, "fan_in_fan_out", json_false());
    json_object_set_new(cfg, "inference_mode", json_true());
    json_object_set_new(cfg, "init_lora_weights", json_true());
    json_object_set_new(cfg, "lora_alpha", json_real(t->o.alpha));
    json_object_set_new(cfg, "lora_dropout", json_real(t->o.dropout));
    json_t *mts = json_array();
    json_array_append_new(mts, json_string("classifier"));
    json_array_append_new(mts, json_string("score"));
    json_object_set_new(cfg, "modules_to_save", mts);
    json_object_set_new(cfg, "peft_type", json_string("LORA"));
    json_object_set_new(cfg, "r", json_integer(t->o.rank));
    json_object_set_new(cfg, "target_modules", targets_json(t->o.target_mask));
    json_object_set_new(cfg, "task_type", json_string("SEQ_CLS"));
    json_object_set_new(cfg, "use_dora", dora ? json_true() : json_false());
    json_object_set_new(cfg, "use_rslora", t->o.rslora ? json_true() : json_false());
    char *txt = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(cfg);
    if (!txt) return bd_errf(e, "%s: out of memory writing adapter_config.json", dir);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    size_t len = strlen(txt);
    txt[len] = '\0';
    char *withnl = malloc(len + 2);
    if (!withnl) { free(txt); return bd_errf(e, "%s: out of memory (%zu bytes)", path, len + 2); }
    memcpy(withnl, txt, len);
    withnl[len] = '\n';
    rc = bd_write_file_atomic(path, withnl, len + 1, e);
    free(withnl);
    free(txt);
    return rc;
}

int bd_peft_read_config(bd_adapter_opts *o, const char *dir, bd_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    json_t *cfg = bd_json_load_file(path, 0, e);
    if (!cfg) return -1;
    int rc = -1;
    json_t *pt = json_object_get(cfg, "peft_type");
    if (!json_is_string(pt) || strcmp(json_string_value(pt), "LORA")) { bd_errf(e, "%s: peft_type must be \"LORA\"", path); goto out; }
    json_t *r = json_object_get(cfg, "r"), *al = json_object_get(cfg, "lora_alpha");
    if (!json_is_integer(r) || json_integer_value(r) < 1) { bd_errf(e, "%s: key \"r\" must be a positive integer", path); goto out; }
    if (!json_is_number(al)) { bd_errf(e, "%s: key \"lora_alpha\" must be a number", path); goto out; }
    memset(o, 0, sizeof *o);
    o->rank = (int)json_integer_value(r);
    o->alpha = (float)json_number_value(al);
    json_t *dr = json_object_get(cfg, "lora_dropout");
    o->dropout = json_is_number(dr) ? (float)json_number_value(dr) : 0.0f;
    o->rslora = json_is_true(json_object_get(cfg, "use_rslora"));
    o->method = json_is_true(json_object_get(cfg, "use_dora")) ? BD_METHOD_DORA : BD_METHOD_LORA;
    o->exact_norm_grad = 1;
    json_t *lt = json_object_get(cfg, "layers_to_transform");
    if (lt && !json_is_null(lt)) { bd_errf(e, "%s: layers_to_transform is not supported", path); goto out; }
    json_t *tm = json_object_get(cfg, "target_modules");
    o->target_mask = 0;
    if (json_is_string(tm)) {
        /* only the regex bd_peft_save writes */
        for (unsigned mask = 1; mask < (1u << BD_N_MODS); mask++) {
            json_t *j = targets_json(mask);
            if (json_is_string(j) && !strcmp(json_string_value(j), json_string_value(tm))) o->target_mask = mask;
            json_decref(j);
        }
        if (!o->target_mask) {
            char q[200];
            bd_errf(e, "%s: target_modules regex \"%s\" is not supported (use a list)", path,
                    bd_printable(q, sizeof q, json_string_value(tm)));
            goto out;
        }
    } else if (json_is_array(tm)) {
        size_t idx;
        json_t *v;
        json_array_foreach(tm, idx, v) {
            if (!json_is_string(v)) { bd_errf(e, "%s: target_modules entries must be strings", path); goto out; }
            const char *name = json_string_value(v);
            unsigned hit = 0;
            for (int k = 0; k < BD_N_MODS; k++) {
                /* PEFT: the full module name equals the target or ends with ".target" */
                char full[128];
                snprintf(full, sizeof full, "bert.encoder.layer.0.%s", bd_mod_paths[k]);
                size_t fl = strlen(full), nl = strlen(name);
                if (nl < fl && full[fl - nl - 1] == '.' && !strcmp(full + fl - nl, name)) hit |= 1u << k;
            }
            if (!hit) {
                char q[160];
                bd_errf(e, "%s: target module \"%s\" matches no adaptable BERT linear (query, key, value, "
                           "attention.output.dense, intermediate.dense, output.dense)", path, bd_printable(q, sizeof q, name));
                goto out;
            }
            o->target_mask |= hit;
        }
    } else {
        bd_errf(e, "%s: key \"target_modules\" must be a list or a string", path);
        goto out;
    }
    rc = 0;
out:
    json_decref(cfg);
    return rc;
}

static int read_into(const bd_st *st, const char *path, const char *name, float *dst, int ndim,
                     int64_t d0, int64_t d1, bd_err *e) {
    const bd_st_tensor *ten = bd_st_find(st, name);
    if (!ten) return bd_errf(e, "%s: missing tensor %s", path, name);
    if (ten->ndim != ndim || ten->shape[0] != d0 || (ndim == 2 && ten->shape[1] != d1))
        return bd_errf(e, "%s: tensor %s has the wrong shape (expected [%lld%s%lld])", path, name,
                       (long long)d0, ndim == 2 ? "," : "", ndim == 2 ? (long long)d1 : 0LL);
    return bd_st_read_f32(st, ten, dst, e);
}

int bd_peft_load(bd_trainable *t, bd_bert *m, const char *dir, bd_err *e) {
    bd_adapter_opts o;
    if (bd_peft_read_config(&o, dir, e)) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    int dora = t->o.method != BD_METHOD_LORA;
    if (o.rank != t->o.rank || o.target_mask != t->o.target_mask || (o.method == BD_METHOD_DORA) != dora)
        return bd_errf(e, "%s: adapter (r=%d, %s) does not match the run (rank=%d, %s, other target_modules?)", path,
                       o.rank, o.method == BD_METHOD_DORA ? "DoRA" : "LoRA", t->o.rank, dora ? "DoRA" : "LoRA");
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    bd_st st = {0};
    if (bd_st_open(&st, path, e)) return -1;
    int rc = -1;
    bd_trainable_download(t, m); /* what the file does not hold stays as it is */
    for (int i = 0; i < t->n_ad; i++) {
        bd_adapted_linear *al = &t->ads[i];
        char name[200];
        bd_peft_name(t, i, "lora_A.weight", name, sizeof name);
        if (read_into(&st, path, name, bd_trainable_host(t, al->A), 2, al->r, al->in, e)) goto out;
        bd_peft_name(t, i, "lora_B.weight", name, sizeof name);
        if (read_into(&st, path, name, bd_trainable_host(t, al->B), 2, al->out, al->r, e)) goto out;
        if (dora) {
            bd_peft_name(t, i, "lora_magnitude_vector", name, sizeof name);
            if (read_into(&st, path, name, bd_trainable_host(t, al->m), 1, al->out, 0, e)) goto out;
        }
    }
    {
        /* the head, when the file has it (whole: every tensor of it) */
        char hn[4][160];
        float *hp[4];
        int hd[4];
        int64_t hs[4][2];
        int nh = head_tensors(t, m, hn, hp, hd, hs);
        if (bd_st_find(&st, hn[nh - 2]))
            for (int h = 0; h < nh; h++)
                if (read_into(&st, path, hn[h], hp[h], hd[h], hs[h][0], hs[h][1], e)) goto out;
    }
    rc = 0;
out:
    /* the host copies hold what was read (all of it, or a part before a failure: the
     * run does not go on from a failed load) */
    bd_trainable_upload(t, m);
    bd_st_close(&st);
    return rc;
}

int bd_labels_save(const char *dir, const bd_labels *L, bd_err *e) {
    json_t *root = json_object();
    if (L) {
        json_t *id2 = json_object();
        for (int l = 0; l < L->n; l++) {
            char k[16];
            snprintf(k, sizeof k, "%d", l);
            json_object_set_new(id2, k, json_string(L->names[l]));
        }
        json_object_set_new(root, "id2label", id2);
    } else {
        json_object_set_new(root, "task", json_string("regression"));
    }
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!txt) return bd_errf(e, "%s: out of memory writing labels.json", dir);
    char path[4200];
    int rc = bd_path(path, sizeof path, e, "%s/labels.json", dir);
    if (!rc) rc = bd_write_file_atomic(path, txt, strlen(txt), e);
    free(txt);
    return rc;
}

int bd_labels_load(const char *dir, bd_labels *L, bd_err *e) {
    memset(L, 0, sizeof *L);
    char path[4200];
    if (bd_path(path, sizeof path, e, "%s/labels.json", dir)) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fclose(f);
    json_t *root = bd_json_load_file(path, 0, e);
    if (!root) return -1;
    json_t *id2 = json_object_get(root, "id2label");
    int rc = 0;
    if (id2) {
        int n = (int)json_object_size(id2);
        L->names = bd_calloc((size_t)n, sizeof *L->names, e);
        if (!L->names) {
            json_decref(root);
            return bd_err_prefix(e, "%s: %d label names", path, n);
        }
        L->n = n;
        const char *k;
        json_t *v;
        json_object_foreach(id2, k, v) {
            char *end;
            long i = strtol(k, &end, 10);
            if (*end || i < 0 || i >= n || !json_is_string(v) || L->names[i]) {
                char q[160];
                rc = bd_errf(e, "%s: id2label entry \"%s\" is not a class index 0..%d with a name", path,
                             bd_printable(q, sizeof q, k), n - 1);
                break;
            }
            L->names[i] = strdup(json_string_value(v));
            if (!L->names[i]) {
                rc = bd_errf(e, "%s: out of memory for label %d", path, (int)i);
                break;
            }
        }
    }
    json_decref(root);
    if (rc) bd_labels_free(L);
    return rc;
}
