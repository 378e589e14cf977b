import {
  describeHolder,
  nextLockStep,
  parseLockProbe,
  renewalInterval
} from '../../src/plan/lock.js'
import { acquireLock, breakLock, releaseLock, renewLock } from '../../src/remote/commands.js'
import { shJoin } from '../../src/remote/quote.js'

const holder = {
  token: 't-1',
  version: 'v7',
  actor: 'octocat',
  run_url: 'https://github.example/r/1',
  runner: 'runner-1',
  acquired_at: '2026-01-01T00:00:00Z'
}

describe('deploy lock decisions', () => {
  test('reads what the lock command printed', () => {
    expect(parseLockProbe('acquired\n')).toEqual({ acquired: true })
    const held = parseLockProbe(`held\n42\n${JSON.stringify(holder)}\n`)
    expect(held).toEqual({
      acquired: false,
      ageSeconds: 42,
      rawInfo: JSON.stringify(holder),
      holder
    })
    expect(parseLockProbe('held\n3\n')).toMatchObject({
      acquired: false,
      ageSeconds: 3,
      holder: undefined
    })
  })

  test('names the holder', () => {
    const held = parseLockProbe(`held\n42\n${JSON.stringify(holder)}`)
    if (held.acquired) throw new Error('expected held')
    expect(describeHolder(held)).toBe(
      'version v7 by octocat (https://github.example/r/1) on runner-1, since 2026-01-01T00:00:00Z; last renewed 42 s ago'
    )
  })

  test("a lock without the holder's info: an unknown holder, aged by its last change", () => {
    const bare = parseLockProbe('held\n700\n')
    expect(bare).toEqual({ acquired: false, ageSeconds: 700, rawInfo: '', holder: undefined })
    if (bare.acquired) throw new Error('expected held')
    expect(describeHolder(bare)).toBe(
      'an unknown holder, last changed 700 s ago (no info in the lock)'
    )
    // Info the action did not write (by hand, or cut short) names no holder either.
    for (const info of ['ci job 12', '{}', '{"token":"t"', 'null']) {
      const other = parseLockProbe(`held\n5\n${info}\n`)
      if (other.acquired) throw new Error('expected held')
      expect(other.rawInfo).toBe(info)
      expect(describeHolder(other)).toBe(
        "an unknown holder, last changed 5 s ago (its info file is not the action's)"
      )
    }
  })

  test('an info-less lock is broken once stale, like any other', () => {
    const timing = { timeoutMs: 600000, staleAfterMs: 3600000 }
    expect(nextLockStep(parseLockProbe('held\n3600\n'), 0, timing)).toBe('break')
    expect(nextLockStep(parseLockProbe('held\n10\n'), 0, timing)).toBe('wait')
  })

  const timing = { timeoutMs: 600000, staleAfterMs: 3600000 }
  test.each<[string, number, string]>([
    ['acquired\n', 0, 'acquired'],
    ['held\n10\n{}', 0, 'wait'],
    ['held\n10\n{}', 600000, 'give-up'],
    ['held\n3600\n{}', 0, 'break'],
    ['held\n3599\n{}', 599999, 'wait']
  ])('%j after %d ms → %s', (out, waited, step) => {
    expect(nextLockStep(parseLockProbe(out), waited, timing)).toBe(step)
  })

  test('the lock commands carry every value as a parameter', () => {
    expect(shJoin(releaseLock('/opt/app', 'tok'))).toBe(
      `sh -c 'if grep -qF "$2" "$1/info" 2>/dev/null; then rm -rf "$1" && echo released; else echo "not ours"; fi' sh /opt/app/.deploy/lock tok`
    )
    expect(acquireLock('/opt/app', '{"a":1}').slice(3)).toEqual([
      'sh',
      '/opt/app/.deploy',
      '/opt/app/.deploy/lock',
      '{"a":1}'
    ])
    expect(breakLock('/opt/app', 'x').slice(3)).toEqual(['sh', '/opt/app/.deploy/lock', 'x'])
    expect(shJoin(renewLock('/opt/app', "it's"))).toBe(
      `sh -c 'if grep -qF "$2" "$1/info" 2>/dev/null; then touch -c "$1" && echo renewed; else echo "not ours"; fi' sh /opt/app/.deploy/lock 'it'\\''s'`
    )
  })

  test('a held lock is renewed often enough that it never looks abandoned', () => {
    expect(renewalInterval(3_600_000)).toBe(60_000)
    expect(renewalInterval(120_000)).toBe(30_000)
    expect(renewalInterval(4_000)).toBe(1_000)
    expect(renewalInterval(1_000)).toBe(1_000)
  })
})
