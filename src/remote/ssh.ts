// Moving bytes over the one SSH connection of a run: commands, streams into commands, and
// tunnels to ports on the server's side. Knows nothing of deploy policy.

import { Client, type ClientChannel } from 'ssh2'
import type { Duplex, Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { SshOptions } from '../config/options.js'
import { fingerprintMatches, fingerprintOf } from './host-key.js'
import { shJoin } from './quote.js'
import type { Argv } from './commands.js'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface Remote {
  /** Runs a command; resolves with its exit code, never rejects on a non-zero exit. */
  run(argv: Argv, stdin?: string): Promise<ExecResult>
  /** Streams `source` into the command's standard input, honouring backpressure. */
  pipeInto(argv: Argv, source: Readable): Promise<ExecResult>
  /** A TCP connection opened from the server's side to host:port. */
  tunnel(host: string, port: number): Promise<Duplex>
  close(): void
}

export class RemoteCommandError extends Error {
  constructor(
    readonly argv: Argv,
    readonly result: ExecResult
  ) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')
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

function collect(channel: ClientChannel, closed: Promise<void>): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    let code: number | undefined
    let signal: string | undefined
    const keep = (list: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_CAPTURE) list.push(chunk)
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
        const why = signal ? `killed by signal ${signal}` : 'the connection closed before it exited'
        resolve({
          code: 255,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: `${stderr}\n${why}`
        })
      } else {
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr })
      }
    })
    closed.catch(reject)
  })
}

export async function connect(options: SshOptions, warn: (m: string) => void): Promise<Remote> {
  const client = new Client()
  let presented = ''
  // Rejects when the connection ends, so that nothing waits forever on a dead server.
  let markClosed: (e: Error) => void = () => undefined
  const closed = new Promise<void>((_, reject) => (markClosed = reject))
  closed.catch(() => undefined)

  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve())
    client.once('error', (e: Error) =>
      reject(
        presented
          ? new Error(
              `the host key of ${options.host}:${options.port} is ${presented}, not the pinned fingerprint (${options.fingerprints.join(', ')}); refusing to connect`
            )
          : e
      )
    )
    client.connect({
      host: options.host,
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      passphrase: options.passphrase,
      readyTimeout: options.timeoutMs,
      keepaliveInterval: Math.max(1000, Math.floor(options.timeoutMs / 3)),
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        if (options.insecureSkipHostKeyCheck) {
          warn(`host key check skipped: ${options.host} presented ${fingerprintOf(key)}`)
          return true
        }
        const ok = fingerprintMatches(key, options.fingerprints)
        if (!ok) presented = fingerprintOf(key)
        return ok
      }
    })
  }).catch((e: Error) => {
    client.end()
    throw new Error(
      `cannot connect to ${options.username}@${options.host}:${options.port} over SSH: ${e.message}`
    )
  })

  client.on('error', (e: Error) => markClosed(new Error(`SSH connection lost: ${e.message}`)))
  client.on('close', () => markClosed(new Error('SSH connection closed')))

  const open = (argv: Argv): Promise<ClientChannel> =>
    new Promise((resolve, reject) => {
      client.exec(shJoin(argv), (err, channel) => (err ? reject(err) : resolve(channel)))
    })

  return {
    async run(argv, stdin) {
      const channel = await open(argv)
      const result = collect(channel, closed)
      channel.end(stdin ?? '')
      return result
    },
    async pipeInto(argv, source) {
      const channel = await open(argv)
      const result = collect(channel, closed)
      // If the remote side exits early, stop reading the source instead of blocking on it.
      const piping = pipeline(source, channel).catch((e: Error) => e)
      const r = await result
      source.destroy()
      const pipeError = await Promise.race([piping, Promise.resolve(undefined)])
      if (r.code === 0 && pipeError instanceof Error) {
        return { ...r, code: 1, stderr: `${r.stderr}\n${pipeError.message}` }
      }
      return r
    },
    tunnel(host, port) {
      return new Promise((resolve, reject) => {
        client.forwardOut('127.0.0.1', 0, host, port, (err, channel) =>
          err ? reject(err) : resolve(channel)
        )
      })
    },
    close() {
      client.end()
    }
  }
}
