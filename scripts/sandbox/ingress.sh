# shellcheck shell=bash
# The ingress image of the sandbox. Docker Hub (caddy:2) is out of reach here, so vd-caddy:2 is
# made from Debian's caddy package: its binary, the libraries `ldd` names (with the loader), and
# a busybox shell, laid out like the official image (/usr/bin/caddy, /etc/caddy/Caddyfile,
# /config and /data as XDG_CONFIG_HOME and XDG_DATA_HOME, ports 80, 443 and the admin API on
# 2019). Built once on the runner's engine, then loaded into every lab host that lacks it.

INGRESS_IMAGE=vd-caddy:2

# The build context: the package unpacked into rootfs/, with what the binary needs to run.
ingress_context() {
  local ctx=$1 apt=$D/apt-ingress
  mkdir -p "$apt/deb"
  rm -f "$apt"/deb/*.deb
  # The machine's own sources (Debian bookworm): the libraries copied below are the machine's.
  (cd "$apt/deb" && apt-get -q download caddy) >"$apt/apt.log" 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt/apt.log" 2>&1 &&
      (cd "$apt/deb" && apt-get -q download caddy) >>"$apt/apt.log" 2>&1
  } || die "apt-get download caddy failed: $(tail -n 5 "$apt/apt.log")"
  local deb
  deb=$(find "$apt/deb" -maxdepth 1 -name 'caddy_2.*.deb' | head -n 1)
  [[ -n $deb ]] || die "Debian's caddy package is not Caddy 2: $(ls "$apt/deb")"
  rm -rf "$ctx"
  mkdir -p "$ctx/unpacked" "$ctx/rootfs/usr/bin" "$ctx/rootfs/bin" "$ctx/rootfs/etc/caddy" \
    "$ctx/rootfs/config" "$ctx/rootfs/data" "$ctx/rootfs/srv" "$ctx/rootfs/tmp"
  dpkg-deb -x "$deb" "$ctx/unpacked"
  install -m 0755 "$ctx/unpacked/usr/bin/caddy" "$ctx/rootfs/usr/bin/caddy"
  # Every library the binary links to, and its loader, at the paths it asks for.
  local lib
  while read -r lib; do
    [[ -n $lib ]] || continue
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done < <(ldd "$ctx/rootfs/usr/bin/caddy" | grep -o '/[^ ]*')
  install -m 0755 /usr/bin/busybox "$ctx/rootfs/bin/busybox"
  printf ':80 {\n\trespond "versioned-deploy sandbox ingress\\n"\n}\n' >"$ctx/rootfs/etc/caddy/Caddyfile"
  rm -rf "$ctx/unpacked"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
VOLUME /config /data
EXPOSE 80 443 2019
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
EOF
}

ensure_ingress_image() {
  if ! docker -H "$RUNNER_HOST" image inspect "$INGRESS_IMAGE" >/dev/null 2>&1; then
    local ctx=$D/ingress-image
    log "ingress image: building $INGRESS_IMAGE from Debian's caddy package"
    ingress_context "$ctx"
    DOCKER_BUILDKIT=0 docker -H "$RUNNER_HOST" build -q -t "$INGRESS_IMAGE" "$ctx" >/dev/null ||
      die "building $INGRESS_IMAGE failed"
    docker -H "$RUNNER_HOST" run --rm --network none "$INGRESS_IMAGE" caddy version >/dev/null ||
      die "$INGRESS_IMAGE does not run caddy"
  fi
  local k
  for k in $(host_indices); do
    docker -H "$(host_docker_host "$k")" image inspect "$INGRESS_IMAGE" >/dev/null 2>&1 && continue
    log "ingress image: loading $INGRESS_IMAGE into $(host_name "$k")"
    docker -H "$RUNNER_HOST" save "$INGRESS_IMAGE" |
      docker -H "$(host_docker_host "$k")" load -q >/dev/null ||
      die "loading $INGRESS_IMAGE into $(host_name "$k") failed"
  done
}
