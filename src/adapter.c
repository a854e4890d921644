/* adapter.c: LoRA / DoRA adapted linear layers, forward and backward. */
#include "adapter.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

void bd_adapter_init_norms(bd_adapted_linear *al) {
    for (int j = 0; j < al->out; j++) {
        const float *w = al->w0 + (size_t)j * al->in;
        double s = 0.0;
        for (int i = 0; i < al->in; i++) s += (double)w[i] * w[i];
        al->w0_sqnorm[j] = (float)s;
    }
}

void bd_dora_row_norms(const bd_adapted_linear *al, bd_adapter_cache *c) {
    const int in = al->in, out = al->out, r = al->r;
    const float s = al->s;
    /* W0 A^T [out,r] and A A^T [r,r]: the only products the norms need */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, r, in, 1.0f, al->w0, in, al->A, in,
                0.0f, c->w0a, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, r, in, 1.0f, al->A, in, al->A, in, 0.0f,
                c->aat, r);
    for (int j = 0; j < out; j++) {
        const float *Bj = al->B + (size_t)j * r, *wa = c->w0a + (size_t)j * r;
        double cross = 0.0, quad = 0.0;
        for (int a = 0; a < r; a++) {
            cross += (double)Bj[a] * wa[a];
            double t = 0.0;
            for (int b = 0; b < r; b++) t += (double)c->aat[a * r + b] * Bj[b];
            quad += (double)Bj[a] * t;
        }
        double n2 = (double)al->w0_sqnorm[j] + 2.0 * s * cross + (double)s * s * quad;
        c->n[j] = (float)sqrt(n2 > 0.0 ? n2 : 0.0);
    }
}

void bd_adapted_fwd(const bd_adapted_linear *al, bd_adapter_cache *c, float *y, const float *x,
                    const uint8_t *keep, int N) {
    const int in = al->in, out = al->out, r = al->r;
    const float *xt = x;
    c->N = N;
    c->keep = NULL;
    if (keep && al->p_drop > 0.0f) {
        bd_dropout_fwd(c->xt, x, keep, al->p_drop, (long)N * in);
        c->keep = (uint8_t *)keep;
        xt = c->xt;
    }
    /* xa = xt A^T [N,r] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, r, in, 1.0f, xt, in, al->A, in, 0.0f, c->xa, r);
    bd_linear_fwd(y, x, al->w0, al->b, N, in, out);
    if (al->kind == BD_ADAPTER_LORA) {
        /* y += s xa B^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, y, out);
        return;
    }
    bd_dora_row_norms(al, c);
    c->y = y;
    if (xt == x && !c->z) {
        /* no z buffer: z = y - b + s xa B^T in place, then y = c z + b; the
         * backward recovers z from y (see z_row) */
        for (int t = 0; t < N; t++) {
            float *yt = y + (size_t)t * out;
            for (int j = 0; j < out; j++) yt[j] -= al->b ? al->b[j] : 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, y, out);
        for (int t = 0; t < N; t++) {
            float *yt = y + (size_t)t * out;
            for (int j = 0; j < out; j++) yt[j] = (al->m[j] / c->n[j]) * yt[j] + (al->b ? al->b[j] : 0.0f);
        }
        return;
    }
    /* z = xt W'^T = xt W0^T + s xa B^T */
    if (xt == x) {
        for (int t = 0; t < N; t++) {
            float *zt = c->z + (size_t)t * out;
            const float *yt = y + (size_t)t * out;
            for (int j = 0; j < out; j++) zt[j] = yt[j] - (al->b ? al->b[j] : 0.0f);
        }
    } else {
        bd_linear_fwd(c->z, xt, al->w0, NULL, N, in, out);
    }
    /* with dropout keep xt W0^T: y = x W0^T + b + c z - xt W0^T */
    float *lin = xt != x ? c->xtw0 : NULL;
    if (lin) memcpy(lin, c->z, sizeof(float) * (size_t)N * out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, c->z, out);
    for (int t = 0; t < N; t++) {
        float *yt = y + (size_t)t * out;
        const float *zt = c->z + (size_t)t * out;
        for (int j = 0; j < out; j++) {
            float cj = al->m[j] / c->n[j];
            float bj = al->b ? al->b[j] : 0.0f;
            if (xt == x) yt[j] = cj * zt[j] + bj;
            else yt[j] += cj * zt[j] - lin[(size_t)t * out + j];
        }
    }
}

/* Row t of z = x W'^T when no z buffer was kept: z = (y - b) n / m from the
 * module's output; for a row j with m_j = 0 (c_j = 0, y carries no z) it is
 * computed directly as x_t . (W0_j + s B_j A). */
static void z_row(const bd_adapted_linear *al, const bd_adapter_cache *c, const float *x, int t, float *zt) {
    const int in = al->in, out = al->out, r = al->r;
    const float *yt = c->y + (size_t)t * out, *xr = x + (size_t)t * in;
    for (int j = 0; j < out; j++) {
        if (al->m[j] != 0.0f) {
            zt[j] = (yt[j] - (al->b ? al->b[j] : 0.0f)) * (c->n[j] / al->m[j]);
            continue;
        }
        double acc = 0.0;
        for (int i = 0; i < in; i++) {
            double w = al->w0[(size_t)j * in + i];
            for (int a = 0; a < r; a++) w += (double)al->s * al->B[(size_t)j * r + a] * al->A[(size_t)a * in + i];
            acc += w * xr[i];
        }
        zt[j] = (float)acc;
    }
}

int bd_adapted_bwd(const bd_adapted_linear *al, const bd_adapter_cache *c, float *dx,
                   const float *dy, const float *x, int N) {
    const int in = al->in, out = al->out, r = al->r;
    const float s = al->s;
    const int dropped = c->keep != NULL;
    const float *xt = dropped ? c->xt : x;
    /* scratch: the cache's (allocated once with the activations), else a temporary */
    float *own = NULL, *sc = c->scratch;
    if (!sc) {
        own = sc = malloc(sizeof(float) * bd_adapter_scratch_floats(al, N));
        if (!own) return -1;
    }
    float *dl = sc;                           /* [N,out] gradient into the low-rank path */
    float *dlB = dl + (size_t)N * out;        /* [N,r] dl B */
    float *G = dlB + (size_t)N * r;           /* [out] sum_t dy z */
    float *uB = G + out;                      /* [out,r] */
    float *tmp = uB + (size_t)out * r;        /* [out,r] */
    float *btub = tmp + (size_t)out * r;      /* [r,r] */
    float *dxt = dropped && dx ? btub + (size_t)r * r : NULL; /* [N,in] */
    if (dxt) memset(dxt, 0, sizeof(float) * (size_t)N * in);
    float *dx_low = dropped ? dxt : dx; /* where gradients through xt go */

    if (al->kind == BD_ADAPTER_LORA) {
        memcpy(dl, dy, sizeof(float) * (size_t)N * out);
        if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, al->w0, in, 1.0f, dx, in);
    } else {
        /* dm_j = sum_t dy z / n_j ; dl = c * dy */
        memset(G, 0, sizeof(float) * (size_t)out);
        for (int t = 0; t < N; t++) {
            const float *dyt = dy + (size_t)t * out, *zt;
            if (c->z) {
                zt = c->z + (size_t)t * out;
            } else {
                z_row(al, c, x, t, dl + (size_t)t * out); /* dl's row t is free until below */
                zt = dl + (size_t)t * out;
            }
            float *dlt = dl + (size_t)t * out;
            for (int j = 0; j < out; j++) {
                G[j] += dyt[j] * zt[j];
                dlt[j] = dyt[j] * (al->m[j] / c->n[j]);
            }
        }
        for (int j = 0; j < out; j++) al->dm[j] += G[j] / c->n[j];
        if (dx) {
            if (dropped) {
                /* base path sees x: dx += dy W0; the (c-1) xt W0^T path sees xt */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, al->w0, in, 1.0f, dx, in);
                for (size_t k = 0; k < (size_t)N * out; k++) {
                    /* dl - dy = (c - 1) dy */
                    dl[k] -= dy[k];
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dl, out, al->w0, in, 1.0f, dxt, in);
                for (size_t k = 0; k < (size_t)N * out; k++) dl[k] += dy[k];
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dl, out, al->w0, in, 1.0f, dx, in);
            }
        }
        if (al->exact_norm_grad && !al->mag_only) {
            /* through n: dL/dW'_j = u_j W'_j with u_j = -m_j G_j / n_j^3;
             * dB += s diag(u) W' A^T = s diag(u) (W0 A^T + s B A A^T)
             * dA += s B^T diag(u) W' = s (uB)^T W0 + s^2 (B^T diag(u) B) A */
            {
                for (int j = 0; j < out; j++) {
                    float nj = c->n[j];
                    float u = -al->m[j] * G[j] / (nj * nj * nj);
                    for (int a = 0; a < r; a++) uB[(size_t)j * r + a] = u * al->B[(size_t)j * r + a];
                    for (int a = 0; a < r; a++) tmp[(size_t)j * r + a] = c->w0a[(size_t)j * r + a];
                }
                /* tmp = W0A^T + s B AA^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, r, r, s, al->B, r, c->aat, r, 1.0f, tmp, r);
                for (int j = 0; j < out; j++) {
                    float nj = c->n[j];
                    float u = -al->m[j] * G[j] / (nj * nj * nj);
                    for (int a = 0; a < r; a++) al->dB[(size_t)j * r + a] += s * u * tmp[(size_t)j * r + a];
                }
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, out, s, uB, r, al->w0, in, 1.0f, al->dA, in);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, r, out, 1.0f, al->B, r, uB, r, 0.0f, btub, r);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, in, r, s * s, btub, r, al->A, in, 1.0f, al->dA, in);
            }
        }
    }
    /* low-rank path: out_low = s xa B^T with xa = xt A^T, upstream dl */
    if (al->mag_only && !dx_low) goto done;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, out, 1.0f, dl, out, al->B, r, 0.0f, dlB, r);
    if (!al->mag_only) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, r, N, s, dl, out, c->xa, r, 1.0f, al->dB, r);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, N, s, dlB, r, xt, in, 1.0f, al->dA, in);
    }
    if (dx_low) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, r, s, dlB, r, al->A, in, 1.0f, dx_low, in);
    if (dropped && dx) bd_dropout_bwd(dx, dxt, c->keep, al->p_drop, (long)N * in);
done:
    free(own);
    return 0;
}

size_t bd_adapter_scratch_floats(const bd_adapted_linear *al, int N) {
    return (size_t)N * al->out + (size_t)N * al->r + (size_t)al->out + 2 * (size_t)al->out * al->r +
           (size_t)al->r * al->r + (size_t)N * al->in;
}

void bd_adapter_merged_weight(const bd_adapted_linear *al, float *w) {
    const int in = al->in, out = al->out, r = al->r;
    memcpy(w, al->w0, sizeof(float) * (size_t)out * in);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, in, r, al->s, al->B, r, al->A, in, 1.0f, w, in);
    if (al->kind != BD_ADAPTER_DORA) return;
    for (int j = 0; j < out; j++) {
        float *wj = w + (size_t)j * in;
        double ss = 0.0;
        for (int i = 0; i < in; i++) ss += (double)wj[i] * wj[i];
        float scale = al->m[j] / (float)sqrt(ss);
        for (int i = 0; i < in; i++) wj[i] *= scale;
    }
}
