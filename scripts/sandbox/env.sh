# shellcheck shell=bash
# `sandbox.sh env`: the connection details as shell-sourceable variables. VD_SSH_* and
# VD_SERVER_DOCKER_HOST name host 1 (the single-server suites' server); VD_HOST<K>_* name each
# lab host. The auth registry's password is given as a path (VD_REGISTRY_PASSWORD_FILE), never
# itself.

cmd_env() {
  [[ -f $CONF && -f $D/ssh/id_ed25519 && -f $D/ssh/known_hosts ]] ||
    die "no sandbox set up in $D (run: bash scripts/sandbox.sh up)"
  local k fp
  # The settings `up` chose.
  SSH_PORT=$(sed -n 's/^SSH_PORT=//p' "$CONF")
  REGISTRY_PORT=$(sed -n 's/^REGISTRY_PORT=//p' "$CONF")
  AUTH_REGISTRY_PORT=$(sed -n 's/^AUTH_REGISTRY_PORT=//p' "$CONF")
  LAB_HOSTS=$(sed -n 's/^LAB_HOSTS=//p' "$CONF")
  [[ -n $LAB_HOSTS && -s $D/registry-auth/password ]] ||
    die "the sandbox in $D is not a lab yet (run: bash scripts/sandbox.sh up)"
  for k in $(host_indices); do
    [[ -f $(host_dir "$k")/ssh/host_ed25519_key.pub ]] ||
      die "$(host_name "$k") has no host key (run: bash scripts/sandbox.sh up)"
  done
  cat <<VARS
VD_SSH_HOST=127.0.0.1
VD_SSH_PORT=$(host_ssh_port 1)
VD_SSH_USER=root
VD_SSH_KEY=$(shq "$D/ssh/id_ed25519")
VD_DEPLOY_USER=$DEPLOY_USER
VD_DEPLOY_KEY=$(shq "$D/ssh/id_ed25519_$DEPLOY_USER")
VD_SSH_FINGERPRINT=$(host_fingerprint 1)
VD_KNOWN_HOSTS=$(shq "$D/ssh/known_hosts")
VD_SERVER_DOCKER_HOST=$(shq "$(host_docker_host 1)")
VD_RUNNER_DOCKER_HOST=$RUNNER_HOST
VD_REGISTRY=127.0.0.1:$REGISTRY_PORT
VD_AUTH_REGISTRY=127.0.0.1:$AUTH_REGISTRY_PORT
VD_REGISTRY_USER=$REGISTRY_USER
VD_REGISTRY_PASSWORD_FILE=$(shq "$D/registry-auth/password")
VD_SANDBOX_DIR=$(shq "$D")
VD_LAB_HOSTS=$LAB_HOSTS
VD_ROOT_NET_BEFORE=$(shq "$LAB/root-net.before")
VARS
  for k in $(host_indices); do
    fp=$(host_fingerprint "$k")
    [[ $fp == SHA256:* ]] || die "cannot read the host key fingerprint of $(host_name "$k")"
    cat <<VARS
VD_HOST${k}_NAME=$(host_name "$k")
VD_HOST${k}_SSH_PORT=$(host_ssh_port "$k")
VD_HOST${k}_KEY=$(shq "$D/ssh/id_ed25519")
VD_HOST${k}_DEPLOY_KEY=$(shq "$D/ssh/id_ed25519_$DEPLOY_USER")
VD_HOST${k}_FINGERPRINT=$fp
VD_HOST${k}_DOCKER_HOST=$(shq "$(host_docker_host "$k")")
VD_HOST${k}_LAN_ADDRESS=$(host_address "$k")
VD_HOST${k}_DIR=$(shq "$(host_dir "$k")")
VD_HOST${k}_NET_NS=/run/netns/$(host_netns "$k")
VD_HOST${k}_MOUNT_NS=$(shq "$NS_DIR/h$k.mnt")
VD_HOST${k}_UTS_NS=$(shq "$NS_DIR/h$k.uts")
VARS
  done
}
