// Tools for the fault-injection tests (faults.test.ts): the `vfault` project (the example stack
// on its own ports and deploy path, so it runs beside the other tests on the sandbox server),
// a TCP relay in front of the sandbox's sshd that can cut a connection, programs dropped into
// the sandbox's shim directory that act only on sessions which came through that relay, and a
// private Docker engine the tests may stop without stopping anyone else's.

import { spawn, spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { startRelay } from '../../scripts/rate-relay.mjs'
import { runAction, type ActionRun } from '../../scripts/run-action.mjs'
import {
  docker,
  nonEmpty,
  readStateFile,
  repoRoot,
  resetProject as resetSandboxProject
} from './sandbox-env.js'
import { exampleStackInputs } from '../../scripts/sandbox-env.mjs'
import { SHIM_DIR, env, errorOf, httpGet, runner, server } from './stack.js'

export { SHIM_DIR, env, errorOf, runner, server }

export const PROJECT = 'vfault'
export const DEPLOY_PATH = `${env.dir}/deploy/${PROJECT}`
export const SERVICES = ['api', 'web', 'db']
export const PORTS = { api: 18181, web: 18182, db: 18183 }
export const COMPOSE_FILE = '__tests__/e2e/fixtures/vfault/docker-compose.yml'
export const HEALTHCHECKS = [
  `http://127.0.0.1:${PORTS.api}/health`,
  `http://127.0.0.1:${PORTS.web}/health`,
  `tcp://127.0.0.1:${PORTS.db}`
].join('\n')
/** Where the tests keep their own files on the sandbox host (relay ports, keys, the engine). */
export const KIT_DIR = `${env.dir}/vfault`
/** Local ports of the relay's connections to sshd: the shims act on those sessions only. */
export const RELAY_PORTS_FILE = `${KIT_DIR}/relay-ports`

export interface Stack {
  deployPath: string
  /** The DOCKER_HOST of the engine this stack runs on. */
  dockerHost: string
}

export const SHARED: Stack = { deployPath: DEPLOY_PATH, dockerHost: env.serverDockerHost }

/** Inputs that deploy the vfault stack to the sandbox server. */
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

/** Removes everything of the project from the server and the runner, and the deploy path. */
export function resetProject(stack: Stack = SHARED): void {
  resetSandboxProject(env, PROJECT, stack.deployPath, stack.dockerHost)
}

export function stateFile(name: string, stack: Stack = SHARED): string | undefined {
  return readStateFile(stack.deployPath, name)
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

/** What the api answers at /version (or why it does not). */
export async function liveVersion(): Promise<string> {
  const r = await httpGet(`http://127.0.0.1:${PORTS.api}/version`)
  return r.status === 200 ? r.body : `(HTTP ${r.status}: ${r.body})`
}

/** Polls until the api answers `version`, at most `ms`. */
export async function waitLive(version: string, ms: number): Promise<string> {
  const deadline = Date.now() + ms
  let live = await liveVersion()
  while (live !== version && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 500))
    live = await liveVersion()
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
      docker(stack.dockerHost, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])
    )
      .filter(r => r.startsWith(`${PROJECT}-`))
      .sort(),
    containers: nonEmpty(
      docker(stack.dockerHost, [
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
 * The project's relay (scripts/rate-relay.mjs) from an ephemeral port on 127.0.0.1 to the
 * sandbox's sshd, recording the local port of each of its connections to sshd in
 * RELAY_PORTS_FILE (the server sees it in SSH_CONNECTION). With `cutAfterBytes` it cuts a
 * connection once that many bytes went from the client to the server; with `staysDown`, the
 * link stays down after a cut: every later connection is closed at once (counted in `refused`).
 */
export class Relay {
  private relay?: Awaited<ReturnType<typeof startRelay>>
  port = 0

  constructor(private readonly options: { cutAfterBytes?: number; staysDown?: boolean } = {}) {}

  /** The index of each connection cut, in the order they came. */
  get cuts(): number[] {
    return this.relay?.cuts ?? []
  }

  get refused(): number {
    return this.relay?.refused() ?? 0
  }

  async start(): Promise<number> {
    mkdirSync(KIT_DIR, { recursive: true })
    this.relay = await startRelay({
      target: env.sshPort,
      portsFile: RELAY_PORTS_FILE,
      ...this.options
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
 * Installs `name` (docker, docker-compose) in the shim directory. For sessions that came
 * through a Relay, `fault` (shell text) runs first with $REAL set to the real program; every
 * other session runs the real program unchanged. Returns a function that removes it.
 */
export function installShim(name: string, fault: string): () => void {
  mkdirSync(SHIM_DIR, { recursive: true })
  const file = path.join(SHIM_DIR, name)
  writeFileSync(
    file,
    `#!/bin/sh
# Installed by __tests__/e2e/faults.test.ts for the duration of one test; removed afterwards.
# It changes only sessions that came through the test's relay (their port is listed in
# ${RELAY_PORTS_FILE}); for everyone else it runs the real ${name}.
PATH=$(printf '%s' "$PATH" | tr ':' '\\n' | grep -vxF '${SHIM_DIR}' | paste -sd: -)
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

// ------------------------------------------------------------------ a private engine

/**
 * A Docker engine of the tests' own, started and stopped by them (by its pid), with its own
 * data root: a "server engine" that can be stopped without stopping anyone else's containers.
 */
export class PrivateEngine {
  readonly dir = `${env.dir}/vfault-engine`
  readonly host = `unix://${this.dir}/docker.sock`
  private pid = 0

  private answers(): boolean {
    const r = spawnSync('docker', ['-H', this.host, 'version', '--format', '{{.Server.Version}}'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { ...process.env, DOCKER_CONTEXT: '' }
    })
    return r.status === 0
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true })
    writeFileSync(
      `${this.dir}/daemon.json`,
      JSON.stringify({ 'deprecated-key-path': `${this.dir}/key.json` })
    )
    const log = openSync(`${this.dir}/dockerd.log`, 'a')
    const child = spawn(
      'dockerd',
      [
        '--config-file',
        `${this.dir}/daemon.json`,
        '--data-root',
        `${this.dir}/data`,
        '--exec-root',
        `${this.dir}/exec`,
        '--pidfile',
        `${this.dir}/dockerd.pid`,
        '-H',
        this.host,
        '--containerd-namespace',
        'vfault',
        '--containerd-plugins-namespace',
        'vfault-plugins',
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false'
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/sbin:/usr/sbin:/sbin` }
      }
    )
    child.unref()
    this.pid = child.pid ?? 0
    const deadline = Date.now() + 60_000
    while (!this.answers()) {
      if (Date.now() > deadline || !this.alive()) {
        throw new Error(
          `the private dockerd did not come up: ${readFileSync(`${this.dir}/dockerd.log`, 'utf8').slice(-2000)}`
        )
      }
      await new Promise(r => setTimeout(r, 300))
    }
  }

  private alive(): boolean {
    if (!this.pid) return false
    try {
      process.kill(this.pid, 0)
      return true
    } catch {
      return false
    }
  }

  /** Stops the engine (SIGTERM to its pid; SIGKILL after 60 s) and waits until it is gone. */
  async stop(): Promise<void> {
    if (!this.alive()) return
    process.kill(this.pid, 'SIGTERM')
    const deadline = Date.now() + 60_000
    while (this.alive()) {
      if (Date.now() > deadline) process.kill(this.pid, 'SIGKILL')
      if (Date.now() > deadline + 10_000) throw new Error(`dockerd ${this.pid} does not stop`)
      await new Promise(r => setTimeout(r, 200))
    }
    this.pid = 0
    if (this.answers()) throw new Error('the private engine still answers after it stopped')
  }

  /** Stops an engine that an interrupted earlier run of the tests left running. */
  async cleanupLeftover(): Promise<void> {
    const pidfile = `${this.dir}/dockerd.pid`
    if (!this.pid && existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, 'utf8').trim())
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
      } catch {
        // not running
      }
      // Only a dockerd with this engine's own socket: never someone else's process.
      if (pid > 0 && cmdline.includes('dockerd') && cmdline.includes(this.host)) this.pid = pid
    }
    await this.destroy()
  }

  /** Stops it and removes its data. */
  async destroy(): Promise<void> {
    await this.stop()
    // A stopped dockerd leaves its default network namespace (exec/netns/default) mounted.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map(l => l.split(' ')[1] ?? '')
      .filter(m => m.startsWith(`${this.dir}/`))
      .sort()
      .reverse()
    for (const m of mounts) spawnSync('umount', [m], { timeout: 10_000 })
    try {
      rmSync(this.dir, { recursive: true, force: true })
    } catch (e) {
      // Say so, but do not fail for it: the next run's cleanupLeftover tries again.
      console.warn(`could not remove ${this.dir}: ${(e as Error).message}`)
    }
  }
}
