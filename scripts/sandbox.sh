#!/usr/bin/env bash
# The deployment sandbox, for versioned-deploy's end-to-end tests and demo: a runner and a lab
# of server hosts on one machine.
#
#   runner    the default Docker engine (unix:///var/run/docker.sock), where the action builds
#             images; reused when one answers, else started here (--bridge=none, no iptables:
#             it never gets a bridge network and never joins a swarm). Buildx (`docker buildx`,
#             from Debian trixie's docker-buildx package) builds with the engine's own BuildKit
#             (the `docker` driver); build steps need `--network host` (there is no bridge)
#   lab       $VD_LAB_HOSTS server hosts (default 3), each in namespaces of its own: its own
#             hostname (host1, host2, …), loopback, /srv, Docker engine with ordinary bridge
#             networking, sshd and host key; on a private LAN that exists only inside the lab's
#             namespaces (10.77.0.0/24); reached from the machine only through 127.0.0.1:2222,
#             2223, … (scripts/sandbox/lab.sh). Two logins on every host, each with its own key:
#             root, and the non-root user `deploy`, who may use the host's engine through its
#             socket's group (vd-docker), as a real server's deploy user does through the docker
#             group. Compose v2 (`docker compose`, from Debian trixie's docker-compose package)
#             and Compose v1 (`docker-compose` 1.29, bookworm's) on every host
#   registry  docker-registry on 127.0.0.1:$VD_REGISTRY_PORT (plain HTTP; dockerd allows that
#             for 127.0.0.0/8 without configuration), no login; and a second on
#             127.0.0.1:$VD_AUTH_REGISTRY_PORT that requires one (htpasswd, realm vd-sandbox):
#             user vd, and a random password generated once into
#             $VD_SANDBOX_DIR/registry-auth/password. Every lab host reaches both on its own
#             127.0.0.1 at the same ports, so image names are the same everywhere.
#
# In the machine's own network namespace everything listens on 127.0.0.1 only; the sandbox adds
# no address and no route there. Private addresses exist only inside the lab's namespaces.
#
# Usage: scripts/sandbox.sh up | down | env | exec K COMMAND... | swarm on|off | engine K stop|start
#        | sshd K stop|start | net-state
#   up          install what is missing (as root), start whatever is not running; idempotent
#   down        stop what the sandbox started and remove the lab's namespaces, LAN and bridges
#               (hosts leave their swarm first); keeps keys, images and data
#   env         print the connection details as shell-sourceable variables
#   exec K CMD  run CMD as root on lab host K (its namespaces: its /srv, its engine, its
#               loopback), e.g. `bash scripts/sandbox.sh exec 2 docker ps`
#   swarm on    a swarm across the lab: manager host1, the other hosts workers; idempotent
#   swarm off   every host leaves the swarm, so the other suites see plain engines
#   engine K stop|start
#               stop host K's Docker engine, or start it again (tests of a server whose engine
#               is down)
#   sshd K stop|start
#               stop host K's sshd, or start it again (a server that cannot be reached: its
#               port still accepts, then closes the connection before any SSH is spoken)
#   net-state   print the addresses and routes of the machine's own network namespace; `up`
#               records them in $VD_SANDBOX_DIR/lab/root-net.before when it makes the lab
#
# Settings (environment): VD_SANDBOX_DIR (default /var/tmp/vd-sandbox), VD_LAB_HOSTS (3),
# VD_SSH_PORT (2222: host K listens on VD_SSH_PORT+K-1), VD_REGISTRY_PORT (5000),
# VD_AUTH_REGISTRY_PORT (5001).
set -euo pipefail

# dockerd, sshd and iptables live in sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

D=${VD_SANDBOX_DIR:-/var/tmp/vd-sandbox}
[[ $D == /* ]] || D="$PWD/$D"
D=${D%/}
LAB_HOSTS=${VD_LAB_HOSTS:-3}
SSH_PORT=${VD_SSH_PORT:-2222}
REGISTRY_PORT=${VD_REGISTRY_PORT:-5000}
AUTH_REGISTRY_PORT=${VD_AUTH_REGISTRY_PORT:-5001}
REGISTRY_USER=vd
DEPLOY_USER=deploy
# The group of the lab engines' sockets: the sandbox's "docker group" (not the machine's own
# docker group, which would open the runner's engine to the deploy user too).
DOCKER_GROUP=vd-docker
# Compose v2 and Buildx for every docker CLI on this machine, the lab hosts' included.
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
BUILDX_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-buildx
RUNNER_HOST=unix:///var/run/docker.sock
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$D/sandbox.conf # what `up` chose; `env` reads it back

for part in common packages runner registry keys lab swarm ingress env; do
  # shellcheck source=/dev/null
  source "$REPO_ROOT/scripts/sandbox/$part.sh"
done

check_settings() {
  # Unix socket paths are limited to 108 bytes; containerd's sockets end up under the hosts'
  # folders, so keep the state dir short.
  ((${#D} <= 60)) || die "VD_SANDBOX_DIR is too long (${#D} chars, max 60): $D"
  # It is written unquoted into sshd_config and the registry config.
  [[ $D =~ ^[A-Za-z0-9_./+-]+$ ]] || die "VD_SANDBOX_DIR may hold only [A-Za-z0-9_./+-]: $D"
  [[ $SSH_PORT =~ ^[0-9]+$ && $REGISTRY_PORT =~ ^[0-9]+$ && $AUTH_REGISTRY_PORT =~ ^[0-9]+$ ]] ||
    die "VD_SSH_PORT, VD_REGISTRY_PORT and VD_AUTH_REGISTRY_PORT must be port numbers"
  [[ $AUTH_REGISTRY_PORT != "$REGISTRY_PORT" ]] ||
    die "VD_AUTH_REGISTRY_PORT and VD_REGISTRY_PORT must differ (both are $REGISTRY_PORT)"
  [[ $LAB_HOSTS =~ ^[1-9]$ ]] || die "VD_LAB_HOSTS must be a number from 1 to 9, not '$LAB_HOSTS'"
}

prepare_dirs() {
  umask 022
  mkdir -p "$D"/{runner,ssh,registry/data,registry-auth/data,lab}
  # --config-file keeps /etc/docker/daemon.json (if any) out of the sandbox's engines.
  write_if_changed "$D/daemon.json" '{}' || true
}

# The sandbox before the lab ran one "server" engine and sshd in the machine's own namespace;
# a machine that still runs them gets them stopped (sshd held 127.0.0.1:2222).
retire_single_server() {
  stop_pid "single-server sshd (before the lab)" "$D/ssh/sshd.pid" "$D/ssh/sshd_config" 15
  if [[ -S $D/server/docker.sock ]] && docker_answers "unix://$D/server/docker.sock"; then
    docker -H "unix://$D/server/docker.sock" swarm leave --force >/dev/null 2>&1 || true
    local ids
    ids=$(docker -H "unix://$D/server/docker.sock" ps -q)
    # shellcheck disable=SC2086
    [[ -z $ids ]] || docker -H "unix://$D/server/docker.sock" stop -t 5 $ids >/dev/null || true
  fi
  stop_pid "single-server engine (before the lab)" "$D/server/dockerd.pid" "$D/server/docker.sock" 60
}

cmd_up() {
  local t0=$SECONDS k
  check_settings
  ensure_packages
  # Starting daemons, namespaces and bridges: all need root.
  ((EUID == 0)) || die "up needs root (sudo bash scripts/sandbox.sh up)"
  prepare_dirs
  ensure_compose_v2
  ensure_buildx
  ensure_deploy_user
  retire_single_server
  client_keys
  start_runner_engine
  start_registry
  start_auth_registry
  lab_up
  stage_busybox
  ensure_ingress_image
  write_if_changed "$CONF" "SSH_PORT=$SSH_PORT
REGISTRY_PORT=$REGISTRY_PORT
AUTH_REGISTRY_PORT=$AUTH_REGISTRY_PORT
LAB_HOSTS=$LAB_HOSTS" || true

  {
    echo "vd-sandbox is up ($((SECONDS - t0))s), state in $D"
    echo "  runner engine  $RUNNER_HOST ($(docker -H "$RUNNER_HOST" version -f '{{.Server.Version}}'))"
    for k in $(host_indices); do
      echo "  $(host_name "$k")          ssh 127.0.0.1:$(host_ssh_port "$k") (root, $DEPLOY_USER)  LAN $(host_address "$k")  engine $(host_docker_host "$k")"
    done
    echo "  keys           root $D/ssh/id_ed25519, $DEPLOY_USER $D/ssh/id_ed25519_$DEPLOY_USER (group $DOCKER_GROUP)"
    echo "  compose        $(docker compose version --short) (docker compose), $(docker-compose version --short) (docker-compose)"
    echo "  buildx         $(docker buildx version | cut -d' ' -f2) (docker buildx; builder: the runner engine's BuildKit, docker driver)"
    echo "  registry       127.0.0.1:$REGISTRY_PORT  (no login)"
    echo "  auth registry  127.0.0.1:$AUTH_REGISTRY_PORT  user $REGISTRY_USER, password in $D/registry-auth/password"
    echo "  ingress image  $INGRESS_IMAGE on every host (Caddy from Debian's caddy package; users get caddy:2)"
    echo "Connection details: eval \"\$(bash scripts/sandbox.sh env)\"; a command on host K: bash scripts/sandbox.sh exec K docker ps"
  }
}

cmd_down() {
  if [[ -d $D ]]; then
    if [[ -f $CONF ]]; then
      # The ports `up` chose, for the bridges' pidfiles.
      REGISTRY_PORT=$(sed -n 's/^REGISTRY_PORT=//p' "$CONF")
      AUTH_REGISTRY_PORT=$(sed -n 's/^AUTH_REGISTRY_PORT=//p' "$CONF")
      LAB_HOSTS=$(sed -n 's/^LAB_HOSTS=//p' "$CONF")
      LAB_HOSTS=${LAB_HOSTS:-3}
    fi
    swarm_off
    lab_down
    retire_single_server
    stop_registries
    stop_runner_engine
  fi
  log "sandbox is down (keys, images and data kept in $D)"
}

# Commands that act on a running lab use the settings `up` chose.
read_conf() {
  [[ -f $CONF ]] || die "no sandbox set up in $D (run: bash scripts/sandbox.sh up)"
  SSH_PORT=$(sed -n 's/^SSH_PORT=//p' "$CONF")
  LAB_HOSTS=$(sed -n 's/^LAB_HOSTS=//p' "$CONF")
  [[ -n $LAB_HOSTS ]] || die "the sandbox in $D is not a lab yet (run: bash scripts/sandbox.sh up)"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  exec)
    read_conf
    shift
    cmd_exec "$@"
    ;;
  swarm)
    read_conf
    cmd_swarm "${2:-}"
    ;;
  engine)
    read_conf
    cmd_engine "${2:-}" "${3:-}"
    ;;
  sshd)
    read_conf
    cmd_sshd "${2:-}" "${3:-}"
    ;;
  net-state) root_net_state ;;
  *)
    echo "usage: $0 up|down|env|exec K COMMAND...|swarm on|off|engine K stop|start|sshd K stop|start|net-state" >&2
    exit 2
    ;;
esac
