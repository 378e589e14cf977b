// method local: the same phases on the runner's own Docker engine, no SSH and no transfer. The
// stack runs on the runner engine (never on the server engine, lab host 1's) on its own ports.
// The runner engine has no bridge network, so the stack is on the host network: this machine's
// own loopback, 127.0.0.1 only, where the action's checks and this test reach it. Its state
// lives under a deploy path on this machine. Tests run in order.

import { spawnSync } from 'node:child_process'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { exampleStackInputs } from '../../scripts/sandbox-env.mjs'
import {
  clearProject,
  docker,
  firstHost,
  nonEmpty,
  readStateFile,
  sandboxEnv
} from './sandbox-env.js'
import { existsSync, rmSync } from 'node:fs'

const env = sandboxEnv()
/** The server of the SSH suites, which a local deploy must leave alone. */
const SERVER = firstHost(env)
const PROJECT = 'vlocal'
const DEPLOY_PATH = `${env.dir}/deploy-local/${PROJECT}`
const PORTS = [18281, 18282, 18283]
const FIXTURE = '__tests__/e2e/fixtures/local'

function localInputs(version: string, overrides: Record<string, string> = {}) {
  const inputs: Record<string, string> = {
    ...exampleStackInputs(env, {
      project: PROJECT,
      composeFile: `${FIXTURE}/docker-compose.yml`,
      deployPath: DEPLOY_PATH,
      healthchecks: `http://127.0.0.1:${PORTS[0]}/health\nhttp://127.0.0.1:${PORTS[1]}/health\ntcp://127.0.0.1:${PORTS[2]}`
    }),
    method: 'local',
    version,
    'healthcheck-timeout': '40',
    'healthcheck-monitor': '2',
    ...overrides
  }
  // No server: no host, key or fingerprint.
  for (const name of ['host', 'port', 'username', 'key', 'fingerprint']) delete inputs[name]
  return inputs
}

const errorOf = (run: ActionRun) => run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
const containersOn = (host: string) =>
  nonEmpty(
    docker(host, [
      'ps',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--format',
      '{{.Image}}'
    ])
  ).sort()

/** The local address of each socket listening on one of the stack's ports on this machine. */
function listeners(): string[] {
  const ports = PORTS.map(p => `sport = :${p}`).join(' or ')
  const r = spawnSync('ss', ['-Hltn', `( ${ports} )`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`)
  return nonEmpty(r.stdout)
    .map(l => l.split(/\s+/)[3] ?? l)
    .sort()
}

async function served(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${PORTS[0]}/version`, {
    signal: AbortSignal.timeout(3000)
  }).catch(() => undefined)
  return res ? (await res.text()).trim() : ''
}

function reset() {
  clearProject(env.runnerDockerHost, PROJECT)
  rmSync(DEPLOY_PATH, { recursive: true, force: true })
}
beforeAll(reset)
afterAll(reset)

test('a local deploy runs on the runner engine, checked locally, with no SSH and no transfer', async () => {
  // With files: copied into the release folder, which compose then runs in.
  const run = await runAction(localInputs('lo1', { files: FIXTURE }))
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  const folder = `${DEPLOY_PATH}/.deploy/releases/lo1/${FIXTURE}`
  expect(existsSync(`${folder}/docker-compose.yml`)).toBe(true)
  expect(
    nonEmpty(
      docker(env.runnerDockerHost, [
        'ps',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--format',
        '{{.Label "com.docker.compose.project.working_dir"}}'
      ])
    )
  ).toEqual([folder, folder, folder])
  expect(run.outputs.method).toBe('local')
  expect(containersOn(env.runnerDockerHost)).toEqual(
    ['api', 'db', 'web'].map(s => `${PROJECT}-${s}:lo1`)
  )
  expect(containersOn(SERVER.dockerHost)).toEqual([])
  expect(await served()).toBe('lo1')
  // In this machine's own network namespace: on its loopback only.
  expect(listeners()).toEqual(PORTS.map(p => `127.0.0.1:${p}`))
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('lo1\n')
  expect(readStateFile(DEPLOY_PATH, 'current_method')).toBe('local\n')
  expect(run.log).not.toContain('::group::transfer')
  expect(run.summary).toMatch(/\| ✔ \| settle window: 2 s/)
})

test('a broken local version is rolled back on its own', async () => {
  const run = await runAction(localInputs('lo2-broken', { 'build-args': 'VARIANT=broken' }))
  expect(run.code).toBe(1)
  expect(run.outputs).toMatchObject({ status: 'rolled-back', 'previous-version': 'lo1' })
  expect(errorOf(run)).toContain('Rolled back to lo1')
  expect(await served()).toBe('lo1')
  expect(readStateFile(DEPLOY_PATH, 'current_version')).toBe('lo1\n')
})

test('command rollback on the local engine', async () => {
  const good = await runAction(localInputs('lo3'))
  expect([good.code, good.outputs.status]).toEqual([0, 'success'])
  expect(await served()).toBe('lo3')
  const run = await runAction({ ...localInputs(''), command: 'rollback', services: '' })
  expect([run.code, run.outputs.status, run.outputs.version, errorOf(run)]).toEqual([
    0,
    'success',
    'lo1',
    ''
  ])
  expect(await served()).toBe('lo1')
  expect(containersOn(env.runnerDockerHost)).toEqual(
    ['api', 'db', 'web'].map(s => `${PROJECT}-${s}:lo1`)
  )
})
