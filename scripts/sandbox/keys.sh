# shellcheck shell=bash
# The sandbox's SSH client keys: one for root and one for the deploy user, the same on every lab
# host (they share the machine's users and these authorized_keys files). Each host has its own
# host key (lab.sh); $D/ssh/known_hosts lists them all.

client_keys() {
  mkdir -p "$D/ssh"
  [[ -f $D/ssh/id_ed25519 ]] ||
    ssh-keygen -q -t ed25519 -N '' -C vd-sandbox-client -f "$D/ssh/id_ed25519"
  [[ -f $D/ssh/id_ed25519_$DEPLOY_USER ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "vd-sandbox-$DEPLOY_USER" -f "$D/ssh/id_ed25519_$DEPLOY_USER"
  chmod 0600 "$D/ssh/id_ed25519" "$D/ssh/id_ed25519_$DEPLOY_USER"
  # One authorized key per user (sshd_config: AuthorizedKeysFile …/authorized_keys.%u).
  write_if_changed "$D/ssh/authorized_keys.root" "$(<"$D/ssh/id_ed25519.pub")" || true
  write_if_changed "$D/ssh/authorized_keys.$DEPLOY_USER" \
    "$(<"$D/ssh/id_ed25519_$DEPLOY_USER.pub")" || true
}
