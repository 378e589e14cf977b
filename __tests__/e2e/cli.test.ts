// The command line, through the bundled file (dist/cli.js) on Node 24, against the sandbox's
// lab host 1: a deploy whose options come from versioned-deploy.yml, one whose options come from
// the environment (with --json), a broken deploy (exit 3), rollback with and without a
// version, status, history, --help and bad usage (exit 2, nothing sent). Standard input is not
// a terminal, so nothing asks for confirmation. Tests run in order.

import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ACTION_NODE, REPO_ROOT } from '../../scripts/run-action.mjs'
import { firstHost, readStateFile, resetProject, sandboxEnv } from './sandbox-env.js'
import { httpGet } from './stack.js'

const env = sandboxEnv()
/** The server: lab host 1 (httpGet asks its own loopback, readStateFile reads its /srv). */
const HOST = firstHost(env)
const PROJECT = 'vcli'
/** On the server. */
const DEPLOY_PATH = `/srv/${PROJECT}`
const PORTS = [18381, 18382, 18383]
const COMPOSE = path.join(REPO_ROOT, '__tests__/e2e/fixtures/cli/docker-compose.yml')
const SERVICES = ['api', 'web', 'db'].map(
  s => `${s}=${path.join(REPO_ROOT, 'examples/stack')}:${s}.Dockerfile`
)
const HEALTHCHECKS = [
  `http://127.0.0.1:${PORTS[0]}/health`,
  `http://127.0.0.1:${PORTS[1]}/health`,
  `tcp://127.0.0.1:${PORTS[2]}`
]
const KEY_LINES = readFileSync(env.sshKey, 'utf8')
  .split('\n')
  .filter(l => l.length >= 8 && !l.startsWith('-----'))

/** The options of every run, as VERSIONED_DEPLOY_* variables. */
const OPTIONS_ENV: Record<string, string> = {
  VERSIONED_DEPLOY_PROJECT: PROJECT,
  VERSIONED_DEPLOY_SERVICES: SERVICES.join('\n'),
  VERSIONED_DEPLOY_COMPOSE_FILE: COMPOSE,
  VERSIONED_DEPLOY_HOST: env.sshHost,
  VERSIONED_DEPLOY_PORT: String(HOST.sshPort),
  VERSIONED_DEPLOY_USERNAME: env.sshUser,
  VERSIONED_DEPLOY_KEY_FILE: env.sshKey,
  VERSIONED_DEPLOY_FINGERPRINT: HOST.fingerprint,
  VERSIONED_DEPLOY_DEPLOY_PATH: DEPLOY_PATH,
  VERSIONED_DEPLOY_HEALTHCHECKS: HEALTHCHECKS.join('\n'),
  VERSIONED_DEPLOY_HEALTHCHECK_INTERVAL: '1',
  VERSIONED_DEPLOY_HEALTHCHECK_TIMEOUT: '40',
  VERSIONED_DEPLOY_HEALTHCHECK_MONITOR: '2',
  // The sandbox's runner engine has no bridge network.
  VERSIONED_DEPLOY_BUILD_NETWORK: 'host'
}

interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs `node dist/cli.js args` in `cwd` with only PATH, HOME and `extraEnv`; stdin is not a terminal. */
function cli(
  args: string[],
  extraEnv: Record<string, string> = OPTIONS_ENV,
  cwd = REPO_ROOT
): Promise<CliRun> {
  const child = spawn(ACTION_NODE, [path.join(REPO_ROOT, 'dist', 'cli.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => (stdout += d.toString()))
  child.stderr.on('data', d => (stderr += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
  return new Promise(resolve =>
    child.on('close', code => {
      clearTimeout(timer)
      const run = { code: code ?? 128, stdout, stderr }
      // Whatever it printed, no line of the key is in it.
      for (const line of KEY_LINES) expect(stdout + stderr).not.toContain(line)
      resolve(run)
    })
  )
}

const served = async () => (await httpGet(`http://127.0.0.1:${PORTS[0]}/version`)).body
const current = () => readStateFile(DEPLOY_PATH, 'current_version', HOST)?.trim()
const historyRows = (stdout: string) =>
  stdout
    .split('\n')
    .filter(l => /^[✔✖↩] {2}k/.test(l))
    .map(l =>
      l
        .split(/\s{2,}/)
        .slice(0, 3)
        .join(' ')
    )

function reset() {
  resetProject(env, PROJECT, DEPLOY_PATH, HOST)
}
beforeAll(reset)
afterAll(reset)

test('a deploy with its options from versioned-deploy.yml (key-file included): 0, phases and tables', async () => {
  // Another working directory, with the config file in it and nothing in the environment.
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-cli-'))
  writeFileSync(
    path.join(dir, 'versioned-deploy.yml'),
    [
      `project: ${PROJECT}`,
      'services:',
      ...SERVICES.map(s => `  - ${s}`),
      `compose-file: ${COMPOSE}`,
      `host: ${env.sshHost}`,
      `port: ${HOST.sshPort}`,
      `username: ${env.sshUser}`,
      `key-file: ${env.sshKey}`,
      `fingerprint: ${HOST.fingerprint}`,
      `deploy-path: ${DEPLOY_PATH}`,
      'healthchecks: |',
      ...HEALTHCHECKS.map(h => `  ${h}`),
      'healthcheck-interval: 1',
      'healthcheck-timeout: 40',
      'healthcheck-monitor: 2',
      // The sandbox's runner engine has no bridge network.
      'build-network: host',
      ''
    ].join('\n')
  )
  const run = await cli(['deploy', '--version', 'k1'], {}, dir)
  expect([run.code, run.stderr]).toEqual([0, ''])
  // The first deploy: nothing runs yet, so nothing to back up.
  const phases = ['validate', 'build', 'connect', 'lock', 'inspect server', 'transfer', 'switch']
  for (const phase of [...phases, 'verify', 'record', 'prune']) {
    expect(run.stdout).toMatch(new RegExp(`^▸ ${phase}$`, 'm'))
  }
  expect(run.stdout).toMatch(/\n✔ Deployed: k1\n═+\n/)
  expect(run.stdout).toMatch(/^success {2}k1 {7}— /m)
  expect(run.stdout).toMatch(/^✔ {2}settle window: 2 s \(healthcheck-monitor\) {2}\d+ /m)
  expect(historyRows(run.stdout)).toEqual(['✔ k1 success'])
  expect(await served()).toBe('k1')
  expect(current()).toBe('k1')
})

test('a deploy with its options from the environment, --json: the outputs on stdout', async () => {
  const run = await cli(['deploy', '--version', 'k2', '--json'])
  expect(run.code).toBe(0)
  expect(JSON.parse(run.stdout)).toMatchObject({
    status: 'success',
    version: 'k2',
    'previous-version': 'k1',
    'rolled-back': 'false',
    method: 'tar'
  })
  // The log went to stderr.
  expect(run.stderr).toMatch(/^▸ backup$/m)
  expect(run.stderr).toMatch(/^▸ transfer$/m)
  expect(await served()).toBe('k2')
})

test('a broken deploy: 3, and the previous version serves again', async () => {
  const run = await cli(['deploy', '--version', 'k3-broken', '--build-args', 'VARIANT=broken'])
  expect(run.code).toBe(3)
  expect(run.stdout).toMatch(/\n↩ Deploy failed, rolled back: k3-broken\n/)
  expect(run.stdout).toMatch(/^rolled-back {2}k3-broken {2}k2 /m)
  expect(run.stdout).toContain('Health checks after rollback')
  expect(await served()).toBe('k2')
  expect(current()).toBe('k2')
})

test('rollback without a version: the previous good one (k1)', async () => {
  const run = await cli(['rollback'])
  expect([run.code, run.stderr]).toEqual([0, ''])
  expect(run.stdout).toMatch(/\n↩ Rolled back to k1\n/)
  expect(await served()).toBe('k1')
})

test('rollback to a version by name (k2)', async () => {
  const run = await cli(['rollback', 'k2'])
  expect([run.code, run.stderr]).toEqual([0, ''])
  expect(run.stdout).toMatch(/\n↩ Rolled back to k2\n/)
  expect(await served()).toBe('k2')
  expect(current()).toBe('k2')
})

test('status: the version in service, its containers, the checks', async () => {
  const run = await cli(['status'])
  expect([run.code, run.stderr]).toEqual([0, ''])
  expect(run.stdout).toMatch(/\n✔ Status: k2 is healthy\n/)
  expect(run.stdout).toMatch(/^vcli-api-1 +running +healthy +vcli-api:k2 +0$/m)
  expect(run.stdout).toMatch(/^✔ {2}http:\/\/127\.0\.0\.1:18381\/health +1 +HTTP 200/m)
})

test('history: the records, newest first, and what can be restored', async () => {
  const run = await cli(['history'])
  expect([run.code, run.stderr]).toEqual([0, ''])
  expect(historyRows(run.stdout)).toEqual([
    '↩ k2 rollback',
    '↩ k1 rollback',
    '↩ k2 rollback',
    '✖ k3-broken failed',
    '✔ k2 success',
    '✔ k1 success'
  ])
  expect(run.stdout).toMatch(/Restorable versions\n- k1\n/)
})

describe('bad usage: 2, what is wrong and what is allowed, nothing sent', () => {
  const snapshot = () => ({
    current: current(),
    log: readStateFile(DEPLOY_PATH, 'versions.log', HOST),
    lock: readStateFile(DEPLOY_PATH, 'lock/info', HOST)
  })

  test('--help', async () => {
    const run = await cli(['deploy', '--help'])
    expect([run.code, run.stderr]).toEqual([0, ''])
    expect(run.stdout).toMatch(/^ {2}--key-file PATH +read the SSH private key from PATH/m)
  })

  test('a bad flag, a missing required option, an unknown config option', async () => {
    const before = snapshot()
    const flag = await cli(['deploy', '--version', 'k9', '--skip-healthchecks'])
    expect([flag.code, flag.stdout]).toEqual([2, ''])
    expect(flag.stderr).toMatch(
      /^versioned-deploy: unknown option --skip-healthchecks \(did you mean --skip-healthcheck\?\)\. Valid options:\n {2}--method --orchestrator --compression --version/
    )
    const noHost = { ...OPTIONS_ENV }
    delete noHost.VERSIONED_DEPLOY_HOST
    const missing = await cli(['status'], noHost)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--host: is required/)
    const dir = mkdtempSync(path.join(tmpdir(), 'vd-cli-'))
    writeFileSync(path.join(dir, 'vd.yml'), 'hostname: x\n')
    const config = await cli(['deploy', '--config', 'vd.yml'], OPTIONS_ENV, dir)
    expect(config.code).toBe(2)
    expect(config.stderr).toMatch(/vd\.yml: "hostname" is not an option\. Options: method, /)
    expect(snapshot()).toEqual(before)
  })
})
