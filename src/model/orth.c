#include "orth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One matrix: returns ||D D^T - I||_F; adds scale * dR_l/d(A,B) when scale != 0.
 * W, dW [out,in], G [out,out], norms [out]: backend scratch. */
static double orth_one(bd_backend *be, const bd_adapted_linear *al, float scale, float *W, float *G,
                       float *dW, float *norms) {
    const int in = al->in, out = al->out, r = al->r;
    const float s = al->s;
    /* W' = W0 + s B A, rows normalised to D (kept in W), n kept for the backward */
    be->copy(be, W, al->w0, sizeof(float) * (size_t)out * in);
    be->gemm(be, 0, 0, out, in, r, s, al->B, r, al->A, in, 1.0f, W, in);
    be->rows_normalize(be, W, norms, out, in);
    /* G = D D^T - I; R = ||G||_F (one scalar to the host) */
    be->gram_minus_identity(be, G, W, out, in);
    double R = sqrt(be->sumsq(be, G, (size_t)out * out));
    if (scale != 0.0f && R > 0.0) {
        /* dR/dD = 2 E D / R; through the row normalisation: (g - (g.u) u) / n_j */
        be->gemm(be, 0, 0, out, in, out, (float)(2.0 / R), G, out, W, in, 0.0f, dW, in);
        be->rows_project(be, dW, W, norms, out, in);
        /* dB += scale s dW' A^T ; dA += scale s B^T dW' */
        be->gemm(be, 0, 1, out, r, in, scale * s, dW, in, al->A, in, 1.0f, al->dB, r);
        be->gemm(be, 1, 0, r, in, out, scale * s, al->B, r, dW, in, 1.0f, al->dA, in);
    }
    return R;
}

int bd_orth_reg(const bd_adapted_linear *ads, int n, float lambda_scale, double *R, bd_err *e) {
    *R = 0.0;
    if (n <= 0) return 0;
    bd_backend *be = bd_adapter_be(&ads[0]);
    size_t maxw = 0, maxg = 0, maxo = 0;
    for (int i = 0; i < n; i++) {
        size_t w = (size_t)ads[i].out * ads[i].in, g = (size_t)ads[i].out * ads[i].out;
        if (w > maxw) maxw = w;
        if (g > maxg) maxg = g;
        if ((size_t)ads[i].out > maxo) maxo = (size_t)ads[i].out;
    }
    /* one scratch allocation per call */
    float *W = bd_be_allocf(be, 2 * maxw + maxg + maxo, "the orthogonality regularizer's scratch");
    if (!W) return bd_be_check(be, e);
    float *dW = W + maxw, *G = dW + maxw, *norms = G + maxg;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += orth_one(be, &ads[i], lambda_scale / (float)n, W, G, dW, norms);
    bd_be_free(be, W);
    *R = sum / n;
    return bd_be_check(be, e);
}
