// Entry point of the bundled CLI (dist/cli.js): the real process around runCli, and the same
// engine entry as the action. The CLI has no post step: checkpoints are dropped, and a run
// that is interrupted is not recovered on its own (see the message below).

import { readFileSync } from 'node:fs'
import readline from 'node:readline'
import Docker from 'dockerode'
import { runReported } from '../github/report.js'
import { connectTo } from '../remote/connect-to.js'
import { cliRunContext } from './context.js'
import { PROGRAM } from './help.js'
import { runCli, type CliWorld } from './run.js'

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** One answer from the terminal; Ctrl-C or Ctrl-D answers no. */
function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  return new Promise(resolve => {
    let answered = false
    rl.on('SIGINT', () => rl.close())
    rl.on('close', () => {
      if (!answered) resolve('')
    })
    rl.question(question, answer => {
      answered = true
      rl.close()
      resolve(answer)
    })
  })
}

const INTERRUPTED = [
  'interrupted: the CLI has no post step, so nothing is recovered on its own.',
  `A deploy lock left behind clears once it is stale (lock-stale-after), or run "${PROGRAM} unlock".`,
  `A switch that was under way is not rolled back: run "${PROGRAM} status", and "${PROGRAM} rollback" if needed.`
].join('\n')

const world: CliWorld = {
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: t => void process.stdout.write(t),
  stderr: t => void process.stderr.write(t),
  interactive: process.stdin.isTTY === true,
  ask,
  readFile: readText,
  runContext: () => cliRunContext(process.cwd(), process.env),
  execute(o, log) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${INTERRUPTED}\n`)
        process.exit(130)
      })
    }
    return runReported(
      o,
      {
        docker: new Docker(),
        environment: process.env,
        connect: target => connectTo(target, m => log.warn(m)),
        now: () => new Date(),
        checkpoint: () => {}
      },
      log
    )
  }
}

process.exitCode = await runCli(world)
