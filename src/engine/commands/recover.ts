// The post step's work when the main step was killed (a cancelled job): on each server, finish
// a switch that was never verified by restoring the last good version, then release the deploy
// lock. On several servers, every server whose switch began goes back (the rollback command
// only on the first, as the deploy would have run it).

import type { DeployOptions } from '../../config/options.js'
import { serviceNames } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { releaseOf, runFacts } from '../../plan/history.js'
import * as stack from '../stack/stack.js'
import type { SwitchInFlight } from '../server/in-flight.js'
import { releaseDeployLock } from '../server/lock.js'
import { keepFailed, rollBack, type Attempt } from '../steps/rollback.js'
import { readServerState } from '../server/server-state.js'
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
    ...(first && s.released ? { released: s.released } : {})
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
  try {
    if (switching) await finishSwitch(o, remote, switching, log)
  } finally {
    if (lockToken) {
      const released = await releaseDeployLock(remote, o.deployPath, lockToken)
      log.info(
        released ? 'deploy lock released' : 'the deploy lock was no longer ours: left as it is'
      )
    }
  }
}

async function finishSwitch(o: DeployOptions, remote: Remote, s: SwitchInFlight, log: Log) {
  const { history } = await readServerState(remote, o.deployPath)
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
  const flavor = await stack.detectFlavor(remote, o.orchestrator)
  const target = { method: o.method, ...releaseOf(history, s.target, serviceNames(o)) }
  const back = await rollBack(remote, o, attempt, target, flavor, new Phases(log), log)
  if (back.problem)
    throw new Error(`restoring ${s.target} after the interruption failed: ${back.problem}`)
  log.info(`restored ${s.target}: the interrupted version ${s.version} is recorded as failed`)
}
