// The workflow files users copy must fit the action's interface: every `with:` key of a step
// that uses this action is an input of action.yml, every call of the reusable workflow matches
// its workflow_call inputs and secrets, and no workflow cancels a deploy in progress.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'

type Dict = Record<string, unknown>
interface Declared {
  names: string[]
  required: string[]
}

const FILES = ['.github/workflows', 'examples/workflows'].flatMap(dir =>
  readdirSync(dir)
    .filter(f => /\.ya?ml$/.test(f))
    .map(f => path.join(dir, f))
)
const REUSABLE = '.github/workflows/versioned-deploy.yml'

const read = (file: string): Dict => parse(readFileSync(file, 'utf8')) as Dict
const dict = (v: unknown): Dict => (v && typeof v === 'object' ? (v as Dict) : {})

function declared(map: unknown): Declared {
  const entries = Object.entries(dict(map))
  return {
    names: entries.map(([name]) => name),
    required: entries.filter(([, spec]) => dict(spec).required === true).map(([name]) => name)
  }
}

const action = declared(read('action.yml').inputs)
const call = dict(dict(read(REUSABLE).on).workflow_call)
const reusable = { inputs: declared(call.inputs), secrets: declared(call.secrets) }

const jobs = (file: string): [string, Dict][] =>
  Object.entries(dict(read(file).jobs)).map(([id, job]) => [`${file} ${id}`, dict(job)])

const actionSteps = FILES.flatMap(file =>
  jobs(file).flatMap(([where, job]) =>
    (Array.isArray(job.steps) ? job.steps : [])
      .map(dict)
      .filter(s => typeof s.uses === 'string' && /^\.\/?$|(^|\/)versioned-deploy@/.test(s.uses))
      .map(s => [where, Object.keys(dict(s.with))] as const)
  )
)
const calls = FILES.flatMap(file =>
  jobs(file).filter(
    ([, job]) =>
      typeof job.uses === 'string' && /\.github\/workflows\/versioned-deploy\.yml@/.test(job.uses)
  )
)

test('the files are there, and use the action and the reusable workflow', () => {
  expect(FILES).toEqual(expect.arrayContaining([REUSABLE, 'examples/workflows/deploy.yml']))
  expect(actionSteps.length).toBeGreaterThan(0)
  expect(calls.length).toBeGreaterThanOrEqual(3)
})

test.each(actionSteps)('%s: with: keys are inputs of action.yml', (_where, keys) => {
  expect(keys.filter(k => !action.names.includes(k))).toEqual([])
  expect(action.required.filter(k => !keys.includes(k))).toEqual([])
})

test.each(calls)('%s: with: and secrets: fit the reusable workflow', (_where, job) => {
  const keys = Object.keys(dict(job.with))
  expect(keys.filter(k => !reusable.inputs.names.includes(k))).toEqual([])
  expect(reusable.inputs.required.filter(k => !keys.includes(k))).toEqual([])
  if (job.secrets === 'inherit') return
  const secrets = Object.keys(dict(job.secrets))
  expect(secrets.filter(k => !reusable.secrets.names.includes(k))).toEqual([])
  expect(reusable.secrets.required.filter(k => !secrets.includes(k))).toEqual([])
})

// Every workflow that deploys: a second run waits; cancelling one midway could leave a half-done
// switch (the action rolls back, but not when the runner is killed).
const deploying = [REUSABLE, ...new Set(calls.map(([where]) => where.split(' ')[0] ?? ''))]

test.each(deploying)('%s: has a concurrency group that never cancels a run in progress', file => {
  const groups = [read(file).concurrency, ...jobs(file).map(([, job]) => job.concurrency)]
  const set = groups.filter(c => c !== undefined)
  expect(set.length).toBeGreaterThan(0)
  for (const c of set) {
    // The short form `concurrency: <group>` never cancels.
    if (typeof c === 'string') continue
    expect(dict(c).group).toEqual(expect.any(String))
    expect(dict(c)['cancel-in-progress']).toBe(false)
  }
})
