// The verify phase: containers running and healthy on this version's images, every health check
// passing, within the timeout; then the settle window (healthcheck-monitor), watched the same way.
// What it watches is the stack strategy's (stack-strategy.ts): compose's containers on the
// version's image IDs, or a swarm's tasks converged on the images the switch pinned.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import type { Release } from '../../plan/history.js'
import { waitHealthy, type HealthReport, type PollerDeps } from '../../health/poller.js'
import { settle } from '../../health/settle.js'
import { probe } from '../../health/probes.js'
import type { Switched } from '../stack/swarm.js'
import type { StackWatch } from '../stack/stack-strategy.js'
import { stackStrategy } from '../stack/choose-strategy.js'
import { errorMessage, type Log } from '../io.js'

const LOG_LINES = 20

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
  const strategy = stackStrategy(o.orchestrator)
  let watch: StackWatch
  try {
    watch = await strategy.watch(remote, o, release, switched)
  } catch (e) {
    // The transfer or the restore made sure of the tags: a lost connection, or a tag removed
    // meanwhile, gets here. Fail the verification.
    const reason = `cannot read the image IDs of ${version} on the server: ${errorMessage(e)}`
    log.warn(reason)
    const containers = { ready: false, fatal: true, problems: [reason], notReady: [] }
    return { ok: false, checks: [], containers, reason, elapsedMs: 0, states: [] }
  }
  const plainProbe: PollerDeps['probe'] = check => probe(remote, check, probeTimeoutMs(o))
  const deps: PollerDeps = {
    containers: watch.containers,
    ...(watch.judge ? { judge: watch.judge } : {}),
    probe: watch.probe ? watch.probe(plainProbe) : plainProbe,
    sleep: ms => new Promise(r => setTimeout(r, ms)),
    now: () => Date.now()
  }
  const expected = watch.expected
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
  const strategy = stackStrategy(o.orchestrator)
  let suspects = health.containers.notReady
  if (suspects.length === 0) suspects = await strategy.suspects(remote, o, health)
  const parts = [`version ${version} is not healthy: ${health.reason ?? 'unknown reason'}`]
  for (const c of suspects) {
    const logs = await strategy
      .logsTail(remote, c.id, LOG_LINES)
      .catch((e: unknown) => errorMessage(e))
    parts.push(`--- last ${LOG_LINES} log lines of ${c.name} ---\n${logs || '(no output)'}`)
  }
  return parts.join('\n')
}
