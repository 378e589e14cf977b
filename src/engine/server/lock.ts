// Holding the deploy lock on the server: one deploy at a time per deploy-path.

import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import { runChecked } from '../../remote/ssh.js'
import * as cmd from '../../remote/commands.js'
import {
  describeHolder,
  nextLockStep,
  parseLockProbe,
  renewalInterval,
  type LockInfo
} from '../../plan/lock.js'
import { errorMessage, type Log } from '../io.js'

const POLL_MS = 2000

/** Takes the lock, waiting for another deploy up to lock-timeout; returns the lock's token. */
export async function acquireDeployLock(
  remote: Remote,
  o: DeployOptions,
  log: Log,
  sleep: (ms: number) => Promise<void> = ms => new Promise(r => setTimeout(r, ms))
): Promise<string> {
  const info: LockInfo = {
    token: randomUUID(),
    version: o.version || o.command,
    ...(o.actor ? { actor: o.actor } : {}),
    ...(o.runUrl ? { run_url: o.runUrl } : {}),
    runner: hostname(),
    acquired_at: new Date().toISOString()
  }
  const text = JSON.stringify(info)
  const start = Date.now()
  let announced = false
  for (;;) {
    const probe = parseLockProbe(await runChecked(remote, cmd.acquireLock(o.deployPath, text)))
    if (probe.acquired) {
      log.info(`deploy lock taken (${cmd.lockDir(o.deployPath)})`)
      return info.token
    }
    const step = nextLockStep(probe, Date.now() - start, {
      timeoutMs: o.lockTimeoutMs,
      staleAfterMs: o.lockStaleAfterMs
    })
    if (step === 'break') {
      log.warn(`breaking an abandoned deploy lock: ${describeHolder(probe)}`)
      await runChecked(remote, cmd.breakLock(o.deployPath, probe.rawInfo))
      continue
    }
    if (step === 'give-up') {
      throw new Error(
        `another deploy holds the lock ${cmd.lockDir(o.deployPath)}: ${describeHolder(probe)}. Gave up after waiting ${Math.round(o.lockTimeoutMs / 1000)} s (lock-timeout); a lock older than lock-stale-after is broken automatically.`
      )
    }
    if (!announced) {
      log.info(`waiting for the deploy lock: ${describeHolder(probe)}`)
      announced = true
    }
    await sleep(POLL_MS)
  }
}

/** Releases the lock if it is still ours; true when released. */
export async function releaseDeployLock(
  remote: Remote,
  deployPath: string,
  token: string
): Promise<boolean> {
  const out = await runChecked(remote, cmd.releaseLock(deployPath, token))
  return out.trim() === 'released'
}

/**
 * The deploy lock for a run that may have held it (`token`, '' if none): still this run's when
 * renewing it with the token works, or else taken again (waiting as a deploy does, and then
 * `retaken`: another run may have changed the server meanwhile). Returns the token held.
 */
export async function holdDeployLock(
  remote: Remote,
  o: DeployOptions,
  token: string,
  log: Log
): Promise<{ token: string; retaken: boolean }> {
  if (token) {
    const renewed = await runChecked(remote, cmd.renewLock(o.deployPath, token))
    if (renewed.trim() === 'renewed') return { token, retaken: false }
    log.warn("the deploy lock is no longer this run's: taking it again before changing anything")
  }
  return { token: await acquireDeployLock(remote, o, log), retaken: true }
}

export interface LockRenewal {
  /** Set when the lock was found to be someone else's: a waiter judged this deploy abandoned. */
  readonly lost: string | undefined
  stop(): void
}

/**
 * Renews the held lock in the background (see renewalInterval) until stopped. A failed renewal
 * is only logged: the connection's own errors end the deploy.
 */
export function keepLockRenewed(
  remote: Remote,
  o: DeployOptions,
  token: string,
  log: Log
): LockRenewal {
  let lost: string | undefined
  let busy = false
  // After stop() the lock is being released or the connection closed: nothing left to say.
  let stopped = false
  const timer = setInterval(() => {
    if (busy || lost || stopped) return
    busy = true
    runChecked(remote, cmd.renewLock(o.deployPath, token))
      .then(out => {
        if (!stopped && out.trim() !== 'renewed') {
          lost = `the deploy lock ${cmd.lockDir(o.deployPath)} is no longer this deploy's: another deploy broke it as abandoned (lock-stale-after)`
          log.warn(lost)
        }
      })
      .catch(e => {
        if (!stopped) log.warn(`could not renew the deploy lock: ${errorMessage(e)}`)
      })
      .finally(() => (busy = false))
  }, renewalInterval(o.lockStaleAfterMs))
  timer.unref()
  return {
    get lost() {
      return lost
    },
    stop: () => {
      stopped = true
      clearInterval(timer)
    }
  }
}
