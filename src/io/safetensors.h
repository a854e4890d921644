/* safetensors.h: read (and write) Hugging Face safetensors files.
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data; offsets are relative to the end of the header. */
#ifndef BD_SAFETENSORS_H
#define BD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef enum bd_dtype {
    BD_DT_F32, BD_DT_F16, BD_DT_BF16, BD_DT_F64,
    BD_DT_I64, BD_DT_I32, BD_DT_I16, BD_DT_I8, BD_DT_U8, BD_DT_BOOL
} bd_dtype;

#define BD_ST_MAX_DIMS 8

typedef struct bd_st_tensor {
    char *name;
    bd_dtype dtype;
    int ndim;
    int64_t shape[BD_ST_MAX_DIMS];
    int64_t numel;
    size_t offset;        /* byte offset of the data from the start of the file */
    size_t nbytes;
    int file_index;       /* which shard (index into bd_st.files) */
} bd_st_tensor;

typedef struct bd_st {
    int n_tensors;
    bd_st_tensor *tensors;
    int n_files;
    char **files;         /* shard paths */
} bd_st;

/* Size in bytes of one element of dtype. */
size_t bd_dtype_size(bd_dtype dt);
const char *bd_dtype_name(bd_dtype dt);

/* IEEE half and bfloat16 bit patterns to float32 (exact; inf/nan kept). */
float bd_f16_to_f32(uint16_t h);
float bd_bf16_to_f32(uint16_t h);

/* Convert n raw little-endian elements of dtype at src (any alignment) to
 * float32 in dst[n]. Returns -1 (message names the dtype) for non-float
 * dtypes. F64 values beyond float range become +-inf. */
int bd_dtype_to_f32(bd_dtype dt, const void *src, size_t n, float *dst, bd_err *e);

/* Parse a header from memory (used by bd_st_open and the fuzzer). buf holds
 * the first len bytes of the file, file_size is the whole file's size;
 * path names the file in messages. Tensors are appended to st with
 * file_index. Validates: header length in range, JSON object, known dtypes,
 * shapes, offsets in range, contiguous and non-overlapping (the data section
 * fully indexed, as the spec requires), size = numel x dtype size.
 * On failure st holds just the tensors it had before (an st that was empty
 * is left empty, with nothing to free). */
int bd_st_parse_header(bd_st *st, int file_index, const char *path,
                       const uint8_t *buf, size_t len, uint64_t file_size, bd_err *e);

/* Open a .safetensors file, or a sharded model via its
 * model.safetensors.index.json (every shard it names is parsed, relative to
 * the index's directory). st is overwritten; on failure it is left empty. */
int bd_st_open(bd_st *st, const char *path, bd_err *e);

/* Find a tensor by exact name (NULL if absent). */
const bd_st_tensor *bd_st_find(const bd_st *st, const char *name);

/* Read a floating tensor (F32, F16, BF16 or F64) converted to float32 into
 * dst[numel]. Other dtypes give an error naming the tensor. */
int bd_st_read_f32(const bd_st *st, const bd_st_tensor *t, float *dst, bd_err *e);

void bd_st_close(bd_st *st);

/* Writing: n float32 tensors with their names and shapes, plus optional
 * string metadata pairs (meta_kv = {key0, val0, key1, val1, ...}). Written
 * atomically (temp name, fsync, rename). Names are sorted as HF does. */
typedef struct bd_st_out {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[BD_ST_MAX_DIMS];
} bd_st_out;

int bd_st_write(const char *path, const bd_st_out *tensors, int n,
                const char *const *meta_kv, int n_meta, bd_err *e);

#endif
