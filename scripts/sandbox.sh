#!/usr/bin/env bash
# A two-host deployment sandbox on one machine, for versioned-deploy's end-to-end
# tests and demo. Everything listens on 127.0.0.1 only:
#
#   runner    the default Docker engine (unix:///var/run/docker.sock), where the
#             action builds images; reused when one answers, else started here
#   server    a second dockerd with its own data root, exec root and socket,
#             reached like a real server: OpenSSH on 127.0.0.1:$VD_SSH_PORT, whose
#             sessions get DOCKER_HOST pointing at that engine. Two logins, each
#             with its own key: root, and the non-root user `deploy`, who may use
#             that engine through its socket's group (vd-docker), as a real
#             server's deploy user does through the docker group
#   compose   both flavours: Compose v2 (`docker compose`, the CLI plugin, from
#             Debian trixie's docker-compose package) and Compose v1
#             (`docker-compose` 1.29, Debian bookworm's package)
#   registry  docker-registry on 127.0.0.1:$VD_REGISTRY_PORT (plain HTTP; dockerd
#             allows that for 127.0.0.0/8 without configuration), no login
#   auth registry
#             a second docker-registry on 127.0.0.1:$VD_AUTH_REGISTRY_PORT that
#             requires a login (htpasswd, realm vd-sandbox): user vd, and a random
#             password generated once into $VD_SANDBOX_DIR/registry-auth/password
#
# Both engines run with --bridge=none and without iptables: containers use the
# host network, so nothing here creates bridges, NAT rules or other addresses.
#
# Usage: scripts/sandbox.sh up | down | env | swarm on|off
#   up    install what is missing (as root), start whatever is not running; idempotent
#   down  stop what the sandbox started (the server engine leaves its swarm first); keeps
#         keys and data
#   swarm on   make the server engine a single-node swarm manager (orchestrator: swarm),
#              listening on 127.0.0.1:2377 only, without the ingress and docker_gwbridge
#              networks (they would take addresses from private ranges; the stack's services
#              use the host network); idempotent
#   swarm off  leave the swarm, so the other suites see a plain engine
#   env   print the connection details as shell-sourceable variables (the auth
#         registry's password as a path, VD_REGISTRY_PASSWORD_FILE, never itself)
#
# Settings (environment): VD_SANDBOX_DIR (default /var/tmp/vd-sandbox),
# VD_SSH_PORT (2222), VD_REGISTRY_PORT (5000), VD_AUTH_REGISTRY_PORT (5001).
set -euo pipefail

# dockerd and sshd live in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

D=${VD_SANDBOX_DIR:-/var/tmp/vd-sandbox}
[[ $D == /* ]] || D="$PWD/$D"
D=${D%/}
SSH_PORT=${VD_SSH_PORT:-2222}
REGISTRY_PORT=${VD_REGISTRY_PORT:-5000}
AUTH_REGISTRY_PORT=${VD_AUTH_REGISTRY_PORT:-5001}
REGISTRY_USER=vd
DEPLOY_USER=deploy
# The group of the server engine's socket: the sandbox's "docker group" (not the machine's own
# docker group, which would open the runner's engine to the deploy user too).
DOCKER_GROUP=vd-docker
# Compose v2 for every docker CLI on this machine, the SSH sessions' included.
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
RUNNER_HOST=unix:///var/run/docker.sock
SERVER_SOCK=$D/server/docker.sock
SERVER_HOST=unix://$SERVER_SOCK
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$D/sandbox.conf # what `up` chose; `env` reads it back

log() { printf '[sandbox] %s\n' "$*" >&2; }
die() {
  printf 'sandbox.sh: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- helpers

have() { command -v "$1" >/dev/null 2>&1; }

# Quote a value for the shell only when it needs it.
shq() {
  if [[ $1 =~ ^[A-Za-z0-9_./:@=+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

docker_answers() { timeout 10 docker -H "$1" version >/dev/null 2>&1; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# GET a URL (plain http://) and print the answer's status code; fail when there
# is no answer. curl is not always installed (and busybox 1.35's `wget -T`
# segfaults, nor does its wget show a 4xx code), so fall back to bash's /dev/tcp.
http_status() {
  local url=$1 status
  if have curl; then
    status=$(timeout 5 curl -sS -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) || return 1
  else
    local rest=${url#http://} hostport path
    hostport=${rest%%/*}
    path=/${rest#*/}
    # shellcheck disable=SC2016 # expanded by the inner bash
    status=$(timeout 5 bash -c '
      exec 3<>"/dev/tcp/${1%:*}/${1##*:}"
      printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$1" >&3
      head -n1 <&3' _ "$hostport" "$path" 2>/dev/null) || return 1
    [[ $status =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] || return 1
    status=${BASH_REMATCH[1]}
  fi
  [[ $status =~ ^[1-5][0-9][0-9]$ ]] && printf '%s' "$status"
}

# http_answers URL PATTERN: GET URL; succeed when its status code matches the
# glob PATTERN (2?? for success, 401 for a registry that wants a login).
http_answers() {
  local status
  status=$(http_status "$1") || return 1
  # shellcheck disable=SC2053 # PATTERN is a glob on purpose
  [[ $status == $2 ]]
}

# The pid in a pidfile, if that process is alive and its command line contains
# PATTERN (a pid can be reused by an unrelated process after a reboot or crash).
# A stale pidfile is removed: dockerd refuses to start over one.
live_pid() {
  local pidfile=$1 pattern=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"; then
    echo "$pid"
    return 0
  fi
  rm -f "$pidfile"
  return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
  [[ -n $1 ]] && kill -0 "$1" 2>/dev/null &&
    [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]
}

# wait_for SECONDS WHAT LOGFILE PID CMD...: poll CMD until it succeeds. Fail with
# the tail of LOGFILE on timeout, or as soon as process PID (if given) is gone.
wait_for() {
  local secs=$1 what=$2 logfile=$3 pid=$4
  shift 4
  local deadline=$((SECONDS + secs)) why=
  until "$@"; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      why="exited"
    elif ((SECONDS >= deadline)); then
      why="did not come up within ${secs}s"
    fi
    if [[ -n $why ]]; then
      printf 'sandbox.sh: error: %s %s. Last lines of %s:\n' "$what" "$why" "$logfile" >&2
      tail -n 25 "$logfile" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

# spawn LOGFILE CMD...: start a long-running program detached from this script
# and set SPAWNED to its pid. setsid gives it its own session, so a Ctrl-C or
# the end of an npm script does not reach it; it inherits no stdio, so whoever
# reads our output sees EOF when we exit. (A background job of a non-interactive
# shell is not a process group leader, so setsid execs without forking and $!
# is the program's own pid.)
SPAWNED=
spawn() {
  local logfile=$1
  shift
  printf '\n==== %s %s\n' "$(date -Is)" "$*" >>"$logfile"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  SPAWNED=$!
}

# stop_pid WHAT PIDFILE PATTERN SECONDS: SIGTERM, wait, SIGKILL as a last resort.
stop_pid() {
  local what=$1 pidfile=$2 pattern=$3 secs=$4 pid
  if ! pid=$(live_pid "$pidfile" "$pattern"); then
    log "$what: not running"
    return 0
  fi
  log "$what: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + secs))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$what: still running after ${secs}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
}

# Write FILE only when CONTENT differs; succeed when it changed.
write_if_changed() {
  local file=$1 content=$2
  if [[ -f $file ]] && [[ "$(<"$file")" == "$content" ]]; then
    return 1
  fi
  printf '%s\n' "$content" >"$file"
}

# ssh_as USER COMMAND...: log in to the sandbox's sshd as USER (root or $DEPLOY_USER) with
# that user's key, checking the host key.
ssh_as() {
  local user=$1 key=$D/ssh/id_ed25519
  shift
  [[ $user == root ]] || key=$D/ssh/id_ed25519_$user
  ssh -i "$key" -p "$SSH_PORT" -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$D/ssh/known_hosts" \
    -o LogLevel=ERROR "$user@127.0.0.1" "$@"
}

# ---------------------------------------------------------------- up

ensure_packages() {
  local missing=()
  { have docker && have dockerd; } || missing+=(docker.io)
  have docker-compose || missing+=(docker-compose)
  [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
  { have ssh && have ssh-keygen; } || missing+=(openssh-client)
  have docker-registry || missing+=(docker-registry)
  have htpasswd || missing+=(apache2-utils) # bcrypt for the auth registry's htpasswd
  # The images are built FROM scratch, so busybox must be the static build.
  [[ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" == installed ]] ||
    missing+=(busybox-static)
  ((${#missing[@]} == 0)) && return 0

  if ((EUID != 0)); then
    printf 'sandbox.sh: missing Debian packages: %s\n' "${missing[*]}" >&2
    printf 'install them as root: apt-get install -y %s\n' "${missing[*]}" >&2
    exit 1
  fi
  log "installing missing packages: ${missing[*]}"
  # Keep apt from starting the stock services (a dockerd with a docker0 bridge
  # and iptables rules, sshd on 0.0.0.0:22): the sandbox runs its own.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } || rc=$?
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get failed (exit $rc)"
}

# Compose v2 as the Docker CLI plugin (`docker compose`), taken from Debian trixie's
# docker-compose package (2.x; its binary runs on bookworm). The package is fetched with
# `apt-get download` through a private apt configuration under $D/apt (its own sources list,
# lists and cache; the machine's apt sources stay untouched) and unpacked, not installed:
# installing it would replace bookworm's docker-compose, Compose v1, which stays reachable as
# /usr/bin/docker-compose.
ensure_compose_v2() {
  if [[ -x $COMPOSE_PLUGIN ]] && "$COMPOSE_PLUGIN" version >/dev/null 2>&1; then
    return 0
  fi
  local apt=$D/apt
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,preferences.d,deb}
  write_if_changed "$apt/sources.list" \
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' ||
    true
  local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::Etc::Preferences=$apt/preferences" -o "Dir::Etc::PreferencesParts=$apt/preferences.d"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Acquire::Languages=none
    -o APT::Sandbox::User=root)
  log "compose v2: fetching Debian trixie's docker-compose package (private apt setup in $apt)"
  apt-get "${opts[@]}" update >"$apt/apt.log" 2>&1 ||
    die "apt-get update with $apt/sources.list failed: $(tail -n 5 "$apt/apt.log")"
  rm -f "$apt"/deb/*.deb
  (cd "$apt/deb" && apt-get "${opts[@]}" download docker-compose) >>"$apt/apt.log" 2>&1 ||
    die "apt-get download docker-compose (trixie) failed: $(tail -n 5 "$apt/apt.log")"
  local deb
  deb=$(find "$apt/deb" -maxdepth 1 -name 'docker-compose_2.*.deb' | head -n 1)
  [[ -n $deb ]] || die "trixie's docker-compose is not Compose v2: $(ls "$apt/deb")"
  rm -rf "$apt/unpacked"
  dpkg-deb -x "$deb" "$apt/unpacked"
  install -D -m 0755 "$apt/unpacked/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_PLUGIN"
  rm -rf "$apt/unpacked"
  log "compose v2: $("$COMPOSE_PLUGIN" version) installed as $COMPOSE_PLUGIN"
}

# The non-root deploy user: home under the sandbox's folder, in the group of the server
# engine's socket, key login only.
ensure_deploy_user() {
  getent group "$DOCKER_GROUP" >/dev/null || groupadd --system "$DOCKER_GROUP"
  if ! id "$DEPLOY_USER" >/dev/null 2>&1; then
    log "creating user $DEPLOY_USER (group $DOCKER_GROUP), home $D/home/$DEPLOY_USER"
    mkdir -p "$D/home"
    useradd --create-home --home-dir "$D/home/$DEPLOY_USER" --shell /bin/bash \
      --groups "$DOCKER_GROUP" "$DEPLOY_USER"
  fi
  id -nG "$DEPLOY_USER" | tr ' ' '\n' | grep -qx "$DOCKER_GROUP" ||
    usermod -aG "$DOCKER_GROUP" "$DEPLOY_USER"
  # useradd locks the password ("!"); without PAM, OpenSSH refuses even key logins to a locked
  # account. "*" is no password at all, and not locked.
  if [[ "$(getent shadow "$DEPLOY_USER" | cut -d: -f2)" == '!'* ]]; then
    usermod -p '*' "$DEPLOY_USER"
  fi
}

prepare_dirs() {
  # Unix socket paths are limited to 108 bytes; containerd's sockets end up
  # under $D/server/exec/containerd/, so keep the state dir short.
  ((${#D} <= 60)) || die "VD_SANDBOX_DIR is too long (${#D} chars, max 60): $D"
  # It is written unquoted into sshd_config, DOCKER_HOST and the registry config.
  [[ $D =~ ^[A-Za-z0-9_./+-]+$ ]] || die "VD_SANDBOX_DIR may hold only [A-Za-z0-9_./+-]: $D"
  [[ $SSH_PORT =~ ^[0-9]+$ && $REGISTRY_PORT =~ ^[0-9]+$ && $AUTH_REGISTRY_PORT =~ ^[0-9]+$ ]] ||
    die "VD_SSH_PORT, VD_REGISTRY_PORT and VD_AUTH_REGISTRY_PORT must be port numbers"
  [[ $AUTH_REGISTRY_PORT != "$REGISTRY_PORT" ]] ||
    die "VD_AUTH_REGISTRY_PORT and VD_REGISTRY_PORT must differ (both are $REGISTRY_PORT)"
  umask 022
  mkdir -p "$D"/{runner,server,ssh,registry/data,registry-auth/data,shim}
  # Fault-injection tests drop a program in $D/shim (first in the PATH of SSH sessions, see
  # start_sshd) for as long as they need it; empty, it changes nothing.
  local leftovers
  leftovers=$(find "$D/shim" -mindepth 1 -maxdepth 1 -printf '%f ')
  [[ -z $leftovers ]] || log "note: $D/shim is not empty (a test's leftover?): $leftovers"
  # --config-file keeps /etc/docker/daemon.json (if any) out of the sandbox's
  # engines. The server's names its own trust key: dockerd 20.10 derives the
  # engine ID (`docker info`) from it, and the default /etc/docker/key.json
  # would give both engines the same ID.
  write_if_changed "$D/daemon.json" '{}' || true
  write_if_changed "$D/server/daemon.json" "{ \"deprecated-key-path\": \"$D/server/key.json\" }" || true
}

# The runner: whatever engine answers on the default socket.
start_runner_engine() {
  if docker_answers "$RUNNER_HOST"; then
    log "runner engine: reusing the one answering on $RUNNER_HOST"
    return 0
  fi
  local pid
  if ! pid=$(live_pid "$D/runner/dockerd.pid" dockerd); then
    log "runner engine: starting dockerd on $RUNNER_HOST"
    spawn "$D/runner/dockerd.log" dockerd --config-file "$D/daemon.json" \
      --pidfile "$D/runner/dockerd.pid" -H "$RUNNER_HOST" \
      --bridge=none --iptables=false --ip6tables=false
    pid=$SPAWNED
  fi
  # Up to 300 s: an engine that was stopped without cleaning up (a killed job) removes its
  # stale network sandboxes one by one when it starts; after many builds that takes minutes.
  wait_for 300 "the runner dockerd" "$D/runner/dockerd.log" "$pid" docker_answers "$RUNNER_HOST"
}

start_server_engine() {
  if docker_answers "$SERVER_HOST"; then
    log "server engine: reusing the one answering on $SERVER_HOST"
    return 0
  fi
  local pid
  if ! pid=$(live_pid "$D/server/dockerd.pid" "$SERVER_SOCK"); then
    log "server engine: starting dockerd on $SERVER_HOST"
    # Own containerd namespaces, in case both engines share a system containerd
    # (/run/containerd); here each dockerd starts its own under its exec root.
    spawn "$D/server/dockerd.log" dockerd --config-file "$D/server/daemon.json" \
      --data-root "$D/server/data" --exec-root "$D/server/exec" \
      --pidfile "$D/server/dockerd.pid" -H "$SERVER_HOST" \
      --containerd-namespace vd-server --containerd-plugins-namespace vd-server-plugins \
      --group "$DOCKER_GROUP" --bridge=none --iptables=false --ip6tables=false
    pid=$SPAWNED
  fi
  wait_for 300 "the server dockerd" "$D/server/dockerd.log" "$pid" docker_answers "$SERVER_HOST"
  # An engine started before the sandbox had its group: give its socket to the group now.
  [[ "$(stat -c %G "$SERVER_SOCK")" == "$DOCKER_GROUP" ]] || chgrp "$DOCKER_GROUP" "$SERVER_SOCK"
}

ssh_keys() {
  local k
  [[ -f $D/ssh/host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C vd-sandbox-host -f "$D/ssh/host_ed25519_key"
  [[ -f $D/ssh/id_ed25519 ]] ||
    ssh-keygen -q -t ed25519 -N '' -C vd-sandbox-client -f "$D/ssh/id_ed25519"
  [[ -f $D/ssh/id_ed25519_$DEPLOY_USER ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "vd-sandbox-$DEPLOY_USER" -f "$D/ssh/id_ed25519_$DEPLOY_USER"
  chmod 0600 "$D/ssh/host_ed25519_key" "$D/ssh/id_ed25519" "$D/ssh/id_ed25519_$DEPLOY_USER"
  # One authorized key per user (sshd_config: AuthorizedKeysFile …/authorized_keys.%u).
  write_if_changed "$D/ssh/authorized_keys.root" "$(<"$D/ssh/id_ed25519.pub")" || true
  write_if_changed "$D/ssh/authorized_keys.$DEPLOY_USER" \
    "$(<"$D/ssh/id_ed25519_$DEPLOY_USER.pub")" || true
  rm -f "$D/ssh/authorized_keys" # one file for every user, before the deploy user
  # known_hosts lets OpenSSH clients use StrictHostKeyChecking=yes.
  k=$(cut -d' ' -f1-2 "$D/ssh/host_ed25519_key.pub")
  if [[ $SSH_PORT == 22 ]]; then
    write_if_changed "$D/ssh/known_hosts" "127.0.0.1 $k" || true
  else
    write_if_changed "$D/ssh/known_hosts" "[127.0.0.1]:$SSH_PORT $k" || true
  fi
}

start_sshd() {
  ssh_keys
  # Without PAM, OpenSSH refuses even key logins to an account whose password is
  # locked ("!" in /etc/shadow); PAM has no such rule, so use it in that case.
  local use_pam=no
  [[ "$(getent shadow root 2>/dev/null | cut -d: -f2)" == '!'* ]] && use_pam=yes
  local cfg=$D/ssh/sshd_config changed=0
  # StrictModes no: the state dir sits under /var/tmp, which is world-writable.
  # SetEnv: sshd takes only the first SetEnv line, so the variables share one. PATH puts
  # $D/shim first (login scripts may still prepend their own directories). SHLVL=1: bash,
  # started by sshd for a command, sources ~/.bashrc unless it is a nested shell; a machine's
  # own .bashrc (pyenv init, here) would cost every remote command most of a second, which a
  # real server's deploy user does not pay. With SHLVL=1 bash counts itself nested and skips it.
  write_if_changed "$cfg" "# Generated by scripts/sandbox.sh: the sandbox's \"server\" host.
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $D/ssh/host_ed25519_key
PidFile $D/ssh/sshd.pid
AuthorizedKeysFile $D/ssh/authorized_keys.%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM $use_pam
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxSessions 64
MaxStartups 64:30:128
PrintMotd no
Subsystem sftp internal-sftp
SetEnv DOCKER_HOST=$SERVER_HOST SHLVL=1 PATH=$D/shim:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" && changed=1

  local pid
  if pid=$(live_pid "$D/ssh/sshd.pid" "$cfg"); then
    if ((changed)); then
      log "sshd: configuration changed, restarting"
      stop_pid sshd "$D/ssh/sshd.pid" "$cfg" 10
    else
      log "sshd: reusing pid $pid on 127.0.0.1:$SSH_PORT"
    fi
  fi
  if ! live_pid "$D/ssh/sshd.pid" "$cfg" >/dev/null; then
    port_open "$SSH_PORT" && die "127.0.0.1:$SSH_PORT is taken by another program (set VD_SSH_PORT)"
    mkdir -p /run/sshd # privilege separation directory
    chmod 0755 /run/sshd
    /usr/sbin/sshd -t -f "$cfg" || die "sshd rejected $cfg"
    log "sshd: starting on 127.0.0.1:$SSH_PORT"
    # sshd binds, daemonizes itself and writes its pidfile.
    /usr/sbin/sshd -f "$cfg" -E "$D/ssh/sshd.log" </dev/null ||
      die "sshd did not start; see $D/ssh/sshd.log: $(tail -n 3 "$D/ssh/sshd.log")"
  fi
  # Ready when a real login works (a bare port probe would only add noise to its log).
  wait_for 15 "sshd" "$D/ssh/sshd.log" "" ssh_as root true
  # The whole route, for each login: key login, host key check, DOCKER_HOST reaching the server
  # engine (for the deploy user, through the socket's group), and both compose flavours.
  local user out
  for user in root "$DEPLOY_USER"; do
    out=$(ssh_as "$user" 'docker version --format "{{.Server.Version}}" &&
      docker compose version --short && docker-compose version --short' 2>&1) ||
      die "ssh to $user@127.0.0.1:$SSH_PORT, the server engine and compose failed: $out (see $D/ssh/sshd.log)"
  done
}

# run_registry NAME DIR PORT SETTING READY CONFIG: write CONFIG to DIR/config.yml
# and run `docker-registry serve` on it, pidfile DIR/registry.pid, log
# DIR/registry.log. One already running with that file is reused, or restarted
# when CONFIG changed. Ready when http://127.0.0.1:PORT/v2/ answers a status
# matching the glob READY. SETTING names the variable that moves PORT.
run_registry() {
  local name=$1 dir=$2 port=$3 setting=$4 ready=$5 content=$6
  local cfg=$dir/config.yml pidfile=$dir/registry.pid changed=0
  write_if_changed "$cfg" "$content" && changed=1

  local pid
  if pid=$(live_pid "$pidfile" "$cfg"); then
    if ((changed)); then
      log "$name: configuration changed, restarting"
      stop_pid "$name" "$pidfile" "$cfg" 10
    else
      log "$name: reusing pid $pid on 127.0.0.1:$port"
    fi
  fi
  if ! live_pid "$pidfile" "$cfg" >/dev/null; then
    port_open "$port" && die "127.0.0.1:$port is taken by another program (set $setting)"
    log "$name: starting on 127.0.0.1:$port"
    spawn "$dir/registry.log" docker-registry serve "$cfg"
    pid=$SPAWNED
    echo "$pid" >"$pidfile" # it has no pidfile option
  fi
  wait_for 30 "the $name" "$dir/registry.log" "$pid" \
    http_answers "http://127.0.0.1:$port/v2/" "$ready"
}

start_registry() {
  run_registry registry "$D/registry" "$REGISTRY_PORT" VD_REGISTRY_PORT '2??' \
    "# Generated by scripts/sandbox.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $D/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT"
}

# The auth registry's login: user $REGISTRY_USER and a password made once (kept
# across ups and downs) in registry-auth/password, mode 0600, without a newline;
# registry-auth/htpasswd holds its bcrypt hash.
registry_credentials() {
  local dir=$D/registry-auth password
  local pwfile=$dir/password
  if [[ ! -s $pwfile ]]; then
    # 48 random bytes are 64 base64 characters; about 62 are letters or digits.
    password=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')
    password=${password:0:32}
    ((${#password} == 32)) || die "could not make a password from /dev/urandom"
    (umask 077 && printf '%s' "$password" >"$pwfile.tmp") && mv -f "$pwfile.tmp" "$pwfile"
    log "auth registry: new password for $REGISTRY_USER in $pwfile"
  fi
  chmod 0600 "$pwfile"
  password=$(<"$pwfile")
  [[ $password =~ ^[A-Za-z0-9_-]{24,}$ ]] ||
    die "$pwfile must hold 24 or more of [A-Za-z0-9_-] (remove it to make a new one)"
  # bcrypt salts every hash, so ask htpasswd whether the file matches the password
  # (and holds that one user) rather than comparing text. -i: the password goes
  # through stdin, never onto a command line (which /proc shows to everyone).
  if [[ -f $dir/htpasswd ]] && [[ "$(grep -c . "$dir/htpasswd")" == 1 ]] &&
    htpasswd -vi "$dir/htpasswd" "$REGISTRY_USER" <"$pwfile" >/dev/null 2>&1; then
    return 0
  fi
  (umask 077 && htpasswd -Bin "$REGISTRY_USER" <"$pwfile" >"$dir/htpasswd.tmp") ||
    die "htpasswd failed"
  mv -f "$dir/htpasswd.tmp" "$dir/htpasswd"
  log "auth registry: wrote $dir/htpasswd"
}

start_auth_registry() {
  registry_credentials
  # distribution 2.8 reads the htpasswd file once, at start: the config carries its
  # checksum so that a new password restarts the registry.
  local sum
  sum=$(sha256sum "$D/registry-auth/htpasswd" | cut -c1-16)
  run_registry "auth registry" "$D/registry-auth" "$AUTH_REGISTRY_PORT" VD_AUTH_REGISTRY_PORT 401 \
    "# Generated by scripts/sandbox.sh; htpasswd sha256 $sum
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $D/registry-auth/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$AUTH_REGISTRY_PORT
auth:
  htpasswd:
    realm: vd-sandbox
    path: $D/registry-auth/htpasswd"
}

# The example images are FROM scratch and COPY a static busybox from their build
# context (examples/stack/bin/, gitignored).
stage_busybox() {
  local dest=$REPO_ROOT/examples/stack/bin/busybox
  [[ -d $REPO_ROOT/examples/stack ]] || return 0
  if ! cmp -s /usr/bin/busybox "$dest"; then
    install -D -m 0755 /usr/bin/busybox "$dest"
    log "copied /usr/bin/busybox to examples/stack/bin/busybox"
  fi
}

cmd_up() {
  local t0=$SECONDS
  ensure_packages
  # Starting daemons, writing under /var/tmp and /run/sshd: all need root.
  ((EUID == 0)) || die "up needs root (sudo bash scripts/sandbox.sh up)"
  prepare_dirs
  ensure_compose_v2
  ensure_deploy_user
  start_runner_engine
  start_server_engine
  start_registry
  start_auth_registry
  start_sshd
  stage_busybox
  write_if_changed "$CONF" "SSH_PORT=$SSH_PORT
REGISTRY_PORT=$REGISTRY_PORT
AUTH_REGISTRY_PORT=$AUTH_REGISTRY_PORT" || true

  cat <<EOF
vd-sandbox is up ($((SECONDS - t0))s), state in $D
  runner engine  $RUNNER_HOST ($(docker -H "$RUNNER_HOST" version -f '{{.Server.Version}}'))
  server engine  $SERVER_HOST ($(docker -H "$SERVER_HOST" version -f '{{.Server.Version}}'))
  server ssh     root@127.0.0.1:$SSH_PORT  key $D/ssh/id_ed25519
                 $DEPLOY_USER@127.0.0.1:$SSH_PORT  key $D/ssh/id_ed25519_$DEPLOY_USER (group $DOCKER_GROUP)
  compose        $(docker compose version --short) (docker compose), $(docker-compose version --short) (docker-compose)
  registry       127.0.0.1:$REGISTRY_PORT  (no login)
  auth registry  127.0.0.1:$AUTH_REGISTRY_PORT  user $REGISTRY_USER, password in $D/registry-auth/password
Connection details: eval "\$(bash scripts/sandbox.sh env)"
EOF
}

# ---------------------------------------------------------------- swarm

swarm_state() { docker -H "$SERVER_HOST" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

cmd_swarm() {
  docker_answers "$SERVER_HOST" || die "the server engine does not answer (run: bash scripts/sandbox.sh up)"
  case "${1:-}" in
    on)
      if [[ "$(swarm_state)" != active ]]; then
        log "server engine: swarm init (127.0.0.1:2377)"
        docker -H "$SERVER_HOST" swarm init --advertise-addr 127.0.0.1 \
          --listen-addr 127.0.0.1:2377 >/dev/null
      fi
      # The routing mesh and the gateway bridge: unused with host networking, and they would
      # take addresses from private ranges.
      if docker -H "$SERVER_HOST" network inspect ingress >/dev/null 2>&1; then
        echo y | docker -H "$SERVER_HOST" network rm ingress >/dev/null
      fi
      local i
      for i in $(seq 1 20); do
        docker -H "$SERVER_HOST" network inspect docker_gwbridge >/dev/null 2>&1 || break
        docker -H "$SERVER_HOST" network rm docker_gwbridge >/dev/null 2>&1 || sleep 0.5
      done
      log "server engine: a single-node swarm manager"
      ;;
    off)
      if [[ "$(swarm_state)" == active ]]; then
        docker -H "$SERVER_HOST" swarm leave --force >/dev/null
        log "server engine: left the swarm"
      fi
      docker -H "$SERVER_HOST" network rm docker_gwbridge >/dev/null 2>&1 || true
      ;;
    *) die "usage: $0 swarm on|off" ;;
  esac
}

# ---------------------------------------------------------------- down

cmd_down() {
  if [[ -d $D ]]; then
    # Stop the server's containers explicitly so "unless-stopped" ones stay
    # stopped: otherwise the next `up` would bring old deployments (and their
    # ports) back.
    if docker_answers "$SERVER_HOST"; then
      cmd_swarm off
      local ids
      ids=$(docker -H "$SERVER_HOST" ps -q)
      if [[ -n $ids ]]; then
        log "server engine: stopping $(wc -w <<<"$ids") container(s)"
        # shellcheck disable=SC2086
        docker -H "$SERVER_HOST" stop -t 5 $ids >/dev/null || true
      fi
    fi
    stop_pid registry "$D/registry/registry.pid" "$D/registry/config.yml" 15
    stop_pid "auth registry" "$D/registry-auth/registry.pid" "$D/registry-auth/config.yml" 15
    stop_pid sshd "$D/ssh/sshd.pid" "$D/ssh/sshd_config" 15
    stop_pid "server engine" "$D/server/dockerd.pid" "$SERVER_SOCK" 60
    # Only a runner engine this script started; one started otherwise is left alone.
    if live_pid "$D/runner/dockerd.pid" dockerd >/dev/null; then
      stop_pid "runner engine" "$D/runner/dockerd.pid" dockerd 60
    else
      log "runner engine: not started by the sandbox, left alone"
    fi
  fi
  log "sandbox is down (keys and data kept in $D)"
}

# ---------------------------------------------------------------- env

cmd_env() {
  [[ -f $CONF && -f $D/ssh/host_ed25519_key.pub && -f $D/ssh/id_ed25519 && -f $D/ssh/known_hosts ]] ||
    die "no sandbox set up in $D (run: bash scripts/sandbox.sh up)"
  local ssh_port registry_port auth_registry_port fp
  ssh_port=$(sed -n 's/^SSH_PORT=//p' "$CONF")
  registry_port=$(sed -n 's/^REGISTRY_PORT=//p' "$CONF")
  auth_registry_port=$(sed -n 's/^AUTH_REGISTRY_PORT=//p' "$CONF")
  [[ -n $auth_registry_port && -s $D/registry-auth/password ]] ||
    die "the sandbox in $D has no auth registry yet (run: bash scripts/sandbox.sh up)"
  fp=$(ssh-keygen -lf "$D/ssh/host_ed25519_key.pub" | cut -d' ' -f2)
  [[ $fp == SHA256:* ]] || die "cannot read the host key fingerprint from $D/ssh/host_ed25519_key.pub"
  cat <<EOF
VD_SSH_HOST=127.0.0.1
VD_SSH_PORT=$ssh_port
VD_SSH_USER=root
VD_SSH_KEY=$(shq "$D/ssh/id_ed25519")
VD_DEPLOY_USER=$DEPLOY_USER
VD_DEPLOY_KEY=$(shq "$D/ssh/id_ed25519_$DEPLOY_USER")
VD_SSH_FINGERPRINT=$fp
VD_KNOWN_HOSTS=$(shq "$D/ssh/known_hosts")
VD_SERVER_DOCKER_HOST=$(shq "$SERVER_HOST")
VD_RUNNER_DOCKER_HOST=$RUNNER_HOST
VD_REGISTRY=127.0.0.1:$registry_port
VD_AUTH_REGISTRY=127.0.0.1:$auth_registry_port
VD_REGISTRY_USER=$REGISTRY_USER
VD_REGISTRY_PASSWORD_FILE=$(shq "$D/registry-auth/password")
VD_SANDBOX_DIR=$(shq "$D")
EOF
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  swarm) cmd_swarm "${2:-}" ;;
  *)
    echo "usage: $0 up|down|env|swarm on|off" >&2
    exit 2
    ;;
esac
