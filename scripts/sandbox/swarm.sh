# shellcheck shell=bash
# Swarm across the lab: a manager on host 1, every other host a worker, joined over the lab LAN
# (the control plane on port 2377, overlay networks as VXLAN between the hosts). On demand:
# `swarm on` before the swarm suite, `swarm off` after it, so the other suites see plain engines.

swarm_state() { docker -H "$(host_docker_host "$1")" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

swarm_on() {
  local k manager token ready
  manager=$(host_docker_host 1)
  if [[ "$(swarm_state 1)" != active ]]; then
    log "$(host_name 1): swarm init (manager, advertised on $(host_address 1):2377)"
    docker -H "$manager" swarm init --advertise-addr "$(host_address 1)" \
      --listen-addr "$(host_address 1):2377" >/dev/null
  fi
  token=$(docker -H "$manager" swarm join-token -q worker)
  for k in $(host_indices); do
    ((k == 1)) && continue
    [[ "$(swarm_state "$k")" == active ]] && continue
    log "$(host_name "$k"): swarm join (worker)"
    docker -H "$(host_docker_host "$k")" swarm join --token "$token" \
      --advertise-addr "$(host_address "$k")" --listen-addr "$(host_address "$k"):2377" \
      "$(host_address 1):2377" >/dev/null
  done
  # Ready when the manager sees every host as a ready node.
  swarm_ready() {
    ready=$(docker -H "$manager" node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null |
      grep -c ' Ready$')
    ((ready == LAB_HOSTS))
  }
  wait_for 60 "the swarm's nodes" "$(host_dir 1)/dockerd.log" "" swarm_ready
  log "swarm: $LAB_HOSTS nodes ready, manager $(host_name 1)"
}

swarm_off() {
  local k
  # Workers first, so the manager does not wait for them.
  for k in $(host_indices | sort -rn); do
    docker_answers "$(host_docker_host "$k")" || continue
    if [[ "$(swarm_state "$k")" == active ]]; then
      docker -H "$(host_docker_host "$k")" swarm leave --force >/dev/null
      log "$(host_name "$k"): left the swarm"
    fi
  done
}

cmd_swarm() {
  local k
  for k in $(host_indices); do
    docker_answers "$(host_docker_host "$k")" ||
      die "the engine of $(host_name "$k") does not answer (run: bash scripts/sandbox.sh up)"
  done
  case "${1:-}" in
    on) swarm_on ;;
    off) swarm_off ;;
    *) die "usage: $0 swarm on|off" ;;
  esac
}
