// Reads what `scripts/sandbox.sh env` prints: the runner's engine, the lab's server hosts (each
// with its own SSH port, host key, engine, /srv and loopback), and the registries (one open, one
// that requires a login). Shared by the end-to-end tests, the demo and the benchmark.
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'sandbox.sh')

/**
 * One server host of the lab. `dir` is its folder on the machine: its /srv is `dir/srv` and its
 * /run `dir/run` (hostPath maps a path on the host to the machine). `netNs`, `mountNs` and
 * `utsNs` are the files nsenter enters it by (onHost).
 * @typedef {{ index: number, name: string, sshPort: number, fingerprint: string,
 *   dockerHost: string, lanAddress: string, dir: string, netNs: string, mountNs: string,
 *   utsNs: string }} LabHost
 */

/**
 * `registry` needs no login; `authRegistry` (host:port) requires one: user `registryUser`,
 * password in the file `registryPasswordFile` (mode 0600, no trailing newline).
 * `sshUser` (root) logs in with `sshKey`; `deployUser`, a non-root user in the group of each
 * host's engine socket, with `deployKey` (the same keys on every host). `sshHost`, `sshPort`,
 * `fingerprint` and `serverDockerHost` are host 1's, the single-server suites' server;
 * `knownHosts` lists every host's key. `rootNetBefore` is the file where `up` recorded the
 * machine's own addresses and routes before it made the lab (`sandbox.sh net-state` prints them
 * now).
 * @typedef {{ sshHost: string, sshPort: number, sshUser: string, sshKey: string,
 *   deployUser: string, deployKey: string,
 *   fingerprint: string, knownHosts: string, serverDockerHost: string,
 *   runnerDockerHost: string, registry: string, authRegistry: string,
 *   registryUser: string, registryPasswordFile: string, dir: string,
 *   hosts: LabHost[], rootNetBefore: string }} SandboxEnv
 * @returns {SandboxEnv}
 */
export function readSandboxEnv() {
  const text = execFileSync('bash', [SCRIPT, 'env'], { encoding: 'utf8' })
  /** @type {Record<string, string>} */
  const vars = {}
  for (const line of text.split('\n')) {
    const m = /^(VD_[A-Z0-9_]+)=(.*)$/.exec(line.trim())
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
  const count = Number(get('VD_LAB_HOSTS'))
  const hosts = Array.from({ length: count }, (_, i) => {
    const k = `VD_HOST${i + 1}_`
    return {
      index: i + 1,
      name: get(`${k}NAME`),
      sshPort: Number(get(`${k}SSH_PORT`)),
      fingerprint: get(`${k}FINGERPRINT`),
      dockerHost: get(`${k}DOCKER_HOST`),
      lanAddress: get(`${k}LAN_ADDRESS`),
      dir: get(`${k}DIR`),
      netNs: get(`${k}NET_NS`),
      mountNs: get(`${k}MOUNT_NS`),
      utsNs: get(`${k}UTS_NS`)
    }
  })
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
    dir: get('VD_SANDBOX_DIR'),
    hosts,
    rootNetBefore: get('VD_ROOT_NET_BEFORE')
  }
}

/**
 * Where a path on lab host `host` is on the machine: the host's /srv and /run are folders of
 * its own; every other path is the machine's own.
 * @param {LabHost} host @param {string} file an absolute path on the host
 */
export function hostPath(host, file) {
  for (const own of ['/srv', '/run']) {
    if (file === own || file.startsWith(`${own}/`)) return `${host.dir}${file}`
  }
  return file
}

/**
 * A command line that runs `argv` inside lab host `host` (its network, mount and UTS
 * namespaces), as `scripts/sandbox.sh exec K` does.
 * @param {LabHost} host @param {string[]} argv
 */
export function onHost(host, argv) {
  return [
    'nsenter',
    `--net=${host.netNs}`,
    `--mount=${host.mountNs}`,
    `--uts=${host.utsNs}`,
    '--',
    ...argv
  ]
}

/**
 * GET `url` from inside lab host `host` (its own loopback): the status (0 when nothing
 * answered) and the body, trimmed.
 * @param {LabHost} host @param {string} url @param {number} [timeoutMs]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, body: string }>}
 */
export function hostFetch(host, url, timeoutMs = 3000, headers = {}) {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)))
  const argv = ['nsenter', `--net=${host.netNs}`, '--']
  argv.push('curl', '-sS', '-m', seconds, '-w', '\n%{http_code}')
  for (const [name, v] of Object.entries(headers)) argv.push('-H', `${name}: ${v}`)
  argv.push(url)
  return new Promise(resolve => {
    execFile(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' }, (error, stdout, stderr) => {
      const at = stdout.lastIndexOf('\n')
      const status = Number(stdout.slice(at + 1)) || 0
      if (error || status === 0) {
        resolve({ status: 0, body: (stderr || String(error ?? '')).trim() })
      } else resolve({ status, body: stdout.slice(0, at).trim() })
    })
  })
}

/**
 * Connect to 127.0.0.1:`port` inside lab host `host` and return what it says before it closes
 * (at most 3 s; '' when nothing answered).
 * @param {LabHost} host @param {number} port
 * @returns {Promise<string>}
 */
export function hostTcpRead(host, port) {
  const argv = ['nsenter', `--net=${host.netNs}`, '--', 'busybox', 'nc', '-w', '3']
  argv.push('127.0.0.1', String(port))
  return new Promise(resolve => {
    const child = execFile(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' }, (_e, stdout) =>
      resolve(stdout.trim())
    )
    child.stdin?.end()
  })
}

/**
 * Inputs that deploy the example stack's images (api, web, db built from examples/stack) to
 * lab host 1. Shared by the demo and the end-to-end tests.
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
