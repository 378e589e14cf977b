// orchestrator: swarm, end to end through the bundled action on the lab's three-node swarm
// (scripts/sandbox.sh swarm on: manager host1, workers host2 and host3, joined over the lab LAN;
// left again afterwards). Images go through the registry that requires a login; every node pulls
// the digests pushed. The stack (fixtures/vsw) runs three replicas of `app`, one per node, on an
// overlay network, each publishing its port on its own node (mode host: the lab has no IPVS).
//
// Tests run in order. The compose file's `version` changes between versions (issue 20), so that
// each form is deployed, is the target of an automatic rollback and of a rollback by name:
//   s1 "3.8" ✔ · s2 '3' ✖ ↩ s1 · s3 none ✔ · s4 (Swarm rolls back by itself) ✖ ↩ s3 ·
//   s5 '3' ✔ · s6 none ✖ ↩ s5 · rollback to s1, to s3, to s5 · status · refusals.

import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runAction } from '../../scripts/run-action.mjs'
import {
  docker,
  eventually,
  hasImage,
  hostFetch,
  hostPath,
  nonEmpty,
  readStateFile,
  type LabHost
} from './sandbox-env.js'
import { env, errorOf, HOST, server } from './stack.js'

const PROJECT = 'vsw'
const FIXTURE = '__tests__/e2e/fixtures/vsw'
/** The app of deployments.test.ts: it listens on every interface of its container. */
const APP = '__tests__/e2e/fixtures/vgh'
const PORT = 18491
/** The deploy path on the manager (host 1), and where that folder is on this machine. */
const DEPLOY_PATH = `/srv/${PROJECT}`
const DEPLOY_DIR = hostPath(HOST, DEPLOY_PATH)
const REGISTRY = `${env.authRegistry}/vd`
const PASSWORD = readFileSync(env.registryPasswordFile, 'utf8').trim()
const NODES = env.hosts

const sandbox = (...args: string[]) =>
  execFileSync('bash', ['scripts/sandbox.sh', ...args], { stdio: 'inherit' })
const onNode = (host: LabHost, args: string[]) => docker(host.dockerHost, args)

/**
 * The compose file's `version` line in each form a user writes (issue 20): the fixture's own
 * (`version: "3.8"`), a single-quoted major version, and none.
 */
const FORMS = {
  double: 'version: "3.8"',
  single: "version: '3'",
  none: ''
} as const
type Form = keyof typeof FORMS
const formsDir = mkdtempSync(path.join(tmpdir(), 'vsw-compose-'))
/**
 * The fixture with its first line, its version (`version: '3.8'` as prettier writes it), in
 * `form`; the path of that file. The suite's first version deploys it as `version: "3.8"`.
 */
function composeFile(form: Form, fixture = 'docker-compose.yml'): string {
  const [first, ...rest] = readFileSync(`${FIXTURE}/${fixture}`, 'utf8').split('\n')
  if (first !== "version: '3.8'") throw new Error(`${fixture} must start with version: '3.8'`)
  const file = path.join(formsDir, `${form}-${fixture}`)
  writeFileSync(file, [...(FORMS[form] ? [FORMS[form]] : []), ...rest].join('\n'))
  return file
}
/** The `version` line ('' for none) of a release's stored compose file and of its pins file. */
function storedVersionLines(version: string): [string, string] {
  const line = (name: string) =>
    readFileSync(`${DEPLOY_DIR}/.deploy/releases/${version}/${name}`, 'utf8')
      .split('\n')
      .find(l => l.startsWith('version:')) ?? ''
  return [line('docker-compose.yml'), line('swarm-images.yml')]
}

/** Removes the stack, its containers and the images it pulled, on every node. */
async function removeStack() {
  if (nonEmpty(server(['stack', 'ls', '--format', '{{.Name}}'])).includes(PROJECT)) {
    server(['stack', 'rm', PROJECT])
  }
  for (const node of NODES) {
    const containers = () =>
      nonEmpty(
        onNode(node, ['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${PROJECT}`])
      )
    await eventually(() => containers().length === 0, 30_000)
    if (containers().length > 0) onNode(node, ['rm', '-f', ...containers()])
    const pulled = nonEmpty(onNode(node, ['image', 'ls', '--format', '{{.Repository}} {{.ID}}']))
      .filter(l => l.startsWith(`${REGISTRY}/${PROJECT}-`))
      .map(l => l.split(' ')[1] as string)
    if (pulled.length > 0) onNode(node, ['image', 'rm', '-f', ...new Set(pulled)])
  }
  // The stack's overlay network goes with it, once its tasks are gone.
  await eventually(
    () =>
      !nonEmpty(server(['network', 'ls', '--format', '{{.Name}}'])).includes(`${PROJECT}_appnet`),
    30_000
  )
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
    'compose-file': composeFile('double'),
    host: env.sshHost,
    port: String(env.sshPort),
    username: env.deployUser,
    key: readFileSync(env.deployKey, 'utf8'),
    fingerprint: env.fingerprint,
    'deploy-path': DEPLOY_PATH,
    healthchecks: `http://127.0.0.1:${PORT}/health`,
    'healthcheck-interval': '1',
    'healthcheck-timeout': '40',
    'healthcheck-monitor': '2',
    version,
    'build-args': `PORT=${PORT}`,
    ...overrides
  }
}
/** A version whose /health is missing: its check never passes. The timeout also bounds the
 *  rollback's convergence on three nodes (~10 s). */
const broken = { 'build-args': `PORT=${PORT}\nVARIANT=broken`, 'healthcheck-timeout': '25' }

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
type Record_ = { version: string; status: string; images?: Record<string, string> }
function records(): Record_[] {
  return nonEmpty(readStateFile(DEPLOY_PATH, 'versions.log') ?? '').map(
    l => JSON.parse(l) as Record_
  )
}
const history = () => records().map(r => `${r.version} ${r.status}`)
const digestOf = (version: string) =>
  records().find(r => r.version === version && r.images)?.images?.app ??
  `(no digest for ${version})`

/**
 * What every node shows of `app`, from its own engine and its own loopback: the image reference
 * of each running task container, whether the engine holds that image by its digest and the
 * container runs that very image, and what the node's port answers.
 */
async function nodeViews(): Promise<Record<string, unknown>> {
  const views: Record<string, unknown> = {}
  for (const node of NODES) {
    const ids = nonEmpty(
      onNode(node, [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.swarm.service.name=${PROJECT}_app`,
        '--filter',
        'status=running'
      ])
    )
    const tasks = ids.map(id => {
      const [ref = '', image = ''] = onNode(node, [
        'inspect',
        '--format',
        '{{.Config.Image}} {{.Image}}',
        id
      ])
        .trim()
        .split(' ')
      const held = hasImage(node.dockerHost, ref)
      const same =
        held && onNode(node, ['image', 'inspect', '--format', '{{.Id}}', ref]).trim() === image
      return `${ref} ${held ? 'held' : 'not held'}${same ? '' : ', another image runs'}`
    })
    const answer = (await hostFetch(node, `http://127.0.0.1:${PORT}/version`)).body
    views[node.name] = { tasks, answer }
  }
  return views
}
/** Every node runs one task of `version`'s pushed digest, holds that image, and answers it. */
async function expectEverywhere(version: string) {
  const digest = digestOf(version)
  expect(digest).toMatch(new RegExp(`^${REGISTRY}/vsw-app@sha256:[0-9a-f]{64}$`))
  const want = { tasks: [`${digest} held`], answer: version }
  expect(await nodeViews()).toEqual(Object.fromEntries(NODES.map(n => [n.name, want])))
  expect(specImages()).toMatchObject({ vsw_app: digest })
}

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

/** The throw-away Docker config folders on the manager (they hold a registry login while in use). */
const loginFolders = () => readdirSync(tmpdir()).filter(f => f.startsWith('vd-docker-config.'))
let foldersBefore: string[] = []

beforeAll(async () => {
  foldersBefore = loginFolders()
  mkdirSync(`${APP}/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${APP}/bin/busybox`)
  sandbox('swarm', 'on')
  await removeStack()
  rmSync(DEPLOY_DIR, { recursive: true, force: true })
  // The deploy path belongs to the deploy user, as on a real server.
  mkdirSync(DEPLOY_DIR, { recursive: true })
  execFileSync('chown', [`${env.deployUser}:`, DEPLOY_DIR])
}, 120_000)
afterAll(async () => {
  await removeStack()
  sandbox('swarm', 'off')
  rmSync(formsDir, { recursive: true, force: true })
}, 120_000)

test('the lab is a swarm of three nodes: manager host1, workers host2 and host3', () => {
  const nodes = nonEmpty(server(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}']))
  expect(nodes.sort()).toEqual(['host1 Leader', 'host2', 'host3'])
})

test('a deploy (version: "3.8") to three nodes: each worker pulls the pushed digest itself, one task per node, the one-shot service ran', async () => {
  const run = await runAction(swarmInputs('s1'))
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  const digest = digestOf('s1')
  // Before this deploy no node held any vsw image (beforeAll): the workers pulled it themselves.
  await expectEverywhere('s1')
  expect(specImages()).toEqual({ vsw_app: digest, vsw_migrate: digest })
  expect(storedVersionLines('s1')).toEqual([FORMS.double, FORMS.double])
  // What Swarm ignores is said, not silently dropped.
  expect(run.log).toContain('services.app: docker stack deploy ignores restart')
  // The manager keeps no copy of the login; no backup tags or <project>-<service> tags on a swarm.
  expect(run.log).toContain('a swarm manager')
  expect(run.log).not.toContain('::group::backup')
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('s1\n')
})

test('the overlay network carries traffic between nodes: host1 reaches every task by its overlay address', () => {
  const tasks = nonEmpty(
    server(['service', 'ps', '-q', '--no-trunc', '--filter', 'desired-state=running', 'vsw_app'])
  )
  const addresses = nonEmpty(
    server([
      'inspect',
      '--type',
      'task',
      '--format',
      '{{range .NetworksAttachments}}{{if eq .Network.Spec.Name "vsw_appnet"}}{{index .Addresses 0}} {{.Network.Spec.DriverConfiguration.Name}}{{end}}{{end}}',
      ...tasks
    ])
  ).map(l => l.split(' '))
  expect(addresses.map(([, driver]) => driver)).toEqual(['overlay', 'overlay', 'overlay'])
  const [local] = nonEmpty(
    server(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=vsw_app'])
  )
  const answers = addresses.map(([cidr]) =>
    server([
      'exec',
      local ?? '',
      // (this busybox's wget crashes with -T)
      'timeout',
      '5',
      'wget',
      '-q',
      '-O',
      '-',
      `http://${(cidr ?? '').split('/')[0]}:${PORT}/version`
    ]).trim()
  )
  expect(answers).toEqual(['s1', 's1', 's1'])
})

test("a broken version (version: '3') is rolled back on its own, on every node: history ✖ then ↩ to s1's \"3.8\" file", async () => {
  const run = await runAction(
    swarmInputs('s2', { ...broken, 'compose-file': composeFile('single') })
  )
  expect(run.code).toBe(1)
  expect(`${run.outputs.status} from ${run.outputs['previous-version']}: ${errorOf(run)}`).toMatch(
    /^rolled-back from s1: /
  )
  // Its check failed on s2's tasks: a pass from s1's tasks, still answering while Swarm replaced
  // them, did not count.
  expect(errorOf(run)).toMatch(
    /^version s2 is not healthy: not healthy after 25 s: check "http:\/\/127\.0\.0\.1:18491\/health" failed \(last: HTTP 404/
  )
  expect(errorOf(run)).toContain('Rolled back to s1')
  // s2's file was deployed as written (its pins say version '3'), then s1's stored file again.
  expect(storedVersionLines('s2')).toEqual([FORMS.single, FORMS.single])
  await expectEverywhere('s1')
  expect(specImages()).toEqual({ vsw_app: digestOf('s1'), vsw_migrate: digestOf('s1') })
  expect(history()).toEqual(['s1 success', 's2 failed', 's1 rollback'])
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('s1\n')
})

test('a deploy of a file without version', async () => {
  const run = await runAction(swarmInputs('s3', { 'compose-file': composeFile('none') }))
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(storedVersionLines('s3')).toEqual([FORMS.none, FORMS.none])
  await expectEverywhere('s3')
})

test("a version Swarm rolls back by itself: the action sees it, and its own rollback (to s3's file without version) does not fight Swarm's", async () => {
  const run = await runAction(
    swarmInputs('s4', {
      'compose-file': composeFile('double', 'self-rollback.yml'),
      'build-args': `PORT=${PORT}\nVARIANT=broken`,
      'healthcheck-timeout': '60'
    })
  )
  expect(run.code).toBe(1)
  // The error beside the status: when the rollback fails, it says why.
  expect(`${run.outputs.status} from ${run.outputs['previous-version']}: ${errorOf(run)}`).toMatch(
    /^rolled-back from s3: /
  )
  // Swarm rolls back on the first failed task. The action, whether it sees the failed task first
  // or Swarm's rollback under way, waits until Swarm is done (or, if Swarm's rollback never ends,
  // until healthcheck-timeout), then puts s3 back: it never interrupts Swarm's rollback at once.
  expect(errorOf(run)).toMatch(
    new RegExp(
      `vsw_app: Swarm rolled it back by itself to ${digestOf('s3')}|^version s4 is not healthy: not healthy after 60 s: .*vsw_app: Swarm is rolling its update back by itself`
    )
  )
  expect(errorOf(run)).toContain('Rolled back to s3')
  expect(storedVersionLines('s4')).toEqual([FORMS.double, FORMS.double])
  await expectEverywhere('s3')
  expect(history().slice(-2)).toEqual(['s4 failed', 's3 rollback'])
})

test("a deploy of version: '3', then a broken one without version rolled back to it on every node", async () => {
  const good = await runAction(swarmInputs('s5', { 'compose-file': composeFile('single') }))
  expect([good.code, good.outputs.status, errorOf(good)]).toEqual([0, 'success', ''])
  expect(storedVersionLines('s5')).toEqual([FORMS.single, FORMS.single])
  await expectEverywhere('s5')

  const run = await runAction(swarmInputs('s6', { ...broken, 'compose-file': composeFile('none') }))
  expect(`${run.outputs.status} from ${run.outputs['previous-version']}: ${errorOf(run)}`).toMatch(
    /^rolled-back from s5: /
  )
  expect(run.code).toBe(1)
  expect(errorOf(run)).toMatch(
    /^version s6 is not healthy: not healthy after 25 s: check "http:\/\/127\.0\.0\.1:18491\/health" failed \(last: HTTP 404/
  )
  expect(errorOf(run)).toContain('Rolled back to s5')
  expect(storedVersionLines('s6')).toEqual([FORMS.none, FORMS.none])
  await expectEverywhere('s5')
  expect(history().slice(-3)).toEqual(['s5 success', 's6 failed', 's5 rollback'])
})

test('command: rollback by name converges on every node, to each form: s1 ("3.8", even after its tag moved), s3 (none), s5 (\'3\')', async () => {
  // Move the registry's s1 tag to s5's image: a rollback by digest must not care.
  moveTag('vsw-app:s5', `${REGISTRY}/vsw-app:s1`)
  for (const version of ['s1', 's3', 's5']) {
    const run = await runAction({ ...swarmInputs(version), command: 'rollback', services: '' })
    expect([version, run.code, run.outputs.status, errorOf(run)]).toEqual([
      version,
      0,
      'success',
      ''
    ])
    await expectEverywhere(version)
    expect(specImages()).toEqual({ vsw_app: digestOf(version), vsw_migrate: digestOf(version) })
    expect(records().at(-1)).toMatchObject({ version, status: 'rollback' })
  }
})

test('status lists the services with replicas, the version each runs and the node of every task', async () => {
  const run = await runAction({ ...swarmInputs(''), command: 'status', services: '' })
  expect([run.code, run.outputs.status, run.outputs.healthy, errorOf(run)]).toEqual([
    0,
    'success',
    'true',
    ''
  ])
  // `vsw_app: 3/3 s5; vsw_app.1 running on host2; …`: one task on each node, by name.
  const line = run.log.split('\n').find(l => l.startsWith('vsw_app: ')) ?? ''
  expect(line).toMatch(/^vsw_app: 3\/3 s5; /)
  const tasks = line.replace(/^vsw_app: 3\/3 s5; /, '').split('; ')
  expect(tasks.map(t => t.replace(/^vsw_app\.[1-3] running on /, '')).sort()).toEqual(
    NODES.map(n => n.name)
  )
  expect(run.log).toContain(`stack files: ${DEPLOY_PATH}/.deploy/releases/s5/`)
  expect(run.log).toMatch(/vsw_migrate: 1\/1 s5; vsw_migrate\.1 complete on host[1-3]/)
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
  expect(await eventually(() => specImages().vsw_app === digestOf('s5'), 1000)).toBe(true)
})

test('a compose file whose version is a number (version: 3.8) is refused before anything is built or touched', async () => {
  const before = readStateFile(DEPLOY_PATH, 'versions.log')
  const file = composeFile('double').replace(/\.yml$/, '-number.yml')
  writeFileSync(
    file,
    readFileSync(composeFile('double'), 'utf8').replace(FORMS.double, 'version: 3.8')
  )
  const run = await runAction(swarmInputs('s9', { 'compose-file': file }))
  expect(run.code).toBe(1)
  expect(errorOf(run)).toContain('Input "compose-file"')
  expect(errorOf(run)).toContain("version: '3.8'")
  expect(hasImage(env.runnerDockerHost, 'vsw-app:s9')).toBe(false)
  expect(readStateFile(DEPLOY_PATH, 'versions.log')).toBe(before)
  expect(specImages().vsw_app).toBe(digestOf('s5'))
})
