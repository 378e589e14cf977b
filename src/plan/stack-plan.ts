// How each compose service is switched, read from the compose file. Pure.
//
// A service with `deploy.update_config.order: start-first` (the Compose spec's key, which Swarm
// honours too) is switched start-first: its new containers start beside the old ones, take the
// traffic once healthy, and the old ones stop after. The others are recreated (stop-first).
// Labels `versioned-deploy.ingress.*` give a service a route in the ingress (ingress: caddy).

import { composeServiceBodies, record } from './compose-images.js'

export const LABEL = {
  host: 'versioned-deploy.ingress.host',
  port: 'versioned-deploy.ingress.port',
  path: 'versioned-deploy.ingress.path',
  healthcheck: 'versioned-deploy.ingress.healthcheck'
} as const

/** A service's route in the ingress. */
export interface IngressRoute {
  hosts: string[]
  /** The container port. */
  port: number
  /** A path prefix, e.g. `/api`; absent: every path. */
  path?: string
  /** A path each new container must answer with 2xx before it takes traffic. */
  healthcheck?: string
}

export interface ServicePlan {
  name: string
  startFirst: boolean
  /** How many containers the service runs (`deploy.replicas` or `scale`; 1 when neither). */
  replicas: number
  route?: IngressRoute
}

export interface StackPlan {
  services: ServicePlan[]
  /** Refusals, each naming its service and what to write instead. */
  problems: string[]
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const PATH_PATTERN = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/

/** A host name a route may match: lowercase DNS labels, the first one may be `*`. */
export function validHostName(name: string): boolean {
  if (name.length > 253) return false
  const labels = name.split('.')
  return labels.every((l, i) => HOST_LABEL.test(l) || (i === 0 && l === '*' && labels.length > 1))
}

/** The plan of every service of a compose file (an empty list when it does not parse). */
export function stackPlan(text: string): StackPlan {
  const bodies = composeServiceBodies(text)
  if (typeof bodies === 'string') return { services: [], problems: [] }
  const services: ServicePlan[] = []
  const problems: string[] = []
  for (const [name, body] of bodies) {
    const b = body ?? {}
    const plan = servicePlan(name, b, problems)
    services.push(plan)
    if (!plan.startFirst) continue
    if (Array.isArray(b.ports) && b.ports.length > 0) {
      problems.push(
        `service "${name}" is start-first but publishes host ports (ports:): its old and new containers cannot both bind them. Remove ports: and route it through the ingress (labels ${LABEL.host} and ${LABEL.port}), or drop start-first`
      )
    }
    if (b.container_name !== undefined) {
      problems.push(
        `service "${name}" is start-first but sets container_name: two containers cannot share one name. Remove container_name, or drop start-first`
      )
    }
  }
  return { services, problems }
}

function servicePlan(name: string, b: Record<string, unknown>, problems: string[]): ServicePlan {
  const deploy = record(b.deploy)
  const order = record(deploy.update_config).order
  const replicas = wholeNumber(deploy.replicas) ?? wholeNumber(b.scale) ?? 1
  const labels = labelsOf(b.labels)
  const route = routeOf(name, labels, problems)
  return { name, startFirst: order === 'start-first', replicas, ...(route ? { route } : {}) }
}

function routeOf(
  service: string,
  labels: Record<string, string>,
  problems: string[]
): IngressRoute | undefined {
  const host = labels[LABEL.host]
  const port = labels[LABEL.port]
  const path = labels[LABEL.path]
  const healthcheck = labels[LABEL.healthcheck]
  if (host === undefined) {
    const stray = [LABEL.port, LABEL.path, LABEL.healthcheck].filter(l => labels[l] !== undefined)
    if (stray.length > 0) {
      problems.push(
        `service "${service}" has ${stray.join(', ')} but no ${LABEL.host}: a route needs the host names it answers for`
      )
    }
    return undefined
  }
  const hosts = host
    .split(',')
    .map(h => h.trim().toLowerCase())
    .filter(h => h !== '')
  const before = problems.length
  if (hosts.length === 0) {
    problems.push(`service "${service}": ${LABEL.host} is empty: give one or more host names`)
  }
  for (const h of hosts.filter(h => !validHostName(h))) {
    problems.push(
      `service "${service}": "${h}" in ${LABEL.host} is not a valid host name (letters, digits and "-" in dot-separated labels, e.g. app.example.com)`
    )
  }
  const portNumber = /^\d{1,5}$/.test(port ?? '') ? Number(port) : 0
  if (port === undefined) {
    problems.push(
      `service "${service}" has ${LABEL.host} but no ${LABEL.port}: add the container port the ingress sends its traffic to (e.g. "${LABEL.port}=8080")`
    )
  } else if (portNumber < 1 || portNumber > 65535) {
    problems.push(`service "${service}": ${LABEL.port} "${port}" is not a port from 1 to 65535`)
  }
  for (const [label, p] of [
    [LABEL.path, path],
    [LABEL.healthcheck, healthcheck]
  ] as const) {
    if (p !== undefined && !PATH_PATTERN.test(p)) {
      problems.push(`service "${service}": ${label} "${p}" is not a path starting with "/"`)
    }
  }
  const segments = path !== undefined && PATH_PATTERN.test(path) ? path.split('/').slice(1) : []
  if (segments.slice(0, -1).some(s => s === '' || s === '.' || s === '..')) {
    problems.push(
      `service "${service}": ${LABEL.path} "${path}" has an empty, "." or ".." segment: write the prefix once, as requests name it (e.g. "/api")`
    )
  }
  if (problems.length > before) return undefined
  return {
    hosts,
    port: portNumber,
    // A prefix is written without its trailing "/"; "/" alone is every path.
    ...(path !== undefined && path !== '/' ? { path: path.replace(/\/$/, '') } : {}),
    ...(healthcheck !== undefined ? { healthcheck } : {})
  }
}

/** Compose labels, as a mapping or as a list of `key=value`. */
export function labelsOf(labels: unknown): Record<string, string> {
  if (Array.isArray(labels)) {
    const out: Record<string, string> = {}
    for (const item of labels) {
      if (typeof item !== 'string') continue
      const eq = item.indexOf('=')
      if (eq > 0) out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim()
      else out[item.trim()] = ''
    }
    return out
  }
  return Object.fromEntries(
    Object.entries(record(labels)).map(([k, v]) => [k, v === null ? '' : String(v).trim()])
  )
}

function wholeNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined
}
