#!/usr/bin/env bash
# CI check of the documented install (systemd/README.md, scripts/install.sh) on this machine, as root.
#
# .ci/run calls it as root before the unprivileged suite. It installs gitopsd exactly as the guide
# says, checks the users, owners and modes it lays out, runs `systemd-analyze verify` on the
# installed units, starts the daemon as the installed gitopsd.service would (PID 1 is not systemd
# here, so not through systemctl: its ExecStart, User=, UMask=, Environment= and EnvironmentFile=,
# as the gitopsd user), reads the initial admin password as the guide says and logs in with it
# through the CLI, stops it, upgrades to a newer version (data and configuration kept), uninstalls
# (data kept), purges, and checks that nothing is left. Every step prints ok/FAIL; the last line
# counts them and the exit code is non-zero when any failed.
#
# It refuses to run where gitopsd is already installed: the check ends by removing the install.
# The check must not run twice at once on one machine (both would use the same paths).
set -uo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

[ "$(id -u)" = 0 ] || { echo "ci-install-check: run as root" >&2; exit 1; }
# Present while a check runs: what an interrupted check left is removed, a real install never.
MARKER=/var/lib/gitopsd-install-check.running
if [ -e "$MARKER" ]; then
  echo "ci-install-check: removing what an interrupted check left behind" >&2
  scripts/install.sh --uninstall --purge >/dev/null 2>&1 || true
  rm -f "$MARKER"
fi
for path in /opt/gitopsd /etc/gitopsd /var/lib/gitopsd /etc/systemd/system/gitopsd.service; do
  if [ -e "$path" ]; then
    echo "ci-install-check: $path exists: gitopsd is installed here, and this check would remove it" >&2
    exit 1
  fi
done
if id gitopsd >/dev/null 2>&1; then
  echo "ci-install-check: a gitopsd user exists: gitopsd is installed here, and this check would remove it" >&2
  exit 1
fi

touch "$MARKER"
UNIT=/etc/systemd/system/gitopsd.service
CONFIG=/etc/gitopsd/gitopsd.yaml
DATA=/var/lib/gitopsd
tmp=$(mktemp -d /tmp/gitopsd-install-check.XXXXXX)
chmod 0755 "$tmp"
daemon_pid=""
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {  # check DESCRIPTION COMMAND...: ok when the command succeeds
  local what=$1 t0=$SECONDS
  shift
  if "$@" >"$tmp/out" 2>&1; then
    ok "$what ($((SECONDS - t0)) s)"
  else
    fail "$what ($((SECONDS - t0)) s)"
    sed 's/^/     | /' "$tmp/out" | head -20
  fi
}
mode_is() {  # mode_is PATH MODE OWNER:GROUP
  local got
  got=$(stat -c '%a %U:%G' "$1" 2>&1)
  [ "$got" = "$2 $3" ] || { echo "$1: $got, want $2 $3"; return 1; }
}

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null
  # TimeoutStopSec=30s in the unit; then systemd would kill it.
  for _ in $(seq 60); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$daemon_pid" 2>/dev/null
  wait "$daemon_pid"
  local rc=$?
  daemon_pid=""
  return "$rc"
}
stop_started_daemon() {  # the check: a daemon was running, and SIGTERM ended it with exit code 0
  [ -n "$daemon_pid" ] || { echo "no daemon was running"; return 1; }
  stop_daemon
}
cleanup() {
  stop_daemon >/dev/null 2>&1
  scripts/install.sh --uninstall --purge >/dev/null 2>&1 && rm -f "$MARKER"
  rm -rf "$tmp"
}
trap cleanup EXIT

unit_value() {  # unit_value KEY: the values of KEY= in the installed main unit, one a line
  sed -n "s/^$1=//p" "$UNIT"
}

start_daemon() {  # starts the daemon as the installed unit would; waits for its gRPC address
  local user umask envs=() line
  user=$(unit_value User)
  umask=$(unit_value UMask)
  # What systemd gives a service with User=: HOME, USER, LOGNAME from the user, its default PATH.
  envs+=("HOME=$(getent passwd "$user" | cut -d: -f6)" "USER=$user" "LOGNAME=$user" "SHELL=/usr/sbin/nologin")
  envs+=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  while read -r line; do envs+=("$line"); done < <(unit_value Environment)
  while read -r file; do
    file=${file#-}
    [ -f "$file" ] || continue
    while read -r line; do
      case "$line" in ''|'#'*) continue ;; esac
      envs+=("$line")
    done <"$file"
  done < <(unit_value EnvironmentFile)
  rm -f "$DATA/run/grpc.addr"
  # shellcheck disable=SC2046 # ExecStart is split into words as systemd does (no quotes in it)
  setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i "${envs[@]}" sh -c 'umask "$0"; exec "$@"' "$umask" $(unit_value ExecStart) \
    >>"$tmp/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 120); do
    [ -s "$DATA/run/grpc.addr" ] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || { daemon_pid=""; echo "the daemon exited"; tail -20 "$tmp/daemon.log"; return 1; }
    sleep 0.5
  done
  echo "no $DATA/run/grpc.addr after 60 s"
  tail -20 "$tmp/daemon.log"
  return 1
}

cli() {  # the CLI as an operator would run it, with its own HOME
  HOME="$tmp/home" timeout 60 /usr/local/bin/gitopsd "$@"
}

login_and_version() {  # login_and_version WANT_VERSION: log in with the initial password; the server's version
  local password addr
  password=$(runuser -u gitopsd -- /usr/local/bin/gitopsd admin initial-password --config "$CONFIG") || return 1
  [ -n "$password" ] || { echo "empty initial password"; return 1; }
  addr=$(cat "$DATA/run/grpc.addr")
  cp "$DATA/run/grpc.crt" "$tmp/grpc.crt"
  mkdir -p "$tmp/home"
  printf '%s\n' "$password" | cli login "$addr" --username admin --password-stdin --server-ca "$tmp/grpc.crt" || return 1
  cli version >"$tmp/version" || { cat "$tmp/version"; return 1; }
  cat "$tmp/version"
  grep -q "^gitopsd-server: v$1 " "$tmp/version"
}

started=$SECONDS
echo "ci-install-check: installing gitopsd from $src as systemd/README.md says"

# -- install --------------------------------------------------------------------------------
check "scripts/install.sh installs" timeout 300 scripts/install.sh
check "the gitopsd system user exists, shell nologin" \
  bash -c 'e=$(getent passwd gitopsd) && u=$(echo "$e" | cut -d: -f3) && [ "$u" -lt 1000 ] &&
           case "$e" in *nologin) ;; *) echo "$e"; exit 1 ;; esac'
check "/opt/gitopsd is 0755 root:root" mode_is /opt/gitopsd 755 root:root
check "/usr/local/bin/gitopsd links into /opt/gitopsd" \
  bash -c '[ "$(readlink /usr/local/bin/gitopsd)" = /opt/gitopsd/bin/gitopsd ] &&
           [ "$(readlink /usr/local/bin/gitopsd-helm)" = /opt/gitopsd/bin/gitopsd-helm ] &&
           [ "$(readlink /usr/local/bin/gitopsd-kustomize)" = /opt/gitopsd/bin/gitopsd-kustomize ]'
check "$DATA is 0700 gitopsd:gitopsd" mode_is "$DATA" 700 gitopsd:gitopsd
check "/etc/gitopsd is 0750 root:gitopsd" mode_is /etc/gitopsd 750 root:gitopsd
check "$CONFIG is 0640 root:gitopsd" mode_is "$CONFIG" 640 root:gitopsd
check "units are 0644 root:root in /etc/systemd/system" \
  bash -c 'for u in gitopsd gitopsd-helm gitopsd-kustomize; do
             [ "$(stat -c "%a %U:%G" /etc/systemd/system/$u.service)" = "644 root:root" ] || exit 1; done'
check "every unit's ExecStart binary and Documentation= file exist" \
  bash -c 'for u in /etc/systemd/system/gitopsd*.service; do
             bin=$(sed -n "s/^ExecStart=\([^ ]*\).*/\1/p" "$u"); [ -x "$bin" ] || { echo "$u: $bin"; exit 1; }
             for d in $(sed -n "s/^Documentation=//p" "$u"); do
               [ -f "${d#file://}" ] || { echo "$u: $d"; exit 1; }; done; done'
generated_docs() {  # the man page and completions are there when this CLI can generate them
  if /opt/gitopsd/bin/gitopsd manpage --help >/dev/null 2>&1; then
    [ -s /usr/local/share/man/man1/gitopsd.1 ] || { echo "no man page"; return 1; }
  fi
  if /opt/gitopsd/bin/gitopsd completion --help >/dev/null 2>&1; then
    [ -s /usr/share/bash-completion/completions/gitopsd ] || { echo "no bash completion"; return 1; }
  fi
}
check "the man page and shell completions the CLI can generate are installed" generated_docs
verify() {
  local out
  out=$(cd /etc/systemd/system && systemd-analyze verify gitopsd.service gitopsd-helm.service \
    gitopsd-kustomize.service 2>&1) || { echo "$out"; return 1; }
  # verify exits 0 on some warnings: any line about our units is a finding.
  if echo "$out" | grep -E 'gitopsd|rror'; then return 1; fi
}
check "systemd-analyze verify passes on the installed units" verify
check "another user cannot read the configuration" \
  bash -c '! runuser -u nobody -- cat /etc/gitopsd/gitopsd.yaml'

# -- first start, as the unit would --------------------------------------------------------
# Free loopback ports: through the EnvironmentFile the unit reads (the guide's place for settings).
printf 'GITOPSD_LISTEN=127.0.0.1:0\nGITOPSD_HTTP_LISTEN=127.0.0.1:0\n' >/etc/gitopsd/gitopsd.env
chmod 0600 /etc/gitopsd/gitopsd.env
check "the daemon starts as the unit's ExecStart, as the gitopsd user" start_daemon
check "the daemon runs as gitopsd" bash -c "[ -n '$daemon_pid' ] && [ \"\$(ps -o user= -p '$daemon_pid')\" = gitopsd ]"
check "its database is 0600 gitopsd:gitopsd" mode_is "$DATA/gitopsd.db" 600 gitopsd:gitopsd
check "another user cannot read the initial password" \
  bash -c "! runuser -u nobody -- /usr/local/bin/gitopsd admin initial-password --config $CONFIG"
check "login with the initial password; gitopsd version shows the server" login_and_version 0.1.0
check "the daemon stops cleanly on SIGTERM" stop_started_daemon

# -- upgrade: the next version's install.sh, run again ------------------------------------
next="$tmp/gitopsd-next"
mkdir -p "$next"
tar --exclude=./.venv --exclude=./build --exclude='*.egg-info' -cf - . | tar -xf - -C "$next"
sed -i 's/^version = ".*"/version = "0.1.0.post1"/' "$next/pyproject.toml"
sed -i 's/^__version__ = ".*"/__version__ = "0.1.0.post1"/' "$next/gitopsd/__init__.py"
echo "# kept across upgrades (install-check)" >>"$CONFIG"
check "the next version's install.sh upgrades in place" timeout 300 "$next/scripts/install.sh"
check "the upgrade kept the edited configuration and its mode" \
  bash -c "grep -q 'kept across upgrades' $CONFIG && [ \"\$(stat -c '%a %U:%G' $CONFIG)\" = '640 root:gitopsd' ]"
check "the upgraded daemon starts on the same data dir" start_daemon
check "the same initial password logs in to the upgraded daemon" login_and_version 0.1.0.post1
check "the upgraded daemon stops cleanly" stop_started_daemon

# -- uninstall, then purge -------------------------------------------------------------------
check "install.sh --uninstall runs" scripts/install.sh --uninstall
check "uninstall removed the program, links, units and docs" \
  bash -c '! ls -d /opt/gitopsd /usr/local/bin/gitopsd /usr/local/bin/gitopsd-helm /usr/local/bin/gitopsd-kustomize \
             /etc/systemd/system/gitopsd*.service /usr/share/doc/gitopsd /usr/local/share/man/man1/gitopsd.1 \
             /usr/share/bash-completion/completions/gitopsd /usr/local/share/zsh/site-functions/_gitopsd \
             /usr/share/fish/vendor_completions.d/gitopsd.fish 2>/dev/null | grep .'
check "uninstall kept the data, the configuration and the user" \
  bash -c "[ -f $DATA/gitopsd.db ] && [ -f $CONFIG ] && id gitopsd"
check "install.sh --uninstall --purge runs" scripts/install.sh --uninstall --purge
check "purge left nothing behind" \
  bash -c '! ls -d /etc/gitopsd /var/lib/gitopsd /var/cache/gitopsd /usr/lib/sysusers.d/gitopsd.conf 2>/dev/null | grep . &&
           ! getent passwd gitopsd && ! getent group gitopsd'

echo "ci-install-check: done in $((SECONDS - started)) s"
echo "install-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
