// The post step's work when the main step was killed (a cancelled job): finish a switch that
// was never verified by restoring the last good version, then release the deploy lock.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { runFacts } from '../plan/history.js'
import * as stack from './stack.js'
import type { SwitchInFlight } from './deploy.js'
import { releaseDeployLock } from './lock.js'
import { keepFailed, rollBack, type Attempt } from './rollback.js'
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
  const attempt: Attempt = {
    version: s.version,
    previous: s.previous,
    facts: runFacts(o, s.startedAt),
    now: () => new Date()
  }
  log.warn(`the deploy of ${s.version} was interrupted before it was verified`)
  if (!s.target) {
    await keepFailed(remote, o, attempt)
    log.warn(`no earlier version to restore: ${s.version} stays in place, recorded as failed`)
    return
  }
  const flavor = await stack.detectCompose(remote)
  const back = await rollBack(
    remote,
    o,
    attempt,
    { version: s.target, method: o.method, flavor },
    new Phases(log),
    log
  )
  if (back.problem)
    throw new Error(`restoring ${s.target} after the interrupted deploy failed: ${back.problem}`)
  log.info(`restored ${s.target}: the interrupted version ${s.version} is recorded as failed`)
}
