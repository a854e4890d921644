/* runs.c: see runs.h. */
#include "runs.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "runlock.h"
#include "text.h"

static int cmp_run(const void *a, const void *b) {
    return strcmp(((const bd_run_info *)a)->name, ((const bd_run_info *)b)->name);
}

/* The method and plan from config.ini (defaults fill what is absent). */
static void read_config(bd_run_info *r) {
    char path[4400];
    bd_err e = {{0}};
    bd_config *c = malloc(sizeof *c);
    bd_fmt(r->method, sizeof r->method, "?");
    r->total = 0;
    if (!c) return;
    bd_config_defaults(c);
    bd_fmt(path, sizeof path, "%s/config.ini", r->dir);
    if (!bd_config_load(c, path, &e)) {
        bd_fmt(r->method, sizeof r->method, "%s", bd_method_names[c->method & 3]);
        r->total = c->max_steps + (c->method == 0 ? c->retrain_steps : 0);
    }
    free(c);
}

static int exists(const char *dir, const char *name) {
    char path[4400];
    bd_fmt(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Set *field to v; 1 when that changed it. */
static int set_int(int *field, int v) {
    int changed = *field != v;
    *field = v;
    return changed;
}

/* The rows metrics.csv gained; the derived steps and best eval. */
static int follow_metrics(bd_run_info *r) {
    bd_err e = {{0}};
    int restarted, n = bd_run_data_follow(&r->data, &r->mf, &restarted, &e);
    int changed = n > 0 || restarted;
    const char *err = n < 0 ? e.msg : "";
    if (strcmp(err, r->err)) { bd_fmt(r->err, sizeof r->err, "%s", err); changed = 1; }
    if (changed) {
        r->steps = r->data.max_step;
        r->has_best = bd_best_eval(&r->data, &r->best_step, &r->best, &r->best_name) == 0;
    }
    return changed;
}

static int wall_row(void *ctx, double wall, long step, int phase, const char *name, double value, bd_err *e) {
    (void)phase; (void)name; (void)value; (void)e;
    bd_run_info *r = ctx;
    if (isfinite(wall)) { r->wall_s = wall; r->wall_step = step; }
    return 0;
}

/* The last wall_time of metrics.csv, read by its own follower (what the
 * series keep has no wall times). Its errors are follow_metrics' too. */
static int follow_wall(bd_run_info *r) {
    bd_err e = {{0}};
    double was = r->wall_s;
    for (int tries = 0; tries < 2; tries++) {
        int restarted = 0;
        int n = bd_mfollow_poll(&r->wall_mf, 0, wall_row, r, &restarted, &e);
        if (!restarted) { (void)n; break; }
        r->wall_s = NAN; /* replaced or cut: read it again from byte 0 */
        r->wall_step = 0;
    }
    return !(was == r->wall_s || (isnan(was) && isnan(r->wall_s)));
}

int bd_run_follow(bd_run_info *r) {
    int changed = follow_metrics(r);
    changed |= follow_wall(r);
    char path[4400];
    struct stat st;
    bd_fmt(path, sizeof path, "%s/config.ini", r->dir);
    long long mt = stat(path, &st) ? 0 : (long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (mt != r->cfg_mtime_ns) { /* a resume that raised max_steps rewrote it */
        r->cfg_mtime_ns = mt;
        read_config(r);
        changed = 1;
    }
    changed |= set_int(&r->has_config, mt != 0);
    changed |= set_int(&r->done, exists(r->dir, "adapter"));
    changed |= set_int(&r->has_ckpt, exists(r->dir, "checkpoint/state.bin"));
    long pid = bd_runlock_holder(r->dir);
    if (pid != r->running_pid) { r->running_pid = pid; changed = 1; }
    return changed;
}

/* A new entry for out_dir/name (not read yet), or NULL without memory. */
static bd_run_info *push_run(bd_runs *rs, int *cap, const char *out_dir, const char *name) {
    if (rs->n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        bd_run_info *nr = realloc(rs->r, sizeof *nr * (size_t)nc);
        if (!nr) return NULL;
        rs->r = nr;
        *cap = nc;
    }
    bd_run_info *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    bd_fmt(r->name, sizeof r->name, "%s", name);
    bd_fmt(r->dir, sizeof r->dir, "%s/%s", out_dir, name);
    return r;
}

/* A directory of out_dir that holds a readable metrics.csv. */
static int is_run(const char *out_dir, const char *name) {
    if (name[0] == '.') return 0;
    char path[4400];
    bd_fmt(path, sizeof path, "%s/%s/metrics.csv", out_dir, name);
    return access(path, R_OK) == 0;
}

static void read_run(bd_run_info *r) {
    char path[4400];
    bd_err e = {{0}};
    bd_run_data_init(&r->data);
    bd_fmt(path, sizeof path, "%s/metrics.csv", r->dir);
    if (bd_mfollow_init(&r->mf, path, &e)) bd_fmt(r->err, sizeof r->err, "%s", e.msg);
    bd_mfollow_init(&r->wall_mf, path, &e);
    r->wall_s = NAN;
    r->running_pid = 0;
    r->cfg_mtime_ns = -1; /* read config.ini, or say "?" without one */
    bd_run_follow(r);
}

int bd_runs_scan(bd_runs *rs, const char *out_dir, bd_err *e) {
    bd_runs_free(rs);
    DIR *d = opendir(out_dir);
    if (!d) return bd_errf(e, "%s: no runs yet (the directory is not there)", out_dir);
    struct dirent *de;
    int cap = 0;
    while ((de = readdir(d))) {
        if (!is_run(out_dir, de->d_name)) continue;
        if (!push_run(rs, &cap, out_dir, de->d_name)) { closedir(d); return bd_errf(e, "out of memory"); }
    }
    closedir(d);
    if (rs->n) qsort(rs->r, (size_t)rs->n, sizeof *rs->r, cmp_run);
    for (int i = 0; i < rs->n; i++) read_run(&rs->r[i]);
    return 0;
}

static int listed(const bd_runs *rs, const char *name) {
    for (int i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].name, name)) return 1;
    return 0;
}

int bd_runs_add_new(bd_runs *rs, const char *out_dir) {
    DIR *d = opendir(out_dir);
    if (!d) return 0;
    struct dirent *de;
    int cap = rs->n, added = 0; /* the array is full: the first push grows it */
    while ((de = readdir(d))) {
        if (listed(rs, de->d_name) || !is_run(out_dir, de->d_name)) continue;
        bd_run_info *r = push_run(rs, &cap, out_dir, de->d_name);
        if (!r) break;
        read_run(r);
        added++;
    }
    closedir(d);
    if (added) qsort(rs->r, (size_t)rs->n, sizeof *rs->r, cmp_run);
    return added;
}

/* a is part of s, ignoring case */
static int has_word(const char *s, const char *a, size_t n) {
    for (; *s; s++)
        if (!strncasecmp(s, a, n)) return 1;
    return 0;
}

int bd_run_matches(const bd_run_info *r, const char *filter) {
    const char *p = filter;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (!n) break;
        if (!has_word(r->name, p, n) && strncasecmp(r->method, p, n)) return 0;
        p += n;
    }
    return 1;
}

int bd_runs_renamed(bd_runs *rs, int i, const char *new_name) {
    bd_run_info *r = &rs->r[i];
    char out_dir[4096];
    size_t k = strlen(r->dir) - strlen(r->name);
    bd_fmt(out_dir, sizeof out_dir, "%.*s", (int)(k ? k - 1 : 0), r->dir); /* the dir without "/NAME" */
    bd_fmt(r->name, sizeof r->name, "%s", new_name);
    bd_fmt(r->dir, sizeof r->dir, "%s/%s", out_dir, new_name);
    bd_fmt(r->mf.path, sizeof r->mf.path, "%s/metrics.csv", r->dir);     /* the same file (inode), */
    bd_fmt(r->wall_mf.path, sizeof r->wall_mf.path, "%s", r->mf.path);  /* read on from where it was */
    char name[256];
    bd_fmt(name, sizeof name, "%s", new_name);
    qsort(rs->r, (size_t)rs->n, sizeof *rs->r, cmp_run);
    for (int j = 0; j < rs->n; j++)
        if (!strcmp(rs->r[j].name, name)) return j;
    return 0;
}

void bd_runs_remove(bd_runs *rs, int i) {
    if (i < 0 || i >= rs->n) return;
    bd_run_data_free(&rs->r[i].data);
    memmove(&rs->r[i], &rs->r[i + 1], sizeof *rs->r * (size_t)(rs->n - i - 1));
    rs->n--;
}

void bd_runs_free(bd_runs *rs) {
    for (int i = 0; i < rs->n; i++) bd_run_data_free(&rs->r[i].data);
    free(rs->r);
    rs->r = NULL;
    rs->n = 0;
}

int bd_export_csv(const char *path, const char *xname, const bd_export_series *s, int n, bd_err *e) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return bd_errf(e, "out of memory");
    fprintf(f, "series,%s,value\n", xname);
    int rows = 0;
    for (int i = 0; i < n; i++) {
        /* labels are run and metric names: quote them in case of commas */
        for (int j = 0; j < s[i].n; j++, rows++)
            fprintf(f, "\"%s\",%.9g,%.9g\n", s[i].label, s[i].x[j], s[i].y[j]);
    }
    fclose(f);
    int rc = bd_write_file_atomic(path, buf, len, e);
    free(buf);
    return rc ? -1 : rows;
}

void bd_export_path(char *out, size_t n, const char *out_dir, const char *what) {
    char safe[128];
    size_t k = 0;
    for (const char *p = what; *p && k + 1 < sizeof safe; p++)
        safe[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ? *p : '_';
    safe[k] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    bd_fmt(out, n, "%s/export-%s-%s.csv", out_dir, safe, stamp);
}
