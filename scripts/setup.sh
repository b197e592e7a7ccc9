#!/usr/bin/env bash
# Set up everything the platform and its tests need on a fresh Debian machine; quick when already done.
#   - Debian packages: the SIP test rig, audio tools and PostgreSQL for the storage tests
#   - .venv       Python 3.11: the platform (pipecat, Vosk, Piper, FastAPI, ...)
#   - .venv-rasa  Python 3.10: Rasa 3.6.21, which cannot share an interpreter with pipecat
# Override the interpreters with PYTHON311=/path and PYTHON310=/path.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(kamailio kamailio-tls-modules sip-tester baresip-core sox libsox-fmt-all espeak-ng postgresql tcpdump chromium)
RASA_VERSION=3.6.21

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

find_python() {  # $1 = version, e.g. 3.10
  local v=$1 root
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for p in "$root"/versions/"$v".*/bin/python"$v"; do [ -x "$p" ] && { echo "$p"; return; }; done
  fi
  for p in "python$v" "/usr/bin/python$v" "/usr/local/bin/python$v"; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys' 2>/dev/null; then command -v "$p"; return; fi
  done
  return 1
}

PY311=${PYTHON311:-$(find_python 3.11 || true)}
PY310=${PYTHON310:-$(find_python 3.10 || true)}
[ -n "$PY311" ] || { echo "setup: Python 3.11 not found (set PYTHON311=/path/to/python3.11)" >&2; exit 1; }
[ -n "$PY310" ] || { echo "setup: Python 3.10 not found for Rasa (set PYTHON310=/path/to/python3.10)" >&2; exit 1; }

stamp=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY311"
  "$PY311" -m venv .venv
fi
if [ "$(cat .venv/.installed 2>/dev/null)" != "$stamp" ]; then
  say "installing the platform into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$stamp" > .venv/.installed
fi

if [ ! -x .venv-rasa/bin/python ]; then
  say "creating .venv-rasa with $PY310"
  "$PY310" -m venv .venv-rasa
fi
if [ "$(cat .venv-rasa/.installed 2>/dev/null)" != "$RASA_VERSION" ]; then
  say "installing rasa==$RASA_VERSION into .venv-rasa (about 2 minutes, 2.7 GB)"
  .venv-rasa/bin/pip install -q --disable-pip-version-check "rasa==$RASA_VERSION"
  echo "$RASA_VERSION" > .venv-rasa/.installed
fi
say "ready"
