// Tools for the fault-injection tests (faults.test.ts): the `vfault` project (the example stack
// on its own ports and deploy path, so it runs beside the other tests on the lab's hosts), a TCP
// relay to a lab host's sshd that can cut a connection, programs dropped into a lab host's shim
// directory that act only on sessions which came through that relay, and a lab host's own Docker
// engine, stopped and started again through scripts/sandbox.sh.

import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { startRelay } from '../../scripts/rate-relay.mjs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  clearProject,
  docker,
  hostFetch,
  hostPath,
  nonEmpty,
  readStateFile,
  repoRoot,
  resetProject as resetSandboxProject,
  type LabHost
} from './sandbox-env.js'
import { exampleStackInputs } from '../../scripts/sandbox-env.mjs'
import { HOST, SHIM_DIR, env, errorOf, runner, server } from './stack.js'

export { HOST, SHIM_DIR, env, errorOf, runner, server }

export const PROJECT = 'vfault'
/** The deploy path on a lab host (its own /srv). */
export const DEPLOY_PATH = `/srv/${PROJECT}`
export const SERVICES = ['api', 'web', 'db']
export const PORTS = { api: 18181, web: 18182, db: 18183 }
export const COMPOSE_FILE = '__tests__/e2e/fixtures/vfault/docker-compose.yml'
export const HEALTHCHECKS = [
  `http://127.0.0.1:${PORTS.api}/health`,
  `http://127.0.0.1:${PORTS.web}/health`,
  `tcp://127.0.0.1:${PORTS.db}`
].join('\n')
/** Where the tests keep their own files on this machine (the lab hosts see the same folder). */
export const KIT_DIR = `${env.dir}/vfault`
/** Local ports of the relay's connections: the shims act on those sessions only. */
export const RELAY_PORTS_FILE = `${KIT_DIR}/relay-ports`
/**
 * The address on a lab host's loopback that the relay's connections to its sshd come from: any
 * 127.x address is the host's loopback, and nothing else binds this one, so the relay's port is
 * surely free there.
 */

/** A lab host's shim folder: first in the PATH of every SSH session on that host. */
export const shimDir = (host: LabHost) => `${host.dir}/shim`

export interface Stack {
  /** The lab host the stack runs on. */
  host: LabHost
  /** The deploy path on that host. */
  deployPath: string
}

/** The stack of most tests: on lab host 1, the single-server suites' server. */
export const SHARED: Stack = { host: HOST, deployPath: DEPLOY_PATH }

/** Where a file of the stack's deploy path is on this machine. */
export const stackPath = (stack: Stack, file = '') =>
  hostPath(stack.host, `${stack.deployPath}${file}`)

/** Inputs that deploy the vfault stack to lab host 1. */
export function faultInputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...exampleStackInputs(env, {
      project: PROJECT,
      composeFile: COMPOSE_FILE,
      deployPath: DEPLOY_PATH,
      healthchecks: HEALTHCHECKS
    }),
    'healthcheck-timeout': '30',
    'healthcheck-monitor': '2',
    // Should a run leave its deploy lock behind, the next one says so soon instead of waiting.
    'lock-timeout': '30',
    ...overrides
  }
}

export interface Step extends ActionRun {
  /** The post step, when action.yml declares one (a runner runs it after the main step). */
  post?: ActionRun
  ms: number
}

const actionYml = () =>
  parseYaml(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as {
    runs: { post?: string }
  }

/**
 * Runs the action's step as a runner does: the main step, then its post step (if action.yml
 * declares one) with what the main step saved. Bounded by `timeoutMs` for each.
 */
export async function runStep(
  inputs: Record<string, string>,
  opts: { env?: Record<string, string>; timeoutMs?: number } = {}
): Promise<Step> {
  const start = Date.now()
  const timeoutMs = opts.timeoutMs ?? 240_000
  const main = await runAction(inputs, opts.env ?? {}, { timeoutMs })
  let post: ActionRun | undefined
  if (actionYml().runs.post) {
    post = await runAction(inputs, opts.env ?? {}, { timeoutMs, state: main.state })
  }
  const dir = process.env.VFAULT_LOG_DIR // for a look at what the steps said
  if (dir) {
    mkdirSync(dir, { recursive: true })
    const name = `${inputs.version || 'step'}-${start}`.replace(/[^A-Za-z0-9_.-]/g, '_')
    writeFileSync(path.join(dir, `${name}.log`), `${main.log}\n--- post ---\n${post?.log ?? ''}`)
  }
  return { ...main, post, ms: Date.now() - start }
}

/**
 * Removes everything of the project from the stack's host (its containers, images and the
 * networks compose made for it) and the runner, and the deploy path.
 */
export function resetProject(stack: Stack = SHARED): void {
  resetSandboxProject(env, PROJECT, stack.deployPath, stack.host)
  removeNetworks(stack.host)
}

/** Removes the project from the stack's host only, and the deploy path: the runner keeps its
 *  images (and so its build cache). */
export function clearStack(stack: Stack): void {
  clearProject(stack.host.dockerHost, PROJECT)
  removeNetworks(stack.host)
  rmSync(stackPath(stack), { recursive: true, force: true })
}

function removeNetworks(host: LabHost): void {
  const label = `label=com.docker.compose.project=${PROJECT}`
  const ids = nonEmpty(docker(host.dockerHost, ['network', 'ls', '-q', '--filter', label]))
  if (ids.length > 0) docker(host.dockerHost, ['network', 'rm', ...ids])
}

export function stateFile(name: string, stack: Stack = SHARED): string | undefined {
  return readStateFile(stack.deployPath, name, stack.host)
}

export interface LogRecord {
  version: string
  status: string
  [field: string]: unknown
}

/** versions.log, read as the action reads it: damaged lines are counted, not fatal. */
export function readLog(stack: Stack = SHARED): { records: LogRecord[]; damaged: number } {
  const records: LogRecord[] = []
  let damaged = 0
  for (const line of nonEmpty(stateFile('versions.log', stack) ?? '')) {
    try {
      const r = JSON.parse(line) as LogRecord
      if (typeof r.version === 'string' && typeof r.status === 'string') records.push(r)
      else damaged++
    } catch {
      damaged++
    }
  }
  return { records, damaged }
}

/** What the api answers at /version on the stack's host (its own loopback), or why it does not. */
export async function liveVersion(stack: Stack = SHARED): Promise<string> {
  const r = await hostFetch(stack.host, `http://127.0.0.1:${PORTS.api}/version`)
  return r.status === 200 ? r.body : `(HTTP ${r.status}: ${r.body})`
}

/** Polls until the api answers `version`, at most `ms`. */
export async function waitLive(
  version: string,
  ms: number,
  stack: Stack = SHARED
): Promise<string> {
  const deadline = Date.now() + ms
  let live = await liveVersion(stack)
  while (live !== version && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 500))
    live = await liveVersion(stack)
  }
  return live
}

/** The state of the server that a refused deploy must not change. */
export function snapshot(stack: Stack = SHARED): Record<string, unknown> {
  return {
    current: stateFile('current_version', stack),
    method: stateFile('current_method', stack),
    log: stateFile('versions.log', stack),
    images: nonEmpty(
      docker(stack.host.dockerHost, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])
    )
      .filter(r => r.startsWith(`${PROJECT}-`))
      .sort(),
    containers: nonEmpty(
      docker(stack.host.dockerHost, [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--format',
        '{{.ID}} {{.Image}} {{.Status}}'
      ])
    )
      .map(c => c.replace(/ \(health: starting\)| \(healthy\)|Up .*/g, 'Up'))
      .sort()
  }
}

// ------------------------------------------------------------------ relay

/**
 * The project's relay (scripts/rate-relay.mjs) from an ephemeral port on 127.0.0.1 to the sshd
 * of lab host `host` (host 1 by default), recording the local port of each of its connections in
 * RELAY_PORTS_FILE; the server sees that port in SSH_CONNECTION (the lab's bridge into a host
 * connects to sshd from the client's own port). With `cutAfterBytes` it cuts a connection once that many
 * bytes went from the client to the server; with `staysDown`, the link stays down after a cut:
 * every later connection is closed at once (counted in `refused`); with `upRate`, the client's
 * bytes go to the server at most that fast.
 */
export class Relay {
  private relay?: Awaited<ReturnType<typeof startRelay>>
  port = 0

  constructor(
    private readonly options: {
      host?: LabHost
      cutAfterBytes?: number
      staysDown?: boolean
      upRate?: number
    } = {}
  ) {}

  /** The index of each connection cut, in the order they came. */
  get cuts(): number[] {
    return this.relay?.cuts ?? []
  }

  get refused(): number {
    return this.relay?.refused() ?? 0
  }

  /** Bytes from the client to the server, all connections. */
  get upBytes(): number {
    return this.relay?.upBytes() ?? 0
  }

  async start(): Promise<number> {
    const { host = HOST, ...relayOptions } = this.options
    mkdirSync(KIT_DIR, { recursive: true })
    this.relay = await startRelay({
      target: host.sshPort,
      portsFile: RELAY_PORTS_FILE,
      ...relayOptions
    })
    this.port = this.relay.port
    return this.port
  }

  async close(): Promise<void> {
    await this.relay?.close()
    rmSync(RELAY_PORTS_FILE, { force: true })
  }
}

/** A free TCP port on 127.0.0.1 right now (nothing listens on it). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const s = net.createServer(c => {
    sockets.add(c)
    c.on('error', () => undefined)
    c.on('close', () => sockets.delete(c))
  })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>(resolve => {
        for (const c of sockets) c.destroy()
        s.close(() => resolve())
      })
  }
}

// ------------------------------------------------------------------ shims

/**
 * Installs `name` (docker, docker-compose) in the shim directory of lab host `host` (host 1 by
 * default). For sessions that came through a Relay, `fault` (shell text) runs first with $REAL
 * set to the real program; every other session runs the real program unchanged. Returns a
 * function that removes it.
 */
export function installShim(name: string, fault: string, host: LabHost = HOST): () => void {
  const dir = shimDir(host)
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, name)
  writeFileSync(
    file,
    `#!/bin/sh
# Installed by __tests__/e2e/faults.test.ts for the duration of one test; removed afterwards.
# It changes only sessions that came through the test's relay (their port is listed in
# ${RELAY_PORTS_FILE}); for everyone else it runs the real ${name}.
PATH=$(printf '%s' "$PATH" | tr ':' '\\n' | grep -vxF '${dir}' | paste -sd: -)
export PATH
REAL=$(command -v ${name}) || { echo "${name}: not found" >&2; exit 127; }
port=$(printf '%s' "$SSH_CONNECTION" | cut -d' ' -f2)
if [ -n "$port" ] && grep -qx "$port" '${RELAY_PORTS_FILE}' 2>/dev/null; then
${fault}
fi
exec "$REAL" "$@"
`
  )
  chmodSync(file, 0o755)
  return () => rmSync(file, { force: true })
}

// ------------------------------------------------------------------ a lab host's engine

/**
 * Stops or starts lab host `host`'s own Docker engine (`scripts/sandbox.sh engine K stop|start`):
 * its containers stop with it and come back by their restart policies when it starts again.
 * Throws with what the script said when it fails, or when the engine does not do as asked.
 */
export function labEngine(host: LabHost, action: 'stop' | 'start'): void {
  const r = spawnSync(
    'bash',
    [path.join(repoRoot, 'scripts', 'sandbox.sh'), 'engine', String(host.index), action],
    { cwd: repoRoot, encoding: 'utf8', timeout: 5 * 60_000 }
  )
  if (r.status !== 0) {
    throw new Error(
      `sandbox.sh engine ${host.index} ${action} failed (${r.status ?? r.signal}): ${`${r.stderr}${r.stdout}${r.error ?? ''}`.trim()}`
    )
  }
  if (engineAnswers(host) !== (action === 'start')) {
    throw new Error(
      `the engine of ${host.name} ${action === 'start' ? 'does not answer' : 'still answers'} after sandbox.sh engine ${host.index} ${action}`
    )
  }
}

/** True when lab host `host`'s engine answers. */
export function engineAnswers(host: LabHost): boolean {
  const r = spawnSync(
    'docker',
    ['-H', host.dockerHost, 'version', '--format', '{{.Server.Version}}'],
    {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, DOCKER_CONTEXT: '' }
    }
  )
  return r.status === 0
}
