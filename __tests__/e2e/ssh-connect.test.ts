// The real ssh2 connection code (src/remote/ssh.ts) against the sshd of the sandbox's lab hosts,
// without deploying: host keys pinned by known-hosts, a wrong key refused, and a jump host
// (host 1) whose forwarded channel carries the connection to a target on the lab's LAN (host 2),
// which this machine has no route to. Runs only `docker version` and small shell commands, so it
// can share the hosts with deploy tests.

import { spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import path from 'node:path'
import { parseOptions } from '../../src/config/parse.js'
import { INPUT_NAMES, type RawInputs } from '../../src/config/inputs.js'
import type { SshOptions } from '../../src/config/options.js'
import { connect } from '../../src/remote/ssh.js'
import type { Remote } from '../../src/remote/remote.js'
import {
  docker,
  ensureSandbox,
  eventually,
  onHostRun,
  type LabHost,
  type SandboxEnv
} from './sandbox-env.js'

const TEST_MS = 30_000
let env: SandboxEnv
let warnings: string[] = []

beforeAll(() => {
  env = ensureSandbox()
})
beforeEach(() => {
  warnings = []
})

/** SSH options from action inputs, through the same parser the action uses. */
function sshOptions(inputs: Partial<RawInputs>): SshOptions {
  const raw = Object.fromEntries(INPUT_NAMES.map(n => [n, ''])) as RawInputs
  const o = parseOptions(
    {
      ...raw,
      services: 'unused=.',
      host: env.sshHost,
      port: String(env.sshPort),
      username: env.sshUser,
      key: readFileSync(env.sshKey, 'utf8'),
      timeout: '10',
      ...inputs
    },
    { workspace: '/tmp', sha: 'e4534e6aaaabbbbcccc', now: new Date() }
  )
  if (!o.ssh) throw new Error('no SSH options')
  return o.ssh
}

const knownHosts = () => readFileSync(env.knownHosts, 'utf8')

/** Connects, runs `use`, and always closes. */
async function withRemote<T>(options: SshOptions, use: (r: Remote) => Promise<T>): Promise<T> {
  const remote = await connect(options, m => warnings.push(m))
  try {
    return await use(remote)
  } finally {
    remote.close()
  }
}

async function serverVersion(remote: Remote): Promise<string> {
  const r = await remote.run(['docker', 'version', '--format', '{{.Server.Version}}'])
  expect(r).toMatchObject({ code: 0, stderr: '' })
  return r.stdout.trim()
}

/** An ed25519 public key in known_hosts form that the sandbox does not have. */
function otherKey(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })
  // The SSH wire form: each part as a 4-byte length and its bytes; the raw key ends the DER.
  const sized = (b: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(b.length)
    return Buffer.concat([length, b])
  }
  const blob = Buffer.concat([sized(Buffer.from('ssh-ed25519')), sized(der.subarray(-32))])
  return `ssh-ed25519 ${blob.toString('base64')}`
}

/** This process's established TCP connections to the sshd of any lab host (their loopback
 *  ports on this machine), from `ss`. */
function myConnectionsToSshd(): string[] {
  const ports = env.hosts.map(h => `dport = :${h.sshPort}`).join(' or ')
  const r = spawnSync('ss', ['-Htnp', 'state', 'established', `( ${ports} )`], {
    encoding: 'utf8'
  })
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`)
  return r.stdout.split('\n').filter(l => l.includes(`pid=${process.pid},`))
}

/** Lab host `index` (1-based). */
function labHost(index: number): LabHost {
  const host = env.hosts[index - 1]
  if (!host) throw new Error(`the lab has no host ${index}: run scripts/sandbox.sh up`)
  return host
}

describe('known-hosts', () => {
  test(
    "the sandbox's known_hosts file alone pins the key; commands reach the server engine",
    async () => {
      const options = sshOptions({ 'known-hosts': knownHosts() })
      expect(options.fingerprints).toEqual([])
      const expected = docker(env.serverDockerHost, [
        'version',
        '--format',
        '{{.Server.Version}}'
      ]).trim()
      // Every engine of the lab has the same version: its ID tells host 1's apart.
      const engineId = docker(env.serverDockerHost, ['info', '--format', '{{.ID}}']).trim()
      await withRemote(options, async remote => {
        expect(await serverVersion(remote)).toBe(expected)
        // On host 1, whose own engine (its /var/run/docker.sock) answers a plain `docker`.
        const r = await remote.run([
          'sh',
          '-c',
          'echo "$((6 * 7)) $(hostname) ${DOCKER_HOST:-(default socket)}"; docker info --format "{{.ID}}"'
        ])
        expect(r).toMatchObject({
          code: 0,
          stdout: `42 ${labHost(1).name} (default socket)\n${engineId}\n`
        })
      })
      expect(warnings).toEqual([])
    },
    TEST_MS
  )

  test(
    'the same file hashed by ssh-keygen -H is accepted too',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vd-kh-'))
      try {
        const file = path.join(dir, 'known_hosts')
        writeFileSync(file, knownHosts())
        const r = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' })
        expect(r.status).toBe(0)
        const hashed = readFileSync(file, 'utf8')
        expect(hashed).toMatch(/^\|1\|/)
        await withRemote(sshOptions({ 'known-hosts': hashed }), async remote => {
          expect(await serverVersion(remote)).not.toBe('')
        })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    TEST_MS
  )

  test(
    'a line with another key for the host is refused, saying which keys differ',
    async () => {
      const other = otherKey()
      const options = sshOptions({
        'known-hosts': `# stale\n[${env.sshHost}]:${env.sshPort} ${other}`
      })
      const error = await connect(options, m => warnings.push(m)).then(
        () => new Error('connected'),
        (e: Error) => e
      )
      const fp = (s: string) => s.replace(/[+/]/g, c => `\\${c}`)
      expect(error.message).toMatch(
        new RegExp(
          `^cannot connect to root@127\\.0\\.0\\.1:${env.sshPort} over SSH: the host key of 127\\.0\\.0\\.1:${env.sshPort} is ssh-ed25519 ${fp(env.fingerprint)}, not the known-hosts key for \\[127\\.0\\.0\\.1\\]:${env.sshPort}: ssh-ed25519 SHA256:\\S+ \\(line 2\\); refusing to connect`
        )
      )
      expect(await eventually(() => myConnectionsToSshd().length === 0)).toBe(true)
    },
    TEST_MS
  )

  test(
    'a key marked @revoked is refused even with its fingerprint pinned',
    async () => {
      const [, type, key] = knownHosts().trim().split(/\s+/)
      const options = sshOptions({
        fingerprint: env.fingerprint,
        'known-hosts': `@revoked * ${type} ${key}`
      })
      await expect(connect(options, m => warnings.push(m))).rejects.toThrow(
        /is marked @revoked in known-hosts; refusing to connect/
      )
    },
    TEST_MS
  )
})

describe('jump host', () => {
  // The jump host is host 1 (through its loopback port here); the target is host 2 at its LAN
  // address, which only the lab's hosts can reach: a connection that did not go through the
  // jump host cannot get there at all.
  const jump = () => labHost(1)
  const target = () => labHost(2)
  const viaProxy = (inputs: Partial<RawInputs> = {}) =>
    sshOptions({
      host: target().lanAddress,
      port: '22',
      'proxy-host': env.sshHost,
      'proxy-port': String(jump().sshPort),
      'proxy-username': env.sshUser,
      ...inputs
    })

  /** The sandbox's known_hosts, plus host 2's key under its LAN address (port 22). */
  const knownHostsWithLan = () => {
    const key = knownHosts()
      .split('\n')
      .find(l => l.startsWith(`[127.0.0.1]:${target().sshPort} `))
      ?.split(' ')
      .slice(1)
      .join(' ')
    if (!key) throw new Error(`no line for [127.0.0.1]:${target().sshPort} in ${env.knownHosts}`)
    return `${knownHosts()}${target().lanAddress} ${key}\n`
  }

  test.each<[string, () => Partial<RawInputs>]>([
    [
      'fingerprint and proxy-fingerprint',
      () => ({ fingerprint: target().fingerprint, 'proxy-fingerprint': jump().fingerprint })
    ],
    ['known-hosts alone', () => ({ 'known-hosts': knownHostsWithLan() })]
  ])(
    'pinned by %s: the target is reached through the jump host, and close() ends both',
    async (_how, pins) => {
      const options = viaProxy(pins())
      expect(options.proxy).toMatchObject({ host: env.sshHost, port: jump().sshPort })
      const remote = await connect(options, m => warnings.push(m))
      let closedAll = false
      try {
        expect(await serverVersion(remote)).not.toBe('')
        // The target session's client end is where its TCP connection came from. Through the
        // jump host that is a socket of the jump host's sshd on the LAN, not of this process.
        const r = await remote.run(['sh', '-c', 'hostname; echo "$SSH_CONNECTION"'])
        expect(r.code).toBe(0)
        const [name = '', connection = ''] = r.stdout.trim().split('\n')
        expect(name).toBe(target().name)
        const [from = '', port = '', to = ''] = connection.split(' ')
        expect([from, to]).toEqual([jump().lanAddress, target().lanAddress])
        expect(port).toMatch(/^\d+$/)
        const owner = onHostRun(jump(), [
          'ss',
          '-Htnp',
          'state',
          'established',
          `( sport = :${port} )`
        ])
        expect(owner).toContain(`${jump().lanAddress}:${port}`)
        expect(owner).toContain(`${target().lanAddress}:22`)
        expect(owner).toMatch(/users:\(\("sshd[^"]*",pid=\d+/)
        expect(owner).not.toContain(`pid=${process.pid},`)
        // The target's sshd logged that login as coming from that port of the jump host.
        expect(readFileSync(path.join(target().dir, 'ssh', 'sshd.log'), 'utf8')).toContain(
          `Accepted publickey for root from ${jump().lanAddress} port ${port} `
        )
        // This process holds one connection to the lab's sshds (the jump host's), not two.
        const mine = myConnectionsToSshd()
        expect(mine).toHaveLength(1)
        expect(mine[0]).toContain(`127.0.0.1:${jump().sshPort} `)
        remote.close()
        closedAll = await eventually(() => myConnectionsToSshd().length === 0)
      } finally {
        remote.close()
      }
      expect(closedAll).toBe(true)
      expect(warnings).toEqual([])
    },
    TEST_MS
  )

  test(
    'a wrong jump host key is refused before the target is tried',
    async () => {
      const options = viaProxy({
        fingerprint: target().fingerprint,
        'proxy-fingerprint': `SHA256:${'A'.repeat(43)}`
      })
      await expect(connect(options, m => warnings.push(m))).rejects.toThrow(
        new RegExp(
          `^cannot connect to the jump host root@127\\.0\\.0\\.1:${env.sshPort} over SSH: the host key of 127\\.0\\.0\\.1:${env.sshPort} is ssh-ed25519 \\S+, not the pinned fingerprint`
        )
      )
      expect(await eventually(() => myConnectionsToSshd().length === 0)).toBe(true)
    },
    TEST_MS
  )

  test(
    'a target the jump host cannot reach is reported as such',
    async () => {
      // Port 1 on the jump host's own loopback: nothing listens there, so its connect is
      // refused.
      const options = viaProxy({
        host: '127.0.0.1',
        port: '1',
        fingerprint: target().fingerprint,
        'proxy-fingerprint': jump().fingerprint
      })
      await expect(connect(options, m => warnings.push(m))).rejects.toThrow(
        /^the jump host root@127\.0\.0\.1:\d+ cannot open a connection to 127\.0\.0\.1:1: .*TCP forwarding/
      )
      expect(await eventually(() => myConnectionsToSshd().length === 0)).toBe(true)
    },
    TEST_MS
  )
})

describe('a link that delivers everything at once', () => {
  // A relay that holds the server's bytes for 30 ms and hands them over in one write, as a slow
  // or batching link does: the exec reply, the output, the exit status and the close of a fast
  // command then reach ssh2 in one read. Found in the fault tests: the exit status was lost
  // ("the channel closed before it exited") when the command's listeners were attached only
  // after the exec callback's promise resolved. It fails without the fix in src/remote/ssh.ts.
  let relay: net.Server
  let port = 0
  beforeAll(async () => {
    relay = net.createServer(client => {
      const upstream = net.connect(env.sshPort, '127.0.0.1')
      client.pipe(upstream)
      let held: Buffer[] = []
      let timer: NodeJS.Timeout | undefined
      upstream.on('data', (chunk: Buffer) => {
        held.push(chunk)
        timer ??= setTimeout(() => {
          client.write(Buffer.concat(held))
          held = []
          timer = undefined
        }, 30)
      })
      upstream.on('close', () => client.end())
      for (const s of [client, upstream]) s.on('error', () => undefined)
    })
    await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', resolve))
    port = (relay.address() as net.AddressInfo).port
  })
  afterAll(() => new Promise<void>(resolve => relay.close(() => resolve())))

  test(
    'every fast command keeps its exit status and output',
    async () => {
      const results = await withRemote(
        sshOptions({ port: String(port), fingerprint: env.fingerprint }),
        async remote => {
          const out: string[] = []
          for (let i = 0; i < 30; i++) {
            const r = await remote.run([
              'sh',
              '-c',
              'echo "ok $1"; exit $(( $1 % 3 ))',
              'sh',
              String(i)
            ])
            out.push(`${r.code} ${r.stdout.trim()}`)
          }
          return out
        }
      )
      expect(results).toEqual(Array.from({ length: 30 }, (_, i) => `${i % 3} ok ${i}`))
    },
    TEST_MS
  )
})
