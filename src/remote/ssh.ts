// Moving bytes over the one SSH connection of a run: commands, streams into commands, and
// tunnels to ports on the server's side. Knows nothing of deploy policy. The connection may
// run through a jump host (options.proxy), like ssh -J: one more login, one forwarded channel.

import { Client, type ClientChannel } from 'ssh2'
import type { Duplex } from 'node:stream'
import type { SshEndpoint, SshOptions } from '../config/options.js'
import { describeKey, hostKeyAlgorithms, verifyHostKey } from './host-key.js'
import { shJoin } from './quote.js'
import { feed } from './feed.js'
import type { Argv } from './commands.js'
import type { ExecResult, Remote } from './remote.js'

/**
 * What a failed command said: the last `lines` lines of its standard error (of its standard
 * output when it wrote nothing there). Error texts quote it, so a step that fails on the server
 * says why in the server's own words, not only with an exit code.
 */
export function lastWords(result: ExecResult, lines = 10): string {
  return (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-lines).join('\n')
}

export class RemoteCommandError extends Error {
  constructor(
    readonly argv: Argv,
    readonly result: ExecResult
  ) {
    const detail = lastWords(result)
    super(
      `remote command failed (exit ${result.code}): ${shJoin(argv)}${detail ? `\n${detail}` : ''}`
    )
    this.name = 'RemoteCommandError'
  }
}

/** Runs a command and returns its standard output; throws RemoteCommandError on a non-zero exit. */
export async function runChecked(remote: Remote, argv: Argv, stdin?: string): Promise<string> {
  const result = await remote.run(argv, stdin)
  if (result.code !== 0) throw new RemoteCommandError(argv, result)
  return result.stdout
}

const MAX_CAPTURE = 8 * 1024 * 1024
// How long a channel that closed without an exit status waits for its connection to say it was
// lost: a cut connection can close the channel (a failed write) just before the socket closes.
const LOST_GRACE_MS = 2000

/**
 * The output and exit status of a command's channel. Rejects with why the connection was lost
 * (`closed`) when it ends before the command has exited.
 */
export function collect(
  channel: Pick<ClientChannel, 'on' | 'stderr'>,
  closed: Promise<void>,
  graceMs = LOST_GRACE_MS,
  onOutput?: (text: string) => void
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    let code: number | undefined
    let signal: string | undefined
    const keep = (list: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_CAPTURE) list.push(chunk)
      onOutput?.(chunk.toString('utf8'))
    }
    channel.on('data', keep(out))
    channel.stderr.on('data', keep(err))
    channel.on('exit', (c: number | null, s?: string) => {
      code = c ?? undefined
      signal = s
    })
    channel.on('close', () => {
      const stderr = Buffer.concat(err).toString('utf8')
      if (code === undefined) {
        const why = signal ? `killed by signal ${signal}` : 'the channel closed before it exited'
        const result = {
          code: 255,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: `${stderr}\n${why}`
        }
        // A rejection of `closed` within the grace time wins (the connection was lost).
        if (signal) resolve(result)
        else setTimeout(() => resolve(result), graceMs)
      } else {
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr })
      }
    })
    closed.catch(reject)
  })
}

type Warn = (m: string) => void

const describe = (endpoint: SshEndpoint) => `${endpoint.username}@${endpoint.host}:${endpoint.port}`

/**
 * Opens one SSH connection and waits until it is logged in, checking the host key against
 * the endpoint's fingerprints and the shared known-hosts lines. With `sock`, the connection
 * runs over that stream (a channel forwarded by the jump host) instead of a TCP socket.
 * `label` names the connection in warnings and errors.
 */
async function login(
  endpoint: SshEndpoint,
  label: string,
  options: SshOptions,
  warn: Warn,
  sock?: Duplex
): Promise<Client> {
  const client = new Client()
  const { host, port, fingerprints } = endpoint
  const pins = { host, port, fingerprints, knownHosts: options.knownHosts ?? [] }
  const serverHostKey = hostKeyAlgorithms(pins)
  let refused = ''
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve())
    // ssh2 reports a refused host key as a bare handshake failure: say why instead.
    client.once('error', (e: Error) => reject(refused ? new Error(refused) : e))
    // A stream that ends mid-handshake (the jump host's channel closing) may end without an
    // error, and ssh2 stops its ready timer then: without this the login would wait forever.
    client.once('close', () => reject(new Error('the connection closed during the handshake')))
    client.connect({
      host,
      port,
      ...(sock ? { sock } : {}),
      username: endpoint.username,
      privateKey: endpoint.privateKey,
      passphrase: endpoint.passphrase,
      readyTimeout: options.timeoutMs,
      keepaliveInterval: Math.max(1000, Math.floor(options.timeoutMs / 3)),
      keepaliveCountMax: 3,
      ...(serverHostKey ? { algorithms: { serverHostKey } } : {}),
      hostVerifier: (key: Buffer) => {
        if (options.insecureSkipHostKeyCheck) {
          warn(`host key check skipped: ${label} presented ${describeKey(key)}`)
          return true
        }
        refused = verifyHostKey(key, pins) ?? ''
        return refused === ''
      }
    })
  }).catch((e: Error) => {
    // Ending a half-open connection can make ssh2 emit a second 'error': nobody else listens.
    client.on('error', () => undefined)
    client.end()
    throw new Error(`cannot connect to ${label} over SSH: ${e.message}`)
  })
  return client
}

/** A channel from the jump host to the target's SSH port, to carry the target's connection. */
function forwardTo(proxyClient: Client, options: SshOptions, jumpHost: string): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    // forwardOut has no timeout of its own; a jump host that never answers must not hang the run.
    const timer = setTimeout(
      () => reject(new Error(`no answer within ${options.timeoutMs / 1000} s`)),
      options.timeoutMs
    )
    proxyClient.forwardOut('127.0.0.1', 0, options.host, options.port, (err, channel) => {
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(channel)
    })
  }).catch((e: Error) => {
    throw new Error(
      `${jumpHost} cannot open a connection to ${options.host}:${options.port}: ${e.message} (does it allow TCP forwarding, and can it reach that address?)`
    )
  })
}

/** Logs in to the target, through the jump host first when options.proxy is set. */
async function loginAll(
  options: SshOptions,
  warn: Warn
): Promise<{ client: Client; proxyClient?: Client }> {
  const proxy = options.proxy
  if (!proxy) return { client: await login(options, describe(options), options, warn) }
  const jumpHost = `the jump host ${describe(proxy)}`
  const proxyClient = await login(proxy, jumpHost, options, warn)
  try {
    const sock = await forwardTo(proxyClient, options, jumpHost)
    const label = `${describe(options)} (through ${jumpHost})`
    return { client: await login(options, label, options, warn, sock), proxyClient }
  } catch (e) {
    proxyClient.end()
    throw e
  }
}

export async function connect(options: SshOptions, warn: Warn): Promise<Remote> {
  // Rejects when the connection ends, so that nothing waits forever on a dead server.
  let rejectClosed: (e: Error) => void = () => undefined
  const closed = new Promise<void>((_, reject) => (rejectClosed = reject))
  closed.catch(() => undefined)
  // Why the connection ended, so later commands fail with that and not ssh2's "Not connected".
  let lost: Error | undefined
  const markClosed = (e: Error) => {
    lost ??= e
    rejectClosed(e)
  }

  const { client, proxyClient } = await loginAll(options, warn)

  let targetClosed = false
  client.on('error', (e: Error) => markClosed(new Error(`SSH connection lost: ${e.message}`)))
  client.on('close', () => {
    targetClosed = true
    markClosed(new Error('SSH connection closed'))
  })
  // The target's connection runs inside the jump host's: losing that loses both.
  proxyClient?.on('error', (e: Error) =>
    markClosed(new Error(`SSH connection to the jump host lost: ${e.message}`))
  )
  proxyClient?.on('close', () => markClosed(new Error('SSH connection to the jump host closed')))

  // The command's output and exit status are collected from inside exec's callback: the exec
  // reply, the output, the exit status and the close can arrive in one read (a fast command
  // behind a slow or batching link), and ssh2 emits 'exit' at once, before any code that
  // waited for the channel through a promise could listen (seen in the relay fault tests).
  const open = (
    argv: Argv,
    onOutput?: (text: string) => void
  ): Promise<{ channel: ClientChannel; result: Promise<ExecResult> }> =>
    new Promise((resolve, reject) => {
      if (lost) return reject(lost)
      client.exec(shJoin(argv), (err, channel) =>
        err
          ? reject(lost ?? err)
          : resolve({ channel, result: collect(channel, closed, LOST_GRACE_MS, onOutput) })
      )
    })

  return {
    async run(argv, stdin) {
      const { channel, result } = await open(argv)
      channel.end(stdin ?? '')
      return result
    },
    async watch(argv, onOutput) {
      const { channel, result } = await open(argv, onOutput)
      channel.end()
      return result
    },
    async pipeInto(argv, source) {
      const { channel, result } = await open(argv)
      return feed(source, channel, result)
    },
    converse(argv) {
      return new Promise((resolve, reject) => {
        if (lost) return reject(lost)
        client.exec(shJoin(argv), (err, channel) => {
          if (err) return reject(lost ?? err)
          let stderr = ''
          channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
          resolve({ io: channel, stderr: () => stderr })
        })
      })
    },
    tunnel(host, port) {
      return new Promise((resolve, reject) => {
        if (lost) return reject(lost)
        client.forwardOut('127.0.0.1', 0, host, port, (err, channel) =>
          err ? reject(lost ?? err) : resolve(channel)
        )
      })
    },
    close() {
      client.end()
      if (!proxyClient) return
      // Let the target's goodbye travel through the jump host before ending that connection.
      const endProxy = () => void proxyClient.end()
      if (targetClosed) return endProxy()
      client.once('close', endProxy)
      // A target that never answers the goodbye must not keep the jump host's connection open.
      setTimeout(endProxy, 2000).unref()
    }
  }
}
