// Which version a failed deploy falls back to. Pure.

import type { DeployRecord } from './history.js'

/**
 * The version in service when it is known good (its last record is a success or a rollback,
 * or the history does not know it); otherwise the newest version whose last record is good.
 * So a version left in place by `no-rollback` is never the target of a later rollback.
 */
export function chooseRollbackTarget(current: string, history: DeployRecord[]): string | undefined {
  const last = new Map<string, DeployRecord>()
  for (const r of history) last.set(r.version, r)
  const good = (v: string) => {
    const r = last.get(v)
    return r === undefined || r.status !== 'failed'
  }
  if (current !== '' && good(current)) return current
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i]
    if (r && r.status !== 'failed' && good(r.version)) return r.version
  }
  return undefined
}
