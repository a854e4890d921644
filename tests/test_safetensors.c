/* test_safetensors.c: round trips, dtype conversions, every header
 * validation error, and sharded models. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

static char g_dir[] = "/tmp/bd_st_test_XXXXXX";

static const char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", g_dir, name);
    return p;
}

/* A file made of raw bytes. */
static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A safetensors file from a header string (length prefix added) and data. */
static void write_st(const char *path, const char *header, const void *data, size_t n) {
    size_t hl = strlen(header);
    uint8_t *buf = malloc(8 + hl + n);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (n) memcpy(buf + 8 + hl, data, n);
    write_bytes(path, buf, 8 + hl + n);
    free(buf);
}

static void assert_contains(const char *msg, const char *want) {
    if (!strstr(msg, want)) fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

/* ---- round trip ---- */

static void test_roundtrip_exact(void **state) {
    (void)state;
    float w[6] = {1.5f, -2.25f, 3e-38f, 1e30f, -0.0f, 7.0f}, s = 42.0f, b[3] = {0.1f, 0.2f, 0.3f};
    bd_st_out out[] = {
        {.name = "zeta.weight", .data = w, .ndim = 2, .shape = {2, 3}},
        {.name = "alpha", .data = &s, .ndim = 0},
        {.name = "empty", .data = NULL, .ndim = 2, .shape = {0, 5}},
        {.name = "mid.bias", .data = b, .ndim = 1, .shape = {3}},
    };
    const char *meta[] = {"format", "pt", "note", "bidora"};
    const char *path = tpath("rt.safetensors");
    bd_err e = {0};
    assert_int_equal(bd_st_write(path, out, 4, meta, 2, &e), 0);

    /* Header: 8-byte multiple, sorted keys, tensors laid out in name order. */
    size_t len;
    char *raw = bd_read_file(path, &len, &e);
    assert_non_null(raw);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (uint8_t)raw[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(len, 8 + hl + 4 * (6 + 1 + 3));
    char *hdr = strndup(raw + 8, hl);
    assert_true(strstr(hdr, "\"alpha\"") < strstr(hdr, "\"empty\""));
    assert_true(strstr(hdr, "\"mid.bias\"") < strstr(hdr, "\"zeta.weight\""));
    assert_contains(hdr, "\"__metadata__\":{\"format\":\"pt\",\"note\":\"bidora\"}");
    assert_contains(hdr, "\"alpha\":{\"data_offsets\":[0,4],\"dtype\":\"F32\",\"shape\":[]}");
    assert_contains(hdr, "\"empty\":{\"data_offsets\":[4,4],\"dtype\":\"F32\",\"shape\":[0,5]}");
    assert_contains(hdr, "\"mid.bias\":{\"data_offsets\":[4,16]");
    assert_contains(hdr, "\"zeta.weight\":{\"data_offsets\":[16,40]");
    free(hdr);
    free(raw);

    bd_st st;
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(st.n_tensors, 4);
    assert_int_equal(st.n_files, 1);
    const bd_st_tensor *t = bd_st_find(&st, "zeta.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, BD_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->numel, 6);
    assert_int_equal(t->offset, 8 + hl + 16);
    float got[6];
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, w, sizeof w);
    t = bd_st_find(&st, "alpha");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, &s, 4);
    t = bd_st_find(&st, "empty");
    assert_non_null(t);
    assert_int_equal(t->numel, 0);
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    t = bd_st_find(&st, "mid.bias");
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, b, sizeof b);
    assert_null(bd_st_find(&st, "__metadata__"));
    assert_null(bd_st_find(&st, "nope"));
    bd_st_close(&st);
    assert_int_equal(st.n_tensors, 0);
}

static void test_write_replaces_and_rejects(void **state) {
    (void)state;
    float a = 1, b2 = 2;
    bd_err e = {0};
    const char *path = tpath("over.safetensors");
    bd_st_out one = {.name = "a", .data = &a, .ndim = 1, .shape = {1}};
    assert_int_equal(bd_st_write(path, &one, 1, NULL, 0, &e), 0);
    bd_st_out two = {.name = "b", .data = &b2, .ndim = 1, .shape = {1}};
    assert_int_equal(bd_st_write(path, &two, 1, NULL, 0, &e), 0);
    bd_st st;
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(st.n_tensors, 1);
    assert_non_null(bd_st_find(&st, "b"));
    bd_st_close(&st);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);

    bd_st_out dup[] = {one, one};
    assert_int_equal(bd_st_write(path, dup, 2, NULL, 0, &e), -1);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "'a' is given twice");
    bd_st_out neg = {.name = "neg", .data = &a, .ndim = 2, .shape = {1, -3}};
    assert_int_equal(bd_st_write(path, &neg, 1, NULL, 0, &e), -1);
    assert_contains(e.msg, "'neg': bad shape[1]");
    bd_st_out nodata = {.name = "nd", .data = NULL, .ndim = 1, .shape = {4}};
    assert_int_equal(bd_st_write(path, &nodata, 1, NULL, 0, &e), -1);
    assert_contains(e.msg, "'nd': no data");
    bd_st_out badutf = {.name = "bad\xff", .data = &a, .ndim = 1, .shape = {1}};
    assert_int_equal(bd_st_write(path, &badutf, 1, NULL, 0, &e), -1);
    assert_contains(e.msg, "not valid UTF-8");
    assert_int_equal(bd_st_write("/nonexistent_dir_bd/x.safetensors", &one, 1, NULL, 0, &e), -1);
    assert_contains(e.msg, "/nonexistent_dir_bd/x.safetensors");
    assert_contains(e.msg, "cannot create");
    /* The failed writes left the last good file alone. */
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_non_null(bd_st_find(&st, "b"));
    bd_st_close(&st);
}

/* ---- conversions ---- */

/* Every half bit pattern against the textbook formula. */
static void test_f16_exhaustive(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, ex = (h >> 10) & 31, m = h & 1023;
        float got = bd_f16_to_f32((uint16_t)h);
        if (ex == 31) {
            if (m == 0) assert_true(isinf(got) && (signbit(got) != 0) == s);
            else assert_true(isnan(got));
            continue;
        }
        double want = ex == 0 ? ldexp(m, -24) : ldexp(1024 + m, ex - 25);
        if (s) want = -want;
        if ((double)got != want || (signbit(got) != 0) != s)
            fail_msg("f16 0x%04x: got %.10g want %.10g", h, (double)got, want);
    }
}

static void test_f16_bf16_f64_from_file(void **state) {
    (void)state;
    const uint16_t f16[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x3555};
    const float want16[] = {1.0f, -2.0f, 65504.0f, 5.9604645e-8f, 6.0975552e-5f, 6.1035156e-5f,
                            -0.0f, INFINITY, -INFINITY, NAN, 0.33325195f};
    const uint16_t bf16[] = {0x3F80, 0xC040, 0x7F80, 0x0001, 0x4049};
    const float wantbf[] = {1.0f, -3.0f, INFINITY, 9.1835496e-41f, 3.140625f};
    const double f64[] = {1.5, -1e300, 1e-50, 0.1};
    const float want64[] = {1.5f, -INFINITY, 0.0f, 0.1f};
    uint8_t data[sizeof f16 + sizeof bf16 + sizeof f64];
    memcpy(data, f64, sizeof f64);
    memcpy(data + sizeof f64, f16, sizeof f16);
    memcpy(data + sizeof f64 + sizeof f16, bf16, sizeof bf16);
    const char *path = tpath("conv.safetensors");
    /* write_st does not pad the header, so this data starts at an odd byte. */
    write_st(path,
             "{\"h\":{\"dtype\":\"F16\",\"shape\":[11],\"data_offsets\":[32,54]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[54,64]},"
             "\"d\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]}}",
             data, sizeof data);
    bd_st st;
    bd_err e = {0};
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    float got[11];
    const bd_st_tensor *t = bd_st_find(&st, "h");
    assert_int_equal(t->dtype, BD_DT_F16);
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    for (int i = 0; i < 11; i++) {
        if (isnan(want16[i])) assert_true(isnan(got[i]));
        else assert_memory_equal(&got[i], &want16[i], 4);
    }
    t = bd_st_find(&st, "b");
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, wantbf, sizeof wantbf);
    t = bd_st_find(&st, "d");
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, want64, sizeof want64);
    bd_st_close(&st);
}

/* More than one conversion chunk (1 MiB), so chunk offsets must line up. */
static void test_big_f16_chunks(void **state) {
    (void)state;
    enum { N = 700001 };
    uint16_t *h = malloc(N * 2);
    float *got = malloc(N * 4);
    assert_true(h && got);
    for (int i = 0; i < N; i++) h[i] = (uint16_t)(i * 7919u);
    char hdr[128];
    snprintf(hdr, sizeof hdr, "{\"x\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%d]}}", N, 2 * N);
    const char *path = tpath("big.safetensors");
    write_st(path, hdr, h, N * 2);
    bd_st st;
    bd_err e = {0};
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(bd_st_read_f32(&st, &st.tensors[0], got, &e), 0);
    for (int i = 0; i < N; i++) {
        float w = bd_f16_to_f32(h[i]);
        if (memcmp(&w, &got[i], 4) != 0) fail_msg("element %d differs", i);
    }
    bd_st_close(&st);
    free(h);
    free(got);
}

/* ---- accepted oddities ---- */

static void test_padding_and_metadata_accepted(void **state) {
    (void)state;
    float v[2] = {3, 4};
    const char *path = tpath("pad.safetensors");
    write_st(path, "{\"__metadata__\":{\"format\":\"pt\"},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}      ",
             v, sizeof v);
    bd_st st;
    bd_err e = {0};
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(st.n_tensors, 1);
    float got[2];
    assert_int_equal(bd_st_read_f32(&st, bd_st_find(&st, "v"), got, &e), 0);
    assert_memory_equal(got, v, sizeof v);
    bd_st_close(&st);
    /* integers beyond 64 bits are valid JSON: a big one in the free-form metadata is fine */
    write_st(path, "{\"__metadata__\":{\"n\":123456789012345678901234567890},\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
             v, sizeof v);
    if (bd_st_open(&st, path, &e) != 0) fail_msg("%s", e.msg);
    assert_int_equal(st.n_tensors, 1);
    bd_st_close(&st);
    /* No tensors at all is a valid (empty) file. */
    write_st(path, "{}", NULL, 0);
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(st.n_tensors, 0);
    bd_st_close(&st);
}

/* ---- rejected headers ---- */

struct bad_case {
    const char *header;
    size_t data_len;
    const char *want[2]; /* phrases the message must contain, besides the file name */
};

static const struct bad_case bad_cases[] = {
    {"{abc", 0, {"not valid JSON", NULL}},
    {"[1,2]", 0, {"not a JSON object", NULL}},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{}}", 4, {"not valid JSON", "duplicate"}},
    {"{\"w\":[1]}", 0, {"tensor 'w'", "not an object"}},
    {"{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, {"tensor 'w'", "\"dtype\" is missing"}},
    {"{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, {"tensor 'w'", "unknown dtype \"Q4\""}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", 12, {"tensor 'w'", "\"shape\""}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, {"tensor 'w'", "bad shape: shape[0]"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8, {"tensor 'w'", "bad shape: shape[1]"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[9,1,1,1,1,1,1,1,1],\"data_offsets\":[0,36]}}", 36, {"tensor 'w'", "9 dimensions"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, {"tensor 'w'", "overflows"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, {"tensor 'w'", "not two integers"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4, {"tensor 'w'", "not two integers"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, {"tensor 'w'", "not two integers"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, {"tensor 'w'", "negative"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, {"tensor 'w'", "begin 8 > end 4"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 16, {"tensor 'w'", "past the end of the file"}},
    {"{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, {"tensor 'w'", "data is 8 bytes but shape [2] of F16 needs 4"}},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, {"tensors 'a' and 'b' overlap", NULL}},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, {"offsets not contiguous", "before tensor 'b'"}},
    {"{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, {"offsets not contiguous", "before tensor 'b'"}},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, {"offsets not contiguous", "after the last tensor 'a'"}},
    {"{}", 4, {"offsets not contiguous", "no tensors"}},
    /* integers beyond 64 bits are valid JSON (read as reals): refused by name, not as malformed */
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551620]}}", 4,
     {"tensor 'w'", "data_offsets end 18446744073709551616 is beyond 64-bit integers"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-99999999999999999999,4]}}", 4,
     {"tensor 'w'", "data_offsets begin -100000000000000000000 is beyond"}},
    {"{\"w\":{\"dtype\":\"U8\",\"shape\":[100000000000000000000000000000],\"data_offsets\":[0,1]}}", 1,
     {"tensor 'w'", "shape[0] = 99999999999999991433150857216 is beyond 64-bit integers"}},
};

static void test_bad_headers(void **state) {
    (void)state;
    static uint8_t zeros[64];
    const char *path = tpath("bad.safetensors");
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        write_st(path, c->header, zeros, c->data_len);
        bd_st st;
        bd_err e = {0};
        if (bd_st_open(&st, path, &e) == 0) fail_msg("case %zu accepted: %s", i, c->header);
        assert_int_equal(st.n_tensors, 0);
        assert_null(st.tensors);
        if (strncmp(e.msg, path, strlen(path)) != 0) fail_msg("case %zu: \"%s\" does not start with the path", i, e.msg);
        for (int k = 0; k < 2; k++)
            if (c->want[k] && !strstr(e.msg, c->want[k]))
                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, e.msg, c->want[k]);
    }
}

static void test_bad_lengths(void **state) {
    (void)state;
    const char *path = tpath("short.safetensors");
    bd_st st;
    bd_err e = {0};
    write_bytes(path, "\x10\0\0\0\0", 5);
    assert_int_equal(bd_st_open(&st, path, &e), -1);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "shorter than the 8-byte header length");

    write_bytes(path, "", 0);
    assert_int_equal(bd_st_open(&st, path, &e), -1);
    assert_contains(e.msg, "file is 0 bytes");

    /* Header length 1000 in a 20-byte file. */
    write_bytes(path, "\xe8\x03\0\0\0\0\0\0{}          ", 20);
    assert_int_equal(bd_st_open(&st, path, &e), -1);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "header length 1000 runs past the end of the file (20 bytes");

    /* Length 2^63 + 8 would wrap a naive 8 + N. */
    write_bytes(path, "\x08\0\0\0\0\0\0\x80{}      ", 16);
    assert_int_equal(bd_st_open(&st, path, &e), -1);
    assert_contains(e.msg, "runs past the end");

    /* An absurd length only shows in a huge file: tell the parser so. */
    const uint8_t huge[8] = {0, 0, 0, 0x40, 0, 0, 0, 0}; /* 1 GiB header */
    memset(&st, 0, sizeof st);
    assert_int_equal(bd_st_parse_header(&st, 0, "huge.safetensors", huge, 8, 1ull << 40, &e), -1);
    assert_contains(e.msg, "huge.safetensors: header length 1073741824 is absurd");

    /* Caller handed fewer header bytes than the length says. */
    assert_int_equal(bd_st_parse_header(&st, 0, "part.safetensors", (const uint8_t *)"\x04\0\0\0\0\0\0\0{}", 10, 12, &e), -1);
    assert_contains(e.msg, "part.safetensors: only 2 of the 4 header bytes");

    assert_int_equal(bd_st_open(&st, tpath("missing.safetensors"), &e), -1);
    assert_contains(e.msg, "missing.safetensors: cannot open");
    assert_int_equal(bd_st_open(&st, g_dir, &e), -1);
    assert_contains(e.msg, "not a regular file");
}

/* A failed parse leaves earlier tensors intact (the sharded path relies on it). */
static void test_parse_failure_rolls_back(void **state) {
    (void)state;
    bd_st st = {0};
    bd_err e = {0};
    const char good[] = "\x40\0\0\0\0\0\0\0{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}           x";
    assert_int_equal(bd_st_parse_header(&st, 3, "g", (const uint8_t *)good, sizeof good - 1, sizeof good - 1, &e), 0);
    assert_int_equal(st.n_tensors, 1);
    assert_int_equal(st.tensors[0].file_index, 3);
    assert_int_equal(st.tensors[0].offset, 72);
    const char bad[] = "\x40\0\0\0\0\0\0\0{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"c\":{}}    x";
    assert_int_equal(bd_st_parse_header(&st, 4, "bfile", (const uint8_t *)bad, sizeof bad - 1, sizeof bad - 1, &e), -1);
    assert_contains(e.msg, "bfile: tensor 'c'");
    assert_int_equal(st.n_tensors, 1);
    assert_string_equal(st.tensors[0].name, "a");
    /* No file is open for it: reading says so instead of crashing. */
    float f;
    assert_int_equal(bd_st_read_f32(&st, &st.tensors[0], &f, &e), -1);
    assert_contains(e.msg, "tensor 'a'");
    bd_st_close(&st);

    /* A fresh st that fails is left empty: nothing allocated to leak. */
    assert_int_equal(bd_st_parse_header(&st, 0, "bfile", (const uint8_t *)bad, sizeof bad - 1, sizeof bad - 1, &e), -1);
    assert_int_equal(st.n_tensors, 0);
    assert_null(st.tensors);
}

static void test_read_errors(void **state) {
    (void)state;
    const char *path = tpath("ints.safetensors");
    int64_t v[2] = {1, 2};
    write_st(path, "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", v, sizeof v);
    bd_st st;
    bd_err e = {0};
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    float got[4];
    assert_int_equal(bd_st_read_f32(&st, bd_st_find(&st, "ids"), got, &e), -1);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "tensor 'ids': dtype I64 is not a floating type");
    bd_st_close(&st);

    /* File truncated after opening. */
    float f[4] = {1, 2, 3, 4};
    bd_st_out o = {.name = "t", .data = f, .ndim = 1, .shape = {4}};
    path = tpath("trunc.safetensors");
    assert_int_equal(bd_st_write(path, &o, 1, NULL, 0, &e), 0);
    assert_int_equal(bd_st_open(&st, path, &e), 0);
    assert_int_equal(truncate(path, (off_t)(st.tensors[0].offset + 6)), 0);
    assert_int_equal(bd_st_read_f32(&st, &st.tensors[0], got, &e), -1);
    assert_contains(e.msg, path);
    assert_contains(e.msg, "tensor 't': unexpected end of file");
    bd_st_close(&st);
}

/* ---- sharded ---- */

static void write_shards(void) {
    float a[2] = {1, 2}, b[3] = {3, 4, 5}, c[4] = {6, 7, 8, 9};
    bd_err e = {0};
    bd_st_out s1[] = {{.name = "a", .data = a, .ndim = 1, .shape = {2}},
                      {.name = "b", .data = b, .ndim = 2, .shape = {1, 3}}};
    bd_st_out s2[] = {{.name = "c", .data = c, .ndim = 2, .shape = {2, 2}}};
    assert_int_equal(bd_st_write(tpath("model-00001-of-00002.safetensors"), s1, 2, NULL, 0, &e), 0);
    assert_int_equal(bd_st_write(tpath("model-00002-of-00002.safetensors"), s2, 1, NULL, 0, &e), 0);
}

static void write_index(const char *name, const char *json) {
    write_bytes(tpath(name), json, strlen(json));
}

static void test_sharded(void **state) {
    (void)state;
    write_shards();
    write_index("model.safetensors.index.json",
                "{\"metadata\":{\"total_size\":36},\"weight_map\":{"
                "\"c\":\"model-00002-of-00002.safetensors\",\"a\":\"model-00001-of-00002.safetensors\","
                "\"b\":\"model-00001-of-00002.safetensors\"}}");
    bd_st st;
    bd_err e = {0};
    if (bd_st_open(&st, tpath("model.safetensors.index.json"), &e) != 0) fail_msg("%s", e.msg);
    assert_int_equal(st.n_files, 2);
    assert_int_equal(st.n_tensors, 3);
    const bd_st_tensor *t = bd_st_find(&st, "c");
    assert_non_null(t);
    assert_non_null(strstr(st.files[t->file_index], "model-00002-of-00002.safetensors"));
    float got[4], want[4] = {6, 7, 8, 9};
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_memory_equal(got, want, sizeof want);
    t = bd_st_find(&st, "b");
    assert_non_null(strstr(st.files[t->file_index], "model-00001-of-00002.safetensors"));
    assert_int_equal(bd_st_read_f32(&st, t, got, &e), 0);
    assert_true(got[0] == 3 && got[1] == 4 && got[2] == 5);
    bd_st_close(&st);
    /* integers beyond 64 bits in the index's metadata are valid JSON (issue 11) */
    write_index("big.safetensors.index.json",
                "{\"metadata\":{\"total_size\":1000000000000000019884624838656},\"weight_map\":{"
                "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00001-of-00002.safetensors\","
                "\"c\":\"model-00002-of-00002.safetensors\"}}");
    if (bd_st_open(&st, tpath("big.safetensors.index.json"), &e) != 0) fail_msg("%s", e.msg);
    assert_int_equal(st.n_tensors, 3);
    bd_st_close(&st);
}

static void expect_index_error(const char *json, const char *want1, const char *want2) {
    const char *path = tpath("bad.safetensors.index.json");
    write_index("bad.safetensors.index.json", json);
    bd_st st;
    bd_err e = {0};
    assert_int_equal(bd_st_open(&st, path, &e), -1);
    assert_int_equal(st.n_files, 0);
    assert_int_equal(st.n_tensors, 0);
    assert_contains(e.msg, want1);
    if (want2) assert_contains(e.msg, want2);
}

static void test_sharded_errors(void **state) {
    (void)state;
    write_shards();
    /* d is promised by shard 2, which lacks it: the message names both. */
    expect_index_error("{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                       "\"d\":\"model-00002-of-00002.safetensors\"}}",
                       "bad.safetensors.index.json: tensor 'd'", "model-00002-of-00002.safetensors, but that shard does not contain it");
    expect_index_error("{\"weight_map\":{\"a\":\"model-00002-of-00002.safetensors\",\"b\":\"model-00001-of-00002.safetensors\"}}",
                       "tensor 'a'", "it is in another shard");
    expect_index_error("{\"weight_map\":{\"a\":\"model-00003-of-00002.safetensors\"}}",
                       "model-00003-of-00002.safetensors: cannot open", NULL);
    expect_index_error("{\"metadata\":{}}", "bad.safetensors.index.json: no \"weight_map\"", NULL);
    expect_index_error("{\"weight_map\":{\"a\":3}}", "weight_map entry 'a' is not a shard file name", NULL);
    expect_index_error("{\"weight_map\":", "bad.safetensors.index.json: not valid JSON", NULL);

    /* The same tensor in two shards. */
    float x = 1;
    bd_err e = {0};
    bd_st_out dup = {.name = "c", .data = &x, .ndim = 0};
    assert_int_equal(bd_st_write(tpath("other.safetensors"), &dup, 1, NULL, 0, &e), 0);
    expect_index_error("{\"weight_map\":{\"c\":\"model-00002-of-00002.safetensors\",\"x\":\"other.safetensors\"}}",
                       "tensor 'c' is in two shards", "other.safetensors");
    /* A broken shard: its own message, naming the shard and tensor. */
    write_st(tpath("broken.safetensors"), "{\"q\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", "12345678", 8);
    expect_index_error("{\"weight_map\":{\"q\":\"broken.safetensors\"}}", "broken.safetensors: tensor 'q'", NULL);
}

/* ---- fixtures ---- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_exact),
        cmocka_unit_test(test_write_replaces_and_rejects),
        cmocka_unit_test(test_f16_exhaustive),
        cmocka_unit_test(test_f16_bf16_f64_from_file),
        cmocka_unit_test(test_big_f16_chunks),
        cmocka_unit_test(test_padding_and_metadata_accepted),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_parse_failure_rolls_back),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_sharded_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
