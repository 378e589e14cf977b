// The compose switch, service by service: start-first services first (new containers beside the
// old, checked on their own addresses, the route moved, the old ones drained and removed), then
// `compose up` for the rest (stop-first: recreated), then every route pointed at what runs.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { runChecked } from '../../remote/ssh.js'
import type { ComposeTarget } from '../../remote/commands.js'
import * as icmd from '../../remote/ingress-commands.js'
import type { Release } from '../../plan/history.js'
import { versionTag } from '../../plan/images.js'
import { builtImageUsers } from '../../plan/compose-images.js'
import type { ServicePlan, StackPlan } from '../../plan/stack-plan.js'
import type { ContainerState } from '../../health/containers.js'
import { probe } from '../../health/probes.js'
import * as stack from './stack.js'
import {
  drain,
  ensureIngress,
  joinNetworks,
  removeDrainRoute,
  keepOnlyRoutes,
  routedUpstreams,
  routesOf,
  setDrainRoute,
  setRoute
} from './ingress.js'
import { errorMessage, type Log } from '../io.js'

/** How one service was switched, for the summary. */
export interface ServiceSwitch {
  service: string
  strategy: 'start-first' | 'stop-first'
  /** Its containers before (names). */
  old: string[]
  /** The containers started for the new version (start-first). */
  fresh: string[]
  /** When its route moved to the new containers. */
  routeMovedAt?: string
  /** How long the old containers took to finish their requests. */
  drainMs?: number
  /** Requests still running at drain-timeout, cut when the old containers stopped. */
  cut?: number
  /** It already ran the target version: nothing was started. */
  unchanged?: boolean
}

const LOG_LINES = 15
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/**
 * Switches the project to `target` (compose): start-first services one by one, then `compose up`
 * for the rest. With the ingress, every routed service's route ends on its running containers.
 */
export async function switchServices(
  remote: Remote,
  o: DeployOptions,
  target: ComposeTarget,
  release: Release,
  composeText: string,
  plan: StackPlan,
  log: Log
): Promise<ServiceSwitch[]> {
  const routed = (await routing(remote, o, plan.services, log))
    ? plan.services.filter(s => s.route)
    : []
  let startFirst = plan.services.filter(s => s.startFirst)
  if (startFirst.length > 0 && target.flavor === 'v1') {
    log.warn(
      `${startFirst.map(s => s.name).join(', ')}: start-first needs "docker compose" (v2); the server has docker-compose v1, so they are recreated stop-first`
    )
    startFirst = []
  }
  const expected = await expectedImageIds(remote, o, release, composeText, startFirst)
  const switches: ServiceSwitch[] = []
  for (const s of startFirst) {
    const expectedId = expected.get(s.name)
    switches.push(await switchStartFirst(remote, o, target, s, expectedId, routed.includes(s), log))
  }
  await stack.composeUp(remote, target)
  for (const s of plan.services.filter(s => !startFirst.includes(s))) {
    switches.push({ service: s.name, strategy: 'stop-first', old: [], fresh: [] })
  }
  if (routed.length > 0) {
    for (const s of routed) await routeToRunning(remote, o, s)
    const keep = routed.map(s => s.name)
    await keepOnlyRoutes(remote, o.project, keep, ' (no longer routed)', log)
  }
  return switches
}

/**
 * Whether the switch drives the ingress: with `ingress: caddy` (made sure of first), or when the
 * server's ingress already routes this project, so that a job that left the input out (a
 * rollback job, say) still moves the routes instead of leaving them on removed containers.
 */
async function routing(
  remote: Remote,
  o: DeployOptions,
  services: ServicePlan[],
  log: Log
): Promise<boolean> {
  if (!services.some(s => s.route)) return false
  if (o.ingress) {
    await ensureIngress(remote, o.ingress, log)
    return true
  }
  const routes = await routesOf(remote, o.project).catch(() => undefined)
  if (!routes || routes.length === 0) return false
  log.warn(
    `ingress is none, but the server's ingress routes ${o.project} (${routes.map(r => r.service).join(', ')}): the switch moves those routes as ingress caddy would. Set ingress: caddy in this job too`
  )
  return true
}

/** The image ID each start-first service must run, where it runs a built image. */
async function expectedImageIds(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  composeText: string,
  services: ServicePlan[]
): Promise<Map<string, string>> {
  const users = builtImageUsers(composeText, o.project, release.services)
  const wanted = services.filter(s => users.has(s.name))
  const refs = wanted.map(s => versionTag(o.project, users.get(s.name) ?? '', release.version))
  const ids = refs.length > 0 ? await stack.imageIds(remote, refs) : []
  return new Map(wanted.map((s, i) => [s.name, ids[i] ?? '']))
}

/** Every container (running or not) of one service of the project. */
const serviceStates = (remote: Remote, project: string, service: string) =>
  stack.listedStates(remote, icmd.serviceContainers(project, service))

/** One start-first service: new containers beside the old, then the traffic, then the old go. */
async function switchStartFirst(
  remote: Remote,
  o: DeployOptions,
  target: ComposeTarget,
  s: ServicePlan,
  expectedId: string | undefined,
  routed: boolean,
  log: Log
): Promise<ServiceSwitch> {
  const old = await serviceStates(remote, o.project, s.name)
  const report: ServiceSwitch = {
    service: s.name,
    strategy: 'start-first',
    old: old.map(c => c.name),
    fresh: []
  }
  // A first deploy has nothing to keep serving: compose up starts it.
  if (old.length === 0) return report
  if (
    expectedId &&
    old.length === s.replicas &&
    old.every(c => c.status === 'running' && c.image === expectedId)
  ) {
    log.info(`${s.name}: already runs ${target.version}`)
    return { ...report, unchanged: true }
  }
  log.info(`${s.name}: start-first, ${s.replicas} new container(s) beside ${report.old.join(', ')}`)
  await stack.composeRun(remote, icmd.composeScaleUp(target, s.name, old.length + s.replicas))
  const oldIds = new Set(old.map(c => c.id))
  const fresh = (await serviceStates(remote, o.project, s.name)).filter(c => !oldIds.has(c.id))
  report.fresh = fresh.map(c => c.name)
  try {
    if (fresh.length === 0) throw new Error('compose started no new container')
    await waitReady(remote, o, s, fresh, expectedId)
  } catch (e) {
    if (fresh.length > 0) await remote.run(icmd.removeContainers(fresh.map(c => c.id)))
    throw new Error(
      `${s.name}: the new containers did not become ready: ${errorMessage(e)}. They were removed; ${report.old.join(', ')} kept serving`
    )
  }
  const route = routed ? s.route : undefined
  if (route) {
    await joinNetworks(remote, networksOf(fresh))
    // The old containers at the port they were routed on (the new plan's may differ).
    const routedNow = await routedUpstreams(remote, o.project, s.name)
    const oldNames = new Set(old.map(c => c.name))
    const before = routedNow.filter(u => oldNames.has(u.replace(/:\d+$/, '')))
    if (before.length === 0) before.push(...old.map(c => `${c.name}:${route.port}`))
    // The drain route first: the old containers stay in Caddy's pool, their requests counted.
    await setDrainRoute(remote, o.project, s.name, before)
    await setRoute(
      remote,
      o.project,
      s.name,
      route,
      fresh.map(c => `${c.name}:${route.port}`)
    )
    report.routeMovedAt = new Date().toISOString()
    const started = Date.now()
    const cut = await drain(remote, before, o.drainTimeoutMs)
    report.drainMs = Date.now() - started
    if (cut > 0) {
      report.cut = cut
      log.warn(
        `${s.name}: ${cut} request(s) still running on the old containers after drain-timeout (${o.drainTimeoutMs / 1000} s) are cut`
      )
    }
    log.info(
      `${s.name}: route moved to ${report.fresh.join(', ')}; the old containers drained in ${report.drainMs} ms`
    )
  }
  await remote.run(icmd.stopContainers(old.map(c => c.id)))
  await runChecked(remote, icmd.removeContainers(old.map(c => c.id)))
  if (route) await removeDrainRoute(remote, o.project, s.name)
  return report
}

/**
 * Waits until every new container runs the expected image, is healthy, and answers its route's
 * check on its own address (or, with no check and no Docker health, accepts connections).
 */
async function waitReady(
  remote: Remote,
  o: DeployOptions,
  s: ServicePlan,
  fresh: ContainerState[],
  expectedId: string | undefined
): Promise<void> {
  const until = Date.now() + o.healthTimeoutMs
  const interval = Math.min(o.healthIntervalMs, 1000)
  let waiting = ''
  for (;;) {
    const states = await stack.inspectStates(
      remote,
      fresh.map(c => c.id)
    )
    waiting = ''
    for (const c of states) {
      const fatal = await fatalState(remote, c, expectedId)
      if (fatal) throw new Error(fatal)
      const why = await notReady(remote, o, s, c)
      if (why) {
        waiting = `${c.name}: ${why}`
        break
      }
    }
    if (waiting === '') return
    if (Date.now() >= until) {
      throw new Error(
        `not ready within healthcheck-timeout (${o.healthTimeoutMs / 1000} s): ${waiting}`
      )
    }
    await sleep(interval)
  }
}

async function fatalState(
  remote: Remote,
  c: ContainerState,
  expectedId: string | undefined
): Promise<string | undefined> {
  if (expectedId && c.image !== expectedId) {
    return `${c.name} runs ${c.imageRef ?? '?'} (${c.image ?? '?'}), not the new version's image`
  }
  if (c.status === 'exited' || c.status === 'dead' || c.restartCount > 0) {
    const logs = await stack.logsTail(remote, c.id, LOG_LINES)
    return `${c.name} is ${c.status} (exit code ${c.exitCode}${c.restartCount > 0 ? `, restarted ${c.restartCount}×` : ''})${logs ? `; its last lines:\n${logs}` : ''}`
  }
  if (c.health === 'unhealthy') return `${c.name}: its Docker health check says unhealthy`
  return undefined
}

async function notReady(
  remote: Remote,
  o: DeployOptions,
  s: ServicePlan,
  c: ContainerState
): Promise<string | undefined> {
  if (c.status !== 'running') return c.status
  if (c.health !== undefined && c.health !== 'healthy') return `health ${c.health}`
  const route = s.route
  if (!route) return undefined
  const address = Object.values(c.networks ?? {}).find(ip => ip !== '')
  if (!address) return 'no IP address yet'
  const timeout = Math.max(2000, Math.min(10000, o.healthIntervalMs * 2))
  if (route.healthcheck) {
    const url = `http://${address}:${route.port}${route.healthcheck}`
    const r = await probe(remote, { kind: 'http', url, line: url }, timeout)
    return /^HTTP 2\d\d/.test(r.detail) ? undefined : `GET ${route.healthcheck}: ${r.detail}`
  }
  if (c.health !== undefined) return undefined
  const r = await probe(
    remote,
    { kind: 'tcp', host: address, port: route.port, line: `${address}:${route.port}` },
    timeout
  )
  return r.ok ? undefined : `port ${route.port}: ${r.detail}`
}

function networksOf(containers: ContainerState[]): string[] {
  return [...new Set(containers.flatMap(c => Object.keys(c.networks ?? {})))].filter(
    n => n !== 'host' && n !== 'none'
  )
}

/** Points a routed service's route at its running containers (a first deploy, a stop-first one). */
async function routeToRunning(remote: Remote, o: DeployOptions, s: ServicePlan): Promise<void> {
  const route = s.route
  if (!route) return
  const running = (await serviceStates(remote, o.project, s.name)).filter(
    c => c.status === 'running' || c.status === 'restarting'
  )
  if (running.length === 0) return
  await joinNetworks(remote, networksOf(running))
  await setRoute(
    remote,
    o.project,
    s.name,
    route,
    running.map(c => `${c.name}:${route.port}`)
  )
}
