// Streaming a source into a running command's standard input, for both kinds of Remote.

import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ExecResult } from './remote.js'

/**
 * Pipes `source` into `stdin` (with backpressure) and resolves with the command's `result`. If
 * the command exits early, the source stops being read instead of blocking on it; a command
 * that exits 0 although its input broke off is turned into a failure.
 */
export async function feed(
  source: Readable,
  stdin: Writable,
  result: Promise<ExecResult>
): Promise<ExecResult> {
  const piping = pipeline(source, stdin).catch((e: Error) => e)
  const r = await result.finally(() => source.destroy())
  const pipeError = await Promise.race([piping, Promise.resolve(undefined)])
  if (r.code === 0 && pipeError instanceof Error) {
    return { ...r, code: 1, stderr: `${r.stderr}\n${pipeError.message}` }
  }
  return r
}
