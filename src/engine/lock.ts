// Holding the deploy lock on the server: one deploy at a time per deploy-path.

import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { DeployOptions } from '../config/options.js'
import type { Remote } from '../remote/ssh.js'
import { runChecked } from '../remote/ssh.js'
import * as cmd from '../remote/commands.js'
import { describeHolder, nextLockStep, parseLockProbe, type LockInfo } from '../plan/lock.js'
import type { Log } from './io.js'

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
    version: o.version,
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
