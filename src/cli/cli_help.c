/* cli_help.c: the table of subcommands main() dispatches on, and the
 * `bidora --help` it prints: every command and every flag its parser takes
 * (tests/cli/help.sh checks each flag the parsers name against it). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

const bd_cli_cmd bd_cli_cmds[] = {
    {"tui", bd_cmd_tui, "[-c FILE] [--ascii] [--block] [--mono] [key=value ...]",
     "the workbench (terminal UI); also `bidora` alone (on configs/default.ini)",
     "-c --config --ascii --block --mono"},
    {"info", bd_cmd_info, "DIR", "describe a model directory, or an adapter directory (rank, alpha, targets, ...)", ""},
    {"eval", bd_cmd_eval, "--model DIR --data CSV [--adapter DIR] [--out FILE] [key=value ...]",
     "score a model (and adapter) on a CSV; metrics on stdout", "--model --data --adapter --out --run"},
    {"eval", bd_cmd_eval, "--run RUN_DIR [--adapter DIR] [--out FILE] [batch_size=N]",
     "score a run's best/ (else adapter/) on the run's own eval split", "--model --data --adapter --out --run"},
    {"train", bd_cmd_train, "[-c FILE] [key=value ...]", "fine-tune headless (BiDoRA, DoRA, LoRA, full)",
     "-c --config --resume --check"},
    {"train", bd_cmd_train, "--resume RUN_DIR [key=value ...]", "continue a run from its checkpoint",
     "-c --config --resume --check"},
    {"train", bd_cmd_train, "--check [-c FILE] [key=value ...]",
     "the pre-flight: validate, tokenise, time a few steps; rows, tokens, parameters, step and run time",
     "-c --config --resume --check"},
    {"attach", bd_cmd_attach, "[RUN] [--ascii] [--block] [--mono]", "the workbench on a live run (the newest if no RUN)",
     "--ascii --block --mono"},
    {"ps", bd_cmd_ps, "[OUT_DIR]", "list the live runs (workbench, headless, detached)", ""},
    {"stop", bd_cmd_control, "RUN [--no-wait]", "checkpoint a live run and stop it (waits until it has)", "--no-wait"},
    {"pause", bd_cmd_control, "RUN [--no-wait]", "pause a live run within one step", "--no-wait"},
    {"resume", bd_cmd_control, "RUN [--no-wait]", "resume a paused run", "--no-wait"},
    {"checkpoint", bd_cmd_control, "RUN [--no-wait]", "write a checkpoint of a live run now", "--no-wait"},
};
const int bd_cli_n_cmds = (int)(sizeof bd_cli_cmds / sizeof bd_cli_cmds[0]);

const bd_cli_cmd *bd_cli_find(const char *name) {
    for (int i = 0; i < bd_cli_n_cmds; i++)
        if (!strcmp(bd_cli_cmds[i].name, name)) return &bd_cli_cmds[i];
    return NULL;
}

void bd_cli_usage(FILE *f) {
    fputs("usage: bidora COMMAND [args]   (every command takes -h / --help: its options in full)\n", f);
    for (int i = 0; i < bd_cli_n_cmds; i++) {
        const bd_cli_cmd *c = &bd_cli_cmds[i];
        fprintf(f, "  bidora %s %s\n      %s\n", c->name, c->synopsis, c->summary);
        /* the flags once a command (a command of two lines lists them on its last) */
        if (c->flags[0] && (i + 1 == bd_cli_n_cmds || strcmp(bd_cli_cmds[i + 1].name, c->name)))
            fprintf(f, "      flags: %s -h --help\n", c->flags);
    }
    fputs("RUN: a run directory, or a run's name in the default out_dir (configs/default.ini's, else runs).\n"
          "Keys (key=value, or in a -c FILE): bidora train --help lists every one with its default.\n", f);
}
