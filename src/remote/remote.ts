// What the engine asks of a server: run commands, stream into them, open tunnels from its side.
// Implemented over SSH (ssh.ts) and on the runner itself (local.ts); the phases never ask which.

import type { Duplex, Readable } from 'node:stream'
import type { Argv } from './commands.js'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface Remote {
  /** Runs a command; resolves with its exit code, never rejects on a non-zero exit. */
  run(argv: Argv, stdin?: string): Promise<ExecResult>
  /** Runs a command like `run`, handing its output (stdout and stderr) to `onOutput` as it comes. */
  watch(argv: Argv, onOutput: (text: string) => void): Promise<ExecResult>
  /** Streams `source` into the command's standard input, honouring backpressure. */
  pipeInto(argv: Argv, source: Readable): Promise<ExecResult>
  /** A TCP connection opened from the server's side to host:port. */
  tunnel(host: string, port: number): Promise<Duplex>
  close(): void
}
