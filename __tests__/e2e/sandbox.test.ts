// Proves the sandbox of scripts/sandbox.sh is what the deploy tests take it for: two
// separate Docker engines, the server's reached through a real OpenSSH server, an open
// registry both can use and one that requires a login. Everything runs on 127.0.0.1.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { docker, ensureSandbox, hasImage, sshArgs, ssh, type SandboxEnv } from './sandbox-env.js'

// `npm run test:e2e` runs `scripts/sandbox.sh up` first; beforeAll runs it only if
// `env` finds no sandbox.
let env: SandboxEnv
const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
const version = `e2e-${id}`
// Its own repository name, so nothing here touches the example stack's vdemo-* images.
const image = `vd-e2e-sandbox/api:${id}`

/** `docker save` on the runner, piped through the OpenSSH client into `docker load` on the server. */
function saveThroughSsh(ref: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const save = spawn('docker', ['save', ref], {
      env: { ...process.env, DOCKER_HOST: env.runnerDockerHost },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const load = spawn('ssh', [...sshArgs(env), 'docker load'], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let saveErr = ''
    let loadOut = ''
    let loadErr = ''
    save.stderr.on('data', d => (saveErr += d))
    load.stdout.on('data', d => (loadOut += d))
    load.stderr.on('data', d => (loadErr += d))
    save.stdout.pipe(load.stdin)
    const exits = [save, load].map(
      p =>
        new Promise<number | null>((done, fail) => {
          p.on('error', fail)
          p.on('close', code => done(code))
        })
    )
    Promise.all(exits).then(([saveCode, loadCode]) => {
      if (saveCode !== 0) reject(new Error(`docker save exited with ${saveCode}: ${saveErr}`))
      else if (loadCode !== 0)
        reject(new Error(`ssh … docker load exited with ${loadCode}: ${loadErr}`))
      else resolve(loadOut)
    }, reject)
  })
}

/** A TCP port that is free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** GET a URL on loopback until it answers 200 or `ms` pass; returns the body. */
async function getWhenUp(url: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms
  let last = 'no answer'
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      const body = await res.text()
      if (res.status === 200) return body
      last = `HTTP ${res.status}`
    } catch (err) {
      last = String(err)
    }
    await sleep(250)
  }
  throw new Error(`${url} did not answer 200 within ${ms} ms (last: ${last})`)
}

function imageId(host: string, ref: string): string {
  return docker(host, ['image', 'inspect', '--format', '{{.Id}}', ref]).trim()
}

/** The refusal of a registry that wants a login (docker's wording varies by command). */
const unauthorized = /no basic auth credentials|unauthorized|401/i

/** Remove image tags, ignoring ones that are already gone. */
function removeImages(host: string, ...refs: string[]): void {
  for (const ref of refs) {
    if (hasImage(host, ref)) docker(host, ['image', 'rm', ref])
  }
}

describe('the sandbox', () => {
  beforeAll(() => {
    env = ensureSandbox()
    // The example stack's api image, built on the runner as the action would build it.
    docker(env.runnerDockerHost, [
      'build',
      '-q',
      '-f',
      'examples/stack/api.Dockerfile',
      '--build-arg',
      `DEPLOY_VERSION=${version}`,
      '-t',
      image,
      'examples/stack'
    ])
  })

  afterAll(() => {
    if (!env) return
    removeImages(env.runnerDockerHost, image)
    removeImages(env.serverDockerHost, image)
  })

  it('has two engines: an image built on the runner reaches the server only through ssh', async () => {
    expect(env.serverDockerHost).not.toBe(env.runnerDockerHost)
    const runnerId = docker(env.runnerDockerHost, ['info', '--format', '{{.ID}}']).trim()
    const serverId = docker(env.serverDockerHost, ['info', '--format', '{{.ID}}']).trim()
    expect(serverId).not.toBe(runnerId)
    // SSH sessions on the server talk to the server's engine.
    expect(ssh(env, 'docker info --format "{{.ID}}"').trim()).toBe(serverId)

    expect(hasImage(env.runnerDockerHost, image)).toBe(true)
    expect(hasImage(env.serverDockerHost, image)).toBe(false)

    const out = await saveThroughSsh(image)
    expect(out).toContain(`Loaded image: ${image}`)
    expect(hasImage(env.serverDockerHost, image)).toBe(true)
    expect(imageId(env.serverDockerHost, image)).toBe(imageId(env.runnerDockerHost, image))
  })

  it('runs the example image on the server, answering on loopback', async () => {
    if (!hasImage(env.serverDockerHost, image)) await saveThroughSsh(image)
    // A free port rather than the stack's 18081, which a deployed stack may hold.
    const port = await freePort()
    const name = `vd-e2e-api-${id}`
    try {
      docker(env.serverDockerHost, [
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'host',
        '-e',
        `PORT=${port}`,
        image
      ])
      expect(await getWhenUp(`http://127.0.0.1:${port}/health`)).toBe('ok')
      expect(await getWhenUp(`http://127.0.0.1:${port}/version`)).toBe(version)

      // Docker's own health check passes on the server's engine...
      const deadline = Date.now() + 30_000
      let health = ''
      while (Date.now() < deadline) {
        health = docker(env.serverDockerHost, [
          'inspect',
          '--format',
          '{{.State.Health.Status}}',
          name
        ]).trim()
        if (health !== 'starting') break
        await sleep(500)
      }
      expect(health).toBe('healthy')
      // ...and the container lives there, not on the runner.
      expect(docker(env.runnerDockerHost, ['ps', '-a', '--format', '{{.Names}}'])).not.toContain(
        name
      )
    } finally {
      docker(env.serverDockerHost, ['rm', '-f', name])
    }
  })

  it('has a registry the runner pushes to and the server pulls from', async () => {
    const repo = 'vd-e2e-sandbox/registry-check'
    const ref = `${env.registry}/${repo}:${id}`
    try {
      docker(env.runnerDockerHost, ['tag', image, ref])
      docker(env.runnerDockerHost, ['push', ref])
      expect(hasImage(env.serverDockerHost, ref)).toBe(false)
      // Pulled the way the action would: a command on the server, over ssh.
      ssh(env, `docker pull ${ref}`)
      expect(hasImage(env.serverDockerHost, ref)).toBe(true)
      expect(imageId(env.serverDockerHost, ref)).toBe(imageId(env.runnerDockerHost, image))
    } finally {
      removeImages(env.runnerDockerHost, ref)
      removeImages(env.serverDockerHost, ref)
      // Delete the tag's manifest from the registry (storage.delete is enabled).
      const manifestUrl = `http://${env.registry}/v2/${repo}/manifests/${id}`
      const head = await fetch(manifestUrl, {
        method: 'HEAD',
        headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' }
      })
      const digest = head.headers.get('docker-content-digest')
      if (head.ok && digest) {
        const del = await fetch(`http://${env.registry}/v2/${repo}/manifests/${digest}`, {
          method: 'DELETE'
        })
        expect(del.status).toBe(202)
      }
    }
  })

  it('has a registry that takes pushes and pulls only after a login with its password', async () => {
    const repo = 'vd-e2e-sandbox/auth-check'
    const ref = `${env.authRegistry}/${repo}:${id}`
    const password = readFileSync(env.registryPasswordFile, 'utf8')
    expect(password).toMatch(/^[A-Za-z0-9_-]{24,}$/)
    // A throw-away client configuration: no login lands in (or comes from) ~/.docker.
    const dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-docker-config-'))
    const configJson = path.join(dockerConfig, 'config.json')
    const withConfig = { env: { DOCKER_CONFIG: dockerConfig } }
    const login = (secret: string) =>
      docker(
        env.runnerDockerHost,
        ['login', '--username', env.registryUser, '--password-stdin', env.authRegistry],
        { ...withConfig, input: secret }
      )
    // The same on the server, over ssh, in a directory of its own there.
    let serverConfig = ''
    try {
      const anonymous = await fetch(`http://${env.authRegistry}/v2/`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="vd-sandbox"')

      docker(env.runnerDockerHost, ['tag', image, ref])
      expect(() => docker(env.runnerDockerHost, ['push', ref], withConfig)).toThrow(unauthorized)
      expect(() => login(`${password}x`)).toThrow(unauthorized)
      expect(existsSync(configJson) ? readFileSync(configJson, 'utf8') : '').not.toContain(
        env.authRegistry
      )
      expect(login(password)).toContain('Login Succeeded')
      expect(readFileSync(configJson, 'utf8')).toContain(env.authRegistry)
      docker(env.runnerDockerHost, ['push', ref], withConfig)

      serverConfig = ssh(env, 'mktemp -d').trim()
      expect(serverConfig).toMatch(/^\/[\w./-]+$/)
      const serverDocker = `DOCKER_CONFIG=${serverConfig} docker`
      expect(() => ssh(env, `${serverDocker} pull ${ref}`)).toThrow(unauthorized)
      expect(hasImage(env.serverDockerHost, ref)).toBe(false)
      ssh(
        env,
        `${serverDocker} login --username ${env.registryUser} --password-stdin ${env.authRegistry}`,
        { input: password }
      )
      ssh(env, `${serverDocker} pull ${ref}`)
      expect(hasImage(env.serverDockerHost, ref)).toBe(true)
      expect(imageId(env.serverDockerHost, ref)).toBe(imageId(env.runnerDockerHost, image))
    } finally {
      rmSync(dockerConfig, { recursive: true, force: true })
      if (serverConfig) ssh(env, `rm -rf ${serverConfig}`)
      removeImages(env.runnerDockerHost, ref)
      removeImages(env.serverDockerHost, ref)
      // Delete the tag's manifest, logged in this time.
      const authorization = `Basic ${Buffer.from(`${env.registryUser}:${password}`).toString('base64')}`
      const manifestUrl = `http://${env.authRegistry}/v2/${repo}/manifests/${id}`
      const head = await fetch(manifestUrl, {
        method: 'HEAD',
        headers: {
          Accept: 'application/vnd.docker.distribution.manifest.v2+json',
          Authorization: authorization
        }
      })
      const digest = head.headers.get('docker-content-digest')
      if (head.ok && digest) {
        const del = await fetch(`http://${env.authRegistry}/v2/${repo}/manifests/${digest}`, {
          method: 'DELETE',
          headers: { Authorization: authorization }
        })
        expect(del.status).toBe(202)
      }
    }
  })

  test('the server has Compose v2 and v1, and a non-root deploy user who can use its engine and no other', () => {
    for (const login of ['root', 'deploy'] as const) {
      const say = (command: string) => ssh(env, command, { login }).trim()
      expect([login, say('docker compose version --short')]).toEqual([
        login,
        expect.stringMatching(/^2\.\d+\.\d+/)
      ])
      expect([login, say('docker-compose version --short')]).toEqual([
        login,
        expect.stringMatching(/^1\.29\./)
      ])
    }
    const asDeploy = (command: string) =>
      ssh(env, `${command}; echo "exit $?"`, { login: 'deploy' }).trim()
    expect(asDeploy('id -un; id -u')).toMatch(/^deploy\n[1-9]\d*\nexit 0$/)
    // The server engine, through the group of its socket.
    expect(asDeploy('docker version --format "{{.Server.Version}}" >/dev/null')).toBe('exit 0')
    expect(asDeploy('id -nG')).toMatch(/\bvd-docker\b/)
    // Not the runner's engine, nor the folder that holds the deploy paths (root's, as on a
    // server where an admin made the deploy path and gave it to the user).
    mkdirSync(`${env.dir}/deploy`, { recursive: true })
    expect(asDeploy(`docker -H ${env.runnerDockerHost} version >/dev/null 2>&1`)).toBe('exit 1')
    expect(asDeploy(`touch ${env.dir}/deploy/x 2>/dev/null`)).toBe('exit 1')
  })
})
