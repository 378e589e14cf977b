// The commands around a deploy, through the bundled action on the sandbox: rollback by hand
// (to the previous good version, to one by name, refused for one that cannot be restored),
// status, history, and a skip-build redeploy that sends nothing. Tests run in order.

import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { nonEmpty } from './sandbox-env.js'
import {
  PROJECT,
  historyOf,
  liveVersions,
  logRecords,
  resetServer,
  server,
  serverSnapshot,
  serverTags,
  stackInputs,
  stateFile
} from './stack.js'

const errorOf = (run: ActionRun) => run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
/** Inputs of a command other than deploy: no services (they come from the history). */
const commandInputs = (command: string, overrides: Record<string, string> = {}) =>
  stackInputs({ command, services: '', ...overrides })

async function deploy(version: string, overrides: Record<string, string> = {}) {
  const run = await runAction(stackInputs({ version, ...overrides }))
  expect([version, run.code, run.outputs.status, errorOf(run)]).toEqual([version, 0, 'success', ''])
  return run
}

beforeAll(async () => {
  resetServer()
  for (const v of ['c1', 'c2', 'c3']) await deploy(v)
  expect(await liveVersions()).toEqual({ api: 'c3', web: 'c3', db: 'c3' })
})

describe('command: rollback', () => {
  test('without a version, it returns to the previous good version, recorded as ↩', async () => {
    const run = await runAction(commandInputs('rollback'))
    expect([run.code, errorOf(run)]).toEqual([0, ''])
    expect(run.outputs).toMatchObject({
      status: 'success',
      version: 'c2',
      'previous-version': 'c3',
      'rolled-back': 'true'
    })
    expect(await liveVersions()).toEqual({ api: 'c2', web: 'c2', db: 'c2' })
    expect(stateFile('current_version')).toBe('c2\n')
    expect(stateFile('current_method')).toBe('tar\n')
    expect(logRecords().at(-1)).toMatchObject({ version: 'c2', status: 'rollback', previous: 'c3' })
    expect(historyOf(run.outputs)[0]).toBe('rollback c2')
    // c3 stays restorable: its images were backed up before the switch.
    expect(serverTags('api')).toContain('backup-c3')
    expect(run.summary).toContain('## ↩ Rolled back to c2')
    expect(run.summary).toMatch(/\| ✔ \| settle window: 2 s/)
  })

  test('to a version by name', async () => {
    const run = await runAction(commandInputs('rollback', { version: 'c1' }))
    expect([run.code, run.outputs.status, run.outputs.version]).toEqual([0, 'success', 'c1'])
    expect(await liveVersions()).toEqual({ api: 'c1', web: 'c1', db: 'c1' })
    expect(logRecords().at(-1)).toMatchObject({ version: 'c1', status: 'rollback', previous: 'c2' })
  })

  test('to a version that cannot be restored: refused before anything changes, listing what can', async () => {
    const before = serverSnapshot()
    const run = await runAction(commandInputs('rollback', { version: 'c0-never' }))
    expect(run.code).toBe(1)
    expect(run.outputs.status).toBe('failed')
    expect(errorOf(run)).toContain(
      'c0-never cannot be restored: the history does not list it (it was pruned, or never deployed here). Versions that can be restored, newest first: c2, c3'
    )
    expect(JSON.parse(run.outputs['restorable-versions'] ?? '')).toEqual(['c2', 'c3'])
    expect(run.log).not.toContain('::group::backup')
    expect(serverSnapshot()).toEqual(before)
  })
})

describe('commands: status and history', () => {
  const fileHistory = () =>
    nonEmpty(stateFile('versions.log') ?? '')
      .map(l => JSON.parse(l) as unknown)
      .reverse()

  test('status: what runs, its containers and one pass of the checks, as the state files say', async () => {
    const run = await runAction(commandInputs('status'))
    expect([run.code, errorOf(run)]).toEqual([0, ''])
    expect(run.outputs).toMatchObject({
      version: (stateFile('current_version') ?? '').trim(),
      method: (stateFile('current_method') ?? '').trim(),
      healthy: 'true',
      status: 'success'
    })
    expect(JSON.parse(run.outputs.history ?? '')).toEqual(fileHistory().slice(0, 10))
    expect(run.summary).toContain('## ✔ Status: c1 is healthy')
    expect(run.summary).toMatch(
      /\| `c1` \| tar \| [0-9a-f]{7} \| \d{4}-\d\d-\d\dT[\d:.]+Z \| e2e \|/
    )
    for (const s of ['api', 'web', 'db']) {
      expect(run.summary).toMatch(
        new RegExp(
          `\\| ${PROJECT}[_-]${s}[_-]1 \\| running \\| healthy \\| ${PROJECT}-${s}:c1 \\| 0 \\|`
        )
      )
    }
    expect(run.summary).toContain('| ✔ | `http://127.0.0.1:18081/health` | 1 | HTTP 200')
  })

  test('status fails, and says why, when a container is down', async () => {
    const id = nonEmpty(
      server([
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.service=web`,
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`
      ])
    )[0] as string
    server(['stop', '-t', '1', id])
    try {
      const run = await runAction(commandInputs('status'))
      expect(run.code).toBe(1)
      expect(run.outputs).toMatchObject({ healthy: 'false', status: 'failed', version: 'c1' })
      expect(errorOf(run)).toMatch(
        /c1 is not healthy: check "http:\/\/127\.0\.0\.1:18082\/health" failed/
      )
      expect(errorOf(run)).toMatch(/vdemo[_-]web[_-]1 is exited/)
      expect(run.summary).toContain('## ✖ Status: c1 is not healthy')
    } finally {
      server(['start', id])
    }
  })

  test('history: every record newest first, and the versions a rollback can go to', async () => {
    const run = await runAction(commandInputs('history'))
    expect([run.code, errorOf(run)]).toEqual([0, ''])
    expect(JSON.parse(run.outputs.history ?? '')).toEqual(fileHistory())
    expect(JSON.parse(run.outputs['restorable-versions'] ?? '')).toEqual(['c2', 'c3'])
    expect(historyOf(run.outputs)).toEqual([
      'rollback c1',
      'rollback c2',
      'success c3',
      'success c2',
      'success c1'
    ])
    expect(run.summary).toMatch(/\| ↩ \| `c1` \| rollback \| tar \|/)
    expect(run.summary).toContain('### Restorable versions\n\n- `c2`\n- `c3`')
  })
})

describe('skip-build', () => {
  test('a redeploy of a version the server has sends no image bytes', async () => {
    const run = await runAction(stackInputs({ version: 'c3', 'skip-build': 'true' }))
    expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
    expect(run.log).not.toContain('::group::build')
    expect(run.log).toContain('the server already has every image of c3: nothing to send (0 bytes)')
    expect(run.log).not.toMatch(/Loaded image/)
    expect(run.summary).toMatch(/\| success \| `c3` \| `c1` \| tar \| false \| nothing to send \|/)
    expect(await liveVersions()).toEqual({ api: 'c3', web: 'c3', db: 'c3' })
  })

  test('without a version it ships the newest one built; images the runner lacks are named', async () => {
    const before = serverSnapshot()
    const missing = await runAction(stackInputs({ version: 'c9-unbuilt', 'skip-build': 'true' }))
    expect(missing.code).toBe(1)
    expect(errorOf(missing)).toContain(
      `Input "skip-build": the runner's Docker engine has no ${PROJECT}-api:c9-unbuilt, ${PROJECT}-web:c9-unbuilt, ${PROJECT}-db:c9-unbuilt`
    )
    expect(serverSnapshot()).toEqual(before)

    const run = await runAction(stackInputs({ version: '', 'skip-build': 'true' }))
    expect([run.code, run.outputs.status]).toEqual([0, 'success'])
    expect(run.outputs.version).toBe('c3')
    expect(run.log).toContain('skip-build: shipping c3, the newest version built for every service')
  })
})

describe('command: rollback to a version that fails its checks', () => {
  test('the version that was in service comes back, and the history says so', async () => {
    // A bad version recorded as a success: deployed with skip-healthcheck.
    await deploy('c4-bad', { 'build-args': 'VARIANT=broken', 'skip-healthcheck': 'true' })
    const back = await runAction(commandInputs('rollback'))
    expect([back.code, back.outputs.version]).toEqual([0, 'c3'])
    expect(await liveVersions()).toEqual({ api: 'c3', web: 'c3', db: 'c3' })

    const run = await runAction(
      commandInputs('rollback', { version: 'c4-bad', 'healthcheck-timeout': '10' })
    )
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({
      status: 'failed',
      version: 'c4-bad',
      'previous-version': 'c3',
      'rolled-back': 'false'
    })
    expect(errorOf(run)).toMatch(/rolling back to c4-bad failed: version c4-bad is not healthy/)
    expect(errorOf(run)).toContain('c3 is back in service.')
    expect(await liveVersions()).toEqual({ api: 'c3', web: 'c3', db: 'c3' })
    expect(stateFile('current_version')).toBe('c3\n')
    expect(logRecords().slice(-2)).toMatchObject([
      { version: 'c4-bad', status: 'failed', previous: 'c3' },
      { version: 'c3', status: 'rollback', previous: 'c4-bad' }
    ])
    expect(run.summary).toContain('## ✖ Rollback to c4-bad failed')
    expect(run.summary).toContain('### Health checks after restoring')
  })
})

describe('a version name is an identity (issue 30, point 2)', () => {
  test('the version in service again with other images: refused, nothing changed, it keeps serving', async () => {
    expect(stateFile('current_version')).toBe('c3\n')
    const before = serverSnapshot()
    const run = await runAction(stackInputs({ version: 'c3', 'build-args': 'VARIANT=broken' }))
    expect([run.code, run.outputs.status]).toEqual([1, 'failed'])
    expect(errorOf(run)).toContain(
      'Input "version": c3 is the version in service, with other images than this run\'s'
    )
    expect(run.log).not.toContain('::group::transfer')
    expect(run.log).not.toContain('::group::backup')
    expect(serverSnapshot()).toEqual(before)
    expect(await liveVersions()).toEqual({ api: 'c3', web: 'c3', db: 'c3' })
  })

  test('an earlier success again with other images: refused the same way', async () => {
    const before = serverSnapshot()
    const run = await runAction(stackInputs({ version: 'c2', 'build-args': 'VARIANT=broken' }))
    expect(run.code).toBe(1)
    expect(errorOf(run)).toMatch(
      /Input "version": c2 was deployed successfully before \(\S+\), with other images/
    )
    expect(serverSnapshot()).toEqual(before)
  })

  test('the version in service with its very images: nothing ships or restarts, the redeploy is recorded', async () => {
    const before = serverSnapshot()
    const run = await runAction(stackInputs({ version: 'c3' }))
    expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
    expect(run.log).toContain('c3 is in service with these very images: nothing to ship or restart')
    expect(run.log).not.toContain('::group::transfer')
    const after = serverSnapshot()
    expect([after.containers, after.images, after.current]).toEqual([
      before.containers,
      before.images,
      before.current
    ])
    expect(logRecords().at(-1)).toMatchObject({ version: 'c3', status: 'success', previous: 'c3' })
  })

  test('a version recorded only as failed may be deployed again', async () => {
    const failed = await runAction(
      stackInputs({ version: 'c5', 'build-args': 'VARIANT=broken', 'healthcheck-timeout': '10' })
    )
    expect([failed.code, failed.outputs.status]).toEqual([1, 'rolled-back'])
    await deploy('c5')
    expect(await liveVersions()).toEqual({ api: 'c5', web: 'c5', db: 'c5' })
  })
})
