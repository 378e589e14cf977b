// The deploy, as a story: validate → build → connect → lock → inspect server → backup →
// transfer → switch → verify → record → prune; and when the switch or verification fails, the
// rollback path (rollback.ts). Each phase lives in its own file beside this one.

import { readFileSync } from 'node:fs'
import type Docker from 'dockerode'
import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { newestFirst, newRecord, runFacts, type DeployRecord } from '../plan/history.js'
import { chooseRollbackTarget } from '../plan/rollback-target.js'
import type { HealthReport } from '../health/poller.js'
import { checkLocalFiles } from './local-files.js'
import { buildImages } from './build-images.js'
import { acquireDeployLock, keepLockRenewed, releaseDeployLock, type LockRenewal } from './lock.js'
import { backupRunning } from './backup.js'
import { transferImages } from './transfer.js'
import { switchTo } from './switch.js'
import { describeUnhealthy, verify } from './verify.js'
import { prune } from './prune.js'
import { keepFailed, rollBack, type Attempt } from './rollback.js'
import { appendRecords, readServerState, writeCurrent } from './server-state.js'
import * as stack from './stack.js'
import { errorMessage, Phases, type Log, type PhaseTiming } from './io.js'

export type DeployStatus = 'success' | 'failed' | 'rolled-back' | 'rollback-failed'

export interface DeployResult {
  status: DeployStatus
  version: string
  previousVersion: string
  method: string
  rolledBack: boolean
  /** Newest first, at most keep-history records. */
  history: DeployRecord[]
  phases: PhaseTiming[]
  health?: HealthReport
  rollbackHealth?: HealthReport
  transferredBytes?: number
  /** Why the step fails; absent on success. */
  failure?: string
  notices: string[]
}

export interface DeployPorts {
  /** The runner's Docker engine. */
  docker: Docker
  connect(): Promise<Remote>
  now(): Date
  /** Keeps what the post step needs if this run is killed (the lock, a switch in flight). */
  checkpoint(name: CheckpointName, value: string): void
}

export type CheckpointName = 'lock' | 'switching'

/** A switch that a killed run left unverified: the post step finishes it. */
export interface SwitchInFlight {
  version: string
  previous: string
  target: string
  startedAt: string
}

export async function deploy(
  o: DeployOptions,
  ports: DeployPorts,
  log: Log
): Promise<DeployResult> {
  const result: DeployResult = {
    status: 'failed',
    version: o.version,
    previousVersion: '',
    method: o.method,
    rolledBack: false,
    history: [],
    phases: [],
    notices: []
  }
  try {
    return await runPhases(o, ports, log, result)
  } catch (e) {
    // Failed where no decision was left to make (build error, no connection, lost connection).
    result.failure = errorMessage(e)
    return result
  }
}

async function runPhases(
  o: DeployOptions,
  ports: DeployPorts,
  log: Log,
  result: DeployResult
): Promise<DeployResult> {
  const phases = new Phases(log, result.phases)
  const startedAt = ports.now().toISOString()
  const notice = (m: string) => {
    result.notices.push(m)
    log.warn(m)
  }

  // Nothing on the server is touched until the images are built.
  await phases.run('validate', async () => checkLocalFiles(o))
  await phases.run('build', () => buildImages(o, ports.docker, log))

  const remote = await phases.run('connect', () => ports.connect())
  let lockToken = ''
  let renewal: LockRenewal | undefined
  try {
    lockToken = await phases.run('lock', () => acquireDeployLock(remote, o, log))
    ports.checkpoint('lock', lockToken)
    // A deploy longer than lock-stale-after must not look abandoned to the next one.
    renewal = keepLockRenewed(remote, o, lockToken, log)
    const { state, flavor } = await phases.run('inspect server', async () => {
      await stack.checkEngine(remote)
      const flavor = await stack.detectCompose(remote)
      const state = await readServerState(remote, o.deployPath)
      if (state.damagedLines.length > 0) {
        notice(`versions.log: skipped damaged line(s) ${state.damagedLines.join(', ')}`)
      }
      log.info(
        `running version: ${state.currentVersion || '(none: first deploy)'}; compose ${flavor}`
      )
      return { state, flavor }
    })
    const now = () => ports.now().toISOString()
    result.previousVersion = state.currentVersion
    const previous = state.currentVersion
    const target = chooseRollbackTarget(previous, state.history)
    const history = [...state.history]
    const attempt: Attempt = {
      version: o.version,
      previous,
      facts: runFacts(o, startedAt),
      now: ports.now
    }
    const finish = (...records: DeployRecord[]) => {
      history.push(...records)
      ports.checkpoint('switching', '')
      result.history = newestFirst(history, o.keepHistory)
      return result
    }

    try {
      if (previous) await phases.run('backup', () => backupRunning(remote, o, previous, log))
      result.transferredBytes = await phases.run('transfer', () =>
        transferImages(remote, o, ports.docker, log)
      )
      // Never switch under a lock that another deploy has taken over.
      if (renewal.lost) throw new Error(`${renewal.lost}; stopped before the switch`)
    } catch (e) {
      // The running stack was not touched: record the attempt (if the server still answers) and stop.
      result.failure = `${errorMessage(e)}\nThe running version (${previous || 'none'}) was not touched.`
      const failedRecord = newRecord(attempt.facts, 'failed', o.version, previous, now())
      try {
        await appendRecords(remote, o.deployPath, [failedRecord])
        return finish(failedRecord)
      } catch (r) {
        notice(`could not record the failed attempt: ${errorMessage(r)}`)
        return finish()
      }
    }

    const inFlight: SwitchInFlight = {
      version: o.version,
      previous,
      target: target ?? '',
      startedAt
    }
    ports.checkpoint('switching', JSON.stringify(inFlight))
    let failure: string | undefined
    try {
      await phases.run('switch', () =>
        switchTo(remote, o, flavor, o.version, readFileSync(o.composeFile, 'utf8'))
      )
    } catch (e) {
      failure = `switching to ${o.version} failed: ${errorMessage(e)}`
    }
    if (!failure && o.skipHealthcheck) {
      notice('health checks skipped (skip-healthcheck: true): the new version was not verified')
    } else if (!failure) {
      const health = await phases.run('verify', () => verify(remote, o, log))
      result.health = health
      if (!health.ok) failure = await describeUnhealthy(remote, o, o.version, health)
    }

    if (!failure) {
      const success = newRecord(attempt.facts, 'success', o.version, previous, now())
      await phases.run('record', async () => {
        await writeCurrent(remote, o.deployPath, o.version, o.method)
        await appendRecords(remote, o.deployPath, [success])
        history.push(success)
      })
      await phases.run('prune', () =>
        prune(remote, o, history, [o.version, target ?? ''], log).then(kept => {
          history.splice(0, history.length, ...kept)
        })
      )
      result.status = 'success'
      return finish()
    }

    if (o.noRollback || !target) {
      const records = await keepFailed(remote, o, attempt)
      const why = o.noRollback
        ? `no-rollback is set: the failed version ${o.version} was left in place for inspection`
        : 'there is no previous version to roll back to (first deploy): the failed version was left in place'
      result.failure = `${failure}\n${why}.`
      return finish(...records)
    }

    log.warn(`${failure}\nRolling back to ${target}.`)
    result.rolledBack = true
    const methodOfTarget = [...history].reverse().find(r => r.version === target)?.method
    const back = await rollBack(
      remote,
      o,
      attempt,
      { version: target, method: methodOfTarget || state.currentMethod || o.method, flavor },
      phases,
      log
    )
    result.rollbackHealth = back.health
    if (back.problem) {
      result.status = 'rollback-failed'
      result.failure = `${failure}\nThe rollback to ${target} failed too: ${back.problem}`
    } else {
      result.status = 'rolled-back'
      result.failure = o.skipHealthcheck
        ? `${failure}\nRolled back to ${target} (not verified: skip-healthcheck is set).`
        : `${failure}\nRolled back to ${target}, which is healthy again.`
    }
    return finish(...back.records)
  } finally {
    renewal?.stop()
    if (lockToken) {
      await releaseDeployLock(remote, o.deployPath, lockToken)
        .then(released => {
          if (released) ports.checkpoint('lock', '')
        })
        .catch(e =>
          log.warn(
            `could not release the deploy lock now (the post step retries): ${errorMessage(e)}`
          )
        )
    }
    remote.close()
  }
}
