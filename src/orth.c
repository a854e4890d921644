#include "orth.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One matrix: returns ||D D^T - I||_F; adds scale * dR_l/d(A,B) when scale != 0. */
static double orth_one(const bd_adapted_linear *al, float scale, float *W, float *G, float *dW) {
    const int in = al->in, out = al->out, r = al->r;
    const float s = al->s;
    /* W' = W0 + s B A, rows normalised to D (kept in W), n kept for the backward */
    memcpy(W, al->w0, sizeof(float) * (size_t)out * in);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, in, r, s, al->B, r, al->A, in, 1.0f, W, in);
    float *norms = malloc(sizeof(float) * (size_t)out);
    if (!norms) return NAN;
    for (int j = 0; j < out; j++) {
        float *w = W + (size_t)j * in;
        double ss = 0.0;
        for (int i = 0; i < in; i++) ss += (double)w[i] * w[i];
        norms[j] = (float)sqrt(ss);
        float inv = norms[j] > 0 ? 1.0f / norms[j] : 0.0f;
        for (int i = 0; i < in; i++) w[i] *= inv;
    }
    /* G = D D^T - I */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, out, in, 1.0f, W, in, 0.0f, G, out);
    double ss = 0.0;
    for (int i = 0; i < out; i++) {
        G[(size_t)i * out + i] -= 1.0f;
        for (int j = i; j < out; j++) {
            double g = G[(size_t)i * out + j];
            ss += (i == j ? 1.0 : 2.0) * g * g;
            G[(size_t)j * out + i] = (float)g; /* fill the lower triangle */
        }
    }
    double R = sqrt(ss);
    if (scale != 0.0f && R > 0.0) {
        /* dR/dD = 2 E D / R; through the row normalisation: (g - (g.u) u) / n_j */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, in, out, (float)(2.0 / R), G, out, W, in,
                    0.0f, dW, in);
        for (int j = 0; j < out; j++) {
            float *g = dW + (size_t)j * in;
            const float *u = W + (size_t)j * in;
            double dot = 0.0;
            for (int i = 0; i < in; i++) dot += (double)g[i] * u[i];
            float inv = norms[j] > 0 ? 1.0f / norms[j] : 0.0f;
            for (int i = 0; i < in; i++) g[i] = (g[i] - (float)dot * u[i]) * inv;
        }
        /* dB += scale s dW' A^T ; dA += scale s B^T dW' */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, r, in, scale * s, dW, in, al->A, in, 1.0f,
                    al->dB, r);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, out, scale * s, al->B, r, dW, in, 1.0f,
                    al->dA, in);
    }
    free(norms);
    return R;
}

int bd_orth_reg(const bd_adapted_linear *ads, int n, float lambda_scale, double *R, bd_err *e) {
    *R = 0.0;
    if (n <= 0) return 0;
    size_t maxw = 0, maxg = 0;
    for (int i = 0; i < n; i++) {
        size_t w = (size_t)ads[i].out * ads[i].in, g = (size_t)ads[i].out * ads[i].out;
        if (w > maxw) maxw = w;
        if (g > maxg) maxg = g;
    }
    float *W = malloc(sizeof(float) * maxw), *G = malloc(sizeof(float) * maxg), *dW = malloc(sizeof(float) * maxw);
    if (!W || !G || !dW) {
        free(W); free(G); free(dW);
        return bd_errf(e, "out of memory for the orthogonality regularizer");
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double r = orth_one(&ads[i], lambda_scale / (float)n, W, G, dW);
        if (isnan(r)) { free(W); free(G); free(dW); return bd_errf(e, "out of memory for the orthogonality regularizer"); }
        sum += r;
    }
    free(W); free(G); free(dW);
    *R = sum / n;
    return 0;
}
