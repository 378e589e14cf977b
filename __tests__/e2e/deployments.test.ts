// GitHub Deployments, end to end through the bundled action: the action's GITHUB_API_URL points
// at a small fake of the two REST endpoints on this machine's loopback (the runner's side, where
// the action runs) that records every request, while the deploys themselves are real (project
// `vgh` on the sandbox's lab host 1, its app checked on that host's own loopback). No test
// reaches the network.
// Tests run in order: a deploy, an automatic rollback, an API that refuses, `command: rollback`,
// a cancelled job and its post step.

import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import { resetProject } from './sandbox-env.js'
import { HOST, env, errorOf, httpGet } from './stack.js'

const PROJECT = 'vgh'
const FIXTURE = '__tests__/e2e/fixtures/vgh'
/** On the server (lab host 1). */
const DEPLOY_PATH = `/srv/${PROJECT}`
const TOKEN = 'ghs_fakeTokenForTheLoopbackApi0123456789'
const RUN_URL = 'https://github.example/example/vdemo/actions/runs/42'
const COMMITS = {
  g1: 'a1a1a1a'.padEnd(40, '1'),
  g2: 'b2b2b2b'.padEnd(40, '2'),
  g3: 'c3c3c3c'.padEnd(40, '3'),
  g4: 'd4d4d4d'.padEnd(40, '4')
}

interface Seen {
  method: string
  path: string
  auth: string
  body: Record<string, unknown>
}

/** The fake API: answers like GitHub (201 with an id), or 403 while `refuse` is set. */
const api = {
  seen: [] as Seen[],
  refuse: false,
  nextId: 1000,
  server: http.createServer((req, res) => {
    let text = ''
    req.on('data', c => (text += c))
    req.on('end', () => {
      api.seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: req.headers.authorization ?? '',
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {}
      })
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify(body))
      }
      if (api.refuse) {
        send(403, { message: 'Resource not accessible by integration' })
        return
      }
      const known = /^\/repos\/example\/vdemo\/deployments(\/\d+\/statuses)?$/.test(req.url ?? '')
      if (req.method !== 'POST' || !known) send(404, { message: 'Not Found' })
      else if (req.url?.endsWith('/statuses')) send(201, { id: 1, state: 'ok' })
      else send(201, { id: ++api.nextId })
    })
  })
}

/** The requests since the last call, one line each: what a reader of the Environments page sees. */
function requests(): string[] {
  const lines = api.seen.map(s => {
    const b = s.body
    if (s.path.endsWith('/statuses')) {
      return `status ${s.path.split('/')[5]} ${String(b.state)} "${String(b.description)}" ${String(b.log_url)} ${String(b.environment_url)}`
    }
    return `deployment ${String(b.ref).slice(0, 7)} ${String(b.environment)} "${String(b.description)}" ${JSON.stringify(b.payload)} auto_merge=${String(b.auto_merge)} contexts=${JSON.stringify(b.required_contexts)} production=${String(b.production_environment)}`
  })
  expect(api.seen.every(s => s.method === 'POST' && s.auth === `token ${TOKEN}`)).toBe(true)
  api.seen = []
  return lines
}

let apiUrl = ''

function deployStep(
  version: keyof typeof COMMITS | '',
  overrides: Record<string, string> = {},
  options: Parameters<typeof runAction>[2] = {}
) {
  return runAction(
    {
      project: PROJECT,
      services: `app=${FIXTURE}`,
      'compose-file': `${FIXTURE}/docker-compose.yml`,
      host: env.sshHost,
      port: String(HOST.sshPort),
      username: env.sshUser,
      key: readFileSync(env.sshKey, 'utf8'),
      fingerprint: HOST.fingerprint,
      'deploy-path': DEPLOY_PATH,
      healthchecks: 'http://127.0.0.1:18391/health',
      'healthcheck-interval': '1',
      'healthcheck-timeout': '6',
      'healthcheck-monitor': '1',
      environment: 'production',
      'environment-url': 'https://shop.example',
      'github-token': TOKEN,
      ...(version ? { version } : {}),
      ...overrides
    },
    { GITHUB_API_URL: apiUrl, GITHUB_SHA: version ? COMMITS[version] : COMMITS.g3 },
    { timeoutMs: 180_000, ...options }
  )
}

const live = async () => (await httpGet('http://127.0.0.1:18391/version')).body
/** The token is masked (add-mask, the runner's way) and appears nowhere else. */
function expectNoToken(run: ActionRun) {
  const lines = run.log.split('\n')
  expect(lines).toContain(`::add-mask::${TOKEN}`)
  const shown = lines.filter(l => !l.startsWith('::add-mask::')).join('\n')
  expect(`${shown}${run.summary}${JSON.stringify(run.outputs)}`).not.toContain(TOKEN)
}

beforeAll(async () => {
  mkdirSync(`${FIXTURE}/bin`, { recursive: true })
  copyFileSync('examples/stack/bin/busybox', `${FIXTURE}/bin/busybox`)
  resetProject(env, PROJECT, DEPLOY_PATH, HOST)
  await new Promise<void>(resolve => api.server.listen(0, '127.0.0.1', resolve))
  apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  resetProject(env, PROJECT, DEPLOY_PATH, HOST)
  await new Promise(resolve => api.server.close(resolve))
})

test('a deploy: a deployment of its commit, in progress, then success', async () => {
  const run = await deployStep('g1')
  expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
  expect(await live()).toBe('g1')
  expect(requests()).toEqual([
    'deployment a1a1a1a production "g1" {"version":"g1","method":"tar"} auto_merge=false contexts=[] production=true',
    `status 1001 in_progress "deploying g1" ${RUN_URL} https://shop.example`,
    `status 1001 success "g1 is live" ${RUN_URL} https://shop.example`
  ])
  expectNoToken(run)
})

test('an automatic rollback: the new deployment fails, the restored commit gets a success', async () => {
  const run = await deployStep('g2', { 'build-args': 'VARIANT=broken' })
  expect([run.code, run.outputs.status]).toEqual([1, 'rolled-back'])
  expect(await live()).toBe('g1')
  expect(requests()).toEqual([
    'deployment b2b2b2b production "g2" {"version":"g2","method":"tar"} auto_merge=false contexts=[] production=true',
    `status 1002 in_progress "deploying g2" ${RUN_URL} https://shop.example`,
    `status 1002 failure "g2 failed" ${RUN_URL} https://shop.example`,
    'deployment a1a1a1a production "rollback to g1 after g2 failed" {"version":"g1","method":"tar","rollback":true} auto_merge=false contexts=[] production=true',
    `status 1003 success "rollback to g1 after g2 failed" ${RUN_URL} https://shop.example`
  ])
})

test('an API that refuses (403): one warning naming the permission; the deploy is not affected', async () => {
  api.refuse = true
  try {
    const run = await deployStep('g3')
    expect([run.code, run.outputs.status, errorOf(run)]).toEqual([0, 'success', ''])
    expect(await live()).toBe('g3')
    const warnings = run.log.split('\n').filter(l => l.startsWith('::warning::GitHub Deployments'))
    expect(warnings).toEqual([
      '::warning::GitHub Deployments: GitHub refused (403 Resource not accessible by integration): the workflow needs "permissions: deployments: write". The production environment does not show this run; the deploy itself is not affected.'
    ])
    // One refused call, then nothing more.
    expect(api.seen.map(s => s.path)).toEqual(['/repos/example/vdemo/deployments'])
    api.seen = []
    expectNoToken(run)
  } finally {
    api.refuse = false
  }
})

test("command: rollback records a deployment of its target's own commit, marked success", async () => {
  const run = await deployStep('', { command: 'rollback', services: '' })
  expect([run.code, run.outputs.status, run.outputs.version]).toEqual([0, 'success', 'g1'])
  expect(await live()).toBe('g1')
  expect(requests()).toEqual([
    'deployment a1a1a1a production "rollback to g1 from g3" {"version":"g1","method":"tar","rollback":true} auto_merge=false contexts=[] production=true',
    `status 1004 success "rollback to g1 from g3" ${RUN_URL} https://shop.example`
  ])
})

test('a cancelled job: its post step marks the deployment left in progress failed', async () => {
  const main = await deployStep('g4', {}, { killWhen: log => log.includes('::group::verify') })
  expect(main.log).toContain('cancelled (SIGTERM)')
  expect(requests()).toEqual([
    'deployment d4d4d4d production "g4" {"version":"g4","method":"tar"} auto_merge=false contexts=[] production=true',
    `status 1005 in_progress "deploying g4" ${RUN_URL} https://shop.example`
  ])
  expect(main.state.deployment).toBe('1005')

  const post = await deployStep('g4', {}, { state: main.state })
  expect(post.code).toBe(0)
  expect(post.log).toContain('the deploy of g4 was interrupted before it was verified')
  expect(await live()).toBe('g1')
  expect(requests()).toEqual([
    `status 1005 failure "the run was cancelled before this version was verified" ${RUN_URL} https://shop.example`
  ])
})
