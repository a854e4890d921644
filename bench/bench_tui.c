/* bench_tui: the time to draw one frame of the workbench's run view at
 * 200x60 (and 80x24), into a curses screen opened with newterm on
 * /dev/null, for a synthetic run the size of a long MiniLM run (20k
 * steps, 6 layers x 2 modules of weight-decomposition series, a 384-row
 * magnitude vector). Three cases: a steady frame (nothing changed), a
 * frame after one new step of data (the usual case), and a full repaint
 * (after a resize). Reports ms/frame; asserts nothing.
 * usage: bench_tui [STEPS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One step of every metric the trainer writes, with eval and wd every 50. */
static void add_step(bd_run_data *d, long s) {
    double t = (double)s;
    bd_run_data_add(d, "train/loss", s, 0.7 * exp(-t / 4000) + 0.05 * sin(t * 0.37));
    bd_run_data_add(d, "val/loss", s, 0.75 * exp(-t / 5000) + 0.04 * cos(t * 0.21));
    bd_run_data_add(d, "upper/hypergrad_norm", s, 2 + sin(t * 0.013));
    bd_run_data_add(d, "lr", s, 5e-4 * (1 - t / 40000));
    if (s % 50) return;
    bd_run_data_add(d, "eval/loss", s, 0.72 * exp(-t / 4500));
    bd_run_data_add(d, "eval/accuracy", s, 0.9 - 0.4 * exp(-t / 3000));
    bd_run_data_add(d, "eval/f1", s, 0.88 - 0.4 * exp(-t / 3000));
    bd_run_data_add(d, "eval/mcc", s, 0.8 - 0.8 * exp(-t / 3000));
    for (int l = 0; l < 6; l++)
        for (int m = 0; m < 2; m++) {
            char n[64];
            const char *mod = m ? "value" : "query";
            double dd = 1e-4 * (l + 1) * t / 1000;
            snprintf(n, sizeof n, "wd/layer.%d.%s/dD", l, mod);
            bd_run_data_add(d, n, s, dd);
            snprintf(n, sizeof n, "wd/layer.%d.%s/dM", l, mod);
            bd_run_data_add(d, n, s, 0.02 - 1.8 * dd + 1e-4 * l);
        }
}

static double time_frames(bd_app *a, int frames, int mode, long *step) {
    double t0 = now_s();
    for (int i = 0; i < frames; i++) {
        if (mode == 1) { /* one new step, as the channel delivers it */
            add_step(&a->live->data, ++*step);
            a->live->st.step = *step;
        } else if (mode == 2) {
            clearok(curscr, TRUE); /* a resize: everything is sent again */
        }
        bd_app_draw(a);
    }
    return (now_s() - t0) * 1e3 / frames;
}

static int run_size(bd_app *a, int rows, int cols, long steps, bd_glyphs g) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", rows);
    setenv("LINES", buf, 1);
    snprintf(buf, sizeof buf, "%d", cols);
    setenv("COLUMNS", buf, 1);
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    bd_term_opts o = {g == BD_GLYPH_ASCII, g == BD_GLYPH_BLOCK, 0};
    if (!out || !in || bd_term_open(&a->term, &o, "xterm-256color", out, in)) {
        printf("skipped: cannot open a curses screen on /dev/null (terminfo xterm-256color?)\n");
        if (out) fclose(out);
        if (in) fclose(in);
        return -1;
    }
    a->term.glyphs = g;
    a->rebuild = 1;
    bd_app_build_windows(a);
    long step = steps;
    bd_app_draw(a); /* warm-up: the first frame sends the whole screen */
    double steady = time_frames(a, 50, 0, &step);
    double update = time_frames(a, 50, 1, &step);
    double full = time_frames(a, 20, 2, &step);
    static const char *const gname[] = {"braille", "block", "ascii"};
    printf("%3dx%-3d %-8s  steady %7.3f ms   new step %7.3f ms   full repaint %7.3f ms\n", cols, rows, gname[g],
           steady, update, full);
    bd_app_free_windows(a);
    bd_term_close(&a->term);
    fclose(out);
    fclose(in);
    return 0;
}

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 20000;
    bd_app *a = calloc(1, sizeof *a);
    bd_live *lv = calloc(1, sizeof *lv);
    bd_channel *ch = calloc(1, sizeof *ch);
    if (!a || !lv || !ch || bd_channel_init(ch)) return 2;
    bd_live_init(lv);
    a->live = lv;
    a->ch = ch;
    bd_config_defaults(&a->cfg);
    snprintf(a->cfg_path, sizeof a->cfg_path, "configs/default.ini");
    snprintf(a->run_method, sizeof a->run_method, "bidora");
    snprintf(a->run_backend, sizeof a->run_backend, "cpu");
    for (long s = 1; s <= steps; s++) add_step(&lv->data, s);
    lv->st = (bd_status){.state = BD_RUN_RUNNING, .step = steps, .total = 2 * steps, .phase = 1, .loss = 0.3,
                         .steps_per_s = 4.2, .eta_s = 4000, .elapsed_s = 4000, .mem_bytes = 123 << 20};
    snprintf(lv->st.run_dir, sizeof lv->st.run_dir, "runs/bidora-bench");
    lv->mag = (bd_mag_snapshot){.step = steps, .n = 384, .layer = 0, .module = "query"};
    for (int j = 0; j < 384; j++) {
        lv->mag.m0[j] = 1.0f + 0.3f * (float)sin(j * 0.1);
        lv->mag.m[j] = lv->mag.m0[j] + 0.05f * (float)cos(j * 0.3);
    }
    lv->have_mag = 1;
    for (int i = 0; i < 40; i++) bd_live_add_log(lv, "step 1000: eval loss 0.4000, accuracy 0.8000");
    a->channel_used = 1;
    a->view = BD_VIEW_RUN;
    a->ema = 0.6;
    printf("== bench_tui: one frame of the run view (%ld steps of synthetic metrics; curses on /dev/null)\n", steps);
    int rc = 0;
    rc |= run_size(a, 60, 200, steps, BD_GLYPH_BRAILLE);
    if (!rc) {
        run_size(a, 60, 200, steps, BD_GLYPH_ASCII);
        run_size(a, 24, 80, steps, BD_GLYPH_BRAILLE);
    }
    bd_live_free(lv);
    bd_channel_destroy(ch);
    free(ch);
    free(lv);
    free(a);
    return 0;
}
