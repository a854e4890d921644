/* trainer_wd.c: the weight-decomposition analysis of the DoRA paper (dM, dD
 * per adapted matrix and the slope k) and the magnitude snapshot for viewers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "trainer_priv.h"

/* ---- weight decomposition (DoRA paper's analysis) ---- */

static int mod_index(const char *mod) {
    for (int k = 0; k < BD_N_MODS; k++)
        if (!strcmp(bd_mod_names[k], mod)) return k;
    return -1;
}

/* Keep one (dD, dM) point of a module kind (one per layer per evaluation). */
void bd_tr_wd_point(bd_trainer *t, const char *mod, double dD, double dM) {
    int k = mod_index(mod);
    if (k < 0) return;
    if (t->wd_n[k] == t->wd_cap[k]) {
        int cap = t->wd_cap[k] ? 2 * t->wd_cap[k] : 64;
        double *x = realloc(t->wd_x[k], sizeof(double) * (size_t)cap);
        if (x) t->wd_x[k] = x;
        double *y = realloc(t->wd_y[k], sizeof(double) * (size_t)cap);
        if (y) t->wd_y[k] = y;
        if (!x || !y) { /* the run stops: a slope without this point would be wrong from here on */
            bd_tr_fail(t, "out of memory for %d weight-decomposition points of %s", cap, mod);
            return;
        }
        t->wd_cap[k] = cap;
    }
    t->wd_x[k][t->wd_n[k]] = dD;
    t->wd_y[k][t->wd_n[k]] = dM;
    t->wd_n[k]++;
}

static void wd_metric(bd_trainer *t, int layer, const char *mod, double dM, double dD) {
    char name[96];
    snprintf(name, sizeof name, "wd/layer.%d.%s/dM", layer, mod);
    bd_tr_metric(t, name, dM);
    snprintf(name, sizeof name, "wd/layer.%d.%s/dD", layer, mod);
    bd_tr_metric(t, name, dD);
    bd_tr_wd_point(t, mod, dD, dM);
}

/* The DoRA paper's slope k of dM against dD over every point so far, per module kind. */
static void wd_slopes(bd_trainer *t) {
    for (int k = 0; k < BD_N_MODS; k++) {
        double slope, icept;
        if (t->wd_n[k] < 2 || bd_fit_slope(t->wd_x[k], t->wd_y[k], t->wd_n[k], &slope, &icept)) continue;
        char name[96];
        snprintf(name, sizeof name, "wd/%s/k", bd_mod_names[k]);
        bd_tr_metric(t, name, slope);
    }
}

void bd_tr_weight_decomposition(bd_trainer *t) {
    if (t->c.method == BD_METHOD_FULL) {
        /* query and value of each layer against their starting weights */
        const int H = t->m.cfg.hidden;
        bd_bert_download(&t->m);
        for (int l = 0; l < t->m.cfg.n_layers; l++)
            for (int q = 0; q < 2; q++) {
                const float *W = bd_bert_host(&t->m, q ? t->m.layers[l].v_w : t->m.layers[l].q_w);
                const float *W0 = t->full_w0 + ((size_t)l * 2 + q) * H * H;
                double dM = 0, dD = 0;
                for (int j = 0; j < H; j++) {
                    double nw = 0, n0 = 0, dot = 0;
                    for (int i = 0; i < H; i++) {
                        double w = W[(size_t)j * H + i], w0 = W0[(size_t)j * H + i];
                        nw += w * w; n0 += w0 * w0; dot += w * w0;
                    }
                    dM += fabs(sqrt(nw) - sqrt(n0));
                    dD += 1.0 - dot / (sqrt(nw) * sqrt(n0));
                }
                wd_metric(t, l, q ? "value" : "query", dM / H, dD / H);
            }
        wd_slopes(t);
        return;
    }
    bd_trainable_download(&t->t, &t->m);
    for (int i = 0; i < t->t.n_ad; i++) {
        const bd_adapted_linear *al = &t->t.ads[i];
        const int in = al->in, out = al->out, r = al->r;
        /* the host copies (the parameters live in the backend's memory) */
        const float *A = bd_trainable_host(&t->t, al->A), *B = bd_trainable_host(&t->t, al->B);
        const float *M = al->m ? bd_trainable_host(&t->t, al->m) : NULL;
        const float *W0 = bd_bert_host(&t->m, al->w0), *sq = bd_trainable_host(&t->t, al->w0_sqnorm);
        double dM = 0, dD = 0;
        for (int j = 0; j < out; j++) {
            /* row j of W_t = W0 + s B A and its cosine with W0 */
            const float *w0 = W0 + (size_t)j * in, *Bj = B + (size_t)j * r;
            double nw = 0, dot = 0;
            for (int c2 = 0; c2 < in; c2++) {
                double w = w0[c2];
                for (int a = 0; a < r; a++) w += (double)al->s * Bj[a] * A[(size_t)a * in + c2];
                nw += w * w;
                dot += w * w0[c2];
            }
            double n0 = sqrt(sq[j]);
            double mj = M ? M[j] : sqrt(nw);
            dM += fabs(mj - n0);
            dD += 1.0 - dot / (sqrt(nw) * n0);
        }
        wd_metric(t, t->t.ad_layer[i], bd_mod_names[t->t.ad_mod[i]], dM / out, dD / out);
    }
    wd_slopes(t);
}

/* The magnitude vector of the adapter the viewer selected (double-buffered). */
void bd_tr_publish_magnitudes(bd_trainer *t) {
    if (t->c.method == BD_METHOD_FULL || !t->t.n_ad) return;
    bd_channel *ch = t->ch;
    pthread_mutex_lock(&ch->mu);
    int want_l = ch->want_mag_layer, want_k = ch->want_mag_module, back = 1 - ch->mag_front;
    pthread_mutex_unlock(&ch->mu);
    int idx = 0;
    for (int i = 0; i < t->t.n_ad; i++)
        if (t->t.ad_layer[i] == want_l && t->t.ad_mod[i] == want_k) idx = i;
    const bd_adapted_linear *al = &t->t.ads[idx];
    bd_mag_snapshot *s = &ch->mag[back]; /* the viewer reads only mag[front] */
    bd_backend *be = t->be;
    const float *sq = bd_trainable_host(&t->t, al->w0_sqnorm), *W0 = bd_bert_host(&t->m, al->w0);
    const float *M = NULL, *A = NULL, *B = NULL;
    if (al->m) {
        /* this adapter's magnitudes only */
        M = bd_trainable_host(&t->t, al->m);
        be->download(be, (float *)M, al->m, sizeof(float) * (size_t)al->out);
    } else {
        A = bd_trainable_host(&t->t, al->A);
        B = bd_trainable_host(&t->t, al->B);
        be->download(be, (float *)A, al->A, sizeof(float) * (size_t)al->r * al->in);
        be->download(be, (float *)B, al->B, sizeof(float) * (size_t)al->out * al->r);
    }
    s->step = t->step;
    s->layer = t->t.ad_layer[idx];
    snprintf(s->module, sizeof s->module, "%s", bd_mod_names[t->t.ad_mod[idx]]);
    s->n = al->out < BD_CH_MAG ? al->out : BD_CH_MAG;
    for (int j = 0; j < s->n; j++) {
        s->m0[j] = sqrtf(sq[j]);
        if (M) { s->m[j] = M[j]; continue; }
        double nw = 0;
        for (int c2 = 0; c2 < al->in; c2++) {
            double w = W0[(size_t)j * al->in + c2];
            for (int a = 0; a < al->r; a++) w += (double)al->s * B[(size_t)j * al->r + a] * A[(size_t)a * al->in + c2];
            nw += w * w;
        }
        s->m[j] = (float)sqrt(nw);
    }
    pthread_mutex_lock(&ch->mu);
    ch->mag_front = back;
    pthread_mutex_unlock(&ch->mu);
}

