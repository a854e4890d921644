/* dora.cu: DoRA's row norms ||W0_j + s B_j A|| and the magnitude scaling of the
 * adapted output (src/model/adapter.c's bd_adapter_init_norms, bd_dora_row_norms and the
 * last step of bd_adapted_fwd), and the backward's pieces of src/backend/backend_cpu.c: z
 * recovered from the output, the magnitude gradient, the u_j rows. The products
 * (W0 A^T, A A^T, ...) are cuBLAS's; these kernels take them as inputs. */
#include "bd_cuda.h"
#include "kernels.h"

#include <math.h>

#define BD_GRID_CAP 4096u

/* ||W0_j||^2 in double, one block per row, stored as float. */
__global__ void bd_dora_init_norms_kernel(float *w0_sqnorm, const float *w0, int in) {
    __shared__ double red[32];
    const float *w = w0 + (size_t)blockIdx.x * in;
    double s = 0.0;
    for (int i = threadIdx.x; i < in; i += blockDim.x) s += (double)w[i] * w[i];
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) w0_sqnorm[blockIdx.x] = (float)s;
}

/* One thread per row j: adapter.c's loops in its order, in double, with the _rn
 * intrinsics (no FMA contraction), so n[j] is bit for bit the CPU's:
 * n_j^2 = ||W0_j||^2 + 2 s B_j . (W0 A^T)_j + s^2 B_j (A A^T) B_j^T. */
__global__ void bd_dora_row_norms_kernel(float *n, const float *w0_sqnorm, const float *B,
                                         const float *w0a, const float *aat, float s, int out, int r) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < out; j += gridDim.x * blockDim.x) {
        const float *Bj = B + (size_t)j * r, *wa = w0a + (size_t)j * r;
        double cross = 0.0, quad = 0.0;
        for (int a = 0; a < r; a++) {
            cross = __dadd_rn(cross, __dmul_rn((double)Bj[a], (double)wa[a]));
            double t = 0.0;
            for (int b = 0; b < r; b++) t = __dadd_rn(t, __dmul_rn((double)aat[a * r + b], (double)Bj[b]));
            quad = __dadd_rn(quad, __dmul_rn((double)Bj[a], t));
        }
        const double n2 = __dadd_rn(__dadd_rn((double)w0_sqnorm[j], __dmul_rn(__dmul_rn(2.0, (double)s), cross)),
                                    __dmul_rn(__dmul_rn((double)s, (double)s), quad));
        n[j] = (float)sqrt(n2 > 0.0 ? n2 : 0.0);
    }
}

/* y = (m_j / n_j) z + b_j (lin NULL; z may be y), or y += (m_j / n_j) z - lin (the
 * dropout form), in bd_adapted_fwd's operation order. */
__global__ void bd_dora_scale_kernel(float *y, const float *z, const float *m, const float *n,
                                     const float *b, const float *lin, int out, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t j = i % (size_t)out;
        const float cz = __fmul_rn(__fdiv_rn(m[j], n[j]), z[i]);
        if (lin) y[i] = __fadd_rn(y[i], __fsub_rn(cz, lin[i]));
        else y[i] = __fadd_rn(cz, b ? b[j] : 0.0f);
    }
}

/* z = (y - b) (n_j / m_j) where m_j != 0; for m_j == 0 (y carries nothing of z) the dot
 * product x_t . (W0_j + s B_j A) in double, cpu_dora_z_recover's loops in its order with
 * the _rn intrinsics. One thread per element of z[N, out]. */
__global__ void bd_dora_z_recover_kernel(float *z, const float *y, const float *b, const float *m,
                                         const float *n, const float *x, const float *w0, const float *A,
                                         const float *B, float s, int in, int out, int r, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t j = i % (size_t)out, t = i / (size_t)out;
        if (m[j] != 0.0f) {
            z[i] = __fmul_rn(__fsub_rn(y[i], b ? b[j] : 0.0f), __fdiv_rn(n[j], m[j]));
            continue;
        }
        const float *xr = x + t * (size_t)in, *wj = w0 + j * (size_t)in, *Bj = B + j * (size_t)r;
        double acc = 0.0;
        for (int c = 0; c < in; c++) {
            double w = (double)wj[c];
            for (int a = 0; a < r; a++)
                w = __dadd_rn(w, __dmul_rn(__dmul_rn((double)s, (double)Bj[a]), (double)A[(size_t)a * in + c]));
            acc = __dadd_rn(acc, __dmul_rn(w, (double)xr[c]));
        }
        z[i] = (float)acc;
    }
}

/* One thread per column j, the rows t in order: G_j = sum_t dy z (float, from 0),
 * dl = dy (m_j / n_j), then dm_j += G_j / n_j. Each z element is read before the dl
 * element at the same place is written (by the same thread), so z may alias dl. */
__global__ void bd_dora_bwd_mag_kernel(float *G, float *dl, float *dm, const float *dy, const float *z,
                                       const float *m, const float *n, int N, int out) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < out; j += gridDim.x * blockDim.x) {
        const float c = __fdiv_rn(m[j], n[j]);
        float g = 0.0f;
        for (int t = 0; t < N; t++) {
            const size_t at = (size_t)t * out + j;
            const float d = dy[at];
            g = __fadd_rn(g, __fmul_rn(d, z[at]));
            dl[at] = __fmul_rn(d, c);
        }
        G[j] = g;
        if (dm) dm[j] = __fadd_rn(dm[j], __fdiv_rn(g, n[j]));
    }
}

/* dst[j, a] = (accumulate ? dst : 0) + (alpha u_j) src[j, a], u_j = ((-m_j) G_j) / ((n_j n_j) n_j)
 * (C's left-to-right order, as cpu_dora_u_rows). dst is not read when accumulate is 0. */
__global__ void bd_dora_u_rows_kernel(float *dst, const float *src, const float *G, const float *m,
                                      const float *n, float alpha, int accumulate, int r, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t j = i / (size_t)r;
        const float nj = n[j];
        const float u = __fdiv_rn(__fmul_rn(-m[j], G[j]), __fmul_rn(__fmul_rn(nj, nj), nj));
        dst[i] = __fadd_rn(accumulate ? dst[i] : 0.0f, __fmul_rn(__fmul_rn(alpha, u), src[i]));
    }
}

extern "C" int bd_cu_dora_init_norms(float *w0_sqnorm, const float *w0, int out, int in, void *stream,
                                     bd_err *e) {
    if (out <= 0 || in <= 0) return 0;
    BD_LAUNCH(bd_dora_init_norms_kernel, out, BD_CU_THREADS, 0, BD_CU_STREAM(stream), w0_sqnorm, w0, in);
    BD_CU_LAUNCHED(e, bd_dora_init_norms_kernel);
    return 0;
}

extern "C" int bd_cu_dora_row_norms(float *n, const float *w0_sqnorm, const float *B, const float *w0a,
                                    const float *aat, float s, int out, int r, void *stream, bd_err *e) {
    if (out <= 0) return 0;
    BD_LAUNCH(bd_dora_row_norms_kernel, bd_cu_blocks((size_t)out, 128, BD_GRID_CAP), 128, 0,
              BD_CU_STREAM(stream), n, w0_sqnorm, B, w0a, aat, s, out, r);
    BD_CU_LAUNCHED(e, bd_dora_row_norms_kernel);
    return 0;
}

extern "C" int bd_cu_dora_scale(float *y, const float *z, const float *m, const float *n, const float *b,
                                const float *lin, int N, int out, void *stream, bd_err *e) {
    if (N <= 0 || out <= 0) return 0;
    const size_t total = (size_t)N * out;
    BD_LAUNCH(bd_dora_scale_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), y, z, m, n, b, lin, out, total);
    BD_CU_LAUNCHED(e, bd_dora_scale_kernel);
    return 0;
}

extern "C" int bd_cu_dora_z_recover(float *z, const float *y, const float *b, const float *m, const float *n,
                                    const float *x, const float *w0, const float *A, const float *B, float s,
                                    int N, int in, int out, int r, void *stream, bd_err *e) {
    if (N <= 0 || out <= 0) return 0;
    const size_t total = (size_t)N * out;
    BD_LAUNCH(bd_dora_z_recover_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), z, y, b, m, n, x, w0, A, B, s, in < 0 ? 0 : in, out, r < 0 ? 0 : r, total);
    BD_CU_LAUNCHED(e, bd_dora_z_recover_kernel);
    return 0;
}

extern "C" int bd_cu_dora_bwd_mag(float *G, float *dl, float *dm, const float *dy, const float *z, const float *m,
                                  const float *n, int N, int out, void *stream, bd_err *e) {
    /* N == 0 still launches, as the CPU still zeroes G and adds 0 / n_j to dm */
    if (out <= 0) return 0;
    BD_LAUNCH(bd_dora_bwd_mag_kernel, bd_cu_blocks((size_t)out, 128, BD_GRID_CAP), 128, 0, BD_CU_STREAM(stream),
              G, dl, dm, dy, z, m, n, N < 0 ? 0 : N, out);
    BD_CU_LAUNCHED(e, bd_dora_bwd_mag_kernel);
    return 0;
}

extern "C" int bd_cu_dora_u_rows(float *dst, const float *src, const float *G, const float *m, const float *n,
                                 float alpha, int accumulate, int out, int r, void *stream, bd_err *e) {
    if (out <= 0 || r <= 0) return 0;
    const size_t total = (size_t)out * r;
    BD_LAUNCH(bd_dora_u_rows_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dst, src, G, m, n, alpha, accumulate, r, total);
    BD_CU_LAUNCHED(e, bd_dora_u_rows_kernel);
    return 0;
}
