// orchestrator: swarm, end to end through the bundled action on the sandbox's single-node swarm
// (scripts/sandbox.sh swarm on; left again afterwards). Images go through the registry that
// requires a login; the stack runs the digests pushed. Tests run in order: a deploy, a broken
// version rolled back automatically, `command: rollback` to a named version, `status`, and a
// tar deploy to a swarm refused before anything is built.

import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { runAction } from '../../scripts/run-action.mjs'
import { eventually, hasImage, nonEmpty, readStateFile } from './sandbox-env.js'
import { env, errorOf, httpGet, server } from './stack.js'

const PROJECT = 'vsw'
const FIXTURE = '__tests__/e2e/fixtures/vsw'
/** The app of deployments.test.ts, serving on another port. */
const APP = '__tests__/e2e/fixtures/vgh'
const DEPLOY_PATH = `${env.dir}/deploy/${PROJECT}`
const REGISTRY = `${env.authRegistry}/vd`
const PASSWORD = readFileSync(env.registryPasswordFile, 'utf8').trim()

const sandbox = (...args: string[]) =>
  execFileSync('bash', ['scripts/sandbox.sh', ...args], { stdio: 'inherit' })

/** Removes the stack, its containers and the images the swarm pulled for it. */
async function removeStack() {
  if (nonEmpty(server(['stack', 'ls', '--format', '{{.Name}}'])).includes(PROJECT)) {
    server(['stack', 'rm', PROJECT])
  }
  const containers = () =>
    nonEmpty(server(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${PROJECT}`]))
  await eventually(() => containers().length === 0, 30_000)
  if (containers().length > 0) server(['rm', '-f', ...containers()])
  const pulled = nonEmpty(server(['image', 'ls', '--format', '{{.Repository}} {{.ID}}']))
    .filter(l => l.startsWith(`${REGISTRY}/${PROJECT}-`))
    .map(l => l.split(' ')[1] as string)
  if (pulled.length > 0) server(['image', 'rm', '-f', ...new Set(pulled)])
}

function swarmInputs(version: string, overrides: Record<string, string> = {}) {
  return {
    project: PROJECT,
    method: 'registry',
    orchestrator: 'swarm',
    registry: REGISTRY,
    'registry-username': env.registryUser,
    'registry-password': PASSWORD,
    services: `app=${APP}`,
    'compose-file': `${FIXTURE}/docker-compose.yml`,
    host: env.sshHost,
    port: String(env.sshPort),
    username: env.deployUser,
    key: readFileSync(env.deployKey, 'utf8'),
    fingerprint: env.fingerprint,
    'deploy-path': DEPLOY_PATH,
    healthchecks: 'http://127.0.0.1:18491/health',
    'healthcheck-interval': '1',
    'healthcheck-timeout': '30',
    'healthcheck-monitor': '2',
    version,
    'build-args': 'PORT=18491',
    ...overrides
  }
}

const live = async () => (await httpGet('http://127.0.0.1:18491/version')).body
/** The image each service of the stack's spec runs, by service. */
function specImages(): Record<string, string> {
  const out = server([
    'service',
    'ls',
    '--filter',
    `label=com.docker.stack.namespace=${PROJECT}`,
    '--format',
    '{{.Name}} {{.Image}}'
  ])
  return Object.fromEntries(nonEmpty(out).map(l => l.split(' ') as [string, string]))
}
function records(): { version: string; status: string; images?: Record<string, string> }[] {
  return nonEmpty(readStateFile(DEPLOY_PATH, 'versions.log') ?? '').map(
    l => JSON.parse(l) as { version: string; status: string; images?: Record<string, string> }
  )
}
const digestOf = (version: string) =>
  records().find(r => r.version === version && r.images)?.images?.app ??
  `(no digest for ${version})`

/** Pushes the runner's `from` as `to`, logged in through a throw-away Docker config. */
function moveTag(from: string, to: string) {
  const config = mkdtempSync(`${tmpdir()}/vsw-docker-config-`)
  const run = (args: string[], input?: string) =>
    execFileSync('docker', args, {
      env: { ...process.env, DOCKER_HOST: env.runnerDockerHost, DOCKER_CONFIG: config },
      input,
      stdio: ['pipe', 'ignore', 'inherit']
    })
  try {
    run(['login', '--username', env.registryUser, '--password-stdin', env.authRegistry], PASSWORD)
    run(['tag', from, to])
    run(['push', '--quiet', to])
    run(['image', 'rm', to])
  } finally {
    rmSync(config, { recursive: true, force: true })
  }
}

/** The throw-away Docker config folders on the server (they hold a registry login while in use). */
const loginFolders = () => readdirSync(tmpdir()).filter(f => f.startsWith('vd-docker-config.'))
let foldersBefore: string[] = []

beforeAll(async () => {
  foldersBefore = loginFolders()
  mkdirSync(`${APP}/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${APP}/bin/busybox`)
  sandbox('swarm', 'on')
  await removeStack()
  rmSync(DEPLOY_PATH, { recursive: true, force: true })
  // The deploy path belongs to the deploy user, as on a real server.
  mkdirSync(DEPLOY_PATH, { recursive: true })
  execFileSync('chown', [`${env.deployUser}:`, DEPLOY_PATH])
})
afterAll(async () => {
  await removeStack()
  sandbox('swarm', 'off')
})

test('a deploy to the swarm: the stack runs the pushed digests, the one-shot service ran to completion', async () => {
  const run = await runAction(swarmInputs('s1'))
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(await live()).toBe('s1')
  const digest = digestOf('s1')
  expect(digest).toMatch(new RegExp(`^${REGISTRY}/vsw-app@sha256:[0-9a-f]{64}$`))
  expect(specImages()).toEqual({ vsw_app: digest, vsw_migrate: digest })
  // What Swarm ignores is said, not silently dropped.
  expect(run.log).toContain('services.app: docker stack deploy ignores restart')
  // The manager keeps no copy of the login; no backup tags or <project>-<service> tags on a swarm.
  expect(run.log).toContain('a swarm manager')
  expect(run.log).not.toContain('::group::backup')
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('s1\n')
})

test('a broken version is rolled back on its own: the stack runs the previous digests again, history ✖ then ↩', async () => {
  const run = await runAction(
    swarmInputs('s2', { 'build-args': 'PORT=18491\nVARIANT=broken', 'healthcheck-timeout': '12' })
  )
  expect(run.code).toBe(1)
  expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': 's1' })
  expect(errorOf(run)).toContain('Rolled back to s1')
  expect(await live()).toBe('s1')
  expect(specImages()).toEqual({ vsw_app: digestOf('s1'), vsw_migrate: digestOf('s1') })
  expect(records().map(r => `${r.version} ${r.status}`)).toEqual([
    's1 success',
    's2 failed',
    's1 rollback'
  ])
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('s1\n')
})

test("a version Swarm rolls back by itself: the action sees it, and its own rollback does not fight Swarm's", async () => {
  const run = await runAction(
    swarmInputs('s2b', {
      'compose-file': `${FIXTURE}/self-rollback.yml`,
      'build-args': 'PORT=18491\nVARIANT=broken',
      'healthcheck-timeout': '60'
    })
  )
  expect(run.code).toBe(1)
  // The error beside the status: when the rollback fails, it says why.
  expect({ ...run.outputs, error: errorOf(run) }).toMatchObject({
    status: 'rolled-back',
    'previous-version': 's1'
  })
  // Swarm rolls back on the first failed task, which the action's own watch may see first:
  // then the action's rollback races Swarm's. Either way, nothing may be fought over.
  expect(errorOf(run)).toMatch(
    /vsw_app: Swarm rolled it back by itself to \S+@sha256:|vsw_app\.1 failed \(exit code 137\).*unhealthy container/
  )
  expect(errorOf(run)).toContain('Rolled back to s1')
  expect(await live()).toBe('s1')
  expect(specImages().vsw_app).toBe(digestOf('s1'))
  expect(
    records()
      .map(r => `${r.version} ${r.status}`)
      .slice(-2)
  ).toEqual(['s2b failed', 's1 rollback'])
})

test('command: rollback to a named version puts its digests back, even after its tag moved', async () => {
  const good = await runAction(swarmInputs('s3'))
  expect([good.code, good.outputs.status, errorOf(good)]).toEqual([0, 'success', ''])
  expect(await live()).toBe('s3')
  // Move the registry's s1 tag to s3's image: a rollback by digest must not care.
  moveTag('vsw-app:s3', `${REGISTRY}/vsw-app:s1`)
  const run = await runAction({
    ...swarmInputs('s1'),
    command: 'rollback',
    services: ''
  })
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(await live()).toBe('s1')
  expect(specImages().vsw_app).toBe(digestOf('s1'))
  expect(records().at(-1)).toMatchObject({ version: 's1', status: 'rollback' })
})

test('status lists the services with replicas, the version each runs and the node of every task', async () => {
  const node = server(['info', '--format', '{{.Name}}']).trim()
  const run = await runAction({ ...swarmInputs(''), command: 'status', services: '' })
  expect([run.code, run.outputs.status, run.outputs.healthy, errorOf(run)]).toEqual([
    0,
    'success',
    'true',
    ''
  ])
  expect(run.log).toContain(`vsw_app: 1/1 s1; vsw_app.1 running on ${node}`)
  expect(run.log).toContain(`stack files: ${DEPLOY_PATH}/.deploy/releases/s1/`)
  expect(run.log).toMatch(new RegExp(`vsw_migrate: 1/1 s1; vsw_migrate\\.1 complete on ${node}`))
  expect(run.summary).toContain('| Service | Replicas | Version | Image | Tasks |')
  // Every stack deploy's login lived in its own folder, removed when it ended.
  expect(loginFolders()).toEqual(foldersBefore)
})

test('method tar with orchestrator swarm is refused before anything is built or touched', async () => {
  const before = readStateFile(DEPLOY_PATH, 'versions.log')
  const run = await runAction(swarmInputs('s9', { method: 'tar' }))
  expect(run.code).toBe(1)
  expect(errorOf(run)).toContain('Input "method": "tar" cannot deploy to a swarm')
  expect(hasImage(env.runnerDockerHost, 'vsw-app:s9')).toBe(false)
  expect(readStateFile(DEPLOY_PATH, 'versions.log')).toBe(before)
  expect(await eventually(() => specImages().vsw_app === digestOf('s1'), 1000)).toBe(true)
})
