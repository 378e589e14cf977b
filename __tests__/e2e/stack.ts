// The example stack on the sandbox's lab host 1: inputs to deploy it, and ways to look at what
// the server runs (its engine, its files, and its own loopback, where the stack's ports are).

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import {
  docker,
  firstHost,
  hostFetch,
  hostPath,
  hostTcpRead,
  nonEmpty,
  readStateFile,
  resetProject,
  sandboxEnv,
  type LabHost
} from './sandbox-env.js'
import { exampleStackInputs } from '../../scripts/sandbox-env.mjs'
import type { ActionRun } from '../../scripts/run-action.mjs'

export const env = sandboxEnv()
/** The server of the single-server suites: lab host 1. */
export const HOST = firstHost(env)
export const PROJECT = 'vdemo'
/** The deploy path on the server (its own /srv), and where that folder is on this machine. */
export const DEPLOY_PATH = `/srv/${PROJECT}`
export const DEPLOY_DIR = hostPath(HOST, DEPLOY_PATH)
export const STATE = `${DEPLOY_DIR}/.deploy`
export const SERVICES = ['api', 'web', 'db']
export const HEALTHCHECKS = [
  'http://127.0.0.1:18081/health',
  'http://127.0.0.1:18082/health',
  'tcp://127.0.0.1:18083'
].join('\n')

/** Inputs that deploy the example stack to the sandbox server. */
export function stackInputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...exampleStackInputs(env, {
      project: PROJECT,
      composeFile: 'examples/stack/docker-compose.yml',
      deployPath: DEPLOY_PATH,
      healthchecks: HEALTHCHECKS
    }),
    'healthcheck-timeout': '40',
    // A short settle window keeps the suites fast; the truthful-success tests use 10 s.
    'healthcheck-monitor': '2',
    ...overrides
  }
}

/** Inputs that log in to lab host `host` as root over its SSH bridge, pinning its host key. */
export function loginTo(host: LabHost): Record<string, string> {
  return {
    host: '127.0.0.1',
    port: String(host.sshPort),
    fingerprint: host.fingerprint,
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8')
  }
}

/** Inputs that log in as the sandbox's non-root user (`deploy`, with its own key). */
export function asDeployUser(): Record<string, string> {
  return { username: env.deployUser, key: readFileSync(env.deployKey, 'utf8') }
}

/** First in the PATH of every SSH session on host 1 (scripts/sandbox/lab.sh); empty by default. */
export const SHIM_DIR = `${HOST.dir}/shim`

/** The `::error::` line of a step, decoded (@actions/core escapes %, CR and LF). */
export function errorOf(run: ActionRun): string {
  const line = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
  return line
    .slice('::error::'.length)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%')
}

export const server = (args: string[]) => docker(HOST.dockerHost, args)
export const runner = (args: string[]) => docker(env.runnerDockerHost, args)

/** Tags of `<project>-<service>` on the server engine, sorted. */
export function serverTags(service: string): string[] {
  return nonEmpty(server(['image', 'ls', '--format', '{{.Tag}}', `${PROJECT}-${service}`])).sort()
}

/** Every image on the server engine (any project) as "repo:tag id", sorted: `image ls` orders
 *  images built in the same second arbitrarily. */
export function serverImages(): string[] {
  return nonEmpty(server(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).sort()
}

/** image of each running container of the project on the server engine. */
export function serverContainers(): string[] {
  return nonEmpty(
    server([
      'ps',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--format',
      '{{.Image}} {{.ID}}'
    ])
  ).sort()
}

/**
 * Removes the project's containers, images and state from the server (and its tags on the
 * runner). With `owner`, the deploy path is made again, empty and owned by that user, as the
 * README asks of a server whose deploy user is not root; its parent stays root's.
 */
export function resetServer(owner?: string): void {
  resetProject(env, PROJECT, DEPLOY_PATH)
  if (!owner) return
  mkdirSync(DEPLOY_DIR, { recursive: true })
  giveTo(owner, DEPLOY_DIR)
}

/** Makes `owner` (and its group) the owner of `file`, a path on this machine. */
export function giveTo(owner: string, file: string): void {
  const r = spawnSync('chown', [`${owner}:`, file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`chown ${owner}: ${file} failed: ${r.stderr}`)
}

export function stateFile(name: string): string | undefined {
  return readStateFile(DEPLOY_PATH, name)
}

/** The server's state of the project, to prove that a refused run changed nothing. */
export function serverSnapshot() {
  return {
    current: stateFile('current_version'),
    method: stateFile('current_method'),
    log: stateFile('versions.log'),
    images: serverImages(),
    containers: serverContainers()
  }
}

export function logRecords(): { version: string; status: string }[] {
  return nonEmpty(stateFile('versions.log') ?? '').map(
    l => JSON.parse(l) as { version: string; status: string }
  )
}

/** GET `url` on the server's own loopback (host 1): nothing of the stack answers on this
 *  machine's. Status 0 when nothing answered. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return hostFetch(HOST, url)
}

/** What the stand-in database answers on its port, on the server's loopback. */
export function dbReply(port = 18083): Promise<string> {
  return hostTcpRead(HOST, port)
}

/** Whether anything accepts a connection on this machine's own 127.0.0.1:`port` (the runner's
 *  side, not the server's). */
export function runnerPortOpen(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)))
    socket.on('connect', () => (socket.destroy(), resolve(true)))
    socket.on('error', () => resolve(false))
  })
}

/** The live version as each service reports it. */
export async function liveVersions(): Promise<Record<string, string>> {
  return {
    api: (await httpGet('http://127.0.0.1:18081/version')).body,
    web: (await httpGet('http://127.0.0.1:18082/version')).body,
    db: await dbReply()
  }
}

export const historyOf = (outputs: Record<string, string>) =>
  (JSON.parse(outputs.history ?? '[]') as { version: string; status: string }[]).map(
    r => `${r.status} ${r.version}`
  )
