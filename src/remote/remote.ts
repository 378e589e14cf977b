// What the engine asks of a server: run commands, stream into them, open tunnels from its side.
// Implemented over SSH (ssh.ts) and on the runner itself (local.ts); the phases never ask which.

import type { Duplex, Readable } from 'node:stream'
import type { Argv } from './commands.js'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

/** A running command whose standard input and output are one stream (a pipe to a program). */
export interface ExecStream {
  io: Duplex
  /** What the command wrote to its standard error so far. */
  stderr(): string
}

export interface Remote {
  /** Runs a command; resolves with its exit code, never rejects on a non-zero exit. */
  run(argv: Argv, stdin?: string): Promise<ExecResult>
  /** Runs a command like `run`, handing its output (stdout and stderr) to `onOutput` as it comes. */
  watch(argv: Argv, onOutput: (text: string) => void): Promise<ExecResult>
  /** Streams `source` into the command's standard input, honouring backpressure. */
  pipeInto(argv: Argv, source: Readable): Promise<ExecResult>
  /**
   * Starts a command and hands back its standard input and output as one stream, for a
   * conversation with it (an HTTP exchange through `docker exec … nc`).
   */
  converse(argv: Argv): Promise<ExecStream>
  /** A TCP connection opened from the server's side to host:port. */
  tunnel(host: string, port: number): Promise<Duplex>
  close(): void
}
