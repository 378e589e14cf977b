// Release files (the `files` input), end to end through the bundled action, as the sandbox's
// non-root `deploy` user on lab host 1: a web service serves a folder bind-mounted from the
// repository (`./site`, beside the compose file in `deploy/`) and a greeting from the server's own
// `.env` (in the deploy path on the host). The workspace is made by the test on this machine (the
// runner), so each version can change its files. Tests run in order.

import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { hostPath, resetProject } from './sandbox-env.js'
import { HOST, asDeployUser, env, errorOf, giveTo, httpGet, runner } from './stack.js'

const PROJECT = 'vfiles'
/** The deploy path on the server (lab host 1), and where that folder is on this machine. */
const DEPLOY_PATH = `/srv/${PROJECT}`
const DEPLOY_DIR = hostPath(HOST, DEPLOY_PATH)
/** The release folders as the server (and so the action's log) names them, and on this machine. */
const RELEASES = `${DEPLOY_PATH}/.deploy/releases`
const RELEASES_DIR = hostPath(HOST, RELEASES)
const WS = `${env.dir}/ws-${PROJECT}`
const PORT = 18291
/** The server's own .env, as the server names it (the target of each release's link). */
const SERVER_ENV = `${DEPLOY_PATH}/.env`

const DOCKERFILE = `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh", "-c", "printf '%s' \\"$GREETING\\" > /www-greeting && mkdir -p /www && cp /www-greeting /www/greeting && exec httpd -f -p 0.0.0.0:${PORT} -h /www"]
`
// Relative paths resolve against the compose file's folder, as on the runner. The port is
// published on the server's loopback only, where the action's checks reach it.
const COMPOSE = `services:
  web:
    image: ${PROJECT}-web:\${DEPLOY_VERSION:-latest}
    ports: ['127.0.0.1:${PORT}:${PORT}']
    restart: unless-stopped
    environment:
      GREETING: \${GREETING:-no .env}
    volumes:
      - ./site:/www/site:ro
`

/** The repository as a version has it: the served text, and whether the health file exists. */
function writeSite(message: string, healthy: boolean) {
  writeFileSync(`${WS}/deploy/site/message.txt`, `${message}\n`)
  if (healthy) writeFileSync(`${WS}/deploy/site/health`, 'ok\n')
  else rmSync(`${WS}/deploy/site/health`, { force: true })
}

function writeServerEnv(greeting: string) {
  const file = hostPath(HOST, SERVER_ENV)
  writeFileSync(file, `GREETING=${greeting}\n`, { mode: 0o600 })
  chown(file)
}

const chown = (file: string) => giveTo(env.deployUser, file)

function run(overrides: Record<string, string>): Promise<ActionRun> {
  return runAction(
    {
      project: PROJECT,
      services: 'web=app',
      'compose-file': 'deploy/docker-compose.yml',
      files: 'deploy/site',
      host: env.sshHost,
      port: String(HOST.sshPort),
      fingerprint: HOST.fingerprint,
      ...asDeployUser(),
      'deploy-path': DEPLOY_PATH,
      healthchecks: `http://127.0.0.1:${PORT}/site/health`,
      'healthcheck-interval': '1',
      'healthcheck-timeout': '8',
      'healthcheck-monitor': '1',
      ...overrides
    },
    { GITHUB_WORKSPACE: WS, GITHUB_SHA: 'f11e5000aaaabbbbccccddddeeeeffff00001111' },
    { timeoutMs: 180_000 }
  )
}

const served = async () => (await httpGet(`http://127.0.0.1:${PORT}/site/message.txt`)).body
const greeting = async () => (await httpGet(`http://127.0.0.1:${PORT}/greeting`)).body

function reset() {
  resetProject(env, PROJECT, DEPLOY_PATH, HOST)
  rmSync(WS, { recursive: true, force: true })
}

beforeAll(() => {
  reset()
  mkdirSync(`${WS}/app/bin`, { recursive: true })
  mkdirSync(`${WS}/deploy/site`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${WS}/app/bin/busybox`)
  writeFileSync(`${WS}/app/Dockerfile`, DOCKERFILE)
  writeFileSync(`${WS}/deploy/docker-compose.yml`, COMPOSE)
  // The deploy path belongs to the deploy user; its .env (secrets) never leaves the server.
  mkdirSync(DEPLOY_DIR, { recursive: true })
  chown(DEPLOY_DIR)
  writeServerEnv('hello from the server')
})
afterAll(reset)

test("v1 serves its file, from its own release folder, with the server's .env", async () => {
  writeSite('first text', true)
  const r = await run({ version: 'f1' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await served()).toBe('first text')
  expect(await greeting()).toBe('hello from the server')
  // The files landed with their workspace paths; the project directory links the server's .env.
  expect(readFileSync(`${RELEASES_DIR}/f1/deploy/site/message.txt`, 'utf8')).toBe('first text\n')
  expect(lstatSync(`${RELEASES_DIR}/f1/deploy/.env`).isSymbolicLink()).toBe(true)
  expect(readlinkSync(`${RELEASES_DIR}/f1/deploy/.env`)).toBe(SERVER_ENV)
  expect(lstatSync(`${RELEASES_DIR}/f1/deploy/site/message.txt`).uid).not.toBe(0)
  expect(r.log).toContain(`sent 2 files, 14 B to ${RELEASES}/f1`)
  expect(r.summary).toMatch(/\| Files \|/)
  expect(r.summary).toContain('| 2 files, 14 B |')
  expect(JSON.parse(r.outputs.history ?? '[]')[0]).toMatchObject({
    version: 'f1',
    files: { count: 2, bytes: 14, dir: 'deploy' }
  })
})

test('v2 changes the file and breaks its check: the rollback brings the first text back', async () => {
  writeSite('second text', false)
  const r = await run({ version: 'f2' })
  expect(r.code).toBe(1)
  expect([r.outputs.status, r.outputs.version, r.outputs['previous-version']]).toEqual([
    'rolled-back',
    'f2',
    'f1'
  ])
  expect(readFileSync(`${RELEASES_DIR}/f2/deploy/site/message.txt`, 'utf8')).toBe('second text\n')
  expect(await served()).toBe('first text')
  expect(await greeting()).toBe('hello from the server')
})

test('v3 with a third text succeeds; the server .env is read afresh, never copied', async () => {
  writeSite('third text', true)
  writeServerEnv('a new secret')
  const r = await run({ version: 'f3', 'keep-versions': '2' })
  expect([r.code, r.outputs.status, errorOf(r)]).toEqual([0, 'success', ''])
  expect(await served()).toBe('third text')
  expect(await greeting()).toBe('a new secret')
  // Pruning: the failed f2 goes with its files; f1 (the rollback target) and f3 stay.
  expect(['f1', 'f2', 'f3'].map(v => existsSync(`${RELEASES_DIR}/${v}`))).toEqual([
    true,
    false,
    true
  ])
  expect(r.summary).toMatch(/\| ✔ \| `f3` \|.*\| 2 files, 14 B \|/)
})

test('command: rollback to v1 serves the first text with the current .env; status shows the folder', async () => {
  const r = await run({ command: 'rollback', version: 'f1', services: '' })
  expect([r.code, r.outputs.status, r.outputs.version, errorOf(r)]).toEqual([
    0,
    'success',
    'f1',
    ''
  ])
  expect(await served()).toBe('first text')
  expect(await greeting()).toBe('a new secret')

  const s = await run({ command: 'status', services: '' })
  expect([s.code, s.outputs.status, s.outputs.version]).toEqual([0, 'success', 'f1'])
  expect(s.log).toContain(
    `compose project directory: ${RELEASES}/f1/deploy (the release's own folder: 2 files, 14 B)`
  )
  expect(s.summary).toContain(`| \`${RELEASES}/f1/deploy\` |`)
  const h = await run({ command: 'history', services: '' })
  expect(h.log).toMatch(/↩ f1 - \S+ \(via rollback\) \[2 files, 14 B\]/)
})

test('a files entry with ".." is refused before any build, and the server is untouched', async () => {
  const before = readFileSync(`${DEPLOY_DIR}/.deploy/versions.log`, 'utf8')
  const r = await run({ version: 'f4', files: 'deploy/site\n../outside' })
  expect(r.code).toBe(1)
  expect(errorOf(r)).toContain(
    'Input "files": "../outside" contains "..": every path must stay inside the workspace'
  )
  expect(r.log).not.toContain('::group::build')
  expect(runner(['image', 'ls', '-q', `${PROJECT}-web:f4`]).trim()).toBe('')
  expect(readFileSync(`${DEPLOY_DIR}/.deploy/versions.log`, 'utf8')).toBe(before)
  expect(existsSync(`${RELEASES_DIR}/f4`)).toBe(false)
  expect(await served()).toBe('first text')
})

describe('pruning release folders that a container wrote into as root (issue 30, point 4)', () => {
  // The app bind-mounts `./data` from its release folder (compose's project directory) and
  // makes a folder of its own there as root, as a database does (`data` itself is the deploy
  // user's: compose made it; what the root-owned `db` holds only root can delete). The non-root deploy user
  // cannot delete what it wrote; pruning must neither fail the deploy nor leave the folders.
  const ROOTY = 'vrooty'
  const ROOTY_PATH = `/srv/${ROOTY}`
  const ROOTY_RELEASES = hostPath(HOST, `${ROOTY_PATH}/.deploy/releases`)
  const ROOTY_WS = `${env.dir}/ws-${ROOTY}`
  const ROOTY_PORT = 18292
  const resetRooty = () => {
    resetProject(env, ROOTY, ROOTY_PATH, HOST)
    rmSync(ROOTY_WS, { recursive: true, force: true })
  }
  beforeAll(() => {
    resetRooty()
    mkdirSync(`${ROOTY_WS}/app/bin`, { recursive: true })
    mkdirSync(`${ROOTY_WS}/deploy/conf`, { recursive: true })
    copyFileSync('examples/stack/bin/busybox', `${ROOTY_WS}/app/bin/busybox`)
    writeFileSync(
      `${ROOTY_WS}/app/Dockerfile`,
      `FROM scratch
COPY bin/busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["sh", "-c", "mkdir -p /data/db && date > /data/db/written-as-root && mkdir -p /www && echo ok > /www/health && exec httpd -f -p 0.0.0.0:${ROOTY_PORT} -h /www"]
`
    )
    writeFileSync(
      `${ROOTY_WS}/deploy/docker-compose.yml`,
      `services:
  web:
    image: ${ROOTY}-web:\${DEPLOY_VERSION:-latest}
    ports: ['127.0.0.1:${ROOTY_PORT}:${ROOTY_PORT}']
    volumes:
      - ./data:/data
`
    )
    // A secret-like file: its 0600 travels with it.
    writeFileSync(`${ROOTY_WS}/deploy/conf/app.conf`, 'x=1\n', { mode: 0o600 })
    mkdirSync(hostPath(HOST, ROOTY_PATH), { recursive: true })
    chown(hostPath(HOST, ROOTY_PATH))
  })
  afterAll(resetRooty)

  test("five deploys with keep-versions 2: each succeeds, a 0600 file stays 0600 and the deploy user's, the pruned folders are gone", async () => {
    const deployUid = lstatSync(hostPath(HOST, ROOTY_PATH)).uid
    let engine = 0
    for (const version of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      const r = await runAction(
        {
          project: ROOTY,
          services: 'web=app',
          'compose-file': 'deploy/docker-compose.yml',
          files: 'deploy/conf',
          host: env.sshHost,
          port: String(HOST.sshPort),
          fingerprint: HOST.fingerprint,
          ...asDeployUser(),
          'deploy-path': ROOTY_PATH,
          healthchecks: `http://127.0.0.1:${ROOTY_PORT}/health`,
          'healthcheck-interval': '1',
          'healthcheck-timeout': '8',
          'healthcheck-monitor': '0',
          // A release folder goes once no tag of its version is kept: its backup goes with the
          // version's last success record, so the history is kept short too.
          'keep-versions': '2',
          'keep-history': '2',
          version
        },
        { GITHUB_WORKSPACE: ROOTY_WS, GITHUB_SHA: 'f11e5000aaaabbbbccccddddeeeeffff00002222' },
        { timeoutMs: 180_000 }
      )
      expect([version, r.code, r.outputs.status, errorOf(r)]).toEqual([version, 0, 'success', ''])
      // What the container wrote belongs to root, in the release folder the deploy user owns.
      const written = `${ROOTY_RELEASES}/${version}/deploy/data/db/written-as-root`
      expect([version, lstatSync(written).uid]).toEqual([version, 0])
      expect(r.log).not.toContain('could not remove the release folders')
      const conf = lstatSync(`${ROOTY_RELEASES}/${version}/deploy/conf/app.conf`)
      expect([version, conf.mode & 0o777, conf.uid]).toEqual([version, 0o600, deployUid])
      if (r.log.includes('through the engine (they held files written as root)')) engine++
    }
    // Every prune met a folder the deploy user could not remove, and the engine removed it.
    expect(engine).toBeGreaterThanOrEqual(2)
    expect(['p1', 'p2', 'p3', 'p4', 'p5'].map(v => existsSync(`${ROOTY_RELEASES}/${v}`))).toEqual([
      false,
      false,
      false,
      true,
      true
    ])
  })
})
