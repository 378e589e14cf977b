// The deploy lock and the post step, on the sandbox: concurrent deploys, a held lock, an
// abandoned lock, a deploy that outlives lock-stale-after, and a job cancelled in the middle of
// its health checks.

import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { runAction } from '../../scripts/run-action.mjs'
import { eventually } from './sandbox-env.js'
import {
  HEALTHCHECKS,
  STATE,
  env,
  liveVersions,
  logRecords,
  resetServer,
  stackInputs,
  stateFile
} from './stack.js'

const LOCK = `${STATE}/lock`

beforeAll(async () => {
  resetServer()
  const base = await runAction(stackInputs({ version: 'l0' }))
  expect([base.code, base.outputs.status]).toEqual([0, 'success'])
})

function holdLock(ageSeconds: number): string {
  const info = JSON.stringify({
    token: 'someone-else',
    version: 'x9',
    actor: 'other',
    runner: 'elsewhere',
    acquired_at: '2026-01-01T00:00:00Z'
  })
  mkdirSync(LOCK, { recursive: true })
  writeFileSync(`${LOCK}/info`, `${info}\n`)
  const then = Date.now() / 1000 - ageSeconds
  utimesSync(LOCK, then, then)
  return info
}

/** A lock directory without its info file, as a person or a deploy killed in between leaves it. */
function bareLock(ageSeconds: number): void {
  mkdirSync(LOCK, { recursive: true })
  const then = Date.now() / 1000 - ageSeconds
  utimesSync(LOCK, then, then)
}

test('two deploys started at the same moment run one after the other', async () => {
  const [a, b] = await Promise.all([
    runAction(stackInputs({ version: 'l1-a' })),
    runAction(stackInputs({ version: 'l1-b' }))
  ])
  expect([a.code, b.code]).toEqual([0, 0])
  const waited = [a, b].filter(r => r.log.includes('waiting for the deploy lock: version l1-'))
  expect(waited).toHaveLength(1)
  // The one that waited read the state only after the other finished: its previous is the other.
  const records = logRecords().slice(-2) as { version: string; status: string; previous: string }[]
  expect(records.map(r => r.status)).toEqual(['success', 'success'])
  expect(records[1]?.previous).toBe(records[0]?.version)
  expect(stateFile('current_version')).toBe(`${records[1]?.version}\n`)
  expect(existsSync(LOCK)).toBe(false)
})

test('a lock held by another deploy makes it wait, then give up naming the holder', async () => {
  const before = stateFile('versions.log')
  holdLock(5)
  try {
    const run = await runAction(stackInputs({ version: 'l2', 'lock-timeout': '3' }))
    expect(run.code).toBe(1)
    expect(run.log).toMatch(
      /::error::another deploy holds the lock .*: version x9 by other on elsewhere, since 2026-01-01T00:00:00Z; last renewed \d+ s ago\. Gave up after waiting 3 s/
    )
    expect(stateFile('versions.log')).toBe(before)
    expect(existsSync(`${LOCK}/info`)).toBe(true) // not ours: left alone
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
})

test('an abandoned lock is broken with a warning', async () => {
  holdLock(7200)
  const run = await runAction(stackInputs({ version: 'l3' }))
  expect(run.code).toBe(0)
  expect(run.log).toMatch(/::warning::breaking an abandoned deploy lock: version x9 by other/)
  expect(existsSync(LOCK)).toBe(false)
})

describe('command: unlock', () => {
  const unlockInputs = (overrides: Record<string, string> = {}) =>
    stackInputs({ command: 'unlock', services: '', ...overrides })

  test('releases an abandoned lock, saying who held it and since when', async () => {
    holdLock(600)
    const run = await runAction(unlockInputs())
    expect(run.code).toBe(0)
    expect(run.log).toMatch(
      /released the deploy lock held by version x9 by other on elsewhere, since 2026-01-01T00:00:00Z; last renewed \d+ s ago/
    )
    expect(existsSync(LOCK)).toBe(false)
    expect(run.summary).toContain('released the deploy lock held by version x9')
  })

  test('refuses a lock renewed within two minutes, unless force-unlock', async () => {
    holdLock(30)
    try {
      const run = await runAction(unlockInputs())
      expect(run.code).toBe(1)
      expect(run.log).toMatch(
        /::error::the deploy lock was renewed \d+ s ago \(version x9 by other .*\): its deploy is probably still running.*force-unlock: true/
      )
      expect(existsSync(`${LOCK}/info`)).toBe(true)
      const forced = await runAction(unlockInputs({ 'force-unlock': 'true' }))
      expect(forced.code).toBe(0)
      expect(existsSync(LOCK)).toBe(false)
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  })

  test('releases an abandoned lock without its info file, naming an unknown holder', async () => {
    bareLock(600)
    try {
      const run = await runAction(unlockInputs())
      expect([run.code, run.outputs.status]).toEqual([0, 'success'])
      const said =
        /released the deploy lock held by an unknown holder, last changed (\d+) s ago \(no info in the lock\)/.exec(
          run.log
        )
      expect(Number(said?.[1])).toBeGreaterThanOrEqual(600)
      expect(existsSync(LOCK)).toBe(false)
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  })

  test('refuses a fresh lock without its info file and keeps it, unless force-unlock', async () => {
    bareLock(10)
    try {
      const run = await runAction(unlockInputs())
      expect(run.code).not.toBe(0)
      const said =
        /::error::the deploy lock is held by an unknown holder, last changed (\d+) s ago \(no info in the lock\): .*force-unlock: true/.exec(
          run.log
        )
      expect(Number(said?.[1])).toBeGreaterThanOrEqual(10)
      expect(Number(said?.[1])).toBeLessThan(120)
      expect(existsSync(LOCK)).toBe(true)
      expect(existsSync(`${LOCK}/info`)).toBe(false)
      const forced = await runAction(unlockInputs({ 'force-unlock': 'true' }))
      expect(forced.code).toBe(0)
      expect(forced.log).toContain('released the deploy lock held by an unknown holder')
      expect(existsSync(LOCK)).toBe(false)
    } finally {
      rmSync(LOCK, { recursive: true, force: true })
    }
  })

  test('with no lock held, says so and succeeds', async () => {
    const run = await runAction(unlockInputs())
    expect(run.code).toBe(0)
    expect(run.log).toContain('no deploy lock is held in')
  })
})

test('a job cancelled during its health checks: the post step restores the last good version', async () => {
  const main = await runAction(
    stackInputs({ version: 'l4', 'build-args': 'VARIANT=broken' }),
    {},
    {
      killWhen: log => log.includes('::group::verify')
    }
  )
  expect(main.code).not.toBe(0)
  expect(main.log).toContain('cancelled (SIGTERM)')
  // The locks held, by server: this one's token.
  expect(JSON.parse(main.state.lock ?? '{}')).toEqual({
    [`${env.sshHost}:${env.sshPort}`]: expect.stringMatching(/^[0-9a-f-]{36}$/)
  })
  expect(JSON.parse(main.state.switching ?? '{}')).toMatchObject({ version: 'l4', target: 'l3' })
  expect(existsSync(LOCK)).toBe(true)

  const post = await runAction(stackInputs({ version: 'l4' }), {}, { state: main.state })
  expect(post.code).toBe(0)
  expect(post.log).toContain('the deploy of l4 was interrupted before it was verified')
  expect(post.log).toContain('deploy lock released')
  expect(existsSync(LOCK)).toBe(false)
  expect(await liveVersions()).toEqual({ api: 'l3', web: 'l3', db: 'l3' })
  expect(stateFile('current_version')).toBe('l3\n')
  expect(logRecords().slice(-2)).toMatchObject([
    { version: 'l4', status: 'failed' },
    { version: 'l3', status: 'rollback' }
  ])

  // A post step after a main step that finished has nothing to do.
  const next = await runAction(stackInputs({ version: 'l5' }))
  expect([next.code, next.outputs.status]).toEqual([0, 'success'])
  const idle = await runAction(stackInputs({ version: 'l5' }), {}, { state: next.state })
  expect(idle.code).toBe(0)
  expect(idle.log).toContain('nothing to clean up on the server')
})

test('a deploy that outlives lock-stale-after keeps its lock: the next one waits, never breaks it', async () => {
  // The long deploy's last health check passes only 12 s after this marker was touched, so it
  // holds the lock three times longer than lock-stale-after (4 s) allows an unrenewed lock.
  const marker = `${env.dir}/lock-test-slow-check`
  writeFileSync(marker, '')
  const long = runAction(
    stackInputs({
      version: 'l6-long',
      'lock-stale-after': '4',
      healthchecks: `${HEALTHCHECKS}\ncmd: [ $(( $(date +%s) - $(stat -c %Y ${marker}) )) -ge 12 ]`
    })
  )
  expect(await eventually(() => existsSync(LOCK), 120_000)).toBe(true)
  const next = runAction(stackInputs({ version: 'l6-next', 'lock-stale-after': '4' }))
  const [a, b] = await Promise.all([long, next])
  rmSync(marker, { force: true })

  expect([a.code, b.code]).toEqual([0, 0])
  expect(b.log).toContain('waiting for the deploy lock: version l6-long')
  expect(b.log).not.toContain('breaking an abandoned deploy lock')
  expect(a.log).not.toContain('is no longer this deploy')
  expect(logRecords().slice(-2)).toMatchObject([
    { version: 'l6-long', status: 'success' },
    { version: 'l6-next', status: 'success', previous: 'l6-long' }
  ])
  expect(existsSync(LOCK)).toBe(false)
})
