# shellcheck shell=bash
# The runner: the engine where the action builds images. Whatever answers on the default socket,
# or a dockerd started here in the machine's own network namespace with --bridge=none and no
# iptables: it never gets a bridge network or an address, and never joins a swarm.

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

stop_runner_engine() {
  # Only a runner engine this script started; one started otherwise is left alone.
  if live_pid "$D/runner/dockerd.pid" dockerd >/dev/null; then
    stop_pid "runner engine" "$D/runner/dockerd.pid" dockerd 60
  else
    log "runner engine: not started by the sandbox, left alone"
  fi
}
