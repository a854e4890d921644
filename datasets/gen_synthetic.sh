#!/bin/sh
# gen_synthetic.sh OUT_PATH N_ROWS SEED
# Writes a seeded synthetic sentiment CSV (columns text,label; labels
# "negative" / "positive") for tests and the TUI demo. Each sentence is built
# from word lists of one polarity, so its label follows from its words. Some
# fields hold commas and double quotes and are quoted the CSV way.
# The generator is a Park-Miller LCG written in awk (not awk's rand()), so the
# same SEED gives the same file with any POSIX awk (mawk, gawk, busybox).
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 OUT_PATH N_ROWS SEED" >&2
    exit 1
fi
out=$1 n=$2 seed=$3
case $n in ''|*[!0-9]*) echo "$0: N_ROWS '$n' is not a positive integer" >&2; exit 1;; esac
case $seed in ''|*[!0-9]*) echo "$0: SEED '$seed' is not a non-negative integer" >&2; exit 1;; esac
if [ "$n" -lt 1 ]; then echo "$0: N_ROWS must be at least 1" >&2; exit 1; fi
if [ ${#seed} -gt 15 ]; then echo "$0: SEED '$seed' has more than 15 digits" >&2; exit 1; fi

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT INT TERM

awk -v n="$n" -v seed="$seed" '
function rnd() { state = (16807 * state) % 2147483647; return state / 2147483647 }
function pick(list,   a, k) { k = split(list, a, "|"); return a[1 + int(rnd() * k)] }
function csv(s) {
    if (s ~ /[",]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
    return s
}
BEGIN {
    state = seed % 2147483646 + 1   # Park-Miller needs a state in [1, 2^31-2]
    for (i = 0; i < 3; i++) rnd()   # small seeds start with small states
    subj = "The movie|This film|The plot|The acting|The soundtrack|The ending|The cast|This sequel|The script|The dialogue|The camera work|The lead performance"
    verb = "was|felt|seemed|is|turned out|looked"
    inten = "really|truly|quite|absolutely|rather|so|simply|remarkably"
    adj["positive"] = "great|wonderful|brilliant|moving|delightful|superb|charming|funny|gripping|beautiful|clever|heartfelt"
    adj["negative"] = "terrible|boring|awful|dull|clumsy|tedious|predictable|bland|painful|forgettable|messy|lifeless"
    tail["positive"] = "I would watch it again|worth every minute|a joy from start to finish|I loved every scene|easily the best this year"
    tail["negative"] = "I want my money back|a waste of an evening|I nearly walked out|I regret watching it|easily the worst this year"
    noun["positive"] = "masterpiece|triumph|gem|treat|delight"
    noun["negative"] = "mess|disaster|chore|letdown|failure"
    print "text,label"
    for (r = 0; r < n; r++) {
        lab = rnd() < 0.5 ? "negative" : "positive"
        s = pick(subj) " " pick(verb) " " pick(inten) " " pick(adj[lab])
        u = rnd()
        if (u < 0.25)       s = s ", " pick(tail[lab]) "."          # comma: quoted
        else if (u < 0.40)  s = s ". One critic called it \"" pick(adj[lab]) "\"."  # quotes
        else if (u < 0.50)  s = s ", a \"" pick(noun[lab]) "\", " pick(tail[lab]) "."
        else                s = s " and " pick(adj[lab]) "."
        print csv(s) "," lab
    }
}' > "$tmp"
mv "$tmp" "$out"
trap - EXIT INT TERM
