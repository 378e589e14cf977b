// The ingress on a server (ingress: caddy): make sure it runs, join it to a project's networks,
// and change that project's routes through its admin API.

import type { IngressOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { RemoteCommandError, runChecked } from '../../remote/ssh.js'
import * as icmd from '../../remote/ingress-commands.js'
import { admin, adminRequest } from '../../remote/caddy-admin.js'
import {
  ADMIN_LISTEN,
  adminOnLoopback,
  drainId,
  drainRoute,
  initialConfig,
  insertionIndex,
  INGRESS_NETWORK,
  networksToLeave,
  parseNetworkMembers,
  parseUpstreams,
  projectRoutes,
  publishedPorts,
  routedContainers,
  routeClashes,
  routeId,
  ROUTES_PATH,
  SERVER,
  serviceRoute,
  upstreamDials,
  INGRESS_CONTAINER,
  type RouteView
} from '../../plan/caddy-config.js'
import type { IngressRoute } from '../../plan/stack-plan.js'
import { sameJson } from '../../plan/same-json.js'
import { errorMessage, type Log } from '../io.js'

const READY_TIMEOUT_MS = 20_000
const POLL_MS = 200

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/**
 * Makes sure the ingress runs and answers on its admin API, with its HTTP server in place and its
 * admin API on its own loopback (an ingress an earlier release made had it open to the containers
 * on its networks).
 */
export async function ensureIngress(
  remote: Remote,
  ingress: IngressOptions,
  log: Log
): Promise<void> {
  await runChecked(remote, icmd.ingressNetworkEnsure())
  const state = await remote.run(icmd.ingressState())
  if (state.code !== 0) {
    log.info(`starting the ingress (${INGRESS_CONTAINER}, ${ingress.image})`)
    await startIngress(remote, ingress, log)
  } else {
    const [running = '', image = ''] = state.stdout.trim().split(' ')
    if (image !== ingress.image) {
      log.warn(
        `the ingress runs ${image}, not ingress-image ${ingress.image}: it is shared by every project on the server, so it is kept (remove ${INGRESS_CONTAINER} to change it)`
      )
    }
    if (running !== 'true') {
      log.info(`starting the stopped ingress (${INGRESS_CONTAINER})`)
      await runChecked(remote, icmd.ingressStart())
    }
    await warnOfOtherPorts(remote, ingress, log)
  }
  const server = await waitForAdmin(remote)
  if (state.code !== 0) await joinRoutedNetworks(remote)
  if (server === 'null') {
    // Its configuration lost our server (replaced by hand): load ours, which has no routes yet.
    log.warn(`the ingress had no "${SERVER}" server: loading its initial configuration`)
    await admin(remote, 'POST', '/load', initialConfig(ingress))
  }
  await adminToLoopback(remote, log)
}

/**
 * A running ingress publishes the ports it was made with: when ingress-http-port or
 * ingress-https-port now ask for others, says so and what to do (it is shared, and making it
 * again is a moment with no answer, so a deploy does not do it on its own).
 */
async function warnOfOtherPorts(remote: Remote, ingress: IngressOptions, log: Log): Promise<void> {
  const published = publishedPorts(await runChecked(remote, icmd.ingressPorts()))
  const asked = { http: ingress.httpPort, https: ingress.httpsPort }
  if (published.http === asked.http && published.https === asked.https) return
  const show = (p: { http: number; https: number }) =>
    `HTTP ${p.http || 'none'}, HTTPS ${p.https || 'none'}`
  log.warn(
    `the ingress publishes ${show(published)}, and ingress-http-port / ingress-https-port ask for ${show(asked)}: the running ingress is shared by every project on this server and keeps its ports. To apply the new ones, remove it at a quiet moment (docker rm -f ${INGRESS_CONTAINER}); the next deploy makes it again on the new ports, with every project's routes (they are kept in its volume)`
  )
}

/**
 * Moves the admin API to the container's loopback when it listens elsewhere: an ingress made by
 * an earlier release, or one whose saved configuration (resumed from its volume) says so.
 */
async function adminToLoopback(remote: Remote, log: Log): Promise<void> {
  const listen = (JSON.parse(await admin(remote, 'GET', '/config/admin')) as { listen?: string })
    ?.listen
  if (adminOnLoopback(listen)) return
  log.warn(
    `the ingress's admin API listened on ${listen}, where containers on its networks could reach it: it now listens on the ingress container's own loopback (${ADMIN_LISTEN})`
  )
  await admin(remote, 'PATCH', '/config/admin/listen', ADMIN_LISTEN)
}

/**
 * Takes the ingress off every network on which no route of any project names a container (the
 * default bridge included), keeping the one its published ports hang on: its own, or, for an
 * ingress an earlier release started, the default bridge (leaving that would move its ports, a
 * moment with no answer). Returns the networks it left.
 */
async function leaveUnusedNetworks(remote: Remote, log: Log): Promise<string[]> {
  const [, , adminLabel = ''] = (await runChecked(remote, icmd.ingressState())).trim().split(' ')
  const own = adminLabel === 'loopback' ? INGRESS_NETWORK : 'bridge'
  const others = (await runChecked(remote, icmd.ingressNetworks()))
    .split('\n')
    .map(n => n.trim())
    .filter(n => n !== '' && n !== own)
  if (own === 'bridge') {
    log.warn(
      `the ingress was started by an earlier release on the default bridge network, where its published ports hang: it stays there until it is made again (docker rm -f ${INGRESS_CONTAINER} at a quiet moment; the next deploy starts it on its own network, ${INGRESS_NETWORK}, with every route)`
    )
  }
  if (others.length === 0) return []
  const members = parseNetworkMembers(await runChecked(remote, icmd.networkMembers(others)))
  const leave = networksToLeave(await admin(remote, 'GET', ROUTES_PATH), members).filter(
    n => n !== own
  )
  const left: string[] = []
  for (const network of leave) {
    const r = await remote.run(icmd.ingressLeave(network))
    if (r.code === 0) left.push(network)
    else log.warn(`the ingress could not leave network ${network}: ${r.stderr.trim()}`)
  }
  return left
}

/**
 * Runs the ingress container; on a kernel without net.ipv4.tcp_migrate_req (before Linux 5.14),
 * without it, with a warning.
 */
async function startIngress(remote: Remote, ingress: IngressOptions, log: Log): Promise<void> {
  const config = JSON.stringify(initialConfig(ingress))
  const argv = icmd.ingressRun(ingress, config)
  const r = await remote.run(argv)
  if (r.code === 0) return
  if (/is already in use/.test(r.stderr)) {
    // Two projects' first deploys at once: the other one made it first, and it is the same.
    log.info(`another deploy started the ingress a moment ago: using it`)
    return
  }
  if (!r.stderr.includes(icmd.MIGRATE_REQUESTS)) throw new RemoteCommandError(argv, r)
  log.warn(
    `the server's kernel has no ${icmd.MIGRATE_REQUESTS} (Linux 5.14 and later): each route change reloads Caddy, which may then reset a connection still waiting to be accepted`
  )
  // The failed run left the container created.
  await remote.run(icmd.removeContainers([INGRESS_CONTAINER]))
  await runChecked(remote, icmd.ingressRun(ingress, config, false))
}

/** Waits until the admin API answers; returns our HTTP server's configuration (`null`: none). */
async function waitForAdmin(remote: Remote): Promise<string> {
  const until = Date.now() + READY_TIMEOUT_MS
  let last = ''
  for (;;) {
    try {
      const r = await adminRequest(remote, 'GET', `/config/apps/http/servers/${SERVER}`)
      if (r.status === 200) return r.body.trim()
      last = `HTTP ${r.status} ${r.body.trim().slice(0, 200)}`
    } catch (e) {
      last = errorMessage(e)
    }
    if (Date.now() > until) {
      throw new Error(
        `the ingress's admin API (${ADMIN_LISTEN} inside ${INGRESS_CONTAINER}) did not answer within ${READY_TIMEOUT_MS / 1000} s: ${last}. See docker logs ${INGRESS_CONTAINER}`
      )
    }
    await sleep(POLL_MS * 2)
  }
}

/**
 * A new ingress resumes the routes its volume saved (every project's): it joins the networks of
 * the containers they name, so that it does not wait for each project's next deploy to reach them.
 */
async function joinRoutedNetworks(remote: Remote): Promise<void> {
  const names = [...routedContainers(await admin(remote, 'GET', ROUTES_PATH))]
  if (names.length === 0) return
  // A container gone since is left out: inspect prints the others and fails.
  const r = await remote.run(icmd.containerNetworks(names))
  const networks = [...new Set(r.stdout.split('\n').map(n => n.trim()))].filter(
    n => n !== '' && n !== 'host' && n !== 'none'
  )
  await joinNetworks(remote, networks)
}

/** Connects the ingress to each of `networks` it is not on yet. */
export async function joinNetworks(remote: Remote, networks: string[]): Promise<void> {
  const on = new Set(
    (await runChecked(remote, icmd.ingressNetworks())).split('\n').map(n => n.trim())
  )
  for (const network of networks.filter(n => !on.has(n))) {
    await runChecked(remote, icmd.ingressJoin(network))
    on.add(network)
  }
}

/** Points the route of `service` at `upstreams` (`host:port`), adding it when it has none. */
export async function setRoute(
  remote: Remote,
  project: string,
  service: string,
  route: IngressRoute,
  upstreams: string[]
): Promise<void> {
  const id = routeId(project, service)
  await putRoute(remote, id, serviceRoute(project, service, route, upstreams), route.path)
}

/** Names `upstreams` in the drain route of `service`, so that their requests can be counted. */
export async function setDrainRoute(
  remote: Remote,
  project: string,
  service: string,
  upstreams: string[]
): Promise<void> {
  const id = drainId(project, service)
  await putRoute(remote, id, drainRoute(project, service, upstreams))
}

export async function removeDrainRoute(
  remote: Remote,
  project: string,
  service: string
): Promise<void> {
  await removeRoute(remote, drainId(project, service))
}

/** Removes a route; one already gone is fine. */
export async function removeRoute(remote: Remote, id: string): Promise<void> {
  const r = await adminRequest(remote, 'DELETE', `/id/${id}`)
  if (r.status !== 200 && r.status !== 404) {
    throw new Error(`the ingress refused to remove route ${id}: HTTP ${r.status} ${r.body.trim()}`)
  }
}

/**
 * Replaces the route `id`, or adds it where its path prefix puts it (insertionIndex: a longer
 * prefix is tried first, whatever project or service came first). A route whose prefix changed
 * is taken out and put in again at its new place.
 */
async function putRoute(remote: Remote, id: string, route: object, path?: string): Promise<void> {
  const existing = await adminRequest(remote, 'GET', `/id/${id}`)
  if (existing.status === 200) {
    const before = JSON.parse(existing.body) as { match?: { path?: string[] }[] }
    // Every change reloads Caddy's configuration: one that changes nothing is not sent.
    if (sameJson(before, route)) return
    if (before.match?.[0]?.path?.[0] === path) {
      await admin(remote, 'PATCH', `/id/${id}`, route)
      return
    }
    await removeRoute(remote, id)
  }
  const routes = await admin(remote, 'GET', ROUTES_PATH)
  const at = insertionIndex(routes, path)
  // PUT at an index inserts there; the end of the list is POST's (append).
  if (at < ((JSON.parse(routes) as unknown[] | null) ?? []).length) {
    await admin(remote, 'PUT', `${ROUTES_PATH}/${at}`, route)
  } else {
    await admin(remote, 'POST', ROUTES_PATH, route)
  }
}

/** The upstreams the route of `service` sends its requests to now (none: no route). */
export async function routedUpstreams(
  remote: Remote,
  project: string,
  service: string
): Promise<string[]> {
  const r = await adminRequest(remote, 'GET', `/id/${routeId(project, service)}`)
  return r.status === 200 ? upstreamDials(r.body) : []
}

/**
 * Refuses (throws) when a route of `project` would take host names (and path) that another
 * project's route on this server's ingress already has, naming both; nothing when the server
 * has no ingress yet.
 */
export async function refuseRouteClashes(
  remote: Remote,
  project: string,
  routes: { service: string; route: IngressRoute }[]
): Promise<void> {
  if (routes.length === 0) return
  const all = await serverRoutes(remote)
  if (all === undefined) return
  const clashes = routeClashes(all, project, routes)
  if (clashes.length > 0) {
    throw new Error(
      `the ingress is shared by every project on this server, and a host name and path go to one project only:\n${clashes.join('\n')}\nChoose another host name or path (labels versioned-deploy.ingress.host, .path), or remove that project's route first.`
    )
  }
}

/** Requests in flight to each upstream that some route names. */
export async function inFlight(remote: Remote): Promise<Map<string, number>> {
  return parseUpstreams(await admin(remote, 'GET', '/reverse_proxy/upstreams'))
}

/**
 * Waits until no request is in flight to `upstreams`, at most `timeoutMs`; returns how many were
 * still running then (0: drained).
 */
export async function drain(
  remote: Remote,
  upstreams: string[],
  timeoutMs: number
): Promise<number> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const counts = await inFlight(remote)
    const running = upstreams.reduce((n, u) => n + (counts.get(u) ?? 0), 0)
    if (running === 0 || Date.now() >= until) return running
    await sleep(POLL_MS)
  }
}

/** The routes of `project` on the server's ingress; undefined when the server has none. */
export async function routesOf(remote: Remote, project: string): Promise<RouteView[] | undefined> {
  const all = await serverRoutes(remote)
  return all === undefined ? undefined : projectRoutes(all, project)
}

/** Every route of the server's ingress (the admin API's JSON); undefined when it has none. */
async function serverRoutes(remote: Remote): Promise<string | undefined> {
  if ((await remote.run(icmd.ingressState())).code !== 0) return undefined
  const r = await adminRequest(remote, 'GET', ROUTES_PATH)
  return r.status === 200 ? r.body : undefined
}

/**
 * Removes the routes of `project` whose service is not in `keep` (saying so, `why` after the
 * services' names), then takes the ingress off every network no route needs. `routesJson`: the
 * server's routes, when just read.
 */
export async function keepOnlyRoutes(
  remote: Remote,
  project: string,
  keep: string[],
  why: string,
  log: Log,
  routesJson?: string
): Promise<void> {
  const routes = projectRoutes(routesJson ?? (await admin(remote, 'GET', ROUTES_PATH)), project)
  const stale = routes.filter(r => !keep.includes(r.service)).map(r => r.service)
  for (const service of stale) await removeRoute(remote, routeId(project, service))
  if (stale.length > 0) log.info(`removed the routes of ${stale.join(', ')}${why}`)
  const left = await leaveUnusedNetworks(remote, log)
  if (left.length > 0) log.info(`the ingress left ${left.join(', ')} (no route needs them)`)
}

/**
 * Removes every route of `project` (its compose file routes nothing now) and lets the ingress
 * leave the networks no route needs; nothing when the server has no ingress or no such route.
 */
export async function dropProjectRoutes(remote: Remote, project: string, log: Log): Promise<void> {
  // A project that does not use the ingress is not failed by one that does not answer.
  const all = await serverRoutes(remote).catch((e: unknown) => {
    log.warn(`could not read the ingress's routes of ${project}: ${errorMessage(e)}`)
    return undefined
  })
  if (all === undefined || projectRoutes(all, project).length === 0) return
  await keepOnlyRoutes(remote, project, [], ': the compose file routes nothing now', log, all)
}
