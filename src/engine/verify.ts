// The verify phase: containers running and healthy on this version's images, every health check
// passing, within the timeout; then the settle window (healthcheck-monitor), watched the same way.
// On a swarm, the containers are the stack's tasks, converged on the images the switch pinned.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/remote.js'
import { imageRepo, versionTag } from '../plan/images.js'
import type { Release } from '../plan/history.js'
import type { ExpectedImage } from '../health/containers.js'
import { waitHealthy, type HealthReport, type PollerDeps } from '../health/poller.js'
import { settle } from '../health/settle.js'
import { probe } from '../health/probes.js'
import * as stack from './stack.js'
import { swarmWatch, taskLogsTail, type Switched } from './swarm.js'
import { errorMessage, type Log } from './io.js'

const LOG_LINES = 20

/** The image each built service must run for `version`: its version tag's ID on the server. */
export async function expectedImages(
  remote: Remote,
  project: string,
  release: Release
): Promise<ExpectedImage[]> {
  if (release.services.length === 0) return []
  const refs = release.services.map(s => versionTag(project, s, release.version))
  const ids = await stack.imageIds(remote, refs)
  const missing = refs.filter((_, i) => ids[i] === undefined)
  if (missing.length > 0) throw new Error(`the server has no ${missing.join(', ')}`)
  return release.services.map((s, i) => ({
    repo: imageRepo(project, s),
    ref: refs[i] ?? '',
    id: ids[i] ?? ''
  }))
}

/** How long one attempt of a health check may take. */
export function probeTimeoutMs(o: Pick<DeployOptions, 'healthIntervalMs'>): number {
  return Math.max(2000, Math.min(10000, o.healthIntervalMs * 2))
}

/**
 * Verifies that `version` is what runs, that it is healthy, and that it stays so. `switched`:
 * what a swarm's stack deploy pinned, and when.
 */
export async function verify(
  remote: Remote,
  o: DeployOptions,
  release: Release,
  log: Log,
  switched?: Switched
): Promise<HealthReport> {
  const version = release.version
  const deps: PollerDeps = {
    containers: () => stack.containerStates(remote, o.project),
    probe: check => probe(remote, check, probeTimeoutMs(o)),
    sleep: ms => new Promise(r => setTimeout(r, ms)),
    now: () => Date.now()
  }
  if (o.orchestrator === 'swarm') {
    const watch = swarmWatch(remote, o.project, switched ?? {})
    deps.containers = () => watch.containers()
    deps.judge = () => watch.judge()
    deps.probe = watch.counted(deps.probe)
  }
  let expected: ExpectedImage[] = []
  try {
    if (o.orchestrator !== 'swarm') expected = await expectedImages(remote, o.project, release)
  } catch (e) {
    // The transfer or the restore made sure of the tags: a lost connection, or a tag removed
    // meanwhile, gets here. Fail the verification.
    const reason = `cannot read the image IDs of ${version} on the server: ${errorMessage(e)}`
    log.warn(reason)
    const containers = { ready: false, fatal: true, problems: [reason], notReady: [] }
    return { ok: false, checks: [], containers, reason, elapsedMs: 0, states: [] }
  }
  let report = await waitHealthy(
    deps,
    o.healthchecks,
    { timeoutMs: o.healthTimeoutMs, intervalMs: o.healthIntervalMs },
    expected
  )
  for (const c of report.checks) log.info(`${c.ok ? '✔' : '✖'} ${c.line}: ${c.detail}`)
  if (report.ok && o.healthMonitorMs > 0) {
    log.info(
      `all checks passed; watching for ${o.healthMonitorMs / 1000} s (healthcheck-monitor) that it stays so`
    )
    report = await settle(deps, o.healthchecks, expected, report, {
      windowMs: o.healthMonitorMs,
      intervalMs: o.healthIntervalMs
    })
  }
  log.info(
    report.ok
      ? `${version}: all containers run its images, healthy${report.settle ? ` for ${Math.round(report.settle.watchedMs / 1000)} s after the checks passed` : ''}`
      : (report.reason ?? 'unhealthy')
  )
  return report
}

/** The failed check, and the last lines of the logs of the containers that are not well. */
export async function describeUnhealthy(
  remote: Remote,
  o: DeployOptions,
  version: string,
  health: HealthReport
): Promise<string> {
  const swarm = o.orchestrator === 'swarm'
  let suspects = health.containers.notReady
  if (suspects.length === 0)
    suspects = swarm
      ? health.states
      : await stack.containerStates(remote, o.project).catch(() => [])
  const parts = [`version ${version} is not healthy: ${health.reason ?? 'unknown reason'}`]
  for (const c of suspects) {
    const tail = swarm ? taskLogsTail : stack.logsTail
    const logs = await tail(remote, c.id, LOG_LINES).catch(e => errorMessage(e))
    parts.push(`--- last ${LOG_LINES} log lines of ${c.name} ---\n${logs || '(no output)'}`)
  }
  return parts.join('\n')
}
