// method registry, through the bundled action on the sandbox: the runner pushes to the sandbox's
// registry that requires a login (127.0.0.1:5001), the server (lab host 1, whose 127.0.0.1:5001
// leads to the same registry) pulls by digest with a login that lives in a throw-away Docker
// config. The password must appear nowhere afterwards. Tests run in order.

import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  DEPLOY_DIR,
  HOST,
  PROJECT,
  env,
  liveVersions,
  logRecords,
  resetServer,
  server,
  serverContainers,
  serverImages,
  serverSnapshot,
  stackInputs,
  stateFile
} from './stack.js'

const PASSWORD = readFileSync(env.registryPasswordFile, 'utf8').trim()
const REGISTRY = `${env.authRegistry}/vd`
const errorOf = (run: ActionRun) => run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
/** The step's log as a reader sees it: `::add-mask::` lines tell the runner what to mask. */
const readable = (run: ActionRun) =>
  run.log
    .split('\n')
    .filter(l => !l.startsWith('::add-mask::'))
    .join('\n')

const registryInputs = (version: string, overrides: Record<string, string> = {}) =>
  stackInputs({
    version,
    method: 'registry',
    registry: REGISTRY,
    'registry-username': env.registryUser,
    'registry-password': PASSWORD,
    ...overrides
  })

/**
 * Files that hold `text`, on this machine and on the server: the places a login could stay. The
 * server's own folders are its deploy path (in its /srv) and its /run; its /tmp and home folders
 * are this machine's.
 */
function filesHolding(text: string): string[] {
  const places = [
    DEPLOY_DIR,
    `${HOST.dir}/run`,
    `${homedir()}/.docker`,
    tmpdir(),
    '/tmp',
    '/var/tmp/vd-sandbox/ssh'
  ]
  const found: string[] = []
  for (const place of places.filter(p => existsSync(p))) {
    try {
      const out = execFileSync('grep', ['-rlsF', '--', text, place], { encoding: 'utf8' })
      found.push(...out.split('\n').filter(Boolean))
    } catch {
      // grep exits 1 when nothing matches
    }
  }
  // The sandbox keeps the password (its own file) and its runs' step files (vd-run-*: the
  // runner's GITHUB_* files, checked separately below); nothing else may hold it.
  return found.filter(f => f !== env.registryPasswordFile && !f.includes('/vd-run-'))
}

const runs: ActionRun[] = []
beforeAll(() => resetServer())

test('a registry deploy: pushed from the runner, pulled by digest on the server, run as <project>-<service>:<version>', async () => {
  const run = await runAction(registryInputs('r1'))
  runs.push(run)
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(run.outputs.method).toBe('registry')
  expect(stateFile('current_method')).toBe('registry\n')
  expect(await liveVersions()).toEqual({ api: 'r1', web: 'r1', db: 'r1' })
  expect(serverContainers().map(c => c.split(' ')[0])).toEqual(
    ['api', 'db', 'web'].map(s => `${PROJECT}-${s}:r1`)
  )
  // The history keeps the pushed digests, to pull this version again.
  const record = logRecords().at(-1) as { images?: Record<string, string> }
  for (const s of ['api', 'web', 'db']) {
    expect(record.images?.[s]).toMatch(
      new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/${PROJECT}-${s}@sha256:[0-9a-f]{64}$`)
    )
    expect(run.log).toContain(`pushed ${REGISTRY}/${PROJECT}-${s}:r1 (sha256:`)
  }
  // Only the <project>-<service> tags stay on the server, not the registry's names.
  expect(serverImages().filter(i => i.startsWith(env.authRegistry))).toEqual([])
  expect(run.log).toContain('::group::login')
  expect(run.log).toContain('::group::push')
})

test('a broken registry version is rolled back on its own', async () => {
  const run = await runAction(registryInputs('r2-broken', { 'build-args': 'VARIANT=broken' }))
  runs.push(run)
  expect(run.code).toBe(1)
  expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': 'r1' })
  expect(errorOf(run)).toContain('Rolled back to r1')
  expect(await liveVersions()).toEqual({ api: 'r1', web: 'r1', db: 'r1' })
})

test('a version whose images were removed from the server comes back by digest', async () => {
  const good = await runAction(registryInputs('r3'))
  runs.push(good)
  expect([good.code, good.outputs.status]).toEqual([0, 'success'])
  const r1Tags = serverImages()
    .map(i => i.split(' ')[0] as string)
    .filter(ref => /:(backup-)?r1$/.test(ref))
  expect(r1Tags.length).toBeGreaterThanOrEqual(3)
  server(['image', 'rm', ...r1Tags])
  expect(serverImages().filter(i => /:(backup-)?r1 /.test(i))).toEqual([])

  const run = await runAction({
    ...registryInputs('r1'),
    command: 'rollback',
    services: ''
  })
  runs.push(run)
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(run.log).toContain('pulling 3 image(s) of r1 again by digest')
  expect(await liveVersions()).toEqual({ api: 'r1', web: 'r1', db: 'r1' })
  expect(stateFile('current_version')).toBe('r1\n')
  expect(stateFile('current_method')).toBe('registry\n')
})

test('credentials the registry refuses: the login fails before anything is built or changed', async () => {
  const before = serverSnapshot()
  const wrong = `${PASSWORD}-wrong`
  const run = await runAction(registryInputs('r4', { 'registry-password': wrong }))
  expect(run.code).toBe(1)
  expect(errorOf(run)).toMatch(new RegExp(`login to ${env.authRegistry} failed`))
  expect(run.log).not.toContain('::group::build')
  expect(readable(run)).not.toContain(wrong)
  expect(run.log).toContain(`::add-mask::${wrong}`)
  expect(serverSnapshot()).toEqual(before)
})

test('without credentials, a registry that needs none is pushed to and pulled from anonymously', async () => {
  const run = await runAction(
    stackInputs({ version: 'r5', method: 'registry', registry: `${env.registry}/anon` })
  )
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(run.log).not.toContain('::group::login')
  expect(await liveVersions()).toEqual({ api: 'r5', web: 'r5', db: 'r5' })
})

test('the registry password appears in no log, summary, output or saved state, and on no file of the server', () => {
  expect(runs.length).toBe(4)
  for (const run of runs) {
    expect(run.log).toContain(`::add-mask::${PASSWORD}`)
    expect(readable(run)).not.toContain(PASSWORD)
    expect(run.summary).not.toContain(PASSWORD)
    expect(JSON.stringify(run.outputs)).not.toContain(PASSWORD)
    expect(JSON.stringify(run.state)).not.toContain(PASSWORD)
  }
  expect(filesHolding(PASSWORD)).toEqual([])
  // No Docker config of a login is left behind on the server.
  expect(readdirSync('/tmp').filter(f => f.startsWith('vd-docker-config.'))).toEqual([])
  const config = `${homedir()}/.docker/config.json`
  if (existsSync(config)) expect(readFileSync(config, 'utf8')).not.toContain(env.authRegistry)
})
