// The CLI as a story: flags, environment and config file → the action's raw inputs → the same
// options and engine as the action → text or JSON, and an exit code. Everything it prints goes
// through the mask. `CliWorld` is its surroundings, so tests can run it without a process.

import path from 'node:path'
import type { RunContext } from '../config/inputs.js'
import { COMMANDS, type DeployOptions } from '../config/options.js'
import { InputError } from '../config/input-error.js'
import { parseOptions } from '../config/parse.js'
import type { Log } from '../engine/io.js'
import { errorMessage } from '../engine/io.js'
import { newResult, type CommandResult } from '../engine/commands/result.js'
import { outputsOf } from '../action/outputs.js'
import { parseCliArgs, type CliArgs } from './args.js'
import { commandHelp, generalHelp, PROGRAM } from './help.js'
import { maskOf, secretsOf, type Mask } from './mask.js'
import { DEFAULT_CONFIG_FILE, envName, type OptionName } from './options.js'
import {
  envSource,
  fileSource,
  flagSource,
  mergeSources,
  type Merged,
  type Source
} from './sources.js'
import { textLog, type Write } from './log.js'
import { renderText } from './text-summary.js'
import { isYes, needsConfirmation, planOf } from './confirm.js'
import { UsageError } from './usage-error.js'

export interface CliWorld {
  argv: readonly string[]
  env: NodeJS.ProcessEnv
  cwd: string
  stdout: Write
  stderr: Write
  /** Whether standard input is a terminal (a person who can answer). */
  interactive: boolean
  ask(question: string): Promise<string>
  readFile(file: string): string | undefined
  runContext(): Promise<RunContext>
  /** Runs the command with the engine (the action's, through the same entry). */
  execute(o: DeployOptions, log: Log): Promise<CommandResult>
}

export const EXIT = { success: 0, failed: 1, usage: 2, rolledBack: 3 } as const

export function exitCodeOf(r: CommandResult): number {
  if (r.status === 'rolled-back') return EXIT.rolledBack
  return r.status === 'success' && !r.failure ? EXIT.success : EXIT.failed
}

/** A path as given: relative to the working directory; `~/` is the home directory. */
function pathIn(world: CliWorld, file: string): string {
  const home = world.env.HOME
  return home && file.startsWith('~/')
    ? path.join(home, file.slice(2))
    : path.resolve(world.cwd, file)
}

/** The config file named by --config (it must exist), or versioned-deploy.yml if there is one. */
function configSource(args: CliArgs, world: CliWorld): Source | undefined {
  const file = args.config ?? DEFAULT_CONFIG_FILE
  const text = world.readFile(pathIn(world, file))
  if (text === undefined) {
    if (args.config === undefined) return undefined
    throw new UsageError(`--config ${file}: cannot read the file`)
  }
  return fileSource(text, file)
}

/** An InputError in the CLI's words: the option, where its value came from or may come from. */
function usageOf(e: InputError, origin: Partial<Record<OptionName, string>>): UsageError {
  const name = e.input as OptionName
  const detail = e.message.replace(/^Input "[^"]*": /, '')
  const from = origin[name]
  if (from === `--${name}`) return new UsageError(`${from}: ${detail}`)
  if (from) return new UsageError(`--${name} (from ${from}): ${detail}`)
  const flags = name === 'key' ? '--key or --key-file' : `--${name}`
  return new UsageError(
    `--${name}: ${detail} (give ${flags}, ${envName(name)}, or "${name}:" in the config file)`
  )
}

interface Gathered {
  merged: Merged
  mask: Mask
}

/** Flags, environment and config file, merged; the key file read; the mask that hides them. */
function gather(args: CliArgs, world: CliWorld, warn: Write): Gathered {
  const env = envSource(world.env)
  for (const name of env.unknown) warn(`warning: ${name} is not an option of ${PROGRAM}; ignored\n`)
  const file = configSource(args, world)
  const sources = [flagSource(args.flags), env.source, ...(file ? [file] : [])]
  const merged = mergeSources(sources)
  let keyText = ''
  if (merged.keyFile) {
    const text = world.readFile(pathIn(world, merged.keyFile.path))
    if (text === undefined) throw new UsageError(`${merged.keyFile.where}: cannot read the file`)
    keyText = text
    merged.raw.key = text
  }
  const given = sources.map(s => s.given)
  return { merged, mask: maskOf(secretsOf(given, keyText)) }
}

/** The same options the action makes of its inputs (parseOptions), or a UsageError. */
function optionsOf(args: CliArgs, merged: Merged, ctx: RunContext): DeployOptions {
  try {
    return parseOptions({ ...merged.raw, command: args.command ?? 'deploy' }, ctx)
  } catch (e) {
    throw e instanceof InputError ? usageOf(e, merged.origin) : e
  }
}

async function confirmed(o: DeployOptions, args: CliArgs, world: CliWorld, mask: Mask) {
  if (!needsConfirmation(o, args.force, world.interactive)) return true
  world.stderr(mask(planOf(o)) + '\n')
  if (isYes(await world.ask('Proceed? [y/N] '))) return true
  world.stderr('cancelled: nothing was done\n')
  return false
}

function report(result: CommandResult, json: boolean, out: Write, err: Write): void {
  if (json) {
    out(JSON.stringify(outputsOf(result), null, 2) + '\n')
    if (result.failure) err(`error: ${result.failure}\n`)
    return
  }
  out('\n' + renderText(result))
}

export async function runCli(world: CliWorld): Promise<number> {
  // Until the options are read, hide at least the secrets in the environment.
  let mask = maskOf(secretsOf([envSource(world.env).source.given]))
  const err: Write = t => world.stderr(mask(t))
  let args: CliArgs
  let options: DeployOptions
  try {
    args = parseCliArgs(world.argv)
    if (args.help) {
      world.stdout(args.command ? commandHelp(args.command) : generalHelp())
      return EXIT.success
    }
    const gathered = gather(args, world, err)
    mask = gathered.mask
    options = optionsOf(args, gathered.merged, await world.runContext())
  } catch (e) {
    if (!(e instanceof UsageError)) {
      err(`${PROGRAM}: ${errorMessage(e)}\n`)
      return EXIT.failed
    }
    err(`${PROGRAM}: ${e.message}\n`)
    const command = world.argv.find(a => (COMMANDS as readonly string[]).includes(a))
    err(`Run "${PROGRAM}${command ? ` ${command}` : ''} --help" for usage.\n`)
    return EXIT.usage
  }
  if (!(await confirmed(options, args, world, mask))) return EXIT.failed

  const o = options
  const json = args.json
  // With --json, stdout carries only the JSON; the log goes to stderr.
  const log = textLog(t => (json ? world.stderr : world.stdout)(mask(t)), err)
  const result = await world
    .execute(o, log)
    .catch((e: unknown): CommandResult => ({ ...newResult(o), failure: errorMessage(e) }))
  report(result, json, t => world.stdout(mask(t)), err)
  return exitCodeOf(result)
}
