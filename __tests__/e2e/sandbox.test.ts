// Proves the sandbox of scripts/sandbox.sh is what the deploy tests take it for: the runner's
// engine and a lab of server hosts, each with its own hostname, engine, /srv, loopback, sshd and
// host key, on a LAN of their own, reached from this machine only through a loopback port each;
// an open registry every engine can use and one that requires a login. In this machine's own
// network namespace the sandbox listens on 127.0.0.1 only and adds no address and no route.

import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {
  docker,
  ensureSandbox,
  eventually,
  hasImage,
  hostFetch,
  hostPath,
  nonEmpty,
  onHostRun,
  sshArgs,
  ssh,
  type LabHost,
  type SandboxEnv
} from './sandbox-env.js'

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

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

/** What `f` returns, or '' when it throws. */
function safe(f: () => string): string {
  try {
    return f()
  } catch {
    return ''
  }
}

/** A docker command on `host`'s engine whose failure does not matter (clean-up). */
function spawnSafe(host: LabHost, args: string[]): void {
  safe(() => docker(host.dockerHost, args))
}

/** GET a URL on lab host `host`'s own loopback until it answers 200 or `ms` pass; the body. */
async function getWhenUp(host: LabHost, url: string, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms
  let last = 'no answer'
  while (Date.now() < deadline) {
    const res = await hostFetch(host, url, 2_000)
    if (res.status === 200) return res.body
    last = res.status ? `HTTP ${res.status}` : res.body
    await sleep(250)
  }
  throw new Error(`${url} on ${host.name} did not answer 200 within ${ms} ms (last: ${last})`)
}

/** Whether anything accepts a connection on this machine's own 127.0.0.1:`port`. */
function runnerPortOpen(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)))
    socket.on('connect', () => (socket.destroy(), resolve(true)))
    socket.on('error', () => resolve(false))
  })
}

/** OpenSSH client arguments for lab host `host` (its own port; every host key is known). */
const sshArgsFor = (host: LabHost, login: 'root' | 'deploy' = 'root') =>
  sshArgs({ ...env, sshPort: host.sshPort }, login)

/** Run a shell command on lab host `host` over OpenSSH. */
const sshTo = (host: LabHost, command: string) =>
  execFileSync('ssh', [...sshArgsFor(host), command], { encoding: 'utf8', timeout: 60_000 })

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

  it("runs the example image on the server on a bridge network, its port published on the server's loopback only", async () => {
    if (!hasImage(env.serverDockerHost, image)) await saveThroughSsh(image)
    // Not the stack's 18081, which a deployed stack may hold.
    const port = 18981
    const name = `vd-e2e-api-${id}`
    const host = env.hosts[0] as LabHost
    try {
      docker(env.serverDockerHost, [
        'run',
        '-d',
        '--name',
        name,
        '-p',
        `127.0.0.1:${port}:18081`,
        image
      ])
      // The container has an address of its own on the host's default bridge.
      const address = docker(env.serverDockerHost, [
        'inspect',
        '--format',
        '{{.NetworkSettings.IPAddress}}',
        name
      ]).trim()
      expect(address).toMatch(/^172\.(1[6-9]|2\d|3[01])\.\d+\.\d+$/)
      expect(await getWhenUp(host, `http://127.0.0.1:${port}/health`)).toBe('ok')
      expect(await getWhenUp(host, `http://127.0.0.1:${port}/version`)).toBe(version)
      // The server's loopback is its own: nothing answers on this machine's.
      expect(await runnerPortOpen(port)).toBe(false)

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
      // Pulled the way the action would: a command on each host, over ssh, from the registry
      // on that host's own 127.0.0.1 (the same name everywhere).
      for (const host of env.hosts) {
        expect([host.name, hasImage(host.dockerHost, ref)]).toEqual([host.name, false])
        sshTo(host, `docker pull -q ${ref}`)
        expect([host.name, imageId(host.dockerHost, ref)]).toEqual([
          host.name,
          imageId(env.runnerDockerHost, image)
        ])
      }
    } finally {
      removeImages(env.runnerDockerHost, ref)
      for (const host of env.hosts) removeImages(host.dockerHost, ref)
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
    // The default socket on the server is the server's own engine: the runner's is not there.
    const serverId = docker(env.serverDockerHost, ['info', '--format', '{{.ID}}']).trim()
    const runnerId = docker(env.runnerDockerHost, ['info', '--format', '{{.ID}}']).trim()
    expect(asDeploy('docker -H unix:///var/run/docker.sock info --format "{{.ID}}"')).toBe(
      `${serverId}\nexit 0`
    )
    expect(serverId).not.toBe(runnerId)
    // Nor may the user write in /srv, which holds the deploy paths (root's, as on a server where
    // an admin made the deploy path and gave it to the user).
    expect(asDeploy('touch /srv/x 2>/dev/null')).toBe('exit 1')
  })

  test('three lab hosts: each its own hostname, host key, engine, /srv and loopback, on a LAN of their own', () => {
    expect(env.hosts.map(h => h.name)).toEqual(['host1', 'host2', 'host3'])
    expect(new Set(env.hosts.map(h => h.sshPort)).size).toBe(3)
    expect(new Set(env.hosts.map(h => h.fingerprint)).size).toBe(3)
    const ids = env.hosts.map(h => docker(h.dockerHost, ['info', '--format', '{{.ID}}']).trim())
    expect(
      new Set([...ids, docker(env.runnerDockerHost, ['info', '--format', '{{.ID}}'])]).size
    ).toBe(4)
    const mark = `vd-e2e-srv-${id}`
    try {
      env.hosts.forEach((host, i) => {
        // Over SSH through its loopback port: its own name, and its own engine by default.
        expect(sshTo(host, 'hostname; docker info --format "{{.Name}} {{.ID}}"')).toBe(
          `${host.name}\n${host.name} ${ids[i]}\n`
        )
        // Its /srv is its own folder: a file made there is on no other host, nor in this
        // machine's /srv.
        sshTo(host, `echo ${host.name} > /srv/${mark}`)
        expect(readFileSync(hostPath(host, `/srv/${mark}`), 'utf8')).toBe(`${host.name}\n`)
      })
      expect(existsSync(`/srv/${mark}`)).toBe(false)
      // Its network: loopback and eth0 on the LAN; a route only to the LAN (no gateway: nothing
      // leads out of the lab); the hosts reach each other's sshd over it.
      for (const host of env.hosts) {
        const routes = nonEmpty(onHostRun(host, ['ip', 'route', 'show', 'table', 'main']))
        expect(routes.filter(r => r.startsWith('default'))).toEqual([])
        expect(routes).toContain(
          `10.77.0.0/24 dev eth0 proto kernel scope link src ${host.lanAddress}`
        )
        for (const other of env.hosts) {
          const reach = onHostRun(host, [
            'bash',
            '-c',
            `exec 3<>/dev/tcp/${other.lanAddress}/22 && head -c 4 <&3`
          ])
          expect([host.name, other.name, reach]).toEqual([host.name, other.name, 'SSH-'])
        }
      }
    } finally {
      for (const host of env.hosts) rmSync(hostPath(host, `/srv/${mark}`), { force: true })
    }
  })

  test("the ingress image (vd-caddy:2, from Debian's caddy package) is on every lab host; driven by its admin API it routes a host name to a container, moves the route without cutting a request in flight, and counts the old upstream's requests while a drain route names it", async () => {
    for (const host of env.hosts) expect(hasImage(host.dockerHost, 'vd-caddy:2')).toBe(true)
    const host = env.hosts[1] as LabHost
    const on = (args: string[]) => docker(host.dockerHost, args).trim()
    const net = `vd-e2e-ingress-${id}`
    const apps = ['a', 'b'].map(n => `vd-e2e-app-${n}-${id}`)
    const [a = '', b = ''] = apps
    const ingress = `vd-e2e-ingress-${id}`
    const port = 18480
    /** The admin API, from inside the ingress container (it listens on its own loopback only). */
    const admin = (path: string, body?: string) =>
      on([
        'exec',
        ingress,
        'wget',
        '-q',
        '-O-',
        ...(body === undefined
          ? []
          : ['--header', 'Content-Type: application/json', '--post-data', body]),
        `http://127.0.0.1:2019${path}`
      ])
    const curl = (path: string) => [
      'curl',
      '-sS',
      '-m',
      '10',
      '-H',
      'Host: app.test',
      `http://127.0.0.1:${port}${path}`
    ]
    const through = (path: string) => onHostRun(host, curl(path))
    /** The route for app.test to `app`, and (drain) a route that matches nothing naming `old`. */
    const routes = (app: string, old?: string) => ({
      apps: {
        http: {
          servers: {
            ingress: {
              listen: [':80'],
              routes: [
                {
                  '@id': 'vd-probe',
                  match: [{ host: ['app.test'] }],
                  handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `${app}:8080` }] }]
                },
                ...(old
                  ? [
                      {
                        '@id': 'vd-probe-drain',
                        match: [{ host: ['drain.invalid'] }],
                        handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `${old}:8080` }] }]
                      }
                    ]
                  : [])
              ]
            }
          }
        }
      }
    })
    const inFlight = (app: string) =>
      (
        JSON.parse(admin('/reverse_proxy/upstreams')) as { address: string; num_requests: number }[]
      ).find(u => u.address === `${app}:8080`)?.num_requests
    try {
      on(['network', 'create', net])
      // The image has a busybox shell: it serves as the apps too (its name, and a 2 s page).
      for (const app of apps) {
        on([
          'run',
          '-d',
          '--name',
          app,
          '--network',
          net,
          'vd-caddy:2',
          'sh',
          '-c',
          `mkdir -p /www/cgi-bin && echo ${app} > /www/name && printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\nsleep 2\\necho slow ${app}\\n" > /www/cgi-bin/slow && chmod +x /www/cgi-bin/slow && exec httpd -f -p 8080 -h /www`
        ])
      }
      on([
        'run',
        '-d',
        '--name',
        ingress,
        '--network',
        net,
        '-p',
        `127.0.0.1:${port}:80`,
        'vd-caddy:2'
      ])
      expect(await eventually(() => /sandbox ingress/.test(safe(() => through('/'))))).toBe(true)
      admin('/load', JSON.stringify(routes(a)))
      expect(through('/name')).toBe(`${a}\n`)
      expect(JSON.parse(admin('/id/vd-probe/handle/0/upstreams'))).toEqual([{ dial: `${a}:8080` }])
      // A slow request in flight shows in its upstream's count.
      const slow = spawn('nsenter', [`--net=${host.netNs}`, '--', ...curl('/cgi-bin/slow')])
      let answer = ''
      slow.stdout.on('data', (d: Buffer) => (answer += d.toString()))
      const done = new Promise(r => slow.on('close', r))
      expect(await eventually(() => inFlight(a) === 1)).toBe(true)
      // The route moves to b while it runs: new requests reach b at once; the drain route keeps
      // a's count in sight (without it, a would vanish from the list with its request running).
      admin('/load', JSON.stringify(routes(b, a)))
      expect(through('/name')).toBe(`${b}\n`)
      expect(inFlight(a)).toBe(1)
      await done
      expect(answer).toBe(`slow ${a}\n`)
      expect(inFlight(a)).toBe(0)
    } finally {
      for (const c of [ingress, ...apps]) spawnSafe(host, ['rm', '-f', c])
      spawnSafe(host, ['network', 'rm', net])
    }
  })

  test("this machine's own network namespace: no address or route added, the sandbox listens on 127.0.0.1 only", () => {
    // The addresses and routes recorded before the lab was made are exactly today's.
    const now = execFileSync('bash', ['scripts/sandbox.sh', 'net-state'], { encoding: 'utf8' })
    expect(now).toBe(readFileSync(env.rootNetBefore, 'utf8'))
    expect(now).not.toMatch(/10\.77\.|vd-|lan0|docker0/)
    // Every TCP listener of the sandbox's programs here is on 127.0.0.1.
    const listeners = nonEmpty(execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })).filter(l =>
      /"(socat|sshd|dockerd|containerd|docker-proxy|docker-registry)"/.test(l)
    )
    expect(listeners.length).toBeGreaterThanOrEqual(5) // 3 SSH ports, 2 registries
    for (const line of listeners) expect(line.split(/\s+/)[3]).toMatch(/^127\.0\.0\.1:\d+$/)
    // The lab's namespaces.
    expect(
      nonEmpty(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }))
        .map(l => l.split(' ')[0])
        .sort()
    ).toEqual(expect.arrayContaining(['vd-h1', 'vd-h2', 'vd-h3', 'vd-lan']))
  })
})
