/* backend_cpu.c: the reference backend: the ops of ops_cpu.c / ops_cpu_bwd.c behind the
 * table of backend.h, plus the DoRA, orthogonality, vector and optimizer loops the engine
 * used to run inline. Backend memory is host memory. */
#include "backend.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "vec_cpu.h"

/* ---- memory: zeroed blocks with a header that remembers the size (for the peak count) ----
 *
 * Large blocks (>= CACHE_MIN) that are freed are kept, up to CACHE_SLOTS of them, and handed out
 * again, zeroed, to a request that fits (at most a quarter larger than asked). Without that every
 * bd_evaluate (the trainer's eval every N steps, each pass of a benchmark) got its activations
 * from a fresh mmap, and the kernel faulted in and zeroed every page again: 34K faults and about
 * 0.1 s of system time per MiniLM eval of 32 x 128 (perf stat). A kept block is memory the
 * process already held at its peak, so the peak does not grow; it goes back to the system when
 * a larger block displaces it or at exit. */

#define HDR 64
#define CACHE_SLOTS 4
#define CACHE_MIN ((size_t)4 << 20)

typedef struct block_cache {
    pthread_mutex_t mu;
    unsigned char *p[CACHE_SLOTS];
    size_t cap[CACHE_SLOTS];
} block_cache;

static block_cache cache = {.mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* a forked child (the workbench's keeper) may have been forked while another thread held mu */
static void cache_forked(void) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    cache.mu = m;
}
static void cache_init(void) { pthread_atfork(NULL, NULL, cache_forked); }

/* the kept block that fits bytes best, taken out of the cache; NULL when none fits */
static unsigned char *cache_take(size_t bytes, size_t *cap) {
    pthread_once(&cache_once, cache_init);
    pthread_mutex_lock(&cache.mu);
    int best = -1;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache.p[i] && cache.cap[i] >= bytes && cache.cap[i] - bytes <= bytes / 4 &&
            (best < 0 || cache.cap[i] < cache.cap[best]))
            best = i;
    unsigned char *p = NULL;
    if (best >= 0) {
        p = cache.p[best];
        *cap = cache.cap[best];
        cache.p[best] = NULL;
    }
    pthread_mutex_unlock(&cache.mu);
    return p;
}

/* keeps p (cap bytes after the header) in place of an empty slot or the smallest kept block;
 * what it displaces, or p itself when every kept block is larger, is freed */
static void cache_put(unsigned char *p, size_t cap) {
    pthread_once(&cache_once, cache_init);
    pthread_mutex_lock(&cache.mu);
    int slot = -1;
    for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
        if (!cache.p[i]) slot = i;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < CACHE_SLOTS; i++)
            if (cache.cap[i] < cache.cap[slot]) slot = i;
    }
    unsigned char *out = p;
    if (!cache.p[slot] || cache.cap[slot] < cap) {
        out = cache.p[slot];
        cache.p[slot] = p;
        cache.cap[slot] = cap;
    }
    pthread_mutex_unlock(&cache.mu);
    free(out);
}

typedef struct zero_ctx { unsigned char *p; size_t n; } zero_ctx;

static void zero_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const zero_ctx *z = arg;
    const size_t a = z->n * (size_t)lo / 64, b = z->n * (size_t)hi / 64;
    memset(z->p + a, 0, b - a);
}

static void *cpu_alloc(bd_backend *be, size_t bytes, const char *what) {
    size_t cap = bytes;
    unsigned char *p = bytes >= CACHE_MIN ? cache_take(bytes, &cap) : NULL;
    if (p) {
        zero_ctx z = {p + HDR, bytes};
        bd_parallel_for(64, zero_range, &z);
    } else {
        p = calloc(1, bytes + HDR);
    }
    if (!p) {
        if (!be->failed) {
            be->failed = 1;
            bd_errf(&be->err, "out of memory allocating %zu bytes for %s", bytes, what);
        }
        return NULL;
    }
    memcpy(p, &bytes, sizeof bytes);
    memcpy(p + sizeof bytes, &cap, sizeof cap);
    __atomic_add_fetch(&be->live_bytes, bytes, __ATOMIC_RELAXED);
    size_t live = __atomic_load_n(&be->live_bytes, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&be->peak_bytes, __ATOMIC_RELAXED);
    while (live > peak && !__atomic_compare_exchange_n(&be->peak_bytes, &peak, live, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return p + HDR;
}

static void cpu_free(bd_backend *be, void *q) {
    if (!q) return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t bytes, cap;
    memcpy(&bytes, p, sizeof bytes);
    memcpy(&cap, p + sizeof bytes, sizeof cap);
    __atomic_sub_fetch(&be->live_bytes, bytes, __ATOMIC_RELAXED);
    if (cap >= CACHE_MIN) cache_put(p, cap);
    else free(p);
}

static void cpu_move(bd_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (dst != src && bytes) memmove(dst, src, bytes);
}

static void cpu_zero(bd_backend *be, void *dst, size_t bytes) {
    (void)be;
    if (bytes) memset(dst, 0, bytes);
}

static void cpu_sync(bd_backend *be) { (void)be; }
static void cpu_destroy(bd_backend *be) { (void)be; }

/* ---- products and the BERT ops ---- */

static void cpu_gemm(bd_backend *be, int tA, int tB, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    (void)be;
    if (M <= 0 || N <= 0) return;
    bd_sgemm(tA != 0, tB != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cpu_linear_fwd(bd_backend *be, float *out, const float *inp, const float *w, const float *b,
                           int N, int IN, int OUT) {
    (void)be;
    bd_linear_fwd(out, inp, w, b, N, IN, OUT);
}
static void cpu_linear_bwd(bd_backend *be, float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, int N, int IN, int OUT) {
    (void)be;
    bd_linear_bwd(dinp, dw, db, dout, inp, w, N, IN, OUT);
}
static void cpu_layernorm_fwd(bd_backend *be, float *out, float *mean, float *rstd, const float *inp,
                              const float *g, const float *b, int N, int C, float eps) {
    (void)be;
    bd_layernorm_fwd(out, mean, rstd, inp, g, b, N, C, eps);
}
static void cpu_layernorm_bwd(bd_backend *be, float *dinp, float *dg, float *db, const float *dout,
                              const float *inp, const float *g, const float *mean, const float *rstd,
                              int N, int C) {
    (void)be;
    bd_layernorm_bwd(dinp, dg, db, dout, inp, g, mean, rstd, N, C);
}
static void cpu_act_fwd(bd_backend *be, float *out, const float *inp, long n, bd_act act) {
    (void)be;
    bd_act_fwd(out, inp, n, act);
}
static void cpu_act_bwd(bd_backend *be, float *dinp, const float *inp, const float *dout, long n, bd_act act) {
    (void)be;
    bd_act_bwd(dinp, inp, dout, n, act);
}
static void cpu_tanh_fwd(bd_backend *be, float *out, const float *inp, long n) {
    (void)be;
    bd_tanh_fwd(out, inp, n);
}
static void cpu_tanh_bwd(bd_backend *be, float *dinp, const float *out, const float *dout, long n) {
    (void)be;
    bd_tanh_bwd(dinp, out, dout, n);
}
static void cpu_embed_fwd(bd_backend *be, float *out, const int32_t *ids, const int32_t *type_ids,
                          const float *word, const float *pos, const float *type, int B, int T, int C) {
    (void)be;
    bd_embed_fwd(out, ids, type_ids, word, pos, type, B, T, C);
}
static void cpu_embed_bwd(bd_backend *be, float *dword, float *dpos, float *dtype, const float *dout,
                          const int32_t *ids, const int32_t *type_ids, int B, int T, int C) {
    (void)be;
    bd_embed_bwd(dword, dpos, dtype, dout, ids, type_ids, B, T, C);
}
static void cpu_attention_fwd(bd_backend *be, float *out, float *probs, float *probs_d, const float *q,
                              const float *k, const float *v, const float *mask, const uint8_t *keep,
                              float p, int B, int T, int NH, int HD) {
    (void)be;
    bd_attention_fwd(out, probs, probs_d, q, k, v, mask, keep, p, B, T, NH, HD);
}
static void cpu_attention_bwd(bd_backend *be, float *dq, float *dk, float *dv, const float *dout,
                              const float *probs, const float *probs_d, const uint8_t *keep, float p,
                              const float *q, const float *k, const float *v, float *scratch, int B,
                              int T, int NH, int HD) {
    (void)be;
    bd_attention_bwd(dq, dk, dv, dout, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
}
static size_t cpu_attn_scratch_floats(bd_backend *be, int B, int T, int NH) {
    (void)be, (void)B, (void)NH;
    return (size_t)T * T * (size_t)bd_nthreads(); /* one [T,T] per thread */
}

/* The dropout keep mask: element i's draw depends only on (seed, i), so the mask is the
 * same on any number of threads and on the GPU (kernels/dropout.cu computes the same). */
typedef struct keep_ctx { uint8_t *keep; uint64_t seed; uint32_t threshold; } keep_ctx;

static void keep_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const keep_ctx *c = arg;
    bd_vec_keep_mask(c->keep, lo, hi, c->seed, c->threshold);
}

static void cpu_dropout_mask(bd_backend *be, uint8_t *keep, size_t n, uint64_t seed, float p) {
    (void)be;
    double t = (double)p * 4294967296.0;
    keep_ctx c = {keep, seed, (uint32_t)(t > 4294967295.0 ? 4294967295.0 : t)};
    bd_parallel_for_work((long)n, (long)n, keep_range, &c);
}
static void cpu_dropout_fwd(bd_backend *be, float *out, const float *inp, const uint8_t *keep, float p, long n) {
    (void)be;
    bd_dropout_fwd(out, inp, keep, p, n);
}
static void cpu_dropout_bwd(bd_backend *be, float *dinp, const float *dout, const uint8_t *keep, float p, long n) {
    (void)be;
    bd_dropout_bwd(dinp, dout, keep, p, n);
}
static float cpu_xent_fwd(bd_backend *be, float *probs, const float *logits, const int32_t *labels, int B, int L) {
    (void)be;
    return bd_xent_fwd(probs, logits, labels, B, L);
}
static void cpu_xent_bwd(bd_backend *be, float *dlogits, const float *probs, const int32_t *labels, int B,
                         int L, float scale) {
    (void)be;
    bd_xent_bwd(dlogits, probs, labels, B, L, scale);
}
static float cpu_mse_fwd(bd_backend *be, const float *pred, const float *target, int B) {
    (void)be;
    return bd_mse_fwd(pred, target, B);
}
static void cpu_mse_bwd(bd_backend *be, float *dpred, const float *pred, const float *target, int B, float scale) {
    (void)be;
    bd_mse_bwd(dpred, pred, target, B, scale);
}

/* ---- vectors ---- */

typedef struct axpy_ctx { float *y; const float *x; float a; } axpy_ctx;

static void axpy_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const axpy_ctx *c = arg;
    float *y = c->y;
    const float *x = c->x;
    if (c->a == 1.0f) for (long i = lo; i < hi; i++) y[i] += x[i];
    else for (long i = lo; i < hi; i++) y[i] += c->a * x[i];
}

static void cpu_axpy(bd_backend *be, float *y, const float *x, size_t n, float a) {
    (void)be;
    axpy_ctx c = {y, x, a};
    bd_parallel_for_work((long)n, (long)n, axpy_range, &c);
}
static void cpu_rotary(bd_backend *be, float *x, int B, int T, int NH, int D, int sign) {
    (void)be;
    bd_rotary(x, B, T, NH, D, sign);
}
static void cpu_rows_scale(bd_backend *be, float *x, const float *s, int N, int C) {
    (void)be;
    bd_rows_scale(x, s, N, C);
}
static void cpu_scale(bd_backend *be, float *x, size_t n, float s) {
    (void)be;
    for (size_t i = 0; i < n; i++) x[i] *= s;
}
static double cpu_sumsq(bd_backend *be, const float *x, size_t n) {
    (void)be;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}
static void cpu_add_scaled(bd_backend *be, float *out, const float *x, float a, const float *y, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) out[i] = x[i] + a * y[i];
}
static void cpu_hyper_combine(bd_backend *be, float *h, const float *gd, const float *gp, const float *gm,
                              double k, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) h[i] = (float)(gd[i] - k * ((double)gp[i] - gm[i]));
}
static void cpu_add_rows(bd_backend *be, float *y, const float *b, int N, int C, float alpha) {
    (void)be;
    for (int n = 0; n < N; n++) {
        float *yr = y + (size_t)n * C;
        if (alpha == -1.0f) for (int c = 0; c < C; c++) yr[c] -= b[c];
        else for (int c = 0; c < C; c++) yr[c] += alpha * b[c];
    }
}

static void cpu_copy_rows(bd_backend *be, float *dst, size_t dst_ld, const float *src, size_t src_ld,
                          int rows, int cols) {
    (void)be;
    for (int r = 0; r < rows; r++) memcpy(dst + (size_t)r * dst_ld, src + (size_t)r * src_ld, sizeof(float) * (size_t)cols);
}

/* ---- DoRA ---- */

static void cpu_dora_init_norms(bd_backend *be, float *sq, const float *w0, int out, int in) {
    (void)be;
    for (int j = 0; j < out; j++) {
        const float *w = w0 + (size_t)j * in;
        double s = 0.0;
        for (int i = 0; i < in; i++) s += (double)w[i] * w[i];
        sq[j] = (float)s;
    }
}

static void cpu_dora_row_norms(bd_backend *be, float *n, const float *sq, const float *B, const float *w0a,
                               const float *aat, float s, int out, int r) {
    (void)be;
    for (int j = 0; j < out; j++) {
        const float *Bj = B + (size_t)j * r, *wa = w0a + (size_t)j * r;
        double cross = 0.0, quad = 0.0;
        for (int a = 0; a < r; a++) {
            cross += (double)Bj[a] * wa[a];
            double t = 0.0;
            for (int b = 0; b < r; b++) t += (double)aat[a * r + b] * Bj[b];
            quad += (double)Bj[a] * t;
        }
        double n2 = (double)sq[j] + 2.0 * s * cross + (double)s * s * quad;
        n[j] = (float)sqrt(n2 > 0.0 ? n2 : 0.0);
    }
}

static void cpu_dora_scale(bd_backend *be, float *y, const float *z, const float *m, const float *n,
                           const float *b, const float *lin, int N, int out) {
    (void)be;
    for (int t = 0; t < N; t++) {
        float *yt = y + (size_t)t * out;
        const float *zt = z + (size_t)t * out;
        if (lin) {
            const float *lt = lin + (size_t)t * out;
            for (int j = 0; j < out; j++) yt[j] += (m[j] / n[j]) * zt[j] - lt[j];
        } else {
            for (int j = 0; j < out; j++) yt[j] = (m[j] / n[j]) * zt[j] + (b ? b[j] : 0.0f);
        }
    }
}

static void cpu_dora_z_recover(bd_backend *be, float *z, const float *y, const float *b, const float *m,
                               const float *n, const float *x, const float *w0, const float *A,
                               const float *B, float s, int N, int in, int out, int r) {
    (void)be;
    for (int t = 0; t < N; t++) {
        const float *yt = y + (size_t)t * out, *xr = x + (size_t)t * in;
        float *zt = z + (size_t)t * out;
        for (int j = 0; j < out; j++) {
            if (m[j] != 0.0f) {
                zt[j] = (yt[j] - (b ? b[j] : 0.0f)) * (n[j] / m[j]);
                continue;
            }
            double acc = 0.0;
            for (int i = 0; i < in; i++) {
                double w = w0[(size_t)j * in + i];
                for (int a = 0; a < r; a++) w += (double)s * B[(size_t)j * r + a] * A[(size_t)a * in + i];
                acc += w * xr[i];
            }
            zt[j] = (float)acc;
        }
    }
}

static void cpu_dora_bwd_mag(bd_backend *be, float *G, float *dl, float *dm, const float *dy, const float *z,
                             const float *m, const float *n, int N, int out) {
    (void)be;
    memset(G, 0, sizeof(float) * (size_t)out);
    for (int t = 0; t < N; t++) {
        const float *dyt = dy + (size_t)t * out, *zt = z + (size_t)t * out;
        float *dlt = dl + (size_t)t * out;
        for (int j = 0; j < out; j++) {
            G[j] += dyt[j] * zt[j];
            dlt[j] = dyt[j] * (m[j] / n[j]);
        }
    }
    if (dm) for (int j = 0; j < out; j++) dm[j] += G[j] / n[j];
}

static void cpu_dora_u_rows(bd_backend *be, float *dst, const float *src, const float *G, const float *m,
                            const float *n, float alpha, int accumulate, int out, int r) {
    (void)be;
    for (int j = 0; j < out; j++) {
        float nj = n[j];
        float u = -m[j] * G[j] / (nj * nj * nj);
        float *d = dst + (size_t)j * r;
        const float *sr = src + (size_t)j * r;
        for (int a = 0; a < r; a++) d[a] = (accumulate ? d[a] : 0.0f) + alpha * u * sr[a];
    }
}

/* ---- orthogonality ---- */

static void cpu_rows_normalize(bd_backend *be, float *W, float *norms, int rows, int cols) {
    (void)be;
    for (int j = 0; j < rows; j++) {
        float *w = W + (size_t)j * cols;
        double ss = 0.0;
        for (int i = 0; i < cols; i++) ss += (double)w[i] * w[i];
        norms[j] = (float)sqrt(ss);
        float inv = norms[j] > 0 ? 1.0f / norms[j] : 0.0f;
        for (int i = 0; i < cols; i++) w[i] *= inv;
    }
}

static void cpu_gram_minus_identity(bd_backend *be, float *G, const float *W, int rows, int cols) {
    (void)be;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, rows, cols, 1.0f, W, cols, 0.0f, G, rows);
    for (int i = 0; i < rows; i++) {
        G[(size_t)i * rows + i] -= 1.0f;
        for (int j = i + 1; j < rows; j++) G[(size_t)j * rows + i] = G[(size_t)i * rows + j];
    }
}

static void cpu_rows_project(bd_backend *be, float *dW, const float *U, const float *norms, int rows, int cols) {
    (void)be;
    for (int j = 0; j < rows; j++) {
        float *g = dW + (size_t)j * cols;
        const float *u = U + (size_t)j * cols;
        double dot = 0.0;
        for (int i = 0; i < cols; i++) dot += (double)g[i] * u[i];
        float inv = norms[j] > 0 ? 1.0f / norms[j] : 0.0f;
        for (int i = 0; i < cols; i++) g[i] = (g[i] - (float)dot * u[i]) * inv;
    }
}

/* ---- optimizers: torch's formulas (optim.h) ---- */

static void cpu_adamw_step(bd_backend *be, float *w, const float *g, float *m1, float *m2, size_t n, long t,
                           float lr, float b1, float b2, float eps, float weight_decay) {
    (void)be;
    const double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    const float step = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = 1.0f - lr * weight_decay;
    for (size_t i = 0; i < n; i++) {
        w[i] *= decay;
        m1[i] = b1 * m1[i] + (1.0f - b1) * g[i];
        m2[i] = b2 * m2[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step * m1[i] / (sqrtf(m2[i]) * inv_sqrt_bc2 + eps);
    }
}

static void cpu_sgd_step(bd_backend *be, float *w, const float *g, size_t n, float lr, float weight_decay) {
    (void)be;
    for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + weight_decay * w[i]);
}

static bd_backend cpu = {
    .name = "cpu",
    .host_memory = 1,
    .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_move, .download = cpu_move, .copy = cpu_move,
    .zero = cpu_zero, .sync = cpu_sync, .destroy = cpu_destroy,
    .gemm = cpu_gemm, .linear_fwd = cpu_linear_fwd, .linear_bwd = cpu_linear_bwd,
    .layernorm_fwd = cpu_layernorm_fwd, .layernorm_bwd = cpu_layernorm_bwd,
    .act_fwd = cpu_act_fwd, .act_bwd = cpu_act_bwd, .tanh_fwd = cpu_tanh_fwd, .tanh_bwd = cpu_tanh_bwd,
    .embed_fwd = cpu_embed_fwd, .embed_bwd = cpu_embed_bwd, .rotary = cpu_rotary, .rows_scale = cpu_rows_scale,
    .attention_fwd = cpu_attention_fwd, .attention_bwd = cpu_attention_bwd,
    .attn_scratch_floats = cpu_attn_scratch_floats,
    .dropout_mask = cpu_dropout_mask, .dropout_fwd = cpu_dropout_fwd, .dropout_bwd = cpu_dropout_bwd,
    .xent_fwd = cpu_xent_fwd, .xent_bwd = cpu_xent_bwd, .mse_fwd = cpu_mse_fwd, .mse_bwd = cpu_mse_bwd,
    .axpy = cpu_axpy, .scale = cpu_scale, .sumsq = cpu_sumsq, .add_scaled = cpu_add_scaled,
    .hyper_combine = cpu_hyper_combine, .add_rows = cpu_add_rows, .copy_rows = cpu_copy_rows,
    .dora_init_norms = cpu_dora_init_norms, .dora_row_norms = cpu_dora_row_norms,
    .dora_scale = cpu_dora_scale, .dora_z_recover = cpu_dora_z_recover, .dora_bwd_mag = cpu_dora_bwd_mag,
    .dora_u_rows = cpu_dora_u_rows,
    .rows_normalize = cpu_rows_normalize, .gram_minus_identity = cpu_gram_minus_identity,
    .rows_project = cpu_rows_project,
    .adamw_step = cpu_adamw_step, .sgd_step = cpu_sgd_step,
};

static int cpu_described;

bd_backend *bd_backend_cpu(void) {
    if (!__atomic_load_n(&cpu_described, __ATOMIC_ACQUIRE)) {
        char d[160];
        snprintf(d, sizeof d, "CPU (%d threads, OpenBLAS)", bd_nthreads());
        /* the same text from any thread that gets here first */
        memcpy(cpu.device, d, sizeof d);
        __atomic_store_n(&cpu_described, 1, __ATOMIC_RELEASE);
    }
    return &cpu;
}

int bd_be_check(bd_backend *be, bd_err *e) {
    if (!be->failed) return 0;
    if (e) *e = be->err;
    return -1;
}

bd_backend *bd_backend_open(const char *name, int tf32, char *note, size_t note_n, bd_err *e) {
    if (note && note_n) note[0] = '\0';
    if (!strcmp(name, "cpu")) return bd_backend_cpu();
    if (!strcmp(name, "cuda")) return bd_backend_cuda(tf32, e);
    if (!strcmp(name, "auto")) {
        if (!bd_backend_have_cuda()) return bd_backend_cpu(); /* a CPU-only build: nothing to say */
        bd_err ce;
        bd_backend *be = bd_backend_cuda(tf32, &ce);
        if (be) return be;
        if (note) snprintf(note, note_n, "backend auto chose the CPU: %s", ce.msg);
        return bd_backend_cpu();
    }
    bd_errf(e, "backend \"%s\" is not one of cpu, cuda, auto", name);
    return NULL;
}

void bd_backend_close(bd_backend *be) {
    if (be && be->destroy) be->destroy(be);
}
