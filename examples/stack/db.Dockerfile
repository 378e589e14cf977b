# vdemo-db: a stand-in database: a TCP port that answers each connection with the version,
# on port 18083. Built with the classic builder from scratch
# plus a static busybox (bin/busybox, copied there by scripts/sandbox.sh up).
#
# Build args:
#   DEPLOY_VERSION  version baked into the image (default: dev)
#   VARIANT         good (default) | broken (runs but unhealthy) | crash (exits 3)
#                   | late-crash (healthy, then exits 4 after 6 s)
FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

COPY entrypoint.sh /usr/local/bin/vdemo-entrypoint
COPY healthcheck.sh /usr/local/bin/vdemo-healthcheck
COPY db-reply.sh /usr/local/bin/vdemo-db-reply

# The build args come after the busybox layers so those stay cached across versions.
ARG DEPLOY_VERSION=dev
ARG VARIANT=good
RUN set -eu; \
    case "$VARIANT" in good|broken|crash|late-crash) ;; *) echo "VARIANT must be good, broken, crash or late-crash, not '$VARIANT'" >&2; exit 1 ;; esac; \
    chmod 0755 /usr/local/bin/vdemo-*; \
    mkdir -p /etc/vdemo /www /tmp; \
    echo db > /etc/vdemo/service; \
    printf '%s' "$DEPLOY_VERSION" > /etc/vdemo/version; \
    printf '%s' "$VARIANT" > /etc/vdemo/variant; \
    if [ "$VARIANT" = broken ]; then echo 'ERROR vdemo-db is broken' > /etc/vdemo/reply; \
    else printf '%s\n' "$DEPLOY_VERSION" > /etc/vdemo/reply; fi
LABEL org.opencontainers.image.title="vdemo-db" \
      org.opencontainers.image.version="$DEPLOY_VERSION" \
      vdemo.variant="$VARIANT"

ENV PORT=18083
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["/bin/sh", "/usr/local/bin/vdemo-healthcheck"]
ENTRYPOINT ["/bin/sh", "/usr/local/bin/vdemo-entrypoint"]
