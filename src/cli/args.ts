// The command line: the command, its argument, the options given as flags, and the CLI's own
// flags. Parsed by util.parseArgs (strict); every refusal is a UsageError that says what is
// allowed and never repeats a value (it may be a key).

import { parseArgs, type ParseArgsConfig } from 'node:util'
import { COMMANDS, METHODS, type Command } from '../config/options.js'
import { CLI_FLAGS, MULTI_LINE, OPTION_NAMES, isSwitch, type OptionName } from './options.js'
import { UsageError } from './usage-error.js'
import { wrap } from './help.js'

/** Option values as one source gives them (multi-line values joined by newlines). */
export type Given = Partial<Record<OptionName, string>>

export interface CliArgs {
  /** Absent with only --help (the general help). */
  command?: Command
  flags: Given
  config?: string
  force: boolean
  json: boolean
  help: boolean
}

type Options = NonNullable<ParseArgsConfig['options']>

function parserOptions(): Options {
  const options: Options = {}
  for (const name of OPTION_NAMES) {
    options[name] = isSwitch(name) ? { type: 'boolean' } : { type: 'string', multiple: true }
  }
  for (const [name, f] of Object.entries(CLI_FLAGS)) {
    options[name] = { type: f.type, ...('short' in f ? { short: f.short } : {}) }
  }
  return options
}

/** A name from the command line, repeated only when it cannot be anything but a flag's name. */
const shown = (token: string) => (/^-{1,2}[A-Za-z][A-Za-z0-9-]{0,40}$/.test(token) ? token : '')

/** Every valid flag, wrapped for a terminal. */
export function validFlags(): string {
  const flags = [...OPTION_NAMES, ...Object.keys(CLI_FLAGS)].map(n => `--${n}`).join(' ')
  return wrap(flags, 96)
    .map(l => `  ${l}`)
    .join('\n')
}

/** The candidate a typo most likely meant, if one is close enough. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: [string, number] | undefined
  for (const candidate of candidates) {
    const d = distance(word, candidate)
    if (d <= Math.max(2, Math.floor(word.length / 4)) && (!best || d < best[1])) {
      best = [candidate, d]
    }
  }
  return best?.[0]
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0
      row[j] = Math.min(
        above + 1,
        (row[j - 1] ?? 0) + 1,
        diagonal + (a[i - 1] === b[j - 1] ? 0 : 1)
      )
      diagonal = above
    }
  }
  return row[b.length] ?? 0
}

/** Node's parseArgs errors, in our words: the flag, what is wrong, what is allowed. */
function refusal(e: unknown): UsageError {
  const err = e as { code?: string; message?: string }
  const quoted = /'([^']*)'/.exec(err.message ?? '')?.[1] ?? ''
  const flag = shown(quoted.split(' ')[0] ?? '')
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const names = [...OPTION_NAMES, ...Object.keys(CLI_FLAGS)]
    const hint = flag ? closest(flag.replace(/^-+/, ''), names) : undefined
    return new UsageError(
      `unknown option ${flag || '(an argument that starts with "-")'}${hint ? ` (did you mean --${hint}?)` : ''}. Valid options:\n${validFlags()}`
    )
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(err.message ?? '')) {
      return new UsageError(`${flag} is a switch and takes no value: give ${flag} alone for true`)
    }
    if (/argument missing/.test(err.message ?? '')) {
      return new UsageError(`${flag} needs a value: ${flag} VALUE`)
    }
    return new UsageError(
      `${flag} needs a value; one that starts with "-" (a private key does) must be written ${flag}=VALUE${flag === '--key' ? ', or use --key-file PATH' : ''}`
    )
  }
  return new UsageError(`cannot read the command line: ${err.code ?? 'unknown error'}`)
}

function commandOf(word: string | undefined, help: boolean): Command | undefined {
  if (word === undefined) {
    if (help) return undefined
    throw new UsageError(`a command is required: ${COMMANDS.join(', ')}`)
  }
  if ((COMMANDS as readonly string[]).includes(word)) return word as Command
  const named = /^[\w.-]{1,40}$/.test(word) ? `"${word}"` : 'given'
  const hint = named === 'given' ? undefined : closest(word, COMMANDS)
  throw new UsageError(
    `the command ${named} is unknown${hint ? ` (did you mean ${hint}?)` : ''}; commands: ${COMMANDS.join(', ')}`
  )
}

/** `deploy [tar|registry|local]` and `rollback [VERSION]`: the argument is an option's value. */
function positionalOption(command: Command, rest: string[], flags: Given): void {
  const takes = command === 'deploy' ? 'method' : command === 'rollback' ? 'version' : undefined
  if (rest.length === 0) return
  if (!takes || rest.length > 1) {
    const allowed = takes ? `one ${takes}` : 'no argument'
    throw new UsageError(`${command} takes ${allowed}, but got ${rest.length} arguments`)
  }
  const value = rest[0] ?? ''
  if (takes === 'method' && !(METHODS as readonly string[]).includes(value)) {
    throw new UsageError(`deploy takes a method, one of ${METHODS.join(', ')}`)
  }
  const flag = flags[takes]
  if (flag !== undefined && flag !== value) {
    throw new UsageError(
      `the ${takes} is given twice, as the argument and as --${takes}, differently`
    )
  }
  flags[takes] = value
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parserOptions(),
      strict: true,
      allowPositionals: true
    })
  } catch (e) {
    throw refusal(e)
  }
  const values = parsed.values as Record<string, string[] | string | boolean | undefined>
  const help = values.help === true
  const [word, ...rest] = parsed.positionals
  const command = commandOf(word, help)

  const flags: Given = {}
  for (const name of OPTION_NAMES) {
    const v = values[name]
    if (v === undefined) continue
    if (typeof v === 'boolean') {
      flags[name] = String(v)
      continue
    }
    const list = Array.isArray(v) ? v : [v]
    if (list.length > 1 && !MULTI_LINE.has(name)) {
      throw new UsageError(`--${name} is given ${list.length} times; it takes one value`)
    }
    flags[name] = list.join('\n')
  }
  if (command) positionalOption(command, rest, flags)
  const config = values.config
  return {
    ...(command ? { command } : {}),
    flags,
    ...(typeof config === 'string' ? { config } : {}),
    force: values.force === true,
    json: values.json === true,
    help
  }
}
