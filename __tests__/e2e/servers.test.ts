// One deploy to several servers, end to end through the bundled action, on the lab's three
// hosts (each its own engine, sshd and /srv). The stack: `web` serves the version baked into its
// image; it refuses to be healthy where its host has a file `refuse-<version>` in
// /srv/vmulti-host (bind-mounted), which is how one host, and only one, makes a version fail.
// Tests run in order.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  docker,
  hostFetch,
  hostPath,
  nonEmpty,
  readStateFile,
  repoRoot,
  resetProject,
  type LabHost
} from './sandbox-env.js'
import { env, errorOf } from './stack.js'

const PROJECT = 'vmulti'
const DEPLOY_PATH = `/srv/${PROJECT}`
const MARKERS = `/srv/${PROJECT}-host`
/** Where the release command writes, on the host it runs on. */
const RELEASES = `/srv/${PROJECT}-releases`
const WS = `${env.dir}/ws-${PROJECT}`
const WEB = 18401
const HOSTS = env.hosts
const names = HOSTS.map(h => `127.0.0.1:${h.sshPort}`)

const DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG DEPLOY_VERSION
RUN echo "$DEPLOY_VERSION" > /version
`
const COMPOSE = `services:
  web:
    image: ${PROJECT}-web:\${DEPLOY_VERSION:-latest}
    ports: ['127.0.0.1:${WEB}:${WEB}']
    restart: unless-stopped
    # httpd ignores SIGTERM: without this, every switch would wait out the 10 s default.
    stop_grace_period: 1s
    volumes: ['${MARKERS}:/host:ro']
    command: [sh, -c, 'mkdir -p /www && cp /version /www/version && { [ -f /host/refuse-$$(cat /version) ] || echo ok > /www/health; } && exec httpd -f -p 0.0.0.0:${WEB} -h /www']
  migrate:
    image: ${PROJECT}-web:\${DEPLOY_VERSION:-latest}
    profiles: [release]
    volumes: ['${RELEASES}:/log']
    command: [sh, -c, 'echo "release $$(cat /version)" >> /log/release.log']
`

/** Inputs for the servers `hosts` (default: all three), each pinned by its own fingerprint line. */
function serversInputs(hosts: LabHost[] = HOSTS): Record<string, string> {
  return {
    host: hosts.map(h => `127.0.0.1:${h.sshPort}`).join('\n'),
    fingerprint: hosts.map(h => `127.0.0.1:${h.sshPort} ${h.fingerprint}`).join('\n')
  }
}

const RUN_ENV = { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'fee1deadaaaabbbbccccddddeeeeffff00001111' }

function inputs(overrides: Record<string, string>, hosts?: LabHost[]): Record<string, string> {
  return {
    project: PROJECT,
    services: 'web=web',
    ...serversInputs(hosts),
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8'),
    'deploy-path': DEPLOY_PATH,
    healthchecks: `http://127.0.0.1:${WEB}/health`,
    'healthcheck-interval': '1',
    'healthcheck-timeout': '8',
    'healthcheck-monitor': '1',
    'keep-versions': '10',
    ...overrides
  }
}

function run(overrides: Record<string, string>, hosts?: LabHost[]): Promise<ActionRun> {
  return runAction(inputs(overrides, hosts), RUN_ENV, { timeoutMs: 240_000 })
}

const current = (h: LabHost) => readStateFile(DEPLOY_PATH, 'current_version', h)?.trim() ?? ''
const currents = () => HOSTS.map(current)
const serving = async (h: LabHost) =>
  (await hostFetch(h, `http://127.0.0.1:${WEB}/version`)).body.trim()
const servingAll = () => Promise.all(HOSTS.map(serving))
/** Each server's versions.log as `status version`, oldest first. */
const records = (h: LabHost) =>
  nonEmpty(readStateFile(DEPLOY_PATH, 'versions.log', h) ?? '').map(l => {
    const r = JSON.parse(l) as { status: string; version: string }
    return `${r.status} ${r.version}`
  })
const containerIds = (h: LabHost) =>
  nonEmpty(
    docker(h.dockerHost, ['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])
  ).sort()
const hostsOutput = (r: ActionRun) =>
  (JSON.parse(r.outputs.hosts || '[]') as Record<string, unknown>[]).map(h => [
    h.host,
    h['previous-version'],
    h.version,
    h.status
  ])
const lockHeld = (h: LabHost) =>
  spawnSync('test', ['-e', hostPath(h, `${DEPLOY_PATH}/.deploy/lock`)]).status === 0

function sandbox(...args: string[]) {
  const r = spawnSync('bash', ['scripts/sandbox.sh', ...args], { cwd: repoRoot, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`sandbox.sh ${args.join(' ')}: ${r.stderr}`)
}

function reset() {
  for (const h of HOSTS) {
    resetProject(env, PROJECT, DEPLOY_PATH, h)
    for (const dir of [MARKERS, RELEASES]) {
      rmSync(hostPath(h, dir), { recursive: true, force: true })
      mkdirSync(hostPath(h, dir), { recursive: true })
    }
  }
  rmSync(WS, { recursive: true, force: true })
}

beforeAll(() => {
  expect(HOSTS.length).toBe(3)
  reset()
  mkdirSync(`${WS}/web/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${WS}/web/bin/busybox`)
  writeFileSync(`${WS}/web/Dockerfile`, DOCKERFILE)
  writeFileSync(`${WS}/docker-compose.yml`, COMPOSE)
})
afterAll(reset)

test('a deploy reaches every server: the first alone (the canary), then the others', async () => {
  const r = await run({ version: 'm1' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(currents()).toEqual(['m1', 'm1', 'm1'])
  expect(await servingAll()).toEqual(['m1', 'm1', 'm1'])
  for (const h of HOSTS) expect(records(h)).toEqual(['success m1'])
  expect(hostsOutput(r)).toEqual(names.map(n => [n, '', 'm1', 'success']))
  // The canary is verified before any other server switches.
  const [first = '', second = '', third = ''] = names
  const canaryVerified = r.log.indexOf(`[${first}] ▶ verify`)
  expect(canaryVerified).toBeGreaterThan(0)
  expect(r.log.indexOf(`[${first}] ▶ switch`)).toBeLessThan(canaryVerified)
  for (const other of [second, third]) {
    expect(r.log.indexOf(`[${other}] ▶ switch`)).toBeGreaterThan(canaryVerified)
  }
  expect(r.log).toContain(`canary: ${first} goes first, alone`)
  // Where people look: a row per server and the gantt chart of each one's phases.
  expect(r.summary).toContain('### Servers')
  expect(r.summary).toContain('```mermaid\ngantt')
  expect(r.summary).toContain(`section 127.0.0.1 port ${HOSTS[2]?.sshPort}`)
})

test('a version that fails on one server only: every server ends on the version it ran', async () => {
  const third = HOSTS[2] as LabHost
  writeFileSync(hostPath(third, `${MARKERS}/refuse-m2`), '')
  // One at a time after the canary: the third server is the last to switch.
  const r = await run({ version: 'm2', 'max-parallel': '1' })
  expect([r.code, r.outputs.status, r.outputs['rolled-back']]).toEqual([1, 'rolled-back', 'true'])
  expect(errorOf(r)).toContain(`${names[2]}: `)
  expect(errorOf(r)).toContain('Every server that was switched is back on the version it ran')
  expect(currents()).toEqual(['m1', 'm1', 'm1'])
  expect(await servingAll()).toEqual(['m1', 'm1', 'm1'])
  for (const h of HOSTS) expect(records(h)).toEqual(['success m1', 'failed m2', 'rollback m1'])
  expect(hostsOutput(r)).toEqual(names.map(n => [n, 'm1', 'm1', 'rolled-back']))
  // max-parallel 1: the second server was verified before the third switched.
  expect(r.log.indexOf(`[${names[1]}] ▶ verify`)).toBeLessThan(
    r.log.indexOf(`[${names[2]}] ▶ switch`)
  )
})

test('a server that cannot be reached fails the deploy before any server switched', async () => {
  const before = HOSTS.slice(0, 2).map(containerIds)
  sandbox('sshd', '3', 'stop')
  let r: ActionRun
  try {
    r = await run({ version: 'm3' })
  } finally {
    sandbox('sshd', '3', 'start')
  }
  expect([r.code, r.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(r)).toContain(
    `1 of 3 servers could not be reached, locked or inspected:\n${names[2]}: `
  )
  expect(errorOf(r)).toContain('No server was changed.')
  expect(r.log).not.toContain('▶ switch')
  expect(currents()).toEqual(['m1', 'm1', 'm1'])
  expect(HOSTS.slice(0, 2).map(containerIds)).toEqual(before)
  // The locks taken on the servers that answered were let go.
  expect(HOSTS.map(lockHeld)).toEqual([false, false, false])
  for (const h of HOSTS) expect(records(h)).toEqual(['success m1', 'failed m2', 'rollback m1'])
})

test('a rollback by name moves every server; status covers every server', async () => {
  const deployed = await run({ version: 'm3' })
  expect([deployed.code, deployed.outputs.status]).toEqual([0, 'success'])
  expect(await servingAll()).toEqual(['m3', 'm3', 'm3'])

  const rollback = (version: string) => run({ command: 'rollback', services: '', version })
  // m2 failed everywhere: refused before any change, naming each server.
  const refused = await rollback('m2')
  expect([refused.code, refused.outputs.status]).toEqual([1, 'failed'])
  expect(errorOf(refused)).toContain(
    'm2 cannot be restored on every server, so no server was changed:'
  )
  expect(currents()).toEqual(['m3', 'm3', 'm3'])

  const back = await rollback('m1')
  expect([back.code, back.outputs.status, errorOf(back)]).toEqual([0, 'success', ''])
  expect(currents()).toEqual(['m1', 'm1', 'm1'])
  expect(await servingAll()).toEqual(['m1', 'm1', 'm1'])
  for (const h of HOSTS) expect(records(h).slice(-1)).toEqual(['rollback m1'])
  expect(hostsOutput(back)).toEqual(names.map(n => [n, 'm3', 'm1', 'success']))

  const status = await run({ command: 'status', services: '' })
  expect([status.code, status.outputs.status, status.outputs.healthy]).toEqual([
    0,
    'success',
    'true'
  ])
  expect(hostsOutput(status)).toEqual(names.map(n => [n, '', 'm1', 'success']))
})

test('status fails when the servers run different versions, naming them', async () => {
  // The first server alone gets m4.
  const one = await run({ version: 'm4' }, [HOSTS[0] as LabHost])
  expect([one.code, one.outputs.status, one.outputs.hosts]).toEqual([0, 'success', ''])
  const status = await run({ command: 'status', services: '' })
  expect([status.code, status.outputs.healthy]).toEqual([1, 'false'])
  expect(errorOf(status)).toContain(
    `the servers run different versions: ${names[0]} m4, ${names[1]} m1, ${names[2]} m1`
  )
  const history = await run({ command: 'history', services: '' })
  expect(history.code).toBe(0)
  for (const n of names) expect(history.summary).toContain(`### History on ${n}`)
})

test('with the registry method every server pulls; the release command runs once, on the first', async () => {
  const r = await run({
    version: 'm5',
    method: 'registry',
    registry: `${env.registry}/${PROJECT}`,
    'release-command': 'migrate'
  })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(currents()).toEqual(['m5', 'm5', 'm5'])
  expect(await servingAll()).toEqual(['m5', 'm5', 'm5'])
  // Each server pulled the pushed digest itself (its own log line), and runs that very image.
  const pushed = (JSON.parse(r.outputs.history ?? '[]') as { images?: Record<string, string> }[])[0]
    ?.images?.web
  expect(pushed).toMatch(/@sha256:[0-9a-f]{64}$/)
  const built = docker(env.runnerDockerHost, [
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    `${PROJECT}-web:m5`
  ]).trim()
  for (const [i, h] of HOSTS.entries()) {
    expect(r.log).toContain(`[${names[i]}] ${pushed} → ${PROJECT}-web:m5`)
    expect(
      docker(h.dockerHost, ['image', 'inspect', '--format', '{{.Id}}', `${PROJECT}-web:m5`]).trim()
    ).toBe(built)
  }
  const released = HOSTS.map(h => {
    const file = hostPath(h, `${RELEASES}/release.log`)
    return spawnSync('cat', [file], { encoding: 'utf8' }).stdout.trim()
  })
  expect(released).toEqual(['release m5', '', ''])
})

test('a job cancelled mid-switch: the post step puts back the servers it had switched, and lets go of every lock', async () => {
  const [first = '', second = ''] = names
  const third = HOSTS[2] as LabHost
  const thirdRecords = records(third)
  // One at a time after the canary: killed while the second server is verified.
  const main = await runAction(inputs({ version: 'm6', 'max-parallel': '1' }), RUN_ENV, {
    timeoutMs: 240_000,
    killWhen: log => log.includes(`[${second}] ▶ verify`)
  })
  expect(main.code).not.toBe(0)
  expect(Object.keys(JSON.parse(main.state.lock ?? '{}') as object).sort()).toEqual(
    [...names].sort()
  )
  const switching = JSON.parse(main.state.switching ?? '{}') as { servers?: object }
  expect(Object.keys(switching.servers ?? {})).toEqual([first, second])
  expect(HOSTS.map(lockHeld)).toEqual([true, true, true])

  const post = await runAction(inputs({ version: 'm6' }), RUN_ENV, { state: main.state })
  expect([post.code, errorOf(post)]).toEqual([0, ''])
  expect(post.log).toContain(`[${first}] the deploy of m6 was interrupted before it was verified`)
  expect(post.log).toContain(`[${second}] the deploy of m6 was interrupted before it was verified`)
  expect(currents()).toEqual(['m5', 'm5', 'm5'])
  expect(await servingAll()).toEqual(['m5', 'm5', 'm5'])
  expect(HOSTS.map(lockHeld)).toEqual([false, false, false])
  for (const h of HOSTS.slice(0, 2))
    expect(records(h).slice(-2)).toEqual(['failed m6', 'rollback m5'])
  // The third server never switched: the post step left it alone.
  expect(records(third)).toEqual(thirdRecords)
})

// A `cmd:` check that, on the one host holding the marker, drops the SSH connection it runs in
// (it kills the first sshd above its own shell: that connection's session process, no other)
// and, when the marker names a pid file, first stops that host's sshd itself.
const DROP = `${MARKERS}/drop-ssh`
const DROP_CHECK = `cmd: if [ -e ${DROP} ]; then x=$(cat ${DROP}); rm -f ${DROP}; if [ -n "$x" ]; then kill $(cat "$x"); fi; p=$$; while [ "$p" -gt 1 ]; do case "$(cat /proc/$p/comm)" in sshd*) kill $p; break;; esac; p=$(cut -d" " -f4 /proc/$p/stat); done; fi; true`
const dropping = (version: string) =>
  inputs({
    version,
    'max-parallel': '1',
    healthchecks: `http://127.0.0.1:${WEB}/health\n${DROP_CHECK}`
  })

test('a connection lost during a server verify: it counts as failed, is connected again and put back with the others', async () => {
  const [first = '', second = '', third = ''] = names
  const thirdRecords = records(HOSTS[2] as LabHost)
  writeFileSync(hostPath(HOSTS[1] as LabHost, DROP), '')
  const r = await runAction(dropping('m7'), RUN_ENV, { timeoutMs: 240_000 })
  expect([r.code, r.outputs.status]).toEqual([1, 'rolled-back'])
  expect(r.log).toContain(`[${second}] the connection to the server was lost`)
  expect(r.log).toContain(`[${second}] connected again; the deploy lock is still this run's`)
  expect(currents()).toEqual(['m5', 'm5', 'm5'])
  expect(await servingAll()).toEqual(['m5', 'm5', 'm5'])
  expect(hostsOutput(r)).toEqual([
    [first, 'm5', 'm5', 'rolled-back'],
    [second, 'm5', 'm5', 'rolled-back'],
    [third, 'm5', 'm5', 'not-switched']
  ])
  for (const h of HOSTS.slice(0, 2)) {
    expect(records(h).slice(-2)).toEqual(['failed m7', 'rollback m5'])
  }
  expect(records(HOSTS[2] as LabHost)).toEqual([...thirdRecords, 'failed m7'])
  expect(HOSTS.map(lockHeld)).toEqual([false, false, false])
})

test('a server that cannot be reached again: the job fails, the others are back, hosts names it unknown, and the post step puts it back', async () => {
  const [first = '', second = '', third = ''] = names
  const host2 = HOSTS[1] as LabHost
  writeFileSync(hostPath(host2, DROP), `${host2.dir}/ssh/sshd.pid`)
  let main: ActionRun
  try {
    main = await runAction(dropping('m8'), RUN_ENV, { timeoutMs: 240_000 })
  } finally {
    sandbox('sshd', '2', 'start')
  }
  expect([main.code, main.outputs.status]).toEqual([1, 'rollback-failed'])
  expect(errorOf(main)).toContain(
    `${second}: the connection was lost and could not be made again (3 tries)`
  )
  expect(hostsOutput(main)).toEqual([
    [first, 'm5', 'm5', 'rolled-back'],
    [second, 'm5', 'm8', 'unknown'],
    [third, 'm5', 'm5', 'not-switched']
  ])
  expect(await serving(HOSTS[0] as LabHost)).toBe('m5')
  expect(await serving(host2)).toBe('m8')
  // What the post step needs: the unknown server's switch and its lock.
  const switching = JSON.parse(main.state.switching ?? '{}') as { servers?: object }
  expect(Object.keys(switching.servers ?? {})).toEqual([second])
  expect(Object.keys(JSON.parse(main.state.lock ?? '{}') as object)).toEqual([second])

  // status says that server needs attention: its containers run other images than m5's.
  const status = await run({ command: 'status', services: '' })
  expect([status.code, status.outputs.healthy]).toEqual([1, 'false'])
  expect(errorOf(status)).toContain(second)

  const post = await runAction(dropping('m8'), RUN_ENV, { state: main.state })
  expect([post.code, errorOf(post)]).toEqual([0, ''])
  expect(post.log).toContain(`[${second}] the deploy of m8 was interrupted before it was verified`)
  expect(currents()).toEqual(['m5', 'm5', 'm5'])
  expect(await servingAll()).toEqual(['m5', 'm5', 'm5'])
  expect(records(host2).slice(-2)).toEqual(['failed m8', 'rollback m5'])
  expect(HOSTS.map(lockHeld)).toEqual([false, false, false])
})
