/* safetensors.c: parse, validate, read and write Hugging Face safetensors
 * files, and sharded models through their *.index.json weight map. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian and is read without byte swapping"
#endif

/* The reference implementation refuses headers over 100 MB; so do we, so a
 * corrupt length cannot make us allocate gigabytes. */
#define ST_MAX_HEADER 100000000ull
/* Bytes converted per read when the file dtype is not float32. */
#define ST_CHUNK (1u << 20)

typedef unsigned long long ull;

static const struct { const char *name; size_t size; } dtypes[] = {
    [BD_DT_F32] = {"F32", 4},  [BD_DT_F16] = {"F16", 2}, [BD_DT_BF16] = {"BF16", 2},
    [BD_DT_F64] = {"F64", 8},  [BD_DT_I64] = {"I64", 8}, [BD_DT_I32] = {"I32", 4},
    [BD_DT_I16] = {"I16", 2},  [BD_DT_I8] = {"I8", 1},   [BD_DT_U8] = {"U8", 1},
    [BD_DT_BOOL] = {"BOOL", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t bd_dtype_size(bd_dtype dt) {
    return (unsigned)dt < N_DTYPES ? dtypes[dt].size : 0;
}

const char *bd_dtype_name(bd_dtype dt) {
    return (unsigned)dt < N_DTYPES ? dtypes[dt].name : "?";
}

static int dtype_from_name(const char *s, bd_dtype *dt) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (strcmp(s, dtypes[i].name) == 0) { *dt = (bd_dtype)i; return 0; }
    return -1;
}

static int is_float_dtype(bd_dtype dt) {
    return dt == BD_DT_F32 || dt == BD_DT_F16 || dt == BD_DT_BF16 || dt == BD_DT_F64;
}

/* ---- conversions ---- */

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float bd_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 31) return f32_from_bits(sign | 0x7f800000u | mant << 13); /* inf, nan */
    if (exp != 0) return f32_from_bits(sign | (exp + 112) << 23 | mant << 13);
    if (mant == 0) return f32_from_bits(sign);
    /* A half subnormal is a normal float: shift the mantissa up to the
     * implicit bit, lowering the exponent once per shift (0x0001 -> 2^-24). */
    uint32_t e = 113;
    while (!(mant & 0x400u)) { mant <<= 1; e--; }
    return f32_from_bits(sign | e << 23 | (mant & 0x3ffu) << 13);
}

float bd_bf16_to_f32(uint16_t h) {
    return f32_from_bits((uint32_t)h << 16);
}

int bd_dtype_to_f32(bd_dtype dt, const void *src, size_t n, float *dst, bd_err *e) {
    const uint8_t *p = src;
    if (!is_float_dtype(dt))
        return bd_errf(e, "dtype %s is not a floating type (F32, F16, BF16 or F64 can be read as float32)",
                       bd_dtype_name(dt));
    if (n == 0) return 0;
    if (dt == BD_DT_F32) { memcpy(dst, p, n * sizeof(float)); return 0; }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        double d;
        if (dt == BD_DT_F64) {
            /* IEEE narrowing: out-of-range values round to +-inf, nan stays nan. */
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        } else {
            memcpy(&h, p + 2 * i, 2);
            dst[i] = dt == BD_DT_F16 ? bd_f16_to_f32(h) : bd_bf16_to_f32(h);
        }
    }
    return 0;
}

/* ---- header parsing ---- */

static void shape_str(const bd_st_tensor *t, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* One {dtype, shape, data_offsets} entry into t; offsets are checked against
 * the data section [data_start, data_start + data_size) of the file. */
static int parse_entry(bd_st_tensor *t, const char *path, const char *name, json_t *val,
                       uint64_t data_start, uint64_t data_size, bd_err *e) {
    if (!json_is_object(val))
        return bd_errf(e, "%s: tensor '%s': entry is not an object", path, name);
    json_t *jd = json_object_get(val, "dtype");
    if (!json_is_string(jd))
        return bd_errf(e, "%s: tensor '%s': \"dtype\" is missing or not a string", path, name);
    if (dtype_from_name(json_string_value(jd), &t->dtype) != 0)
        return bd_errf(e, "%s: tensor '%s': unknown dtype \"%s\" (known: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                       path, name, json_string_value(jd));

    json_t *js = json_object_get(val, "shape");
    if (!json_is_array(js))
        return bd_errf(e, "%s: tensor '%s': \"shape\" is missing or not an array", path, name);
    size_t nd = json_array_size(js);
    if (nd > BD_ST_MAX_DIMS)
        return bd_errf(e, "%s: tensor '%s': shape has %zu dimensions, at most %d are supported",
                       path, name, nd, BD_ST_MAX_DIMS);
    int64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (json_is_real(d) && json_real_value(d) >= 9.2e18)
            return bd_errf(e, "%s: tensor '%s': bad shape: shape[%zu] = %.0f is beyond 64-bit integers",
                           path, name, i, json_real_value(d));
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return bd_errf(e, "%s: tensor '%s': bad shape: shape[%zu] is not a non-negative integer",
                           path, name, i);
        int64_t v = (int64_t)json_integer_value(d);
        if (v != 0 && numel > INT64_MAX / v)
            return bd_errf(e, "%s: tensor '%s': bad shape: element count overflows", path, name);
        t->shape[i] = v;
        numel *= v;
    }
    t->ndim = (int)nd;
    t->numel = numel;
    size_t es = bd_dtype_size(t->dtype);
    if (numel > INT64_MAX / (int64_t)es)
        return bd_errf(e, "%s: tensor '%s': bad shape: byte size overflows", path, name);

    json_t *jo = json_object_get(val, "data_offsets");
    for (size_t i = 0; json_is_array(jo) && i < json_array_size(jo) && i < 2; i++) {
        double v = json_real_value(json_array_get(jo, i)); /* 0 unless a real */
        if (v >= 9.2e18 || v <= -9.2e18)
            return bd_errf(e, "%s: tensor '%s': data_offsets %s %.0f is beyond 64-bit integers (and any file)",
                           path, name, i ? "end" : "begin", v);
    }
    if (!json_is_array(jo) || json_array_size(jo) != 2 ||
        !json_is_integer(json_array_get(jo, 0)) || !json_is_integer(json_array_get(jo, 1)))
        return bd_errf(e, "%s: tensor '%s': \"data_offsets\" is not two integers [begin, end]", path, name);
    long long b = json_integer_value(json_array_get(jo, 0));
    long long en = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || en < 0)
        return bd_errf(e, "%s: tensor '%s': data_offsets [%lld, %lld] are negative", path, name, b, en);
    if (b > en)
        return bd_errf(e, "%s: tensor '%s': data_offsets begin %lld > end %lld", path, name, b, en);
    if ((uint64_t)en > data_size)
        return bd_errf(e, "%s: tensor '%s': data_offsets end %lld is past the end of the file "
                       "(data section is %llu bytes; truncated?)", path, name, en, (ull)data_size);
    if ((uint64_t)(en - b) != (uint64_t)numel * es) {
        char sh[160];
        shape_str(t, sh, sizeof sh);
        return bd_errf(e, "%s: tensor '%s': data is %lld bytes but shape %s of %s needs %llu",
                       path, name, en - b, sh, bd_dtype_name(t->dtype), (ull)numel * es);
    }
    t->offset = (size_t)(data_start + (uint64_t)b);
    t->nbytes = (size_t)(en - b);
    return 0;
}

static int cmp_by_offset(const void *a, const void *b) {
    const bd_st_tensor *x = *(const bd_st_tensor *const *)a, *y = *(const bd_st_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The spec requires the tensors to tile the data section exactly: no
 * overlaps, no gaps, nothing after the last one. */
static int check_layout(const bd_st_tensor *ts, int n, const char *path,
                        uint64_t data_start, uint64_t file_size, bd_err *e) {
    if (n == 0) {
        if (file_size != data_start)
            return bd_errf(e, "%s: offsets not contiguous: %llu data bytes but no tensors",
                           path, (ull)(file_size - data_start));
        return 0;
    }
    const bd_st_tensor **order = bd_malloc((size_t)n * sizeof *order, e);
    if (!order) return -1;
    for (int i = 0; i < n; i++) order[i] = &ts[i];
    qsort(order, (size_t)n, sizeof *order, cmp_by_offset);
    uint64_t at = data_start;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const bd_st_tensor *t = order[i];
        if (t->offset < at)
            rc = bd_errf(e, "%s: tensors '%s' and '%s' overlap (bytes %llu..%llu and %llu..%llu of the data)",
                         path, order[i - 1]->name, t->name,
                         (ull)(order[i - 1]->offset - data_start), (ull)(at - data_start),
                         (ull)(t->offset - data_start), (ull)(t->offset + t->nbytes - data_start));
        else if (t->offset > at)
            rc = bd_errf(e, "%s: offsets not contiguous: %llu unindexed bytes before tensor '%s'",
                         path, (ull)(t->offset - at), t->name);
        at = t->offset + t->nbytes;
    }
    if (rc == 0 && at != file_size)
        rc = bd_errf(e, "%s: offsets not contiguous: %llu unindexed bytes after the last tensor '%s'",
                     path, (ull)(file_size - at), order[n - 1]->name);
    free(order);
    return rc;
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void drop_tensors_from(bd_st *st, int first) {
    for (int i = first; i < st->n_tensors; i++) free(st->tensors[i].name);
    st->n_tensors = first;
}

int bd_st_parse_header(bd_st *st, int file_index, const char *path,
                       const uint8_t *buf, size_t len, uint64_t file_size, bd_err *e) {
    if (file_size < 8)
        return bd_errf(e, "%s: file is %llu bytes, shorter than the 8-byte header length (truncated?)",
                       path, (ull)file_size);
    if (len < 8)
        return bd_errf(e, "%s: only %zu bytes of the header were read", path, len);
    uint64_t n = le64(buf);
    if (n > file_size - 8)
        return bd_errf(e, "%s: header length %llu runs past the end of the file (%llu bytes; truncated or not safetensors?)",
                       path, (ull)n, (ull)file_size);
    if (n > ST_MAX_HEADER)
        return bd_errf(e, "%s: header length %llu is absurd (limit %llu bytes)", path, (ull)n, ST_MAX_HEADER);
    if (len - 8 < n)
        return bd_errf(e, "%s: only %zu of the %llu header bytes were read", path, len - 8, (ull)n);

    json_error_t jerr;
    json_t *root = bd_json_loadb((const char *)buf + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return bd_errf(e, "%s: header is not valid JSON: %s (header line %d, column %d)",
                       path, jerr.text, jerr.line, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return bd_errf(e, "%s: header is not a JSON object", path);
    }
    size_t count = json_object_size(root);
    if (count > (size_t)(INT32_MAX - st->n_tensors)) {
        json_decref(root);
        return bd_errf(e, "%s: too many tensors", path);
    }
    if (count > 0) {
        bd_st_tensor *grown = realloc(st->tensors, ((size_t)st->n_tensors + count) * sizeof *grown);
        if (!grown) {
            json_decref(root);
            return bd_errf(e, "%s: out of memory for %zu tensor entries", path, count);
        }
        st->tensors = grown;
    }
    const int first = st->n_tensors;
    const uint64_t data_start = 8 + n;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) continue; /* free-form string map; unused */
        for (const char *c = key; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) { /* messages name tensors: one line each */
                char q[160];
                bd_errf(e, "%s: tensor name \"%s\" holds a control character", path, bd_printable(q, sizeof q, key));
                goto fail;
            }
        bd_st_tensor *t = &st->tensors[st->n_tensors];
        memset(t, 0, sizeof *t);
        if (parse_entry(t, path, key, val, data_start, file_size - data_start, e) != 0) goto fail;
        t->name = strdup(key);
        if (!t->name) { bd_errf(e, "%s: out of memory for the name of tensor %d", path, st->n_tensors - first); goto fail; }
        t->file_index = file_index;
        st->n_tensors++;
    }
    json_decref(root);
    root = NULL;
    /* tensors stays NULL for an empty header; no pointer arithmetic on it. */
    if (check_layout(count ? st->tensors + first : NULL, st->n_tensors - first, path, data_start, file_size, e) != 0)
        goto fail;
    return 0;
fail:
    json_decref(root);
    drop_tensors_from(st, first);
    if (first == 0) { free(st->tensors); st->tensors = NULL; }
    return -1;
}

/* ---- files ---- */

/* pread exactly n bytes at off; what names the part being read. */
static int read_full(int fd, void *buf, size_t n, uint64_t off, const char *path,
                     const char *what, bd_err *e) {
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return bd_errf(e, "%s: %s: read failed: %s", path, what, strerror(errno));
        if (r == 0)
            return bd_errf(e, "%s: %s: unexpected end of file at byte %llu (truncated?)",
                           path, what, (ull)off);
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
    return 0;
}

static int add_file(bd_st *st, char *path_owned, bd_err *e) {
    char **grown = realloc(st->files, ((size_t)st->n_files + 1) * sizeof *grown);
    if (!grown) {
        bd_errf(e, "%s: out of memory for a list of %d files", path_owned, st->n_files + 1);
        free(path_owned);
        return -1;
    }
    st->files = grown;
    st->files[st->n_files] = path_owned;
    return st->n_files++;
}

/* Read the header of st->files[fi] (just the header, never the data). */
static int parse_file(bd_st *st, int fi, bd_err *e) {
    const char *path = st->files[fi];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bd_errf(e, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)sb.st_size;
    uint8_t head[8];
    size_t want = size < 8 ? (size_t)size : 8;
    int rc = read_full(fd, head, want, 0, path, "header length", e);
    uint8_t *buf = NULL;
    if (rc == 0 && want == 8) {
        uint64_t n = le64(head);
        /* Out-of-range lengths are left for bd_st_parse_header to report. */
        if (n <= size - 8 && n <= ST_MAX_HEADER) {
            want = (size_t)(8 + n);
            buf = bd_malloc(want, e);
            rc = buf ? read_full(fd, buf, want, 0, path, "header", e) : -1;
        }
    }
    close(fd);
    if (rc == 0) rc = bd_st_parse_header(st, fi, path, buf ? buf : head, want, size, e);
    free(buf);
    return rc;
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static char *join_dir(const char *index_path, const char *name, bd_err *e) {
    const char *slash = strrchr(index_path, '/');
    size_t dl = slash ? (size_t)(slash - index_path) : 1;
    const char *dir = slash ? index_path : ".";
    size_t n = dl + 1 + strlen(name) + 1;
    char *p = bd_malloc(n, e);
    if (p) snprintf(p, n, "%.*s/%s", (int)dl, dir, name);
    return p;
}

static int find_file(const bd_st *st, const char *path) {
    for (int i = 0; i < st->n_files; i++)
        if (strcmp(st->files[i], path) == 0) return i;
    return -1;
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp(((const bd_st_tensor *)a)->name, ((const bd_st_tensor *)b)->name);
}

static int open_index(bd_st *st, const char *path, bd_err *e) {
    size_t len;
    char *text = bd_read_file(path, &len, e);
    if (!text) return -1;
    json_error_t jerr;
    json_t *root = bd_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return bd_errf(e, "%s: not valid JSON: %s (line %d, column %d)", path, jerr.text, jerr.line, jerr.column);
    int rc = -1;
    json_t *wm = json_object_get(root, "weight_map");
    const char *name;
    json_t *v;
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        bd_errf(e, "%s: no \"weight_map\" object naming the shards", path);
        goto done;
    }
    json_object_foreach(wm, name, v) {
        if (!json_is_string(v) || json_string_length(v) == 0) {
            bd_errf(e, "%s: weight_map entry '%s' is not a shard file name", path, name);
            goto done;
        }
        char *shard = join_dir(path, json_string_value(v), e);
        if (!shard) goto done;
        if (find_file(st, shard) >= 0) free(shard);
        else if (add_file(st, shard, e) < 0) goto done;
    }
    for (int fi = 0; fi < st->n_files; fi++)
        if (parse_file(st, fi, e) != 0) goto done;

    /* Sorted by name: duplicates across shards are neighbours, lookups bisect. */
    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_by_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
            bd_errf(e, "%s: tensor '%s' is in two shards: %s and %s", path, st->tensors[i].name,
                    st->files[st->tensors[i - 1].file_index], st->files[st->tensors[i].file_index]);
            goto done;
        }
    json_object_foreach(wm, name, v) {
        char *shard = join_dir(path, json_string_value(v), e);
        if (!shard) goto done;
        bd_st_tensor key = {.name = (char *)name};
        const bd_st_tensor *t = bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof key, cmp_by_name);
        int ok = t && strcmp(st->files[t->file_index], shard) == 0;
        if (!ok)
            bd_errf(e, "%s: tensor '%s' is listed in weight_map for shard %s, but %s", path, name, shard,
                    t ? "it is in another shard" : "that shard does not contain it");
        free(shard);
        if (!ok) goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int bd_st_open(bd_st *st, const char *path, bd_err *e) {
    memset(st, 0, sizeof *st);
    int rc;
    if (has_suffix(path, ".index.json")) {
        rc = open_index(st, path, e);
    } else {
        char *copy = strdup(path);
        if (!copy) return bd_errf(e, "%s: out of memory copying the path", path);
        rc = add_file(st, copy, e) < 0 ? -1 : parse_file(st, 0, e);
    }
    if (rc != 0) bd_st_close(st);
    return rc;
}

const bd_st_tensor *bd_st_find(const bd_st *st, const char *name) {
    /* Linear: models have hundreds of tensors, and st may come unsorted
     * from bd_st_parse_header. */
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

int bd_st_read_f32(const bd_st *st, const bd_st_tensor *t, float *dst, bd_err *e) {
    if (t->file_index < 0 || t->file_index >= st->n_files)
        return bd_errf(e, "tensor '%s': no file is open for it (file index %d)", t->name, t->file_index);
    const char *path = st->files[t->file_index];
    if (!is_float_dtype(t->dtype))
        return bd_errf(e, "%s: tensor '%s': dtype %s is not a floating type (F32, F16, BF16 or F64 can be read as float32)",
                       path, t->name, bd_dtype_name(t->dtype));
    size_t es = bd_dtype_size(t->dtype);
    if (t->numel < 0 || t->nbytes != (size_t)t->numel * es)
        return bd_errf(e, "%s: tensor '%s': inconsistent entry (%zu bytes for %lld elements)",
                       path, t->name, t->nbytes, (long long)t->numel);
    if (t->nbytes == 0) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    char what[300];
    snprintf(what, sizeof what, "tensor '%s'", t->name);
    int rc = 0;
    if (t->dtype == BD_DT_F32) {
        rc = read_full(fd, dst, t->nbytes, t->offset, path, what, e);
    } else {
        /* Convert chunk by chunk so a big F16 tensor needs no second full copy. */
        size_t cap = t->nbytes < ST_CHUNK ? t->nbytes : ST_CHUNK;
        uint8_t *buf = bd_malloc(cap, e);
        if (!buf) rc = -1;
        for (size_t done = 0; rc == 0 && done < t->nbytes; done += cap) {
            size_t k = t->nbytes - done < cap ? t->nbytes - done : cap;
            rc = read_full(fd, buf, k, t->offset + done, path, what, e);
            if (rc == 0) rc = bd_dtype_to_f32(t->dtype, buf, k / es, dst + done / es, e);
        }
        free(buf);
    }
    close(fd);
    return rc;
}

void bd_st_close(bd_st *st) {
    drop_tensors_from(st, 0);
    free(st->tensors);
    for (int i = 0; i < st->n_files; i++) free(st->files[i]);
    free(st->files);
    memset(st, 0, sizeof *st);
}

/* ---- writing ---- */

static int cmp_out_by_name(const void *a, const void *b) {
    return strcmp((*(const bd_st_out *const *)a)->name, (*(const bd_st_out *const *)b)->name);
}

static int write_all(int fd, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* The JSON header for tensors already sorted by name, or NULL. */
static json_t *build_header(const char *path, const bd_st_out *const *order, int n,
                            const char *const *meta_kv, int n_meta, bd_err *e) {
    json_t *root = json_object();
    uint64_t off = 0;
    if (!root) { bd_errf(e, "%s: out of memory building the header", path); return NULL; }
    for (int i = 0; i < n; i++) {
        const bd_st_out *t = order[i];
        uint64_t numel = 1;
        json_t *shape = json_array();
        for (int d = 0; shape && d < t->ndim; d++) {
            numel *= (uint64_t)t->shape[d];
            json_array_append_new(shape, json_integer(t->shape[d]));
        }
        json_t *ent = shape ? json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape, "data_offsets",
                                        (json_int_t)off, (json_int_t)(off + 4 * numel)) : NULL;
        if (!ent || json_object_set_new(root, t->name, ent) != 0) {
            json_decref(root);
            bd_errf(e, "%s: tensor '%s': cannot encode header entry (name not valid UTF-8?)", path, t->name);
            return NULL;
        }
        off += 4 * numel;
    }
    if (n_meta > 0) {
        json_t *meta = json_object();
        json_object_set_new(root, "__metadata__", meta);
        for (int i = 0; i < n_meta; i++) {
            const char *k = meta_kv[2 * i], *v = meta_kv[2 * i + 1];
            if (!meta || !k || !v || json_object_set_new(meta, k, json_string(v)) != 0) {
                json_decref(root);
                bd_errf(e, "%s: metadata pair %d is missing or not valid UTF-8", path, i);
                return NULL;
            }
        }
    }
    return root;
}

/* Sizes, shapes and names must be sane before any byte is written. */
static int check_outputs(const char *path, const bd_st_out *ts, int n, bd_err *e) {
    for (int i = 0; i < n; i++) {
        const bd_st_out *t = &ts[i];
        if (!t->name || strcmp(t->name, "__metadata__") == 0)
            return bd_errf(e, "%s: tensor %d has no usable name", path, i);
        if (t->ndim < 0 || t->ndim > BD_ST_MAX_DIMS)
            return bd_errf(e, "%s: tensor '%s': ndim %d is outside 0..%d", path, t->name, t->ndim, BD_ST_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            int64_t v = t->shape[d];
            if (v < 0 || (v != 0 && numel > INT64_MAX / 8 / v))
                return bd_errf(e, "%s: tensor '%s': bad shape[%d] = %lld", path, t->name, d, (long long)v);
            numel *= v;
        }
        if (numel > 0 && !t->data)
            return bd_errf(e, "%s: tensor '%s': no data", path, t->name);
    }
    return 0;
}

int bd_st_write(const char *path, const bd_st_out *tensors, int n,
                const char *const *meta_kv, int n_meta, bd_err *e) {
    if (n < 0 || n_meta < 0 || (n > 0 && !tensors) || (n_meta > 0 && !meta_kv))
        return bd_errf(e, "%s: bad tensor or metadata list", path);
    if (check_outputs(path, tensors, n, e) != 0) return -1;
    const bd_st_out **order = bd_malloc((size_t)n * sizeof *order, e);
    if (!order) return -1;
    for (int i = 0; i < n; i++) order[i] = &tensors[i];
    qsort(order, (size_t)n, sizeof *order, cmp_out_by_name);
    for (int i = 1; i < n; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            bd_errf(e, "%s: tensor '%s' is given twice", path, order[i]->name);
            free(order);
            return -1;
        }
    json_t *root = build_header(path, order, n, meta_kv, n_meta, e);
    if (!root) { free(order); return -1; }
    char *hdr = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(root);
    if (!hdr) { free(order); return bd_errf(e, "%s: cannot serialise header", path); }
    /* Pad with spaces so the data starts 8-byte aligned, as HF writes it. */
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8;
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)((uint64_t)(hl + pad) >> (8 * i));

    /* Streamed to a temp file (no whole-file buffer), then fsync + rename. */
    char tmp[4096];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = -1, rc = -1;
    if (k < 0 || (size_t)k >= sizeof tmp) { bd_errf(e, "%s: path too long", path); goto done; }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { bd_errf(e, "%s: cannot create: %s", tmp, strerror(errno)); goto done; }
    int bad = write_all(fd, lenbuf, 8) || write_all(fd, hdr, hl) || write_all(fd, "        ", pad);
    for (int i = 0; !bad && i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < order[i]->ndim; d++) numel *= (size_t)order[i]->shape[d];
        if (numel > 0) bad = write_all(fd, order[i]->data, numel * sizeof(float));
    }
    if (bad || fsync(fd) != 0) { bd_errf(e, "%s: write failed: %s", tmp, strerror(errno)); goto done; }
    int cl = close(fd);
    fd = -1;
    if (cl != 0) { bd_errf(e, "%s: write failed: %s", tmp, strerror(errno)); goto done; }
    if (rename(tmp, path) != 0) { bd_errf(e, "%s: rename to %s failed: %s", tmp, path, strerror(errno)); goto done; }
    rc = 0;
done:
    if (fd >= 0) close(fd);
    if (rc != 0 && k > 0 && (size_t)k < sizeof tmp) unlink(tmp);
    free(hdr);
    free(order);
    return rc;
}
