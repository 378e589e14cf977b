// Where option values come from besides flags: the environment (VERSIONED_DEPLOY_<NAME>) and
// the config file (versioned-deploy.yml, keys = option names); and how the three and the
// defaults combine into the action's raw inputs. Precedence: flag, environment, file, default.

import { parseDocument } from 'yaml'
import { INPUT_NAMES, type RawInputs } from '../config/inputs.js'
import type { Given } from './args.js'
import { ENV_PREFIX, MULTI_LINE, OPTION_NAMES, envName, type OptionName } from './options.js'
import { UsageError } from './usage-error.js'

/** One place values come from, and how a message names it. */
export interface Source {
  given: Given
  /** How to name where `name` came from: `--host`, `VERSIONED_DEPLOY_HOST`, `host in FILE`. */
  where(name: OptionName): string
}

export function flagSource(given: Given): Source {
  return { given, where: name => `--${name}` }
}

/** The VERSIONED_DEPLOY_* variables; empty ones count as unset. Unknown names are returned. */
export function envSource(env: NodeJS.ProcessEnv): { source: Source; unknown: string[] } {
  const given: Given = {}
  const known = new Set<string>()
  for (const name of OPTION_NAMES) {
    known.add(envName(name))
    const v = env[envName(name)]
    if (v !== undefined && v !== '') given[name] = v
  }
  const unknown = Object.keys(env).filter(k => k.startsWith(ENV_PREFIX) && !known.has(k))
  return { source: { given, where: envName }, unknown }
}

const scalar = (v: unknown) => typeof v === 'string'

/** The config file's options. Throws a UsageError naming the line, the key, what is allowed. */
export function fileSource(text: string, file: string): Source {
  // failsafe: every value is the text as written (1.10 stays "1.10", yes stays "yes").
  const doc = parseDocument(text, { schema: 'failsafe', prettyErrors: true, uniqueKeys: true })
  const first = doc.errors[0]
  if (first) {
    // Its first line only: the snippet below it may be a line of a key.
    const what = (first.message.split('\n')[0] ?? '').replace(/:$/, '')
    throw new UsageError(`${file} is not valid YAML: ${what}`)
  }
  const data: unknown = doc.toJS()
  if (data === null || data === undefined) return { given: {}, where: n => `${n} in ${file}` }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`${file} must be a mapping of option names to values (host: …)`)
  }
  const given: Given = {}
  for (const [key, v] of Object.entries(data as Record<string, unknown>)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      const why = key === 'command' ? ' (the command is the first argument)' : ''
      throw new UsageError(
        `${file}: "${key}" is not an option${why}. Options: ${OPTION_NAMES.join(', ')}`
      )
    }
    const name = key as OptionName
    if (v === null) continue
    if (Array.isArray(v) && MULTI_LINE.has(name) && v.every(scalar)) {
      given[name] = v.map(String).join('\n')
    } else if (scalar(v)) {
      given[name] = String(v)
    } else {
      const allowed = MULTI_LINE.has(name) ? 'a value, a block string or a list' : 'one value'
      throw new UsageError(`${file}: "${key}" must be ${allowed}`)
    }
  }
  return { given, where: n => `${n} in ${file}` }
}

export interface Merged {
  /** The options as the action's inputs (key-file not yet read: see keyFile). */
  raw: RawInputs
  /** Where each option that was given came from. */
  origin: Partial<Record<OptionName, string>>
  /** `--key-file` (or its environment or file form) won over --key: read it into `key`. */
  keyFile?: { path: string; where: string }
}

/**
 * The first source (flag, environment, file) that gives an option decides it; the rest are
 * defaults (empty). `key` and `key-file` are one choice: the first source with either decides,
 * and one source may not give both.
 */
export function mergeSources(sources: readonly Source[]): Merged {
  const raw = Object.fromEntries(INPUT_NAMES.map(n => [n, ''])) as RawInputs
  const origin: Partial<Record<OptionName, string>> = {}
  let keyFile: Merged['keyFile']
  for (const name of OPTION_NAMES) {
    if (name === 'key' || name === 'key-file') continue
    const source = sources.find(s => s.given[name] !== undefined)
    if (!source) continue
    raw[name] = source.given[name] ?? ''
    origin[name] = source.where(name)
  }
  const keySource = sources.find(
    s => s.given.key !== undefined || s.given['key-file'] !== undefined
  )
  if (keySource) {
    const { key, 'key-file': path } = keySource.given
    if (key !== undefined && path !== undefined) {
      throw new UsageError(
        `${keySource.where('key')} and ${keySource.where('key-file')} are both given: give one`
      )
    }
    if (path !== undefined) keyFile = { path, where: keySource.where('key-file') }
    else raw.key = key ?? ''
    origin.key = keySource.where(path !== undefined ? 'key-file' : 'key')
  }
  return { raw, origin, ...(keyFile ? { keyFile } : {}) }
}
