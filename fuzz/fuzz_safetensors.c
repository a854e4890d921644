/* fuzz_safetensors.c: libFuzzer harness for the safetensors reader.
 * Each input is a whole file. The in-memory parser and the file path
 * (bd_st_open + bd_st_read_f32) must agree; every tensor of an accepted
 * file must be readable and equal to the in-memory conversion; and
 * rewriting the tensors as F32 must read back bit for bit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_in[64], g_out[64];

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static void remove_temps(void) {
    unlink(g_in);
    unlink(g_out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_in, sizeof g_in, "%s/fuzz_st_XXXXXX", dir);
    int fd = mkstemp(g_in);
    CHECK(fd >= 0);
    close(fd);
    snprintf(g_out, sizeof g_out, "%s.out", g_in);
    atexit(remove_temps);
    return 0;
}

static void write_input(const uint8_t *data, size_t size) {
    FILE *f = fopen(g_in, "wb");
    CHECK(f);
    CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    CHECK(fclose(f) == 0);
}

/* Rewrite st's float tensors (already converted into vals) as F32 and
 * check they read back identically. */
static void check_rewrite(const bd_st *st, float *const *vals) {
    int n = 0;
    bd_st_out *out = calloc((size_t)st->n_tensors + 1, sizeof *out);
    CHECK(out);
    for (int i = 0; i < st->n_tensors; i++) {
        const bd_st_tensor *t = &st->tensors[i];
        if (!vals[i]) continue;
        out[n].name = t->name;
        out[n].data = vals[i];
        out[n].ndim = t->ndim;
        memcpy(out[n].shape, t->shape, sizeof t->shape);
        n++;
    }
    const char *meta[] = {"format", "pt"};
    bd_err e = {0};
    CHECK(bd_st_write(g_out, out, n, meta, 1, &e) == 0);
    bd_st back;
    CHECK(bd_st_open(&back, g_out, &e) == 0);
    CHECK(back.n_tensors == n);
    for (int i = 0; i < n; i++) {
        const bd_st_tensor *t = bd_st_find(&back, out[i].name);
        CHECK(t && t->dtype == BD_DT_F32 && t->ndim == out[i].ndim);
        float *got = malloc((size_t)t->numel * sizeof *got + 1);
        CHECK(got);
        CHECK(bd_st_read_f32(&back, t, got, &e) == 0);
        CHECK(memcmp(got, out[i].data, t->nbytes) == 0);
        free(got);
    }
    bd_st_close(&back);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bd_st mem = {0}, st;
    bd_err e1 = {0}, e2 = {0};
    int rc_mem = bd_st_parse_header(&mem, 0, "fuzz", data, size, size, &e1);
    write_input(data, size);
    int rc_file = bd_st_open(&st, g_in, &e2);
    if (rc_mem != rc_file) {
        fprintf(stderr, "memory: %d %s\nfile: %d %s\n", rc_mem, e1.msg, rc_file, e2.msg);
        abort();
    }
    if (rc_mem != 0) {
        CHECK(strncmp(e1.msg, "fuzz: ", 6) == 0);
        CHECK(mem.n_tensors == 0 && mem.tensors == NULL);
        return 0;
    }
    CHECK(mem.n_tensors == st.n_tensors);

    float **vals = calloc((size_t)st.n_tensors + 1, sizeof *vals);
    CHECK(vals);
    for (int i = 0; i < st.n_tensors; i++) {
        const bd_st_tensor *t = &st.tensors[i], *m = bd_st_find(&mem, t->name);
        CHECK(m && m->offset == t->offset && m->nbytes == t->nbytes && m->dtype == t->dtype);
        CHECK(t->offset <= size && t->nbytes <= size - t->offset);
        CHECK(t->nbytes == (size_t)t->numel * bd_dtype_size(t->dtype));
        float *got = malloc((size_t)t->numel * sizeof *got + 1);
        float *want = malloc((size_t)t->numel * sizeof *want + 1);
        CHECK(got && want);
        bd_err e = {0};
        int rc = bd_st_read_f32(&st, t, got, &e);
        int rc_conv = bd_dtype_to_f32(t->dtype, data + t->offset, (size_t)t->numel, want, &e);
        CHECK(rc == rc_conv);
        if (rc == 0) {
            CHECK(memcmp(got, want, (size_t)t->numel * sizeof *got) == 0);
            vals[i] = got;
        } else {
            free(got);
        }
        free(want);
    }
    check_rewrite(&st, vals);
    for (int i = 0; i < st.n_tensors; i++) free(vals[i]);
    free(vals);
    bd_st_close(&st);
    bd_st_close(&mem);
    return 0;
}
