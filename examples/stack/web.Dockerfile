# vdemo-web: busybox httpd serving /, /health, /version and /cgi-bin/api (what api answers
# at /version, asked by its service name), on port 18082. Built with the classic builder from
# scratch plus a static busybox (bin/busybox, copied there by scripts/sandbox.sh up).
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
COPY web/index.html /www/index.html
COPY web/cgi-bin/api /www/cgi-bin/api

# The build args come after the busybox layers so those stay cached across versions.
ARG DEPLOY_VERSION=dev
ARG VARIANT=good
RUN set -eu; \
    case "$VARIANT" in good|broken|crash|late-crash) ;; *) echo "VARIANT must be good, broken, crash or late-crash, not '$VARIANT'" >&2; exit 1 ;; esac; \
    chmod 0755 /usr/local/bin/vdemo-* /www/cgi-bin/api; \
    mkdir -p /etc/vdemo /www /tmp; \
    echo web > /etc/vdemo/service; \
    printf '%s' "$DEPLOY_VERSION" > /etc/vdemo/version; \
    printf '%s' "$VARIANT" > /etc/vdemo/variant; \
    printf '%s' "$DEPLOY_VERSION" > /www/version; \
    if [ "$VARIANT" != broken ]; then printf 'ok' > /www/health; fi
LABEL org.opencontainers.image.title="vdemo-web" \
      org.opencontainers.image.version="$DEPLOY_VERSION" \
      vdemo.variant="$VARIANT"

ENV PORT=18082
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["/bin/sh", "/usr/local/bin/vdemo-healthcheck"]
ENTRYPOINT ["/bin/sh", "/usr/local/bin/vdemo-entrypoint"]
