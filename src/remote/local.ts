// The same Remote as ssh.ts, on this machine (method local): the very argument lists the engine
// sends over SSH run here as processes (no shell unless the list itself is `sh -c …`), and
// health check tunnels are plain TCP connections from here.

import { spawn } from 'node:child_process'
import net from 'node:net'
import { Duplex, type Readable } from 'node:stream'
import type { Argv } from './commands.js'
import type { ExecResult, Remote } from './remote.js'
import { feed } from './feed.js'

const MAX_CAPTURE = 8 * 1024 * 1024

function start(argv: Argv, onOutput?: (text: string) => void) {
  const [file, ...args] = argv
  if (!file) throw new Error('empty command')
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  const result = new Promise<ExecResult>(resolve => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    const keep = (list: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_CAPTURE) list.push(chunk)
      onOutput?.(chunk.toString('utf8'))
    }
    child.stdout.on('data', keep(out))
    child.stderr.on('data', keep(err))
    // A program that cannot be started is a failed command, as a shell would report it.
    child.on('error', e => resolve({ code: 127, stdout: '', stderr: `${file}: ${e.message}` }))
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 255,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\nkilled by signal ${signal}` : '')
      })
    )
  })
  // Writing to a program that exited early is its own failure, already in its exit status.
  child.stdin.on('error', () => undefined)
  return { child, result }
}

export function localRemote(): Remote {
  return {
    async run(argv, stdin) {
      const { child, result } = start(argv)
      child.stdin.end(stdin ?? '')
      return result
    },
    async watch(argv, onOutput) {
      const { child, result } = start(argv, onOutput)
      child.stdin.end()
      return result
    },
    async pipeInto(argv, source: Readable) {
      const { child, result } = start(argv)
      return feed(source, child.stdin, result)
    },
    async converse(argv) {
      const { child } = start(argv)
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
      return {
        io: Duplex.from({ readable: child.stdout, writable: child.stdin }),
        stderr: () => stderr
      }
    },
    tunnel(host, port) {
      return new Promise<Duplex>((resolve, reject) => {
        const socket = net.connect({ host, port })
        socket.once('connect', () => {
          socket.off('error', reject)
          resolve(socket)
        })
        socket.once('error', reject)
      })
    },
    close() {}
  }
}
