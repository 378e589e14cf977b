# shellcheck shell=bash
# Helpers shared by the sandbox's scripts (sourced by scripts/sandbox.sh): logging, waiting,
# starting and stopping long-running programs by their pidfiles.

log() { printf '[sandbox] %s\n' "$*" >&2; }
die() {
  printf 'sandbox.sh: error: %s\n' "$*" >&2
  exit 1
}

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

# GET a URL (plain http://) and print the answer's status code; fail when there is no answer.
http_status() {
  local status
  status=$(timeout 5 curl -sS -o /dev/null -w '%{http_code}' "$1" 2>/dev/null) || return 1
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
# is the program's own pid; nsenter, without --pid, execs too.)
SPAWNED=
spawn() {
  local logfile=$1
  shift
  printf '\n==== %s %s\n' "$(date -Is)" "$*" >>"$logfile"
  # Descriptors 3-9 closed: a daemon must not keep a caller's open files (a `flock FILE
  # sandbox.sh up` would otherwise stay locked for as long as the daemon lives).
  setsid "$@" >>"$logfile" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  SPAWNED=$!
}

# stop_pid WHAT PIDFILE PATTERN SECONDS: SIGTERM, wait, SIGKILL as a last resort.
stop_pid() {
  local what=$1 pidfile=$2 pattern=$3 secs=$4 pid
  if ! pid=$(live_pid "$pidfile" "$pattern"); then
    return 0
  fi
  log "$what: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + secs))
  # alive, not kill -0: a stopped program whose parent was this machine's init stays a zombie
  # until init reaps it, which here takes up to a couple of seconds.
  while alive "$pid"; do
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

# keep_running WHAT PIDFILE LOGFILE CMD...: start CMD (spawn) unless PIDFILE names a live process
# running exactly CMD; write its pid to PIDFILE. For programs that write no pidfile of their own
# (socat). When the command line changed (an older sandbox's), the old process is stopped first:
# it holds the port. A CMD that starts with nsenter is known by what follows its `--` (nsenter
# execs it).
keep_running() {
  local what=$1 pidfile=$2 logfile=$3
  shift 3
  local program=("$@") i old=
  if [[ $1 == nsenter ]]; then
    for i in "${!program[@]}"; do
      if [[ ${program[i]} == -- ]]; then
        program=("${program[@]:i+1}")
        break
      fi
    done
  fi
  [[ -s $pidfile ]] && old=$(<"$pidfile")
  live_pid "$pidfile" "${program[*]} " >/dev/null && return 0
  if [[ $old =~ ^[0-9]+$ ]] && alive "$old" &&
    tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -qF -- "${program[0]} "; then
    echo "$old" >"$pidfile"
    stop_pid "$what (command changed)" "$pidfile" "${program[0]} " 10
  fi
  spawn "$logfile" "$@"
  echo "$SPAWNED" >"$pidfile"
}
