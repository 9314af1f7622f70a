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
