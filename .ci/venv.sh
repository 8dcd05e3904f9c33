# Sourced by .ci/demo and .ci/test: make ./.venv (or $NUDGED_VENV) with nudged installed.
# Works on a fresh Debian/Ubuntu machine that has only python3: when the venv module
# is missing (Debian ships it as python3-venv), it is installed with apt-get.
set -eu
cd "$(dirname "$0")/.."
VENV=${NUDGED_VENV:-.venv}
EXTRAS=${NUDGED_EXTRAS:-}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "nudged setup: need root (or sudo) for: $*" >&2; return 1
    fi
}

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        echo "nudged setup: python3 cannot make a virtual environment; installing python3-venv" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# Quiet unless it fails: setuptools' build warnings are not for the person running this.
if ! "$VENV/bin/python" -m pip install -q -e ".${EXTRAS}" > "$VENV/install.log" 2>&1; then
    cat "$VENV/install.log" >&2
    echo "nudged setup: installing into $VENV failed (log above)" >&2
    exit 1
fi
