import type { DeployOptions, DeploymentsOptions } from '../../src/config/options.js'
import type { CommandResult } from '../../src/engine/commands/result.js'
import type { DeployRecord } from '../../src/plan/history.js'
import {
  ApiError,
  DeploymentReporter,
  explain,
  isProduction,
  type DeploymentsApi
} from '../../src/github/deployments.js'

const d: DeploymentsOptions = {
  environment: 'production',
  environmentUrl: 'https://shop.example',
  token: 't',
  repository: 'acme/shop',
  apiUrl: 'https://api.github.example'
}
const run = { commit: 'c0ffee0aaaa', runUrl: 'https://github.example/run/1', method: 'tar' }

/** A fake of the two calls that writes each one as a line; `failAt` makes that call throw. */
function fakeApi(failAt = -1, error: unknown = new ApiError(403, 'Resource not accessible')) {
  const calls: string[] = []
  let next = 100
  const api: DeploymentsApi = {
    async createDeployment(x) {
      if (calls.length === failAt) throw error
      calls.push(
        `create ${x.ref} ${x.environment} "${x.description}" ${JSON.stringify(x.payload)} prod=${x.productionEnvironment}`
      )
      return ++next
    },
    async createStatus(id, s) {
      if (calls.length === failAt) throw error
      calls.push(
        `status ${id} ${s.state} "${s.description}" ${s.logUrl ?? '-'} ${s.environmentUrl ?? '-'}`
      )
    }
  }
  return { api, calls }
}

const rec = (
  version: string,
  status: DeployRecord['status'],
  commit: string,
  previous = ''
): DeployRecord => ({
  version,
  status,
  method: 'tar',
  commit,
  previous,
  started_at: 's',
  finished_at: 'f'
})

function result(over: Partial<CommandResult>): CommandResult {
  return {
    command: 'deploy',
    status: 'success',
    version: 'v2',
    previousVersion: 'v1',
    method: 'tar',
    rolledBack: false,
    history: [],
    phases: [],
    notices: [],
    ...over
  }
}
const deployOptions = {
  command: 'deploy',
  version: 'v2',
  method: 'tar',
  commit: run.commit
} as DeployOptions

test('a deploy: a deployment in progress, then success', async () => {
  const { api, calls } = fakeApi()
  const r = new DeploymentReporter(d, api, run, () => undefined)
  await r.started(deployOptions)
  await r.finished(result({}))
  expect(calls).toEqual([
    'create c0ffee0aaaa production "v2" {"version":"v2","method":"tar"} prod=true',
    'status 101 in_progress "deploying v2" https://github.example/run/1 https://shop.example',
    'status 101 success "v2 is live" https://github.example/run/1 https://shop.example'
  ])
})

test('an automatic rollback: failure, then a deployment of the restored commit marked success', async () => {
  const { api, calls } = fakeApi()
  const r = new DeploymentReporter({ ...d, environment: 'staging' }, api, run, () => undefined)
  await r.started(deployOptions)
  await r.finished(
    result({
      status: 'rolled-back',
      rolledBack: true,
      history: [
        rec('v1', 'rollback', 'beef001', 'v2'),
        rec('v2', 'failed', run.commit, 'v1'),
        rec('v1', 'success', 'beef001')
      ]
    })
  )
  expect(calls.slice(2)).toEqual([
    'status 101 failure "v2 failed" https://github.example/run/1 https://shop.example',
    'create beef001 staging "rollback to v1 after v2 failed" {"version":"v1","method":"tar","rollback":true} prod=false',
    'status 102 success "rollback to v1 after v2 failed" https://github.example/run/1 https://shop.example'
  ])
})

test('command rollback: a deployment of the target, success; a target that fails, failure', async () => {
  const ok = fakeApi()
  const rollback = { ...deployOptions, command: 'rollback', version: '' } as DeployOptions
  let r = new DeploymentReporter(d, ok.api, run, () => undefined)
  await r.started(rollback)
  await r.finished(
    result({
      command: 'rollback',
      version: 'v1',
      previousVersion: 'v3',
      history: [rec('v1', 'rollback', 'beef001', 'v3')]
    })
  )
  expect(ok.calls).toEqual([
    'create beef001 production "rollback to v1 from v3" {"version":"v1","method":"tar","rollback":true} prod=true',
    'status 101 success "rollback to v1 from v3" https://github.example/run/1 https://shop.example'
  ])

  const bad = fakeApi()
  r = new DeploymentReporter(d, bad.api, run, () => undefined)
  await r.finished(
    result({
      command: 'rollback',
      status: 'failed',
      version: 'v1',
      previousVersion: 'v3',
      history: [rec('v3', 'rollback', 'abc1234', 'v1'), rec('v1', 'failed', 'beef001', 'v3')]
    })
  )
  expect(bad.calls).toEqual([
    'create beef001 production "rollback to v1" {"version":"v1","method":"tar","rollback":true} prod=true',
    'status 101 failure "rollback to v1 failed" https://github.example/run/1 https://shop.example'
  ])
})

test('the first failed call is one warning with its cause; nothing more is posted', async () => {
  const { api, calls } = fakeApi(1)
  const warnings: string[] = []
  const r = new DeploymentReporter(d, api, run, m => warnings.push(m))
  await r.started(deployOptions)
  await r.finished(result({}))
  expect(calls).toHaveLength(1)
  expect(warnings).toEqual([
    'GitHub Deployments: GitHub refused (403 Resource not accessible): the workflow needs "permissions: deployments: write". The production environment does not show this run; the deploy itself is not affected.'
  ])
})

test('the deployment in progress is known until settled; a cancelled run marks it failed', async () => {
  const { api, calls } = fakeApi()
  const r = new DeploymentReporter(d, api, run, () => undefined)
  expect(r.inProgress).toBeUndefined()
  await r.started(deployOptions)
  expect(r.inProgress).toBe(101)
  await new DeploymentReporter(d, api, run, () => undefined).interrupted(101)
  expect(calls[2]).toBe(
    'status 101 failure "the run was cancelled before this version was verified" https://github.example/run/1 https://shop.example'
  )
})

test('no token or no repository: one warning, no call', async () => {
  const warnings: string[] = []
  const r = new DeploymentReporter({ ...d, token: '' }, undefined, run, m => warnings.push(m))
  await r.started(deployOptions)
  await r.finished(result({}))
  expect(warnings).toHaveLength(1)
  expect(warnings[0]).toMatch(/github-token is empty .*permissions: deployments: write/)
})

test('causes, named', () => {
  expect(explain(new ApiError(401, 'Bad credentials'), d)).toBe(
    'GitHub refused the github-token (401 Bad credentials)'
  )
  expect(explain(new ApiError(404, 'Not Found'), d)).toMatch(
    /^GitHub does not show acme\/shop to this token/
  )
  expect(explain(new Error('connect ECONNREFUSED'), d)).toBe(
    'could not reach https://api.github.example (connect ECONNREFUSED)'
  )
  expect([isProduction('production'), isProduction('Prod'), isProduction('production-eu')]).toEqual(
    [true, true, false]
  )
})
