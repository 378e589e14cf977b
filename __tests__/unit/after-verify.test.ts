// A verified version is never undone by bookkeeping (issue 30, point 4): once the checks pass,
// the checkpoint says so and a record or pruning that fails only leaves work for the post step;
// the post step takes the deploy lock (or proves it still holds it) before it changes anything,
// records a verified switch instead of rolling it back, and honours no-rollback. With a fake
// server that keeps its state files in memory.

import { parseOptions } from '../../src/config/parse.js'
import type { RunContext } from '../../src/config/inputs.js'
import type { DeployOptions } from '../../src/config/options.js'
import { recoverInterrupted } from '../../src/engine/commands/recover.js'
import type { SwitchInFlight } from '../../src/engine/server/in-flight.js'
import { recordVerified } from '../../src/engine/fleet/fleet-switch.js'
import { Fleet, lostLocks, takenOver } from '../../src/engine/fleet/fleet.js'
import { prune } from '../../src/engine/steps/prune.js'
import { newResult } from '../../src/engine/commands/result.js'
import { Phases, type Log } from '../../src/engine/io.js'
import type { ExecResult, Remote } from '../../src/remote/remote.js'
import type { Argv } from '../../src/remote/commands.js'
import { shJoin } from '../../src/remote/quote.js'
import type { DeployRecord } from '../../src/plan/history.js'
import type { ServerRun } from '../../src/engine/steps/deploy-steps.js'
import { raw } from './raw-inputs.js'
import { fakeRemote } from './fake-remote.js'
import { fakeRun } from './fake-run.js'

const ctx: RunContext = {
  workspace: '/work/repo',
  sha: 'e4534e6aaaabbbbccccddddeeeeffff000011112',
  now: new Date('2025-10-11T14:30:52Z')
}
const options = (more: Record<string, string> = {}): DeployOptions => ({
  ...parseOptions(raw({ 'deploy-path': '/srv/shop', project: 'shop', ...more }), ctx),
  version: 'v2'
})

/** When run `n` started (its record is finished a second later). */
const at = (n: number) => `2025-10-11T14:00:${String(n * 10).padStart(2, '0')}Z`
const record = (version: string, status: DeployRecord['status'], n: number) =>
  ({
    version,
    status,
    method: 'tar',
    commit: 'abc',
    previous: '',
    started_at: at(n),
    finished_at: at(n).replace('0Z', '1Z'),
    services: ['api']
  }) as DeployRecord

/**
 * A server whose state files live in memory: current_version, current_method, versions.log and
 * the lock (held with `lockToken`). Every command line it ran is in `ran`.
 */
function server(state: { current: string; log: DeployRecord[]; lockToken: string }) {
  const ran: string[] = []
  const files: Record<string, string> = {
    current_version: state.current,
    current_method: 'tar',
    'versions.log': state.log.map(r => JSON.stringify(r) + '\n').join('')
  }
  let lock = state.lockToken
  const answer = (argv: Argv, stdin = ''): ExecResult => {
    const line = shJoin(argv)
    ran.push(line)
    const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' })
    const file = (argv[4] ?? '').split('/').pop() ?? ''
    if (line.includes('for f in current_version current_method')) {
      return ok(`${files.current_version}\n${files.current_method}\n${files['versions.log'] ?? ''}`)
    }
    if (line.includes('tail -c 1')) {
      files[file] = (files[file] ?? '') + stdin
      return ok()
    }
    if (line.includes('cat > "$t"')) {
      files[file] = stdin.trim()
      return ok()
    }
    if (line.includes('touch -c')) return ok(argv[5] === lock ? 'renewed' : 'not ours')
    if (line.includes('if mkdir "$2"')) {
      if (lock) return ok(`held\n1\n{"token":"${lock}"}`)
      lock = (JSON.parse(argv[6] ?? '{}') as { token: string }).token
      return ok('acquired')
    }
    if (line.includes('grep -qF') && line.includes('rm -rf')) {
      const mine = argv[5] === lock
      if (mine) lock = ''
      return ok(mine ? 'released' : 'not ours')
    }
    if (line.includes('compose version')) return ok('v2')
    return ok()
  }
  const records = () =>
    (files['versions.log'] ?? '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(l => {
        const r = JSON.parse(l) as DeployRecord
        return `${r.status} ${r.version}`
      })
  return {
    remote: fakeRemote(answer),
    ran,
    files,
    records,
    lock: () => lock
  }
}

const lines: string[] = []
const log: Log = {
  info: m => void lines.push(m),
  warn: m => void lines.push(`warn: ${m}`),
  group: (_n, fn) => fn()
}
beforeEach(() => (lines.length = 0))

/** The post step on `s`, for a run that held the lock with the token `tok`. */
const recover = (
  s: ReturnType<typeof server>,
  left: SwitchInFlight,
  o: DeployOptions = options()
) =>
  recoverInterrupted(
    o,
    () => Promise.resolve(s.remote),
    { locks: { 'example.test': 'tok' }, switching: left },
    log
  )

const v1 = record('v1', 'success', 1)
const switching: SwitchInFlight = { version: 'v2', previous: 'v1', target: 'v1', startedAt: at(2) }
const verified: SwitchInFlight = {
  ...switching,
  verified: { ...record('v2', 'success', 2), previous: 'v1' }
}

describe('the post step', () => {
  test('a verified switch is recorded, never rolled back; the lock still ours is proved, then released', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: 'tok' })
    await recover(s, verified)
    expect(s.records()).toEqual(['success v1', 'success v2'])
    expect(s.files.current_version).toBe('v2')
    expect(s.ran.some(l => l.includes(' up '))).toBe(false)
    expect(s.ran.some(l => l.includes('if mkdir "$2"'))).toBe(false)
    expect(s.lock()).toBe('')
  })

  test('a verified switch already recorded: nothing is written twice', async () => {
    const s = server({
      current: 'v2',
      log: [v1, { ...record('v2', 'success', 2), previous: 'v1' }],
      lockToken: 'tok'
    })
    await recover(s, verified)
    expect(s.records()).toEqual(['success v1', 'success v2'])
    expect(s.ran.some(l => l.includes('cat >'))).toBe(false)
  })

  test('no-rollback: an unverified switch stays, recorded as failed', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: 'tok' })
    await recover(s, switching, options({ 'no-rollback': 'true' }))
    expect(s.records()).toEqual(['success v1', 'failed v2'])
    expect(s.files.current_version).toBe('v2')
    expect(s.ran.some(l => l.includes(' up '))).toBe(false)
    expect(lines.join('\n')).toContain('no-rollback is set')
  })

  test('without no-rollback, the same switch is undone (the control)', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: 'tok' })
    await recover(s, switching, options({ 'skip-healthcheck': 'true' }))
    expect(s.records()).toEqual(['success v1', 'failed v2', 'rollback v1'])
    expect(s.ran.some(l => l.includes(' up -d'))).toBe(true)
  })

  test('the lock lost meanwhile: taken again before anything changes', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: '' })
    await recover(s, verified)
    const took = s.ran.findIndex(l => l.includes('if mkdir "$2"'))
    const wrote = s.ran.findIndex(l => l.includes('cat >'))
    expect(took).toBeGreaterThan(-1)
    expect(took).toBeLessThan(wrote)
    expect(s.records()).toEqual(['success v1', 'success v2'])
    expect(s.lock()).toBe('')
  })

  test('the lock lost and another run changed the server since: left as that run left it', async () => {
    const s = server({ current: 'v3', log: [v1, record('v3', 'success', 3)], lockToken: '' })
    await recover(s, switching)
    expect(s.records()).toEqual(['success v1', 'success v3'])
    expect(s.files.current_version).toBe('v3')
    expect(s.ran.some(l => l.includes(' up '))).toBe(false)
    expect(lines.join('\n')).toContain('another run changed the server')
  })

  test('another deploy holds the lock: nothing is touched, and the post step says why', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: 'other' })
    const o = { ...options(), lockTimeoutMs: 0 }
    await expect(recover(s, switching, o)).rejects.toThrow(/another deploy holds the lock/)
    expect(s.records()).toEqual(['success v1'])
    expect(s.ran.some(l => l.includes('cat >'))).toBe(false)
  })
})

describe('after the checks passed', () => {
  const runOn = (remote: Remote): ServerRun =>
    fakeRun({
      name: 'example.test',
      o: options(),
      remote,
      log,
      history: [v1],
      startedAt: at(2),
      now: () => new Date(),
      switched: true
    })

  test('the checkpoint says verified before any record; a record that fails is a notice and the server is named for the post step', async () => {
    const s = server({ current: 'v1', log: [v1], lockToken: 'tok' })
    const r = runOn(s.remote)
    const result = newResult(options())
    const fleet = Fleet.of([r], result, new Phases(log))
    const checkpoints: string[] = []
    const notices: string[] = []
    const unkept = await recordVerified(
      fleet,
      verified,
      () => {
        expect(checkpoints).toHaveLength(1)
        return Promise.reject(new Error('No space left on device'))
      },
      { checkpoint: (_, v) => void checkpoints.push(v) },
      m => void notices.push(m)
    )
    expect(unkept).toEqual([r])
    expect(JSON.parse(checkpoints[0] ?? '')).toEqual(verified)
    expect(notices.join('\n')).toMatch(
      /v2 is in service and passed its checks, but recording it failed:\nNo space left on device\nIt stays in service; the post step writes the record/
    )
  })

  test('pruning: a release folder the deploy user cannot remove is removed through the engine, as root, with an image in service', async () => {
    const ran: string[] = []
    let stuck = true
    const remote = fakeRemote(argv => {
      const line = shJoin(argv)
      ran.push(line)
      if (line.startsWith('rm -rf')) {
        return stuck
          ? { code: 1, stdout: '', stderr: "rm: cannot remove 'data/x': Permission denied" }
          : { code: 0, stdout: '', stderr: '' }
      }
      if (line.startsWith('docker run')) stuck = false
      if (line.includes('ls -1'))
        return { code: 0, stdout: stuck ? 'v0\nv1\nv2\n' : 'v1\nv2\n', stderr: '' }
      return { code: 0, stdout: '', stderr: '' }
    })
    const notices: string[] = []
    const history = [record('v0', 'success', 0), v1, record('v2', 'success', 2)]
    await prune(remote, { ...options(), keepVersions: 2 }, history, ['v2', 'v1'], log, m =>
      notices.push(m)
    )
    expect(ran).toContain(
      'docker run --rm --pull never --network none --user 0:0 --entrypoint rm --mount type=bind,source=/srv/shop/.deploy/releases,target=/releases shop-api:v2 -rf -- /releases/v0'
    )
    expect(notices).toEqual([])
  })

  test('pruning: what neither the user nor the engine can remove is reported, never thrown', async () => {
    const remote = fakeRemote(argv => {
      const line = shJoin(argv)
      if (line.startsWith('rm -rf') || line.startsWith('docker run')) {
        return { code: 1, stdout: '', stderr: 'Permission denied' }
      }
      if (line.includes('ls -1')) return { code: 0, stdout: 'v0\nv1\nv2\n', stderr: '' }
      return { code: 0, stdout: '', stderr: '' }
    })
    const notices: string[] = []
    const history = [record('v0', 'success', 0), v1, record('v2', 'success', 2)]
    await prune(remote, { ...options(), keepVersions: 2 }, history, ['v2', 'v1'], log, m =>
      notices.push(m)
    )
    expect(notices).toEqual([
      'could not remove the release folders of v0: Permission denied. They hold files the deploy user cannot delete, and no image in service could remove them through the engine; remove them as root: rm -rf /srv/shop/.deploy/releases/v0'
    ])
  })
})

test('a lock broken while the version was verified: named, and nothing is recorded', () => {
  const mine = (lost?: string): ServerRun =>
    ({
      s: { name: 'example.test', lockLost: () => lost, phases: new Phases(log) },
      previous: 'v1'
    }) as unknown as ServerRun
  const runs = [mine(), mine("the deploy lock is no longer this deploy's")]
  const lost = lostLocks(runs, 'stopped before the record')
  expect(lost.map(l => l.why)).toEqual([
    "the deploy lock is no longer this deploy's; stopped before the record"
  ])
  const fleet = Fleet.of([runs[1]!], newResult(options()), new Phases(log))
  expect(takenOver(fleet, lost, 'v2')).toBe(
    "the deploy lock is no longer this deploy's; stopped before the record\nv2 passed its checks, but another deploy has taken over: nothing was recorded and nothing rolled back here (that deploy decides what runs now)."
  )
})
