// The release step's commands (`release-command`, `rollback-command`): `SERVICE [ARGS...]`, split
// as a shell splits words (quotes and backslashes, by the shlex library) but never given to a
// shell. What a run of one left behind is a ReleaseRun, kept in the history.

import { split } from 'shlex'
import { InputError } from '../config/input-error.js'

export type CommandInput = 'release-command' | 'rollback-command'

/** A compose service to run once, with the words that replace its command (none: its own). */
export interface OneOffCommand {
  service: string
  args: string[]
  /** As the input gave it, for logs and the history. */
  text: string
}

/** What a run of a release or rollback command did. Kept in the history record. */
export interface ReleaseRun {
  command: string
  /** The exit status (124 when it was stopped at release-timeout). */
  exit: number
  seconds: number
  timed_out?: boolean
  /** Its last lines of output. */
  output?: string
}

/** Compose service names, as compose accepts them. */
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/
/** Words that a shell would read as its own syntax: here they would reach the program as text. */
const SHELL_SYNTAX = /^(\||\|\||&|&&|;|;;|<|>|>>|<<|2>|2>&1|&>|\(|\))$/

const NO_SHELL =
  "no shell is started, so pipes, redirections, ';' and '&&' do not work: write SERVICE sh -c '…' to have the container's shell run them"

/** The command of `input`, or undefined when it is empty. Refuses what it cannot run. */
export function parseOneOff(input: CommandInput, text: string): OneOffCommand | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  if (/[\r\n]/.test(trimmed)) {
    throw new InputError(input, 'is one line: SERVICE [ARGS...]')
  }
  let words: string[]
  try {
    words = split(trimmed)
  } catch {
    throw new InputError(input, `"${trimmed}" has a quote that is never closed`)
  }
  const [service, ...args] = words
  if (service === undefined || service === '') {
    throw new InputError(input, `"${trimmed}" names no service: write SERVICE [ARGS...]`)
  }
  if (!SERVICE_NAME.test(service)) {
    throw new InputError(
      input,
      `"${service}" is not a compose service name: the first word is the service to run (SERVICE [ARGS...])`
    )
  }
  const syntax = args.find(a => SHELL_SYNTAX.test(a))
  if (syntax !== undefined) throw new InputError(input, `"${syntax}": ${NO_SHELL}`)
  return { service, args, text: trimmed }
}

/** The last `count` non-empty lines of `text`, each cut to a readable width. */
export function lastLines(text: string, count: number): string {
  return text
    .split(/\r?\n/)
    .map(l => l.trimEnd())
    .filter(l => l !== '')
    .slice(-count)
    .map(l => (l.length > 300 ? `${l.slice(0, 300)}…` : l))
    .join('\n')
}

/** How a run ended, in words: "exit 0 after 3.1 s", "stopped at the 600 s release-timeout". */
export function describeRun(run: ReleaseRun): string {
  return run.timed_out
    ? `still running after ${run.seconds} s: stopped at release-timeout`
    : `exit ${run.exit} after ${run.seconds} s`
}
