// Reads what `scripts/sandbox.sh env` prints: where the sandbox server, its sshd and its
// registries are (one open, one that requires a login). Shared by the end-to-end tests and
// the demo.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'sandbox.sh')

/**
 * `registry` needs no login; `authRegistry` (host:port) requires one: user `registryUser`,
 * password in the file `registryPasswordFile` (mode 0600, no trailing newline).
 * `sshUser` (root) logs in with `sshKey`; `deployUser`, a non-root user in the group of the
 * server engine's socket, with `deployKey`.
 * @typedef {{ sshHost: string, sshPort: number, sshUser: string, sshKey: string,
 *   deployUser: string, deployKey: string,
 *   fingerprint: string, knownHosts: string, serverDockerHost: string,
 *   runnerDockerHost: string, registry: string, authRegistry: string,
 *   registryUser: string, registryPasswordFile: string, dir: string }} SandboxEnv
 * @returns {SandboxEnv}
 */
export function readSandboxEnv() {
  const text = execFileSync('bash', [SCRIPT, 'env'], { encoding: 'utf8' })
  /** @type {Record<string, string>} */
  const vars = {}
  for (const line of text.split('\n')) {
    const m = /^(VD_[A-Z_]+)=(.*)$/.exec(line.trim())
    if (m && m[1]) vars[m[1]] = (m[2] ?? '').replace(/^'(.*)'$/, '$1')
  }
  /** @param {string} name */
  const get = name => {
    const value = vars[name]
    if (!value)
      throw new Error(
        `scripts/sandbox.sh env did not print ${name}: run 'bash scripts/sandbox.sh up'`
      )
    return value
  }
  return {
    sshHost: get('VD_SSH_HOST'),
    sshPort: Number(get('VD_SSH_PORT')),
    sshUser: get('VD_SSH_USER'),
    sshKey: get('VD_SSH_KEY'),
    deployUser: get('VD_DEPLOY_USER'),
    deployKey: get('VD_DEPLOY_KEY'),
    fingerprint: get('VD_SSH_FINGERPRINT'),
    knownHosts: get('VD_KNOWN_HOSTS'),
    serverDockerHost: get('VD_SERVER_DOCKER_HOST'),
    runnerDockerHost: get('VD_RUNNER_DOCKER_HOST'),
    registry: get('VD_REGISTRY'),
    authRegistry: get('VD_AUTH_REGISTRY'),
    registryUser: get('VD_REGISTRY_USER'),
    registryPasswordFile: get('VD_REGISTRY_PASSWORD_FILE'),
    dir: get('VD_SANDBOX_DIR')
  }
}

/**
 * Inputs that deploy the example stack's images (api, web, db built from examples/stack) to
 * the sandbox server. Shared by the demo and the end-to-end tests.
 * @param {SandboxEnv} env
 * @param {{ project: string, composeFile: string, deployPath: string, healthchecks: string }} stack
 * @returns {Record<string, string>}
 */
export function exampleStackInputs(env, stack) {
  return {
    project: stack.project,
    services: ['api', 'web', 'db'].map(s => `${s}=examples/stack:${s}.Dockerfile`).join('\n'),
    'compose-file': stack.composeFile,
    host: env.sshHost,
    port: String(env.sshPort),
    username: env.sshUser,
    key: readFileSync(env.sshKey, 'utf8'),
    fingerprint: env.fingerprint,
    'deploy-path': stack.deployPath,
    healthchecks: stack.healthchecks,
    'healthcheck-interval': '1'
  }
}
