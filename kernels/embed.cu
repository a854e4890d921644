/* embed.cu: the embeddings sum (src/backend/ops.h's bd_embed_fwd) and its scatter-add backward
 * (bd_embed_bwd), deterministic and in the CPU's order, so both are bit for bit equal
 * to the CPU op: the backward uses no atomics. */
#include "bd_cuda.h"
#include "kernels.h"

#define BD_GRID_CAP 4096u

/* out[r, c] = word[ids[r], c] + pos[t, c] + type[type_ids[r], c], added in the CPU's
 * order (word + pos, then + type). */
__global__ void bd_embed_fwd_kernel(float *out, const int32_t *ids, const int32_t *type_ids,
                                    const float *word, const float *pos, const float *type, int T,
                                    int C, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / (size_t)C, c = i % (size_t)C, t = r % (size_t)T;
        const size_t tt = type_ids ? (size_t)type_ids[r] : 0;
        float v = word[(size_t)ids[r] * C + c];
        if (pos) v += pos[t * C + c]; /* ESM has neither table */
        if (type) v += type[tt * C + c];
        out[i] = v;
    }
}

/* dpos[t, c] += dout[b*T + t, c] for b = 0, 1, ...: one thread per (t, c), the rows in
 * the CPU's order. */
__global__ void bd_embed_bwd_pos_kernel(float *dpos, const float *dout, int B, int T, int C) {
    const size_t n = (size_t)T * C;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float acc = dpos[i];
        for (int b = 0; b < B; b++) acc += dout[(size_t)b * n + i];
        dpos[i] = acc;
    }
}

/* The chains of equal keys (keys NULL: every key 0): head[r] = 1 when no earlier row
 * has row r's key, next[r] = the next row with that key (BT: none). One thread per row,
 * a scan of the keys (O(BT^2) compares, a broadcast read per warp). */
__global__ void bd_embed_links_kernel(int32_t *head, int32_t *next, const int32_t *keys, int BT) {
    for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < BT; r += gridDim.x * blockDim.x) {
        const int32_t k = keys ? keys[r] : 0;
        int h = 1, nx = BT;
        for (int q = 0; q < r && h; q++) h = (keys ? keys[q] : 0) != k;
        for (int q = r + 1; q < BT; q++)
            if ((keys ? keys[q] : 0) == k) { nx = q; break; }
        head[r] = h;
        next[r] = nx;
    }
}

/* One block per row: a chain's head row walks its chain in row order, adding each
 * row's dout into the table row of its key, for every column; other rows' blocks leave
 * at once. The same additions in the same order as the CPU's loop. */
__global__ void bd_embed_bwd_scatter_kernel(float *dtab, const float *dout, const int32_t *keys,
                                            const int32_t *head, const int32_t *next, int BT, int C) {
    const int r0 = blockIdx.x;
    if (!head[r0]) return;
    float *d = dtab + (size_t)(keys ? keys[r0] : 0) * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float acc = d[c];
        for (int r = r0; r < BT; r = next[r]) acc += dout[(size_t)r * C + c];
        d[c] = acc;
    }
}

extern "C" int bd_cu_embed_fwd(float *out, const int32_t *ids, const int32_t *type_ids,
                               const float *word, const float *pos, const float *type, int B, int T,
                               int C, void *stream, bd_err *e) {
    if (B <= 0 || T <= 0 || C <= 0) return 0;
    const size_t n = (size_t)B * T * C;
    BD_LAUNCH(bd_embed_fwd_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, ids, type_ids, word, pos, type, T, C, n);
    BD_CU_LAUNCHED(e, bd_embed_fwd_kernel);
    return 0;
}

static int embed_scatter(float *dtab, const float *dout, const int32_t *keys, int32_t *scratch,
                         int BT, int C, void *stream, bd_err *e) {
    int32_t *head = scratch, *next = scratch + BT;
    BD_LAUNCH(bd_embed_links_kernel, bd_cu_blocks((size_t)BT, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS,
              0, BD_CU_STREAM(stream), head, next, keys, BT);
    BD_CU_LAUNCHED(e, bd_embed_links_kernel);
    BD_LAUNCH(bd_embed_bwd_scatter_kernel, BT, BD_CU_THREADS, 0, BD_CU_STREAM(stream), dtab, dout, keys,
              head, next, BT, C);
    BD_CU_LAUNCHED(e, bd_embed_bwd_scatter_kernel);
    return 0;
}

extern "C" int bd_cu_embed_bwd(float *dword, float *dpos, float *dtype, const float *dout,
                               const int32_t *ids, const int32_t *type_ids, int B, int T, int C,
                               int32_t *scratch, void *stream, bd_err *e) {
    if (B <= 0 || T <= 0 || C <= 0) return 0;
    const int BT = B * T;
    if (dpos) {
        BD_LAUNCH(bd_embed_bwd_pos_kernel, bd_cu_blocks((size_t)T * C, BD_CU_THREADS, BD_GRID_CAP),
                  BD_CU_THREADS, 0, BD_CU_STREAM(stream), dpos, dout, B, T, C);
        BD_CU_LAUNCHED(e, bd_embed_bwd_pos_kernel);
    }
    /* one scratch, reused: the launches of a stream run in order */
    if (dword && embed_scatter(dword, dout, ids, scratch, BT, C, stream, e)) return -1;
    if (dtype && embed_scatter(dtype, dout, type_ids, scratch, BT, C, stream, e)) return -1;
    return 0;
}
