/* adapter.c: LoRA / DoRA adapted linear layers, forward and backward. */
#include "adapter.h"

#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bd_adapter_init_norms(bd_adapted_linear *al) {
    bd_backend *be = bd_adapter_be(al);
    be->dora_init_norms(be, al->w0_sqnorm, al->w0, al->out, al->in);
}

void bd_dora_row_norms(const bd_adapted_linear *al, bd_adapter_cache *c) {
    bd_backend *be = bd_adapter_be(al);
    const int in = al->in, out = al->out, r = al->r;
    /* W0 A^T [out,r] and A A^T [r,r]: the only products the norms need */
    be->gemm(be, 0, 1, out, r, in, 1.0f, al->w0, in, al->A, in, 0.0f, c->w0a, r);
    be->gemm(be, 0, 1, r, r, in, 1.0f, al->A, in, al->A, in, 0.0f, c->aat, r);
    be->dora_row_norms(be, c->n, al->w0_sqnorm, al->B, c->w0a, c->aat, al->s, out, r);
}

void bd_adapted_fwd(const bd_adapted_linear *al, bd_adapter_cache *c, float *y, const float *x,
                    const uint8_t *keep, int N) {
    bd_backend *be = bd_adapter_be(al);
    const int in = al->in, out = al->out, r = al->r;
    const float *xt = x;
    c->N = N;
    c->keep = NULL;
    if (keep && al->p_drop > 0.0f) {
        be->dropout_fwd(be, c->xt, x, keep, al->p_drop, (long)N * in);
        c->keep = (uint8_t *)keep;
        xt = c->xt;
    }
    /* xa = xt A^T [N,r] */
    be->gemm(be, 0, 1, N, r, in, 1.0f, xt, in, al->A, in, 0.0f, c->xa, r);
    if (al->kind == BD_ADAPTER_LORA) {
        /* y = x W0^T + b + s xa B^T */
        be->linear_fwd(be, y, x, al->w0, al->b, N, in, out);
        be->gemm(be, 0, 1, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, y, out);
        return;
    }
    bd_dora_row_norms(al, c);
    c->y = y;
    if (xt == x) {
        /* z = x W'^T = (x W0^T + b) - b + s xa B^T, then y = c z + b: PEFT's order of
         * operations (it subtracts the bias from the base layer's output), so the
         * results round as PEFT's do. Without a z buffer z is built in y and scaled
         * in place; the backward recovers it from y */
        float *z = c->z ? c->z : y;
        be->linear_fwd(be, y, x, al->w0, al->b, N, in, out);
        if (z != y) be->copy(be, z, y, sizeof(float) * (size_t)N * out);
        if (al->b) be->add_rows(be, z, al->b, N, out, -1.0f);
        be->gemm(be, 0, 1, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, z, out);
        be->dora_scale(be, y, z, al->m, c->n, al->b, NULL, N, out);
        return;
    }
    /* dropout: z = xt W'^T and y = x W0^T + b + c z - xt W0^T (xt W0^T kept in xtw0) */
    be->linear_fwd(be, y, x, al->w0, al->b, N, in, out);
    be->linear_fwd(be, c->z, xt, al->w0, NULL, N, in, out);
    be->copy(be, c->xtw0, c->z, sizeof(float) * (size_t)N * out);
    be->gemm(be, 0, 1, N, out, r, al->s, c->xa, r, al->B, r, 1.0f, c->z, out);
    be->dora_scale(be, y, c->z, al->m, c->n, NULL, c->xtw0, N, out);
}

int bd_adapted_bwd(const bd_adapted_linear *al, const bd_adapter_cache *c, float *dx,
                   const float *dy, const float *x, int N) {
    bd_backend *be = bd_adapter_be(al);
    const int in = al->in, out = al->out, r = al->r;
    const float s = al->s;
    const int dropped = c->keep != NULL;
    const float *xt = dropped ? c->xt : x;
    /* scratch: the cache's (allocated once with the activations), else a temporary */
    float *own = NULL, *sc = c->scratch;
    if (!sc) {
        own = sc = bd_be_allocf(be, bd_adapter_scratch_floats(al, N), "the adapter backward's scratch");
        if (!own) return -1;
    }
    float *dl = sc;                           /* [N,out] gradient into the low-rank path */
    float *dlB = dl + (size_t)N * out;        /* [N,r] dl B */
    float *G = dlB + (size_t)N * r;           /* [out] sum_t dy z */
    float *uB = G + out;                      /* [out,r] */
    float *tmp = uB + (size_t)out * r;        /* [out,r] */
    float *btub = tmp + (size_t)out * r;      /* [r,r] */
    float *dxt = dropped && dx ? btub + (size_t)r * r : NULL; /* [N,in] */
    if (dxt) be->zero(be, dxt, sizeof(float) * (size_t)N * in);
    float *dx_low = dropped ? dxt : dx; /* where gradients through xt go */

    if (al->kind == BD_ADAPTER_LORA) {
        be->copy(be, dl, dy, sizeof(float) * (size_t)N * out);
        if (dx) be->gemm(be, 0, 0, N, in, out, 1.0f, dy, out, al->w0, in, 1.0f, dx, in);
    } else {
        /* dm_j += sum_t dy z / n_j ; dl = c dy. Without a z buffer z is recovered from the
         * output into dl, which the same pass then overwrites element by element */
        const float *z = c->z;
        if (!z) {
            be->dora_z_recover(be, dl, c->y, al->b, al->m, c->n, x, al->w0, al->A, al->B, s, N, in, out, r);
            z = dl;
        }
        be->dora_bwd_mag(be, G, dl, al->dm, dy, z, al->m, c->n, N, out);
        if (dx) {
            if (dropped) {
                /* base path sees x: dx += dy W0; the (c-1) xt W0^T path sees xt */
                be->gemm(be, 0, 0, N, in, out, 1.0f, dy, out, al->w0, in, 1.0f, dx, in);
                be->axpy(be, dl, dy, (size_t)N * out, -1.0f); /* dl - dy = (c - 1) dy */
                be->gemm(be, 0, 0, N, in, out, 1.0f, dl, out, al->w0, in, 1.0f, dxt, in);
                be->axpy(be, dl, dy, (size_t)N * out, 1.0f);
            } else {
                be->gemm(be, 0, 0, N, in, out, 1.0f, dl, out, al->w0, in, 1.0f, dx, in);
            }
        }
        if (al->exact_norm_grad && !al->mag_only) {
            /* through n: dL/dW'_j = u_j W'_j with u_j = -m_j G_j / n_j^3;
             * dB += s diag(u) W' A^T = s diag(u) (W0 A^T + s B A A^T)
             * dA += s B^T diag(u) W' = s (uB)^T W0 + s^2 (B^T diag(u) B) A */
            be->dora_u_rows(be, uB, al->B, G, al->m, c->n, 1.0f, 0, out, r);
            be->copy(be, tmp, c->w0a, sizeof(float) * (size_t)out * r);
            be->gemm(be, 0, 0, out, r, r, s, al->B, r, c->aat, r, 1.0f, tmp, r); /* W0A^T + s B AA^T */
            be->dora_u_rows(be, al->dB, tmp, G, al->m, c->n, s, 1, out, r);
            be->gemm(be, 1, 0, r, in, out, s, uB, r, al->w0, in, 1.0f, al->dA, in);
            be->gemm(be, 1, 0, r, r, out, 1.0f, al->B, r, uB, r, 0.0f, btub, r);
            be->gemm(be, 0, 0, r, in, r, s * s, btub, r, al->A, in, 1.0f, al->dA, in);
        }
    }
    /* low-rank path: out_low = s xa B^T with xa = xt A^T, upstream dl */
    if (al->mag_only && !dx_low) goto done;
    be->gemm(be, 0, 0, N, r, out, 1.0f, dl, out, al->B, r, 0.0f, dlB, r);
    if (!al->mag_only) {
        be->gemm(be, 1, 0, out, r, N, s, dl, out, c->xa, r, 1.0f, al->dB, r);
        be->gemm(be, 1, 0, r, in, N, s, dlB, r, xt, in, 1.0f, al->dA, in);
    }
    if (dx_low) be->gemm(be, 0, 0, N, in, r, s, dlB, r, al->A, in, 1.0f, dx_low, in);
    if (dropped && dx) be->dropout_bwd(be, dx, dxt, c->keep, al->p_drop, (long)N * in);
done:
    bd_be_free(be, own);
    return 0;
}

size_t bd_adapter_scratch_floats(const bd_adapted_linear *al, int N) {
    return (size_t)N * al->out + (size_t)N * al->r + (size_t)al->out + 2 * (size_t)al->out * al->r +
           (size_t)al->r * al->r + (size_t)N * al->in;
}

void bd_adapter_merged_weight(const bd_adapted_linear *al, float *w) {
    const int in = al->in, out = al->out, r = al->r;
    memcpy(w, al->w0, sizeof(float) * (size_t)out * in);
    bd_sgemm(0, 0, out, in, r, al->s, al->B, r, al->A, in, 1.0f, w, in);
    if (al->kind != BD_ADAPTER_DORA) return;
    for (int j = 0; j < out; j++) {
        float *wj = w + (size_t)j * in;
        double ss = 0.0;
        for (int i = 0; i < in; i++) ss += (double)wj[i] * wj[i];
        float scale = al->m[j] / (float)sqrt(ss);
        for (int i = 0; i < in; i++) wj[i] *= scale;
    }
}
