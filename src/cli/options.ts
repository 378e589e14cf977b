// The CLI's options: the action's inputs as long flags (same names), plus --key-file, and the
// flags that only steer the CLI itself. Derived from INPUT_NAMES, so a new input is a new flag.

import { INPUT_NAMES, type InputName } from '../config/inputs.js'
import { DEFAULTS } from '../config/values.js'

/** An option that can come from a flag, the environment or the config file. */
export type OptionName = Exclude<InputName, 'command'> | 'key-file'

/** Every input but `command`, which is the CLI's first argument; then `key-file`. */
export const OPTION_NAMES: readonly OptionName[] = [
  ...INPUT_NAMES.filter((n): n is Exclude<InputName, 'command'> => n !== 'command'),
  'key-file'
]

/** Options whose value is a list, one item a line: the flag may be repeated. */
export const MULTI_LINE: ReadonlySet<OptionName> = new Set<OptionName>([
  'host',
  'services',
  'files',
  'build-args',
  'build-secrets',
  'cache-from',
  'cache-to',
  'healthchecks',
  'fingerprint',
  'proxy-fingerprint',
  'known-hosts'
])

/** A switch: an input whose default is false is given as a flag without a value. */
export function isSwitch(name: OptionName): boolean {
  return (DEFAULTS as Partial<Record<string, string>>)[name] === 'false'
}

/** Flags that steer the CLI: only on the command line, never from the environment or a file. */
export const CLI_FLAGS = {
  config: {
    type: 'string',
    value: 'FILE',
    help: 'read options from FILE',
    def: 'versioned-deploy.yml in the working directory, if it exists'
  },
  force: {
    type: 'boolean',
    help: 'do not ask for confirmation before a deploy or rollback (unlock takes --force-unlock)',
    def: 'ask on a terminal'
  },
  json: {
    type: 'boolean',
    help: "print the result (the action's outputs) as JSON on stdout; the log goes to stderr",
    def: 'text for people'
  },
  help: { type: 'boolean', short: 'h', help: 'show this help', def: '' }
} as const

export const ENV_PREFIX = 'VERSIONED_DEPLOY_'

/** `VERSIONED_DEPLOY_<NAME>`: upper case, `-` → `_`. */
export function envName(name: OptionName): string {
  return ENV_PREFIX + name.toUpperCase().replace(/-/g, '_')
}

export const DEFAULT_CONFIG_FILE = 'versioned-deploy.yml'
