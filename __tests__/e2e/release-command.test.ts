// The release step (release-command, rollback-command), end to end through the bundled action as
// the sandbox's non-root `deploy` user on lab host 1. The stack: `web` serves the version baked
// into its image; `db` keeps a volume (the "database") and serves its migrations.log; `migrate`
// and `undo` (compose profile `release`, never started by `up`) append a line to that log: the
// version of their own image, what `web` answered by its service name at that moment (the old
// version, if it still serves), and the variables the action sets. Tests run in order.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { hostPath, readStateFile, resetProject } from './sandbox-env.js'
import { HOST, asDeployUser, env, errorOf, giveTo, httpGet, server } from './stack.js'

const PROJECT = 'vrel'
const DEPLOY_PATH = `/srv/${PROJECT}`
const WS = `${env.dir}/ws-${PROJECT}`
const WEB = 18301
const DB = 18302

// BROKEN (a build arg) makes a version whose web never answers /health.
const DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG DEPLOY_VERSION
ARG BROKEN
RUN echo "$DEPLOY_VERSION" > /version && if [ -n "$BROKEN" ]; then touch /broken; fi
`
// (busybox's wget here crashes when given -T, so the release's wget has no timeout of its own.)
const COMPOSE = `services:
  web:
    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}
    ports: ['127.0.0.1:${WEB}:${WEB}']
    restart: unless-stopped
    command: [sh, -c, 'mkdir -p /www && cp /version /www/version && { [ -f /broken ] || echo ok > /www/health; } && exec httpd -f -p 0.0.0.0:${WEB} -h /www']
  db:
    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}
    ports: ['127.0.0.1:${DB}:${DB}']
    restart: unless-stopped
    volumes: ['data:/data']
    command: [sh, -c, 'touch /data/migrations.log && exec httpd -f -p 0.0.0.0:${DB} -h /data']
  migrate:
    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}
    profiles: [release]
    volumes: ['data:/data']
    command: [sh, -c, 'echo "release $$(cat /version) saw $$(wget -q -O- http://web:${WEB}/version || echo nothing) previous=$$DEPLOY_PREVIOUS_VERSION" | tee -a /data/migrations.log']
  undo:
    image: ${PROJECT}-app:\${DEPLOY_VERSION:-latest}
    profiles: [release]
    volumes: ['data:/data']
    command: [sh, -c, 'echo "undo $$(cat /version) to=$$DEPLOY_ROLLBACK_TO" | tee -a /data/migrations.log']
volumes:
  data: {}
`

function run(overrides: Record<string, string>): Promise<ActionRun> {
  return runAction(
    {
      project: PROJECT,
      services: 'app=app',
      host: env.sshHost,
      port: String(HOST.sshPort),
      fingerprint: HOST.fingerprint,
      ...asDeployUser(),
      'deploy-path': DEPLOY_PATH,
      'release-command': 'migrate',
      'rollback-command': 'undo',
      healthchecks: `http://127.0.0.1:${WEB}/health\ntcp://127.0.0.1:${DB}`,
      'healthcheck-interval': '1',
      'healthcheck-timeout': '6',
      'healthcheck-monitor': '1',
      // Every version stays restorable: the rollback tests pick old ones by name.
      'keep-versions': '10',
      ...overrides
    },
    { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'be1ea5e0aaaabbbbccccddddeeeeffff00001111' },
    { timeoutMs: 180_000 }
  )
}
const rollback = (overrides: Record<string, string>) =>
  run({ command: 'rollback', services: '', 'release-command': '', ...overrides })

/** The "database": every line the release and rollback commands appended, in order. */
async function migrations(): Promise<string[]> {
  const r = await httpGet(`http://127.0.0.1:${DB}/migrations.log`)
  return r.body.split('\n').filter(Boolean)
}
const serving = async () => (await httpGet(`http://127.0.0.1:${WEB}/version`)).body.trim()
const current = () => readStateFile(DEPLOY_PATH, 'current_version')?.trim()
/** The project's containers as `name id`, sorted: one-off containers would show here too. */
const containers = () =>
  server([
    'ps',
    '-a',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--format',
    '{{.Names}} {{.ID}}'
  ])
    .split('\n')
    .filter(Boolean)
    .sort()
const historyRecord = (r: ActionRun, version: string) =>
  (JSON.parse(r.outputs.history ?? '[]') as Record<string, unknown>[]).find(
    h => h.version === version
  )

function reset() {
  resetProject(env, PROJECT, DEPLOY_PATH, HOST)
  server(['volume', 'rm', '-f', `${PROJECT}_data`])
  rmSync(WS, { recursive: true, force: true })
}

beforeAll(() => {
  reset()
  mkdirSync(`${WS}/app/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${WS}/app/bin/busybox`)
  writeFileSync(`${WS}/app/Dockerfile`, DOCKERFILE)
  writeFileSync(`${WS}/docker-compose.yml`, COMPOSE)
  // The deploy path belongs to the deploy user, as a server's admin would prepare it.
  const dir = hostPath(HOST, DEPLOY_PATH)
  mkdirSync(dir, { recursive: true })
  giveTo(env.deployUser, dir)
})
afterAll(reset)

test('a first deploy runs the release command once, with its own image', async () => {
  const r = await run({ version: 'r1' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  // Nothing served yet: the release of a first deploy sees no web.
  expect(await migrations()).toEqual(['release r1 saw nothing previous='])
  expect(r.log).toContain('::group::release')
  expect(r.log).toContain('  | release r1 saw nothing previous=')
  expect(r.summary).toContain('Release command')
  expect(historyRecord(r, 'r1')).toMatchObject({
    status: 'success',
    release: {
      command: 'migrate',
      exit: 0,
      output: expect.stringContaining('release r1 saw nothing previous=')
    }
  })
  expect(containers().some(c => c.includes('release'))).toBe(false)
})

test('a redeploy runs it once, before the switch: the old version still answered', async () => {
  const r = await run({ version: 'r2' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await migrations()).toEqual([
    'release r1 saw nothing previous=',
    'release r2 saw r1 previous=r1'
  ])
  expect(r.log.indexOf('::group::release')).toBeLessThan(r.log.indexOf('::group::switch'))
  expect(await serving()).toBe('r2')
})

test('a failing release command fails the deploy before the switch; every container stays', async () => {
  const before = containers()
  const r = await run({
    version: 'r3',
    'release-command': `migrate sh -c 'echo "column users.email exists" >&2; exit 3'`
  })
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toContain(
    `the release command (migrate sh -c 'echo "column users.email exists" >&2; exit 3') failed: exit 3 after`
  )
  expect(errorOf(r)).toContain('column users.email exists')
  expect(errorOf(r)).toContain('The running version (r2) was not touched.')
  expect(r.log).not.toContain('::group::switch')
  expect(r.summary).toContain('column users.email exists')
  expect(containers()).toEqual(before)
  expect([current(), await serving()]).toEqual(['r2', 'r2'])
  expect(historyRecord(r, 'r3')).toMatchObject({ status: 'failed', release: { exit: 3 } })
  expect((await migrations()).length).toBe(2)
})

test('a release command still running at release-timeout is stopped and removed', async () => {
  const before = containers()
  const r = await run({
    version: 'r3t',
    'release-command': 'migrate sleep 120',
    'release-timeout': '3'
  })
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toContain('(migrate sleep 120) failed: still running after')
  expect(errorOf(r)).toContain('stopped at release-timeout')
  expect(containers()).toEqual(before)
  expect(current()).toBe('r2')
})

test('the automatic rollback runs the rollback command with the failed version’s image', async () => {
  const r = await run({ version: 'r4', 'build-args': 'BROKEN=1' })
  expect([r.code, r.outputs.status]).toEqual([1, 'rolled-back'])
  expect((await migrations()).slice(2)).toEqual(['release r4 saw r2 previous=r2', 'undo r4 to=r2'])
  expect(r.log.indexOf('::group::rollback command')).toBeLessThan(
    r.log.indexOf('::group::rollback\n')
  )
  expect(r.summary).toContain('Rollback command')
  expect([current(), await serving()]).toEqual(['r2', 'r2'])
  expect(historyRecord(r, 'r4')).toMatchObject({ status: 'failed', release: { exit: 0 } })
  expect(historyRecord(r, 'r2')).toMatchObject({ status: 'rollback', undo: { exit: 0 } })
})

test('a rollback by name runs the rollback command of the version it leaves', async () => {
  const d = await run({ version: 'r5' })
  expect([d.code, errorOf(d)]).toEqual([0, ''])
  const r = await rollback({ version: 'r1' })
  expect([r.code, r.outputs.status, r.outputs.version, errorOf(r)]).toEqual([
    0,
    'success',
    'r1',
    ''
  ])
  expect((await migrations()).slice(-2)).toEqual(['release r5 saw r2 previous=r2', 'undo r5 to=r1'])
  expect([current(), await serving()]).toEqual(['r1', 'r1'])
})

test('a failing rollback command stops the rollback: nothing is switched back', async () => {
  const d = await run({ version: 'r6' })
  expect([d.code, errorOf(d)]).toEqual([0, ''])
  const before = containers()
  const r = await rollback({
    version: 'r5',
    'rollback-command': `undo sh -c 'echo "cannot drop column" >&2; exit 4'`
  })
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toContain('the rollback command of r6')
  expect(errorOf(r)).toContain('failed: exit 4 after')
  expect(errorOf(r)).toContain('cannot drop column')
  expect(errorOf(r)).toContain(
    'The rollback stopped before switching: r6 is still in service and its images were not switched back to r5'
  )
  expect(r.log).not.toContain('::group::switch')
  expect(containers()).toEqual(before)
  expect([current(), await serving()]).toEqual(['r6', 'r6'])
})
