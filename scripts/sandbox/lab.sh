# shellcheck shell=bash
# The lab: $LAB_HOSTS server hosts on one machine, each a set of namespaces of its own.
#
#   host K    network namespace vd-hK (ip netns), and a mount and a UTS namespace kept alive by
#             files in $LAB/ns: its own hostname (hostK), loopback, /srv (bind-mounted from
#             $LAB/hK/srv) and /run (from $LAB/hK/run, so /var/run/docker.sock is its own
#             engine's socket). Its own dockerd (ordinary bridge networking and iptables, inside
#             the namespace), its own sshd (port 22, its own host key; the machine's users, so
#             root and deploy log in with the sandbox's keys), and its own way to the registries:
#             127.0.0.1:$REGISTRY_PORT and :$AUTH_REGISTRY_PORT inside the host lead to the
#             registries on the machine's 127.0.0.1.
#   LAN       network namespace vd-lan holds the bridge lan0; host K's eth0 is one end of a veth
#             pair whose other end (hK) is on lan0, address $LAN_PREFIX.(10+K)/24. No gateway:
#             no route leads out of the lab.
#   loopback  127.0.0.1:(VD_SSH_PORT+K-1) on the machine leads to host K's port 22: a socat
#             here starts, for each connection, a socat inside the host (nsenter) that connects
#             to sshd from the client's own port.
#
# The way from a host to the registries is a pair of socat processes meeting at a unix socket
# under $LAB (a unix socket belongs to no network namespace): one listens on TCP inside the host,
# the other connects to TCP on this machine. Nothing adds an address or a route to the machine's
# own network namespace, and veth ends are created inside the namespaces.

LAB=$D/lab
NS_DIR=$LAB/ns
LAN_NS=vd-lan
LAN_PREFIX=10.77.0

host_dir() { printf '%s' "$LAB/h$1"; }
host_name() { printf 'host%s' "$1"; }
host_netns() { printf 'vd-h%s' "$1"; }
host_address() { printf '%s.%s' "$LAN_PREFIX" $((10 + $1)); }
host_ssh_port() { printf '%s' $((SSH_PORT + $1 - 1)); }
host_docker_host() { printf 'unix://%s/run/docker.sock' "$(host_dir "$1")"; }
host_fingerprint() { ssh-keygen -lf "$(host_dir "$1")/ssh/host_ed25519_key.pub" | cut -d' ' -f2; }

# The command prefix that enters host K: nsenter into its network, mount and UTS namespaces.
# DOCKER_HOST and DOCKER_CONTEXT of the caller stay behind: inside, `docker` is the host's own.
host_enter() {
  local k=$1
  HOST_ENTER=(env -u DOCKER_HOST -u DOCKER_CONTEXT nsenter "--net=/run/netns/$(host_netns "$k")"
    "--mount=$NS_DIR/h$k.mnt" "--uts=$NS_DIR/h$k.uts" --)
}

# in_host K CMD...: run CMD inside host K.
in_host() {
  local k=$1
  shift
  host_enter "$k"
  "${HOST_ENTER[@]}" "$@"
}

# Only the host's network namespace (enough for a TCP bridge).
in_host_net() {
  local k=$1
  shift
  nsenter "--net=/run/netns/$(host_netns "$k")" -- "$@"
}

host_indices() { seq 1 "$LAB_HOSTS"; }

# ---------------------------------------------------------------- namespaces

# The folder that holds the mount and UTS namespace files must be a private mount: a namespace
# file bound inside a mount that propagates would show up in the namespace itself (a loop the
# kernel refuses).
ns_dir_up() {
  mkdir -p "$NS_DIR"
  mountpoint -q "$NS_DIR" || mount --bind "$NS_DIR" "$NS_DIR"
  mount --make-private "$NS_DIR"
}

# What the machine's own network namespace has (addresses and routes), as `root_net_state`
# prints it: recorded when the lab is made, so that tests can show the lab added nothing there.
root_net_state() {
  ip -o addr show | awk '{$1=""; print}' | sed 's/ *valid_lft.*//; s/ *\\$//'
  ip route show table all
}

lan_up() {
  if [[ ! -e /run/netns/$LAN_NS ]]; then
    root_net_state >"$LAB/root-net.before"
    ip netns add "$LAN_NS"
  fi
  ip -n "$LAN_NS" link set lo up
  ip -n "$LAN_NS" link show lan0 >/dev/null 2>&1 || ip -n "$LAN_NS" link add lan0 type bridge
  ip -n "$LAN_NS" link set lan0 up
}

host_namespaces_up() {
  local k=$1 dir netns
  dir=$(host_dir "$k")
  netns=$(host_netns "$k")
  mkdir -p "$dir"/{srv,run,docker,ssh,shim}
  chmod 0755 "$dir" "$dir/srv" "$dir/run"
  [[ -d /srv ]] || mkdir -m 0755 /srv
  [[ -e /run/netns/$netns ]] || ip netns add "$netns"
  if ! mountpoint -q "$NS_DIR/h$k.mnt" || ! mountpoint -q "$NS_DIR/h$k.uts"; then
    umount "$NS_DIR/h$k.mnt" "$NS_DIR/h$k.uts" 2>/dev/null || true
    touch "$NS_DIR/h$k.mnt" "$NS_DIR/h$k.uts"
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare --mount="$NS_DIR/h$k.mnt" --uts="$NS_DIR/h$k.uts" --propagation private \
      sh -c 'hostname "$1" && mount --bind "$2/srv" /srv && mount --bind "$2/run" /run' \
      _ "$(host_name "$k")" "$dir" || die "could not make the namespaces of $(host_name "$k")"
  fi
  # The LAN: eth0 in the host, its peer hK on lan0. Both ends are made inside their namespaces.
  if ! ip -n "$netns" link show eth0 >/dev/null 2>&1; then
    ip -n "$LAN_NS" link del "h$k" 2>/dev/null || true
    ip -n "$netns" link add eth0 type veth peer name "h$k" netns "$LAN_NS"
    ip -n "$netns" addr add "$(host_address "$k")/24" dev eth0
  fi
  ip -n "$netns" link set lo up
  ip -n "$netns" link set eth0 up
  ip -n "$LAN_NS" link set "h$k" master lan0
  ip -n "$LAN_NS" link set "h$k" up
}

# ---------------------------------------------------------------- engine

host_engine_up() {
  local k=$1 dir sock pid
  dir=$(host_dir "$k")
  sock=$dir/run/docker.sock
  if docker_answers "unix://$sock"; then
    log "$(host_name "$k") engine: reusing the one answering on unix://$sock"
  else
    # dockerd 20.10 derives the engine ID from its trust key: one per host, not /etc/docker's.
    write_if_changed "$dir/daemon.json" "{ \"deprecated-key-path\": \"$dir/key.json\" }" || true
    if ! pid=$(live_pid "$dir/dockerd.pid" "$dir/docker"); then
      log "$(host_name "$k") engine: starting dockerd (bridge networking, inside the host)"
      host_enter "$k"
      spawn "$dir/dockerd.log" "${HOST_ENTER[@]}" dockerd --config-file "$dir/daemon.json" \
        --data-root "$dir/docker" --pidfile "$dir/dockerd.pid" --group "$DOCKER_GROUP"
      pid=$SPAWNED
    fi
    wait_for 300 "the dockerd of $(host_name "$k")" "$dir/dockerd.log" "$pid" \
      docker_answers "unix://$sock"
  fi
  [[ "$(stat -c %G "$sock")" == "$DOCKER_GROUP" ]] || chgrp "$DOCKER_GROUP" "$sock"
}

host_engine_down() {
  local k=$1 dir ids
  dir=$(host_dir "$k")
  if docker_answers "$(host_docker_host "$k")"; then
    # Stop the containers explicitly so "unless-stopped" ones stay stopped: otherwise the next
    # `up` would bring old deployments (and their ports) back.
    ids=$(docker -H "$(host_docker_host "$k")" ps -q)
    if [[ -n $ids ]]; then
      log "$(host_name "$k") engine: stopping $(wc -w <<<"$ids") container(s)"
      # shellcheck disable=SC2086
      docker -H "$(host_docker_host "$k")" stop -t 5 $ids >/dev/null || true
    fi
  fi
  stop_pid "$(host_name "$k") engine" "$dir/dockerd.pid" "$dir/docker" 60
}

# ---------------------------------------------------------------- sshd

host_sshd_up() {
  local k=$1 dir cfg changed=0 pid
  dir=$(host_dir "$k")
  cfg=$dir/ssh/sshd_config
  [[ -f $dir/ssh/host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "vd-sandbox-$(host_name "$k")" -f "$dir/ssh/host_ed25519_key"
  chmod 0600 "$dir/ssh/host_ed25519_key"
  # Without PAM, OpenSSH refuses even key logins to an account whose password is
  # locked ("!" in /etc/shadow); PAM has no such rule, so use it in that case.
  local use_pam=no
  [[ "$(getent shadow root 2>/dev/null | cut -d: -f2)" == '!'* ]] && use_pam=yes
  # StrictModes no: the state dir sits under /var/tmp, which is world-writable.
  # SetEnv: sshd takes only the first SetEnv line, so the variables share one. PATH puts the
  # host's shim folder first (fault tests drop programs there; empty, it changes nothing).
  # SHLVL=1: bash, started by sshd for a command, sources ~/.bashrc unless it is a nested shell;
  # a machine's own .bashrc (pyenv init, here) would cost every remote command most of a second,
  # which a real server's deploy user does not pay. With SHLVL=1 bash counts itself nested.
  write_if_changed "$cfg" "# Generated by scripts/sandbox.sh: the sshd of $(host_name "$k"), inside its namespaces.
ListenAddress 0.0.0.0
Port 22
HostKey $dir/ssh/host_ed25519_key
PidFile $dir/ssh/sshd.pid
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
SetEnv SHLVL=1 PATH=$dir/shim:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" && changed=1

  if pid=$(live_pid "$dir/ssh/sshd.pid" "$cfg"); then
    if ((changed)); then
      log "$(host_name "$k") sshd: configuration changed, restarting"
      stop_pid "$(host_name "$k") sshd" "$dir/ssh/sshd.pid" "$cfg" 10
    fi
  fi
  if ! live_pid "$dir/ssh/sshd.pid" "$cfg" >/dev/null; then
    mkdir -p -m 0755 "$dir/run/sshd" # privilege separation directory (the host's /run/sshd)
    # Checked inside the host: sshd -t looks for /run/sshd, which is the host's own.
    in_host "$k" /usr/sbin/sshd -t -f "$cfg" || die "sshd rejected $cfg"
    log "$(host_name "$k") sshd: starting on port 22"
    # sshd binds, daemonizes itself and writes its pidfile.
    in_host "$k" /usr/sbin/sshd -f "$cfg" -E "$dir/ssh/sshd.log" </dev/null ||
      die "the sshd of $(host_name "$k") did not start: $(tail -n 3 "$dir/ssh/sshd.log")"
  fi
}

# ---------------------------------------------------------------- bridges

# The machine's 127.0.0.1:PORT → host K's 127.0.0.1:22. For each connection socat starts a
# socat inside the host that connects to sshd from the client's own port (socat passes it as
# SOCAT_PEERPORT): sshd's log and its sessions' SSH_CLIENT name the port the client used on this
# machine, as they would for a direct connection. When that port is taken inside the host (one of
# its own connections holds it: the two namespaces share the ephemeral range; seen once in CI as
# "bind: Address already in use", which closed the client's connection before the handshake),
# the inner socat connects from a port of its own instead. (socat takes '…' as its own quotes:
# \' reaches sh as a quote.) It binds 127.0.0.1:PORT, not 0.0.0.0:PORT: the
# same port number may be in use on another of the host's addresses (its engine's proxies
# connect to containers from the bridge's address), which would refuse the connection.
host_ssh_bridge_up() {
  local k=$1 port
  port=$(host_ssh_port "$k")
  # An earlier sandbox bridged through a unix socket and a socat inside the host.
  stop_pid "$(host_name "$k") ssh bridge (inside, earlier)" "$(host_dir "$k")/ssh-bridge.pid" \
    "UNIX-LISTEN:" 10
  if ! live_pid "$LAB/ssh-$k.pid" "TCP-LISTEN:$port," >/dev/null; then
    port_open "$port" && die "127.0.0.1:$port is taken by another program (set VD_SSH_PORT)"
  fi
  keep_running "$(host_name "$k") ssh bridge" "$LAB/ssh-$k.pid" "$LAB/bridges.log" \
    socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=128" \
    "SYSTEM:exec nsenter --net=/run/netns/$(host_netns "$k") sh -c \\'socat STDIO TCP\\:127.0.0.1\\:22\\,bind=127.0.0.1\\:\$SOCAT_PEERPORT\\,reuseaddr || exec socat STDIO TCP\\:127.0.0.1\\:22\\'"
}

# The machine's registries, offered on unix sockets for the hosts (once).
registry_sockets_up() {
  local port
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    keep_running "registry socket $port" "$LAB/registry-$port.pid" "$LAB/bridges.log" \
      socat "UNIX-LISTEN:$LAB/registry-$port.sock,fork,unlink-early,mode=0600" \
      "TCP:127.0.0.1:$port"
  done
}

# Host K's 127.0.0.1:PORT → unix socket → the machine's registry on 127.0.0.1:PORT.
host_registry_bridges_up() {
  local k=$1 dir port
  dir=$(host_dir "$k")
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    keep_running "$(host_name "$k") registry bridge $port" "$dir/registry-$port.pid" \
      "$dir/bridges.log" nsenter "--net=/run/netns/$(host_netns "$k")" -- \
      socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr,backlog=128" "UNIX-CONNECT:$LAB/registry-$port.sock"
  done
}

# ---------------------------------------------------------------- up, check, down

lab_up() {
  ns_dir_up
  lan_up
  registry_sockets_up
  local k
  for k in $(host_indices); do
    host_namespaces_up "$k"
    host_registry_bridges_up "$k"
    host_sshd_up "$k"
    host_ssh_bridge_up "$k"
  done
  # The engines start one after the other (each takes a few seconds of CPU), then every host
  # is checked from the outside in: SSH through the bridge, its engine, compose, the registries.
  for k in $(host_indices); do host_engine_up "$k"; done
  known_hosts
  for k in $(host_indices); do host_check "$k"; done
}

# known_hosts for OpenSSH clients: every host's key at its loopback port.
known_hosts() {
  local k lines=()
  for k in $(host_indices); do
    lines+=("[127.0.0.1]:$(host_ssh_port "$k") $(cut -d' ' -f1-2 "$(host_dir "$k")/ssh/host_ed25519_key.pub")")
  done
  write_if_changed "$D/ssh/known_hosts" "$(printf '%s\n' "${lines[@]}")" || true
}

# ssh_to K USER COMMAND...: log in to host K through its loopback port as USER (root or
# $DEPLOY_USER), checking the host key.
ssh_to() {
  local k=$1 user=$2 key=$D/ssh/id_ed25519
  shift 2
  [[ $user == root ]] || key=$D/ssh/id_ed25519_$user
  ssh -i "$key" -p "$(host_ssh_port "$k")" -o BatchMode=yes -o ConnectTimeout=5 \
    -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$D/ssh/known_hosts" \
    -o LogLevel=ERROR "$user@127.0.0.1" "$@"
}

# The whole route, for each login: the bridge, the host key, the key login, the hostname, the
# host's own engine (for the deploy user through its socket's group), both compose flavours, and
# the registries on the host's loopback.
host_check() {
  local k=$1 user out name
  name=$(host_name "$k")
  wait_for 15 "the sshd of $name" "$(host_dir "$k")/ssh/sshd.log" "" ssh_to "$k" root true
  for user in root "$DEPLOY_USER"; do
    out=$(ssh_to "$k" "$user" "hostname; docker info --format '{{.Name}}' &&
      docker compose version --short >/dev/null && docker-compose version --short >/dev/null &&
      curl -sS -o /dev/null -w '%{http_code} ' http://127.0.0.1:$REGISTRY_PORT/v2/ &&
      curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/" 2>&1) ||
      out="failed: $out"
    [[ $out == "$name"$'\n'"$name"$'\n200 401' ]] ||
      die "$name as $user: expected its hostname twice and the registries' 200 401, got: $out (see $(host_dir "$k")/ssh/sshd.log)"
  done
}

host_down() {
  local k=$1 dir netns pids
  dir=$(host_dir "$k")
  netns=$(host_netns "$k")
  host_engine_down "$k"
  stop_pid "$(host_name "$k") sshd" "$dir/ssh/sshd.pid" "$dir/ssh/sshd_config" 15
  stop_pid "$(host_name "$k") ssh bridge" "$LAB/ssh-$k.pid" "TCP-LISTEN:" 10
  local port
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    stop_pid "$(host_name "$k") registry bridge $port" "$dir/registry-$port.pid" "TCP-LISTEN:" 10
  done
  # Whatever still lives in the host (a session, a container's shim) goes with it.
  if [[ -e /run/netns/$netns ]]; then
    pids=$(ip netns pids "$netns" 2>/dev/null | tr '\n' ' ')
    if [[ -n ${pids// /} ]]; then
      log "$(host_name "$k"): stopping what still runs inside (pids $pids)"
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      sleep 2
      pids=$(ip netns pids "$netns" 2>/dev/null | tr '\n' ' ')
      # shellcheck disable=SC2086
      [[ -z ${pids// /} ]] || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$netns"
  fi
  umount "$NS_DIR/h$k.mnt" "$NS_DIR/h$k.uts" 2>/dev/null || true
  rm -f "$NS_DIR/h$k.mnt" "$NS_DIR/h$k.uts"
}

lab_down() {
  local k
  [[ -d $LAB ]] || return 0
  # Every host the lab may have had, not only today's count.
  for k in $(find "$LAB" -maxdepth 1 -name 'h[0-9]*' -printf '%f\n' | sed 's/^h//' | sort -n); do
    host_down "$k"
  done
  local port
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    stop_pid "registry socket $port" "$LAB/registry-$port.pid" "UNIX-LISTEN:" 10
  done
  [[ -e /run/netns/$LAN_NS ]] && ip netns del "$LAN_NS"
  mountpoint -q "$NS_DIR" && umount "$NS_DIR"
  return 0
}

# exec K CMD...: run CMD on host K, as root, in its namespaces (its /srv, its engine).
cmd_exec() {
  local k=${1:-}
  [[ $k =~ ^[1-9][0-9]*$ ]] && ((k <= LAB_HOSTS)) ||
    die "usage: $0 exec K COMMAND... (K from 1 to $LAB_HOSTS)"
  shift
  (($# > 0)) || die "usage: $0 exec K COMMAND..."
  [[ -e /run/netns/$(host_netns "$k") ]] && mountpoint -q "$NS_DIR/h$k.mnt" ||
    die "$(host_name "$k") is not up (run: bash scripts/sandbox.sh up)"
  # In the caller's folder (the machine's folders are the host's too, but for /srv and /run).
  exec env -u DOCKER_HOST -u DOCKER_CONTEXT nsenter "--net=/run/netns/$(host_netns "$k")" \
    "--mount=$NS_DIR/h$k.mnt" "--uts=$NS_DIR/h$k.uts" "--wd=$PWD" -- "$@"
}

# engine K stop|start: stop host K's engine (its containers stop with it, and come back by their
# restart policies when it starts again), or start it again; for tests of a server whose engine
# is down.
cmd_sshd() {
  local k=${1:-} dir
  [[ $k =~ ^[1-9][0-9]*$ ]] && ((k <= LAB_HOSTS)) || die "usage: $0 sshd K stop|start"
  dir=$(host_dir "$k")
  case "${2:-}" in
    stop) stop_pid "$(host_name "$k") sshd" "$dir/ssh/sshd.pid" "$dir/ssh/sshd_config" 10 ;;
    start) host_sshd_up "$k" ;;
    *) die "usage: $0 sshd K stop|start" ;;
  esac
}

cmd_engine() {
  local k=${1:-} dir
  [[ $k =~ ^[1-9][0-9]*$ ]] && ((k <= LAB_HOSTS)) || die "usage: $0 engine K stop|start"
  dir=$(host_dir "$k")
  case "${2:-}" in
    stop) stop_pid "$(host_name "$k") engine" "$dir/dockerd.pid" "$dir/docker" 60 ;;
    start) host_engine_up "$k" ;;
    *) die "usage: $0 engine K stop|start" ;;
  esac
}
