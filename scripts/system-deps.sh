#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages hashforge needs, only those that are missing.
#   system-deps.sh python  - what `make up` needs (a Python 3.11+ with venv, a C compiler)
#   system-deps.sh test    - plus what the test suite needs (chromium, PostgreSQL)
# Works as root and as a normal user with sudo.
set -euo pipefail
want="${1:-python}"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
missing=()

have_cmd() { command -v "$1" >/dev/null 2>&1; }

PY="${PYTHON:-python3}"
if ! have_cmd "$PY"; then missing+=(python3); fi
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "hashforge needs Python 3.11 or newer (found: $("$PY" --version 2>&1 || echo none))" >&2
    exit 2
fi
"$PY" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
have_cmd cc || missing+=(build-essential)
"$PY" -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' \
    || missing+=(python3-dev)

if [ "$want" = "test" ]; then
    have_cmd chromium || [ -x /usr/bin/chromium ] || missing+=(chromium)
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    # Runtime libraries of the real peers the interop tests run (../shared/bin or PATH), only where
    # such a binary is present and lacks them.
    here="$(cd "$(dirname "$0")/.." && pwd)"
    peer() { for d in "$here/../shared/bin" $(echo "${PATH}" | tr ':' ' '); do
                 [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }; done; return 1; }
    needs_libs() {  # binary package...: adds the packages when the binary has unresolved libraries
        local bin; bin="$(peer "$1")" || return 0; shift
        ldd "$bin" 2>/dev/null | grep -q "not found" && missing+=("$@")
        return 0
    }
    needs_libs ckpool libzmq5
    needs_libs ckpool-lowdiff libzmq5
    needs_libs minerd libcurl4 libjansson4
    needs_libs litecoind libboost-filesystem1.74.0 libboost-thread1.74.0 libevent-2.1-7 \
        libevent-pthreads-2.1-7 libfmt9 libssl3
    needs_libs dogecoind libboost-filesystem1.74.0 libboost-program-options1.74.0 \
        libboost-thread1.74.0 libboost-chrono1.74.0 libevent-2.1-7 libevent-pthreads-2.1-7 libssl3
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if [ -n "$SUDO" ] && ! have_cmd sudo; then
        echo "missing system packages: ${missing[*]}; run as root or install sudo" >&2
        exit 2
    fi
    echo "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
