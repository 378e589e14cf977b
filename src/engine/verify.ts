// The verify phase: containers running and healthy, every health check passing, within the timeout.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { waitHealthy, type HealthReport } from '../health/poller.js'
import { probe } from '../health/probes.js'
import * as stack from './stack.js'
import { errorMessage, type Log } from './io.js'

const LOG_LINES = 20

export function verify(remote: Remote, o: DeployOptions, log: Log): Promise<HealthReport> {
  const attemptTimeout = Math.max(2000, Math.min(10000, o.healthIntervalMs * 2))
  return waitHealthy(
    {
      containers: () => stack.containerStates(remote, o.project),
      probe: check => probe(remote, check, attemptTimeout),
      sleep: ms => new Promise(r => setTimeout(r, ms)),
      now: () => Date.now()
    },
    o.healthchecks,
    { timeoutMs: o.healthTimeoutMs, intervalMs: o.healthIntervalMs }
  ).then(report => {
    for (const c of report.checks) log.info(`${c.ok ? '✔' : '✖'} ${c.line}: ${c.detail}`)
    log.info(report.ok ? 'all containers running and healthy' : (report.reason ?? 'unhealthy'))
    return report
  })
}

/** The failed check, and the last lines of the logs of the containers that are not well. */
export async function describeUnhealthy(
  remote: Remote,
  o: DeployOptions,
  version: string,
  health: HealthReport
): Promise<string> {
  let suspects = health.containers.notReady
  if (suspects.length === 0)
    suspects = await stack.containerStates(remote, o.project).catch(() => [])
  const parts = [`version ${version} is not healthy: ${health.reason ?? 'unknown reason'}`]
  for (const c of suspects) {
    const logs = await stack.logsTail(remote, c.id, LOG_LINES).catch(e => errorMessage(e))
    parts.push(`--- last ${LOG_LINES} log lines of ${c.name} ---\n${logs || '(no output)'}`)
  }
  return parts.join('\n')
}
