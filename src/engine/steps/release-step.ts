// The release step: a compose service run once in a one-off container. The release command runs
// with the new version's images and compose file before the switch (the old version still
// serves); the rollback command runs with the images and compose file of the version a rollback
// leaves, whose code knows how to undo its own release. Either's output streams into the log.

import type { DeployOptions } from '../../config/options.js'
import type { Remote } from '../../remote/remote.js'
import * as cmd from '../../remote/commands.js'
import type { Release } from '../../plan/history.js'
import {
  describeRun,
  lastLines,
  type OneOffCommand,
  type ReleaseRun
} from '../../plan/release-command.js'
import { prepareCompose } from '../stack/compose-stack.js'
import type { Log } from '../io.js'

/** A release or rollback command that did not exit 0: what it did is in `run`. */
export class OneOffFailed extends Error {
  constructor(
    readonly run: ReleaseRun,
    message: string
  ) {
    super(message)
    this.name = 'OneOffFailed'
  }
}

/** Lines of output kept in the history and the summary. */
const KEPT_LINES = 15
/** Output kept while it streams, to take the last lines from. */
const TAIL_CHARS = 64 * 1024

interface OneOff {
  /** release or rollback: names the container and the messages. */
  kind: 'release' | 'rollback'
  command: OneOffCommand
  target: cmd.ComposeTarget
  env: Record<string, string>
  withDeps: boolean
}

async function runOneOff(
  remote: Remote,
  o: DeployOptions,
  one: OneOff,
  log: Log
): Promise<ReleaseRun> {
  const name = `${o.project}-${one.kind}-${one.target.version}`
  // A container of that name is what a killed run left: it must not block this one.
  await remote.run(cmd.removeContainer(name))
  const timeoutSeconds = Math.max(1, Math.round(o.releaseTimeoutMs / 1000))
  log.info(`running ${one.command.text} (${one.target.version}, at most ${timeoutSeconds} s)`)
  let tail = ''
  let partial = ''
  const started = Date.now()
  const r = await remote.watch(
    cmd.composeRunOnce(one.target, {
      name,
      service: one.command.service,
      args: one.command.args,
      env: one.env,
      withDeps: one.withDeps,
      timeoutSeconds
    }),
    text => {
      tail = (tail + text).slice(-TAIL_CHARS)
      const lines = (partial + text).split(/\r?\n/)
      partial = lines.pop() ?? ''
      for (const line of lines) log.info(quoted(line))
    }
  )
  if (partial !== '') log.info(quoted(partial))
  const seconds = Math.round((Date.now() - started) / 100) / 10
  const timedOut = r.code === 124 || (r.code === 137 && seconds >= timeoutSeconds)
  if (r.code !== 0) await remote.run(cmd.removeContainer(name))
  const output = lastLines(tail, KEPT_LINES)
  return {
    command: one.command.text,
    exit: r.code,
    seconds,
    ...(timedOut ? { timed_out: true } : {}),
    ...(output ? { output } : {})
  }
}

/**
 * A line of the command's output as the log shows it: behind "| ", so that a line the program
 * prints that starts with "::" is never read by the runner as a workflow command.
 */
const quoted = (line: string) => `  | ${line}`

function failed(what: string, run: ReleaseRun): OneOffFailed {
  const lines = run.output ? ` Its last lines:\n${run.output}` : ' It printed nothing.'
  return new OneOffFailed(run, `${what} (${run.command}) failed: ${describeRun(run)}.${lines}`)
}

/**
 * Runs the release command with `release`'s images and compose file (uploaded here), before the
 * switch. On a first deploy (nothing runs) the services it depends on are started with it.
 * Throws OneOffFailed unless it exits 0.
 */
export async function runReleaseCommand(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  release: Release,
  previous: string,
  composeContent: string,
  log: Log
): Promise<ReleaseRun> {
  const command = o.releaseCommand
  if (!command) throw new Error('no release-command')
  const target = await prepareCompose(remote, o, flavor, release, composeContent)
  const run = await runOneOff(
    remote,
    o,
    {
      kind: 'release',
      command,
      target,
      env: { DEPLOY_VERSION: release.version, DEPLOY_PREVIOUS_VERSION: previous },
      withDeps: previous === ''
    },
    log
  )
  if (run.exit !== 0) throw failed('the release command', run)
  log.info(`release command done: ${describeRun(run)}`)
  return run
}

/** What a rollback whose rollback command failed says after the command's own error. */
export function stoppedBeforeSwitch(leaving: string, target: string): string {
  return `The rollback stopped before switching: ${leaving} is still in service and its images were not switched back to ${target}; what its release command did is as the failed rollback command left it. Look at the database before you deploy or roll back again.`
}

/**
 * Before a rollback from `leaving` (whose release command ran) to `target`: runs the rollback
 * command with `leaving`'s images and stored compose file. Without rollback-command, warns that
 * the release's effects stay. Throws OneOffFailed unless it exits 0.
 */
export async function runRollbackCommand(
  remote: Remote,
  o: DeployOptions,
  flavor: cmd.ComposeFlavor,
  leaving: Release,
  target: string,
  log: Log
): Promise<ReleaseRun | undefined> {
  const command = o.rollbackCommand
  if (!command) {
    log.warn(
      `${leaving.version} ran a release command, and no rollback-command is set: its effects (migrations) were not undone before going back to ${target}`
    )
    return undefined
  }
  const file = cmd.releaseComposeFile(o.deployPath, leaving.version)
  if ((await remote.run(['test', '-f', file])).code !== 0) {
    throw new Error(
      `the rollback command needs the compose file of ${leaving.version} (${file}), and it is gone`
    )
  }
  const run = await runOneOff(
    remote,
    o,
    {
      kind: 'rollback',
      command,
      target: await prepareCompose(remote, o, flavor, leaving, undefined),
      env: { DEPLOY_VERSION: leaving.version, DEPLOY_ROLLBACK_TO: target },
      withDeps: false
    },
    log
  )
  if (run.exit !== 0) throw failed(`the rollback command of ${leaving.version}`, run)
  log.info(`rollback command done: ${describeRun(run)}`)
  return run
}
