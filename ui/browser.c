/* browser.c: see browser.h. */
#include "browser.h"

#include <csv.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "text.h"

int bd_is_model_dir(const char *dir) {
    char p[4200];
    bd_fmt(p, sizeof p, "%s/config.json", dir);
    return access(p, R_OK) == 0;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void bd_path_join(char *out, size_t n, const char *dir, const char *name) {
    if (!strcmp(name, "..")) {
        const char *slash = strrchr(dir, '/');
        const char *last = slash ? slash + 1 : dir;
        if (!strcmp(dir, ".")) bd_fmt(out, n, "..");
        else if (!strcmp(dir, "/")) bd_fmt(out, n, "/");
        else if (!strcmp(last, "..")) bd_fmt(out, n, "%s/..", dir);
        else if (!slash) bd_fmt(out, n, ".");
        else if (slash == dir) bd_fmt(out, n, "/");
        else bd_fmt(out, n, "%.*s", (int)(slash - dir), dir);
        return;
    }
    if (!strcmp(dir, ".") || !dir[0]) bd_fmt(out, n, "%s", name);
    else if (dir[strlen(dir) - 1] == '/') bd_fmt(out, n, "%s%s", dir, name);
    else bd_fmt(out, n, "%s/%s", dir, name);
}

static int has_ext(const char *name, const char *ext) {
    size_t a = strlen(name), b = strlen(ext);
    return a > b && !strcasecmp(name + a - b, ext);
}

static int cmp_entry(const void *pa, const void *pb) {
    const bd_entry *a = pa, *b = pb;
    /* "..", then "." (use this directory), then directories, then files */
    int ra = !strcmp(a->name, "..") ? 0 : !strcmp(a->name, ".") ? 1 : 2;
    int rb = !strcmp(b->name, "..") ? 0 : !strcmp(b->name, ".") ? 1 : 2;
    if (ra != rb) return ra - rb;
    if (a->is_dir != b->is_dir) return b->is_dir - a->is_dir; /* directories first */
    return strcmp(a->name, b->name);
}

int bd_browser_list(bd_browser *b, bd_err *e) {
    DIR *d = opendir(b->dir);
    if (!d) return bd_errf(e, "%s: cannot list this directory", b->dir);
    free(b->e);
    b->e = NULL;
    b->n = 0;
    int cap = 0;
    struct dirent *de = NULL;
    int add_up = strcmp(b->dir, "/") != 0; /* our own "..", first */
    while (add_up || (de = readdir(d))) {
        const char *name = add_up ? ".." : de->d_name;
        if (!add_up && name[0] == '.') continue; /* hidden, ".", and readdir's ".." */
        add_up = 0;
        char path[4400];
        bd_path_join(path, sizeof path, b->dir, name);
        bd_entry en = {{0}, is_dir(path), 0};
        bd_fmt(en.name, sizeof en.name, "%s", name);
        if (en.is_dir) en.is_model = strcmp(name, "..") && bd_is_model_dir(path);
        else if (b->mode == BD_BROWSE_MODEL || b->mode == BD_BROWSE_DIR) continue;
        else if (b->mode == BD_BROWSE_CSV && !has_ext(name, ".csv")) continue;
        else if (b->mode == BD_BROWSE_INI && !has_ext(name, ".ini")) continue;
        if (b->n == cap) {
            cap = cap ? cap * 2 : 64;
            bd_entry *ne = realloc(b->e, sizeof *ne * (size_t)cap);
            if (!ne) { closedir(d); return bd_errf(e, "out of memory"); }
            b->e = ne;
        }
        b->e[b->n++] = en;
    }
    closedir(d);
    if (b->mode == BD_BROWSE_DIR) { /* picking a directory: "." stands for the one listed */
        bd_entry *ne = realloc(b->e, sizeof *ne * (size_t)(b->n + 1));
        if (!ne) return bd_errf(e, "out of memory");
        b->e = ne;
        b->e[b->n++] = (bd_entry){".", 1, 0};
    }
    if (b->n) qsort(b->e, (size_t)b->n, sizeof *b->e, cmp_entry);
    if (b->sel >= b->n) b->sel = b->n ? b->n - 1 : 0;
    if (b->top > b->sel) b->top = b->sel;
    return 0;
}

int bd_browser_open(bd_browser *b, bd_browse_mode mode, const char *start, bd_err *e) {
    memset(b, 0, sizeof *b);
    b->mode = mode;
    char d[4096];
    bd_fmt(d, sizeof d, "%s", start && start[0] ? start : ".");
    size_t len = strlen(d);
    while (len > 1 && d[len - 1] == '/') d[--len] = '\0';
    /* a model directory or a file: list its parent, with it selected */
    char pick[256] = "";
    if (!is_dir(d) || (mode == BD_BROWSE_MODEL && bd_is_model_dir(d))) {
        const char *slash = strrchr(d, '/');
        bd_fmt(pick, sizeof pick, "%s", slash ? slash + 1 : d);
        if (slash) d[slash == d ? 1 : slash - d] = '\0';
        else bd_fmt(d, sizeof d, ".");
        if (!is_dir(d)) bd_fmt(d, sizeof d, ".");
    }
    bd_fmt(b->dir, sizeof b->dir, "%s", d);
    if (bd_browser_list(b, e)) return -1;
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->e[i].name, pick)) b->sel = i;
    return 0;
}

void bd_browser_free(bd_browser *b) {
    free(b->e);
    b->e = NULL;
    b->n = 0;
}

int bd_browser_enter(bd_browser *b, int i, bd_err *e) {
    if (i < 0 || i >= b->n || !b->e[i].is_dir) return -1;
    char old[4096], path[4400];
    bd_fmt(old, sizeof old, "%s", b->dir);
    const char *slash = strrchr(old, '/');
    const char *came_from = slash ? slash + 1 : old;
    int up = !strcmp(b->e[i].name, "..");
    char from[256];
    bd_fmt(from, sizeof from, "%s", came_from);
    bd_path_join(path, sizeof path, b->dir, b->e[i].name);
    bd_fmt(b->dir, sizeof b->dir, "%s", path);
    b->sel = b->top = 0;
    if (bd_browser_list(b, e)) {
        bd_fmt(b->dir, sizeof b->dir, "%s", old);
        bd_browser_list(b, NULL);
        return -1;
    }
    if (up) /* land on the directory we came from */
        for (int k = 0; k < b->n; k++)
            if (!strcmp(b->e[k].name, from)) b->sel = k;
    return 0;
}

/* ---- the CSV header, through libcsv (quotes, BOM) ---- */

typedef struct head_ctx {
    char (*cols)[128];
    int cap, n, done;
} head_ctx;

static void on_field(void *s, size_t len, void *data) {
    head_ctx *h = data;
    if (h->done || h->n >= h->cap) return;
    bd_fmt(h->cols[h->n++], 128, "%.*s", (int)len, s ? (const char *)s : "");
}

static void on_record(int c, void *data) {
    (void)c;
    head_ctx *h = data;
    if (h->n) h->done = 1;
}

int bd_csv_header(const char *path, char (*cols)[128], int cap, int *n, bd_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return bd_errf(e, "%s: cannot open", path);
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    head_ctx h = {cols, cap, 0, 0};
    char buf[4096];
    size_t got, skip = 0;
    for (int first = 1; !h.done && (got = fread(buf, 1, sizeof buf, f)) > 0; first = 0) {
        /* a UTF-8 BOM before the header would glue itself to the first name (and its quotes) */
        skip = first && got >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
        if (csv_parse(&p, buf + skip, got - skip, on_field, on_record, &h) != got - skip) break;
    }
    if (!h.done) csv_fini(&p, on_field, on_record, &h);
    csv_free(&p);
    fclose(f);
    *n = h.n;
    if (!h.n) return bd_errf(e, "%s: no header row", path);
    return 0;
}
