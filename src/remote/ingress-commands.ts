// Builders of the commands that run the ingress container and switch a service start-first.
// Pure, like commands.ts: each returns an argument list.

import type { IngressOptions } from '../config/options.js'
import {
  ADMIN_PORT,
  INGRESS_CONTAINER,
  INGRESS_LABEL,
  INGRESS_NETWORK
} from '../plan/caddy-config.js'
import { compose, type Argv, type ComposeTarget } from './commands.js'

/**
 * Prints `<running> <image> <admin>` of the ingress container (`<admin>`: its ADMIN_LABEL,
 * empty for one an earlier release started); fails when there is none.
 */
export function ingressState(): Argv {
  return inspectContainers(
    `{{.State.Running}} {{.Config.Image}} {{index .Config.Labels "${ADMIN_LABEL}"}}`,
    [INGRESS_CONTAINER]
  )
}

/** The ports the ingress container publishes (its port bindings, as JSON). */
export function ingressPorts(): Argv {
  return inspectContainers('{{json .HostConfig.PortBindings}}', [INGRESS_CONTAINER])
}

/** `docker inspect` of containers (only: not of an image of the same name), with `format`. */
const inspectContainers = (format: string, containers: string[]): Argv => [
  'docker',
  'inspect',
  '--type',
  'container',
  '--format',
  format,
  ...containers
]

/** A container's networks, one a line. */
const NETWORK_NAMES = '{{range $name, $_ := .NetworkSettings.Networks}}{{println $name}}{{end}}'

/** The label that says where the ingress's admin API listens: `loopback`, its own only. */
export const ADMIN_LABEL = `${INGRESS_LABEL}.admin`

/**
 * A pipe to the admin API: `nc` inside the ingress container, to its own loopback. The image
 * needs `nc` (busybox has it: caddy:2 is Alpine's).
 */
export function ingressAdminPipe(): Argv {
  return ['docker', 'exec', '-i', INGRESS_CONTAINER, 'nc', '127.0.0.1', String(ADMIN_PORT)]
}

/**
 * Makes the ingress's own network unless it exists (another project's deploy may make it at the
 * same moment: its "already exists" is fine).
 */
export function ingressNetworkEnsure(): Argv {
  return [
    'sh',
    '-c',
    'docker network inspect "$1" >/dev/null 2>&1 || docker network create "$1" >/dev/null || docker network inspect "$1" >/dev/null',
    'sh',
    INGRESS_NETWORK
  ]
}

/**
 * Starts the ingress: Caddy with `config` (JSON) unless it saved a newer one (`--resume`: the
 * routes survive a restart), restarted with the server's engine, its admin API published on the
 * server's loopback only. Its data (certificates) and saved configuration live in volumes.
 *
 * `migrateRequests`: every configuration change makes Caddy open a new listening socket beside
 * the old one (SO_REUSEPORT) and close the old; the connections waiting in the old one's accept
 * queue would be reset. With net.ipv4.tcp_migrate_req (Linux 5.14+) the kernel hands them to the
 * new socket instead.
 */
export function ingressRun(ingress: IngressOptions, config: string, migrateRequests = true): Argv {
  const ports = [`${ingress.httpPort}:80`]
  if (ingress.httpsPort !== 0) ports.push(`${ingress.httpsPort}:443`)
  return [
    'docker',
    'run',
    '--detach',
    '--name',
    INGRESS_CONTAINER,
    '--restart',
    'unless-stopped',
    '--label',
    `${INGRESS_LABEL}=caddy`,
    '--label',
    `${ADMIN_LABEL}=loopback`,
    '--network',
    INGRESS_NETWORK,
    ...(migrateRequests ? ['--sysctl', `${MIGRATE_REQUESTS}=1`] : []),
    ...ports.flatMap(p => ['--publish', p]),
    '--volume',
    `${INGRESS_CONTAINER}-data:/data`,
    '--volume',
    `${INGRESS_CONTAINER}-config:/config`,
    '--env',
    `VD_INGRESS_CONFIG=${config}`,
    '--entrypoint',
    'sh',
    ingress.image,
    '-c',
    'printf "%s" "$VD_INGRESS_CONFIG" > /config/versioned-deploy.json && exec caddy run --resume --config /config/versioned-deploy.json'
  ]
}

/** The kernel setting that keeps a listener's waiting connections when Caddy reloads. */
export const MIGRATE_REQUESTS = 'net.ipv4.tcp_migrate_req'

export function ingressStart(): Argv {
  return ['docker', 'start', INGRESS_CONTAINER]
}

/** The networks the ingress is on, one a line. */
export function ingressNetworks(): Argv {
  return ['docker', 'inspect', '--format', NETWORK_NAMES, INGRESS_CONTAINER]
}

export function ingressJoin(network: string): Argv {
  return ['docker', 'network', 'connect', network, INGRESS_CONTAINER]
}

export function ingressLeave(network: string): Argv {
  return ['docker', 'network', 'disconnect', network, INGRESS_CONTAINER]
}

/** The networks of each of `containers`, one a line (a container gone is left out, and fails). */
export function containerNetworks(containers: string[]): Argv {
  return inspectContainers(NETWORK_NAMES, containers)
}

/** For each of `networks`, a line: its name, then the names of the containers on it. */
export function networkMembers(networks: string[]): Argv {
  return [
    'docker',
    'network',
    'inspect',
    '--format',
    '{{.Name}}{{range .Containers}} {{.Name}}{{end}}',
    ...networks
  ]
}

/** IDs of every container (running or not) of one service of a compose project. */
export function serviceContainers(project: string, service: string): Argv {
  return [
    'docker',
    'ps',
    '-aq',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`
  ]
}

/**
 * Starts `count` containers of `service` in all, keeping the ones it has (the old version's):
 * the new ones run the target's compose file. Its dependencies are left alone.
 */
export function composeScaleUp(target: ComposeTarget, service: string, count: number): Argv {
  return compose(target, [
    'up',
    '-d',
    '--no-build',
    '--no-deps',
    '--no-recreate',
    '--scale',
    `${service}=${count}`,
    service
  ])
}

/** Stops containers (each within its own stop timeout: stop_grace_period). */
export function stopContainers(ids: string[]): Argv {
  return ['docker', 'stop', ...ids]
}

export function removeContainers(ids: string[]): Argv {
  return ['docker', 'rm', '--force', ...ids]
}
