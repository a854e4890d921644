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
