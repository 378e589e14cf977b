# shellcheck shell=bash
# What the sandbox needs on the machine: Debian packages, Compose v2 and Buildx as Docker CLI
# plugins, the non-root deploy user, and the static busybox the example images are built from.

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

# install_trixie_cli_plugin PACKAGE VERSION PLUGIN: install the Docker CLI plugin PLUGIN (a path in
# the cli-plugins folder) from Debian trixie's PACKAGE, whose version must match the glob VERSION.
# The package is fetched with `apt-get download` through a private apt configuration under $D/apt
# (its own sources list, lists and cache; the machine's apt sources stay untouched) and unpacked,
# not installed: installing would mix trixie's packages into bookworm (docker-compose would
# replace bookworm's Compose v1). Trixie's plugins are Go programs that need no more than
# bookworm's libc, so they run here.
install_trixie_cli_plugin() {
  local package=$1 version=$2 plugin=$3 apt=$D/apt
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,preferences.d,deb}
  write_if_changed "$apt/sources.list" \
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' ||
    true
  local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::Etc::Preferences=$apt/preferences" -o "Dir::Etc::PreferencesParts=$apt/preferences.d"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Acquire::Languages=none
    -o APT::Sandbox::User=root)
  log "$package: fetching Debian trixie's package (private apt setup in $apt)"
  # Once a run: a second plugin installed by the same `up` reuses the lists.
  if [[ -z ${TRIXIE_LISTS_UPDATED:-} ]]; then
    apt-get "${opts[@]}" update >"$apt/apt.log" 2>&1 ||
      die "apt-get update with $apt/sources.list failed: $(tail -n 5 "$apt/apt.log")"
    TRIXIE_LISTS_UPDATED=1
  fi
  local debs=$apt/deb/$package
  rm -rf "$debs"
  mkdir -p "$debs"
  (cd "$debs" && apt-get "${opts[@]}" download "$package") >>"$apt/apt.log" 2>&1 ||
    die "apt-get download $package (trixie) failed: $(tail -n 5 "$apt/apt.log")"
  local deb
  deb=$(find "$debs" -maxdepth 1 -name "${package}_${version}_*.deb" | head -n 1)
  [[ -n $deb ]] || die "trixie's $package is not version $version: $(ls "$debs")"
  local unpacked=$apt/unpacked/$package
  rm -rf "$unpacked"
  mkdir -p "$unpacked"
  dpkg-deb -x "$deb" "$unpacked"
  install -D -m 0755 "$unpacked/usr/libexec/docker/cli-plugins/${plugin##*/}" "$plugin"
  rm -rf "$unpacked" "$debs"
}

# Compose v2 as the Docker CLI plugin (`docker compose`), from trixie's docker-compose (2.x);
# bookworm's docker-compose, Compose v1, stays reachable as /usr/bin/docker-compose.
ensure_compose_v2() {
  if [[ -x $COMPOSE_PLUGIN ]] && "$COMPOSE_PLUGIN" version >/dev/null 2>&1; then
    return 0
  fi
  install_trixie_cli_plugin docker-compose '2.*' "$COMPOSE_PLUGIN"
  log "compose v2: $("$COMPOSE_PLUGIN" version) installed as $COMPOSE_PLUGIN"
}

# Buildx as the Docker CLI plugin (`docker buildx`), from trixie's docker-buildx (0.13): the
# action builds with BuildKit through it. Its builder is the runner engine's own BuildKit (the
# `docker` driver): neither bookworm nor trixie packages buildkitd for a builder of its own.
ensure_buildx() {
  if [[ -x $BUILDX_PLUGIN ]] && "$BUILDX_PLUGIN" version >/dev/null 2>&1; then
    return 0
  fi
  install_trixie_cli_plugin docker-buildx '0.*' "$BUILDX_PLUGIN"
  log "buildx: $("$BUILDX_PLUGIN" version) installed as $BUILDX_PLUGIN"
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
