// A server for unit tests: every command is answered by `answer` (from its argument list and
// standard input); `watch` hands the answer's output to its listener. Nothing is piped or tunnelled.

import type { ExecResult, Remote } from '../../src/remote/remote.js'
import type { Argv } from '../../src/remote/commands.js'

export function fakeRemote(answer: (argv: Argv, stdin?: string) => ExecResult): Remote {
  return {
    run: (argv, stdin) => Promise.resolve(answer(argv, stdin)),
    watch: (argv, onOutput) => {
      const r = answer(argv)
      onOutput(r.stdout + r.stderr)
      return Promise.resolve(r)
    },
    pipeInto: () => Promise.reject(new Error('not here')),
    converse: () => Promise.reject(new Error('not here')),
    tunnel: () => Promise.reject(new Error('not here')),
    close: () => undefined
  }
}
