// The post step's work when the main step was killed (a cancelled job): finish a switch that
// was never verified by restoring the last good version, then release the deploy lock.

import type { DeployOptions } from '../config/options.js'
import { serviceNames } from '../config/options.js'
import type { Remote } from '../remote/remote.js'
import { releaseOf, runFacts } from '../plan/history.js'
import * as stack from './stack.js'
import type { SwitchInFlight } from './deploy.js'
import { releaseDeployLock } from './lock.js'
import { keepFailed, rollBack, type Attempt } from './rollback.js'
import { readServerState } from './server-state.js'
import { Phases, type Log } from './io.js'

export interface Leftovers {
  lockToken: string
  switching?: SwitchInFlight
}

export async function recoverInterrupted(
  o: DeployOptions,
  remote: Remote,
  left: Leftovers,
  log: Log
): Promise<void> {
  try {
    if (left.switching) await finishSwitch(o, remote, left.switching, log)
  } finally {
    if (left.lockToken) {
      const released = await releaseDeployLock(remote, o.deployPath, left.lockToken)
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
