/* app.h: the workbench's state, shared by the main loop (app.c), the key
 * table (keys.c) and the views (view_*.c). Only the UI thread touches it;
 * the training thread sees nothing but the channel. */
#ifndef BD_APP_H
#define BD_APP_H

#include "browser.h"
#include "channel.h"
#include "chart.h"
#include "compare.h"
#include "config.h"
#include "fmt.h"
#include "form.h"
#include "layout.h"
#include "live.h"
#include "runs.h"
#include "series.h"
#include "term.h"
#include "trainer.h"
#include "worker.h"

typedef enum bd_view { BD_VIEW_SETUP, BD_VIEW_RUN, BD_VIEW_RUNS, BD_VIEW_HELP, BD_N_VIEWS } bd_view;

/* Key handler results, acted on by one loop (htop's lesson). */
enum { BD_KEY_UNHANDLED = 0, BD_KEY_HANDLED = 1, BD_KEY_REDRAW = 2, BD_KEY_QUIT = 4 };

/* Keys: characters are their code point, curses keys are negative. */
#define BD_FN(k) (-(k))
#define BD_ENTER '\r'
#define BD_ESC 27
#define BD_TAB '\t'
#define BD_BACKSPACE 127

typedef struct bd_app bd_app;
typedef int (*bd_key_fn)(bd_app *a, int key);

typedef struct bd_binding {
    int keys[4];             /* 0-terminated */
    const char *keyname;     /* as the help screen shows it: "F5", "Space", "+ -" */
    const char *bar;         /* label in the bottom bar, NULL if not there */
    const char *help;
    bd_key_fn fn;
} bd_binding;

/* The set-up view's modes: the form, or a picker opened from it. */
typedef enum bd_setup_mode { BD_SM_FORM, BD_SM_EDIT, BD_SM_BROWSE, BD_SM_COLUMNS, BD_SM_SPLIT, BD_SM_MODULES } bd_setup_mode;

/* What the set-up view knows of the data file and the model directory. */
typedef struct bd_data_info {
    char path[BD_STR], columns_for[600];
    char cols[BD_MAX_COLS][128];
    int ncols, n_rows;       /* n_rows -1: unknown (see err) */
    char err[BD_ERR_MAX];
} bd_data_info;

typedef struct bd_model_info {
    char path[BD_STR];
    int ok, n_layers, hidden, heads, vocab;
    char type[32];
    char err[BD_ERR_MAX];
} bd_model_info;

#define BD_SCATTER_MAX 8192

struct bd_app {
    bd_term term;
    bd_layout lay;
    WINDOW *win_status, *win_msg, *win_keys;
    WINDOW *panel[8];        /* the current view's panels, built from the layout */
    int n_panel;
    bd_view view, back;      /* back: where Esc and help return */
    int rebuild;             /* windows must be rebuilt (resize, view change) */

    /* the configuration being edited, and where it came from */
    bd_config cfg;
    char cfg_path[BD_STR];

    /* the live run */
    bd_channel *ch;
    bd_worker w;
    int run_active, paused, stopping, channel_used;
    bd_live *live;
    char run_result[BD_ERR_MAX];
    char run_method[16], run_backend[16];
    int attached;            /* the live run is another process's (bidora attach; the worker is its proxy) */
    int detached;            /* the screen is gone: the run trains on headless in this process */
    int term_gone;           /* detached: nothing more is written to the terminal (not even endwin) */
    int no_draw;             /* SIGHUP: nobody sees the screen; only the final endwin */

    /* what the run view shows: the live run, or a run opened from the browser */
    int show_opened;
    bd_run_data opened;
    char opened_name[256], opened_method[16];
    bd_mfollow opened_mf;    /* its metrics.csv, followed while shown (follow.c) */
    char opened_dir[4096];
    long opened_pid;         /* a process trains it (its lock holder); 0: none */
    char opened_err[BD_ERR_MAX]; /* the follower's last error, said once */
    double follow_at;        /* when follow.c last looked (monotonic seconds) */

    /* run view */
    int focus, zoom, smooth, wd_dd, module, layer, log_scroll;
    double ema;              /* smoothing factor of the curves (+ and -) */
    int logy[BD_RUN_PANELS];
    int n_layers;            /* of the model, for layer selection */
    double mag_x[BD_CH_MAG], mag_y[BD_CH_MAG], mag_y0[BD_CH_MAG];
    double sc_x[BD_SCATTER_MAX], sc_y[BD_SCATTER_MAX];
    char labels[BD_CHART_SERIES][16]; /* per-layer legend names of the chart being built */
    int cursor_on;           /* Left / Right: a vertical line over the step charts */
    long cursor_step;        /* ... at this step; the panels read their values there */
    bd_overfit overfit;      /* the loss panel's readout, as its spec found it (have_overfit) */
    int have_overfit;

    /* set-up view */
    bd_setup_mode sm;
    int form_sel, form_top;
    bd_line edit;
    char edit_err[BD_ERR_MAX];
    bd_browser br;
    int br_key;              /* the key the browser fills, -1: loading a config */
    int col_sel;
    double split_f[3];
    int split_sel;
    bd_data_info data;
    bd_model_info model;

    /* runs browser */
    bd_runs runs;
    int runs_sel, runs_top, runs_metric, runs_scanned, runs_logy;
    /* its filter, the comparison table of the tagged runs, rename / delete prompts (view_runs.c, view_compare.c) */
    bd_line runs_filter, runs_edit;
    int runs_prompt;         /* a bd_runs_prompt: the keys go to it first */
    char runs_target[256];   /* the run a rename / delete prompt is about */
    int runs_compare;        /* the comparison table replaces the list and the chart */
    bd_cmp_table cmp;
    unsigned long long cmp_sig; /* of the tagged runs the table was built from */
    int cmp_sel, cmp_top, cmp_left; /* selected row, first row shown, first scrolled column shown */

    /* the message line; a prompt (y/n, or a file name) takes it over */
    char msg[1024];
    int msg_error;
    int confirm_quit;
    int prompt_save;         /* editing the save-as file name in edit */
    char save_confirm[BD_STR]; /* the existing file a second Enter overwrites */
    int help_scroll;
    /* a message box over the screen (a failed F5's reason, whole); any key closes it */
    char box_title[64], box[BD_ERR_MAX + 256];

    /* the pre-flight of the set-up view (p, and F5 before it starts a run) */
    int pf_done;             /* 1: pf_lines describe pf_cfg's run; -1: pf_cfg fails (box says why) */
    bd_config pf_cfg;
    char pf_lines[8][320];
    int pf_n;
    int mod_sel;             /* the target_modules checklist: the row, and the modules ticked */
    unsigned mod_mask;

    int quit, exit_code, quit_after_stop;
};

/* app.c: run control */
void bd_app_message(bd_app *a, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int bd_app_start_run(bd_app *a, const char *resume_dir);
/* The pre-flight of the current config (bd_trainer_preflight, timing steps when
 * time_steps): its lines into pf_lines, or the reason it would not start into the
 * message box. -1 then. */
int bd_app_preflight(bd_app *a, int time_steps);
/* Whether the pre-flight shown is the current config's. */
int bd_app_preflight_current(const bd_app *a);
/* Open the message box. */
void bd_app_box(bd_app *a, const char *title, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Show the live run of another process (run_dir/control.sock) as if it were
 * ours: Space, F7, F8 act on it; q leaves it running. */
int bd_app_attach(bd_app *a, const char *run_dir);
/* Leave the screen, keep training: the terminal is restored (when it is
 * still there) and closed, the shell gets its prompt back, why is logged. */
void bd_app_detach(bd_app *a, int have_terminal, const char *why);
void bd_app_set_view(bd_app *a, bd_view v);
/* Windows from the layout (after a resize or a view change), and one
 * frame: every window drawn, then one doupdate(). */
void bd_app_build_windows(bd_app *a);
void bd_app_free_windows(bd_app *a);
void bd_app_draw(bd_app *a);
/* The run data the run view shows (live or opened). */
const bd_run_data *bd_app_shown(const bd_app *a);
/* The model of the config changed: reread config.json for the set-up view. */
void bd_app_refresh_model(bd_app *a);
/* The data file or its columns changed: reread the header and row count. */
void bd_app_refresh_data(bd_app *a);

/* follow.c: the runs the browser lists and the run opened from it follow
 * their metrics.csv while on screen. Call every loop turn; about once a
 * second it reads what each file gained and asks the lock holders again.
 * Returns 1 when the screen must redraw. */
int bd_app_follow_tick(bd_app *a, double now_s);
/* Open run dir in the run view's opened slot (its whole metrics.csv, then
 * followed). On an error nothing changes. */
int bd_app_follow_open(bd_app *a, const char *dir, bd_err *e);

/* keys.c: the key tables and the dispatcher */
extern const bd_binding bd_keys_global[];
extern const bd_binding bd_keys_run[];
extern const bd_binding bd_keys_setup[];
extern const bd_binding bd_keys_runs[];
/* The curves' smoothing at start: EMA 0.6, as TensorBoard. */
void bd_smooth_default(bd_app *a);
int bd_dispatch(bd_app *a, int key);
/* The name a key is shown by ("F5", "Enter", "q"). */
void bd_key_name(int key, char *buf, int n);

/* view_run.c */
void bd_run_view_draw(bd_app *a);
/* The chart of run-view panel p (also what 'e' exports). Returns 0 when p is a chart. */
int bd_run_panel_spec(bd_app *a, int p, bd_chart_spec *s, char *title, int title_n);
void bd_status_draw(bd_app *a);
int bd_run_export(bd_app *a);

/* setup_keys.c, view_setup.c */
void bd_setup_view_draw(bd_app *a);
int bd_setup_modal(bd_app *a, int key);

/* view_runs.c */
enum bd_runs_prompt { BD_RP_NONE, BD_RP_FILTER, BD_RP_RENAME, BD_RP_DELETE };
extern const bd_binding bd_keys_compare[];
void bd_runs_view_draw(bd_app *a);
/* A prompt of the runs browser (filter, rename, delete) takes the keys first. */
int bd_runs_modal(bd_app *a, int key);
/* The prompt on the message line; 0 when none is open. */
int bd_runs_prompt_draw(bd_app *a, WINDOW *w);
int bd_runs_spec(bd_app *a, bd_chart_spec *s, const char **metric);
void bd_runs_rescan(bd_app *a);
/* view_compare.c: the comparison table (c in the runs browser) */
void bd_compare_open(bd_app *a);
void bd_compare_draw(bd_app *a, WINDOW *w);
/* Build the table again when a tagged run changed (or was renamed, removed, untagged). */
void bd_compare_refresh(bd_app *a, int force);

/* view_help.c: help, too small, the key bar, the message line */
void bd_help_view_draw(bd_app *a);
void bd_too_small_draw(bd_app *a);
void bd_keybar_draw(bd_app *a);
void bd_message_draw(bd_app *a);

/* Metric names the runs browser overlays, in 'm' order. */
extern const char *const bd_overlay_metrics[];
extern const int bd_n_overlay_metrics;

#endif
