// The post step's work when the main step was killed (a cancelled job): finish a switch that
// was never verified by restoring the last good version, then release the deploy lock.

import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { newRecord } from '../plan/history.js'
import { appendRecords, writeCurrent } from './server-state.js'
import * as stack from './stack.js'
import { describeUnhealthy, restore, runFacts, verify, type SwitchInFlight } from './deploy.js'
import { releaseDeployLock } from './lock.js'
import { errorMessage, type Log } from './io.js'

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
  const facts = runFacts(o, s.startedAt)
  const now = () => new Date().toISOString()
  log.warn(`the deploy of ${s.version} was interrupted before it was verified`)
  if (!s.target) {
    await writeCurrent(remote, o.deployPath, s.version, o.method)
    await appendRecords(remote, o.deployPath, [
      newRecord(facts, 'failed', s.version, s.previous, now())
    ])
    log.warn(`no earlier version to restore: ${s.version} stays in place, recorded as failed`)
    return
  }
  const flavor = await stack.detectCompose(remote)
  let problem: string | undefined
  try {
    await restore(remote, o, flavor, s.target, log)
    const health = await verify(remote, o, log)
    if (!health.ok) problem = await describeUnhealthy(remote, o, s.target, health)
  } catch (e) {
    problem = errorMessage(e)
  }
  await writeCurrent(remote, o.deployPath, s.target, o.method)
  await appendRecords(remote, o.deployPath, [
    newRecord(facts, 'failed', s.version, s.previous, now()),
    newRecord(facts, 'rollback', s.target, s.version, now())
  ])
  if (problem)
    throw new Error(`restoring ${s.target} after the interrupted deploy failed: ${problem}`)
  log.info(`restored ${s.target}: the interrupted version ${s.version} is recorded as failed`)
}
