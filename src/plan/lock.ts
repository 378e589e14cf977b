// The deploy lock, decided: who holds it, and whether to take, wait, break or give up. Pure.

export interface LockInfo {
  token: string
  version: string
  actor?: string
  run_url?: string
  runner: string
  acquired_at: string
}

export type LockProbe =
  { acquired: true } | { acquired: false; ageSeconds: number; rawInfo: string; holder?: LockInfo }

/** Reads what `acquireLock` printed. */
export function parseLockProbe(out: string): LockProbe {
  const [first = '', age = '', ...rest] = out.split('\n')
  if (first.trim() === 'acquired') return { acquired: true }
  // As breakLock's "$(cat info)" reads it, so that it matches: only trailing newlines dropped.
  const rawInfo = rest.join('\n').replace(/\n+$/, '')
  return {
    acquired: false,
    ageSeconds: Number(age.trim()) || 0,
    rawInfo,
    holder: lockInfo(rawInfo)
  }
}

/** The holder's details, when `raw` is what a deploy wrote (a lock made by hand may hold anything). */
function lockInfo(raw: string): LockInfo | undefined {
  let info: unknown
  try {
    info = JSON.parse(raw)
  } catch {
    return undefined
  }
  const ours =
    typeof info === 'object' &&
    info !== null &&
    typeof (info as Partial<LockInfo>).token === 'string' &&
    typeof (info as Partial<LockInfo>).version === 'string'
  return ours ? (info as LockInfo) : undefined
}

/**
 * Who holds the lock and how long ago it was renewed. A lock without the action's info (made by
 * hand, or by a deploy killed before it wrote it) is never renewed: its age is its last change.
 */
export function describeHolder(probe: Extract<LockProbe, { acquired: false }>): string {
  const h = probe.holder
  if (!h) {
    const why = probe.rawInfo === '' ? 'no info in the lock' : "its info file is not the action's"
    return `an unknown holder, last changed ${probe.ageSeconds} s ago (${why})`
  }
  const who = `version ${h.version}${h.actor ? ` by ${h.actor}` : ''}${h.run_url ? ` (${h.run_url})` : ''} on ${h.runner}, since ${h.acquired_at}`
  return `${who}; last renewed ${probe.ageSeconds} s ago`
}

export type LockStep = 'acquired' | 'break' | 'wait' | 'give-up'

export function nextLockStep(
  probe: LockProbe,
  waitedMs: number,
  timing: { timeoutMs: number; staleAfterMs: number }
): LockStep {
  if (probe.acquired) return 'acquired'
  if (probe.ageSeconds * 1000 >= timing.staleAfterMs) return 'break'
  if (waitedMs >= timing.timeoutMs) return 'give-up'
  return 'wait'
}

/**
 * How often a deploy renews the lock it holds: four times within lock-stale-after, at most
 * once a minute and at least once a second, so a live deploy's lock never looks abandoned.
 */
export function renewalInterval(staleAfterMs: number): number {
  return Math.max(1000, Math.min(60_000, Math.floor(staleAfterMs / 4)))
}
