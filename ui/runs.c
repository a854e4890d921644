/* runs.c: see runs.h. */
#include "runs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "runlock.h"
#include "text.h"

static int cmp_run(const void *a, const void *b) {
    return strcmp(((const bd_run_info *)a)->name, ((const bd_run_info *)b)->name);
}

static void read_run(bd_run_info *r) {
    char path[4400];
    bd_err e = {{0}};
    bd_fmt(path, sizeof path, "%s/metrics.csv", r->dir);
    bd_run_data_init(&r->data);
    if (bd_run_data_load_csv(&r->data, path, &e)) bd_fmt(r->err, sizeof r->err, "%s", e.msg);
    r->steps = r->data.max_step;
    r->has_best = bd_best_eval(&r->data, &r->best_step, &r->best, &r->best_name) == 0;
    /* the method and plan from its config.ini (defaults fill what is absent) */
    bd_config *c = malloc(sizeof *c);
    bd_fmt(r->method, sizeof r->method, "?");
    if (c) {
        bd_config_defaults(c);
        bd_fmt(path, sizeof path, "%s/config.ini", r->dir);
        if (!bd_config_load(c, path, &e)) {
            bd_fmt(r->method, sizeof r->method, "%s", bd_method_names[c->method & 3]);
            r->total = c->max_steps + (c->method == 0 ? c->retrain_steps : 0);
        }
        free(c);
    }
    bd_fmt(path, sizeof path, "%s/adapter", r->dir);
    r->done = access(path, F_OK) == 0;
    bd_fmt(path, sizeof path, "%s/checkpoint/state.bin", r->dir);
    r->has_ckpt = access(path, F_OK) == 0;
    bd_fmt(path, sizeof path, "%s/config.ini", r->dir);
    r->has_config = access(path, F_OK) == 0;
    r->running_pid = bd_runlock_holder(r->dir);
}

int bd_runs_scan(bd_runs *rs, const char *out_dir, bd_err *e) {
    bd_runs_free(rs);
    DIR *d = opendir(out_dir);
    if (!d) return bd_errf(e, "%s: no runs yet (the directory is not there)", out_dir);
    struct dirent *de;
    int cap = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[4400];
        bd_fmt(path, sizeof path, "%s/%s/metrics.csv", out_dir, de->d_name);
        if (access(path, R_OK)) continue;
        if (rs->n == cap) {
            cap = cap ? cap * 2 : 16;
            bd_run_info *nr = realloc(rs->r, sizeof *nr * (size_t)cap);
            if (!nr) { closedir(d); return bd_errf(e, "out of memory"); }
            rs->r = nr;
        }
        bd_run_info *r = &rs->r[rs->n++];
        memset(r, 0, sizeof *r);
        bd_fmt(r->name, sizeof r->name, "%s", de->d_name);
        bd_fmt(r->dir, sizeof r->dir, "%s/%s", out_dir, de->d_name);
    }
    closedir(d);
    if (rs->n) qsort(rs->r, (size_t)rs->n, sizeof *rs->r, cmp_run);
    for (int i = 0; i < rs->n; i++) read_run(&rs->r[i]);
    return 0;
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
