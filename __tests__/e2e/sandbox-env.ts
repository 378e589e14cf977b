// Helpers for end-to-end tests against the sandbox of scripts/sandbox.sh (the runner and the
// lab's server hosts): its connection details, and the docker / ssh command-line clients
// pointed at it.

import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  hostPath,
  onHost,
  readSandboxEnv,
  type LabHost,
  type SandboxEnv
} from '../../scripts/sandbox-env.mjs'

/** The repository root (this file is __tests__/e2e/sandbox-env.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export type { LabHost, SandboxEnv } from '../../scripts/sandbox-env.mjs'
export { hostFetch, hostPath, hostTcpRead, onHost } from '../../scripts/sandbox-env.mjs'

function sandboxScript(command: 'up'): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'sandbox.sh'), command], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 10 * 60_000
  })
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ?? ''}` }
}

let known: SandboxEnv | undefined

/** The sandbox's connection details (`bash scripts/sandbox.sh env`, read once); throws if it was
 *  never set up. */
export function sandboxEnv(): SandboxEnv {
  known ??= readSandboxEnv()
  return known
}

/** sandboxEnv(), running `scripts/sandbox.sh up` first if the sandbox was never set up. */
export function ensureSandbox(): SandboxEnv {
  try {
    return sandboxEnv()
  } catch {
    const up = sandboxScript('up')
    if (!up.ok) throw new Error(`scripts/sandbox.sh up failed:\n${up.stderr}${up.stdout}`)
    return sandboxEnv()
  }
}

export interface RunOptions {
  /** Data for the command's standard input. */
  input?: string | Buffer
  cwd?: string
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv
  /** Default: 5 minutes. */
  timeoutMs?: number
}

function run(file: string, args: string[], opts: RunOptions, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(file, args, {
    cwd: opts.cwd ?? repoRoot,
    env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 5 * 60_000,
    maxBuffer: 256 * 1024 * 1024
  })
  if (r.error) throw new Error(`${file} ${args.join(' ')}: ${r.error.message}`)
  if (r.status !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`
    )
  }
  return r.stdout
}

/**
 * Run the docker CLI against the engine at `host` (a DOCKER_HOST value) and return its
 * stdout; throws with its stderr when it fails. Builds use the classic builder
 * (DOCKER_BUILDKIT=0, as the action does) unless opts.env says otherwise.
 */
export function docker(host: string, args: string[], opts: RunOptions = {}): string {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_BUILDKIT: '0', ...opts.env }
  delete env.DOCKER_CONTEXT
  env.DOCKER_HOST = host
  return run('docker', args, opts, env)
}

/** True when the engine at `host` has the image `ref`. */
export function hasImage(host: string, ref: string): boolean {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host }
  delete env.DOCKER_CONTEXT
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {
    env,
    encoding: 'utf8'
  })
  return r.status === 0
}

/** Who logs in: root (the default) or the sandbox's non-root deploy user, each with its key. */
export type Login = 'root' | 'deploy'

/** OpenSSH client arguments that log in to the sandbox's server, checking its host key. */
export function sshArgs(env: SandboxEnv, login: Login = 'root'): string[] {
  const [user, key] = login === 'root' ? [env.sshUser, env.sshKey] : [env.deployUser, env.deployKey]
  return [
    '-i',
    key,
    '-p',
    String(env.sshPort),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${env.knownHosts}`,
    '-o',
    'LogLevel=ERROR',
    `${user}@${env.sshHost}`
  ]
}

/** Run a shell command on the sandbox's server over OpenSSH and return its stdout. */
export function ssh(
  env: SandboxEnv,
  command: string,
  opts: RunOptions & { login?: Login } = {}
): string {
  return run('ssh', [...sshArgs(env, opts.login), command], opts, { ...process.env, ...opts.env })
}

/** The non-empty lines of a command's output, trimmed. */
export function nonEmpty(text: string): string[] {
  return text
    .split('\n')
    .map(s => s.trim())
    .filter(Boolean)
}

/** Removes a compose project's containers and its `<project>-*` images from the engine at `host`. */
export function clearProject(host: string, project: string): void {
  const on = (args: string[]) => docker(host, args)
  const ids = nonEmpty(on(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]))
  if (ids.length > 0) on(['rm', '-f', ...ids])
  const refs = nonEmpty(on(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).filter(r =>
    r.startsWith(`${project}-`)
  )
  if (refs.length > 0) on(['image', 'rm', '-f', ...refs])
}

/** Empties the build cache of the engine at `host` (BuildKit's: it outlives the images). */
export function clearBuildCache(host: string): void {
  docker(host, ['builder', 'prune', '--all', '--force'])
}

/** Lab host 1: the server of the single-server suites. */
export function firstHost(env: SandboxEnv): LabHost {
  const host = env.hosts[0]
  if (!host) throw new Error('the sandbox has no lab host: run scripts/sandbox.sh up')
  return host
}

/**
 * Removes a project from a lab host's engine (host 1 by default) and the runner engine, and its
 * deploy path (a path on that host).
 */
export function resetProject(
  env: SandboxEnv,
  project: string,
  deployPath: string,
  host: LabHost = firstHost(env)
): void {
  clearProject(host.dockerHost, project)
  clearProject(env.runnerDockerHost, project)
  rmSync(hostPath(host, deployPath), { recursive: true, force: true })
}

/** A file under `<deploy-path>/.deploy/` on a lab host (host 1 by default), if it exists. */
export function readStateFile(
  deployPath: string,
  name: string,
  host: LabHost = firstHost(sandboxEnv())
): string | undefined {
  const file = hostPath(host, `${deployPath}/.deploy/${name}`)
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined
}

/** Runs `argv` inside lab host `host` (as root, in its namespaces) and returns its stdout. */
export function onHostRun(host: LabHost, argv: string[], opts: RunOptions = {}): string {
  const [file = '', ...args] = onHost(host, argv)
  return run(file, args, opts, { ...process.env, ...opts.env })
}

/** Polls `check` every 100 ms until it holds (true) or `ms` pass (false). */
export async function eventually(check: () => boolean, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise(r => setTimeout(r, 100))
  }
  return true
}
