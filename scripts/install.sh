#!/usr/bin/env bash
# Installs gitopsd as a systemd service on a Debian 12 management host (run as root).
#
#   scripts/install.sh [--prefix /opt/gitopsd] [--bindir /usr/local/bin] [--python /usr/bin/python3.11]
#                      [--source PATH]     # a wheel, an sdist or a source tree (default: this tree)
#   scripts/install.sh --uninstall [--purge] [--prefix ...] [--bindir ...]   # the same paths as the install
#
# What it lays out (systemd/README.md walks through each step):
#   PREFIX            a virtualenv holding gitopsd and its dependencies (root-owned, 0755)
#   BINDIR/gitopsd, gitopsd-helm, gitopsd-kustomize   links into PREFIX/bin (the units' ExecStart)
#   the gitopsd system user and group (systemd-sysusers, or useradd where it is missing)
#   /var/lib/gitopsd  0700 gitopsd:gitopsd   the data dir (database, clones, TLS key)
#   /etc/gitopsd      0750 root:gitopsd      gitopsd.yaml 0640 root:gitopsd (only when absent)
#   /etc/systemd/system/gitopsd*.service     ExecStart pointed at BINDIR
#   /usr/share/doc/gitopsd/                  the README the units' Documentation= names
#   the man page and bash/zsh/fish completions, when the CLI can generate them
#
# Idempotent: run it again to repair, or with a newer --source to upgrade; the data dir and
# the configuration are kept. --uninstall removes the program, links, units and docs, and keeps
# data, configuration and the user; --purge removes those too.
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/gitopsd
BINDIR=/usr/local/bin
PYTHON=""
SOURCE=$here
UNITDIR=/etc/systemd/system
DOCDIR=/usr/share/doc/gitopsd
SYSUSERS=/usr/lib/sysusers.d/gitopsd.conf
DATA=/var/lib/gitopsd
ETC=/etc/gitopsd
CACHE=/var/cache/gitopsd
USER_NAME=gitopsd
MANPAGE=/usr/local/share/man/man1/gitopsd.1
COMPLETION_BASH=/usr/share/bash-completion/completions/gitopsd
COMPLETION_ZSH=/usr/local/share/zsh/site-functions/_gitopsd
COMPLETION_FISH=/usr/share/fish/vendor_completions.d/gitopsd.fish
COMMANDS=(gitopsd gitopsd-helm gitopsd-kustomize)
UNITS=(gitopsd.service gitopsd-helm.service gitopsd-kustomize.service)
mode=install
purge=no

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --bindir) BINDIR=${2:?--bindir needs a directory}; shift 2 ;;
    --python) PYTHON=${2:?--python needs an interpreter}; shift 2 ;;
    --source) SOURCE=${2:?--source needs a wheel, sdist or directory}; shift 2 ;;
    --uninstall) mode=uninstall; shift ;;
    --purge) purge=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (it creates a system user and writes under /etc, /var/lib and $PREFIX)"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
case "$BINDIR" in /*) ;; *) die "--bindir must be an absolute path" ;; esac
[ "$PREFIX" != / ] || die "--prefix / would put the virtualenv over the system"

# systemctl only where systemd runs (not in containers or CI, where PID 1 is something else).
systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

uninstall() {
  if systemd_running; then
    systemctl disable --now "${UNITS[@]}" >/dev/null 2>&1 || true
  fi
  for unit in "${UNITS[@]}"; do rm -f "$UNITDIR/$unit"; done
  systemd_running && systemctl daemon-reload
  for cmd in "${COMMANDS[@]}"; do
    # Only our own links: never a gitopsd that something else put there.
    if [ -L "$BINDIR/$cmd" ] && [ "$(readlink "$BINDIR/$cmd")" = "$PREFIX/bin/$cmd" ]; then
      rm -f "$BINDIR/$cmd"
    fi
  done
  rm -f "$MANPAGE" "$COMPLETION_BASH" "$COMPLETION_ZSH" "$COMPLETION_FISH"
  rm -rf "$DOCDIR"
  if [ -f "$PREFIX/.gitopsd-install" ]; then
    rm -rf "$PREFIX"
  elif [ -e "$PREFIX" ]; then
    say "kept $PREFIX: it was not made by this script (no $PREFIX/.gitopsd-install)"
  fi
  if [ "$purge" = yes ]; then
    rm -rf "$DATA" "$ETC" "$CACHE" /run/gitopsd
    rm -f "$SYSUSERS"
    if id "$USER_NAME" >/dev/null 2>&1; then userdel "$USER_NAME"; fi
    if getent group "$USER_NAME" >/dev/null; then groupdel "$USER_NAME"; fi
    say "removed gitopsd, its data ($DATA), configuration ($ETC) and user"
  else
    say "removed gitopsd; kept $DATA, $ETC and the $USER_NAME user (--purge removes them)"
  fi
}

if [ "$mode" = uninstall ]; then
  uninstall
  exit 0
fi

# -- what the daemon needs from Debian ----------------------------------------------------
if [ -z "$PYTHON" ]; then
  # Debian's own interpreter: the service user must be able to run it (a pyenv under /root is not).
  PYTHON=$(command -v /usr/bin/python3.11 || command -v python3.11 || true)
  [ -n "$PYTHON" ] || die "no python3.11: apt-get install python3.11 python3.11-venv (or --python PATH)"
fi
missing=()
command -v git >/dev/null 2>&1 || missing+=(git)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]}: install them first"
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- the program: a virtualenv under PREFIX ------------------------------------------------
[ -e "$SOURCE" ] || die "--source $SOURCE does not exist"
[ ! -d "$SOURCE" ] || [ -f "$SOURCE/pyproject.toml" ] || die "--source $SOURCE: no pyproject.toml there"
if [ -e "$PREFIX" ] && [ ! -f "$PREFIX/.gitopsd-install" ]; then
  [ -z "$(ls -A "$PREFIX")" ] || die "$PREFIX exists and was not made by this script: choose another --prefix"
fi
if [ ! -x "$PREFIX/bin/python" ] || ! "$PREFIX/bin/python" -c 'import sys; assert sys.version_info >= (3, 11)'; then
  say "creating the virtualenv $PREFIX with $PYTHON"
  rm -rf "$PREFIX"
  "$PYTHON" -m venv "$PREFIX"
fi
touch "$PREFIX/.gitopsd-install"
old=$("$PREFIX/bin/python" -c 'import importlib.metadata as m; print(m.version("gitopsd"))' 2>/dev/null || true)
say "installing gitopsd from $SOURCE into $PREFIX"
# --upgrade: a newer --source replaces the installed version; a source tree is always rebuilt.
"$PREFIX/bin/pip" install -q --upgrade "$SOURCE"
new=$("$PREFIX/bin/python" -c 'import importlib.metadata as m; print(m.version("gitopsd"))')
chmod -R u+rwX,go+rX,go-w "$PREFIX"
for cmd in "${COMMANDS[@]}"; do
  [ -x "$PREFIX/bin/$cmd" ] || die "$PREFIX/bin/$cmd is missing after the install"
  mkdir -p "$BINDIR"
  ln -sfn "$PREFIX/bin/$cmd" "$BINDIR/$cmd"
done

# -- the service user, directories and configuration ---------------------------------------
install -D -m 0644 "$here/systemd/gitopsd.sysusers.conf" "$SYSUSERS"
if ! id "$USER_NAME" >/dev/null 2>&1; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers "$SYSUSERS"
  else
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
      --comment "gitopsd GitOps daemon" "$USER_NAME"
  fi
fi
install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$DATA"
install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
if [ ! -e "$ETC/gitopsd.yaml" ]; then
  install -m 0640 -o root -g "$USER_NAME" "$here/examples/gitopsd.yaml" "$ETC/gitopsd.yaml"
  say "wrote $ETC/gitopsd.yaml (every key at its default; edit it, then restart gitopsd)"
else
  say "kept $ETC/gitopsd.yaml"
fi

# -- documentation and units ---------------------------------------------------------------
install -D -m 0644 "$here/README.md" "$DOCDIR/README.md"
install -m 0644 "$here/systemd/README.md" "$DOCDIR/INSTALL.md"
install -m 0644 "$here/examples/gitopsd.yaml" "$DOCDIR/gitopsd.yaml.example"
# The man page and shell completions, where this version of the CLI can generate them.
generated() {  # generated DEST COMMAND...: DEST from COMMAND's output when it succeeds with some
  local out
  out=$(mktemp)
  if "${@:2}" >"$out" 2>/dev/null && [ -s "$out" ]; then
    install -D -m 0644 "$out" "$1"
  else
    say "could not generate $1 (${*:2}); skipped"
  fi
  rm -f "$out"
}
if "$PREFIX/bin/gitopsd" manpage --help >/dev/null 2>&1; then
  generated "$MANPAGE" "$PREFIX/bin/gitopsd" manpage
fi
if "$PREFIX/bin/gitopsd" completion --help >/dev/null 2>&1; then
  generated "$COMPLETION_BASH" "$PREFIX/bin/gitopsd" completion bash
  generated "$COMPLETION_ZSH" "$PREFIX/bin/gitopsd" completion zsh
  generated "$COMPLETION_FISH" "$PREFIX/bin/gitopsd" completion fish
fi
mkdir -p "$UNITDIR"
for unit in "${UNITS[@]}"; do
  sed "s|/usr/local/bin/|$BINDIR/|g" "$here/systemd/$unit" >"$UNITDIR/$unit.tmp"
  chmod 0644 "$UNITDIR/$unit.tmp"
  mv "$UNITDIR/$unit.tmp" "$UNITDIR/$unit"
done

if systemd_running; then
  systemctl daemon-reload
  # An upgrade restarts what runs; a first install leaves enabling to the admin (the README).
  systemctl try-restart "${UNITS[@]}" || true
fi
if [ -n "$old" ] && [ "$old" != "$new" ]; then
  say "upgraded gitopsd $old -> $new"
else
  say "installed gitopsd $new"
fi
cat <<EOF
install.sh: next steps:
  systemctl enable --now gitopsd.service
  sudo -u $USER_NAME $BINDIR/gitopsd admin initial-password --config $ETC/gitopsd.yaml
  gitopsd login 127.0.0.1:8443 --username admin --server-ca $DATA/run/grpc.crt
EOF
