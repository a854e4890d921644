#!/bin/sh
# `bidora --help` lists every subcommand and every flag (issue 16): each
# flag literal the parsers compare arguments with (src/cli/cmd_*.c and the
# workbench's ui/app.c) appears in it; each command it lists is dispatched,
# answers `bidora CMD --help` on stdout with status 0, and that help names
# every flag --help gives for the command; an unknown flag is refused.
set -u
BIDORA=${BIDORA:-./bidora}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

"$BIDORA" --help >"$T/help" 2>"$T/err" && [ ! -s "$T/err" ] || fail "bidora --help: status or stderr"
# the parsers' flags, from their own sources: a new strcmp(argv[i], "--x") fails here until --help has it
grep -ho '"-[-a-z][a-z-]*"' src/cli/cmd_*.c ui/app.c | tr -d '"' | sort -u >"$T/flags"
[ "$(wc -l <"$T/flags")" -ge 14 ] || fail "found only $(wc -l <"$T/flags") flags in the parsers' sources"
missing=""
for f in $(cat "$T/flags"); do
    grep -Eq -- "(^| |\[)$f( |$|\])" "$T/help" || missing="$missing $f"
done
[ -z "$missing" ] && ok "bidora --help names all $(wc -l <"$T/flags") flags the parsers take" || fail "not in --help:$missing"

cmds=$(sed -n 's/^  bidora \([a-z]*\).*/\1/p' "$T/help" | sort -u)
[ "$(echo "$cmds" | wc -l)" -ge 10 ] || fail "--help lists too few commands: $cmds"
for c in $cmds; do
    grep -q "\"$c\"" src/cli/cli_help.c || fail "$c: not in the dispatch table"
    if "$BIDORA" "$c" --help >"$T/h.$c" 2>"$T/e.$c" && [ -s "$T/h.$c" ]; then :; else
        fail "bidora $c --help: status $? or nothing on stdout"; continue
    fi
    # the command's flags line in bidora --help (after its last form)
    flags=$(awk -v c="$c" '/^  bidora /{cur=$2} /^      flags:/{if (cur==c) {sub(/^      flags: /, ""); print}}' "$T/help")
    for f in $flags; do
        case $f in -h|--help) continue ;; esac # that is how this help was reached
        grep -Eq -- "(^| |\[|,)$f( |$|\]|,)" "$T/h.$c" || fail "bidora $c --help does not name $f"
    done
    if "$BIDORA" "$c" --no-such-flag </dev/null >/dev/null 2>"$T/bad.$c"; then fail "bidora $c --no-such-flag: accepted"; fi
done
ok "each of $(echo $cmds | wc -w) commands: dispatched, its --help names its flags, an unknown flag refused"
"$BIDORA" frobnicate 2>"$T/e" && fail "an unknown command is accepted"
[ "$(wc -l <"$T/e")" = 1 ] && grep -q 'unknown command "frobnicate"' "$T/e" && ok "an unknown command: one line" ||
    fail "unknown command: $(cat "$T/e")"
[ $fails = 0 ]
