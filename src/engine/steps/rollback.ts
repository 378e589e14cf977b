// The rollback path, shared by a deploy whose new version failed, by `command: rollback` and by
// the post step that finishes a killed run: put a known version back, verify it, record it.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import type { StackFlavor } from '../../remote/commands.js'
import { newRecord, type DeployRecord, type Release, type RunFacts } from '../../plan/history.js'
import type { HealthReport } from '../../health/poller.js'
import { appendRecords, writeCurrent } from '../server/server-state.js'
import { restore } from './switch.js'
import { describeUnhealthy, verify } from './verify.js'
import { OneOffFailed, runRollbackCommand, stoppedBeforeSwitch } from './release-step.js'
import { errorMessage, type Log, type Phases } from '../io.js'
import type { ReleaseRun } from '../../plan/release-command.js'
import type { ServiceSwitch } from '../stack/start-first.js'
import { oneOffFlavor } from '../stack/stack-strategy.js'

/** The version that was put in service and is being given up. */
export interface Attempt {
  release: Release
  /** What ran before it ('' on a first deploy). */
  previous: string
  facts: RunFacts
  now(): Date
  /** Its release command ran in this run (how it ended): a rollback from it runs the rollback command first. */
  releaseRun?: ReleaseRun
}

export interface PutBack {
  /** Why the version put back is not well; absent when it is healthy. */
  problem?: string
  health?: HealthReport
  /** How its services were switched back (compose). */
  services?: ServiceSwitch[]
}

/**
 * Restores `release` (images, stored compose file, `latest`) and verifies it, unless
 * skip-healthcheck; never throws: a failure is the `problem`.
 */
export async function putBack(
  remote: Remote,
  o: DeployOptions,
  flavor: StackFlavor,
  release: Release,
  phases: Phases,
  log: Log,
  names = { restore: 'rollback', verify: 'verify rollback' }
): Promise<PutBack> {
  try {
    const switched = await phases.run(names.restore, () => restore(remote, o, flavor, release, log))
    const services = switched?.services ? { services: switched.services } : {}
    if (o.skipHealthcheck) {
      log.warn(
        `health checks skipped (skip-healthcheck: true): ${release.version} was not verified`
      )
      return services
    }
    const health = await phases.run(names.verify, () => verify(remote, o, release, log, switched))
    if (health.ok) return { health, ...services }
    return {
      health,
      ...services,
      problem: await describeUnhealthy(remote, o, release.version, health)
    }
  } catch (e) {
    return { problem: errorMessage(e) }
  }
}

export interface RollbackOutcome extends PutBack {
  /** The records appended: the failed version, then the rollback. */
  records: DeployRecord[]
  /** The rollback command run first, when the attempt's release command had run. */
  undo?: ReleaseRun
}

/**
 * Puts `target` back in place of the attempted version; its method becomes current_method. When
 * the attempt ran a release command, the rollback command runs first (unless `undone`: it already
 * ran, on another server of the deploy); if it fails, nothing is switched back: the attempt stays
 * in service, recorded as failed, and the problem says why.
 */
export async function rollBack(
  remote: Remote,
  o: DeployOptions,
  attempt: Attempt,
  target: Release,
  flavor: StackFlavor,
  phases: Phases,
  log: Log,
  undone?: ReleaseRun
): Promise<RollbackOutcome> {
  let undo = undone
  const compose = oneOffFlavor(flavor)
  if (!undo && attempt.releaseRun && compose) {
    try {
      undo = await phases.run('rollback command', () =>
        runRollbackCommand(remote, o, compose, attempt.release, target.version, log)
      )
    } catch (e) {
      const records = await keepFailed(remote, o, attempt)
      return {
        records,
        ...(e instanceof OneOffFailed ? { undo: e.run } : {}),
        problem: `${errorMessage(e)}\n${stoppedBeforeSwitch(attempt.release.version, target.version)}`
      }
    }
  }
  const outcome = await putBack(remote, o, flavor, target, phases, log)
  await writeCurrent(remote, o.deployPath, target.version, target.method ?? o.method)
  const records = [
    failedRecord(attempt),
    newRecord(
      attempt.facts,
      'rollback',
      target,
      attempt.release.version,
      attempt.now().toISOString(),
      { undo }
    )
  ]
  await appendRecords(remote, o.deployPath, records)
  return { ...outcome, records, ...(undo ? { undo } : {}) }
}

/** Leaves the attempted version in service, recorded as failed (no-rollback, or no earlier one). */
export async function keepFailed(
  remote: Remote,
  o: DeployOptions,
  attempt: Attempt
): Promise<DeployRecord[]> {
  await writeCurrent(remote, o.deployPath, attempt.release.version, o.method)
  const records = [failedRecord(attempt)]
  await appendRecords(remote, o.deployPath, records)
  return records
}

export function failedRecord(f: Attempt): DeployRecord {
  return newRecord(f.facts, 'failed', f.release, f.previous, f.now().toISOString(), {
    release: f.releaseRun
  })
}
