// Runs the `docker` program on the runner for buildx (an argument list, never a shell) and hands
// its output on line by line. Moves bytes only: which flags to pass is decided in
// buildx-commands.ts, what the output means in buildx-detect.ts.

import { spawn } from 'node:child_process'

export interface DockerRun {
  /** The exit status; 127 when `docker` could not be started. */
  code: number
  /** Everything it printed (stdout, then stderr), up to a limit. */
  output: string
  /** Its last lines, for an error message. */
  tail: string[]
}

const MAX_OUTPUT = 1024 * 1024
const TAIL_LINES = 25

/**
 * Runs `docker <args>` with `env` as its whole environment; each line it prints (on either
 * stream) goes to `onLine` as it comes.
 */
export function runDocker(
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void = () => undefined
): Promise<DockerRun> {
  return new Promise(resolve => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const tail: string[] = []
    const reader = () => {
      let partial = ''
      return {
        data(chunk: Buffer) {
          const text = partial + chunk.toString('utf8')
          const lines = text.split(/\r?\n/)
          partial = lines.pop() ?? ''
          for (const line of lines) take(line)
        },
        end() {
          if (partial !== '') take(partial)
          partial = ''
        }
      }
    }
    const take = (line: string) => {
      if (output.length < MAX_OUTPUT) output += `${line}\n`
      tail.push(line)
      if (tail.length > TAIL_LINES) tail.shift()
      onLine(line)
    }
    const out = reader()
    const err = reader()
    child.stdout.on('data', out.data)
    child.stderr.on('data', err.data)
    child.on('error', e => resolve({ code: 127, output: e.message, tail: [e.message] }))
    child.on('close', (code, signal) => {
      out.end()
      err.end()
      resolve({ code: code ?? (signal ? 128 : 255), output, tail })
    })
  })
}
