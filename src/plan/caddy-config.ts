// The ingress's Caddy configuration, as JSON objects for its admin API. Pure.
//
// One Caddy per server, shared by every project deployed there: its HTTP server
// `versioned-deploy` holds the routes, each with the `@id` `vd.<project>.<service>`, so a project
// changes only its own. While a start-first switch drains the old containers, a second route,
// `vd-drain.<project>.<service>`, names them under a host name that never matches: Caddy keeps
// counting their requests in flight only while some route names them.

import type { IngressOptions } from '../config/options.js'
import type { IngressRoute } from './stack-plan.js'

/** The ingress container's name on every server. */
export const INGRESS_CONTAINER = 'versioned-deploy-ingress'
/** The label that marks it (and that pruning leaves alone). */
export const INGRESS_LABEL = 'versioned-deploy.ingress'
/** The network of its own that the ingress is made on: nothing else is meant to join it. */
export const INGRESS_NETWORK = 'versioned-deploy-ingress'
/**
 * Where its admin API listens: the container's own loopback, which no other container and no
 * network reaches (the action talks to it through `docker exec`). Not published.
 */
export const ADMIN_PORT = 2019
export const ADMIN_LISTEN = `127.0.0.1:${ADMIN_PORT}`
/** Caddy's HTTP server that holds the routes. */
export const SERVER = 'versioned-deploy'
export const ROUTES_PATH = `/config/apps/http/servers/${SERVER}/routes`

// A project name has no dot, so `vd.<project>.` starts the routes of that project alone.
export const routeId = (project: string, service: string): string => `vd.${project}.${service}`
export const drainId = (project: string, service: string): string =>
  `vd-drain.${project}.${service}`

/** The configuration a new ingress starts with: no routes, the admin API on its own loopback. */
export function initialConfig(ingress: IngressOptions): object {
  const https = ingress.httpsPort !== 0
  return {
    admin: { listen: ADMIN_LISTEN },
    apps: {
      http: {
        servers: {
          [SERVER]: {
            listen: [https ? ':443' : ':80'],
            routes: [],
            ...(https ? {} : { automatic_https: { disable: true } })
          }
        }
      }
    }
  }
}

export interface CaddyRoute {
  '@id': string
  match: { host: string[]; path?: string[] }[]
  handle: {
    handler: 'reverse_proxy'
    upstreams: { dial: string }[]
    load_balancing?: { try_duration: number; try_interval: number }
  }[]
  terminal: true
}

/**
 * A request whose upstream cannot be reached (refused, or its name not resolved for a moment) is
 * tried again for up to a second before it fails: nothing reached the upstream, so it is safe.
 * Durations in nanoseconds, as Caddy stores them.
 */
const RETRY_DIALS = { try_duration: 1_000_000_000, try_interval: 100_000_000 }

/** The route of a service: its host names (and path prefix) to `upstreams` (`host:port`). */
export function serviceRoute(
  project: string,
  service: string,
  route: IngressRoute,
  upstreams: string[]
): CaddyRoute {
  const path = route.path ? { path: [route.path, `${route.path}/*`] } : {}
  return {
    '@id': routeId(project, service),
    match: [{ host: route.hosts, ...path }],
    handle: [
      {
        handler: 'reverse_proxy',
        upstreams: upstreams.map(dial => ({ dial })),
        load_balancing: RETRY_DIALS
      }
    ],
    terminal: true
  }
}

/** A route that matches no request and names `upstreams`, so their in-flight counts stay in sight. */
export function drainRoute(project: string, service: string, upstreams: string[]): CaddyRoute {
  return {
    '@id': drainId(project, service),
    match: [{ host: [`${service}.${project}.drain.invalid`] }],
    handle: [{ handler: 'reverse_proxy', upstreams: upstreams.map(dial => ({ dial })) }],
    terminal: true
  }
}

/** What `/reverse_proxy/upstreams` says: address → requests in flight. */
export function parseUpstreams(json: string): Map<string, number> {
  const list = JSON.parse(json) as { address?: string; num_requests?: number }[] | null
  return new Map((list ?? []).map(u => [u.address ?? '', u.num_requests ?? 0]))
}

/** One route of a project as `status` shows it: the service, host names, path, upstreams. */
export interface RouteView {
  service: string
  hosts: string[]
  path?: string
  upstreams: string[]
}

/** The routes of `project` among the server's routes (drain routes left out). */
export function projectRoutes(json: string, project: string): RouteView[] {
  const routes = (JSON.parse(json) ?? []) as Partial<CaddyRoute>[]
  const prefix = routeId(project, '')
  return routes
    .filter(r => r['@id']?.startsWith(prefix))
    .map(r => {
      const m = r.match?.[0]
      const path = m?.path?.[0]
      return {
        service: (r['@id'] ?? '').slice(prefix.length),
        hosts: m?.host ?? [],
        ...(path ? { path } : {}),
        upstreams: (r.handle?.[0]?.upstreams ?? []).map(u => u.dial)
      }
    })
}

/**
 * Whether the admin API listens where no container reaches it: the container's loopback (an
 * unset address is Caddy's default, localhost:2019).
 */
export function adminOnLoopback(listen: string | undefined): boolean {
  return listen === undefined || listen === ADMIN_LISTEN || listen === `localhost:${ADMIN_PORT}`
}

/** The containers (upstream host names) that some route names, drain routes included. */
export function routedContainers(routesJson: string): Set<string> {
  const routes = (JSON.parse(routesJson) ?? []) as Partial<CaddyRoute>[]
  return new Set(
    routes.flatMap(r =>
      (r.handle ?? []).flatMap(h => (h.upstreams ?? []).map(u => u.dial.replace(/:\d+$/, '')))
    )
  )
}

/**
 * The networks the ingress can leave: those (other than its own) on which no container that
 * some route of any project names runs. `routesJson` is every route on the server; `members`
 * maps each network the ingress is on to the names of the containers on it.
 */
export function networksToLeave(routesJson: string, members: Map<string, string[]>): string[] {
  const named = routedContainers(routesJson)
  return [...members]
    .filter(([network, names]) => network !== INGRESS_NETWORK && !names.some(n => named.has(n)))
    .map(([network]) => network)
}

/** What networkMembers prints: a line a network, its name then its containers' names. */
export function parseNetworkMembers(text: string): Map<string, string[]> {
  const lines = text.split('\n').filter(l => l.trim() !== '')
  return new Map(
    lines.map(l => {
      const [network = '', ...names] = l.trim().split(/\s+/)
      return [network, names]
    })
  )
}

/** How specific a route is: the length of its path prefix; -1 when it matches every path. */
function specificity(route: Partial<CaddyRoute>): number {
  const path = route.match?.[0]?.path?.[0]
  return path === undefined ? -1 : path.length
}

/**
 * Where a route with the path prefix `path` goes among the server's `routesJson`, in order: before
 * the first route that is less specific (a shorter prefix, or none), so that within a host the
 * longest prefix is always tried first, whichever project or service came first. Drain routes
 * (their host never matches) are not counted: a new route goes before them all the same.
 */
export function insertionIndex(routesJson: string, path: string | undefined): number {
  const routes = (JSON.parse(routesJson) ?? []) as Partial<CaddyRoute>[]
  const mine = path === undefined ? -1 : path.length
  const at = routes.findIndex(r => specificity(r) < mine || r['@id']?.startsWith('vd-drain.'))
  return at === -1 ? routes.length : at
}

/** The upstreams (`host:port`) the route `routeJson` sends its requests to. */
export function upstreamDials(routeJson: string): string[] {
  const route = JSON.parse(routeJson) as Partial<CaddyRoute> | null
  return (route?.handle?.[0]?.upstreams ?? []).map(u => u.dial)
}

/**
 * The host names (and path) `project`'s `routes` would take from another project's routes among
 * the server's `routesJson`: one line each, naming both projects. Empty: no clash.
 */
export function routeClashes(
  routesJson: string,
  project: string,
  routes: { service: string; route: IngressRoute }[]
): string[] {
  const theirs = ((JSON.parse(routesJson) ?? []) as Partial<CaddyRoute>[]).flatMap(r => {
    const id = /^vd\.([^.]+)\.(.+)$/.exec(r['@id'] ?? '')
    if (!id || id[1] === project) return []
    const m = r.match?.[0]
    return [{ project: id[1], service: id[2], hosts: m?.host ?? [], path: m?.path?.[0] }]
  })
  return routes.flatMap(({ service, route }) =>
    theirs.flatMap(t => {
      const shared = route.hosts.filter(h => t.hosts.includes(h))
      if (shared.length === 0 || t.path !== route.path) return []
      const where = `${shared.join(', ')}${route.path ?? ''}`
      return [
        `${where} is routed by project "${t.project}" (service ${t.service}): project "${project}" (service ${service}) cannot take it`
      ]
    })
  )
}

/** The host ports an ingress publishes its HTTP and HTTPS ports on (0: not published). */
export function publishedPorts(bindingsJson: string): { http: number; https: number } {
  const bindings = (JSON.parse(bindingsJson) ?? {}) as Record<
    string,
    { HostPort?: string }[] | null
  >
  const port = (p: string) => Number(bindings[p]?.[0]?.HostPort ?? 0) || 0
  return { http: port('80/tcp'), https: port('443/tcp') }
}
