# shellcheck shell=bash
# What the sandbox needs on the machine: Debian packages, Compose v2 as the Docker CLI plugin,
# the non-root deploy user, and the static busybox the example images are built from.

ensure_packages() {
  local missing=()
  { have docker && have dockerd; } || missing+=(docker.io)
  have docker-compose || missing+=(docker-compose)
  [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
  { have ssh && have ssh-keygen; } || missing+=(openssh-client)
  have docker-registry || missing+=(docker-registry)
  have htpasswd || missing+=(apache2-utils) # bcrypt for the auth registry's htpasswd
  have socat || missing+=(socat)            # the lab's loopback bridges
  have curl || missing+=(curl)
  have iptables || missing+=(iptables) # each lab host's engine sets up its own NAT
  { have ip && have nsenter && have unshare; } || missing+=(iproute2 util-linux)
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

# The non-root deploy user: home under the sandbox's folder, in the group of the lab hosts'
# engine sockets, key login only. The lab's hosts share the machine's users.
ensure_deploy_user() {
  getent group "$DOCKER_GROUP" >/dev/null || groupadd --system "$DOCKER_GROUP"
  if ! id "$DEPLOY_USER" >/dev/null 2>&1; then
    log "creating user $DEPLOY_USER (group $DOCKER_GROUP), home $D/home/$DEPLOY_USER"
    mkdir -p "$D/home"
    useradd --create-home --home-dir "$D/home/$DEPLOY_USER" --shell /bin/bash \
      --groups "$DOCKER_GROUP" "$DEPLOY_USER"
  fi
  # Its home is inside the sandbox's folder, which may have been removed since the user was made.
  local home
  home=$(getent passwd "$DEPLOY_USER" | cut -d: -f6)
  if [[ -n $home && ! -d $home ]]; then
    log "user $DEPLOY_USER: making its missing home $home"
    install -d -m 0750 -o "$DEPLOY_USER" -g "$(id -gn "$DEPLOY_USER")" "$home"
  fi
  id -nG "$DEPLOY_USER" | tr ' ' '\n' | grep -qx "$DOCKER_GROUP" ||
    usermod -aG "$DOCKER_GROUP" "$DEPLOY_USER"
  # useradd locks the password ("!"); without PAM, OpenSSH refuses even key logins to a locked
  # account. "*" is no password at all, and not locked.
  if [[ "$(getent shadow "$DEPLOY_USER" | cut -d: -f2)" == '!'* ]]; then
    usermod -p '*' "$DEPLOY_USER"
  fi
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
