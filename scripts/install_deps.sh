#!/bin/sh
# Installs the Debian packages bidora needs to build, test and run.
# Used by README's set-up commands, `make deps` and .ci/run.
set -e
PKGS="build-essential pkg-config libcsv-dev libjansson-dev libutf8proc-dev \
libopenblas-dev libncurses-dev libcmocka-dev tmux python3 python3-pip unzip ca-certificates"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install_deps: installing:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
