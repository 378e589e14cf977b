// The post step's work when the main step was killed (a cancelled job) or could not finish its
// records: on each server, under the deploy lock (still this run's, or taken again), finish the
// switch in flight, then release the lock. A switch that passed its checks stays and is recorded;
// one that was never verified is undone by restoring the last good version (unless no-rollback:
// then it stays, recorded as failed). On several servers, every server whose switch began is
// finished so (the rollback command only on the first, as the deploy would have run it).

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { releaseOf, runFacts, type DeployRecord } from '../../plan/history.js'
import * as stack from '../stack/stack.js'
import type { SwitchInFlight } from '../server/in-flight.js'
import { holdDeployLock, releaseDeployLock } from '../server/lock.js'
import { keepFailed, rollBack, type Attempt } from '../steps/rollback.js'
import { appendRecords, readServerState, writeCurrent } from '../server/server-state.js'
import { errorMessage, Phases, type Log } from '../io.js'
import { prefixedLog, type HeldLocks } from '../server/session.js'
import { targetsOf } from '../fleet/targets.js'

export interface Leftovers {
  /** The locks held, by server name. */
  locks: HeldLocks
  switching?: SwitchInFlight
}

/** Whether a killed run left anything on a server: a lock or a switch in flight. */
export function leftAnything(left: Leftovers): boolean {
  return Object.keys(left.locks).length > 0 || left.switching !== undefined
}

/** The switch in flight on the server `name`; undefined when its switch had not begun. */
function switchOn(
  s: SwitchInFlight | undefined,
  name: string,
  first: boolean
): SwitchInFlight | undefined {
  if (!s) return undefined
  if (!s.servers) return s
  const here = s.servers[name]
  if (!here) return undefined
  return {
    ...(s.command ? { command: s.command } : {}),
    version: s.version,
    startedAt: s.startedAt,
    ...here,
    ...(first && s.released ? { released: s.released } : {}),
    ...(s.verified ? { verified: s.verified } : {})
  }
}

/**
 * Every server of `o` that the killed run left something on, one after the other; once every
 * server was tried, throws with each one's error.
 */
export async function recoverInterrupted(
  o: DeployOptions,
  connect: (target: DeployOptions) => Promise<Remote>,
  left: Leftovers,
  log: Log
): Promise<void> {
  const targets = targetsOf(o)
  const errors: string[] = []
  for (const [i, t] of targets.entries()) {
    const token = left.locks[t.name] ?? ''
    const switching = switchOn(left.switching, t.name, i === 0)
    if (!token && !switching) continue
    const own = targets.length > 1 ? prefixedLog(log, t.name) : log
    try {
      const remote = await connect(t.o)
      try {
        await recoverServer(t.o, remote, token, switching, own)
      } finally {
        remote.close()
      }
    } catch (e) {
      errors.push(targets.length > 1 ? `${t.name}: ${errorMessage(e)}` : errorMessage(e))
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'))
}

async function recoverServer(
  o: DeployOptions,
  remote: Remote,
  lockToken: string,
  switching: SwitchInFlight | undefined,
  log: Log
): Promise<void> {
  if (!switching) {
    if (lockToken) await letGo(remote, o, lockToken, log)
    return
  }
  // Nothing changes on the server without the deploy lock: still this run's, or taken again.
  const { token, retaken } = await holdDeployLock(remote, o, lockToken, log)
  try {
    await finishSwitch(o, remote, switching, retaken, log)
  } finally {
    await letGo(remote, o, token, log)
  }
}

async function letGo(remote: Remote, o: DeployOptions, token: string, log: Log): Promise<void> {
  const released = await releaseDeployLock(remote, o.deployPath, token)
  log.info(released ? 'deploy lock released' : 'the deploy lock was no longer ours: left as it is')
}

async function finishSwitch(
  o: DeployOptions,
  remote: Remote,
  s: SwitchInFlight,
  retaken: boolean,
  log: Log
) {
  const { history, currentVersion } = await readServerState(remote, o.deployPath)
  // The lock was lost and taken again: a run that recorded anything since this one started owns
  // what runs now.
  const since = retaken
    ? history.find(r => r.started_at !== s.startedAt && r.finished_at > s.startedAt)
    : undefined
  if (since) {
    log.warn(
      `another run changed the server since this one started (${since.status} ${since.version} at ${since.finished_at}): ${s.version}'s switch is left as that run left it`
    )
    return
  }
  if (s.verified) {
    await finishRecord(o, remote, s, s.verified, { history, currentVersion }, log)
    return
  }
  const attempt: Attempt = {
    release: releaseOf(history, s.version, serviceNames(o)),
    previous: s.previous,
    facts: runFacts(o, s.startedAt),
    now: () => new Date(),
    ...(s.released ? { releaseRun: s.released } : {})
  }
  log.warn(
    `the ${s.command === 'rollback' ? 'rollback to' : 'deploy of'} ${s.version} was interrupted before it was verified`
  )
  if (!s.target) {
    await keepFailed(remote, o, attempt)
    log.warn(`no earlier version to restore: ${s.version} stays in place, recorded as failed`)
    return
  }
  if (o.noRollback) {
    await keepFailed(remote, o, attempt)
    log.warn(
      `no-rollback is set: ${s.version} stays in place for inspection, recorded as failed (${s.target} was not restored)`
    )
    return
  }
  const flavor = await stack.detectFlavor(remote, o.orchestrator)
  const target = { method: o.method, ...releaseOf(history, s.target, serviceNames(o)) }
  const back = await rollBack(remote, o, attempt, target, flavor, new Phases(log), log)
  if (back.problem)
    throw new Error(`restoring ${s.target} after the interruption failed: ${back.problem}`)
  log.info(`restored ${s.target}: the interrupted version ${s.version} is recorded as failed`)
}

/**
 * A switch that passed its checks before the run stopped: the version stays. Writes what the run
 * did not (current_version, and the record unless versions.log has it already); never rolls back.
 */
async function finishRecord(
  o: DeployOptions,
  remote: Remote,
  s: SwitchInFlight,
  verified: DeployRecord,
  state: { history: DeployRecord[]; currentVersion: string },
  log: Log
): Promise<void> {
  const record = { ...verified, previous: s.previous }
  const recorded = state.history.some(
    r =>
      r.version === record.version &&
      r.status === record.status &&
      r.started_at === record.started_at
  )
  if (recorded && state.currentVersion === record.version) {
    log.info(`${record.version} passed its checks and is recorded: nothing left to do`)
    return
  }
  if (!recorded) await appendRecords(remote, o.deployPath, [record])
  await writeCurrent(remote, o.deployPath, record.version, record.method)
  log.info(
    `${record.version} passed its checks before the run stopped: it stays in service, now recorded`
  )
}
