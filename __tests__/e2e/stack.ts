// The example stack on the sandbox: inputs to deploy it, and ways to look at what the server runs.

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { docker, nonEmpty, readStateFile, resetProject, sandboxEnv } from './sandbox-env.js'
import { exampleStackInputs } from '../../scripts/sandbox-env.mjs'
import type { ActionRun } from '../../scripts/run-action.mjs'

export const env = sandboxEnv()
export const PROJECT = 'vdemo'
export const DEPLOY_PATH = `${env.dir}/deploy/${PROJECT}`
export const STATE = `${DEPLOY_PATH}/.deploy`
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

/** Inputs that log in as the sandbox's non-root user (`deploy`, with its own key). */
export function asDeployUser(): Record<string, string> {
  return { username: env.deployUser, key: readFileSync(env.deployKey, 'utf8') }
}

/** First in the PATH of every SSH session of the sandbox (scripts/sandbox.sh); empty by default. */
export const SHIM_DIR = `${env.dir}/shim`

/** The `::error::` line of a step, decoded (@actions/core escapes %, CR and LF). */
export function errorOf(run: ActionRun): string {
  const line = run.log.split('\n').find(l => l.startsWith('::error::')) ?? ''
  return line
    .slice('::error::'.length)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%')
}

export const server = (args: string[]) => docker(env.serverDockerHost, args)
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
  mkdirSync(DEPLOY_PATH, { recursive: true })
  const r = spawnSync('chown', [`${owner}:`, DEPLOY_PATH], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`chown ${owner}: ${DEPLOY_PATH} failed: ${r.stderr}`)
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

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    return { status: res.status, body: (await res.text()).trim() }
  } catch (e) {
    return { status: 0, body: (e as Error).message }
  }
}

/** What the stand-in database answers on its port. */
export function dbReply(port = 18083): Promise<string> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.setTimeout(3000, () => socket.destroy())
    socket.on('data', d => (data += d.toString()))
    socket.on('close', () => resolve(data.trim()))
    socket.on('error', () => resolve(''))
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
