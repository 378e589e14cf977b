// The rollback path, shared by a deploy whose new version failed and by the post step that
// finishes a killed deploy: bring back the last good version, verify it, and record both.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import type { ComposeFlavor } from '../remote/commands.js'
import { newRecord, type DeployRecord, type RunFacts } from '../plan/history.js'
import type { HealthReport } from '../health/poller.js'
import { appendRecords, writeCurrent } from './server-state.js'
import { restore } from './switch.js'
import { describeUnhealthy, verify } from './verify.js'
import { errorMessage, type Log, type Phases } from './io.js'

/** The deploy that was attempted. */
export interface Attempt {
  /** The version it put in service. */
  version: string
  /** What ran before it ('' on a first deploy). */
  previous: string
  facts: RunFacts
  now(): Date
}

export interface RollbackOutcome {
  /** Why the restored version is not well; absent when it is healthy again. */
  problem?: string
  health?: HealthReport
  /** The records appended: the failed version, then the rollback. */
  records: DeployRecord[]
}

/** Puts `target` back in place of the attempted version; `target.method` becomes current_method. */
export async function rollBack(
  remote: Remote,
  o: DeployOptions,
  attempt: Attempt,
  target: { version: string; method: string; flavor: ComposeFlavor },
  phases: Phases,
  log: Log
): Promise<RollbackOutcome> {
  let problem: string | undefined
  let health: HealthReport | undefined
  try {
    await phases.run('rollback', () => restore(remote, o, target.flavor, target.version, log))
    if (o.skipHealthcheck) {
      log.warn(`health checks skipped (skip-healthcheck: true): ${target.version} was not verified`)
    } else {
      health = await phases.run('verify rollback', () => verify(remote, o, log))
      if (!health.ok) problem = await describeUnhealthy(remote, o, target.version, health)
    }
  } catch (e) {
    problem = errorMessage(e)
  }
  await writeCurrent(remote, o.deployPath, target.version, target.method)
  const records = [
    failedRecord(attempt),
    newRecord(
      attempt.facts,
      'rollback',
      target.version,
      attempt.version,
      attempt.now().toISOString()
    )
  ]
  await appendRecords(remote, o.deployPath, records)
  return { problem, health, records }
}

/** Leaves the attempted version in service, recorded as failed (no-rollback, or no earlier one). */
export async function keepFailed(
  remote: Remote,
  o: DeployOptions,
  attempt: Attempt
): Promise<DeployRecord[]> {
  await writeCurrent(remote, o.deployPath, attempt.version, o.method)
  const records = [failedRecord(attempt)]
  await appendRecords(remote, o.deployPath, records)
  return records
}

function failedRecord(f: Attempt): DeployRecord {
  return newRecord(f.facts, 'failed', f.version, f.previous, f.now().toISOString())
}
