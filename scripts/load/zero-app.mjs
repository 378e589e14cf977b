// The app that the zero-downtime test and benchmark deploy behind the ingress: `web`, busybox
// httpd serving the version baked into its image at /version, a 2 s page at /cgi-bin/slow, and
// /health unless a file `refuse-<version>` is in the markers folder (bind-mounted): how a
// version is made to fail its checks. With `worker`, a start-first service without a route too.

export const DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY slow /www/cgi-bin/slow
ARG DEPLOY_VERSION
RUN echo "$DEPLOY_VERSION" > /version && cp /version /www/version
`

/** The CGI script of /cgi-bin/slow (its build context's `slow`, mode 755). */
export const SLOW =
  '#!/bin/sh\necho Content-Type: text/plain\necho\nsleep 2\necho "slow $(cat /version)"\n'

/**
 * The compose file: `web` of `project`, routed for `host` through the ingress, switched with
 * `order` (start-first or stop-first); with `worker`, a start-first `worker` (no route, no port)
 * of the same image. `web` answers on 8080 and 8081; the route sends to `port` (8080 unless
 * told); `routed: false` leaves the route labels out.
 * @param {{ project: string, host: string, markers: string, order?: string, worker?: boolean,
 *   port?: number, routed?: boolean }} o
 * @returns {string}
 */
export function zeroCompose({
  project,
  host,
  markers,
  order = 'start-first',
  worker = false,
  port = 8080,
  routed = true
}) {
  const workerService = `  worker:
    image: ${project}-web:\${DEPLOY_VERSION:-latest}
    restart: unless-stopped
    stop_grace_period: 1s
    deploy:
      update_config:
        order: start-first
    command: [sh, -c, 'exec sleep 86400']
`
  return `services:
  web:
    image: ${project}-web:\${DEPLOY_VERSION:-latest}
    restart: unless-stopped
    # httpd ignores SIGTERM: without this, every stop would wait out the 10 s default.
    stop_grace_period: 1s
    deploy:
      update_config:
        order: ${order}
${
  routed
    ? `    labels:
      versioned-deploy.ingress.host: ${host}
      versioned-deploy.ingress.port: "${port}"
      versioned-deploy.ingress.healthcheck: /version
`
    : ''
}    volumes: ['${markers}:/host:ro']
    command: [sh, -c, '{ [ -f /host/refuse-$$(cat /version) ] || echo ok > /www/health; } && httpd -p 0.0.0.0:8081 -h /www && exec httpd -f -p 0.0.0.0:8080 -h /www']
${worker ? workerService : ''}`
}
