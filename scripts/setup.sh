#!/usr/bin/env bash
# Installs everything gitopsd, its demo and its tests need, on a fresh Debian machine with
# Python 3.11: Debian packages (git, systemd for unit checks, docker-registry for OCI chart tests,
# openssh-server for the ssh git tests, zsh, fish and man-db for the completion and man page tests,
# chromium and fonts-dejavu-core for the dashboard's browser tests)
# and a virtualenv in .venv with gitopsd installed editable with its dev extras.
# Safe to run again: it only installs what is missing.
# --system: only the Debian packages (CI runs that as root, the rest as an unprivileged user).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)  # the repository fetch size limit
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# The completion tests load `gitopsd completion zsh|fish` into real shells; the man page test renders it.
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
command -v man >/dev/null 2>&1 || missing+=(man-db)
# The JSON API's tests run an Argo CD-style shell script: curl and jq, as such scripts use.
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
# The dashboard's browser tests drive Debian's headless Chromium (Playwright with executable_path;
# no browser download), with a font so pages render the same everywhere.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--system" ]; then
  exit 0
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY" >&2
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# Reinstall when pyproject.toml changed since the last install.
stamp=.venv/.gitopsd-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing gitopsd and its dependencies into .venv" >&2
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
